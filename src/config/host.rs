//! Host strings as Java prints them.
//!
//! ZooKeeper renders an address with `InetSocketAddress.getHostString()`,
//! bracketed when it contains a colon. For IP literals that is Java's own
//! canonical text, not what was written: `127.1` prints as `127.0.0.1`, `::1`
//! as `0:0:0:0:0:0:0:1`, `::ffff:1.2.3.4` as `1.2.3.4`. Hostnames print as
//! written. The parsers below reproduce JDK 17's `IPAddressUtil`
//! (`textToNumericFormatV4/V6`) and `InetAddress.getAllByName` literal
//! handling, checked against the JDK on this machine.

/// A literal Java would accept, already reduced the way Java reduces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Literal {
    V4([u8; 4]),
    V6([u8; 16]),
}

/// How Java prints `host` (given without brackets) in a rendered config:
/// canonical text for IP literals, bracketed when it contains a colon;
/// anything else unchanged.
///
/// Scoped IPv6 literals: a numeric zone prints as `%<number>`; a named zone
/// (`%eth0`) depends on the local interfaces in Java, and we print it as
/// written, which is what Java does when the interface has no such address.
pub(crate) fn java_host(host: &str) -> String {
    let text = java_host_text(host);
    if text.contains(':') {
        format!("[{text}]")
    } else {
        text
    }
}

/// Whether `host` (the text between brackets) is an IPv6 literal Java accepts.
pub(crate) fn is_ipv6_literal(host: &str) -> bool {
    host.contains(':') && text_to_v6(host).is_some()
}

/// What `InetSocketAddress(host, port)` ends up holding, for literals.
enum Resolved {
    V4([u8; 4]),
    /// The address and a numeric zone.
    V6([u8; 16], Option<i32>),
    /// Not a literal Java accepts: kept as a (possibly resolvable) name.
    Name,
}

/// `InetAddress.getAllByName`'s literal handling: a host starting with a hex
/// digit or `:` is tried as IPv4, then IPv6.
fn resolve(host: &str) -> Resolved {
    let first = host.chars().next();
    if !first.is_some_and(|c| c.is_ascii_hexdigit() || c == ':') {
        return Resolved::Name;
    }
    if let Some(v4) = text_to_v4(host) {
        return Resolved::V4(v4);
    }
    let zone = host.find('%').map(|p| &host[p + 1..]);
    match (text_to_v6(host), zone) {
        (Some(Literal::V4(v4)), None) => Resolved::V4(v4),
        (Some(Literal::V6(v6)), None) => Resolved::V6(v6, None),
        (Some(Literal::V6(v6)), Some(z)) => match numeric_zone(z) {
            Some(n) => Resolved::V6(v6, Some(n)),
            None => Resolved::Name,
        },
        // Zoned IPv4-mapped literals and non-literals stay unresolved in
        // Java, which then prints the text as written.
        _ => Resolved::Name,
    }
}

fn java_host_text(host: &str) -> String {
    match resolve(host) {
        Resolved::V4(v4) => dotted(v4),
        Resolved::V6(v6, None) => uncompressed(&v6),
        Resolved::V6(v6, Some(zone)) => format!("{}%{zone}", uncompressed(&v6)),
        Resolved::Name => host.to_string(),
    }
}

/// `InetAddress.hashCode()` of the address Java builds for `host`, which
/// decides the order of equal host strings in a multi-address list. Names
/// are taken as unresolved (`hostname.toLowerCase().hashCode()`): a
/// resolved name would hash its IP address, which depends on DNS.
pub(crate) fn java_inet_hash(host: &str) -> i32 {
    match resolve(host) {
        Resolved::V4(v4) => i32::from_be_bytes(v4),
        Resolved::V6(v6, _) => v6.chunks(4).fold(0i32, |hash, chunk| {
            // Java adds *signed* bytes here.
            let component = chunk.iter().fold(0i32, |c, b| {
                c.wrapping_shl(8).wrapping_add(i32::from(*b as i8))
            });
            hash.wrapping_add(component)
        }),
        Resolved::Name => host
            .to_lowercase()
            .encode_utf16()
            .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u))),
    }
}

