package org.zkelect;

import java.time.Duration;
import java.util.OptionalLong;

/**
 * A peer's statistics ({@link Peer#stats()}, {@code zkelect_peer_get_stats}):
 * its state, and what it counted since it was created, across restarts; the
 * figures {@code zkelect run} serves as ZooKeeper's four-letter words and as
 * Prometheus metrics.
 *
 * @param running whether the peer runs
 * @param state its state as the election sees it
 * @param leader the confirmed leader, else the decided one; empty while LOOKING
 * @param confirmed whether a leadership is confirmed
 * @param acceptedEpoch the highest epoch accepted
 * @param round the election round (logicalclock)
 * @param uptime since the current run started (zero when not running)
 * @param confirmedFor how long the current confirmed leadership has held (zero if none)
 * @param lookingCount times the peer went LOOKING (each start and each new election)
 * @param elections elections that ended in a decision
 * @param lastElectionTime the last election's duration
 * @param minElectionTime the shortest election (zero before the first)
 * @param maxElectionTime the longest election (zero before the first)
 * @param totalElectionTime all elections' durations added up
 * @param leadershipChanges confirmed leaderships begun (a new leader or a new epoch)
 * @param connectedPeers members of the configuration connected now
 * @param connectionErrors failed connection attempts and connections closed for a bad frame
 * @param framesDropped received frames dropped because the receive queue was full
 * @param framesReceived frames received from peers
 * @param framesSent frames queued for sending
 */
public record Stats(
        boolean running,
        State state,
        OptionalLong leader,
        boolean confirmed,
        long acceptedEpoch,
        long round,
        Duration uptime,
        Duration confirmedFor,
        long lookingCount,
        long elections,
        Duration lastElectionTime,
        Duration minElectionTime,
        Duration maxElectionTime,
        Duration totalElectionTime,
        long leadershipChanges,
        long connectedPeers,
        long connectionErrors,
        long framesDropped,
        long framesReceived,
        long framesSent) {
    static Stats fromNative(long[] s) {
        return new Stats(s[0] != 0, State.fromCode((int) s[1]),
                s[2] < 0 ? OptionalLong.empty() : OptionalLong.of(s[2]), s[3] != 0, s[4], s[5],
                Duration.ofMillis(s[6]), Duration.ofMillis(s[7]), s[8], s[9], Duration.ofMillis(s[10]),
                Duration.ofMillis(s[11]), Duration.ofMillis(s[12]), Duration.ofMillis(s[13]), s[14], s[15],
                s[16], s[17], s[18], s[19]);
    }
}
