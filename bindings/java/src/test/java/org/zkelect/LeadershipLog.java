package org.zkelect;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One peer's leadership events and the calls of its epoch store, in the
 * order they happened (the store runs on the election thread, the events on
 * the notifier thread; the store returns before anything that depends on it
 * happens, so its line comes first).
 */
class LeadershipLog implements ElectionListener, EpochStore {
    final List<String> lines = new CopyOnWriteArrayList<>();
    final List<Thread> storeThreads = new CopyOnWriteArrayList<>();
    /** When set, the store throws this (after logging the call) for any epoch above 0. */
    volatile Exception failEpochsWith;

    @Override
    public void store(long epoch, long round) throws Exception {
        storeThreads.add(Thread.currentThread());
        lines.add("store " + epoch + " " + round);
        Exception e = failEpochsWith;
        if (e != null && epoch > 0) {
            throw e;
        }
    }

    @Override
    public void onLeading(long epoch) {
        lines.add("leading " + epoch);
    }

    @Override
    public void onLeadershipLost(long epoch, LossReason reason) {
        lines.add("leadershipLost " + epoch + " " + reason);
    }

    @Override
    public void onLeadershipFailed(long epoch, LossReason reason) {
        lines.add("leadershipFailed " + epoch + " " + reason);
    }

    @Override
    public void onFollowing(long leader, long epoch) {
        lines.add("following " + leader + " " + epoch);
    }

    @Override
    public void onObserving(long leader, long epoch) {
        lines.add("observing " + leader + " " + epoch);
    }

    @Override
    public void onLeaderLost(long leader, LossReason reason) {
        lines.add("leaderLost " + leader + " " + reason);
    }

    @Override
    public void onEpochAccepted(long epoch) {
        lines.add("accepted " + epoch);
    }

    @Override
    public void onEpochStoreFailed(long epoch) {
        lines.add("storeFailed " + epoch);
    }

    int indexOf(String prefix, int from) {
        for (int i = Math.max(0, from); i < lines.size(); i++) {
            if (lines.get(i).startsWith(prefix)) {
                return i;
            }
        }
        return -1;
    }

    boolean has(String prefix) {
        return indexOf(prefix, 0) >= 0;
    }

    /** The first store call, at or before {@code before}, with an epoch of at least {@code epoch}; -1 if none. */
    int storeOfAtLeast(long epoch, int before) {
        for (int i = 0; i <= before && i < lines.size(); i++) {
            String[] w = lines.get(i).split(" ");
            if (w[0].equals("store") && Long.parseLong(w[1]) >= epoch) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public String toString() {
        return lines.toString();
    }
}
