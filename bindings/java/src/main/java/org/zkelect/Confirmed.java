package org.zkelect;

/**
 * A confirmed leadership, as one peer sees it: a quorum confirmed the leader
 * with this epoch (the fencing token). Unlike {@link Leader}, the bare
 * FastLeaderElection decision, this is something to act on, after checking
 * {@link Peer#leadsNow()} right before acting.
 *
 * @param role this peer's role: {@link State#LEADING}, {@link State#FOLLOWING}
 *     or {@link State#OBSERVING}
 * @param leader the leader's sid (this peer's own sid when leading)
 * @param epoch the confirmed epoch: strictly greater than any epoch confirmed
 *     for a leader before it; tag every write with it
 */
public record Confirmed(State role, long leader, long epoch) {}
