//! Whole-config tests: server line forms, every error path, rendering, the
//! hierarchical examples of spec 7.2, and the myid file.
//!
//! Expected renderings marked "oracle" were printed by ZooKeeper 3.8.0's own
//! `QuorumPeerConfig.parse(...).getQuorumVerifier().toString()` (Debian
//! package, OpenJDK 17) for the same config text.
//!
//! One file over 500 lines on purpose: every test reads config text through the
//! same few helpers and checks one error text or rendering; split by topic
//! they would only be harder to search.

use super::*;
use std::collections::BTreeSet;

const HEAD: &str = "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/zk\n";

fn parse(text: &str) -> Config {
    Config::parse(text).unwrap_or_else(|e| panic!("{e}\n--- config:\n{text}"))
}

/// Parses, expects an error, and checks it names `line` and `key` (both in
/// the fields and in the displayed text) and contains `needle`.
fn parse_err(text: &str, line: usize, key: &str, needle: &str) -> ConfigError {
    let e = match Config::parse(text) {
        Ok(_) => panic!("expected an error containing {needle:?}\n--- config:\n{text}"),
        Err(e) => e,
    };
    assert_eq!(e.line, Some(line), "{e}");
    assert_eq!(e.key.as_deref(), Some(key), "{e}");
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("zoo.cfg line {line} ({key}): ")),
        "{shown}"
    );
    assert!(shown.contains(needle), "{shown:?} lacks {needle:?}");
    e
}

/// HEAD (4 lines) plus three servers on lines 5-7, plus `extra` from line 8.
fn three(extra: &str) -> String {
    format!(
        "{HEAD}server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n\
         server.3=127.0.0.1:2890:3890\n{extra}"
    )
}

fn set(s: &[Sid]) -> BTreeSet<Sid> {
    s.iter().copied().collect()
}

fn addr(host: &str, q: u16, e: u16) -> ServerAddr {
    ServerAddr {
        host: host.to_string(),
        quorum_port: q,
        election_port: e,
    }
}

// ---- defaults and plain keys ----

#[test]
fn defaults() {
    let c = parse("server.1=h:1:2\n");
    assert_eq!(c.version, 0);
    assert_eq!(c.tick_time_ms, 3000);
    assert_eq!(c.init_limit, None);
    assert_eq!(c.sync_limit, None);
    assert_eq!(c.cnx_timeout_ms, 5000);
    assert_eq!(c.quorum_cnxn_timeout_ms, None);
    assert_eq!(c.election_port_bind_retry, 3);
    assert!(!c.quorum_listen_on_all_ips);
    assert!(!c.multi_address_enabled);
    assert_eq!(c.min_notification_interval_ms, 200);
    assert_eq!(c.max_notification_interval_ms, 60000);
    assert!(!c.tcp_keep_alive);
    assert_eq!(c.data_dir, None);
    assert_eq!(c.peer_type, LearnerType::Participant);
    assert!(c.standalone_enabled);
    assert_eq!(c.finalize_wait_ms, 200);
    assert_eq!(c.client_port, None);
    assert_eq!(c.handshake_timeout_ms(), 15000);
}

#[test]
fn the_interop_config_of_the_zk_readme() {
    let text = "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/s1/data\n\
        clientPort=2181\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n\
        admin.enableServer=false\nelectionAlg=3\nstandaloneEnabled=false\n\
        reconfigEnabled=false\nserver.1=127.0.0.1:23101:23201\n\
        server.2=127.0.0.1:23102:23202\nserver.3=127.0.0.1:23103:23203\n";
    let c = parse(text);
    assert_eq!(c.tick_time_ms, 2000);
    assert_eq!(c.init_limit, Some(10));
    assert_eq!(c.sync_limit, Some(5));
    assert_eq!(c.data_dir, Some(PathBuf::from("/tmp/s1/data")));
    assert_eq!(c.client_port, Some(2181));
    assert!(!c.standalone_enabled);
    assert_eq!(c.handshake_timeout_ms(), 10000);
    assert_eq!(c.servers.len(), 3);
    assert_eq!(c.servers[&2].addrs, vec![addr("127.0.0.1", 23102, 23202)]);
    assert_eq!(c.servers[&2].client, None);
    assert_eq!(c.quorum.voters(), &set(&[1, 2, 3]));
}

#[test]
fn every_election_key_in_both_spellings() {
    let c = parse(&three(
        "cnxTimeout=7000\nquorumCnxnTimeoutMs=1234\nelectionPortBindRetry=0\n\
         quorumListenOnAllIPs=TRUE\ntcpKeepAlive=true\nfastleader.minNotificationInterval=50\n\
         fastleader.maxNotificationInterval=800\npeerType=observer\nfinalizeWait=0\nversion=1f\n",
    ));
    assert_eq!(c.cnx_timeout_ms, 7000);
    assert_eq!(c.quorum_cnxn_timeout_ms, Some(1234));
    assert_eq!(c.handshake_timeout_ms(), 1234);
    assert_eq!(c.election_port_bind_retry, 0);
    assert!(c.quorum_listen_on_all_ips);
    assert!(c.tcp_keep_alive);
    assert_eq!(c.min_notification_interval_ms, 50);
    assert_eq!(c.max_notification_interval_ms, 800);
    assert_eq!(c.peer_type, LearnerType::Observer);
    assert_eq!(c.finalize_wait_ms, 0);
    assert_eq!(c.version, 0x1f);
    assert_eq!(c.quorum.version(), 0x1f);

    let c = parse(&three(
        "zookeeper.cnxTimeout=7000\nzookeeper.quorumCnxnTimeoutMs=9\n\
         zookeeper.electionPortBindRetry=5\nzookeeper.tcpKeepAlive=true\n\
         zookeeper.fastleader.minNotificationInterval=10\n\
         zookeeper.fastleader.maxNotificationInterval=20\nzookeeper.multiAddress.enabled=true\n",
    ));
    assert_eq!(c.cnx_timeout_ms, 7000);
    assert_eq!(c.quorum_cnxn_timeout_ms, Some(9));
    assert_eq!(c.election_port_bind_retry, 5);
    assert!(c.tcp_keep_alive);
    assert_eq!(c.min_notification_interval_ms, 10);
    assert_eq!(c.max_notification_interval_ms, 20);
    assert!(c.multi_address_enabled);
}

