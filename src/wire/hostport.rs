//! `host:port` parsing and rendering, reproducing what ZooKeeper 3.8 and the JDK
//! do with the address text of a handshake (spec 2.3 step 5) and with hosts in a
//! rendered config (spec 3.4).
//!
//! Everything here works on text only: no name is resolved. Java's own text
//! rules (split, parseInt, IP literals, host rendering) live in
//! `crate::javatext`, shared with the config reader, so a host prints the
//! same in a handshake as in a rendered config.

use std::fmt;

use crate::javatext::{self, inet};

/// A host string and a port, as written in a config or received in a handshake.
///
/// `host` is an IPv4 literal, a hostname, or an IPv6 literal **without**
/// brackets (possibly with a `%scope` suffix). It is kept exactly as written;
/// [`fmt::Display`] renders it the way Java would send it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    /// The host text, IPv6 without brackets.
    pub host: String,
    /// The TCP port.
    pub port: u16,
}

/// Why an address text is not a usable `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressError {
    /// ZooKeeper's host/port split does not yield exactly a host and a port.
    BadlyFormed {
        /// The whole address text.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The port part is not a (32-bit) integer.
    BadPort {
        /// The whole address text.
        text: String,
        /// The port part.
        port: String,
    },
    /// The port is an integer outside 0..=65535.
    PortOutOfRange {
        /// The whole address text.
        text: String,
        /// The port as parsed.
        port: i32,
    },
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::BadlyFormed { text, reason } => {
                write!(f, "badly formed address {text:?}: {reason}")
            }
            AddressError::BadPort { text, port } => {
                write!(f, "bad port number {port:?} in address {text:?}")
            }
            AddressError::PortOutOfRange { text, port } => {
                write!(f, "port {port} out of range 0..=65535 in address {text:?}")
            }
        }
    }
}

impl std::error::Error for AddressError {}

impl AddressError {
    /// What is wrong, without the address text (for messages that show the
    /// text already).
    pub fn reason(&self) -> String {
        match self {
            AddressError::BadlyFormed { reason, .. } => format!("badly formed: {reason}"),
            AddressError::BadPort { port, .. } => format!("bad port number {port:?}"),
            AddressError::PortOutOfRange { port, .. } => {
                format!("port {port} out of range 0..=65535")
            }
        }
    }
}

impl HostPort {
    /// Parses `host:port` or `[v6]:port` with ZooKeeper's rules
    /// (`ConfigUtils.getHostAndPort` + `Integer.parseInt`, spec 2.3 step 5).
    ///
    /// Java quirks kept on purpose, so that we accept and reject exactly what a
    /// 3.8 acceptor does: unbracketed text is split on every `:` with trailing
    /// empty parts dropped (so `h:1:` is accepted and raw IPv6 is rejected); the
    /// one character after `]` is skipped unchecked; the port may carry a `+` or
    /// `-` sign. An empty host is accepted (Java resolves it to loopback).
    /// A port outside 0..=65535 is an error here (Java throws an unchecked
    /// exception), so such a value is never constructed.
    pub fn parse(s: &str) -> Result<HostPort, AddressError> {
        let (host, port) = split_host_port(s)?;
        let port = checked_port(s, port)?;
        Ok(HostPort {
            host: host.to_string(),
            port,
        })
    }

    /// True if the host is a wildcard ("any local") address, as decided by
    /// `InetAddress.getByName(host).isAnyLocalAddress()` on a literal:
    /// `0.0.0.0` (also Java's short forms such as `0`), `::` in any textual
    /// form, and `::ffff:0.0.0.0`. Hostnames are never wildcards here because
    /// we do not resolve them. An unspecified IPv6 address with a named scope
    /// counts as a wildcard (Java would say so only if the interface has an
    /// IPv6 address; see `javatext::inet` on named zones).
    pub fn is_wildcard(&self) -> bool {
        inet::is_any_local(&self.host)
    }
}

impl fmt::Display for HostPort {
    /// Renders as Java's `NetUtils.formatInetAddr` does for a resolved
    /// address ([`java_host_string`], then `:port`): a real 3.8 server
    /// configured with `127.1` sends `127.0.0.1:P`, with `::1`
    /// `[0:0:0:0:0:0:0:1]:P`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", java_host_string(&self.host), self.port)
    }
}

