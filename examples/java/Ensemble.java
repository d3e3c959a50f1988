// Elects a leader among 3 peers in one process and prints it.
//
//   bash bindings/java/build.sh
//   java -cp bindings/java/build/zkelect.jar examples/java/Ensemble.java
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.zkelect.Leader;
import org.zkelect.Peer;

public class Ensemble {
    public static void main(String[] args) throws Exception {
        List<ServerSocket> ports = new ArrayList<>(); // 6 distinct free ports
        for (int i = 0; i < 6; i++) ports.add(new ServerSocket(0));
        StringBuilder cfg = new StringBuilder("tickTime=2000\n");
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
                Leader l = p.awaitLeader(Duration.ofSeconds(30)).orElseThrow();
                System.out.printf("sid %d: %s, leader %d (round %d, %d ms)%n",
                        p.sid(), l.state(), l.leader(), l.electionEpoch(), l.elapsedMillis());
            }
        } finally {
            peers.forEach(Peer::close);
        }
    }
}