#[test]
fn quorum_cnxn_timeout_not_positive_means_unset() {
    let c = parse(&three("quorumCnxnTimeoutMs=-1\n"));
    assert_eq!(c.quorum_cnxn_timeout_ms, None);
    let c = parse(&three("quorumCnxnTimeoutMs=0\n"));
    assert_eq!(c.quorum_cnxn_timeout_ms, None);
}

#[test]
fn negative_election_port_bind_retry_means_default() {
    assert_eq!(
        parse(&three("electionPortBindRetry=-4\n")).election_port_bind_retry,
        3
    );
}

#[test]
fn client_port_zero_means_unset() {
    assert_eq!(parse(&three("clientPort=0\n")).client_port, None);
}

#[test]
fn later_duplicate_plain_keys_win_like_java() {
    let c = parse(&three(
        "tickTime=100\ncnxTimeout=1\nzookeeper.cnxTimeout=2\n",
    ));
    assert_eq!(c.tick_time_ms, 100);
    assert_eq!(c.cnx_timeout_ms, 2);
}

#[test]
fn zookeeper_keys_zkelect_does_not_use_are_listed_not_warned() {
    let c = parse(&three(
        "maxClientCnxns=whatever\nserverCnxnFactory=x\ndataLogDir=/x\n\
         ssl.keyStore.location=/k\nzookeeper.snapCount=1\nsslQuorum=false\n",
    ));
    assert_eq!(c.servers.len(), 3);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let keys: Vec<(usize, &str)> = c.ignored.iter().map(|n| (n.line, n.key.as_str())).collect();
    assert_eq!(
        keys,
        vec![
            (8, "maxClientCnxns"),
            (9, "serverCnxnFactory"),
            (10, "dataLogDir"),
            (11, "ssl.keyStore.location"),
            (12, "zookeeper.snapCount")
        ]
    );
    assert_eq!(
        c.ignored_summary().unwrap(),
        "zoo.cfg: ZooKeeper keys that zkelect does not use (ignored): maxClientCnxns (line 8), \
         serverCnxnFactory (line 9), dataLogDir (line 10), ssl.keyStore.location \
         (line 11), zookeeper.snapCount (line 12)"
    );
    assert_eq!(parse(&three("")).ignored_summary(), None);
}

#[test]
fn unknown_key_is_a_warning_naming_line_and_nearest_key() {
    let c = parse("tickTime=2000\ntickTme=200\nserver.1=h:1:2\nsever.2=h:3:4\nfrobnicate=1\n");
    // The typo'd keys are not read: the defaults hold and sever.2 is no server.
    assert_eq!(c.tick_time_ms, 2000);
    assert_eq!(c.servers.len(), 1);
    let shown: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        shown,
        vec![
            "zoo.cfg line 2: unknown key tickTme; did you mean tickTime?",
            "zoo.cfg line 4: unknown key sever.2; did you mean server.2?",
            "zoo.cfg line 5: unknown key frobnicate",
        ]
    );
    assert_eq!(c.warnings[0].line, 2);
    assert_eq!(c.warnings[0].key, "tickTme");
    assert!(!c.strict);
}

#[test]
fn strict_mode_makes_an_unknown_key_an_error() {
    let text = "tickTime=2000\ntickTme=200\nserver.1=h:1:2\n";
    let e = Config::parse_with(text, ParseOptions::strict()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "zoo.cfg line 2 (tickTme): unknown key; did you mean tickTime? (strict mode makes \
         unknown keys errors)"
    );
    // The same through the config text, for hosts that only pass text.
    let e = Config::parse(&format!("strictConfig=true\n{text}")).unwrap_err();
    assert_eq!(e.line, Some(3));
    assert_eq!(e.key.as_deref(), Some("tickTme"));
    assert!(e.message.contains("strictConfig=true makes"), "{e}");
    parse_err(
        &format!("strictConfig=yes\n{text}"),
        1,
        "strictConfig",
        "choose true or false",
    );
    // Known keys, used or ignored, pass in strict mode.
    let c = Config::parse_with(&three("dataLogDir=/x\n"), ParseOptions::strict()).unwrap();
    assert!(c.strict);
    assert_eq!(c.ignored.len(), 1);
    assert!(!parse(&three("strictConfig=false\n")).strict);
}

#[test]
fn quorum_sasl_is_refused() {
    for key in [
        "quorum.auth.enableSasl",
        "quorum.auth.learnerRequireSasl",
        "quorum.auth.serverRequireSasl",
    ] {
        parse_err(
            &three(&format!("{key}=true\n")),
            8,
            key,
            "quorum SASL authentication is not supported",
        );
        assert!(parse(&three(&format!("{key}=false\n"))).warnings.is_empty());
    }
}

