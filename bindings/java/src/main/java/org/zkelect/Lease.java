package org.zkelect;

import java.time.Duration;

/**
 * A leader's lease as {@link Peer#lease()} read it at the moment of the call
 * ({@code zkelect_peer_get_lease}).
 *
 * @param leadsNow whether this peer led confirmed at the moment of the call (a
 *     {@link ElectionListener#onLeading} holds and its lease has not run out)
 * @param epoch the epoch of the leadership the lease belongs to, 0 if none
 * @param remainingNanos nanoseconds the lease still held at the call if no new
 *     acknowledgement arrives (0 when {@code leadsNow} is false)
 * @param deadlineNanos until when, on the clock of {@link Peer#clockNanos()}
 *     (CLOCK_BOOTTIME: counts suspend, the same for every process of the
 *     machine); 0 if none
 */
public record Lease(boolean leadsNow, long epoch, long remainingNanos, long deadlineNanos) {
    /** {@link #remainingNanos()} as a duration. */
    public Duration remaining() {
        return Duration.ofNanos(remainingNanos);
    }
}
