package org.zkelect;

/**
 * Notified by a {@link LeaderLatch} when its peer becomes the confirmed leader
 * and when it no longer is, as Curator's {@code LeaderLatchListener}. Implement
 * Curator's {@link #isLeader()} / {@link #notLeader()}, or the forms with the
 * epoch (the fencing token) and the reason; the defaults of the latter call the
 * former.
 *
 * <p>Methods run on the peer's notifier thread, one at a time and in order; an
 * exception one throws is logged (System.Logger {@code org.zkelect}) and the
 * other listeners and later events still run.
 */
public interface LeaderLatchListener {
    /**
     * The peer became the confirmed leader with {@code epoch}: tag every write
     * with it, and check {@link LeaderLatch#hasLeadership()} right before acting.
     */
    default void isLeader(long epoch) {
        isLeader();
    }

    /** Curator's form of {@link #isLeader(long)}. */
    default void isLeader() {}

    /** The peer no longer leads {@code epoch}, for {@code reason}. */
    default void notLeader(long epoch, LossReason reason) {
        notLeader();
    }

    /** Curator's form of {@link #notLeader(long, LossReason)}. */
    default void notLeader() {}
}