#[test]
fn the_admin_server_keys_are_known() {
    let c = Config::parse_with(
        &three(
            "clientPort=2181\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n\
             metricsProvider.className=org.apache.zookeeper.metrics.prometheus.\
             PrometheusMetricsProvider\nmetricsProvider.httpPort=7000\n\
             metricsProvider.httpHost=0.0.0.0\nmetricsProvider.exportJvmInfo=false\n",
        ),
        ParseOptions::strict(),
    )
    .unwrap();
    assert!(c.warnings.is_empty() && c.ignored.is_empty());
}

#[test]
fn describe_gives_the_effective_configuration() {
    let c = parse(&three(
        "server.4=127.0.0.1:2891:3891:observer\nfinalizeWait=50\n",
    ));
    assert_eq!(
        c.describe(1),
        "sid 1 (participant, election 127.0.0.1:3888): voters 1,2,3; observers 4; quorum: \
         majority, 2 of 3 voters; tickTime=2000 ms initLimit=10 syncLimit=5 ticks; \
         finalizeWait=50 ms; leadershipMode=lease; followOnly=auto; quorum TLS off"
    );
    let c = parse("server.1=h:1:2\nleadershipMode=fencing\n");
    assert!(
        c.describe(1).contains(
            "quorum: majority, 1 of 1 voters; tickTime=3000 ms initLimit=10 (default) \
             syncLimit=5 (default) ticks; finalizeWait=200 ms; leadershipMode=fencing"
        ),
        "{}",
        c.describe(1)
    );
    let c = parse(&three("group.1=1:2\ngroup.2=3\nweight.3=2\n"));
    assert!(
        c.describe(3).contains(
            "quorum: hierarchical, more than half of the weighted groups 1=[1,2] 2=[3], each \
             by more than half its weight; weights 3=2 (others 1);"
        ),
        "{}",
        c.describe(3)
    );
    assert!(c
        .describe(9)
        .starts_with("sid 9 (not in the server list): "));
}

#[test]
fn relative_data_dir_is_kept() {
    let c = parse(&three("dataDir=data/s1\n"));
    assert_eq!(c.data_dir, Some(PathBuf::from("data/s1")));
}

#[test]
fn multi_address_switch_may_follow_the_server_lines() {
    let c = parse("server.1=a:1:2|b:3:4\nmultiAddress.enabled=true\n");
    assert_eq!(c.servers[&1].addrs, vec![addr("a", 1, 2), addr("b", 3, 4)]);
    assert!(c.multi_address_enabled);
}

// ---- server line forms ----

#[test]
fn server_line_forms() {
    let c = parse(
        "multiAddress.enabled=true\n\
         server.1=10.0.0.1:2888:3888\n\
         server.2=10.0.0.2:2888:3888:participant\n\
         server.3=10.0.0.3:2888:3888:observer\n\
         server.4=10.0.0.4:2888:3888;2181\n\
         server.5=10.0.0.5:2888:3888:participant;10.0.0.5:2181\n\
         server.6=[::1]:2888:3888\n\
         server.7=[fe80::7]:2888:3888:observer;[fe80::7]:2181\n\
         server.8=10.0.0.8:2888:3888|10.1.0.8:2888:3888;2181\n\
         server.09=host9:1:2\n\
         server.-10=host10:1:2\n",
    );
    let s = |sid: Sid| &c.servers[&sid];
    assert_eq!(s(1).addrs, vec![addr("10.0.0.1", 2888, 3888)]);
    assert_eq!(s(1).role, LearnerType::Participant);
    assert_eq!(s(2).role, LearnerType::Participant);
    assert_eq!(s(3).role, LearnerType::Observer);
    assert_eq!(s(4).client, Some(("0.0.0.0".to_string(), 2181)));
    assert_eq!(s(5).client, Some(("10.0.0.5".to_string(), 2181)));
    assert_eq!(s(6).addrs, vec![addr("::1", 2888, 3888)]);
    assert_eq!(s(7).client, Some(("fe80::7".to_string(), 2181)));
    assert_eq!(s(7).role, LearnerType::Observer);
    assert_eq!(
        s(8).addrs,
        vec![addr("10.0.0.8", 2888, 3888), addr("10.1.0.8", 2888, 3888)]
    );
    assert_eq!(s(9).sid, 9);
    assert_eq!(s(-10).sid, -10);
    assert_eq!(c.quorum.voters(), &set(&[-10, 1, 2, 4, 5, 6, 8, 9]));
    assert_eq!(c.quorum.observers(), &set(&[3, 7]));
}

#[test]
fn server_lookup_and_role_override() {
    let c = parse(&format!(
        "{HEAD}peerType=participant\nserver.1=h:1:2\nserver.2=h:3:4:observer\nserver.3=h:5:6\n"
    ));
    assert_eq!(c.server(2).unwrap().role, LearnerType::Observer);
    let e = c.server(4).unwrap_err();
    assert_eq!(
        e.to_string(),
        "zoo.cfg: server id 4 (myid) has no server.4 line; the config lists server ids 1, 2, 3"
    );
}

/// Oracle: escapes in keys and values, CR and CRLF line ends, a comment
/// ending in a backslash, a continuation inside a role word, and a
/// continuation that leaves an empty line so the next line is a comment.
#[test]
fn properties_quirks_read_like_java() {
    let text = "server.1 127.0.0.1\\u003a2888:3888\r\nserver.2:127.0.0.2:2888:3888\r\
        server\\u002e3=127.0.0.3\\\r\n   :2888:3888\n  # c \\\nserver.4=h4:1:2:obs\\\n  erver\n\
        \\\n#x=1\nserver.5=h5:1:2\n!server.6=h6:1:2\nversion=\\u0041b\n";
    assert_eq!(
        parse(text).render_dynamic(),
        "server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.2:2888:3888:participant\n\
         server.3=127.0.0.3:2888:3888:participant\nserver.4=h4:1:2:observer\n\
         server.5=h5:1:2:participant\nversion=ab"
    );
}

