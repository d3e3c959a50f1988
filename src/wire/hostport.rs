//! `host:port` parsing and rendering, reproducing what ZooKeeper 3.8 and the JDK
//! do with the address text of a handshake (spec 2.3 step 5) and with hosts in a
//! rendered config (spec 3.4).
//!
//! Everything here works on text only: no name is resolved. Where Java's answer
//! depends on DNS or on the local network interfaces, the text-only answer is
//! documented on the function.

use std::fmt;

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
    /// counts as a wildcard (Java would say so only if the interface exists).
    pub fn is_wildcard(&self) -> bool {
        is_wildcard_host(&self.host)
    }
}

impl fmt::Display for HostPort {
    /// Renders as Java's `NetUtils.formatInetAddr` does for a resolved
    /// address: IPv6 bracketed and uncompressed, everything else as is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", java_host_string(&self.host), self.port)
    }
}

/// Renders a host the way Java prints it inside an address: an IPv6 literal
/// becomes `[a:b:c:d:e:f:g:h]` in Java's uncompressed lower-case form (each
/// group without leading zeros) with its `%scope` suffix; everything else is
/// returned unchanged.
///
/// Java turns an IPv4-mapped literal (`::ffff:1.2.3.4`) into a plain IPv4
/// address, so it is printed as `1.2.3.4` without brackets. Any other host
/// containing `:` that is not a valid IPv6 literal is bracketed as written,
/// so that the result still splits back into host and port.
pub fn java_host_string(host: &str) -> String {
    match parse_java_ip_literal(host) {
        Some(JavaIp::V4(b)) => {
            // Only reachable through the IPv6 parser (a mapped address): Java
            // keeps unbracketed IPv4 text as written, so we do too.
            if host.contains(':') {
                format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
            } else {
                host.to_string()
            }
        }
        Some(JavaIp::V6(groups, scope)) => {
            let mut out = String::with_capacity(host.len() + 16);
            out.push('[');
            for (i, g) in groups.iter().enumerate() {
                if i > 0 {
                    out.push(':');
                }
                out.push_str(&format!("{g:x}"));
            }
            match scope {
                Scope::None => {}
                Scope::Numeric(id) => out.push_str(&format!("%{id}")),
                Scope::Named(name) => {
                    out.push('%');
                    out.push_str(name);
                }
            }
            out.push(']');
            out
        }
        None if host.contains(':') => format!("[{host}]"),
        None => host.to_string(),
    }
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
        match java_split(rest, ':').as_slice() {
            [port] => (host, *port),
            _ => return Err(bad("expected exactly one port after ']:'")),
        }
    } else {
        match java_split(s, ':').as_slice() {
            [host, port] => (*host, *port),
            _ => return Err(bad("expected host:port")),
        }
    };
    let port_num = java_parse_int(port).ok_or_else(|| AddressError::BadPort {
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

/// Java's `String.split` with a one-character separator and limit 0: trailing
/// empty strings are removed, and a string without the separator comes back
/// whole (even when empty).
pub(crate) fn java_split(s: &str, sep: char) -> Vec<&str> {
    if !s.contains(sep) {
        return vec![s];
    }
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// Java's `Integer.parseInt` for ASCII input: optional sign, decimal digits,
/// 32-bit range. Java also accepts non-ASCII Unicode digits; we reject them.
fn java_parse_int(s: &str) -> Option<i32> {
    let bytes = s.as_bytes();
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(d - b'0');
        // Stop early so that long digit strings cannot overflow the i64.
        if value > i64::from(i32::MAX) + 1 {
            return None;
        }
    }
    i32::try_from(if negative { -value } else { value }).ok()
}

/// `InetAddress.getByName(host).isAnyLocalAddress()` restricted to literals.
pub(crate) fn is_wildcard_host(host: &str) -> bool {
    match parse_java_ip_literal(host) {
        Some(JavaIp::V4(b)) => b == [0; 4],
        Some(JavaIp::V6(groups, _)) => groups == [0; 8],
        None => false,
    }
}

/// The scope suffix of an IPv6 literal, as Java stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope<'a> {
    None,
    /// All-digit scope: Java keeps the number, so `%007` prints as `%7`.
    Numeric(i32),
    /// Interface name, printed back as written.
    Named(&'a str),
}

/// What `InetAddress.getByName` makes of a literal, without any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
enum JavaIp<'a> {
    V4([u8; 4]),
    V6([u16; 8], Scope<'a>),
}

/// Mirrors the literal branch of `InetAddress.getAllByName`: optional
/// surrounding brackets, IPv4 text first (unless bracketed), then IPv6 text
/// with an optional `%scope`; IPv4-mapped IPv6 becomes IPv4 and must not carry
/// a scope. `None` means Java would treat the text as a hostname (or reject
/// it), i.e. not an IP literal.
fn parse_java_ip_literal(host: &str) -> Option<JavaIp<'_>> {
    let (host, bracketed) = match host.strip_prefix('[') {
        Some(inner) if host.len() > 2 => (inner.strip_suffix(']')?, true),
        Some(_) => return None,
        None => (host, false),
    };
    let first = host.chars().next()?;
    if !(first.is_ascii_hexdigit() || first == ':') {
        return None;
    }
    if !bracketed {
        if let Some(v4) = java_text_to_v4(host) {
            return Some(JavaIp::V4(v4));
        }
    }
    let (bytes, scope_text) = java_text_to_v6(host)?;
    let scope = match scope_text {
        None => Scope::None,
        Some(z) => match java_numeric_zone(z) {
            Some(id) => Scope::Numeric(id),
            None => Scope::Named(z),
        },
    };
    if bytes[..10].iter().all(|&b| b == 0) && bytes[10] == 0xff && bytes[11] == 0xff {
        // Java rejects a zone on an IPv4-mapped literal, leaving a hostname.
        if scope != Scope::None {
            return None;
        }
        return Some(JavaIp::V4([bytes[12], bytes[13], bytes[14], bytes[15]]));
    }
    let mut groups = [0u16; 8];
    for (i, g) in groups.iter_mut().enumerate() {
        *g = u16::from_be_bytes([bytes[2 * i], bytes[2 * i + 1]]);
    }
    Some(JavaIp::V6(groups, scope))
}

/// `InetAddress.checkNumericZone`: an all-digit zone is a number (with Java's
/// silent int wrap-around); anything else is an interface name.
fn java_numeric_zone(zone: &str) -> Option<i32> {
    if zone.is_empty() || !zone.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut id: i32 = 0;
    for d in zone.bytes() {
        id = id.wrapping_mul(10).wrapping_add(i32::from(d - b'0'));
    }
    Some(id)
}

/// JDK `IPAddressUtil.textToNumericFormatV4`: one to four decimal parts, the
/// last part filling the remaining bytes (`0`, `1.2`, `1.2.3`, `1.2.3.4`).
fn java_text_to_v4(src: &str) -> Option<[u8; 4]> {
    if src.is_empty() || src.len() > 15 {
        return None;
    }
    let mut res = [0u8; 4];
    let mut value: i64 = 0;
    let mut byte = 0usize;
    let mut new_octet = true;
    for c in src.bytes() {
        if c == b'.' {
            if new_octet || value > 0xff || byte == 3 {
                return None;
            }
            res[byte] = value as u8;
            byte += 1;
            value = 0;
            new_octet = true;
        } else if c.is_ascii_digit() {
            value = value * 10 + i64::from(c - b'0');
            new_octet = false;
        } else {
            return None;
        }
    }
    if new_octet || value >= 1i64 << ((4 - byte) * 8) {
        return None;
    }
    for (i, slot) in res.iter_mut().enumerate().skip(byte) {
        *slot = (value >> ((3 - i) * 8)) as u8;
    }
    Some(res)
}

/// JDK `IPAddressUtil.textToNumericFormatV6` (before the IPv4-mapped
/// conversion): returns the 16 bytes and the zone text after `%`, if any.
/// Java quirks kept: a hex group may have more than four digits as long as its
/// value fits in 16 bits, and an embedded IPv4 tail needs exactly three dots.
fn java_text_to_v6(src: &str) -> Option<([u8; 16], Option<&str>)> {
    if src.len() < 2 {
        return None;
    }
    let (addr, zone) = match src.find('%') {
        Some(p) if p == src.len() - 1 => return None,
        Some(p) => (&src[..p], Some(&src[p + 1..])),
        None => (src, None),
    };
    let s = addr.as_bytes();
    let mut dst = [0u8; 16];
    let mut j = 0usize;
    let mut colonp: Option<usize> = None;
    let mut i = 0usize;
    if s.first() == Some(&b':') {
        if s.get(1) != Some(&b':') {
            return None;
        }
        i = 1;
    }
    let mut curtok = i;
    let mut saw_xdigit = false;
    let mut val: u32 = 0;
    while i < s.len() {
        let ch = s[i];
        i += 1;
        if let Some(d) = (ch as char).to_digit(16) {
            val = (val << 4) | d;
            if val > 0xffff {
                return None;
            }
            saw_xdigit = true;
            continue;
        }
        if ch == b':' {
            curtok = i;
            if !saw_xdigit {
                if colonp.is_some() {
                    return None;
                }
                colonp = Some(j);
                continue;
            } else if i == s.len() {
                return None;
            }
            if j + 2 > 16 {
                return None;
            }
            dst[j] = (val >> 8) as u8;
            dst[j + 1] = val as u8;
            j += 2;
            saw_xdigit = false;
            val = 0;
            continue;
        }
        if ch == b'.' && j + 4 <= 16 {
            let tail = &addr[curtok..];
            if tail.bytes().filter(|&b| b == b'.').count() != 3 {
                return None;
            }
            let v4 = java_text_to_v4(tail)?;
            dst[j..j + 4].copy_from_slice(&v4);
            j += 4;
            saw_xdigit = false;
            break;
        }
        return None;
    }
    if saw_xdigit {
        if j + 2 > 16 {
            return None;
        }
        dst[j] = (val >> 8) as u8;
        dst[j + 1] = val as u8;
        j += 2;
    }
    if let Some(cp) = colonp {
        if j == 16 {
            return None;
        }
        let n = j - cp;
        for k in 1..=n {
            dst[16 - k] = dst[cp + n - k];
            dst[cp + n - k] = 0;
        }
        j = 16;
    }
    if j != 16 {
        return None;
    }
    Some((dst, zone))
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
    fn ipv6_rendering_is_java_uncompressed() {
        assert_eq!(java_host_string("::1"), "[0:0:0:0:0:0:0:1]");
        assert_eq!(java_host_string("::"), "[0:0:0:0:0:0:0:0]");
        assert_eq!(
            java_host_string("fe80::1%eth0"),
            "[fe80:0:0:0:0:0:0:1%eth0]"
        );
        assert_eq!(java_host_string("fe80::1%007"), "[fe80:0:0:0:0:0:0:1%7]");
        assert_eq!(
            java_host_string("2001:DB8:0000:0:0:0:00ab:1"),
            "[2001:db8:0:0:0:0:ab:1]"
        );
        assert_eq!(java_host_string("1::"), "[1:0:0:0:0:0:0:0]");
        assert_eq!(java_host_string("::1.2.3.4"), "[0:0:0:0:0:0:102:304]");
        assert_eq!(
            java_host_string("64:ff9b::1.2.3.4"),
            "[64:ff9b:0:0:0:0:102:304]"
        );
        assert_eq!(java_host_string("0:0:0:0:0:0:0:1"), "[0:0:0:0:0:0:0:1]");
    }

    #[test]
    fn ipv4_mapped_renders_as_ipv4_like_java() {
        // The JDK converts IPv4-mapped IPv6 literals to Inet4Address.
        assert_eq!(java_host_string("::ffff:1.2.3.4"), "1.2.3.4");
        assert_eq!(java_host_string("::ffff:102:304"), "1.2.3.4");
        // ... but refuses a zone on them, leaving a hostname we bracket as is.
        assert_eq!(java_host_string("::ffff:1.2.3.4%1"), "[::ffff:1.2.3.4%1]");
    }

    #[test]
    fn non_ipv6_hosts_unchanged() {
        assert_eq!(java_host_string("127.0.0.1"), "127.0.0.1");
        assert_eq!(java_host_string("zk3"), "zk3");
        assert_eq!(java_host_string("10.0.0.1"), "10.0.0.1");
        assert_eq!(java_host_string("0"), "0");
        assert_eq!(java_host_string(""), "");
        // Contains ':' but is not IPv6: still bracketed so it splits back.
        assert_eq!(java_host_string("a:b"), "[a:b]");
        assert_eq!(java_host_string(":::"), "[:::]");
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

    #[test]
    fn wildcards() {
        for h in [
            "0.0.0.0",
            "0",
            "0.0",
            "0.0.0",
            "::",
            "0:0:0:0:0:0:0:0",
            "::0",
            "0::",
            "0000::0000",
            "::0.0.0.0",
            "::ffff:0.0.0.0",
            "::ffff:0:0",
            "::%1",
            "::%eth0",
            "[::]",
        ] {
            assert!(hp(h, 1).is_wildcard(), "{h}");
        }
        for h in [
            "127.0.0.1",
            "::1",
            "",
            "localhost",
            "0.0.0.1",
            "0.0.0.0.0",
            "::ffff:0.0.0.0%1",
            "zero",
            "[0.0.0.0]",
            "::%",
        ] {
            assert!(!hp(h, 1).is_wildcard(), "{h}");
        }
    }

    #[test]
    fn java_v6_parser_edge_cases() {
        assert!(java_text_to_v6(":").is_none());
        assert!(java_text_to_v6(":1").is_none());
        assert!(java_text_to_v6(":::").is_none());
        assert!(java_text_to_v6("1:2:3:4:5:6:7:8:9").is_none());
        assert!(java_text_to_v6("1:2:3:4:5:6:7::8").is_none());
        assert!(java_text_to_v6("1:").is_none());
        assert!(java_text_to_v6("10000::").is_none());
        assert!(java_text_to_v6("::1.2.3").is_none());
        assert!(java_text_to_v6("::256.0.0.0").is_none());
        assert!(java_text_to_v6("1:2:3:4:5:6:7:1.2.3.4").is_none());
        assert!(java_text_to_v6("1:2:3:4:5:6:1.2.3.4").is_some());
        // More than four hex digits are fine in Java while the value fits.
        assert!(java_text_to_v6("00001::").is_some());
        assert_eq!(java_text_to_v6("::1%").map(|r| r.0), None);
    }

    #[test]
    fn java_split_matches_java() {
        assert_eq!(java_split("", ':'), vec![""]);
        assert_eq!(java_split(":", ':'), Vec::<&str>::new());
        assert_eq!(java_split("a:b:", ':'), vec!["a", "b"]);
        assert_eq!(java_split(":a", ':'), vec!["", "a"]);
        assert_eq!(java_split("a", ':'), vec!["a"]);
    }
}
