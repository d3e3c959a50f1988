package org.zkelect;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The native peer pointer and its life: calls in flight, closed, freed.
 *
 * <p>The C ABI forbids {@code zkelect_peer_free} to race any other call on the
 * same handle, so swapping the pointer out of an AtomicLong is not enough: a
 * thread that read it just before the swap could still be inside a native
 * call. Instead one AtomicLong counts the calls in flight, with a CLOSED bit;
 * once CLOSED is set no call can begin, and whoever brings the count to zero
 * (the closer, or the last call to finish) frees the handle, exactly once.
 * A {@code close()} stops the peer first, which makes a blocked
 * {@code awaitLeader} return, so the free is never long in coming.
 *
 * <p>This object is also the {@link java.lang.ref.Cleaner} action of its
 * {@link Peer}, so it must not reference the Peer (nor the dispatcher, whose
 * listeners may).
 */
final class NativeHandle implements Runnable {
    private static final System.Logger LOG = System.getLogger("org.zkelect");
    private static final long CLOSED = 1L << 62;
    private static final long FREED = -1L;

    /** How many handles were freed in this JVM (a test hook). */
    static final AtomicLong FREES = new AtomicLong();

    private final long ptr;
    /** The count of calls in flight, plus CLOSED; or FREED. */
    private final AtomicLong state = new AtomicLong();

    NativeHandle(long ptr) {
        this.ptr = ptr;
    }

    /**
     * Begins a native call: returns the pointer, which stays valid until the
     * matching {@link #release()}.
     *
     * @throws IllegalStateException if the peer is closed
     */
    long acquire() {
        for (;;) {
            long s = state.get();
            if (s < 0 || (s & CLOSED) != 0) {
                throw new IllegalStateException("the zkelect peer is closed");
            }
            if (state.compareAndSet(s, s + 1)) {
                return ptr;
            }
        }
    }

    /** Ends a native call; frees the handle if it was the last one after close. */
    void release() {
        if (state.decrementAndGet() == CLOSED && state.compareAndSet(CLOSED, FREED)) {
            Native.free(ptr);
            FREES.incrementAndGet();
        }
    }

    boolean isClosed() {
        long s = state.get();
        return s < 0 || (s & CLOSED) != 0;
    }

    /**
     * Closes: no new call may begin; the peer is stopped (every caller that
     * gets here before the free waits for the stop to finish, except on the
     * peer's own notifier thread); the handle is freed once no call is in flight.
     * Idempotent and safe from any thread, including a listener.
     */
    void close() {
        for (;;) {
            long s = state.get();
            if (s == FREED) {
                return;
            }
            if (state.compareAndSet(s, (s | CLOSED) + 1)) {
                break;
            }
        }
        try {
            Native.stop(ptr);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "zkelect: stopping a peer on close failed", e);
        } finally {
            release();
        }
    }

    /** The Cleaner action: a peer that nobody closed. */
    @Override
    public void run() {
        close();
    }
}