#[test]
fn server_line_continued_over_lines() {
    let c = parse("server.1=127.0.0.1:\\\n   2888:\\\n   3888\n");
    assert_eq!(c.servers[&1].addrs, vec![addr("127.0.0.1", 2888, 3888)]);
}

// ---- rendering ----

#[test]
fn render_spec_server_string_examples() {
    for (line, rendered) in [
        (
            "127.0.0.1:1234:1236;1237",
            "127.0.0.1:1234:1236:participant;0.0.0.0:1237",
        ),
        (
            "example.com:1234:1236:participant;1237",
            "example.com:1234:1236:participant;0.0.0.0:1237",
        ),
        (
            "[::1]:1234:1236:participant",
            "[0:0:0:0:0:0:0:1]:1234:1236:participant",
        ),
    ] {
        let c = parse(&format!("server.5={line}\n"));
        assert_eq!(
            c.render_dynamic(),
            format!("server.5={rendered}\nversion=0")
        );
    }
}

#[test]
fn render_captured_vector_2_config() {
    let c = parse(&format!(
        "{HEAD}server.1=127.0.0.1:23101:23201\nserver.2=127.0.0.1:23102:23202\n\
         server.3=127.0.0.1:23103:23203\n"
    ));
    let text = c.render_dynamic();
    assert_eq!(
        text,
        "server.1=127.0.0.1:23101:23201:participant\nserver.2=127.0.0.1:23102:23202:participant\n\
         server.3=127.0.0.1:23103:23203:participant\nversion=0"
    );
    assert_eq!(text.len(), 138);
}

#[test]
fn render_captured_vector_7_config() {
    let mut text = HEAD.to_string();
    for i in 1..=5 {
        text.push_str(&format!("server.{i}=127.0.0.1:2610{i}:2620{i}\n"));
    }
    let r = parse(&text).render_dynamic();
    assert!(r.starts_with("server.1=127.0.0.1:26101:26201:participant\n"));
    assert!(r.ends_with("server.5=127.0.0.1:26105:26205:participant\nversion=0"));
    assert_eq!(r.len(), 224);
}

#[test]
fn render_spec_tv5_and_tv6_configs() {
    let c = parse(&three("clientPort=2181\n"));
    let text = c.render_dynamic();
    assert_eq!(
        text,
        "server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.1:2889:3889:participant\n\
         server.3=127.0.0.1:2890:3890:participant\nversion=0"
    );
    assert_eq!(text.len(), 132);

    let c = parse(
        "server.1=10.0.0.1:2888:3888\nserver.2=10.0.0.2:2888:3888\nserver.3=10.0.0.3:2888:3888\n",
    );
    let text = c.render_dynamic();
    assert_eq!(
        text,
        "server.1=10.0.0.1:2888:3888:participant\nserver.2=10.0.0.2:2888:3888:participant\n\
         server.3=10.0.0.3:2888:3888:participant\nversion=0"
    );
    assert_eq!(text.len(), 129);
}

#[test]
fn render_version_in_lower_case_hex() {
    let c = parse("server.1=h:1:2\nversion=100000000\n");
    assert_eq!(
        c.render_dynamic(),
        "server.1=h:1:2:participant\nversion=100000000"
    );
    let c = parse("server.1=h:1:2\nversion=ABC\n");
    assert_eq!(
        c.render_dynamic(),
        "server.1=h:1:2:participant\nversion=abc"
    );
}

/// Oracle: Java's canonical host text for IP literals, client part kept.
#[test]
fn render_hosts_like_java() {
    let c = parse(&format!(
        "{HEAD}server.1=127.1:1:2;[::1]:5\nserver.2=[::ffff:1.2.3.4]:3:4:OBSERVER\n\
         server.3=1:7:8\n"
    ));
    assert_eq!(
        c.render_dynamic(),
        "server.1=127.0.0.1:1:2:participant;[0:0:0:0:0:0:0:1]:5\n\
         server.2=1.2.3.4:3:4:observer\nserver.3=0.0.0.1:7:8:participant\nversion=0"
    );
}

/// Oracle: the config text a real ZooKeeper 3.8.0 server put into its
/// notifications for these server lines (captured from its election
/// connection; see `javatext::inet` for the whole table). Left out: named
/// zones Java could not resolve on that machine (`%lo` on a link-local
/// address, a missing interface), which it prints as written and we print
/// canonically.
#[test]
fn render_hosts_like_a_real_server() {
    let c = parse(&format!(
        "{HEAD}server.1=127.0.0.1:31984:31980\nserver.2=127.1:31982:31983\n\
         server.3=0x7f.1:31993:32013\nserver.4=[fe80::1%eth0]:31994:32014\n\
         server.6=[fe80::1%4]:31996:32016\nserver.7=[::1]:31997:32017\n\
         server.8=localhost:31998:32018\nserver.9=10.1.258:31999:32019\n\
         server.10=[::ffff:1.2.3.4]:32000:32020\nserver.12=[fe80::1%007]:32002:32022\n\
         server.13=Example.COM:28984:29004\nserver.14=[2001:db8::1%lo]:28981:29001\n\
         server.15=[::ffff:1.2.3.4%1]:28980:29000\n"
    ));
    assert_eq!(
        c.render_dynamic(),
        "server.1=127.0.0.1:31984:31980:participant\n\
         server.2=127.0.0.1:31982:31983:participant\n\
         server.3=0x7f.1:31993:32013:participant\n\
         server.4=[fe80:0:0:0:0:0:0:1%eth0]:31994:32014:participant\n\
         server.6=[fe80:0:0:0:0:0:0:1%4]:31996:32016:participant\n\
         server.7=[0:0:0:0:0:0:0:1]:31997:32017:participant\n\
         server.8=localhost:31998:32018:participant\n\
         server.9=10.1.1.2:31999:32019:participant\n\
         server.10=1.2.3.4:32000:32020:participant\n\
         server.12=[fe80:0:0:0:0:0:0:1%7]:32002:32022:participant\n\
         server.13=Example.COM:28984:29004:participant\n\
         server.14=[2001:db8:0:0:0:0:0:1%lo]:28981:29001:participant\n\
         server.15=[::ffff:1.2.3.4%1]:28980:29000:participant\n\
         version=0"
    );
}

