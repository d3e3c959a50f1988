//! Host texts as the JDK reads and prints them: `IPAddressUtil`'s literal
//! parsers (`textToNumericFormatV4/V6`), the literal branch of
//! `InetAddress.getAllByName`, `getHostAddress`, `hashCode`, and ZooKeeper's
//! bracketing of a host that contains a colon.
//!
//! ZooKeeper 3.8 prints a host in two places, and for every IP literal both
//! print Java's canonical text, not what was written:
//! - the config text in every notification, `conf` and the dynamic file
//!   (`QuorumServer.toString` -> `InetSocketAddress.getHostString()`,
//!   bracketed when it contains `:`);
//! - the election handshake (`NetUtils.formatInetAddr` ->
//!   `InetAddress.getHostAddress()` of the resolved address).
//!
//! Observed on a real 3.8.0 server (Debian's package, OpenJDK 17.0.21, a
//! zoo.cfg listing each host in a `server.N` line; the handshake and the
//! config text captured by a listener on a peer's election port):
//!
//! | written            | config text                 | handshake                       |
//! |--------------------|-----------------------------|---------------------------------|
//! | `127.1`            | `127.0.0.1`                 | `127.0.0.1:P`                   |
//! | `0127.0.0.1`       | `127.0.0.1`                 |                                 |
//! | `1`, `10.1.258`    | `0.0.0.1`, `10.1.1.2`       |                                 |
//! | `0x7f.1`           | `0x7f.1` (a name)           | `0x7f.1:P`                      |
//! | `localhost`        | `localhost`                 | `127.0.0.1:P` (resolved by DNS) |
//! | `[::1]`            | `[0:0:0:0:0:0:0:1]`         | `[0:0:0:0:0:0:0:1]:P`           |
//! | `[::ffff:1.2.3.4]` | `1.2.3.4`                   |                                 |
//! | `[fe80::1%4]`      | `[fe80:0:0:0:0:0:0:1%4]`    | `[fe80:0:0:0:0:0:0:1%4]:P`      |
//! | `[fe80::1%007]`    | `[fe80:0:0:0:0:0:0:1%7]`    |                                 |
//! | `[fe80::1%eth0]`   | `[fe80:0:0:0:0:0:0:1%eth0]` | `[fe80:0:0:0:0:0:0:1%eth0]:P`   |
//! | `[fd00::5%eth0]`   | `[fd00:0:0:0:0:0:0:5%eth0]` |                                 |
//! | `[fe80::1%lo]`     | `[fe80::1%lo]`              | `fe80::1%lo:P` (unbracketed)    |
//! | `[fec0::1%eth0]`   | `[fec0::1%eth0]`            |                                 |
//! | `[fe80::1%nosuch]` | `[fe80::1%nosuch]`          |                                 |
//!
//! A zone named by interface is the one case that depends on the machine:
//! Java resolves it only if the interface exists and has an IPv6 address of
//! the same kind (link-local for `fe80::/10`, site-local for `fec0::/10`,
//! any for other addresses; there `eth0` had `fe80::fc:ff:fe00:1` and
//! `fd00::2`, `lo` only `::1`), and then prints it canonically with the
//! name; otherwise the host stays an unresolved name printed as written.
//! This module does not look at interfaces. It takes every well-formed
//! named zone as resolvable, which is Java's answer for every zoned address
//! that can be used on the machine at all; the others (`%lo` on a
//! link-local address, a missing interface) cannot be bound or dialled, and
//! for them we print canonical text where Java prints what was written.
//!
//! (Over 500 lines: half of it is the tests, which hold the oracle values
//! beside the two JDK parsers they check.)
//!
//! Over 500 lines only with its unit tests (the code is about 350).

/// The scope of an IPv6 literal, as Java keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Zone<'a> {
    /// No `%` suffix.
    None,
    /// An all-digit scope: Java keeps the number (with Java's silent `int`
    /// wrap-around), so `%007` prints as `%7`.
    Numeric(i32),
    /// An interface name, printed back as written (see the module docs).
    Named(&'a str),
}

/// What `InetAddress.getByName` makes of an IP literal, without any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inet<'a> {
    /// An `Inet4Address` (IPv4 text in any of Java's short forms, or an
    /// IPv4-mapped IPv6 literal).
    V4([u8; 4]),
    /// An `Inet6Address` and its scope.
    V6([u8; 16], Zone<'a>),
}

