package org.zkelect;

/**
 * A peer's state and vote: while {@link State#LOOKING}, its current proposal;
 * once an election is decided, the vote that won.
 *
 * @param state the peer's state
 * @param leader the proposed or elected leader's sid
 * @param zxid the leader's zxid
 * @param electionEpoch the round (logicalclock) of the vote
 * @param peerEpoch the leader's epoch
 */
public record Vote(State state, long leader, long zxid, long electionEpoch, long peerEpoch) {}