/// The same host in two spellings is one listener: `127.1` is `127.0.0.1`.
#[test]
fn error_same_address_in_two_spellings() {
    parse_err(
        &format!("{HEAD}server.1=127.0.0.1:2888:3888\nserver.2=127.1:2889:3888\n"),
        6,
        "server.2",
        "election address 127.0.0.1:3888 is already server 1's (line 5) election address",
    );
}

/// Ports outside 1..65535 are refused whatever the host form.
#[test]
fn error_ports_out_of_range_in_every_host_form() {
    for host in [
        "127.1",
        "0x7f.1",
        "[::1]",
        "[fe80::1%4]",
        "[fe80::1%eth0]",
        "zk1",
    ] {
        for ports in ["65536:2", "1:65536", "0:2", "1:-1"] {
            parse_err(
                &format!("{HEAD}server.1={host}:{ports}\n"),
                5,
                "server.1",
                "outside 1..65535",
            );
        }
        parse_err(
            &format!("{HEAD}server.1={host}:1:2147483648\n"),
            5,
            "server.1",
            "not a number",
        );
    }
}

/// Oracle: Java's HashMap order puts server.20 before server.5.
#[test]
fn render_order_is_java_hashmap_order() {
    let c = parse(&format!(
        "{HEAD}server.5=a:1:2\nserver.20=b:3:4\nserver.1=c:5:6\nserver.17=d:7:8\n"
    ));
    assert_eq!(
        c.render_dynamic(),
        "server.1=c:5:6:participant\nserver.17=d:7:8:participant\n\
         server.20=b:3:4:participant\nserver.5=a:1:2:participant\nversion=0"
    );
}

#[test]
fn render_multi_address_sorted_by_host() {
    let c = parse("multiAddress.enabled=true\nserver.1=b:1:2|a:3:4;2181\n");
    assert_eq!(
        c.render_dynamic(),
        "server.1=a:3:4|b:1:2:participant;0.0.0.0:2181\nversion=0"
    );
}

/// Oracle: groups, then every weight (defaulted participants and an
/// observer's explicit weight included), then the version.
#[test]
fn render_hierarchical() {
    let c = parse(&format!(
        "{HEAD}server.1=a:1:2\nserver.2=b:3:4\nserver.3=c:5:6\nserver.4=d:7:8:observer\n\
         group.1=1:2\ngroup.2=3\nweight.4=3\nweight.2=0\n"
    ));
    let text = c.render_dynamic();
    assert_eq!(
        text,
        "server.1=a:1:2:participant\nserver.2=b:3:4:participant\nserver.3=c:5:6:participant\n\
         server.4=d:7:8:observer\ngroup.1=1:2\ngroup.2=3\nweight.1=1\nweight.2=0\nweight.3=1\n\
         weight.4=3\nversion=0"
    );
    assert_eq!(text.len(), 180);
}

// ---- hierarchical quorums (spec 7.2) ----

fn servers(sids: std::ops::RangeInclusive<Sid>) -> String {
    sids.map(|s| format!("server.{s}=127.0.0.1:{}:{}\n", 2000 + s, 3000 + s))
        .collect()
}

#[test]
fn hierarchical_zero_weight_groups_do_not_count() {
    let mut text = servers(0..=8);
    text.push_str("group.1=0:1:2\ngroup.2=3:4:5\ngroup.3=6:7:8\n");
    for s in 3..=8 {
        text.push_str(&format!("weight.{s}=0\n"));
    }
    let q = parse(&text).quorum;
    assert!(matches!(q, QuorumVerifier::Hierarchical(_)));
    assert!(q.contains_quorum(&set(&[0, 1])));
    assert!(q.contains_quorum(&set(&[1, 2])));
    assert!(!q.contains_quorum(&set(&[0, 3, 4, 5, 6, 7, 8])));
    assert_eq!(q.weight(4), 0);
    assert_eq!(q.weight(2), 1);
}

#[test]
fn hierarchical_two_of_three_groups() {
    let mut text = servers(1..=9);
    text.push_str("group.1=1:2:3\ngroup.2=4:5:6\ngroup.3=7:8:9\n");
    let q = parse(&text).quorum;
    assert!(q.contains_quorum(&set(&[1, 2, 4, 5])));
    assert!(!q.contains_quorum(&set(&[1, 2, 3, 4, 7])));
    assert!(!q.contains_quorum(&set(&[1, 2, 3])));
    assert!(!q.contains_quorum(&set(&[])));
}

#[test]
fn weight_key_alone_switches_to_hierarchical() {
    let e = parse_err(&three("weight.1=2\n"), 5, "server.1", "is in no group");
    assert!(e.message.contains("weight.1 at line 8"), "{e}");
}

