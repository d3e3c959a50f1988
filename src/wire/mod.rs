//! The election wire format, as pure encode/decode functions (spec 2.3, 2.6, 3):
//! the handshake an initiator sends, the length-prefixed frames that follow,
//! and the notification body they carry. All integers are big-endian two's
//! complement, as Java's `DataOutputStream` / `ByteBuffer` write them.
//!
//! Nothing here does I/O or keeps time; decoders take byte slices, never
//! panic on any input, and report "need more bytes" as a value so a socket
//! reader can call them again as data arrives. What they ask for is capped
//! before it is asked for: a handshake needs at most 20 +
//! [`MAX_ADDRESS_LEN`] bytes, a frame 4 + [`MAX_FRAME_LEN`]; a length
//! beyond its cap is an error at once,
//! so a reader never buffers more than that for one message, and decoders
//! allocate no more than their input (`tests/fuzz.rs` checks both).

mod frame;
mod handshake;
mod hostport;
mod notification;

pub use frame::{check_frame_len, encode_frame, split_frame, FrameError};
pub use handshake::{
    decode_handshake, encode_handshake, Handshake, HandshakeError, ProtocolVersion,
};
pub use hostport::{java_host_string, AddressError, HostPort};
pub use notification::{
    decode_notification, encode_notification_body, encode_notification_body_v1,
    encode_notification_frame, Notification, NotificationError,
};

/// Handshake protocol version 1 (single advertised address), the first long.
pub const PROTOCOL_V1: i64 = -65536;
/// Handshake protocol version 2 (`|`-separated addresses, multi-address mode).
pub const PROTOCOL_V2: i64 = -65535;
/// Largest advertised-address length a 3.8 acceptor takes.
pub const MAX_ADDRESS_LEN: usize = 2048;
/// Largest frame body a 3.8 receiver takes (512 KiB).
pub const MAX_FRAME_LEN: usize = 524288;
/// The notification format version 3.8 sends.
pub const NOTIFICATION_VERSION: i32 = 2;

#[cfg(test)]
pub(crate) mod testutil {
    /// Hex text to bytes; whitespace is ignored so vectors can be pasted as
    /// printed in the spec.
    pub fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .map(|b| (b as char).to_digit(16).expect("hex digit") as u8)
            .collect();
        assert!(digits.len() % 2 == 0, "odd number of hex digits");
        digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: deterministic, dependency-free randomness for the fuzz test.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Valid inputs the mutator starts from, so mutations reach deep branches.
    fn seeds() -> Vec<Vec<u8>> {
        let hp = |h: &str, p| HostPort {
            host: h.to_string(),
            port: p,
        };
        let cfg = b"server.1=127.0.0.1:2888:3888:participant\nversion=0";
        vec![
            encode_handshake(ProtocolVersion::V1, 3, &[hp("127.0.0.1", 3890)]),
            encode_handshake(
                ProtocolVersion::V2,
                3,
                &[hp("10.0.0.3", 3888), hp("::1", 1), hp("0.0.0.0", 2)],
            ),
            encode_handshake(ProtocolVersion::Legacy, 2, &[]),
            encode_notification_body(crate::ServerState::Looking, 1, 2, 3, 4, cfg),
            encode_notification_body(crate::ServerState::Leading, 1, 2, 3, 4, &[]),
            testutil::hex(
                "00000001 0000000000000001 0000000000000000 0000000000000001 0000000000000000 00000001",
            ),
            testutil::hex("00000000 0000000000000002 0000000200000010 0000000000000005"),
        ]
    }

    fn mutate(rng: &mut Rng, mut v: Vec<u8>) -> Vec<u8> {
        // Interesting bytes: separators and sign/length boundaries.
        const SPECIAL: &[u8] = b"|:[]%.0123456789\x00\x7f\x80\xff";
        for _ in 0..1 + rng.below(4) {
            match rng.below(6) {
                0 if !v.is_empty() => {
                    let i = rng.below(v.len());
                    v[i] = rng.next() as u8;
                }
                1 if !v.is_empty() => {
                    let i = rng.below(v.len());
                    v[i] = SPECIAL[rng.below(SPECIAL.len())];
                }
                2 => {
                    let cut = rng.below(v.len() + 1);
                    v.truncate(cut);
                }
                3 => {
                    let i = rng.below(v.len() + 1);
                    v.insert(i, SPECIAL[rng.below(SPECIAL.len())]);
                }
                4 if v.len() >= 4 => {
                    // Overwrite an aligned int with a boundary value.
                    let i = rng.below(v.len() - 3) & !3;
                    let vals = [0i32, -1, 1, i32::MAX, i32::MIN, 2048, 2049, 44, 28, 40];
                    let x = vals[rng.below(vals.len())];
                    v[i..i + 4].copy_from_slice(&x.to_be_bytes());
                }
                _ => v.extend((0..rng.below(8)).map(|_| rng.next() as u8)),
            }
        }
        v
    }

    #[test]
    fn fuzz_decoders_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let seeds = seeds();
        let mut ok = [0usize; 3];
        for round in 0..300_000 {
            let input = if round % 4 == 0 {
                let len = rng.below(80);
                (0..len).map(|_| rng.next() as u8).collect()
            } else {
                let seed = seeds[rng.below(seeds.len())].clone();
                mutate(&mut rng, seed)
            };
            if let Ok((hs, used)) = decode_handshake(&input) {
                ok[0] += 1;
                assert!(used <= input.len());
                // What decodes re-encodes to something that decodes to the same
                // rendered addresses (IPv6 text is normalised on the way).
                if hs.version != ProtocolVersion::Legacy && !hs.addresses.is_empty() {
                    let again = encode_handshake(hs.version, hs.sid, &hs.addresses);
                    if again.len() <= 20 + MAX_ADDRESS_LEN {
                        let (back, _) = decode_handshake(&again).unwrap();
                        let show = |h: &Handshake| -> Vec<String> {
                            h.addresses.iter().map(|a| a.to_string()).collect()
                        };
                        assert_eq!((back.version, back.sid), (hs.version, hs.sid));
                        assert_eq!(show(&back), show(&hs));
                    }
                }
            }
            if let Ok(n) = decode_notification(&input) {
                ok[1] += 1;
                if let Some(c) = &n.config {
                    assert!(c.len() <= input.len());
                }
            }
            if split_frame(&input).is_ok() {
                ok[2] += 1;
            }
            let text = String::from_utf8_lossy(&input);
            if let Ok(hp) = HostPort::parse(&text) {
                let _ = hp.is_wildcard();
                let _ = hp.to_string();
            }
        }
        // The mutator must actually reach the success paths, or the test is weak.
        assert!(ok.iter().all(|&n| n > 1000), "{ok:?}");
    }

    #[test]
    fn constants_match_spec() {
        assert_eq!(
            PROTOCOL_V1.to_be_bytes(),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0]
        );
        assert_eq!(
            PROTOCOL_V2.to_be_bytes(),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1]
        );
        assert_eq!(MAX_FRAME_LEN, 512 * 1024);
    }
}
