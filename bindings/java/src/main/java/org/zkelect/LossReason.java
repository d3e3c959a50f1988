package org.zkelect;

/**
 * Why a leadership or a leader no longer counts: the C ABI's
 * {@code ZKELECT_REASON_*} codes. A test checks these codes against
 * include/zkelect.h.
 */
public enum LossReason {
    /** None: the event kind has no reason. */
    NONE(0),
    /** The host called {@link Peer#restartElection()}. */
    RESTARTED(1),
    /**
     * No heartbeat from the leader for {@code syncLimit} ticks (or none within
     * {@code initLimit} ticks of a decision the leader's own vote did not back).
     */
    SILENT(2),
    /** The connection to the leader broke and was not back within one tick (at once if refused, proven dead, or in fencing mode). */
    DISCONNECTED(3),
    /** The leader does not lead any more (it started a new election, or follows another peer). */
    LEADER_LOOKING(4),
    /** The leader no longer holds acknowledgements from a quorum. */
    NO_QUORUM(5),
    /** No quorum confirmed the new epoch within {@code initLimit} ticks. */
    NOT_CONFIRMED(6),
    /** The peer was stopped (or closed). */
    STOPPED(7),
    /** Another leader is confirmed with a higher epoch. */
    SUPERSEDED(8),
    /**
     * (leadership lost only) A follower had accepted a higher epoch; the leader
     * proposes a higher one at once and {@link ElectionListener#onLeading} follows
     * when a quorum confirms it, without a new election.
     */
    EPOCH_RAISED(9),
    /** A code newer than this binding; {@link #code()} is -1. */
    UNKNOWN(-1);

    private static final LossReason[] BY_CODE = values();

    private final int code;

    LossReason(int code) {
        this.code = code;
    }

    /** The C ABI's number of this reason ({@code ZKELECT_REASON_*}); -1 for {@link #UNKNOWN}. */
    public int code() {
        return code;
    }

    /** The reason with the C ABI's number {@code code}; {@link #UNKNOWN} for a code this binding does not know. */
    public static LossReason fromCode(int code) {
        if (code >= 0) {
            for (LossReason r : BY_CODE) {
                if (r.code == code) {
                    return r;
                }
            }
        }
        return UNKNOWN;
    }
}