#[test]
fn observers_need_no_group() {
    let c = parse(&three(
        "server.4=127.0.0.1:2891:3891:observer\ngroup.1=1:2:3\n",
    ));
    assert!(c.quorum.contains_quorum(&set(&[1, 2])));
    assert_eq!(c.quorum.weight(4), 0);
}

#[test]
fn majority_without_group_keys() {
    let c = parse(&three("server.4=127.0.0.1:2891:3891:observer\n"));
    assert!(matches!(c.quorum, QuorumVerifier::Majority(_)));
    assert!(c.quorum.contains_quorum(&set(&[1, 3])));
    assert!(!c.quorum.contains_quorum(&set(&[1, 4])));
}

// ---- error paths, each naming line and key ----

#[test]
fn error_bad_booleans() {
    for key in [
        "quorumListenOnAllIPs",
        "standaloneEnabled",
        "reconfigEnabled",
        "tcpKeepAlive",
        "zookeeper.tcpKeepAlive",
        "multiAddress.enabled",
    ] {
        parse_err(
            &three(&format!("{key}=yes\n")),
            8,
            key,
            "choose true or false",
        );
    }
}

#[test]
fn error_bad_numbers() {
    for (key, value, needle) in [
        ("tickTime", "2s", "is not a number"),
        ("tickTime", "0", "must be greater than 0"),
        ("initLimit", "-1", "must be greater than 0"),
        ("syncLimit", "x", "is not a number"),
        ("clientPort", "70000", "outside 1..65535"),
        ("clientPort", "p", "is not a number"),
        ("cnxTimeout", "5s", "is not a number"),
        ("zookeeper.cnxTimeout", "0", "must be greater than 0"),
        ("quorumCnxnTimeoutMs", "x", "is not a number"),
        ("electionPortBindRetry", "many", "is not a number"),
        ("fastleader.minNotificationInterval", "0", "busy-poll"),
        ("fastleader.maxNotificationInterval", "x", "is not a number"),
        ("finalizeWait", "-1", "must not be negative"),
        ("finalizeWait", "soon", "is not a number"),
        ("version", "0x1", "not a hexadecimal number"),
        ("electionAlg", "x", "is not a number"),
    ] {
        parse_err(&three(&format!("{key}={value}\n")), 8, key, needle);
    }
}

#[test]
fn error_election_alg_other_than_3() {
    parse_err(&three("electionAlg=0\n"), 8, "electionAlg", "only has 3");
    parse(&three("electionAlg=3\n"));
}

#[test]
fn error_peer_type() {
    parse_err(
        &three("peerType=leader\n"),
        8,
        "peerType",
        "unknown peerType \"leader\"",
    );
}

#[test]
fn error_empty_data_dir() {
    parse_err(&three("dataDir=\n"), 8, "dataDir", "dataDir is empty");
}

#[test]
fn error_dynamic_config_file_unsupported() {
    parse_err(
        &three("dynamicConfigFile=/etc/zk/zoo.cfg.dynamic\n"),
        8,
        "dynamicConfigFile",
        "dynamic config files are not supported",
    );
}

#[test]
fn error_oracle_path_unsupported() {
    parse_err(
        &three("oraclePath=/tmp/o\n"),
        8,
        "oraclePath",
        "not supported",
    );
}

#[test]
fn error_min_notification_interval_above_max() {
    parse_err(
        &three("fastleader.minNotificationInterval=500\nfastleader.maxNotificationInterval=400\n"),
        8,
        "fastleader.minNotificationInterval",
        "is greater than",
    );
    parse_err(
        &three("fastleader.maxNotificationInterval=100\n"),
        8,
        "fastleader.maxNotificationInterval",
        "(200 ms) is greater than",
    );
}

#[test]
fn error_server_id_not_a_long() {
    parse_err(
        &three("server.x=h:1:2\n"),
        8,
        "server.x",
        "server id \"x\" is not a number",
    );
    parse_err(&three("server.=h:1:2\n"), 8, "server.", "is not a number");
    parse_err(
        &three("server.99999999999999999999=h:1:2\n"),
        8,
        "server.99999999999999999999",
        "out of range",
    );
}

#[test]
fn error_reserved_server_ids() {
    parse_err(
        &three("server.9223372036854775807=h:1:2\n"),
        8,
        "server.9223372036854775807",
        "reserved",
    );
}

#[test]
fn error_duplicate_server_id() {
    parse_err(
        &three("server.01=h:1:2\n"),
        8,
        "server.01",
        "defined twice (first by server.1 at line 5)",
    );
}

#[test]
fn error_server_line_syntax_is_located() {
    parse_err(
        &three("server.4=h:4444:4444\n"),
        8,
        "server.4",
        "quorum port and election port are both 4444",
    );
    parse_err(
        &three("server.4=h:1:2;3;4\n"),
        8,
        "server.4",
        "more than one ';'",
    );
    parse_err(
        &three("server.4=h:1:2:voter\n"),
        8,
        "server.4",
        "unknown role",
    );
    parse_err(
        &three("server.4=h:1\n"),
        8,
        "server.4",
        "is not a server address",
    );
    parse_err(
        &three("server.4=h:1:99999\n"),
        8,
        "server.4",
        "outside 1..65535",
    );
    parse_err(&three("server.4=h:a:2\n"), 8, "server.4", "not a number");
}

#[test]
fn error_multi_address_disabled() {
    parse_err(
        &three("server.4=a:1:2|b:3:4\n"),
        8,
        "server.4",
        "set multiAddress.enabled=true",
    );
}

