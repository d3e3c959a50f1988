package org.zkelect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Each event kind of the C ABI reaches its listener method, with its fields; no network. */
class EventDispatcherTest {
    /** Records every method of the listener, including the old one-argument onLeaderLost. */
    static final class All implements ElectionListener {
        final List<String> calls = new ArrayList<>();

        @Override
        public void onStateChanged(State old, State now) {
            calls.add("state " + old + " " + now);
        }

        @Override
        public void onElected(Leader l) {
            calls.add("elected " + l);
        }

        @Override
        public void onLeaderLost(long leader, LossReason reason) {
            calls.add("leaderLost " + leader + " " + reason);
            ElectionListener.super.onLeaderLost(leader, reason);
        }

        @Override
        public void onLeaderLost(long leader) {
            calls.add("leaderLost1 " + leader);
        }

        @Override
        public void onPeerConnected(long sid) {
            calls.add("connected " + sid);
        }

        @Override
        public void onPeerDisconnected(long sid) {
            calls.add("disconnected " + sid);
        }

        @Override
        public void onLeading(long epoch) {
            calls.add("leading " + epoch);
        }

        @Override
        public void onLeadershipLost(long epoch, LossReason reason) {
            calls.add("leadershipLost " + epoch + " " + reason);
        }

        @Override
        public void onLeadershipFailed(long epoch, LossReason reason) {
            calls.add("leadershipFailed " + epoch + " " + reason);
        }

        @Override
        public void onFollowing(long leader, long epoch) {
            calls.add("following " + leader + " " + epoch);
        }

        @Override
        public void onObserving(long leader, long epoch) {
            calls.add("observing " + leader + " " + epoch);
        }

        @Override
        public void onEpochAccepted(long epoch) {
            calls.add("accepted " + epoch);
        }

        @Override
        public void onEpochStoreFailed(long epoch) {
            calls.add("storeFailed " + epoch);
        }
    }

    /** An event as the glue passes it: my sid 5, peer sid 4, leader 3, epoch 7. */
    private static void send(EventDispatcher d, int kind, int reason) {
        d.dispatch(5, kind, 0, 2, 3, 0x7_0000_0001L, 11, 7, 12, 4, 7, reason);
    }

    @Test
    void everyKindReachesItsMethodWithEpochAndReason() {
        EventDispatcher d = new EventDispatcher();
        All a = new All();
        d.listeners.add(a);
        String[][] expected = {
            {"1", "0", "state LOOKING LEADING"},
            {"2", "0", "elected Leader[leader=3, zxid=30064771073, electionEpoch=11, peerEpoch=7, state=LEADING,"
                    + " elapsedMillis=12]"},
            {"3", "7", "leaderLost 3 STOPPED", "leaderLost1 3"},
            {"4", "0", "connected 4"},
            {"5", "0", "disconnected 4"},
            {"6", "0", "leading 7"},
            {"7", "5", "leadershipLost 7 NO_QUORUM"},
            {"8", "6", "leadershipFailed 7 NOT_CONFIRMED"},
            {"9", "0", "following 3 7"},
            {"10", "0", "observing 3 7"},
            {"11", "0", "accepted 7"},
            {"12", "0", "storeFailed 7"},
        };
        for (String[] e : expected) {
            a.calls.clear();
            send(d, Integer.parseInt(e[0]), Integer.parseInt(e[1]));
            assertEquals(List.of(e).subList(2, e.length), a.calls, "kind " + e[0]);
        }
        // Every kind of the dispatcher's table is covered above.
        assertEquals(12, expected.length);

        a.calls.clear();
        send(d, 99, 0); // a kind newer than the binding
        assertEquals(List.of(), a.calls);
        send(d, EventDispatcher.LEADERSHIP_LOST, 42); // a reason newer than the binding
        assertEquals(List.of("leadershipLost 7 UNKNOWN"), a.calls);
    }

    @Test
    void anOldListenerStillSeesLeaderLost() {
        EventDispatcher d = new EventDispatcher();
        List<Long> lost = new ArrayList<>();
        d.listeners.add(new ElectionListener() {
            @Override
            public void onLeaderLost(long leader) {
                lost.add(leader);
            }
        });
        send(d, EventDispatcher.LEADER_LOST, LossReason.SILENT.code());
        assertEquals(List.of(3L), lost);
    }

    @Test
    void confirmedFollowsTheLeadershipEvents() throws Exception {
        EventDispatcher d = new EventDispatcher();
        assertEquals(Optional.empty(), d.awaitConfirmed(1_000_000));
        send(d, EventDispatcher.FOLLOWING, 0);
        assertEquals(Optional.of(new Confirmed(State.FOLLOWING, 3, 7)), d.confirmed());
        send(d, EventDispatcher.LEADER_LOST, LossReason.SILENT.code());
        assertEquals(Optional.empty(), d.confirmed());
        send(d, EventDispatcher.LEADING, 0);
        assertEquals(Optional.of(new Confirmed(State.LEADING, 5, 7)), d.awaitConfirmed(0));
        send(d, EventDispatcher.EPOCH_ACCEPTED, 0); // no change
        assertTrue(d.confirmed().isPresent());
        send(d, EventDispatcher.LEADERSHIP_LOST, LossReason.EPOCH_RAISED.code());
        assertEquals(Optional.empty(), d.confirmed());
        send(d, EventDispatcher.OBSERVING, 0);
        assertEquals(Optional.of(new Confirmed(State.OBSERVING, 3, 7)), d.confirmed());
        d.dispatch(5, EventDispatcher.STATE_CHANGED, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0); // back to LOOKING
        assertEquals(Optional.empty(), d.confirmed());

        // A waiter wakes on the event, not on its timeout.
        Thread t = new Thread(() -> send(d, EventDispatcher.FOLLOWING, 0));
        t.start();
        long t0 = System.nanoTime();
        assertEquals(Optional.of(new Confirmed(State.FOLLOWING, 3, 7)), d.awaitConfirmed(60_000_000_000L));
        assertTrue(System.nanoTime() - t0 < 50_000_000_000L);
        t.join();
    }

    @Test
    void storeBridgeNeverThrowsAndSaysWhetherItStored() {
        EventDispatcher d = new EventDispatcher();
        List<String> stored = new ArrayList<>();
        StoreBridge ok = new StoreBridge(d, (e, r) -> stored.add(e + "/" + r), 5);
        d.stores.add(ok);
        assertEquals(0, ok.store(7, 16));
        assertEquals(List.of("7/16"), stored);
        java.util.logging.Logger jul = java.util.logging.Logger.getLogger("org.zkelect");
        boolean useParent = jul.getUseParentHandlers();
        jul.setUseParentHandlers(false); // keep the expected stack traces out of the test output
        try {
            StoreBridge bad = new StoreBridge(d, (e, r) -> {
                throw new java.io.IOException("disk full");
            }, 5);
            assertEquals(1, bad.store(7, 16));
            StoreBridge worse = new StoreBridge(d, (e, r) -> {
                throw new StackOverflowError();
            }, 5);
            assertEquals(1, worse.store(7, 16));
        } finally {
            jul.setUseParentHandlers(useParent);
        }
        ok.released();
        assertTrue(d.stores.isEmpty());
    }
}
