package org.zkelect;

import java.time.Duration;

/**
 * The result of an election, as one peer sees it.
 *
 * @param leader the elected leader's sid
 * @param zxid its zxid at election time
 * @param electionEpoch the round it was elected in
 * @param peerEpoch its epoch
 * @param state this peer's role: {@link State#LEADING}, {@link State#FOLLOWING}
 *     or {@link State#OBSERVING}
 * @param elapsedMillis milliseconds from the start of this election to the decision
 */
public record Leader(
        long leader, long zxid, long electionEpoch, long peerEpoch, State state, long elapsedMillis) {

    /** {@link #elapsedMillis()} as a duration. */
    public Duration elapsed() {
        return Duration.ofMillis(elapsedMillis);
    }
}