#[test]
fn error_multi_address_mixed_roles() {
    parse_err(
        &three("multiAddress.enabled=true\nserver.4=a:1:2:observer|b:3:4:participant\n"),
        9,
        "server.4",
        "same role",
    );
}

#[test]
fn error_same_election_address_on_two_servers() {
    parse_err(
        &three("server.4=127.0.0.1:2891:3888\n"),
        8,
        "server.4",
        "election address 127.0.0.1:3888 is already server 1's (line 5) election address",
    );
}

#[test]
fn error_same_quorum_address_on_two_servers() {
    parse_err(
        &three("server.4=127.0.0.1:2889:3891\n"),
        8,
        "server.4",
        "quorum address 127.0.0.1:2889 is already server 2's (line 6) quorum address",
    );
}

#[test]
fn error_quorum_port_reused_as_another_servers_election_port() {
    parse_err(
        &three("server.4=127.0.0.1:3890:3891\n"),
        8,
        "server.4",
        "quorum address 127.0.0.1:3890 is already server 3's (line 7) election address",
    );
}

#[test]
fn error_same_address_twice_in_one_server() {
    parse_err(
        &three("multiAddress.enabled=true\nserver.4=a:1:2|a:1:3\n"),
        9,
        "server.4",
        "quorum address a:1 is already this server's quorum address",
    );
}

#[test]
fn error_ipv6_duplicates_compare_canonical_text() {
    parse_err(
        "server.1=[::1]:1:2\nserver.2=[0:0::1]:1:3\n",
        2,
        "server.2",
        "quorum address [0:0:0:0:0:0:0:1]:1 is already server 1's (line 1) quorum address",
    );
}

#[test]
fn error_client_port_equal_to_own_ports() {
    parse_err(
        &three("server.4=h:1:2;1\n"),
        8,
        "server.4",
        "client port 1 is also this server's quorum port",
    );
    parse_err(
        &three("server.4=h:1:2;h:2\n"),
        8,
        "server.4",
        "client port 2 is also this server's election port",
    );
}

#[test]
fn error_no_participant() {
    let e = Config::parse(HEAD).unwrap_err();
    assert_eq!(
        e.to_string(),
        "zoo.cfg: there are no server.N lines: at least one participant is required"
    );
    let e = Config::parse("server.1=h:1:2:observer\n").unwrap_err();
    assert!(
        e.message.contains("every server.N line is an observer"),
        "{e}"
    );
}

#[test]
fn error_single_participant_with_observers_when_standalone() {
    let text = "server.1=h:1:2\nserver.2=h:3:4:observer\n";
    let e = Config::parse(text).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("standaloneEnabled"));
    assert!(e.message.contains("needs standaloneEnabled=false"), "{e}");
    let c = parse(&format!("standaloneEnabled=false\n{text}"));
    assert_eq!(c.quorum.observers(), &set(&[2]));
}

#[test]
fn error_group_keys() {
    parse_err(
        &three("groups.1=1:2:3\n"),
        8,
        "groups.1",
        "must be group.<id>",
    );
    parse_err(&three("group=1:2:3\n"), 8, "group", "must be group.<id>");
    parse_err(
        &three("group.x=1:2:3\n"),
        8,
        "group.x",
        "group id \"x\" is not a number",
    );
    parse_err(
        &three("group.1=1:2:3\ngroup.1=1\n"),
        9,
        "group.1",
        "defined twice (first at line 8)",
    );
    parse_err(&three("group.1=\n"), 8, "group.1", "is not a group");
    parse_err(&three("group.1=1::2\n"), 8, "group.1", "is not a group");
    parse_err(
        &three("group.1=1:b\n"),
        8,
        "group.1",
        "group member \"b\" is not a number",
    );
}

#[test]
fn error_groups_not_disjoint() {
    parse_err(
        &three("group.1=1:2\ngroup.2=2:3\n"),
        9,
        "group.2",
        "server 2 is listed also in group 1 (line 8): groups must be disjoint",
    );
    parse_err(
        &three("group.1=1:2:1:3\n"),
        8,
        "group.1",
        "twice in this group",
    );
}

#[test]
fn error_group_member_unknown() {
    parse_err(
        &three("group.1=1:2:3:4\n"),
        8,
        "group.1",
        "group member 4 has no server.4 line",
    );
}

#[test]
fn error_participant_in_no_group() {
    parse_err(
        &three("group.1=1:2\n"),
        7,
        "server.3",
        "participant 3 is in no group",
    );
}

#[test]
fn error_weight_keys() {
    let groups = "group.1=1:2:3\n";
    parse_err(
        &three(&format!("{groups}weights.1=1\n")),
        9,
        "weights.1",
        "must be weight.<id>",
    );
    parse_err(
        &three(&format!("{groups}weight.1=-1\n")),
        9,
        "weight.1",
        "must not be negative",
    );
    parse_err(
        &three(&format!("{groups}weight.1=heavy\n")),
        9,
        "weight.1",
        "weight \"heavy\" is not a number",
    );
    parse_err(
        &three(&format!("{groups}weight.1=1\nweight.1=2\n")),
        10,
        "weight.1",
        "given twice",
    );
    parse_err(
        &three(&format!("{groups}weight.7=1\n")),
        9,
        "weight.7",
        "server 7 has no server.7 line",
    );
}

/// Oracle: ZooKeeper throws a NullPointerException on this config.
#[test]
fn error_observer_in_group_without_weight() {
    let text = three("server.4=127.0.0.1:2891:3891:observer\ngroup.1=1:2:4\ngroup.2=3\n");
    parse_err(
        &text,
        9,
        "group.1",
        "observer 4 is in a group but has no weight.4 line",
    );
    let c = parse(&format!("{text}weight.4=0\n"));
    assert!(c.quorum.contains_quorum(&set(&[1, 2, 3])));
    assert!(!c.quorum.contains_quorum(&set(&[1, 2, 4])));
    assert!(c.render_dynamic().contains("\nweight.4=0\n"));
}

