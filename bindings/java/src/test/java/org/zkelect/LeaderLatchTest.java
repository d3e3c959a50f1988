package org.zkelect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link LeaderLatch} and {@link Peer#leadership()} on real ensembles on
 * loopback. Every wait has a deadline.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LeaderLatchTest {
    private static final double SECONDS = 60;

    /** A latch listener that records what it is told. */
    static final class Log implements LeaderLatchListener {
        final ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();

        @Override
        public void isLeader(long epoch) {
            lines.add("isLeader " + epoch);
        }

        @Override
        public void notLeader(long epoch, LossReason reason) {
            lines.add("notLeader " + epoch + " " + reason);
        }

        boolean has(String line) {
            return lines.contains(line);
        }
    }

    /** The latch of the one peer that has leadership, once exactly one has. */
    private static LeaderLatch soleLeader(List<LeaderLatch> latches) throws InterruptedException {
        LeaderLatch[] found = new LeaderLatch[1];
        Cluster.await("exactly one latch with leadership", SECONDS, () -> {
            List<LeaderLatch> leading = new ArrayList<>();
            for (LeaderLatch l : latches) {
                if (l.getState() == LeaderLatch.State.STARTED && !l.getPeer().isClosed() && l.hasLeadership()) {
                    leading.add(l);
                }
            }
            found[0] = leading.size() == 1 ? leading.get(0) : null;
            return found[0] != null;
        });
        return found[0];
    }

    @Test
    void latchesFollowTheConfirmedLeadershipAcrossAFailover() throws Exception {
        ThrownLog thrown = new ThrownLog(); // keeps the expected stack traces out of the output
        ConcurrentLinkedQueue<Throwable> logged = thrown.thrown;
        List<LeaderLatch> latches = new ArrayList<>();
        List<Log> logs = new ArrayList<>();
        try (Cluster c = Cluster.config(3)) {
            for (int sid = 1; sid <= 3; sid++) {
                Peer p = c.peer(sid);
                p.setEpochStore(0, 0, (epoch, round) -> {}); // an empty store: no quarantine at start
                LeaderLatch latch = new LeaderLatch(p);
                latch.addListener(new LeaderLatchListener() {
                    @Override
                    public void isLeader() {
                        throw new IllegalStateException("latch listener bug");
                    }

                    @Override
                    public void notLeader() {
                        throw new IllegalStateException("latch listener bug");
                    }
                });
                Log log = new Log();
                latch.addListener(log);
                assertEquals(LeaderLatch.State.LATENT, latch.getState());
                latch.start();
                latches.add(latch);
                logs.add(log);
            }
            for (Peer p : c.peers) {
                p.start();
            }
            LeaderLatch first = soleLeader(latches);
            Peer leader = first.getPeer();
            assertTrue(first.await(0, TimeUnit.SECONDS));
            long epoch = first.getEpoch().orElseThrow();
            Log firstLog = logs.get(latches.indexOf(first));
            // The latch's epoch is set before its listeners run (on the notifier
            // thread), so the listener's call may still be on its way.
            Cluster.await("isLeader with the first epoch", SECONDS, () -> firstLog.has("isLeader " + epoch));
            for (LeaderLatch l : latches) {
                if (l != first) {
                    assertFalse(l.await(50, TimeUnit.MILLISECONDS));
                    assertEquals(Optional.empty(), l.getPeer().leadership().confirmed()
                            .filter(x -> x.role() == State.LEADING));
                }
            }
            // The snapshot agrees with the latch.
            Leadership snap = leader.leadership();
            if (snap.leadsNow()) { // (a loaded machine may have let the lease lapse)
                assertEquals(State.LEADING, snap.role());
                assertEquals(epoch, snap.epoch());
                assertTrue(snap.leaseDeadlineNanos() > 0 && !snap.leaseRemaining().isNegative(), snap.toString());
                assertTrue(snap.running() && leader.hasLeadership() == leader.leadsNow(), snap.toString());
            }

            // Closing the peer: notLeader(epoch, STOPPED) before close() returns; await ends.
            leader.close();
            assertTrue(firstLog.has("notLeader " + epoch + " " + LossReason.STOPPED), firstLog.lines.toString());
            assertFalse(first.hasLeadership());
            assertThrows(EOFException.class, first::await);

            // A survivor's latch becomes leader with a higher epoch.
            LeaderLatch next = soleLeader(latches);
            long nextEpoch = next.getEpoch().orElseThrow();
            assertTrue(nextEpoch > epoch, nextEpoch + " after " + epoch);
            Log nextLog = logs.get(latches.indexOf(next));
            Cluster.await("isLeader with the new epoch", SECONDS, () -> nextLog.has("isLeader " + nextEpoch));
            Leadership s = next.getPeer().leadership();
            assertTrue(s.role() == State.LEADING || !s.leadsNow(), s.toString());

            // The throwing listener was reported each time, and the recording
            // listener after it still got every call.
            Cluster.await("the throwing latch listener logged", SECONDS,
                    () -> logged.stream().filter(t -> "latch listener bug".equals(t.getMessage())).count() >= 3);

            // A closed latch hears nothing more and does not wait.
            next.close();
            assertEquals(LeaderLatch.State.CLOSED, next.getState());
            assertFalse(next.hasLeadership());
            assertFalse(next.await(10, TimeUnit.SECONDS));
            assertThrows(IllegalStateException.class, next::start);
        } finally {
            latches.forEach(LeaderLatch::close);
            thrown.close();
        }
    }

    @Test
    void aLatchStartedOnALeadingPeerIsLeaderAtOnce() throws Exception {
        try (Cluster c = Cluster.config(3)) {
            for (int sid = 1; sid <= 3; sid++) {
                Peer p = c.peer(sid);
                p.setEpochStore(0, 0, (epoch, round) -> {});
                p.start();
            }
            Peer leader = null;
            for (Peer p : c.peers) {
                Confirmed conf = p.waitForConfirmed(java.time.Duration.ofSeconds(60)).orElseThrow();
                if (conf.role() == State.LEADING) {
                    leader = p;
                }
            }
            if (leader == null || !leader.leadsNow()) {
                return; // the lease lapsed on a loaded machine: nothing to check
            }
            try (LeaderLatch latch = new LeaderLatch(leader)) {
                Log log = new Log();
                latch.addListener(log);
                latch.start();
                assertTrue(log.lines.stream().anyMatch(l -> l.startsWith("isLeader ")) || !leader.leadsNow(),
                        log.lines.toString());
            }
            Peer stopped = c.peers.get(0);
            stopped.stop();
            Leadership l = stopped.leadership();
            assertFalse(l.running() || l.leadsNow() || l.confirmed().isPresent(), l.toString());
            assertEquals(State.LOOKING, l.role());
        }
    }
}
