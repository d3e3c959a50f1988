package org.zkelect;

import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One ZooKeeper election participant, running ZooKeeper 3.8's
 * FastLeaderElection over the native zkelect library.
 *
 * <pre>{@code
 * try (Peer p = Peer.fromConfig(zooCfg, 1)) {
 *     p.addListener(new ElectionListener() {
 *         public void onLeading(long epoch) { ... }
 *         public void onLeadershipLost(long epoch, LossReason reason) { ... }
 *     });
 *     p.start();
 *     Confirmed c = p.waitForConfirmed(Duration.ofSeconds(30)).orElseThrow();
 *     if (c.role() == State.LEADING && p.leadsNow()) {
 *         // act as leader; tag every write with c.epoch()
 *     }
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

    private static long nanos(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("negative timeout " + timeout);
        }
        try {
            return timeout.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * Waits until an election is decided, at most {@code timeout}; returns at
     * once if a leader is known. This is FastLeaderElection's decision, not yet
     * a confirmed leader: to act as (or on) the leader, use
     * {@link #waitForConfirmed} and {@link #leadsNow()}.
     *
     * @return the leader, or {@link Optional#empty()} if the timeout passed first
     * @throws ZkelectException {@link ZkelectException#NOT_RUNNING} if the peer is
     *     not started or was stopped while waiting
     * @throws IllegalStateException if the peer is (or was, while waiting) closed
     * @throws InterruptedException if the thread was interrupted (checked at
     *     least every 100 ms)
     */
    public Optional<Leader> awaitLeader(Duration timeout) throws InterruptedException {
        long total = nanos(timeout);
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
     * Waits until a quorum confirms a leadership (this peer leading, or its
     * leader), at most {@code timeout}; returns at once if one is confirmed now.
     * This, not {@link #awaitLeader}, is the leader to act on: with
     * {@link Confirmed#epoch()} as the fencing token, and after checking
     * {@link #leadsNow()} right before acting as leader.
     *
     * <p>Built on the peer's events: the leadership of the last
     * {@link ElectionListener#onLeading}, {@code onFollowing} or
     * {@code onObserving}, until {@code onLeadershipLost}, {@code onLeaderLost}
     * or a return to {@link State#LOOKING}.
     *
     * @return the confirmed leadership, or {@link Optional#empty()} if the
     *     timeout passed first
     * @throws ZkelectException {@link ZkelectException#NOT_RUNNING} if the peer is
     *     not started or was stopped while waiting (checked at least every 100 ms)
     * @throws IllegalStateException if the peer is (or was, while waiting) closed
     * @throws InterruptedException if the thread was interrupted
     */
    public Optional<Confirmed> waitForConfirmed(Duration timeout) throws InterruptedException {
        long total = nanos(timeout);
        long begin = System.nanoTime();
        long[] out = new long[6];
        for (;;) {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            Optional<Confirmed> c = dispatcher.confirmed();
            if (c.isPresent()) {
                return c;
            }
            // Not running (never started, or stopped) throws NOT_RUNNING.
            long p = handle.acquire();
            try {
                Native.waitForLeader(p, 0, out);
            } catch (ZkelectException e) {
                if (handle.isClosed()) {
                    throw new IllegalStateException("the zkelect peer was closed while waiting", e);
                }
                throw e;
            } finally {
                handle.release();
            }
            long left = total - (System.nanoTime() - begin);
            if (left <= 0) {
                return dispatcher.confirmed();
            }
            c = dispatcher.awaitConfirmed(Math.min(left, POLL_MILLIS * 1_000_000L));
            if (c.isPresent()) {
                return c;
            }
        }
    }

    /**
     * The confirmed leadership now (see {@link #waitForConfirmed}), without
     * waiting. As leader, still check {@link #leadsNow()} before acting.
     */
    public Optional<Confirmed> confirmed() {
        if (handle.isClosed()) {
            throw new IllegalStateException("the zkelect peer is closed");
        }
        return dispatcher.confirmed();
    }

    /**
     * This peer's lease, read at the moment of the call: whether it leads
     * confirmed now, with which epoch, and for how long if no new
     * acknowledgement arrives. A paused process (a GC pause, SIGSTOP, a
     * suspended machine) sees {@code leadsNow == false} the moment it resumes.
     */
    public Lease lease() {
        long[] l = new long[4];
        long p = handle.acquire();
        try {
            Native.lease(p, l);
        } finally {
            handle.release();
        }
        return new Lease(l[0] != 0, l[1], l[2], l[3]);
    }

    /**
     * Whether this peer leads confirmed at the moment of the call (its lease
     * holds). Call it right before acting as leader: events arrive
     * asynchronously, and the last {@link ElectionListener#onLeading} may no
     * longer hold. The lease bounds who believes it leads; also tag every write
     * with the epoch so the resource can refuse older ones.
     */
    public boolean leadsNow() {
        return lease().leadsNow();
    }

    /**
     * This peer's statistics: state, leader, confirmation, epoch, round, and
     * the counters (elections and their durations, LOOKING periods, leadership
     * changes, connection errors, dropped frames). Works on a stopped peer too.
     *
     * @throws IllegalStateException if the peer is closed
     */
    public Stats stats() {
        long[] s = new long[20];
        long p = handle.acquire();
        try {
            Native.stats(p, s);
        } finally {
            handle.release();
        }
        return Stats.fromNative(s);
    }

    /**
     * This peer's leadership as one consistent snapshot: the confirmed role,
     * leader and epoch, the lease, the election's state and decision, all read
     * at one moment (separate calls to {@link #confirmed()}, {@link #lease()}
     * and {@link #state()} may each see a different one). Works on a stopped
     * peer too ({@link Leadership#running()} is false).
     *
     * @throws IllegalStateException if the peer is closed
     */
    public Leadership leadership() {
        long[] l = new long[12];
        long p = handle.acquire();
        try {
            Native.leadership(p, l);
        } finally {
            handle.release();
        }
        Optional<Confirmed> confirmed = l[0] != 0
                ? Optional.of(new Confirmed(State.fromCode((int) l[1]), l[2], l[3]))
                : Optional.empty();
        return new Leadership(confirmed, l[4] != 0, Duration.ofMillis(l[5]), l[6], State.fromCode((int) l[7]),
                l[8] < 0 ? OptionalLong.empty() : OptionalLong.of(l[8]), l[9] != 0, l[10] != 0,
                l[11] != 0);
    }

    /**
     * Whether this peer leads confirmed at the moment of the call, its lease
     * checked now: the same as {@link #leadsNow()}, named as Curator's
     * {@code LeaderLatch.hasLeadership()}. Call it right before acting as
     * leader.
     */
    public boolean hasLeadership() {
        return leadsNow();
    }

    /**
     * The clock leases are measured on, in nanoseconds
     * ({@link Lease#deadlineNanos()}; CLOCK_BOOTTIME on Linux: counts suspend,
     * the same for every process of the machine).
     */
    public static long clockNanos() {
        NativeLoader.load();
        return Native.clockNanos();
    }

    /**
     * Keeps this peer's durable state (the accepted epoch and a round
     * high-water mark) through {@code store} instead of the file
     * {@code zkelect.<sid>.state} in {@code dataDir}. {@code heldEpoch} and
     * {@code heldRound} are what the store holds now (0 and 0 if nothing yet).
     * Takes effect at the next {@link #start()}; replaces a store set before
     * (which the running election may still use until it stops).
     *
     * <p>{@code store} runs on the peer's native election thread and must
     * return only once the state is durable; an acknowledgement of an epoch
     * waits for it. If it throws, the exception is logged, nothing that depends
     * on the state is sent, and listeners get
     * {@link ElectionListener#onEpochStoreFailed}. The library holds the store
     * only weakly (it may reference this peer): keep the peer reachable.
     *
     * @throws ZkelectException {@link ZkelectException#INVALID_ARGUMENT} for a
     *     negative held value
     * @throws IllegalStateException if the peer is closed
     */
    public void setEpochStore(long heldEpoch, long heldRound, EpochStore store) {
        Objects.requireNonNull(store, "store");
        StoreBridge bridge = new StoreBridge(dispatcher, store, sid);
        long p = handle.acquire();
        try {
            // Held strongly here before the library can call it; it removes
            // itself when the library releases it (also if this call fails).
            dispatcher.stores.add(bridge);
            Native.setEpochStore(p, heldEpoch, heldRound, bridge, sid);
        } catch (RuntimeException | Error e) {
            dispatcher.stores.remove(bridge); // the library does not hold it
            throw e;
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
     *
     * <p>The events the stop itself raises ({@link ElectionListener#onLeadershipLost}
     * and {@link ElectionListener#onLeaderLost} with {@link LossReason#STOPPED} if
     * the peer led or followed) are delivered before it returns; no listener runs
     * after that. Called from a listener of this peer, nothing more is delivered,
     * not even to the listeners after it.
     */
    @Override
    public void close() {
        dispatcher.closing();
        handle.close();
        cleanable.clean(); // unregisters; the action is a no-op by now
    }

    @Override
    public String toString() {
        return "Peer[sid=" + sid + (isClosed() ? ", closed]" : "]");
    }
}