#[test]
fn error_all_groups_weigh_nothing() {
    parse_err(
        &three("group.1=1:2:3\nweight.1=0\nweight.2=0\nweight.3=0\n"),
        8,
        "group.1",
        "no set of servers could ever be a quorum",
    );
}

#[test]
fn error_malformed_escape_is_located() {
    parse_err(
        &three("server.4=h:1:\\u12\n"),
        8,
        "server.4",
        "malformed \\uXXXX",
    );
}

// ---- files ----

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "zkelect-config-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config_with_data_dir(dir: &Path) -> Config {
    parse(&format!("dataDir={}\nserver.1=h:1:2\n", dir.display()))
}

#[test]
fn myid_is_read_and_trimmed() {
    let d = TempDir::new("myid");
    std::fs::write(d.0.join("myid"), " 3 \nignored\n").unwrap();
    assert_eq!(config_with_data_dir(&d.0).read_myid(), Ok(3));
    std::fs::write(d.0.join("myid"), "12").unwrap();
    assert_eq!(config_with_data_dir(&d.0).read_myid(), Ok(12));
}

#[test]
fn myid_errors() {
    let d = TempDir::new("myid-bad");
    let c = config_with_data_dir(&d.0);
    let e = c.read_myid().unwrap_err();
    assert!(e.message.contains("cannot read the myid file"), "{e}");
    assert_eq!(e.key.as_deref(), Some("dataDir"));
    std::fs::write(d.0.join("myid"), "one\n").unwrap();
    let e = c.read_myid().unwrap_err();
    assert!(e.message.contains("holds \"one\", not a server id"), "{e}");
    let e = parse("server.1=h:1:2\n").read_myid().unwrap_err();
    assert!(e.message.contains("dataDir is not set"), "{e}");
}

#[test]
fn load_reads_the_file_and_names_it_in_errors() {
    let d = TempDir::new("load");
    let path = d.0.join("zoo.cfg");
    std::fs::write(&path, three("")).unwrap();
    assert_eq!(Config::load(&path).unwrap().servers.len(), 3);

    std::fs::write(&path, three("tickTime=x\n")).unwrap();
    let e = Config::load(&path).unwrap_err();
    assert_eq!(e.file.as_deref(), Some(path.as_path()));
    assert!(
        e.to_string()
            .starts_with(&format!("{} line 8 (tickTime): ", path.display())),
        "{e}"
    );

    let missing = d.0.join("nope.cfg");
    let e = Config::load(&missing).unwrap_err();
    assert!(
        e.to_string().starts_with(&missing.display().to_string()),
        "{e}"
    );
    assert!(e.message.contains("cannot read the config file"), "{e}");
}

#[test]
fn errors_after_load_name_the_real_file() {
    let d = TempDir::new("realpath");
    let path = d.0.join("my.cfg");
    std::fs::write(
        &path,
        format!("dataDir={}\nserver.1=h:1:2\ntickTme=1\n", d.0.display()),
    )
    .unwrap();
    let c = Config::load(&path).unwrap();
    assert_eq!(c.source.as_deref(), Some(path.as_path()));
    let e = c.read_myid().unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "{} (dataDir): cannot read the myid file",
            path.display()
        )),
        "{e}"
    );
    let e = c.server(7).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}: server id 7", path.display())),
        "{e}"
    );
    assert_eq!(
        c.warnings[0].to_string(),
        format!(
            "{} line 3: unknown key tickTme; did you mean tickTime?",
            path.display()
        )
    );
    let e = Config::load_with(&path, ParseOptions::strict()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{} line 3 (tickTme): unknown key", path.display())),
        "{e}"
    );
}

#[test]
fn load_skips_a_byte_order_mark() {
    let d = TempDir::new("bom");
    let path = d.0.join("zoo.cfg");
    std::fs::write(&path, "\u{feff}server.1=h:1:2\n").unwrap();
    assert_eq!(Config::load(&path).unwrap().servers.len(), 1);
}

#[test]
fn load_falls_back_to_latin1() {
    let d = TempDir::new("latin1");
    let path = d.0.join("zoo.cfg");
    let mut bytes = b"# caf\xe9\nserver.1=h:1:2\ndataDir=/tmp/\xe9\n".to_vec();
    bytes.extend_from_slice(b"tickTime=10\n");
    std::fs::write(&path, bytes).unwrap();
    let c = Config::load(&path).unwrap();
    assert_eq!(c.data_dir, Some(PathBuf::from("/tmp/é")));
    assert_eq!(c.tick_time_ms, 10);
}

/// `followOnly` (a zkelect key): auto by default, true/false, and a clear
/// error naming the line, the key and the three values.
#[test]
fn follow_only_key() {
    use crate::leadership::FollowOnly;
    let base = format!("{HEAD}server.1=127.0.0.1:2888:3888\n");
    assert_eq!(parse(&base).follow_only, FollowOnly::Auto);
    let on = parse(&format!("{base}followOnly=true\n"));
    assert_eq!(on.follow_only, FollowOnly::On);
    let off = parse(&format!("{base}followOnly=FALSE\n"));
    assert_eq!(off.follow_only, FollowOnly::Off);
    parse_err(
        &format!("{base}followOnly=sometimes\n"),
        6,
        "followOnly",
        "auto, true or false",
    );
}