/// The literal branch of `InetAddress.getAllByName`: optional surrounding
/// brackets, IPv4 text first (unless bracketed), then IPv6 text with an
/// optional `%zone`; an IPv4-mapped IPv6 literal becomes IPv4 and must not
/// carry a zone. `None` means Java takes the text as a host name (and
/// resolves it, or rejects it); it is not an IP literal.
pub(crate) fn literal(host: &str) -> Option<Inet<'_>> {
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
        if let Some(v4) = text_to_v4(host) {
            return Some(Inet::V4(v4));
        }
    }
    let (bytes, zone_text) = text_to_v6(host)?;
    let zone = match zone_text {
        None => Zone::None,
        Some(z) => match numeric_zone(z) {
            Some(id) => Zone::Numeric(id),
            None => Zone::Named(z),
        },
    };
    if is_v4_mapped(&bytes) {
        // Java refuses a zone on an IPv4-mapped literal: a host name then.
        if zone != Zone::None {
            return None;
        }
        return Some(Inet::V4([bytes[12], bytes[13], bytes[14], bytes[15]]));
    }
    Some(Inet::V6(bytes, zone))
}

/// `InetAddress.getHostAddress()`: dotted quad, or eight lower-case hex
/// groups without leading zeros, never `::`-compressed, then `%zone`.
pub(crate) fn host_address(ip: &Inet<'_>) -> String {
    match ip {
        Inet::V4(a) => format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
        Inet::V6(a, zone) => {
            let mut out = String::with_capacity(48);
            for (i, g) in a.chunks(2).enumerate() {
                if i > 0 {
                    out.push(':');
                }
                out.push_str(&format!("{:x}", u16::from_be_bytes([g[0], g[1]])));
            }
            match zone {
                Zone::None => {}
                Zone::Numeric(id) => out.push_str(&format!("%{id}")),
                Zone::Named(name) => {
                    out.push('%');
                    out.push_str(name);
                }
            }
            out
        }
    }
}

/// `new InetSocketAddress(host, port).getHostString()`: an IP literal's
/// canonical text ([`host_address`]); any other host as written (Java keeps
/// the name it resolved, or the text it could not resolve).
pub(crate) fn host_string(host: &str) -> String {
    match literal(host) {
        Some(ip) => host_address(&ip),
        None => host.to_string(),
    }
}

/// How ZooKeeper prints a host inside `host:port` text: [`host_string`],
/// in brackets when it contains a colon (`QuorumServer.delimitedHostString`,
/// and `NetUtils.formatInetAddr` for a resolved IPv6 address).
///
/// One difference, on purpose: a host that holds a colon but is not an
/// address Java resolves (`fe80::1%nosuch`, `a:b`) is bracketed too, so the
/// text still splits back into host and port. Java's handshake writes such
/// an unresolved host unbracketed (`fe80::1%lo:3888`), which no acceptor can
/// parse; its config text brackets it, as we do.
pub(crate) fn delimited_host_string(host: &str) -> String {
    let text = host_string(host);
    if text.contains(':') {
        format!("[{text}]")
    } else {
        text
    }
}

/// `InetAddress.hashCode()` of the address Java builds for `host`, which
/// decides the order of equal host strings in a multi-address list. A name
/// is taken as unresolved (`hostname.toLowerCase().hashCode()`): a resolved
/// name would hash its IP address, which depends on DNS. The scope of an
/// IPv6 address is not hashed (Java hashes the 16 bytes only).
pub(crate) fn inet_hash(host: &str) -> i32 {
    match literal(host) {
        Some(Inet::V4(v4)) => i32::from_be_bytes(v4),
        Some(Inet::V6(v6, _)) => v6.chunks(4).fold(0i32, |hash, chunk| {
            // Java adds *signed* bytes here.
            let component = chunk.iter().fold(0i32, |c, b| {
                c.wrapping_shl(8).wrapping_add(i32::from(*b as i8))
            });
            hash.wrapping_add(component)
        }),
        None => host
            .to_lowercase()
            .encode_utf16()
            .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u))),
    }
}

/// Whether `host` (the text between a server line's brackets) is IPv6 text
/// Java's parser accepts, whatever its zone (`::ffff:1.2.3.4` included).
pub(crate) fn is_ipv6_literal(host: &str) -> bool {
    host.contains(':') && text_to_v6(host).is_some()
}

