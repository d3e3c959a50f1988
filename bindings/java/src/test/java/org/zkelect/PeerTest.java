package org.zkelect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PeerTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static Leader leaderOf(Peer p) throws InterruptedException {
        return p.awaitLeader(WAIT).orElseThrow(() -> new AssertionError("no leader for " + p));
    }

    @Test
    void ensembleOfThreeElectsOneLeader() throws Exception {
        // The vote order decides when every vote arrives within finalizeWait;
        // a full second of it makes that hold on a loaded machine too.
        try (Cluster c = Cluster.start(Cluster.config(3, 2000, "finalizeWait=1000\n"))) {
            int leading = 0;
            for (Peer p : c.peers) {
                Leader l = leaderOf(p);
                assertEquals(3, l.leader(), "equal zxids: the highest sid wins");
                assertEquals(p.sid() == 3 ? State.LEADING : State.FOLLOWING, l.state());
                Vote v = p.currentVote();
                assertEquals(l.state(), v.state());
                assertEquals(3, v.leader());
                assertEquals(l.electionEpoch(), v.electionEpoch());
                leading += l.state() == State.LEADING ? 1 : 0;
            }
            assertEquals(1, leading);
            assertTrue(Peer.nativeVersion().matches("\\d+\\.\\d+\\.\\d+.*"), Peer.nativeVersion());
        }
    }

    @Test
    void higherZxidWinsAndStartStopStart() throws Exception {
        try (Cluster c = Cluster.config(3)) {
            for (int sid = 1; sid <= 3; sid++) {
                Peer p = c.peer(sid);
                p.setEpoch(1);
                p.setZxid(sid == 1 ? 0x1_0000_0005L : 0x1_0000_0001L);
                p.start();
            }
            assertThrows(ZkelectException.class, () -> c.peers.get(0).start());
            for (Peer p : c.peers) {
                Leader l = leaderOf(p);
                assertEquals(1, l.leader());
                assertEquals(0x1_0000_0005L, l.zxid());
                assertEquals(1, l.peerEpoch());
            }
            Peer p1 = c.peers.get(0);
            p1.stop();
            p1.stop(); // idempotent
            assertTrue(c.portFree(1), "stop released the port");
            ZkelectException e = assertThrows(ZkelectException.class, () -> p1.awaitLeader(Duration.ZERO));
            assertEquals(ZkelectException.NOT_RUNNING, e.getCode());
            // Stopped cleanly, sid 1 released the others at once: they may
            // have elected sid 3 before it came back, and it then follows.
            p1.start();
            Peer p2 = c.peers.get(1);
            Cluster.await("sid 1 agrees with the others after its restart", 60, () -> {
                try {
                    return leaderOf(p1).leader() == leaderOf(p2).leader();
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            });
        }
    }

    @Test
    void listenersSeeStateChangedBeforeElectedOnTheNotifierThread() throws Exception {
        try (Cluster c = Cluster.config(3)) {
            List<Recorder> recs = new ArrayList<>();
            for (int sid = 1; sid <= 3; sid++) {
                Peer p = c.peer(sid);
                Recorder r = new Recorder();
                p.addListener(r);
                recs.add(r);
            }
            for (Peer p : c.peers) {
                p.start();
            }
            long leader = c.agreedLeader();
            for (int i = 0; i < 3; i++) {
                Recorder r = recs.get(i);
                long sid = i + 1;
                State role = sid == leader ? State.LEADING : State.FOLLOWING;
                Cluster.await("sid " + sid + " elected", 30, () -> r.has("elected " + leader));
                int changed = r.indexOf("state LOOKING->" + role, 0);
                int elected = r.indexOf("elected " + leader + " " + role, 0);
                assertTrue(changed >= 0 && changed < elected, "sid " + sid + ": " + r.events);
                for (Thread t : r.threads) {
                    assertEquals("zkelect-notify-" + sid, t.getName());
                    assertTrue(t.isDaemon(), "native threads are attached as daemons");
                }
            }
            Cluster.await("connections reported", 30, () -> recs.get(0).has("connected "));
        }
    }

    @Test
    void throwingListenersAreLoggedAndTheElectionGoesOn() throws Exception {
        ThrownLog thrown = new ThrownLog(); // keeps the expected stack traces out of the output
        ConcurrentLinkedQueue<Throwable> logged = thrown.thrown;
        try (Cluster c = Cluster.config(3)) {
            List<Recorder> recs = new ArrayList<>();
            for (int sid = 1; sid <= 3; sid++) {
                Peer p = c.peer(sid);
                p.addListener(new ElectionListener() {
                    @Override
                    public void onStateChanged(State old, State now) {
                        throw new IllegalStateException("listener bug");
                    }
                });
                p.addListener(new ElectionListener() {
                    @Override
                    public void onElected(Leader l) {
                        throw new AssertionError("listener error");
                    }
                });
                Recorder r = new Recorder();
                p.addListener(r);
                recs.add(r);
                p.start();
            }
            long leader = c.agreedLeader();
            for (Recorder r : recs) {
                Cluster.await("elected after the throwing listeners", 30, () -> r.has("elected " + leader));
                assertTrue(r.has("state LOOKING->"), r.events.toString());
            }
            Cluster.await("both exceptions logged", 30,
                    () -> logged.stream().anyMatch(t -> t instanceof IllegalStateException)
                            && logged.stream().anyMatch(t -> t instanceof AssertionError));
            // The notifier threads survived: a restart is still reported.
            c.peers.get(0).restartElection();
            Cluster.await("events after the exceptions", 30, () -> recs.get(0).has("lost "));
        } finally {
            thrown.close();
        }
    }

    @Test
    void closeInsideAListener() throws Exception {
        long callbacksBefore = Native.liveCallbacks();
        try (Cluster c = Cluster.config(3)) {
            Peer p1 = c.peer(1);
            CountDownLatch closed = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            p1.addListener(new ElectionListener() {
                @Override
                public void onElected(Leader l) {
                    try {
                        p1.close();
                        p1.close(); // idempotent, also here
                        assertTrue(p1.isClosed());
                        assertThrows(IllegalStateException.class, p1::currentVote);
                    } catch (Throwable t) {
                        failure.set(t);
                    } finally {
                        closed.countDown();
                    }
                }
            });
            Recorder after = new Recorder(); // registered after the closing listener
            p1.addListener(after);
            c.peer(2).start();
            c.peer(3).start();
            p1.start();
            assertTrue(closed.await(30, TimeUnit.SECONDS), "the listener closed the peer");
            assertEquals(null, failure.get());
            assertTrue(p1.isClosed());
            Cluster.await("the port of sid 1 released", 30, () -> c.portFree(1));
            Cluster.await("the callback of sid 1 released", 30,
                    () -> Native.liveCallbacks() <= callbacksBefore + 2);
            assertFalse(after.has("elected"), "no listener runs after close: " + after.events);
            p1.close();
            assertThrows(IllegalStateException.class, p1::start);
            // The other two still have a quorum.
            assertEquals(3, leaderOf(c.peers.get(1)).leader());
        }
        Cluster.await("every callback released", 30, () -> Native.liveCallbacks() <= callbacksBefore);
    }

    @Test
    void closeWhileAnotherThreadAwaits() throws Exception {
        try (Cluster c = Cluster.config(3)) {
            Peer p = c.peer(1);
            p.start(); // alone: no quorum, no leader
            AtomicReference<Throwable> seen = new AtomicReference<>();
            Thread waiter = new Thread(() -> {
                try {
                    seen.set(new AssertionError("returned " + p.awaitLeader(Duration.ofMinutes(5))));
                } catch (Throwable t) {
                    seen.set(t);
                }
            });
            waiter.start();
            Cluster.await("the waiter blocks in the native wait", 10, () -> java.util.Arrays
                    .stream(waiter.getStackTrace())
                    .anyMatch(f -> f.getMethodName().equals("waitForLeader")));
            long freesBefore = NativeHandle.FREES.get();
            p.close();
            assertTrue(c.portFree(1), "close() returned after the stop");
            waiter.join(10_000);
            assertFalse(waiter.isAlive());
            assertTrue(seen.get() instanceof IllegalStateException, String.valueOf(seen.get()));
            Cluster.await("the handle freed", 10, () -> NativeHandle.FREES.get() == freesBefore + 1);
        }
    }

    @Test
    void closeIsIdempotentAndRaceSafe() throws Exception {
        int rounds = 10;
        long freesBefore = NativeHandle.FREES.get();
        try (Cluster c = Cluster.config(3)) {
            for (int round = 0; round < rounds; round++) {
                Peer p = Peer.fromConfig(c.config, 1);
                p.addListener(new Recorder());
                p.start();
                CountDownLatch go = new CountDownLatch(1);
                ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
                List<Thread> threads = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    boolean closer = i % 2 == 0;
                    threads.add(new Thread(() -> {
                        try {
                            go.await();
                            if (closer) {
                                p.close();
                                assertTrue(p.isClosed());
                                return;
                            }
                            for (;;) {
                                p.currentVote();
                                p.setZxid(7);
                                p.awaitLeader(Duration.ZERO);
                                p.addListener(new Recorder());
                            }
                        } catch (IllegalStateException e) {
                            // expected once closed
                        } catch (Throwable t) {
                            unexpected.add(t);
                        }
                    }));
                }
                threads.forEach(Thread::start);
                go.countDown();
                for (Thread t : threads) {
                    t.join(30_000);
                    assertFalse(t.isAlive(), "a thread hangs");
                }
                assertTrue(unexpected.isEmpty(), unexpected.toString());
                assertTrue(c.portFree(1), "round " + round + ": every close() returned after the stop");
                p.close();
            }
        }
        assertEquals(freesBefore + rounds, NativeHandle.FREES.get(), "each handle freed exactly once");
    }

    @Test
    void useAfterCloseThrowsIllegalStateException() throws Exception {
        try (Cluster c = Cluster.config(3)) {
            Peer p = c.peer(2);
            ElectionListener l = new Recorder();
            p.addListener(l);
            p.close();
            p.close();
            assertTrue(p.isClosed());
            assertEquals(2, p.sid());
            assertThrows(IllegalStateException.class, p::start);
            assertThrows(IllegalStateException.class, p::stop);
            assertThrows(IllegalStateException.class, p::restartElection);
            assertThrows(IllegalStateException.class, p::currentVote);
            assertThrows(IllegalStateException.class, p::state);
            assertThrows(IllegalStateException.class, () -> p.setZxid(1));
            assertThrows(IllegalStateException.class, () -> p.setEpoch(1));
            assertThrows(IllegalStateException.class, () -> p.awaitLeader(Duration.ZERO));
            assertThrows(IllegalStateException.class, () -> p.addListener(new Recorder()));
            assertTrue(p.removeListener(l), "removing is allowed after close");
            assertFalse(p.removeListener(l));
        }
    }

    @Test
    void badConfigurationNamesTheLine() throws Exception {
        ZkelectException e = assertThrows(ZkelectException.class,
                () -> Peer.fromConfig("tickTime=2000\nserver.1=nohost\n", 1));
        assertEquals(ZkelectException.CONFIG, e.getCode());
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        assertTrue(e.getDetail().contains("server.1"), e.getDetail());
        assertTrue(e.getMessage().startsWith("invalid configuration: "), e.getMessage());

        // UTF-8 both ways: a non-ASCII comment parses, a non-ASCII error comes back intact.
        String ok = "# élection ✓ 🗳\nserver.1=127.0.0.1:1:2\n";
        try (Peer p = Peer.fromConfig(ok, 1)) {
            assertEquals(1, p.sid());
        }
        e = assertThrows(ZkelectException.class, () -> Peer.fromConfig("server.1=höst🗳\n", 1));
        assertTrue(e.getMessage().contains("höst🗳"), e.getMessage());

        e = assertThrows(ZkelectException.class, () -> Peer.fromConfig("server.1=127.0.0.1:1:2\n", 5));
        assertEquals(ZkelectException.CONFIG, e.getCode());
        assertTrue(e.getMessage().contains("server.5"), e.getMessage());

        Path missing = Path.of("/nonexistent/zkelect/zoo.cfg");
        e = assertThrows(ZkelectException.class, () -> Peer.fromFile(missing, 1));
        assertEquals(ZkelectException.CONFIG, e.getCode());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());

        assertThrows(IllegalArgumentException.class, () -> Peer.fromConfig("server.1=x\0", 1));
    }

    @Test
    void fromFileReadsMyidFromDataDir() throws Exception {
        Path dir = java.nio.file.Files.createTempDirectory("zkelect-java");
        try (Cluster c = Cluster.config(3)) {
            java.nio.file.Files.writeString(dir.resolve("myid"), "2\n");
            Path cfg = dir.resolve("zoo.cfg");
            java.nio.file.Files.writeString(cfg, "dataDir=" + dir + "\n" + c.config);
            try (Peer p = Peer.fromFile(cfg)) {
                assertEquals(2, p.sid());
            }
            try (Peer p = Peer.fromFile(cfg, 3)) {
                assertEquals(3, p.sid());
            }
        } finally {
            java.nio.file.Files.deleteIfExists(dir.resolve("myid"));
            java.nio.file.Files.deleteIfExists(dir.resolve("zoo.cfg"));
            java.nio.file.Files.deleteIfExists(dir);
        }
    }

    @Test
    void takenPortIsAnIoErrorNamingIt() throws Exception {
        try (Cluster c = Cluster.config(3);
                ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), c.electionPorts[1]));
            Peer p = c.peer(1);
            ZkelectException e = assertThrows(ZkelectException.class, p::start);
            assertEquals(ZkelectException.IO, e.getCode());
            assertTrue(e.getMessage().contains(String.valueOf(c.electionPorts[1])), e.getMessage());
        }
    }

    @Test
    void awaitLeaderTimesOutWithEmpty() throws Exception {
        try (Cluster c = Cluster.config(3)) {
            Peer p = c.peer(1);
            ZkelectException e = assertThrows(ZkelectException.class, () -> p.awaitLeader(Duration.ofMillis(10)));
            assertEquals(ZkelectException.NOT_RUNNING, e.getCode());
            p.start(); // alone: no quorum
            long t0 = System.nanoTime();
            Optional<Leader> l = p.awaitLeader(Duration.ofMillis(300));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(l.isEmpty());
            assertTrue(ms >= 290 && ms < 5_000, "waited " + ms + " ms");
            assertEquals(State.LOOKING, p.state());
            assertTrue(p.awaitLeader(Duration.ZERO).isEmpty());
            assertThrows(IllegalArgumentException.class, () -> p.awaitLeader(Duration.ofMillis(-1)));

            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, () -> p.awaitLeader(WAIT));
            assertFalse(Thread.interrupted());
        }
    }

    @Test
    void restartElectionReportsLeaderLostThenANewElection() throws Exception {
        try (Cluster c = Cluster.started(3)) {
            // Sid 1 never wins (2 and 3 outvote it), so it follows 2 or 3.
            long leader = c.agreedLeader();
            Peer p1 = c.peers.get(0);
            Recorder r = new Recorder();
            p1.addListener(r);
            p1.restartElection();
            Cluster.await("lost then elected", 30, () -> {
                int lost = r.indexOf("lost " + leader, 0);
                return lost >= 0 && r.indexOf("elected " + leader + " FOLLOWING", lost) > lost;
            });
            assertEquals(leader, leaderOf(p1).leader());
        }
        try (Cluster c = Cluster.config(3)) {
            ZkelectException e = assertThrows(ZkelectException.class, () -> c.peer(1).restartElection());
            assertEquals(ZkelectException.NOT_RUNNING, e.getCode());
        }
    }

    @Test
    void notifierThreadsAreDetachedWhenTheyExit() throws Exception {
        for (int round = 0; round < 3; round++) {
            try (Cluster c = Cluster.config(3)) {
                AtomicInteger calls = new AtomicInteger();
                for (int sid = 1; sid <= 3; sid++) {
                    Peer p = c.peer(sid);
                    p.addListener(new ElectionListener() {
                        @Override
                        public void onElected(Leader l) {
                            calls.incrementAndGet();
                        }
                    });
                    p.start();
                }
                Cluster.await("three elected events", 30, () -> calls.get() >= 3);
                assertTrue(notifierThreads() >= 1);
            }
        }
        Cluster.await("no attached notifier thread left", 30, () -> notifierThreads() == 0);
    }

    private static long notifierThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("zkelect-notify-"))
                .count();
    }

    @Test
    void cleanerFreesAPeerNobodyClosed() throws Exception {
        long freesBefore = NativeHandle.FREES.get();
        long callbacksBefore = Native.liveCallbacks();
        try (Cluster c = Cluster.config(3)) {
            startAndForget(c.config);
            assertFalse(c.portFree(1), "the forgotten peer runs");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!(NativeHandle.FREES.get() > freesBefore && c.portFree(1))) {
                assertTrue(System.nanoTime() < deadline, "the Cleaner did not free the peer");
                System.gc();
                Thread.sleep(20);
            }
            Cluster.await("its callback released", 30, () -> Native.liveCallbacks() <= callbacksBefore);
        }
    }

    /** Starts a peer whose listener references it, and drops it. */
    private static void startAndForget(String config) {
        Peer p = Peer.fromConfig(config, 1);
        p.addListener(new ElectionListener() {
            @Override
            public void onStateChanged(State old, State now) {
                p.sid(); // the listener references its peer: no leak through the native side
            }
        });
        p.start();
    }

    @Test
    void portsFreeHelperSeesABoundPort() throws IOException {
        try (Cluster c = Cluster.config(1);
                ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), c.electionPorts[1]));
            assertFalse(c.portFree(1));
        }
    }
}
