// Fencing with the epoch: three workers elect; only the confirmed leader
// writes to a shared SQLite database, every write carries the leader's epoch,
// and the database refuses a write whose epoch is lower than the highest it
// has seen. Then the leader is closed: its successor writes with a higher
// epoch, and the old leader's late write is refused.
//
//   bash bindings/java/build.sh
//   java -cp bindings/java/build/zkelect.jar:/usr/share/java/sqlite-jdbc.jar examples/java/Fencing.java
//
// (Debian: apt-get install libxerial-sqlite-jdbc-java.)
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.zkelect.LeaderLatch;
import org.zkelect.LeaderLatchListener;
import org.zkelect.LossReason;
import org.zkelect.Peer;

public class Fencing {
    /**
     * One fenced write, in one transaction: raise the fence to {@code epoch}
     * unless a higher epoch wrote already, then write. False if refused.
     */
    static boolean fencedWrite(Connection db, long sid, long epoch, String job) throws SQLException {
        db.setAutoCommit(false);
        try (PreparedStatement fence = db.prepareStatement("UPDATE fence SET epoch = ? WHERE epoch <= ?");
                PreparedStatement write = db.prepareStatement("INSERT INTO jobs(job, sid, epoch) VALUES (?, ?, ?)")) {
            fence.setLong(1, epoch);
            fence.setLong(2, epoch);
            if (fence.executeUpdate() != 1) {
                db.rollback();
                return false;
            }
            write.setString(1, job);
            write.setLong(2, sid);
            write.setLong(3, epoch);
            write.executeUpdate();
            db.commit();
            return true;
        } catch (SQLException e) {
            db.rollback();
            throw e;
        } finally {
            db.setAutoCommit(true);
        }
    }

    static long highestEpoch(Connection db) throws SQLException {
        try (Statement s = db.createStatement(); ResultSet r = s.executeQuery("SELECT epoch FROM fence")) {
            return r.next() ? r.getLong(1) : -1;
        }
    }

    /** The leader's write: only while it has leadership (the lease, checked right before acting). */
    static boolean writeAsLeader(Connection db, LeaderLatch latch, String job) throws SQLException {
        long sid = latch.getPeer().sid();
        long epoch = latch.getEpoch().orElse(-1);
        if (epoch < 0 || !latch.hasLeadership()) {
            System.out.printf("sid %d: no longer leads, does not write%n", sid);
            return false;
        }
        boolean ok = fencedWrite(db, sid, epoch, job);
        System.out.printf("fenced write by sid %d with epoch %d: %s%n", sid, epoch, ok ? "accepted" : "refused");
        return ok;
    }

    /** Waits up to 30 s for a latch other than {@code not} to lead with an epoch above {@code above}. */
    static LeaderLatch awaitLeader(List<LeaderLatch> latches, LeaderLatch not, long above) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (LeaderLatch l : latches) {
                if (l != not && l.await(20, TimeUnit.MILLISECONDS) && l.getEpoch().orElse(-1) > above) {
                    return l;
                }
            }
        }
        throw new IllegalStateException("no confirmed leader with an epoch above " + above + " within 30 s");
    }

    public static void main(String[] args) throws Exception {
        List<ServerSocket> ports = new ArrayList<>(); // 6 distinct free ports
        for (int i = 0; i < 6; i++) ports.add(new ServerSocket(0));
        // dataDir keeps each peer's accepted epoch, fsynced before it is acknowledged.
        Path dataDir = Files.createTempDirectory("zkelect-fencing");
        StringBuilder cfg = new StringBuilder("tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir=" + dataDir + "\n");
        for (int sid = 1; sid <= 3; sid++) {
            cfg.append("server." + sid + "=127.0.0.1:" + ports.get(2 * sid - 2).getLocalPort()
                    + ":" + ports.get(2 * sid - 1).getLocalPort() + "\n");
        }
        for (ServerSocket s : ports) s.close();

        List<Peer> peers = new ArrayList<>();
        List<LeaderLatch> latches = new ArrayList<>();
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("jobs.db"))) {
            try (Statement s = db.createStatement()) {
                s.executeUpdate("CREATE TABLE fence(epoch INTEGER NOT NULL)");
                s.executeUpdate("INSERT INTO fence VALUES (0)");
                s.executeUpdate("CREATE TABLE jobs(job TEXT, sid INTEGER, epoch INTEGER)");
            }
            for (int sid = 1; sid <= 3; sid++) {
                Peer p = Peer.fromConfig(cfg.toString(), sid);
                peers.add(p);
                LeaderLatch latch = new LeaderLatch(p);
                latch.addListener(new LeaderLatchListener() {
                    @Override
                    public void isLeader(long epoch) {
                        System.out.printf("sid %d leads with epoch %d%n", p.sid(), epoch);
                    }

                    @Override
                    public void notLeader(long epoch, LossReason reason) {
                        System.out.printf("sid %d no longer leads epoch %d (%s)%n", p.sid(), epoch, reason);
                    }
                });
                latch.start();
                latches.add(latch);
                p.start();
            }
            LeaderLatch first = awaitLeader(latches, null, 0);
            long oldSid = first.getPeer().sid();
            long oldEpoch = first.getEpoch().orElseThrow();
            if (!writeAsLeader(db, first, "nightly-backup")) throw new IllegalStateException("not written");

            // The leader goes away (here: closed; a killed process works the
            // same, after the followers notice).
            first.getPeer().close(); // its notLeader (STOPPED) comes first
            LeaderLatch next = awaitLeader(latches, first, oldEpoch);
            if (!writeAsLeader(db, next, "nightly-backup")) throw new IllegalStateException("not written");

            // The old leader's write that was still on its way (a GC pause, a
            // slow network) arrives now, with its old epoch: refused.
            boolean late = fencedWrite(db, oldSid, oldEpoch, "nightly-backup (late)");
            System.out.printf("late write by sid %d with epoch %d: %s (the store has seen epoch %d)%n", oldSid,
                    oldEpoch, late ? "ACCEPTED" : "refused", highestEpoch(db));
            if (late) throw new IllegalStateException("the old epoch was accepted");
        } finally {
            latches.forEach(LeaderLatch::close);
            peers.forEach(Peer::close);
            try (Stream<Path> files = Files.walk(dataDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
