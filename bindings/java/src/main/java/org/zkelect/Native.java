package org.zkelect;

/**
 * The native methods, implemented in native/zkelect_jni.c over include/zkelect.h.
 * A handle is a {@code zkelect_peer *} as a long; strings go in as UTF-8 with a
 * terminating NUL. Failures throw {@link ZkelectException}.
 */
final class Native {
    static {
        NativeLoader.load();
    }

    private Native() {}

    /** The library version, e.g. "0.1.0". */
    static native String version();

    /**
     * {@code zkelect_peer_new} (or {@code _from_file}), then the peer's event
     * callback, which calls {@code dispatcher.dispatch} through a weak global
     * reference, so the native side never keeps the dispatcher alive.
     */
    static native long newPeer(byte[] textOrPath, boolean isFile, long sid, EventDispatcher dispatcher);

    static native void free(long peer);

    static native long sid(long peer);

    static native void setZxid(long peer, long zxid);

    static native void setEpoch(long peer, long epoch);

    static native void start(long peer);

    static native void stop(long peer);

    static native void restartElection(long peer);

    /** Writes state, leader, zxid, electionEpoch, peerEpoch to {@code out[0..5]}. */
    static native void vote(long peer, long[] out);

    /**
     * Waits up to {@code timeoutMillis}; false on timeout, else writes leader,
     * zxid, electionEpoch, peerEpoch, state, elapsedMillis to {@code out[0..6]}.
     */
    static native boolean waitForLeader(long peer, long timeoutMillis, long[] out);

    /**
     * {@code zkelect_peer_get_lease}: writes leadsNow (0/1), epoch, remainingNanos,
     * deadlineNanos to {@code out[0..4]}.
     */
    static native void lease(long peer, long[] out);

    /**
     * {@code zkelect_peer_get_leadership}: writes confirmed (0/1), role, leader,
     * epoch, leadsNow (0/1), leaseMillis, leaseDeadlineNanos, state,
     * electedLeader, running (0/1), followOnly (0/1), realMembers (0/1) to
     * {@code out[0..12]}.
     */
    static native void leadership(long peer, long[] out);

    /**
     * {@code zkelect_peer_get_stats}: writes running (0/1), state, leader,
     * confirmed (0/1), acceptedEpoch, round, uptimeMillis, confirmedMillis,
     * lookingCount, elections, lastElectionMillis, minElectionMillis,
     * maxElectionMillis, totalElectionMillis, leadershipChanges,
     * connectedPeers, connectionErrors, framesDropped, framesReceived,
     * framesSent to {@code out[0..20]}.
     */
    static native void stats(long peer, long[] out);

    /** {@code zkelect_clock_now_ns}: the clock leases are measured on. */
    static native long clockNanos();

    /**
     * {@code zkelect_peer_set_epoch_store} with a store callback that calls
     * {@code bridge.store} on the election thread through a weak global
     * reference, and {@code bridge.released} when the library frees it (also
     * when this call fails).
     */
    static native void setEpochStore(long peer, long heldEpoch, long heldRound, StoreBridge bridge, long sid);

    /** How many event-callback userdata structs are alive (test hook). */
    static native long liveCallbacks();

    /** How many store-callback userdata structs are alive (test hook). */
    static native long liveStores();
}
