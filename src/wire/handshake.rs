//! The handshake an initiator sends right after connecting (spec 2.3).
//!
//! Over 500 lines only with its unit tests (the code is under 200).

use std::fmt;

use super::frame::{read_i32, read_i64};
use super::hostport::{checked_port, split_host_port, HostPort};
use super::{MAX_ADDRESS_LEN, PROTOCOL_V1, PROTOCOL_V2};
use crate::javatext::{self, inet};
use crate::types::Sid;

/// Which handshake form a connection opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolVersion {
    /// Pre-3.5: the first long is the (non-negative) sid, nothing else follows.
    Legacy,
    /// `-65536`: one advertised election address (what 3.8 sends by default).
    V1,
    /// `-65535`: `|`-separated addresses (3.8 with `multiAddress.enabled=true`).
    V2,
}

impl ProtocolVersion {
    /// The version long on the wire; `None` for the legacy form, which has none.
    pub fn wire_value(self) -> Option<i64> {
        match self {
            ProtocolVersion::Legacy => None,
            ProtocolVersion::V1 => Some(PROTOCOL_V1),
            ProtocolVersion::V2 => Some(PROTOCOL_V2),
        }
    }
}

/// A decoded handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The form the peer used.
    pub version: ProtocolVersion,
    /// The sender's sid, unvalidated (it may be any value, including
    /// `i64::MAX`, the legacy observer placeholder of spec 2.3 step 6).
    pub sid: Sid,
    /// The advertised election addresses that survived parsing, in the order
    /// sent; wildcard addresses are dropped. Empty for [`ProtocolVersion::Legacy`],
    /// and when nothing usable was advertised (then the configured address is
    /// the one to use).
    pub addresses: Vec<HostPort>,
}

/// Why a handshake cannot be decoded (yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The buffer ends early. `needed` is the total length known so far to be
    /// required: 8, then 20, then 20 + address length. Note that a 3.8
    /// acceptor reads the address with a single `read()`, so a peer that does
    /// not send the whole handshake in one write may be rejected by it.
    Incomplete {
        /// Total bytes needed from the start of the stream.
        needed: usize,
    },
    /// The first long is negative but neither [`PROTOCOL_V1`] nor [`PROTOCOL_V2`].
    UnknownVersion(i64),
    /// The address length is `<= 0` or larger than [`MAX_ADDRESS_LEN`].
    BadAddressLength(i32),
    /// An address piece is badly formed or has a bad or out-of-range port.
    BadAddress {
        /// The offending piece (one `|`-separated element).
        text: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Incomplete { needed } => {
                write!(f, "incomplete handshake: {needed} bytes needed")
            }
            HandshakeError::UnknownVersion(v) => write!(
                f,
                "unrecognized handshake protocol version {v} (expected {PROTOCOL_V1} or {PROTOCOL_V2})"
            ),
            HandshakeError::BadAddressLength(len) => write!(
                f,
                "unreasonable handshake address length {len} (must be 1..={MAX_ADDRESS_LEN})"
            ),
            HandshakeError::BadAddress { text, reason } => {
                write!(f, "bad address {text:?} in handshake: {reason}")
            }
        }
    }
}

impl std::error::Error for HandshakeError {}

