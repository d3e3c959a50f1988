//! Three election peers in one process on loopback; prints the leader.
//! Run with `cargo run --release --example ensemble`.

use std::net::TcpListener;
use std::time::Duration;
use zkelect::Peer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Six free loopback ports: a quorum port and an election port per server.
    let socks: Vec<TcpListener> = (0..6)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    let port = |i: usize| socks[i].local_addr().map(|a| a.port());
    let mut cfg = String::from("tickTime=2000\ninitLimit=10\nsyncLimit=5\n");
    for sid in 1..=3 {
        let (q, e) = (port(2 * sid - 2)?, port(2 * sid - 1)?);
        cfg += &format!("server.{sid}=127.0.0.1:{q}:{e}\n");
    }
    drop(socks);

    let peers: Vec<Peer> = (1..=3)
        .map(|sid| Peer::from_config_text(&cfg, Some(sid)))
        .collect::<Result<_, _>>()?;
    for p in &peers {
        p.start()?;
    }
    for p in &peers {
        let l = p
            .wait_for_leader(Duration::from_secs(10))
            .ok_or("no leader")?;
        println!("sid {}: {} (leader {})", p.my_sid(), l.state, l.leader);
    }
    Ok(()) // dropping a Peer stops it
}
