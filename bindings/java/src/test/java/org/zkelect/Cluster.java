package org.zkelect;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/** Test helpers: configs on free loopback ports, ensembles, deadline waits. */
final class Cluster implements AutoCloseable {
    final String config;
    final int[] electionPorts;
    final List<Peer> peers = new ArrayList<>();

    private Cluster(String config, int[] electionPorts) {
        this.config = config;
        this.electionPorts = electionPorts;
    }

    /** A config of {@code n} servers on distinct free ports; no peer created yet. */
    static Cluster config(int n) throws IOException {
        return config(n, 2000);
    }

    /** The same with another {@code tickTime} (ms). */
    static Cluster config(int n, int tickMs) throws IOException {
        return config(n, tickMs, "");
    }

    /** The same with extra zoo.cfg lines. */
    static Cluster config(int n, int tickMs, String extra) throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        try {
            StringBuilder cfg = new StringBuilder("tickTime=" + tickMs + "\ninitLimit=5\nsyncLimit=2\n" + extra);
            int[] election = new int[n + 1];
            for (int sid = 1; sid <= n; sid++) {
                ServerSocket quorum = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                ServerSocket elect = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                held.add(quorum);
                held.add(elect);
                election[sid] = elect.getLocalPort();
                cfg.append("server.").append(sid).append("=127.0.0.1:").append(quorum.getLocalPort())
                        .append(':').append(elect.getLocalPort()).append('\n');
            }
            return new Cluster(cfg.toString(), election);
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
    }

    /** Creates (not starts) the peer of {@code sid}. */
    Peer peer(long sid) {
        Peer p = Peer.fromConfig(config, sid);
        peers.add(p);
        return p;
    }

    /** An ensemble of n started peers. */
    static Cluster started(int n) throws IOException {
        return start(config(n));
    }

    /** Starts a peer for every sid of the config. */
    static Cluster start(Cluster c) {
        int n = c.electionPorts.length - 1;
        try {
            for (int sid = 1; sid <= n; sid++) {
                c.peer(sid).start();
            }
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    @Override
    public void close() {
        for (Peer p : peers) {
            p.close();
        }
    }

    /** Whether the election port of {@code sid} can be bound (i.e. is released). */
    boolean portFree(long sid) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), electionPorts[(int) sid]));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Waits until every peer decided and all name the same leader; returns it.
     * FastLeaderElection promises agreement, not which sid wins when a vote
     * arrives after finalizeWait (a loaded machine delays votes at will).
     */
    long agreedLeader() throws InterruptedException {
        long[] agreed = {-1};
        await("the peers agree on a leader", 30, () -> {
            long first = -2;
            for (Peer p : peers) {
                Vote v = p.currentVote();
                if (v.state() == State.LOOKING || (first != -2 && v.leader() != first)) {
                    return false;
                }
                first = v.leader();
            }
            agreed[0] = first;
            return true;
        });
        return agreed[0];
    }

    /** Waits until {@code cond} holds, failing after {@code seconds}. */
    static void await(String what, double seconds, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + seconds + " s waiting for " + what);
            }
            Thread.sleep(10);
        }
    }
}