fn dotted(a: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

/// `Inet6Address.getHostAddress` without the zone: eight lower-case hex
/// groups without leading zeros, never `::`-compressed.
fn uncompressed(a: &[u8; 16]) -> String {
    let groups: Vec<String> = a
        .chunks(2)
        .map(|g| format!("{:x}", u16::from_be_bytes([g[0], g[1]])))
        .collect();
    groups.join(":")
}

/// `InetAddress.checkNumericZone`: all-digit zone as Java's int (wrapping).
fn numeric_zone(zone: &str) -> Option<i32> {
    if zone.is_empty() || !zone.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(zone.bytes().fold(0i32, |z, b| {
        z.wrapping_mul(10).wrapping_add(i32::from(b - b'0'))
    }))
}

/// `IPAddressUtil.textToNumericFormatV4`: one to four dot-separated decimal
/// parts, the last filling the remaining bytes (`127.1` = `127.0.0.1`),
/// at most 15 chars.
fn text_to_v4(src: &str) -> Option<[u8; 4]> {
    if src.is_empty() || src.len() > 15 {
        return None;
    }
    let mut res = [0u8; 4];
    let mut value: u64 = 0;
    let mut byte = 0usize;
    let mut new_octet = true;
    for c in src.chars() {
        if c == '.' {
            if new_octet || value > 0xff || byte == 3 {
                return None;
            }
            res[byte] = value as u8;
            byte += 1;
            value = 0;
            new_octet = true;
        } else {
            let d = c.to_digit(10)?;
            value = value * 10 + u64::from(d);
            new_octet = false;
        }
    }
    if new_octet || value >= 1u64 << ((4 - byte) * 8) {
        return None;
    }
    let tail = value.to_be_bytes();
    res[byte..].copy_from_slice(&tail[8 - (4 - byte)..]);
    Some(res)
}

/// `IPAddressUtil.textToNumericFormatV6`, including the embedded dotted quad
/// and the reduction of IPv4-mapped addresses to IPv4. A `%zone` suffix is
/// ignored here.
fn text_to_v6(src: &str) -> Option<Literal> {
    let s: Vec<char> = src.chars().collect();
    if s.len() < 2 {
        return None;
    }
    let mut end = s.len();
    if let Some(pc) = s.iter().position(|c| *c == '%') {
        if pc == s.len() - 1 {
            return None;
        }
        end = pc;
    }
    let mut dst = [0u8; 16];
    let mut colonp: Option<usize> = None;
    let mut i = 0;
    let mut j = 0;
    if s[0] == ':' {
        i += 1;
        if s.get(i) != Some(&':') {
            return None;
        }
    }
    let mut curtok = i;
    let mut saw_xdigit = false;
    let mut val: u32 = 0;
    while i < end {
        let ch = s[i];
        i += 1;
        if let Some(d) = ch.to_digit(16) {
            val = (val << 4) | d;
            if val > 0xffff {
                return None;
            }
            saw_xdigit = true;
            continue;
        }
        if ch == ':' {
            curtok = i;
            if !saw_xdigit {
                if colonp.is_some() {
                    return None;
                }
                colonp = Some(j);
                continue;
            } else if i == end {
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
        if ch == '.' && j + 4 <= 16 {
            let ia4: String = s[curtok..end].iter().collect();
            if ia4.matches('.').count() != 3 {
                return None;
            }
            let v4 = text_to_v4(&ia4)?;
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
    if dst[..10].iter().all(|b| *b == 0) && dst[10] == 0xff && dst[11] == 0xff {
        return Some(Literal::V4([dst[12], dst[13], dst[14], dst[15]]));
    }
    Some(Literal::V6(dst))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values printed by `new InetSocketAddress(h, 1).getHostString()`
    /// on OpenJDK 17.0.15 (plus ZooKeeper's bracketing).
    #[test]
    fn java_host_matches_the_jdk() {
        for (input, java) in [
            ("127.0.0.1", "127.0.0.1"),
            ("127.1", "127.0.0.1"),
            ("0127.0.0.1", "127.0.0.1"),
            ("127.000.000.001", "127.0.0.1"),
            ("10.1.258", "10.1.1.2"),
            ("1", "0.0.0.1"),
            ("::1", "[0:0:0:0:0:0:0:1]"),
            ("::ffff:1.2.3.4", "1.2.3.4"),
            ("::1.2.3.4", "[0:0:0:0:0:0:102:304]"),
            ("::01.2.3.4", "[0:0:0:0:0:0:102:304]"),
            ("00000001::", "[1:0:0:0:0:0:0:0]"),
            ("1::ABCD", "[1:0:0:0:0:0:0:abcd]"),
            ("fe80::1%1", "[fe80:0:0:0:0:0:0:1%1]"),
            ("fe80::1%lo", "[fe80::1%lo]"),
            ("::ffff:1.2.3.4%1", "[::ffff:1.2.3.4%1]"),
            ("0x7f.1", "0x7f.1"),
            ("1.2.3.4.5", "1.2.3.4.5"),
            ("256.1.1.1", "256.1.1.1"),
            ("example.com", "example.com"),
            ("Example.COM", "Example.COM"),
            (
                "2001:db8::8:800:200c:417a",
                "[2001:db8:0:0:8:800:200c:417a]",
            ),
            ("1:2:3:4:5:6:7:8", "[1:2:3:4:5:6:7:8]"),
        ] {
            assert_eq!(java_host(input), java, "input {input}");
        }
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
}
