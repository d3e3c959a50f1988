// Elects and confirms a leader among 3 peers in one process and prints it.
//
//   bash bindings/java/build.sh
//   java -cp bindings/java/build/zkelect.jar examples/java/Ensemble.java
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.zkelect.Confirmed;
import org.zkelect.Peer;
import org.zkelect.State;

public class Ensemble {
    public static void main(String[] args) throws Exception {
        List<ServerSocket> ports = new ArrayList<>(); // 6 distinct free ports
        for (int i = 0; i < 6; i++) ports.add(new ServerSocket(0));
        // dataDir keeps each peer's accepted epoch (zkelect.<sid>.state), so
        // epochs stay unique across restarts.
        Path dataDir = Files.createTempDirectory("zkelect-example");
        StringBuilder cfg = new StringBuilder("tickTime=2000\ndataDir=" + dataDir + "\n");
        for (int sid = 1; sid <= 3; sid++) {
            cfg.append("server." + sid + "=127.0.0.1:" + ports.get(2 * sid - 2).getLocalPort()
                    + ":" + ports.get(2 * sid - 1).getLocalPort() + "\n");
        }
        for (ServerSocket s : ports) s.close();

        List<Peer> peers = new ArrayList<>();
        try {
            for (int sid = 1; sid <= 3; sid++) {
                peers.add(Peer.fromConfig(cfg.toString(), sid));
                peers.get(sid - 1).start();
            }
            for (Peer p : peers) {
                // A leader a quorum confirmed, not the bare election result.
                Confirmed c = p.waitForConfirmed(Duration.ofSeconds(30)).orElseThrow();
                // Right before acting as leader: does the lease still hold?
                boolean act = c.role() == State.LEADING && p.leadsNow();
                System.out.printf("sid %d: %s, leader %d (epoch %d)%s%n", p.sid(), c.role(), c.leader(),
                        c.epoch(), act ? ", leads now: would write with epoch " + c.epoch() : "");
            }
        } finally {
            peers.forEach(Peer::close);
            try (Stream<Path> files = Files.walk(dataDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