/// Renders a host the way ZooKeeper prints it inside an address
/// (`javatext::inet::delimited_host_string`): an IP literal in
/// Java's canonical text (`127.1` as `127.0.0.1`, IPv6 uncompressed and in
/// brackets, with its zone; an IPv4-mapped literal as plain IPv4), a name
/// as written. A host containing `:` that is not an IP literal is bracketed
/// as written, so that the result still splits back into host and port.
pub fn java_host_string(host: &str) -> String {
    inet::delimited_host_string(host)
}

/// Splits one address piece with `ConfigUtils.getHostAndPort`'s rules and
/// insists on exactly two parts, as `InitialMessage.parse` does. The port is
/// returned as a Java `int`, not yet range-checked, because a wildcard host is
/// dropped before Java ever looks at the port range.
pub(crate) fn split_host_port(s: &str) -> Result<(&str, i32), AddressError> {
    let bad = |reason| AddressError::BadlyFormed {
        text: s.to_string(),
        reason,
    };
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let close = inner
            .find(']')
            .ok_or_else(|| bad("starts with '[' but has no matching ']'"))?;
        let host = &inner[..close];
        let mut after = inner[close + 1..].chars();
        let skipped = after
            .next()
            .ok_or_else(|| bad("no ':' and port after ']'"))?;
        // Java skips one UTF-16 unit; a supplementary character would leave half
        // a surrogate pair in front of the port, which never parses.
        if skipped.len_utf16() != 1 {
            return Err(bad("unexpected character after ']'"));
        }
        let rest = after.as_str();
        if rest.is_empty() {
            return Err(bad("no port after ':'"));
        }
        match javatext::split(rest, ':').as_slice() {
            [port] => (host, *port),
            _ => return Err(bad("expected exactly one port after ']:'")),
        }
    } else {
        match javatext::split(s, ':').as_slice() {
            [host, port] => (*host, *port),
            _ => return Err(bad("expected host:port")),
        }
    };
    let port_num = javatext::parse_int(port).map_err(|_| AddressError::BadPort {
        text: s.to_string(),
        port: port.to_string(),
    })?;
    Ok((host, port_num))
}

