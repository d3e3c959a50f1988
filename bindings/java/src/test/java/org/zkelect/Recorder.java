package org.zkelect;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A listener that records every event as a line, and the threads it ran on. */
class Recorder implements ElectionListener {
    final List<String> events = new CopyOnWriteArrayList<>();
    final List<Thread> threads = new CopyOnWriteArrayList<>();

    private void add(String e) {
        threads.add(Thread.currentThread());
        events.add(e);
    }

    @Override
    public void onStateChanged(State old, State now) {
        add("state " + old + "->" + now);
    }

    @Override
    public void onElected(Leader leader) {
        add("elected " + leader.leader() + " " + leader.state());
    }

    @Override
    public void onLeaderLost(long leader) {
        add("lost " + leader);
    }

    @Override
    public void onPeerConnected(long sid) {
        add("connected " + sid);
    }

    @Override
    public void onPeerDisconnected(long sid) {
        add("disconnected " + sid);
    }

    int indexOf(String prefix, int from) {
        for (int i = from; i < events.size(); i++) {
            if (events.get(i).startsWith(prefix)) {
                return i;
            }
        }
        return -1;
    }

    boolean has(String prefix) {
        return indexOf(prefix, 0) >= 0;
    }
}
