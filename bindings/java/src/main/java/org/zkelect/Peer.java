package org.zkelect;

import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * One ZooKeeper election participant, running ZooKeeper 3.8's
 * FastLeaderElection over the native zkelect library.
 *
 * <pre>{@code
 * try (Peer p = Peer.fromConfig(zooCfg, 1)) {
 *     p.addListener(new ElectionListener() {
 *         public void onElected(Leader l) { ... }
 *     });
 *     p.start();
 *     Optional<Leader> l = p.awaitLeader(Duration.ofSeconds(10));
 * }
 * }</pre>
 *
 * <p>Thread-safe: every method may be called from any thread, also from a
 * listener. {@link #close()} is idempotent and may race any other call: calls
 * that begin after it throw {@link IllegalStateException}, and the native peer
 * is freed once the calls in flight have returned. A peer that becomes
 * unreachable without being closed is stopped and freed by a {@link Cleaner}
 * (so keep a reference to a peer as long as it should run); do not rely on
 * that: close your peers.
 */
public final class Peer implements AutoCloseable {
    /** Pass as myid to read the sid from the {@code myid} file in {@code dataDir}. */
    public static final long MYID_FROM_DATADIR = -1;

    private static final Cleaner CLEANER = Cleaner.create();
    private static final int POLL_MILLIS = 100;

    private final long sid;
    private final EventDispatcher dispatcher;
    private final NativeHandle handle;
    private final Cleaner.Cleanable cleanable;

    private Peer(long sid, EventDispatcher dispatcher, NativeHandle handle) {
        this.sid = sid;
        this.dispatcher = dispatcher;
        this.handle = handle;
        // The action is the handle alone: it references neither this Peer nor the
        // dispatcher (whose listeners might reference this Peer).
        this.cleanable = CLEANER.register(this, handle);
    }

    /**
     * A peer from zoo.cfg text.
     *
     * @param zooCfgText the configuration, as in a zoo.cfg file
     * @param myid this peer's sid, or {@link #MYID_FROM_DATADIR}
     * @throws ZkelectException with code {@link ZkelectException#CONFIG} if the
     *     configuration is invalid (the message names the line and key) or
     *     {@code myid} is not in the server list
     * @throws UnsatisfiedLinkError if the native library cannot be loaded
     */
    public static Peer fromConfig(String zooCfgText, long myid) {
        Objects.requireNonNull(zooCfgText, "zooCfgText");
        return create(zooCfgText, false, myid);
    }

    /** A peer from a zoo.cfg file; the sid is read from {@code <dataDir>/myid}. */
    public static Peer fromFile(Path zooCfg) {
        return fromFile(zooCfg, MYID_FROM_DATADIR);
    }

    /**
     * A peer from a zoo.cfg file.
     *
     * @throws ZkelectException with code {@link ZkelectException#CONFIG} if the
     *     file cannot be read (the message names it) or is invalid
     */
    public static Peer fromFile(Path zooCfg, long myid) {
        Objects.requireNonNull(zooCfg, "zooCfg");
        return create(zooCfg.toString(), true, myid);
    }

    private static Peer create(String textOrPath, boolean isFile, long myid) {
        if (textOrPath.indexOf('\0') >= 0) {
            throw new IllegalArgumentException((isFile ? "the path" : "the configuration") + " contains a NUL character");
        }
        NativeLoader.load(); // a clear UnsatisfiedLinkError rather than NoClassDefFoundError
        byte[] utf8 = (textOrPath + '\0').getBytes(StandardCharsets.UTF_8);
        EventDispatcher d = new EventDispatcher();
        long ptr = Native.newPeer(utf8, isFile, myid, d);
        NativeHandle h = new NativeHandle(ptr);
        long sid;
        try {
            sid = Native.sid(ptr);
        } catch (RuntimeException e) {
            h.close();
            throw e;
        }
        d.bind(h);
        return new Peer(sid, d, h);
    }

    /** The version of the native library, e.g. "0.1.0". */
    public static String nativeVersion() {
        NativeLoader.load();
        return Native.version();
    }

    /** This peer's sid (also after close). */
    public long sid() {
        return sid;
    }

    /** Sets the last zxid this peer reports; read at the start of each election. */
    public void setZxid(long zxid) {
        long p = handle.acquire();
        try {
            Native.setZxid(p, zxid);
        } finally {
            handle.release();
        }
    }

    /** Sets the current epoch this peer reports; read at the start of each election. */
    public void setEpoch(long epoch) {
        long p = handle.acquire();
        try {
            Native.setEpoch(p, epoch);
        } finally {
            handle.release();
        }
    }

    /**
     * Binds the election port and starts the election. A stopped peer can be
     * started again (its round counter starts over).
     *
     * @throws ZkelectException {@link ZkelectException#ALREADY_RUNNING}, or
     *     {@link ZkelectException#IO} (e.g. the port is taken; the message names it)
     */
    public void start() {
        long p = handle.acquire();
        try {
            Native.start(p);
        } finally {
            handle.release();
        }
    }

    /**
     * Stops the peer: closes its sockets and joins its threads. Events raised
     * before are delivered first; no listener runs after it returns (called
     * from a listener: after that listener returns). Idempotent.
     */
    public void stop() {
        long p = handle.acquire();
        try {
            Native.stop(p);
        } finally {
            handle.release();
        }
    }

    /**
     * Starts a new election round: the host's way to say the leader is gone.
     * {@link ElectionListener#onLeaderLost} follows if a leader was known.
     *
     * @throws ZkelectException {@link ZkelectException#NOT_RUNNING}
     */
    public void restartElection() {
        long p = handle.acquire();
        try {
            Native.restartElection(p);
        } finally {
            handle.release();
        }
    }

    /** The current state and vote (the proposal while LOOKING, else the winning vote). */
    public Vote currentVote() {
        long[] v = new long[5];
        long p = handle.acquire();
        try {
            Native.vote(p, v);
        } finally {
            handle.release();
        }
        return new Vote(State.fromCode((int) v[0]), v[1], v[2], v[3], v[4]);
    }

    /** The current state. */
    public State state() {
        return currentVote().state();
    }

    /**
     * Waits until an election is decided, at most {@code timeout}; returns at
     * once if a leader is known.
     *
     * @return the leader, or {@link Optional#empty()} if the timeout passed first
     * @throws ZkelectException {@link ZkelectException#NOT_RUNNING} if the peer is
     *     not started or was stopped while waiting
     * @throws IllegalStateException if the peer is (or was, while waiting) closed
     * @throws InterruptedException if the thread was interrupted (checked at
     *     least every 100 ms)
     */
    public Optional<Leader> awaitLeader(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("negative timeout " + timeout);
        }
        long total;
        try {
            total = timeout.toNanos();
        } catch (ArithmeticException e) {
            total = Long.MAX_VALUE;
        }
        long[] out = new long[6];
        long begin = System.nanoTime();
        long p = handle.acquire();
        try {
            for (;;) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                long left = total - (System.nanoTime() - begin);
                long sliceMillis = Math.max(0, Math.min(POLL_MILLIS, (left + 999_999) / 1_000_000));
                boolean decided;
                try {
                    decided = Native.waitForLeader(p, sliceMillis, out);
                } catch (ZkelectException e) {
                    if (handle.isClosed()) {
                        throw new IllegalStateException("the zkelect peer was closed while waiting", e);
                    }
                    throw e;
                }
                if (decided) {
                    return Optional.of(new Leader(
                            out[0], out[1], out[2], out[3], State.fromCode((int) out[4]), out[5]));
                }
                if (total - (System.nanoTime() - begin) <= 0) {
                    return Optional.empty();
                }
            }
        } finally {
            handle.release();
        }
    }

    /**
     * Adds a listener (the same one twice is called twice). It receives events
     * from now on, on the peer's notifier thread.
     *
     * @throws IllegalStateException if the peer is closed
     */
    public void addListener(ElectionListener listener) {
        Objects.requireNonNull(listener, "listener");
        if (handle.isClosed()) {
            throw new IllegalStateException("the zkelect peer is closed");
        }
        dispatcher.listeners.add(listener);
    }

    /**
     * Removes a listener (one occurrence); false if it was not added. Allowed
     * after close. A listener being called right now still finishes.
     */
    public boolean removeListener(ElectionListener listener) {
        return dispatcher.listeners.remove(listener);
    }

    /** Whether {@link #close()} was called (or the Cleaner ran). */
    public boolean isClosed() {
        return handle.isClosed();
    }

    /**
     * Stops and frees the native peer. Idempotent; safe from any thread and
     * from a listener of this peer. Every caller that gets here before the
     * native peer is freed waits for the stop to finish (the port is released
     * when it returns), except a listener of this peer, whose own notifier
     * thread winds down after it returns.
     */
    @Override
    public void close() {
        handle.close();
        cleanable.clean(); // unregisters; the action is a no-op by now
    }

    @Override
    public String toString() {
        return "Peer[sid=" + sid + (isClosed() ? ", closed]" : "]");
    }
}