/// Range check Java performs when building the socket address.
pub(crate) fn checked_port(text: &str, port: i32) -> Result<u16, AddressError> {
    u16::try_from(port).map_err(|_| AddressError::PortOutOfRange {
        text: text.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(host: &str, port: u16) -> HostPort {
        HostPort {
            host: host.to_string(),
            port,
        }
    }

    #[test]
    fn parse_ipv4_and_hostname() {
        assert_eq!(HostPort::parse("127.0.0.1:3890"), Ok(hp("127.0.0.1", 3890)));
        assert_eq!(HostPort::parse("zk3:3888"), Ok(hp("zk3", 3888)));
    }

    #[test]
    fn parse_bracketed_ipv6_keeps_text_without_brackets() {
        assert_eq!(HostPort::parse("[::1]:3888"), Ok(hp("::1", 3888)));
        assert_eq!(
            HostPort::parse("[0:0:0:0:0:0:0:1]:3888"),
            Ok(hp("0:0:0:0:0:0:0:1", 3888))
        );
        assert_eq!(
            HostPort::parse("[fe80::1%eth0]:3888"),
            Ok(hp("fe80::1%eth0", 3888))
        );
    }

    #[test]
    fn parse_java_split_quirks() {
        // Trailing empty parts vanish in Java's split, so these are accepted.
        assert_eq!(HostPort::parse("h:1:"), Ok(hp("h", 1)));
        assert_eq!(HostPort::parse("h:1::"), Ok(hp("h", 1)));
        assert_eq!(HostPort::parse("[::1]:80:"), Ok(hp("::1", 80)));
        // The character after ']' is skipped without being checked.
        assert_eq!(HostPort::parse("[::1]x80"), Ok(hp("::1", 80)));
        // Empty host: Java resolves it to loopback; we keep it as written.
        assert_eq!(HostPort::parse(":80"), Ok(hp("", 80)));
        assert_eq!(HostPort::parse("[]:80"), Ok(hp("", 80)));
        // Java's parseInt takes a sign.
        assert_eq!(HostPort::parse("h:+80"), Ok(hp("h", 80)));
        assert_eq!(HostPort::parse("h:-0"), Ok(hp("h", 0)));
    }

    #[test]
    fn parse_rejects_badly_formed() {
        for s in [
            "what's going on here?",
            "",
            ":",
            "h",
            "h:",
            "::1:3888",
            "a:b:c",
            "::80",
            "[::1",
            "[::1]",
            "[::1]:",
            "[::1]::",
            "[::1]:1:2",
            "[::1]\u{1F600}80",
        ] {
            assert!(
                matches!(HostPort::parse(s), Err(AddressError::BadlyFormed { .. })),
                "{s:?} -> {:?}",
                HostPort::parse(s)
            );
        }
    }

    #[test]
    fn parse_rejects_bad_ports() {
        for s in ["h:x", "h:80a", "h:+", "h:-", "h: 80", "h:2147483648", "h:٣"] {
            assert!(
                matches!(HostPort::parse(s), Err(AddressError::BadPort { .. })),
                "{s:?} -> {:?}",
                HostPort::parse(s)
            );
        }
        for (s, p) in [("h:65536", 65536), ("h:-1", -1), ("h:2147483647", i32::MAX)] {
            assert_eq!(
                HostPort::parse(s),
                Err(AddressError::PortOutOfRange {
                    text: s.to_string(),
                    port: p
                })
            );
        }
        assert_eq!(HostPort::parse("h:65535"), Ok(hp("h", 65535)));
        assert_eq!(HostPort::parse("h:0"), Ok(hp("h", 0)));
    }

    #[test]
    fn address_error_messages_name_the_text() {
        let e = HostPort::parse("what's going on here?").unwrap_err();
        assert!(e.to_string().contains("what's going on here?"), "{e}");
        let e = HostPort::parse("h:99999").unwrap_err();
        assert!(e.to_string().contains("99999") && e.to_string().contains("h:99999"));
        let e = HostPort::parse("h:x").unwrap_err();
        assert!(e.to_string().contains("\"x\""), "{e}");
    }

    #[test]
    fn display_formats() {
        assert_eq!(hp("::1", 3888).to_string(), "[0:0:0:0:0:0:0:1]:3888");
        assert_eq!(hp("127.0.0.1", 3890).to_string(), "127.0.0.1:3890");
        assert_eq!(hp("zk3", 3888).to_string(), "zk3:3888");
        assert_eq!(
            hp("fe80::1%eth0", 3888).to_string(),
            "[fe80:0:0:0:0:0:0:1%eth0]:3888"
        );
    }

    #[test]
    fn display_parse_round_trip() {
        for (h, p) in [
            ("127.0.0.1", 3888u16),
            ("zk3", 0),
            ("0:0:0:0:0:0:0:1", 65535),
            ("fe80:0:0:0:0:0:0:1%eth0", 1),
            ("a:b", 2),
        ] {
            let v = hp(h, p);
            assert_eq!(HostPort::parse(&v.to_string()), Ok(v));
        }
        // Compressed IPv6 comes back uncompressed.
        let v = HostPort::parse(&hp("::1", 2).to_string()).unwrap();
        assert_eq!(v, hp("0:0:0:0:0:0:0:1", 2));
    }

    /// Oracle: a real 3.8.0 server's handshake (see `javatext::inet`): it
    /// sends the canonical text of the literal it was configured with.
    #[test]
    fn display_is_what_a_real_server_sends() {
        for (host, sent) in [
            ("127.1", "127.0.0.1:3888"),
            ("0127.0.0.1", "127.0.0.1:3888"),
            ("0", "0.0.0.0:3888"),
            ("0x7f.1", "0x7f.1:3888"),
            ("::1", "[0:0:0:0:0:0:0:1]:3888"),
            ("::ffff:1.2.3.4", "1.2.3.4:3888"),
            ("fe80::1%4", "[fe80:0:0:0:0:0:0:1%4]:3888"),
            ("fe80::1%eth0", "[fe80:0:0:0:0:0:0:1%eth0]:3888"),
        ] {
            assert_eq!(hp(host, 3888).to_string(), sent, "{host}");
        }
    }

    #[test]
    fn wildcards_are_any_local_literals() {
        for h in ["0.0.0.0", "0", "::", "::ffff:0.0.0.0", "::%eth0"] {
            assert!(hp(h, 1).is_wildcard(), "{h}");
        }
        for h in ["127.0.0.1", "::1", "", "localhost", "[0.0.0.0]"] {
            assert!(!hp(h, 1).is_wildcard(), "{h}");
        }
    }
}