/// Encodes a handshake. V1/V2: version, sid, address length, then the
/// addresses in their [`fmt::Display`] form joined by `|` (8+8+4+L bytes).
/// Legacy: just the 8-byte sid.
///
/// Nothing is validated: an empty address list or more than
/// [`MAX_ADDRESS_LEN`] bytes of text makes a handshake ZooKeeper rejects.
/// Send the result with a single write (see [`HandshakeError::Incomplete`]).
pub fn encode_handshake(version: ProtocolVersion, sid: Sid, addresses: &[HostPort]) -> Vec<u8> {
    let Some(v) = version.wire_value() else {
        return sid.to_be_bytes().to_vec();
    };
    let text = addresses
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join("|");
    let mut out = Vec::with_capacity(20 + text.len());
    out.extend_from_slice(&v.to_be_bytes());
    out.extend_from_slice(&sid.to_be_bytes());
    out.extend_from_slice(&(text.len() as u32).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

/// Decodes a handshake from a buffer holding the start of a stream, with the
/// rules of a 3.8 acceptor (`InitialMessage.parse`). Returns the handshake and
/// the number of bytes it took; frames may follow.
///
/// The address text is decoded as UTF-8 with replacement characters, as Java's
/// `new String(bytes, UTF_8)` does, then split on `|` (for V1 as well as V2).
/// Empty trailing pieces vanish (Java's split), wildcard hosts are dropped, and
/// the first badly formed piece fails the whole handshake.
pub fn decode_handshake(buf: &[u8]) -> Result<(Handshake, usize), HandshakeError> {
    let first = read_i64(buf, 0).ok_or(HandshakeError::Incomplete { needed: 8 })?;
    if first >= 0 {
        let hs = Handshake {
            version: ProtocolVersion::Legacy,
            sid: first,
            addresses: Vec::new(),
        };
        return Ok((hs, 8));
    }
    let version = match first {
        PROTOCOL_V1 => ProtocolVersion::V1,
        PROTOCOL_V2 => ProtocolVersion::V2,
        other => return Err(HandshakeError::UnknownVersion(other)),
    };
    let incomplete20 = HandshakeError::Incomplete { needed: 20 };
    let sid = read_i64(buf, 8).ok_or(incomplete20.clone())?;
    let len = read_i32(buf, 16).ok_or(incomplete20)?;
    let n = match usize::try_from(len) {
        Ok(n) if (1..=MAX_ADDRESS_LEN).contains(&n) => n,
        _ => return Err(HandshakeError::BadAddressLength(len)),
    };
    let total = 20 + n;
    let raw = buf
        .get(20..total)
        .ok_or(HandshakeError::Incomplete { needed: total })?;
    let text = String::from_utf8_lossy(raw);
    let addresses = parse_address_list(&text)?;
    Ok((
        Handshake {
            version,
            sid,
            addresses,
        },
        total,
    ))
}

fn parse_address_list(text: &str) -> Result<Vec<HostPort>, HandshakeError> {
    let mut out = Vec::new();
    for piece in javatext::split(text, '|') {
        let bad = |e: super::AddressError| HandshakeError::BadAddress {
            text: piece.to_string(),
            reason: e.reason(),
        };
        let (host, port) = split_host_port(piece).map_err(bad)?;
        // Java drops wildcards before it builds the socket address, so a
        // wildcard with an out-of-range port is dropped, not an error.
        if inet::is_any_local(host) {
            continue;
        }
        let port = checked_port(piece, port).map_err(bad)?;
        out.push(HostPort {
            host: host.to_string(),
            port,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::hex;

    fn hp(host: &str, port: u16) -> HostPort {
        HostPort {
            host: host.to_string(),
            port,
        }
    }

    /// Builds a V1 handshake around arbitrary address bytes.
    fn v1_with(addr: &[u8]) -> Vec<u8> {
        let mut v = hex("ffffffffffff0000 0000000000000007");
        v.extend_from_slice(&(addr.len() as u32).to_be_bytes());
        v.extend_from_slice(addr);
        v
    }

    #[test]
    fn tv1_v1_handshake_sid3_ipv4() {
        let bytes = hex("ffffffffffff0000 0000000000000003 0000000e 3132372e302e302e313a33383930");
        assert_eq!(bytes.len(), 34);
        let enc = encode_handshake(ProtocolVersion::V1, 3, &[hp("127.0.0.1", 3890)]);
        assert_eq!(enc, bytes);
        let (hs, used) = decode_handshake(&bytes).unwrap();
        assert_eq!(used, 34);
        assert_eq!(
            hs,
            Handshake {
                version: ProtocolVersion::V1,
                sid: 3,
                addresses: vec![hp("127.0.0.1", 3890)],
            }
        );
    }

    #[test]
    fn tv2_v2_handshake_two_addresses() {
        let bytes = hex("ffffffffffff0001 0000000000000003 0000001e
             31302e302e302e333a33383838 7c 3139322e3136382e312e333a33383838");
        assert_eq!(bytes.len(), 50);
        let addrs = [hp("10.0.0.3", 3888), hp("192.168.1.3", 3888)];
        assert_eq!(encode_handshake(ProtocolVersion::V2, 3, &addrs), bytes);
        let (hs, used) = decode_handshake(&bytes).unwrap();
        assert_eq!(used, 50);
        assert_eq!(hs.version, ProtocolVersion::V2);
        assert_eq!(hs.sid, 3);
        assert_eq!(hs.addresses, addrs);
    }

    #[test]
    fn tv3_legacy_handshake_sid2() {
        let bytes = hex("0000000000000002");
        assert_eq!(encode_handshake(ProtocolVersion::Legacy, 2, &[]), bytes);
        // Frames follow immediately; only the 8 sid bytes are consumed.
        let mut stream = bytes.clone();
        stream.extend_from_slice(&hex("0000002c"));
        let (hs, used) = decode_handshake(&stream).unwrap();
        assert_eq!(used, 8);
        assert_eq!(
            hs,
            Handshake {
                version: ProtocolVersion::Legacy,
                sid: 2,
                addresses: vec![],
            }
        );
        // The legacy observer placeholder sid is passed through untouched.
        let (hs, _) = decode_handshake(&i64::MAX.to_be_bytes()).unwrap();
        assert_eq!(hs.sid, i64::MAX);
    }

    #[test]
    fn tv4_v1_handshake_ipv6_loopback() {
        let bytes = hex("ffffffffffff0000 0000000000000001 00000016
             5b 30 3a 30 3a 30 3a 30 3a 30 3a 30 3a 30 3a 31 5d 3a 33 38 38 38");
        assert_eq!(bytes.len(), 42);
        assert_eq!(
            encode_handshake(ProtocolVersion::V1, 1, &[hp("::1", 3888)]),
            bytes
        );
        let (hs, used) = decode_handshake(&bytes).unwrap();
        assert_eq!(used, 42);
        assert_eq!(hs.addresses, vec![hp("0:0:0:0:0:0:0:1", 3888)]);
    }

    #[test]
    fn captured_vector1_handshake_sid2() {
        let bytes = hex("ff ff ff ff ff ff 00 00 00 00 00 00 00 00 00 02
             00 00 00 0f 31 32 37 2e 30 2e 30 2e 31 3a 32 33
             32 30 32");
        assert_eq!(bytes.len(), 35);
        assert_eq!(
            encode_handshake(ProtocolVersion::V1, 2, &[hp("127.0.0.1", 23202)]),
            bytes
        );
        let (hs, used) = decode_handshake(&bytes).unwrap();
        assert_eq!(used, 35);
        assert_eq!(hs.sid, 2);
        assert_eq!(hs.version, ProtocolVersion::V1);
        assert_eq!(hs.addresses, vec![hp("127.0.0.1", 23202)]);
    }

    #[test]
    fn captured_vector6_lower_sid_poke_is_vector1() {
        // A poke is the same 35 bytes, then FIN; decode must not need more.
        let bytes =
            hex("ffffffffffff0000 0000000000000002 0000000f 3132372e302e302e313a3233323032");
        let (hs, used) = decode_handshake(&bytes).unwrap();
        assert_eq!((hs.sid, used), (2, bytes.len()));
        // The dial-back target is sid 3's own advertised address.
        let back = encode_handshake(ProtocolVersion::V1, 3, &[hp("127.0.0.1", 23203)]);
        assert_eq!(
            back,
            hex("ffffffffffff0000 0000000000000003 0000000f 3132372e302e302e313a3233323033")
        );
    }

    #[test]
    fn incomplete_reports_needed_bytes() {
        let bytes = hex("ffffffffffff0000 0000000000000003 0000000e 3132372e302e302e313a33383930");
        for cut in 0..bytes.len() {
            let needed = match cut {
                0..=7 => 8,
                8..=19 => 20,
                _ => 34,
            };
            assert_eq!(
                decode_handshake(&bytes[..cut]),
                Err(HandshakeError::Incomplete { needed }),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn tv11_unknown_version_closes() {
        let bytes = (-65530i64).to_be_bytes();
        assert_eq!(
            decode_handshake(&bytes),
            Err(HandshakeError::UnknownVersion(-65530))
        );
        assert_eq!(
            decode_handshake(&i64::MIN.to_be_bytes()),
            Err(HandshakeError::UnknownVersion(i64::MIN))
        );
        let msg = HandshakeError::UnknownVersion(-65530).to_string();
        assert!(msg.contains("-65530"), "{msg}");
    }

    #[test]
    fn tv11_bad_address_length_closes() {
        for len in [0i32, -1, 2049, i32::MAX, i32::MIN] {
            let mut b = hex("ffffffffffff0000 0000000000000003");
            b.extend_from_slice(&len.to_be_bytes());
            assert_eq!(
                decode_handshake(&b),
                Err(HandshakeError::BadAddressLength(len)),
                "len {len}"
            );
        }
        // 2048 is the largest allowed length.
        let mut b = hex("ffffffffffff0000 0000000000000003 00000800");
        assert_eq!(
            decode_handshake(&b),
            Err(HandshakeError::Incomplete { needed: 2068 })
        );
        let mut addr = "h:1|".repeat(512).into_bytes();
        addr.truncate(2048);
        b.extend_from_slice(&addr);
        let (hs, used) = decode_handshake(&b).unwrap();
        assert_eq!(used, 2068);
        assert_eq!(hs.addresses.len(), 512);
    }

    #[test]
    fn tv11_badly_formed_address_closes() {
        let b = v1_with(b"what's going on here?");
        match decode_handshake(&b) {
            Err(HandshakeError::BadAddress { text, reason }) => {
                assert_eq!(text, "what's going on here?");
                assert_eq!(reason, "badly formed: expected host:port");
            }
            other => panic!("{other:?}"),
        }
        let e = decode_handshake(&b).unwrap_err().to_string();
        assert_eq!(
            e,
            "bad address \"what's going on here?\" in handshake: badly formed: expected host:port"
        );
        let e = decode_handshake(&v1_with(b"h:70000"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "bad address \"h:70000\" in handshake: port 70000 out of range 0..=65535"
        );
    }

    #[test]
    fn bad_pieces_fail_whole_handshake() {
        for (addr, piece) in [
            (&b"127.0.0.1:3888|bogus"[..], "bogus"),
            (b"a:1|b:x", "b:x"),
            (b"a:1|b:65536", "b:65536"),
            (b"a:1|b:-1", "b:-1"),
            (b"::1:3888", "::1:3888"),
            (b"|a:1", ""),
            (b"a:1||b:2", ""),
            (b"[::1:3888", "[::1:3888"),
        ] {
            match decode_handshake(&v1_with(addr)) {
                Err(HandshakeError::BadAddress { text, .. }) => assert_eq!(text, piece),
                other => panic!("{:?} -> {other:?}", String::from_utf8_lossy(addr)),
            }
        }
    }

    #[test]
    fn wildcards_are_dropped() {
        let (hs, _) = decode_handshake(&v1_with(b"0.0.0.0:3888")).unwrap();
        assert_eq!(hs.addresses, vec![]);
        let (hs, _) = decode_handshake(&v1_with(b"[::]:3888")).unwrap();
        assert_eq!(hs.addresses, vec![]);
        let (hs, _) =
            decode_handshake(&v1_with(b"0.0.0.0:1|10.0.0.3:3888|[0:0:0:0:0:0:0:0]:2")).unwrap();
        assert_eq!(hs.addresses, vec![hp("10.0.0.3", 3888)]);
        // Java never range-checks a wildcard's port, but the port must be an int.
        let (hs, _) = decode_handshake(&v1_with(b"0.0.0.0:99999|h:1")).unwrap();
        assert_eq!(hs.addresses, vec![hp("h", 1)]);
        assert!(matches!(
            decode_handshake(&v1_with(b"0.0.0.0:x")),
            Err(HandshakeError::BadAddress { .. })
        ));
    }

    #[test]
    fn empty_pieces_follow_java_split() {
        // Trailing empty pieces vanish; only separators means no address at all.
        let (hs, _) = decode_handshake(&v1_with(b"h:1|")).unwrap();
        assert_eq!(hs.addresses, vec![hp("h", 1)]);
        let (hs, _) = decode_handshake(&v1_with(b"|||")).unwrap();
        assert_eq!(hs.addresses, vec![]);
        assert!(decode_handshake(&v1_with(b":")).is_err());
    }

    #[test]
    fn v1_is_split_on_pipe_too() {
        let (hs, _) = decode_handshake(&v1_with(b"a:1|b:2")).unwrap();
        assert_eq!(hs.version, ProtocolVersion::V1);
        assert_eq!(hs.addresses, vec![hp("a", 1), hp("b", 2)]);
    }

    #[test]
    fn invalid_utf8_is_replaced_like_java() {
        let (hs, _) = decode_handshake(&v1_with(b"h\xff:1")).unwrap();
        assert_eq!(hs.addresses, vec![hp("h\u{fffd}", 1)]);
        assert!(matches!(
            decode_handshake(&v1_with(b"h:1\xff")),
            Err(HandshakeError::BadAddress { .. })
        ));
    }

    #[test]
    fn trailing_bytes_are_not_consumed() {
        let mut b = encode_handshake(ProtocolVersion::V1, 9, &[hp("zk9", 3888)]);
        let hs_len = b.len();
        b.extend_from_slice(&hex("000000b6 00000000"));
        let (hs, used) = decode_handshake(&b).unwrap();
        assert_eq!(used, hs_len);
        assert_eq!(hs.addresses, vec![hp("zk9", 3888)]);
    }

    #[test]
    fn round_trips() {
        let cases: Vec<(ProtocolVersion, Sid, Vec<HostPort>)> = vec![
            (ProtocolVersion::V1, 1, vec![hp("127.0.0.1", 3888)]),
            (ProtocolVersion::V1, -5, vec![hp("zk1.example.com", 0)]),
            (
                ProtocolVersion::V1,
                i64::MAX,
                vec![hp("0:0:0:0:0:0:0:1", 65535)],
            ),
            (
                ProtocolVersion::V2,
                i64::MIN,
                vec![hp("a", 1), hp("fe80:0:0:0:0:0:0:1%eth0", 2), hp("b", 3)],
            ),
            (ProtocolVersion::Legacy, 0, vec![]),
            (ProtocolVersion::Legacy, i64::MAX, vec![]),
        ];
        for (v, sid, addrs) in cases {
            let enc = encode_handshake(v, sid, &addrs);
            let (hs, used) = decode_handshake(&enc).unwrap();
            assert_eq!(used, enc.len());
            assert_eq!(
                hs,
                Handshake {
                    version: v,
                    sid,
                    addresses: addrs
                }
            );
        }
    }

    #[test]
    fn error_messages_are_readable() {
        assert_eq!(
            HandshakeError::BadAddressLength(0).to_string(),
            "unreasonable handshake address length 0 (must be 1..=2048)"
        );
        assert_eq!(
            HandshakeError::Incomplete { needed: 20 }.to_string(),
            "incomplete handshake: 20 bytes needed"
        );
    }
}
