package org.zkelect;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A peer's leadership as one consistent snapshot ({@link Peer#leadership()},
 * {@code zkelect_peer_get_leadership}): every field comes from one reading of
 * the peer's state and of the clock.
 *
 * @param confirmed the confirmed leadership (the last
 *     {@link ElectionListener#onLeading}, {@code onFollowing} or
 *     {@code onObserving}; this peer's own only within its lease), if any
 * @param leadsNow whether this peer led confirmed at the moment of the snapshot
 * @param leaseRemaining how long the lease still held at the snapshot if no new
 *     acknowledgement arrives (zero unless {@code leadsNow})
 * @param leaseDeadlineNanos when the lease ends, on {@link Peer#clockNanos()}'s
 *     clock (0 unless {@code leadsNow})
 * @param state this peer's state as the election sees it
 * @param electedLeader the leader the last election decided while that decision
 *     holds: not yet something to act on
 * @param running whether the peer runs
 * @param followOnly whether this peer's vote is follow-only now: it votes but
 *     never wins the election ({@code followOnly=true}; {@code auto} once it
 *     learned of real ZooKeeper members; the back-off after a failed
 *     confirmation)
 * @param realMembers whether this peer learned that the ensemble has real
 *     ZooKeeper servers
 */
public record Leadership(
        Optional<Confirmed> confirmed,
        boolean leadsNow,
        Duration leaseRemaining,
        long leaseDeadlineNanos,
        State state,
        OptionalLong electedLeader,
        boolean running,
        boolean followOnly,
        boolean realMembers) {
    /** The confirmed role; {@link State#LOOKING} when nothing is confirmed. */
    public State role() {
        return confirmed.map(Confirmed::role).orElse(State.LOOKING);
    }

    /** The confirmed epoch (the fencing token); 0 when nothing is confirmed. */
    public long epoch() {
        return confirmed.map(Confirmed::epoch).orElse(0L);
    }
}
