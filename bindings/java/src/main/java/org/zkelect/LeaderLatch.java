package org.zkelect;

import java.io.EOFException;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Leadership as Curator's {@code LeaderLatch} offers it, over a {@link Peer}:
 * {@link #await()} until this peer is the confirmed leader,
 * {@link #hasLeadership()} right before acting, and {@link LeaderLatchListener}
 * callbacks ({@code isLeader} / {@code notLeader}). Unlike Curator's latch, the
 * peer is the participant: the latch neither starts nor stops it, and each
 * leadership carries an epoch ({@link #getEpoch()}), the fencing token to tag
 * every write with.
 *
 * <pre>{@code
 * try (Peer peer = Peer.fromFile(Path.of("zoo.cfg"), 1);
 *      LeaderLatch latch = new LeaderLatch(peer)) {
 *     latch.addListener(new LeaderLatchListener() {
 *         public void isLeader(long epoch) { scheduler.resume(epoch); }
 *         public void notLeader() { scheduler.pause(); }
 *     });
 *     latch.start();
 *     peer.start();
 *     latch.await();                                  // until this peer leads
 *     while (latch.hasLeadership()) {                 // the lease, checked now
 *         write(job, latch.getEpoch().getAsLong());   // the resource refuses older epochs
 *     }
 * }
 * }</pre>
 *
 * <p>Thread-safe. Closing the peer ends the leadership ({@code notLeader} with
 * {@link LossReason#STOPPED}) and wakes {@link #await()}, which then throws.
 */
public final class LeaderLatch implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("org.zkelect");
    private static final long POLL_NANOS = 100_000_000L;

    /** The latch's life, as Curator's {@code LeaderLatch.State}. */
    public enum State {
        /** Created, not started. */
        LATENT,
        /** Started: following the peer's leadership. */
        STARTED,
        /** Closed. */
        CLOSED
    }

    private final Peer peer;
    private final CopyOnWriteArrayList<LeaderLatchListener> listeners = new CopyOnWriteArrayList<>();
    private final Object lock = new Object();
    /** The epoch this peer leads, -1 if none; guarded by lock. */
    private long epoch = -1;
    /** Guarded by lock. */
    private State state = State.LATENT;

    private final ElectionListener bridge = new ElectionListener() {
        @Override
        public void onLeading(long e) {
            became(e);
        }

        @Override
        public void onLeadershipLost(long e, LossReason reason) {
            lost(e, reason);
        }
    };

    /** A latch over {@code peer}; {@link #start()} it. */
    public LeaderLatch(Peer peer) {
        this.peer = Objects.requireNonNull(peer, "peer");
    }

    /**
     * Starts following the peer's leadership. If the peer leads already, the
     * listeners' {@code isLeader} runs at once, on this thread.
     *
     * @throws IllegalStateException if started before, or the peer is closed
     */
    public void start() {
        synchronized (lock) {
            if (state != State.LATENT) {
                throw new IllegalStateException("the latch was started before (" + state + ")");
            }
            state = State.STARTED;
        }
        peer.addListener(bridge);
        Lease lease = peer.lease();
        if (lease.leadsNow()) {
            became(lease.epoch());
        }
    }

    /**
     * Stops following the peer (idempotent). Listeners are not told (Curator's
     * {@code CloseMode.SILENT}); {@link #await()} wakes and throws.
     */
    @Override
    public void close() {
        synchronized (lock) {
            if (state == State.CLOSED) {
                return;
            }
            state = State.CLOSED;
            epoch = -1;
            lock.notifyAll();
        }
        peer.removeListener(bridge);
    }

    /** The latch's state. */
    public State getState() {
        synchronized (lock) {
            return state;
        }
    }

    /** The peer this latch follows. */
    public Peer getPeer() {
        return peer;
    }

    /** Adds a listener (called on the peer's notifier thread). */
    public void addListener(LeaderLatchListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /** Removes a listener; false if it was not added. */
    public boolean removeListener(LeaderLatchListener listener) {
        return listeners.remove(listener);
    }

    /** The epoch of the leadership this peer holds, if it leads (per the events). */
    public OptionalLong getEpoch() {
        synchronized (lock) {
            return epoch < 0 ? OptionalLong.empty() : OptionalLong.of(epoch);
        }
    }

    /**
     * Whether this peer is the confirmed leader at the moment of the call: the
     * latch saw its {@code onLeading}, and the lease, read now, is of that epoch.
     * Call it right before acting as leader.
     */
    public boolean hasLeadership() {
        long e;
        synchronized (lock) {
            e = epoch;
        }
        if (e < 0) {
            return false;
        }
        try {
            Lease lease = peer.lease();
            return lease.leadsNow() && lease.epoch() == e;
        } catch (IllegalStateException closed) {
            return false;
        }
    }

    /**
     * Waits until this peer has leadership.
     *
     * @throws EOFException if the latch or its peer is closed first (as Curator)
     * @throws InterruptedException if the thread was interrupted
     */
    public void await() throws InterruptedException, EOFException {
        if (!await(Long.MAX_VALUE, TimeUnit.NANOSECONDS)) {
            throw new EOFException("the latch or its peer was closed");
        }
    }

    /**
     * Waits up to {@code timeout} until this peer has leadership.
     *
     * @return true if it has, false if the time passed or the latch or peer was
     *     closed first
     * @throws InterruptedException if the thread was interrupted
     */
    public boolean await(long timeout, TimeUnit unit) throws InterruptedException {
        long total = unit.toNanos(timeout);
        long begin = System.nanoTime();
        for (;;) {
            if (hasLeadership()) {
                return true;
            }
            long left = total - (System.nanoTime() - begin);
            synchronized (lock) {
                if (state == State.CLOSED || peer.isClosed() || left <= 0) {
                    return false;
                }
                long slice = Math.min(left, POLL_NANOS);
                lock.wait(slice / 1_000_000, (int) (slice % 1_000_000));
            }
        }
    }

    private void became(long e) {
        synchronized (lock) {
            if (state != State.STARTED || epoch == e) {
                return;
            }
            epoch = e;
            lock.notifyAll();
        }
        for (LeaderLatchListener l : listeners) {
            try {
                l.isLeader(e);
            } catch (Throwable t) { // NOPMD: reported, and the next listener runs
                LOG.log(System.Logger.Level.WARNING,
                        "zkelect sid " + peer.sid() + ": LeaderLatchListener " + l + " threw in isLeader", t);
            }
        }
    }

    private void lost(long e, LossReason reason) {
        synchronized (lock) {
            if (state != State.STARTED || epoch != e) {
                return;
            }
            epoch = -1;
            lock.notifyAll();
        }
        for (LeaderLatchListener l : listeners) {
            try {
                l.notLeader(e, reason);
            } catch (Throwable t) { // NOPMD: reported, and the next listener runs
                LOG.log(System.Logger.Level.WARNING,
                        "zkelect sid " + peer.sid() + ": LeaderLatchListener " + l + " threw in notLeader", t);
            }
        }
    }

    @Override
    public String toString() {
        return "LeaderLatch[sid=" + peer.sid() + ", " + getState() + ", epoch=" + getEpoch() + "]";
    }
}
