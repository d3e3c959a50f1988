//! The decoder fuzzing shared by `tests/fuzz.rs` (a seeded loop in `cargo
//! test`) and the `cargo fuzz` target under `fuzz/`: valid encodings to
//! mutate, the mutator, and [`check`], which runs every public decoder of
//! `zkelect::wire` on one input and asserts what each promises. A decoder
//! that panics fails the caller's run (both treat a panic as a failure).

#![allow(dead_code)]

use zkelect::wire::{self, HandshakeError, HostPort, ProtocolVersion};
use zkelect::ServerState;

/// The most bytes any decoder may ask a stream reader for, so the most a
/// reader ever buffers for one message: the longest handshake, a full
/// frame with its length prefix.
pub fn stream_cap() -> usize {
    (20 + wire::MAX_ADDRESS_LEN).max(4 + wire::MAX_FRAME_LEN)
}

/// A source of randomness for the mutator (the simulators' splitmix64 in
/// `cargo test`, libFuzzer's bytes are not needed: it mutates by itself).
pub trait Bits {
    /// The next 64 random bits.
    fn bits(&mut self) -> u64;
    /// Uniform in `0..n` (0 when `n` is 0).
    fn upto(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.bits() % n as u64) as usize
        }
    }
}

fn hp(h: &str, p: u16) -> HostPort {
    HostPort {
        host: h.to_string(),
        port: p,
    }
}

/// Valid inputs the mutator starts from, so that mutations reach the deep
/// branches of every decoder: handshakes of each version (one with the
/// longest address), notification bodies of every length class, frames
/// and address texts.
pub fn seeds() -> Vec<Vec<u8>> {
    let cfg = b"server.1=127.0.0.1:2888:3888:participant\nserver.2=[::1]:2889:3889:observer\nversion=100000000";
    let long = "h".repeat(wire::MAX_ADDRESS_LEN - 2);
    let body = wire::encode_notification_body(ServerState::Looking, 1, 2, 3, 4, cfg);
    let mut v = vec![
        wire::encode_handshake(ProtocolVersion::V1, 3, &[hp("127.0.0.1", 3890)]),
        wire::encode_handshake(
            ProtocolVersion::V2,
            3,
            &[
                hp("10.0.0.3", 3888),
                hp("::1", 1),
                hp("0.0.0.0", 2),
                hp("fe80::1%eth0", 3),
            ],
        ),
        wire::encode_handshake(ProtocolVersion::V1, i64::MAX, &[hp(&long, 1)]),
        wire::encode_handshake(ProtocolVersion::Legacy, 2, &[]),
        body.clone(),
        wire::encode_notification_body(ServerState::Leading, 1, 2, 3, 4, &[]),
        wire::encode_notification_frame(ServerState::Following, 5, 6, 7, 8, cfg),
        wire::encode_frame(&body),
        body[..28].to_vec(),
        body[..40].to_vec(),
        b"[fe80::1%25eth0]:3888".to_vec(),
        b"::ffff:1.2.3.4:1|0:65535|[::]:0".to_vec(),
    ];
    // A handshake followed by a frame, as a connection sends them.
    let mut both = v[0].clone();
    both.extend_from_slice(&v[6]);
    v.push(both);
    v
}

/// Bytes worth planting: separators, sign and length boundaries.
const SPECIAL: &[u8] = b"|:[]%.+-0123456789\x00\x7f\x80\xff";

/// Ints worth planting where a length or a version goes.
const INTS: &[i32] = &[
    0,
    -1,
    -2,
    1,
    i32::MAX,
    i32::MIN,
    2047,
    2048,
    2049,
    28,
    40,
    44,
    524_287,
    524_288,
    524_289,
    -65536,
    -65535,
];

/// One to four random edits of `v`.
pub fn mutate(r: &mut impl Bits, mut v: Vec<u8>) -> Vec<u8> {
    for _ in 0..1 + r.upto(4) {
        match r.upto(8) {
            0 if !v.is_empty() => {
                let i = r.upto(v.len());
                v[i] = r.bits() as u8;
            }
            1 if !v.is_empty() => {
                let i = r.upto(v.len());
                v[i] = SPECIAL[r.upto(SPECIAL.len())];
            }
            2 => {
                let cut = r.upto(v.len() + 1);
                v.truncate(cut);
            }
            3 => {
                let i = r.upto(v.len() + 1);
                v.insert(i, SPECIAL[r.upto(SPECIAL.len())]);
            }
            4 if v.len() >= 4 => {
                // A boundary value over an aligned int (lengths and versions
                // sit at multiples of 4 in every format here).
                let i = r.upto(v.len() - 3) & !3;
                let x = INTS[r.upto(INTS.len())];
                v[i..i + 4].copy_from_slice(&x.to_be_bytes());
            }
            5 if !v.is_empty() => {
                // Repeat a slice (grows address lists, config text).
                let a = r.upto(v.len());
                let b = a + r.upto((v.len() - a).min(64) + 1);
                let piece = v[a..b].to_vec();
                let at = r.upto(v.len() + 1);
                v.splice(at..at, piece);
            }
            6 if v.len() >= 8 => {
                let i = r.upto(v.len() - 7);
                let x: i64 = match r.upto(3) {
                    0 => wire::PROTOCOL_V1,
                    1 => wire::PROTOCOL_V2,
                    _ => i64::MAX,
                };
                v[i..i + 8].copy_from_slice(&x.to_be_bytes());
            }
            _ => v.extend((0..r.upto(8)).map(|_| r.bits() as u8)),
        }
    }
    v
}

