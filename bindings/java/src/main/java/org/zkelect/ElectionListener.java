package org.zkelect;

/**
 * Receives a peer's events. Every method has an empty default, so implement
 * only what you need.
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

    /** An election ended; {@link Leader#state()} is this peer's role. */
    default void onElected(Leader leader) {}

    /** The election was restarted while {@code leader} was known; it no longer counts. */
    default void onLeaderLost(long leader) {}

    /** The election connection to peer {@code sid} came up. */
    default void onPeerConnected(long sid) {}

    /** The election connection to peer {@code sid} went down. */
    default void onPeerDisconnected(long sid) {}
}
