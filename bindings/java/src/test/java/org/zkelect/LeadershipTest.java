package org.zkelect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Confirmed leadership through the Java API, on real ensembles on loopback:
 * the leadership events with their epochs and reasons, waitForConfirmed, the
 * lease and the epoch store. Every wait has a deadline; the deadlines are
 * generous for a loaded machine.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LeadershipTest {
    private static final double SECONDS = 60;

    /** The peers' confirmed leaderships once they agree on one leader and epoch above {@code above}. */
    private static Map<Peer, Confirmed> awaitAgreement(List<Peer> peers, long above) throws InterruptedException {
        Map<Peer, Confirmed> seen = new HashMap<>();
        long deadline = System.nanoTime() + (long) (SECONDS * 1e9);
        for (;;) {
            seen.clear();
            for (Peer p : peers) {
                long left = Math.max(0, deadline - System.nanoTime());
                p.waitForConfirmed(Duration.ofNanos(left)).ifPresent(c -> seen.put(p, c));
            }
            if (seen.size() == peers.size()) {
                Confirmed any = seen.values().iterator().next();
                long leading = seen.values().stream().filter(c -> c.role() == State.LEADING).count();
                boolean agree = seen.values().stream()
                        .allMatch(c -> c.leader() == any.leader() && c.epoch() == any.epoch());
                if (agree && leading == 1 && any.epoch() > above) {
                    return new HashMap<>(seen);
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no agreement on a confirmed leader with epoch above " + above
                        + " within " + SECONDS + " s: " + seen);
            }
            Thread.sleep(20);
        }
    }

    private static Peer leaderOf(Map<Peer, Confirmed> agreed) {
        return agreed.entrySet().stream().filter(e -> e.getValue().role() == State.LEADING)
                .findFirst().orElseThrow().getKey();
    }

    /** Waits until exactly {@code leader} leads now; checks its lease's fields, and the others' leases. */
    private static void assertLeadsNowOnlyOn(Peer leader, long epoch, List<Peer> peers) throws InterruptedException {
        AtomicReference<Lease> held = new AtomicReference<>();
        AtomicReference<long[]> clock = new AtomicReference<>();
        Cluster.await("sid " + leader.sid() + " leads now", SECONDS, () -> {
            long before = Peer.clockNanos();
            Lease l = leader.lease();
            clock.set(new long[] {before, Peer.clockNanos()});
            held.set(l);
            return l.leadsNow();
        });
        Lease l = held.get();
        assertEquals(epoch, l.epoch(), l.toString());
        assertTrue(l.remainingNanos() > 0 && l.remaining().toNanos() == l.remainingNanos(), l.toString());
        long at = l.deadlineNanos() - l.remainingNanos(); // the library's clock at the call
        assertTrue(clock.get()[0] <= at && at <= clock.get()[1], l + " read between " + clock.get()[0]
                + " and " + clock.get()[1]);
        for (Peer p : peers) {
            if (p != leader) {
                Lease f = p.lease();
                assertFalse(f.leadsNow(), "sid " + p.sid() + " follows: " + f);
                assertFalse(p.leadsNow(), "sid " + p.sid() + " follows");
                assertEquals(0, f.remainingNanos(), f.toString());
            }
        }
    }

    @Test
    void threePeersConfirmALeaderAndFenceWithTheEpochThenCloseTheLeader() throws Exception {
        long storesBefore = Native.liveStores();
        try (Cluster c = Cluster.config(3)) {
            Map<Peer, LeadershipLog> logs = new HashMap<>();
            for (int sid = 1; sid <= 3; sid++) {
                Peer p = c.peer(sid);
                LeadershipLog log = new LeadershipLog();
                p.addListener(log);
                p.setEpochStore(0, 0, log); // an empty store: no quarantine at start
                logs.put(p, log);
            }
            for (Peer p : c.peers) {
                p.start();
            }
            Map<Peer, Confirmed> agreed = awaitAgreement(c.peers, 0);
            Peer leader = leaderOf(agreed);
            long epoch = agreed.get(leader).epoch();
            assertTrue(epoch >= 1, agreed.toString());
            assertEquals(new Confirmed(State.LEADING, leader.sid(), epoch), agreed.get(leader));

            // The leader saw onLeading(epoch), after its store kept that epoch.
            // (The confirmed snapshot is set before the listeners run on the
            // notifier thread, so their calls may still be on their way.)
            LeadershipLog ll = logs.get(leader);
            Cluster.await("sid " + leader.sid() + " hears leading " + epoch, SECONDS,
                    () -> ll.indexOf("leading " + epoch, 0) >= 0);
            int leading = ll.indexOf("leading " + epoch, 0);
            assertTrue(leading >= 0, "sid " + leader.sid() + ": " + ll);
            int stored = ll.storeOfAtLeast(epoch, leading);
            assertTrue(stored >= 0 && stored < leading, "the store ran before onLeading: " + ll);
            for (Thread t : ll.storeThreads) {
                assertEquals("zkelect-election-" + leader.sid(), t.getName());
                assertTrue(t.isDaemon(), "the election thread is attached as a daemon");
            }
            // The followers saw onFollowing(leader, epoch): the same epoch.
            for (Peer p : c.peers) {
                if (p != leader) {
                    assertEquals(new Confirmed(State.FOLLOWING, leader.sid(), epoch), agreed.get(p));
                    LeadershipLog fl = logs.get(p);
                    Cluster.await("sid " + p.sid() + " hears following " + leader.sid() + " " + epoch, SECONDS,
                            () -> fl.has("following " + leader.sid() + " " + epoch));
                }
            }
            assertLeadsNowOnlyOn(leader, epoch, c.peers);
            // The statistics count the election and the confirmed leadership.
            for (Peer p : c.peers) {
                Stats st = p.stats();
                assertTrue(st.running(), st.toString());
                assertTrue(st.lookingCount() >= 1, st.toString());
                assertTrue(st.elections() >= 1 && st.elections() <= st.lookingCount(), st.toString());
                assertTrue(st.leadershipChanges() >= 1, st.toString());
                assertTrue(st.acceptedEpoch() >= epoch, st.toString());
                assertTrue(st.framesReceived() > 0 && st.framesSent() > 0, st.toString());
                assertTrue(st.totalElectionTime().compareTo(st.lastElectionTime()) >= 0, st.toString());
            }

            // Closing the leader delivers onLeadershipLost(epoch, STOPPED) before close() returns.
            leader.close();
            int lost = ll.indexOf("leadershipLost " + epoch + " " + LossReason.STOPPED, 0);
            assertTrue(lost > leading, ll.toString());
            assertTrue(ll.indexOf("leaderLost " + leader.sid() + " " + LossReason.STOPPED, lost) > lost,
                    ll.toString());
            int linesAtClose = ll.lines.size();

            // The survivors lose the old leader, with a reason, then confirm a new one with a higher epoch.
            List<Peer> survivors = new ArrayList<>(c.peers);
            survivors.remove(leader);
            Map<Peer, Confirmed> next = awaitAgreement(survivors, epoch);
            Peer newLeader = leaderOf(next);
            long newEpoch = next.get(newLeader).epoch();
            assertTrue(newEpoch > epoch, next.toString());
            for (Peer p : survivors) {
                LeadershipLog sl = logs.get(p);
                String lostLine = "leaderLost " + leader.sid() + " ";
                Cluster.await("sid " + p.sid() + " hears " + lostLine, SECONDS,
                        () -> sl.indexOf(lostLine, 0) >= 0);
                int gone = sl.indexOf(lostLine, 0);
                String reason = sl.lines.get(gone).split(" ")[2];
                assertNotEquals(LossReason.NONE.name(), reason, sl.toString());
                assertNotEquals(LossReason.UNKNOWN.name(), reason, sl.toString());
                String confirmed = p == newLeader ? "leading " + newEpoch
                        : "following " + newLeader.sid() + " " + newEpoch;
                // Events reach the listener after the state the wait reads.
                Cluster.await("sid " + p.sid() + " hears " + confirmed, SECONDS,
                        () -> sl.indexOf(confirmed, gone) > gone);
            }
            assertLeadsNowOnlyOn(newLeader, newEpoch, survivors);
            assertEquals(linesAtClose, ll.lines.size(), "nothing reaches a closed peer's listener: " + ll);
        }
        Cluster.await("every store callback released", 30, () -> Native.liveStores() <= storesBefore);
    }

    @Test
    void closingTheLeaderReleasesItsFollowersAtOnce() throws Exception {
        // tickTime 60 s, syncLimit 2: the followers' promises to the old leader
        // would hold for 120 s, twice the agreement deadline. A successor
        // confirmed in time was released by the leader's departure notice.
        try (Cluster c = Cluster.config(3, 60000)) {
            Map<Peer, LeadershipLog> logs = new HashMap<>();
            for (int sid = 1; sid <= 3; sid++) {
                Peer p = c.peer(sid);
                LeadershipLog log = new LeadershipLog();
                p.addListener(log);
                p.setEpochStore(0, 0, log);
                logs.put(p, log);
            }
            for (Peer p : c.peers) {
                p.start();
            }
            Map<Peer, Confirmed> agreed = awaitAgreement(c.peers, 0);
            Peer leader = leaderOf(agreed);
            long epoch = agreed.get(leader).epoch();
            leader.close();
            List<Peer> survivors = new ArrayList<>(c.peers);
            survivors.remove(leader);
            Map<Peer, Confirmed> next = awaitAgreement(survivors, epoch);
            assertTrue(next.get(leaderOf(next)).epoch() > epoch, next.toString());
            // The successor was confirmed well within the promises' 120 s:
            // the departure notice released them. Each survivor gave the
            // old leader up either on that notice or, when its reconnect
            // was refused first (the leader's port closes right after the
            // notice is written), on the broken connection; a refusal
            // releases no promise, so only the notice can have.
            for (Peer p : survivors) {
                LeadershipLog sl = logs.get(p);
                Cluster.await("sid " + p.sid() + " gave up the old leader", SECONDS,
                        () -> sl.has("leaderLost " + leader.sid() + " " + LossReason.LEADER_LOOKING)
                                || sl.has("leaderLost " + leader.sid() + " " + LossReason.DISCONNECTED));
            }
        }
    }

    @Test
    void aThrowingStoreIsReportedAndTheElectionGoesOn() throws Exception {
        ThrownLog thrown = new ThrownLog(); // keeps the expected stack traces out of the output
        ConcurrentLinkedQueue<Throwable> logged = thrown.thrown;
        try (Cluster c = Cluster.config(3)) {
            List<LeadershipLog> logs = new ArrayList<>();
            for (int sid = 1; sid <= 3; sid++) {
                Peer p = c.peer(sid);
                LeadershipLog log = new LeadershipLog();
                if (sid == 1) {
                    // Rounds alone are kept (so sid 1 takes part in elections); no epoch is.
                    log.failEpochsWith = new java.io.IOException("disk full");
                }
                p.addListener(log);
                p.setEpochStore(0, 0, log);
                logs.add(log);
            }
            for (Peer p : c.peers) {
                p.start();
            }
            LeadershipLog failing = logs.get(0);
            Cluster.await("sid 1 reports the failed store", SECONDS, () -> failing.has("storeFailed "));
            int failed = failing.indexOf("storeFailed ", 0);
            assertTrue(Long.parseLong(failing.lines.get(failed).split(" ")[1]) >= 1, failing.toString());
            assertTrue(failing.storeOfAtLeast(1, failed) >= 0, "the store was asked first: " + failing);
            Cluster.await("the exception logged", SECONDS,
                    () -> logged.stream().anyMatch(t -> "disk full".equals(t.getMessage())));
            // The election thread survived the exception: the store is asked again.
            int firstTry = failing.storeOfAtLeast(1, failed);
            Cluster.await("sid 1's store called again", SECONDS,
                    () -> failing.lines.subList(firstTry + 1, failing.lines.size()).stream()
                            .anyMatch(l -> l.startsWith("store ") && !l.startsWith("store 0 ")));
            // The two peers with a working store still confirm a leader.
            awaitAgreement(c.peers.subList(1, 3), 0);
            assertFalse(failing.has("leading "), failing.toString());
        } finally {
            thrown.close();
        }
    }

    @Test
    void aStoreThatReferencesItsPeerDoesNotKeepItAlive() throws Exception {
        long freesBefore = NativeHandle.FREES.get();
        long storesBefore = Native.liveStores();
        try (Cluster c = Cluster.config(3)) {
            startAndForget(c.config);
            assertFalse(c.portFree(1), "the forgotten peer runs");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!(NativeHandle.FREES.get() > freesBefore && c.portFree(1))) {
                assertTrue(System.nanoTime() < deadline, "the Cleaner did not free the peer");
                System.gc();
                Thread.sleep(20);
            }
            Cluster.await("its store released", 30, () -> Native.liveStores() <= storesBefore);
        }
    }

    /** Starts a peer whose epoch store references it, and drops it. */
    private static void startAndForget(String config) {
        Peer p = Peer.fromConfig(config, 1);
        p.setEpochStore(0, 0, (epoch, round) -> p.sid());
        p.start();
    }

    @Test
    void theSnapshotSaysWhoVotesFollowOnly() throws Exception {
        // Sid 3 would win on the sid; with followOnly=true in its own config it
        // votes but never wins, and knows of no real ZooKeeper server.
        try (Cluster c = Cluster.config(3)) {
            List<Peer> peers = new ArrayList<>();
            for (long sid = 1; sid <= 3; sid++) {
                Peer p = sid == 3 ? Peer.fromConfig("followOnly=true\n" + c.config, sid) : c.peer(sid);
                if (sid == 3) {
                    c.peers.add(p);
                }
                peers.add(p);
            }
            Leadership before = peers.get(2).leadership();
            assertFalse(before.followOnly() || before.realMembers(), "not started: " + before);
            for (Peer p : peers) {
                p.start();
            }
            long leader = peers.get(0).waitForConfirmed(Duration.ofSeconds(30)).orElseThrow().leader();
            assertNotEquals(3, leader);
            for (Peer p : peers) {
                Confirmed confirmed = p.waitForConfirmed(Duration.ofSeconds(30)).orElseThrow();
                assertEquals(leader, confirmed.leader(), "sid " + p.sid());
                Leadership snap = p.leadership();
                assertEquals(p.sid() == 3, snap.followOnly(), snap.toString());
                assertFalse(snap.realMembers(), snap.toString());
            }
        }
    }

    @Test
    void waitForConfirmedAlone() throws Exception {
        long storesBefore = Native.liveStores();
        try (Cluster c = Cluster.config(3)) {
            Peer p = c.peer(1);
            ZkelectException e = assertThrows(ZkelectException.class, () -> p.waitForConfirmed(Duration.ofMillis(10)));
            assertEquals(ZkelectException.NOT_RUNNING, e.getCode());
            e = assertThrows(ZkelectException.class, () -> p.setEpochStore(-1, 0, (ep, r) -> {}));
            assertEquals(ZkelectException.INVALID_ARGUMENT, e.getCode());
            assertEquals(storesBefore, Native.liveStores(), "the refused store was released");
            p.setEpochStore(0, 0, (ep, r) -> {});
            p.setEpochStore(0, 0, (ep, r) -> {}); // replaces the first, which is released
            assertEquals(storesBefore + 1, Native.liveStores());
            p.start(); // alone: no quorum
            assertFalse(p.leadsNow());
            assertEquals(new Lease(false, 0, 0, 0), p.lease());
            assertEquals(Optional.empty(), p.confirmed());
            long t0 = System.nanoTime();
            assertEquals(Optional.empty(), p.waitForConfirmed(Duration.ofMillis(300)));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 290, "waited " + ms + " ms");
            assertEquals(Optional.empty(), p.waitForConfirmed(Duration.ZERO));
            assertThrows(IllegalArgumentException.class, () -> p.waitForConfirmed(Duration.ofMillis(-1)));
            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, () -> p.waitForConfirmed(Duration.ofSeconds(30)));
            assertFalse(Thread.interrupted());

            // Closed while another thread waits: it gets IllegalStateException.
            AtomicReference<Throwable> seen = new AtomicReference<>();
            Thread waiter = new Thread(() -> {
                try {
                    seen.set(new AssertionError("returned " + p.waitForConfirmed(Duration.ofMinutes(5))));
                } catch (Throwable t) {
                    seen.set(t);
                }
            });
            waiter.start();
            Cluster.await("the waiter waits", 10, () -> waiter.getState() == Thread.State.TIMED_WAITING);
            p.close();
            waiter.join(10_000);
            assertFalse(waiter.isAlive());
            assertTrue(seen.get() instanceof IllegalStateException, String.valueOf(seen.get()));
            assertThrows(IllegalStateException.class, p::lease);
            assertThrows(IllegalStateException.class, p::leadsNow);
            assertThrows(IllegalStateException.class, p::confirmed);
            assertThrows(IllegalStateException.class, () -> p.waitForConfirmed(Duration.ZERO));
            assertThrows(IllegalStateException.class, () -> p.setEpochStore(0, 0, (ep, r) -> {}));
        }
        Cluster.await("every store callback released", 30, () -> Native.liveStores() <= storesBefore);
        assertTrue(Peer.clockNanos() > 0);
    }
}
