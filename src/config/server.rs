//! `server.N` value parsing (spec 6.3), following ZooKeeper 3.8's
//! `QuorumServer` constructor and `ConfigUtils.splitServerConfig`.
//!
//! Checks that span several servers (address reuse) live in `build.rs`.

use super::values::parse_port;
use super::{QuorumServer, ServerAddr};
use crate::javatext::{inet::is_ipv6_literal, split as java_split};
use crate::types::{LearnerType, Sid};

const FORM: &str = "expected host:quorumPort:electionPort[:participant|observer], \
     several joined by '|' with multi-address, optionally followed by ';clientPort' \
     or ';clientHost:clientPort'";

/// Parses the value of `server.<sid>`. `multi_address` says whether
/// `a|b` address lists are allowed.
pub(crate) fn parse_server(
    sid: Sid,
    value: &str,
    multi_address: bool,
) -> Result<QuorumServer, String> {
    let parts = java_split(value, ';');
    if parts.len() > 2 {
        return Err(format!("\"{value}\" has more than one ';' part; {FORM}"));
    }
    let Some(server_part) = parts.first().filter(|p| !p.is_empty()) else {
        return Err(format!("no server address given; {FORM}"));
    };
    let client = match parts.get(1) {
        Some(c) => Some(parse_client(c)?),
        None => None,
    };

    let addr_texts = java_split(server_part, '|');
    if addr_texts.len() > 1 && !multi_address {
        return Err(format!(
            "server {sid} lists {} addresses (\"{server_part}\") but multi-address support is \
             off; set multiAddress.enabled=true (or zookeeper.multiAddress.enabled=true) to use \
             '|'-separated addresses",
            addr_texts.len()
        ));
    }
    if addr_texts.is_empty() {
        return Err(format!("no server address given; {FORM}"));
    }

    let mut addrs = Vec::with_capacity(addr_texts.len());
    let mut role: Option<LearnerType> = None;
    for text in addr_texts {
        let fields = split_server_config(text)?;
        if fields.len() < 3 || fields.len() > 4 {
            let hint = if fields.len() > 4 && fields[0].chars().all(|c| c.is_ascii_hexdigit()) {
                " (an IPv6 address must be written in brackets, e.g. [::1]:2888:3888)"
            } else {
                ""
            };
            return Err(format!("\"{text}\" is not a server address{hint}; {FORM}"));
        }
        let host = fields[0];
        if host.is_empty() {
            return Err(format!("\"{text}\" has an empty host; {FORM}"));
        }
        let quorum_port = parse_port(fields[1]).map_err(|e| format!("quorum {e} in \"{text}\""))?;
        let election_port =
            parse_port(fields[2]).map_err(|e| format!("election {e} in \"{text}\""))?;
        if quorum_port == election_port {
            return Err(format!(
                "quorum port and election port are both {quorum_port} in \"{text}\"; they must differ"
            ));
        }
        if let Some(r) = fields.get(3) {
            let this = parse_role(r)?;
            // Like ZooKeeper, only explicit roles are compared; an address
            // without one takes the server's role.
            match role {
                Some(prev) if prev != this => {
                    return Err(format!(
                        "all addresses of one server must have the same role, but \"{value}\" \
                         mixes {} and {}",
                        prev.name(),
                        this.name()
                    ))
                }
                _ => role = Some(this),
            }
        }
        addrs.push(ServerAddr {
            host: host.to_string(),
            quorum_port,
            election_port,
        });
    }
    Ok(QuorumServer {
        sid,
        addrs,
        role: role.unwrap_or_default(),
        client,
    })
}

/// The role word, case-insensitive and trimmed like ZooKeeper's `getType`.
pub(crate) fn parse_role(s: &str) -> Result<LearnerType, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "participant" => Ok(LearnerType::Participant),
        "observer" => Ok(LearnerType::Observer),
        _ => Err(format!(
            "unknown role \"{s}\": expected participant or observer"
        )),
    }
}

/// `;port` or `;host:port`; a bare port listens on every interface.
fn parse_client(text: &str) -> Result<(String, u16), String> {
    let fields = split_server_config(text)?;
    let (host, port) = match fields.as_slice() {
        [port] => ("0.0.0.0", *port),
        [host, port] => (*host, *port),
        _ => {
            return Err(format!(
                "client address \"{text}\" must be clientPort or clientHost:clientPort"
            ))
        }
    };
    if host.is_empty() {
        return Err(format!("client address \"{text}\" has an empty host"));
    }
    let port = parse_port(port).map_err(|e| format!("client {e} in \"{text}\""))?;
    Ok((host.to_string(), port))
}