/// One fuzz input: random bytes (one in four), or a mutated seed.
pub fn input(r: &mut impl Bits, seeds: &[Vec<u8>]) -> Vec<u8> {
    if r.upto(4) == 0 {
        let len = r.upto(96);
        (0..len).map(|_| r.bits() as u8).collect()
    } else {
        let seed = seeds[r.upto(seeds.len())].clone();
        mutate(r, seed)
    }
}

/// Which decoders accepted the input (so a caller can check the mutator
/// reaches the success paths).
#[derive(Debug, Default, Clone, Copy)]
pub struct Accepted {
    /// V1 and V2 handshakes (any 8 bytes with a non-negative first long are
    /// a legacy one).
    pub handshake: u64,
    pub frame: u64,
    pub notification: u64,
    pub address: u64,
}

/// Runs each decoder call, so that a caller can measure it (the fuzz
/// test counts the bytes each call allocates; the `cargo fuzz` target
/// leaves that to libFuzzer's malloc limit).
pub trait Meter {
    /// Runs `f`, a call of decoder `what` on `len` input bytes.
    fn run<T>(&mut self, what: &'static str, len: usize, f: impl FnOnce() -> T) -> T;
}

/// A meter that only runs the call.
pub struct Unmetered;

impl Meter for Unmetered {
    fn run<T>(&mut self, _: &'static str, _: usize, f: impl FnOnce() -> T) -> T {
        f()
    }
}

/// Runs every public decoder on `input` and asserts their promises: bytes
/// used within the input, "need more" never beyond the caps, decoded
/// sizes within the input, and re-encoding what decoded gives it back.
pub fn check(input: &[u8], seen: &mut Accepted, m: &mut impl Meter) {
    let cap = stream_cap();
    match m.run("decode_handshake", input.len(), || {
        wire::decode_handshake(input)
    }) {
        Ok((hs, used)) => {
            if hs.version != ProtocolVersion::Legacy {
                seen.handshake += 1;
            }
            assert!(used <= input.len() && used <= 20 + wire::MAX_ADDRESS_LEN);
            let text: usize = hs.addresses.iter().map(|a| a.host.len()).sum();
            // Replacement characters can triple invalid bytes, never more.
            assert!(text <= 3 * used, "{text} bytes of hosts from {used}");
            // Re-encoded, it decodes to the same addresses, unless a host
            // holds a bracket: `[[]:1` gives host `[`, which renders as
            // `[:1` (as Java's formatInetAddr renders it), which no
            // acceptor parses (found by the `cargo fuzz` target).
            let bracket = hs.addresses.iter().any(|a| a.host.contains(['[', ']']));
            if hs.version != ProtocolVersion::Legacy && !hs.addresses.is_empty() && !bracket {
                let again = wire::encode_handshake(hs.version, hs.sid, &hs.addresses);
                if again.len() <= 20 + wire::MAX_ADDRESS_LEN {
                    let (back, _) = wire::decode_handshake(&again).expect("re-encoded handshake");
                    let show = |h: &wire::Handshake| -> Vec<String> {
                        h.addresses.iter().map(|a| a.to_string()).collect()
                    };
                    assert_eq!((back.version, back.sid), (hs.version, hs.sid));
                    assert_eq!(show(&back), show(&hs));
                }
            }
        }
        Err(HandshakeError::Incomplete { needed }) => {
            assert!(needed > input.len() && needed <= 20 + wire::MAX_ADDRESS_LEN);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match m.run("split_frame", input.len(), || wire::split_frame(input)) {
        Ok(Some((body, used))) => {
            seen.frame += 1;
            assert_eq!(used, 4 + body.len());
            assert!(used <= input.len() && body.len() <= wire::MAX_FRAME_LEN);
            assert_eq!(&input[4..used], body);
            check_notification(body, seen, m);
        }
        Ok(None) => {
            if let Some(p) = input.get(..4) {
                let n = wire::check_frame_len(i32::from_be_bytes([p[0], p[1], p[2], p[3]]))
                    .expect("a frame that waits for more has a valid length");
                assert!(input.len() < 4 + n && 4 + n <= cap);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    check_notification(input, seen, m);
    let text = String::from_utf8_lossy(input);
    for piece in text.split('|') {
        if let Ok(a) = m.run("HostPort::parse", piece.len(), || HostPort::parse(piece)) {
            seen.address += 1;
            let _ = a.is_wildcard();
            let shown = a.to_string();
            // What Java prints parses back (host text normalised), unless
            // the host itself holds a bracket, which no rendering escapes.
            if !a.host.contains(['[', ']']) {
                let back = HostPort::parse(&shown)
                    .unwrap_or_else(|e| panic!("{shown:?} (from {piece:?}) does not parse: {e}"));
                assert_eq!(back.port, a.port);
            }
        }
        m.run("java_host_string", piece.len(), || {
            wire::java_host_string(piece);
        });
    }
    if let Some(p) = input.get(..4) {
        let _ = wire::check_frame_len(i32::from_be_bytes([p[0], p[1], p[2], p[3]]));
    }
}

fn check_notification(body: &[u8], seen: &mut Accepted, m: &mut impl Meter) {
    match m.run("decode_notification", body.len(), || {
        wire::decode_notification(body)
    }) {
        Ok(n) => {
            seen.notification += 1;
            if let Some(c) = &n.config {
                assert!(44 + c.len() <= body.len());
            }
            let _ = n.server_state();
            // The version-2 re-encoding decodes to the same vote.
            let back = wire::decode_notification(&n.encode_body()).expect("re-encoded body");
            assert_eq!(
                (
                    back.state,
                    back.leader,
                    back.zxid,
                    back.election_epoch,
                    back.peer_epoch
                ),
                (n.state, n.leader, n.zxid, n.election_epoch, n.peer_epoch)
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