/// `InetAddress.getByName(host).isAnyLocalAddress()` for literals: `0.0.0.0`
/// (also in Java's short forms such as `0`), `::` in any textual form and
/// with any zone, and `::ffff:0.0.0.0`. Names are never wildcards here,
/// because we do not resolve them.
pub(crate) fn is_any_local(host: &str) -> bool {
    match literal(host) {
        Some(Inet::V4(b)) => b == [0; 4],
        Some(Inet::V6(b, _)) => b == [0; 16],
        None => false,
    }
}

fn is_v4_mapped(b: &[u8; 16]) -> bool {
    b[..10].iter().all(|&x| x == 0) && b[10] == 0xff && b[11] == 0xff
}

/// `InetAddress.checkNumericZone`: an all-digit zone is a number (wrapping
/// like Java's `int`); anything else is an interface name.
fn numeric_zone(zone: &str) -> Option<i32> {
    if zone.is_empty() || !zone.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(zone.bytes().fold(0i32, |z, b| {
        z.wrapping_mul(10).wrapping_add(i32::from(b - b'0'))
    }))
}

/// JDK `IPAddressUtil.textToNumericFormatV4`: one to four decimal parts, the
/// last one filling the remaining bytes (`0`, `127.1`, `10.1.258`,
/// `1.2.3.4`), at most 15 characters. Leading zeros are decimal, not octal
/// (`0127.0.0.1` is `127.0.0.1`); hex (`0x7f.1`) is not a literal.
fn text_to_v4(src: &str) -> Option<[u8; 4]> {
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
/// conversion): the 16 bytes and the zone text after `%`, if any. Java
/// quirks kept: a hex group may have more than four digits as long as its
/// value fits in 16 bits, and an embedded IPv4 tail needs exactly three dots.
fn text_to_v6(src: &str) -> Option<([u8; 16], Option<&str>)> {
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
            let v4 = text_to_v4(tail)?;
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

    /// Oracle: the config text of a real 3.8.0 server (see the module docs),
    /// plus `new InetSocketAddress(h, 1).getHostString()` on OpenJDK 17 for
    /// the forms not in a server line. The named zones that Java leaves
    /// unresolved on that machine are in
    /// [`named_zones_are_taken_as_resolvable`].
    #[test]
    fn delimited_host_string_matches_zookeeper() {
        for (input, java) in [
            ("127.0.0.1", "127.0.0.1"),
            ("127.1", "127.0.0.1"),
            ("0127.0.0.1", "127.0.0.1"),
            ("127.000.000.001", "127.0.0.1"),
            ("10.1.258", "10.1.1.2"),
            ("1", "0.0.0.1"),
            ("0", "0.0.0.0"),
            ("0x7f.1", "0x7f.1"),
            ("1.2.3.4.5", "1.2.3.4.5"),
            ("256.1.1.1", "256.1.1.1"),
            ("localhost", "localhost"),
            ("example.com", "example.com"),
            ("Example.COM", "Example.COM"),
            ("::1", "[0:0:0:0:0:0:0:1]"),
            ("0:0:0:0:0:0:0:1", "[0:0:0:0:0:0:0:1]"),
            ("::", "[0:0:0:0:0:0:0:0]"),
            ("::ffff:1.2.3.4", "1.2.3.4"),
            ("::ffff:102:304", "1.2.3.4"),
            ("::1.2.3.4", "[0:0:0:0:0:0:102:304]"),
            ("::01.2.3.4", "[0:0:0:0:0:0:102:304]"),
            ("64:ff9b::1.2.3.4", "[64:ff9b:0:0:0:0:102:304]"),
            ("00000001::", "[1:0:0:0:0:0:0:0]"),
            ("1::", "[1:0:0:0:0:0:0:0]"),
            ("1::ABCD", "[1:0:0:0:0:0:0:abcd]"),
            ("2001:DB8:0000:0:0:0:00ab:1", "[2001:db8:0:0:0:0:ab:1]"),
            (
                "2001:db8::8:800:200c:417a",
                "[2001:db8:0:0:8:800:200c:417a]",
            ),
            ("1:2:3:4:5:6:7:8", "[1:2:3:4:5:6:7:8]"),
            ("fe80::1%4", "[fe80:0:0:0:0:0:0:1%4]"),
            ("fe80::1%1", "[fe80:0:0:0:0:0:0:1%1]"),
            ("fe80::1%007", "[fe80:0:0:0:0:0:0:1%7]"),
            ("fe80::1%eth0", "[fe80:0:0:0:0:0:0:1%eth0]"),
            ("fd00::5%eth0", "[fd00:0:0:0:0:0:0:5%eth0]"),
            ("2001:db8::1%lo", "[2001:db8:0:0:0:0:0:1%lo]"),
            ("::%eth0", "[0:0:0:0:0:0:0:0%eth0]"),
            // A zone on an IPv4-mapped literal: a name to Java.
            ("::ffff:1.2.3.4%1", "[::ffff:1.2.3.4%1]"),
        ] {
            assert_eq!(delimited_host_string(input), java, "input {input}");
        }
    }

    /// Java resolves a named zone only when the interface has an address of
    /// the same kind; the real server printed these as written, we print
    /// them canonically (the documented text-only difference).
    #[test]
    fn named_zones_are_taken_as_resolvable() {
        for (input, ours) in [
            ("fe80::1%lo", "[fe80:0:0:0:0:0:0:1%lo]"),
            ("fec0::1%eth0", "[fec0:0:0:0:0:0:0:1%eth0]"),
            ("fe80::1%nosuch", "[fe80:0:0:0:0:0:0:1%nosuch]"),
        ] {
            assert_eq!(delimited_host_string(input), ours, "input {input}");
        }
    }

    #[test]
    fn non_literals_with_colons_are_bracketed_as_written() {
        assert_eq!(delimited_host_string("a:b"), "[a:b]");
        assert_eq!(delimited_host_string(":::"), "[:::]");
        assert_eq!(delimited_host_string("::1%"), "[::1%]");
        assert_eq!(delimited_host_string(""), "");
    }

    #[test]
    fn literal_forms() {
        assert_eq!(literal("127.1"), Some(Inet::V4([127, 0, 0, 1])));
        assert_eq!(literal("[127.0.0.1]"), None, "bracketed IPv4 is no literal");
        assert_eq!(literal("0x7f.1"), None);
        assert_eq!(literal("[::1]"), literal("::1"));
        assert_eq!(literal("[]"), None);
        assert_eq!(literal("["), None);
        assert!(matches!(
            literal("fe80::1%eth0"),
            Some(Inet::V6(_, Zone::Named("eth0")))
        ));
        assert!(matches!(
            literal("fe80::1%4294967297"),
            Some(Inet::V6(_, Zone::Numeric(1)))
        ));
    }

    #[test]
    fn ipv6_literal_validation() {
        for ok in [
            "::1",
            "::",
            "1::",
            "fe80::1%eth0",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:7:8",
        ] {
            assert!(is_ipv6_literal(ok), "{ok}");
        }
        for bad in [
            "1.2.3.4",
            "::1::2",
            "1:",
            ":1",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::8",
            "12345::",
            "::1%",
            "::1.2.3",
            "host",
            "g::1",
        ] {
            assert!(!is_ipv6_literal(bad), "{bad}");
        }
    }

    #[test]
    fn v6_parser_edge_cases() {
        assert!(text_to_v6(":").is_none());
        assert!(text_to_v6(":1").is_none());
        assert!(text_to_v6(":::").is_none());
        assert!(text_to_v6("1:2:3:4:5:6:7:8:9").is_none());
        assert!(text_to_v6("1:2:3:4:5:6:7::8").is_none());
        assert!(text_to_v6("1:").is_none());
        assert!(text_to_v6("10000::").is_none());
        assert!(text_to_v6("::1.2.3").is_none());
        assert!(text_to_v6("::256.0.0.0").is_none());
        assert!(text_to_v6("1:2:3:4:5:6:7:1.2.3.4").is_none());
        assert!(text_to_v6("1:2:3:4:5:6:1.2.3.4").is_some());
        // More than four hex digits are fine in Java while the value fits.
        assert!(text_to_v6("00001::").is_some());
        assert_eq!(text_to_v6("::1%").map(|r| r.0), None);
    }

    #[test]
    fn any_local() {
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
            assert!(is_any_local(h), "{h}");
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
            assert!(!is_any_local(h), "{h}");
        }
    }

    #[test]
    fn hashes_follow_java() {
        // Inet4Address.hashCode is the address as a big-endian int.
        assert_eq!(inet_hash("127.1"), 0x7f00_0001);
        assert_eq!(inet_hash("127.1"), inet_hash("127.0.0.1"));
        // Inet6Address: sum of the four big-endian words of signed bytes;
        // the zone is not hashed.
        assert_eq!(inet_hash("::1"), 1);
        assert_eq!(inet_hash("fe80::1%eth0"), inet_hash("fe80::1"));
        // A name: String.hashCode of its lower-case form.
        assert_eq!(inet_hash("ab"), 97 * 31 + 98);
        assert_eq!(inet_hash("AB"), inet_hash("ab"));
    }
}
