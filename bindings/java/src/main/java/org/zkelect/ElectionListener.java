package org.zkelect;

/**
 * Receives a peer's events. Every method has an empty default, so implement
 * only what you need.
 *
 * <p>Two layers: {@link #onElected} is FastLeaderElection's decision, not yet
 * something to act on. The leadership events ({@link #onLeading},
 * {@link #onFollowing}, {@link #onObserving}, {@link #onLeadershipLost}, ...)
 * say that a quorum confirmed a leader and with which epoch, the fencing
 * token: act on those, and check {@link Peer#leadsNow()} right before acting
 * as leader, since events arrive asynchronously.
 *
 * <p>Ordering, per peer: never {@code onLeading} while already leading; every
 * {@code onLeading} is followed by exactly one {@code onLeadershipLost} before
 * the next; epochs of {@code onLeading} strictly increase, those of
 * {@code onFollowing}/{@code onObserving} never decrease; every
 * {@code onElected} is followed by exactly one {@code onLeaderLost} before the
 * next {@code onElected}.
 *
 * <p>Methods run on the peer's native notifier thread (a daemon thread named
 * {@code zkelect-notify-<sid>}), one at a time and in order, never while the
 * library holds a lock. They may call any method of the {@link Peer},
 * including {@link Peer#close()}. They should return promptly: events of the
 * peer queue up behind a slow listener. An exception a listener throws is
 * logged (System.Logger {@code org.zkelect}, level WARNING) and otherwise
 * ignored: the other listeners and the election go on.
 */
public interface ElectionListener {
    /** This peer's state changed from {@code old} to {@code now}. */
    default void onStateChanged(State old, State now) {}

    /**
     * An election ended; {@link Leader#state()} is this peer's role. The bare
     * FastLeaderElection decision: wait for {@link #onLeading} /
     * {@link #onFollowing} before acting on it.
     */
    default void onElected(Leader leader) {}

    /**
     * The leader of the last election ({@code leader}; this peer's own sid if it
     * led) no longer counts, for {@code reason}; a new election starts unless
     * the reason is {@link LossReason#STOPPED}. The default calls
     * {@link #onLeaderLost(long)}, so listeners written before the reason
     * existed still see the event.
     */
    default void onLeaderLost(long leader, LossReason reason) {
        onLeaderLost(leader);
    }

    /**
     * As {@link #onLeaderLost(long, LossReason)} without the reason; called only
     * by that method's default.
     */
    default void onLeaderLost(long leader) {}

    /** The election connection to peer {@code sid} came up. */
    default void onPeerConnected(long sid) {}

    /** The election connection to peer {@code sid} went down. */
    default void onPeerDisconnected(long sid) {}

    /**
     * A quorum confirmed this peer as leader with {@code epoch}, the fencing
     * token: strictly greater than any epoch confirmed before it. Tag every write
     * with it, and check {@link Peer#leadsNow()} right before acting.
     */
    default void onLeading(long epoch) {}

    /**
     * This peer no longer leads {@code epoch}, for {@code reason}. Follows every
     * {@link #onLeading} exactly once, before any other peer can be confirmed as
     * leader. With {@link LossReason#EPOCH_RAISED} an {@code onLeading} with a
     * higher epoch follows without a new election.
     */
    default void onLeadershipLost(long epoch, LossReason reason) {}

    /**
     * This peer was elected but gave up, for {@code reason}, before a quorum
     * confirmed {@code epoch}; no {@link #onLeading} was called for it.
     */
    default void onLeadershipFailed(long epoch, LossReason reason) {}

    /** This peer's leader {@code leader} is confirmed with {@code epoch}. */
    default void onFollowing(long leader, long epoch) {}

    /** As {@link #onFollowing}, for an observer. */
    default void onObserving(long leader, long epoch) {}

    /**
     * This peer accepted {@code epoch} (as follower, or proposed it as leader).
     * With a {@code dataDir} or an {@link EpochStore} the library keeps it before
     * anything depending on it is sent; without either, keep it yourself and pass
     * it to {@link Peer#setEpoch} before the next start, so that epochs stay
     * unique across restarts.
     */
    default void onEpochAccepted(long epoch) {}

    /**
     * The durable store could not keep {@code epoch} (the {@link EpochStore}
     * threw, or the {@code dataDir} write failed): nothing that depends on it was
     * sent; the next heartbeat tries again.
     */
    default void onEpochStoreFailed(long epoch) {}
}