/// `ConfigUtils.splitServerConfig`: a leading `[v6]` is one field (brackets
/// removed), the rest splits on `:`. We also insist that the bracketed text
/// is an IPv6 literal, where Java would try to resolve it as a name.
fn split_server_config(s: &str) -> Result<Vec<&str>, String> {
    let Some(rest) = s.strip_prefix('[') else {
        return Ok(java_split(s, ':'));
    };
    let Some(close) = rest.find("]:") else {
        return Err(format!("\"{s}\" starts with '[' but has no matching ']:'"));
    };
    let host = &rest[..close];
    if !is_ipv6_literal(host) {
        return Err(format!("\"[{host}]\" is not an IPv6 address"));
    }
    let mut fields = vec![host];
    fields.extend(java_split(&rest[close + 2..], ':'));
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(host: &str, q: u16, e: u16) -> ServerAddr {
        ServerAddr {
            host: host.to_string(),
            quorum_port: q,
            election_port: e,
        }
    }

    fn ok(value: &str) -> QuorumServer {
        parse_server(7, value, true).unwrap_or_else(|e| panic!("{value}: {e}"))
    }

    fn err(value: &str, multi: bool) -> String {
        parse_server(7, value, multi).unwrap_err()
    }

    #[test]
    fn host_quorum_election() {
        let s = ok("10.0.0.1:2888:3888");
        assert_eq!(s.sid, 7);
        assert_eq!(s.addrs, vec![addr("10.0.0.1", 2888, 3888)]);
        assert_eq!(s.role, LearnerType::Participant);
        assert_eq!(s.client, None);
    }

    #[test]
    fn explicit_roles_case_insensitive() {
        assert_eq!(ok("h:1:2:participant").role, LearnerType::Participant);
        assert_eq!(ok("h:1:2:OBSERVER").role, LearnerType::Observer);
        assert_eq!(ok("h:1:2:Observer;3").role, LearnerType::Observer);
    }

    #[test]
    fn client_port_only_means_all_interfaces() {
        let s = ok("127.0.0.1:1234:1236;1237");
        assert_eq!(s.client, Some(("0.0.0.0".to_string(), 1237)));
    }

    #[test]
    fn client_host_and_port() {
        let s = ok("example.com:1234:1236:participant;10.1.1.1:2181");
        assert_eq!(s.client, Some(("10.1.1.1".to_string(), 2181)));
        let s = ok("h:1:2;[::1]:2181");
        assert_eq!(s.client, Some(("::1".to_string(), 2181)));
    }

    #[test]
    fn bracketed_ipv6_host() {
        let s = ok("[::1]:1234:1236:participant");
        assert_eq!(s.addrs, vec![addr("::1", 1234, 1236)]);
    }

    #[test]
    fn multi_address_list() {
        let s = ok("a:1:2|[::1]:3:4|b:5:6;7");
        assert_eq!(
            s.addrs,
            vec![addr("a", 1, 2), addr("::1", 3, 4), addr("b", 5, 6)]
        );
        assert_eq!(s.client, Some(("0.0.0.0".to_string(), 7)));
    }

    #[test]
    fn multi_address_roles_only_explicit_ones_compared() {
        assert_eq!(ok("a:1:2:observer|b:3:4").role, LearnerType::Observer);
        assert!(err("a:1:2:observer|b:3:4:participant", true).contains("same role"));
    }

    #[test]
    fn multi_address_requires_the_switch() {
        let e = err("a:1:2|b:3:4", false);
        assert!(e.contains("multiAddress.enabled=true"), "{e}");
    }

    #[test]
    fn trailing_empty_fields_are_ignored_like_java_split() {
        assert_eq!(ok("h:1:2:").addrs, vec![addr("h", 1, 2)]);
        assert_eq!(ok("h:1:2;").client, None);
    }

    #[test]
    fn quorum_port_equal_election_port() {
        let e = err("h:2888:2888", false);
        assert!(
            e.contains("quorum port and election port are both 2888"),
            "{e}"
        );
    }

    #[test]
    fn more_than_one_semicolon_part() {
        assert!(err("h:1:2;3;4", false).contains("more than one ';'"));
    }

    #[test]
    fn wrong_field_counts() {
        assert!(err("h:1", false).contains("is not a server address"));
        assert!(err("h:1:2:observer:x", false).contains("is not a server address"));
        assert!(err("::1:2888:3888", false).contains("in brackets"));
        assert!(err("", false).contains("no server address"));
        assert!(err(";2181", false).contains("no server address"));
        assert!(err("h:1:2;a:b:c", false).contains("client address"));
    }

    #[test]
    fn bad_ports_and_hosts() {
        assert!(err("h:x:2", false).contains("quorum port \"x\" is not a number"));
        assert!(err("h:1:70000", false).contains("election port 70000 is outside"));
        assert!(err("h:0:2", false).contains("outside 1..65535"));
        assert!(err("h:1:2;0", false).contains("client port 0"));
        assert!(err(":1:2", false).contains("empty host"));
        assert!(err("h:1:2;:5", false).contains("empty host"));
        assert!(err("[::1:1:2", false).contains("no matching ']:'"));
        assert!(err("[foo]:1:2", false).contains("is not an IPv6 address"));
        assert!(err("h:1:2:leader", false).contains("unknown role \"leader\""));
    }
}
