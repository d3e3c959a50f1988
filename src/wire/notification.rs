//! The FLE notification body (spec 3.1, 3.2).
//!
//! Over 500 lines only with its unit tests (the code is about 250).

use std::fmt;

use super::frame::{encode_frame, read_i32, read_i64};
use super::NOTIFICATION_VERSION;
use crate::types::{ServerState, Sid};

/// A decoded notification body. The sender's sid is not in the body; it comes
/// from the connection's handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Raw state ordinal. Not validated here: ZooKeeper decides what to do with
    /// an unknown state only after checking the sender (use
    /// [`ServerState::from_i32`]).
    pub state: i32,
    /// Proposed or believed leader.
    pub leader: Sid,
    /// The proposed leader's zxid as known to the sender.
    pub zxid: i64,
    /// The sender's round (logicalclock) or the round of its current vote.
    pub election_epoch: i64,
    /// The proposed leader's epoch; derived as `zxid >> 32` for 28-byte bodies.
    pub peer_epoch: i64,
    /// Format version: 0 for 28- and 40-byte bodies, otherwise as read.
    pub version: i32,
    /// The config text bytes; `Some` only for bodies with `version > 1`
    /// (possibly empty), `None` otherwise.
    pub config: Option<Vec<u8>>,
}

/// Why a body is dropped. ZooKeeper logs and ignores such a message; the
/// connection stays up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationError {
    /// Fewer than 28 bytes.
    TooShort(usize),
    /// The body ends inside a field.
    Underflow {
        /// Body length.
        len: usize,
        /// The field being read.
        reading: &'static str,
    },
    /// The config length is negative or larger than the whole body.
    BadConfigLength {
        /// The config length as sent.
        config_len: i32,
        /// Body length.
        body_len: usize,
    },
}

impl fmt::Display for NotificationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotificationError::TooShort(len) => write!(
                f,
                "notification too short: {len} bytes (at least 28 needed); dropped"
            ),
            NotificationError::Underflow { len, reading } => write!(
                f,
                "malformed {len}-byte notification: body ends while reading {reading}; dropped"
            ),
            NotificationError::BadConfigLength {
                config_len,
                body_len,
            } => write!(
                f,
                "invalid config length {config_len} in {body_len}-byte notification; dropped"
            ),
        }
    }
}

impl std::error::Error for NotificationError {}

impl Notification {
    /// Encodes a version-2 body (44 bytes + config), without the frame
    /// length. Always writes [`NOTIFICATION_VERSION`] and a config length,
    /// whatever `self.version` says, because that is the only format 3.8
    /// sends; a `None` config is written as an empty one.
    pub fn encode_body(&self) -> Vec<u8> {
        encode_body_raw(
            self.state,
            self.leader,
            self.zxid,
            self.election_epoch,
            self.peer_epoch,
            self.config.as_deref().unwrap_or(&[]),
        )
    }

    /// The state as a [`ServerState`], `None` if the ordinal is unknown.
    pub fn server_state(&self) -> Option<ServerState> {
        ServerState::from_i32(self.state)
    }
}

/// The 36 bytes every body format starts with: state, leader, zxid,
/// election epoch and peer epoch.
fn put_vote(
    out: &mut Vec<u8>,
    state: i32,
    leader: Sid,
    zxid: i64,
    election_epoch: i64,
    peer_epoch: i64,
) {
    out.extend_from_slice(&state.to_be_bytes());
    out.extend_from_slice(&leader.to_be_bytes());
    out.extend_from_slice(&zxid.to_be_bytes());
    out.extend_from_slice(&election_epoch.to_be_bytes());
    out.extend_from_slice(&peer_epoch.to_be_bytes());
}

fn encode_body_raw(
    state: i32,
    leader: Sid,
    zxid: i64,
    election_epoch: i64,
    peer_epoch: i64,
    config: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(44 + config.len());
    put_vote(&mut out, state, leader, zxid, election_epoch, peer_epoch);
    out.extend_from_slice(&NOTIFICATION_VERSION.to_be_bytes());
    out.extend_from_slice(&(config.len() as u32).to_be_bytes());
    out.extend_from_slice(config);
    out
}

/// Encodes a version-2 notification body (44 + `config.len()` bytes).
///
/// The config should be the ensemble's exact committed config text (spec
/// 3.4); an empty one can break receivers running with
/// `standaloneEnabled=false`.
pub fn encode_notification_body(
    state: ServerState,
    leader: Sid,
    zxid: i64,
    election_epoch: i64,
    peer_epoch: i64,
    config: &[u8],
) -> Vec<u8> {
    encode_body_raw(
        state.as_i32(),
        leader,
        zxid,
        election_epoch,
        peer_epoch,
        config,
    )
}

/// Encodes a 40-byte body, the format of ZooKeeper 3.4 (no config text):
/// the five vote fields and a trailing int that receivers ignore (ZooKeeper
/// 3.4 wrote its notification version, 1, there). A 3.8 receiver reads it
/// as version 0 and parses no config, so it is the safe format for a
/// message that has no committed config to carry (a probe).
pub fn encode_notification_body_v1(
    state: ServerState,
    leader: Sid,
    zxid: i64,
    election_epoch: i64,
    peer_epoch: i64,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(40);
    put_vote(
        &mut out,
        state.as_i32(),
        leader,
        zxid,
        election_epoch,
        peer_epoch,
    );
    out.extend_from_slice(&1i32.to_be_bytes());
    out
}

/// Encodes a version-2 notification with its frame length prefix, ready to
/// write on an established connection.
pub fn encode_notification_frame(
    state: ServerState,
    leader: Sid,
    zxid: i64,
    election_epoch: i64,
    peer_epoch: i64,
    config: &[u8],
) -> Vec<u8> {
    encode_frame(&encode_notification_body(
        state,
        leader,
        zxid,
        election_epoch,
        peer_epoch,
        config,
    ))
}

/// Decodes a notification body exactly as a 3.8 receiver does (spec 3.2):
/// `< 28` bytes is dropped; 28 bytes derive the peer epoch from the zxid; 40
/// bytes ignore their trailing int (version 0); any other length reads the
/// peer epoch and version, and a version above 1 is followed by a config
/// length and the config. Trailing bytes are ignored.
///
/// Never panics, and allocates at most the body length, whatever the input.
pub fn decode_notification(body: &[u8]) -> Result<Notification, NotificationError> {
    let len = body.len();
    if len < 28 {
        return Err(NotificationError::TooShort(len));
    }
    let under = |reading| NotificationError::Underflow { len, reading };
    let state = read_i32(body, 0).ok_or(under("state"))?;
    let leader = read_i64(body, 4).ok_or(under("leader"))?;
    let zxid = read_i64(body, 12).ok_or(under("zxid"))?;
    let election_epoch = read_i64(body, 20).ok_or(under("electionEpoch"))?;
    let mut n = Notification {
        state,
        leader,
        zxid,
        election_epoch,
        peer_epoch: zxid >> 32,
        version: 0,
        config: None,
    };
    if len == 28 {
        return Ok(n);
    }
    n.peer_epoch = read_i64(body, 28).ok_or(under("peerEpoch"))?;
    // 3.4.6+ puts a version 1 in the last 4 bytes of a 40-byte body, but 3.8
    // does not read it, so such a vote counts as version 0.
    if len == 40 {
        return Ok(n);
    }
    n.version = read_i32(body, 36).ok_or(under("version"))?;
    if n.version > 1 {
        let config_len = read_i32(body, 40).ok_or(under("configLength"))?;
        let size = usize::try_from(config_len)
            .ok()
            .filter(|&s| s <= len)
            .ok_or(NotificationError::BadConfigLength {
                config_len,
                body_len: len,
            })?;
        let config = body.get(44..44 + size).ok_or(under("config"))?;
        n.config = Some(config.to_vec());
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::{check_frame_len, split_frame};
    use crate::wire::testutil::hex;

    const CFG_TV5: &str = "server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.1:2889:3889:participant\nserver.3=127.0.0.1:2890:3890:participant\nversion=0";
    const CFG_TV6: &str = "server.1=10.0.0.1:2888:3888:participant\nserver.2=10.0.0.2:2888:3888:participant\nserver.3=10.0.0.3:2888:3888:participant\nversion=0";
    const CFG_CAPTURE: &str = "server.1=127.0.0.1:23101:23201:participant\nserver.2=127.0.0.1:23102:23202:participant\nserver.3=127.0.0.1:23103:23203:participant\nversion=0";
    const CFG_JOIN: &str = "server.1=127.0.0.1:26101:26201:participant\nserver.2=127.0.0.1:26102:26202:participant\nserver.3=127.0.0.1:26103:26203:participant\nserver.4=127.0.0.1:26104:26204:participant\nserver.5=127.0.0.1:26105:26205:participant\nversion=0";

    /// Splits a framed message and decodes the body, checking the frame length.
    fn decode_framed(frame: &[u8]) -> Notification {
        let (body, used) = split_frame(frame).unwrap().unwrap();
        assert_eq!(used, frame.len());
        decode_notification(body).unwrap()
    }

    fn v2(state: i32, leader: Sid, zxid: i64, ee: i64, pe: i64, cfg: &str) -> Notification {
        Notification {
            state,
            leader,
            zxid,
            election_epoch: ee,
            peer_epoch: pe,
            version: 2,
            config: Some(cfg.as_bytes().to_vec()),
        }
    }

    #[test]
    fn tv5_framed_v2_notification() {
        let frame = hex(
            "000000b0 00000000 0000000000000003 0000000100000005 0000000000000002
             0000000000000001 00000002 00000084
             7365727665722e313d3132372e302e302e313a323838383a333838383a7061727469636970616e740a
             7365727665722e323d3132372e302e302e313a323838393a333838393a7061727469636970616e740a
             7365727665722e333d3132372e302e302e313a323839303a333839303a7061727469636970616e740a
             76657273696f6e3d30",
        );
        assert_eq!(CFG_TV5.len(), 132);
        assert_eq!(frame.len(), 4 + 176);
        let enc = encode_notification_frame(
            ServerState::Looking,
            3,
            0x1_0000_0005,
            2,
            1,
            CFG_TV5.as_bytes(),
        );
        assert_eq!(enc, frame);
        assert_eq!(
            decode_framed(&frame),
            v2(0, 3, 0x1_0000_0005, 2, 1, CFG_TV5)
        );
    }

    #[test]
    fn tv5_settled_replies_headers() {
        let cfg = CFG_TV5.as_bytes();
        let follower =
            encode_notification_frame(ServerState::Following, 3, 0x1_0000_0002, 1, 2, cfg);
        let header = hex(
            "000000b0 00000001 0000000000000003 0000000100000002 0000000000000001
             0000000000000002 00000002 00000084",
        );
        assert_eq!(&follower[..48], &header[..]);
        let leader = encode_notification_frame(ServerState::Leading, 3, 0x1_0000_0002, 1, 2, cfg);
        let mut lheader = header.clone();
        lheader[7] = 2;
        assert_eq!(&leader[..48], &lheader[..]);
        assert_eq!(
            decode_framed(&leader).server_state(),
            Some(ServerState::Leading)
        );
    }

    #[test]
    fn tv6_fresh_ensemble_first_vote() {
        let mut frame = hex(
            "000000ad 00000000 0000000000000001 0000000000000000 0000000000000001
             0000000000000000 00000002 00000081",
        );
        frame.extend_from_slice(CFG_TV6.as_bytes());
        assert_eq!(CFG_TV6.len(), 129);
        let enc = encode_notification_frame(ServerState::Looking, 1, 0, 1, 0, CFG_TV6.as_bytes());
        assert_eq!(enc, frame);
        assert_eq!(decode_framed(&frame), v2(0, 1, 0, 1, 0, CFG_TV6));
    }

    #[test]
    fn tv7_minimal_v2_empty_config() {
        let frame = hex(
            "0000002c 00000001 0000000000000003 0000000000000000 0000000000000001
             0000000000000001 00000002 00000000",
        );
        let enc = encode_notification_frame(ServerState::Following, 3, 0, 1, 1, &[]);
        assert_eq!(enc, frame);
        assert_eq!(decode_framed(&frame), v2(1, 3, 0, 1, 1, ""));
    }

    #[test]
    fn tv8_forty_byte_body_is_version0() {
        let frame = hex(
            "00000028 00000001 0000000000000001 0000000000000000 0000000000000001
             0000000000000000 00000001",
        );
        assert_eq!(
            decode_framed(&frame),
            Notification {
                state: 1,
                leader: 1,
                zxid: 0,
                election_epoch: 1,
                peer_epoch: 0,
                version: 0,
                config: None,
            }
        );
    }

    #[test]
    fn tv9_twenty_eight_byte_legacy_body() {
        let frame = hex("0000001c 00000000 0000000000000002 0000000200000010 0000000000000005");
        assert_eq!(
            decode_framed(&frame),
            Notification {
                state: 0,
                leader: 2,
                zxid: 0x2_0000_0010,
                election_epoch: 5,
                peer_epoch: 2,
                version: 0,
                config: None,
            }
        );
    }

    #[test]
    fn twenty_eight_byte_peer_epoch_shift_is_arithmetic() {
        let mut body = hex("00000000 0000000000000002");
        body.extend_from_slice(&(-1i64).to_be_bytes());
        body.extend_from_slice(&hex("0000000000000001"));
        assert_eq!(decode_notification(&body).unwrap().peer_epoch, -1);
        let mut body = hex("00000000 0000000000000002 8000000000000000 0000000000000001");
        body.truncate(28);
        assert_eq!(decode_notification(&body).unwrap().peer_epoch, -(1 << 31));
    }

    #[test]
    fn tv10_observer_initial_vote() {
        let frame = hex(
            "00000035 00000000 8000000000000000 8000000000000000 0000000000000001
             8000000000000000 00000002 00000009 76657273696f6e3d30",
        );
        let enc = encode_notification_frame(
            ServerState::Looking,
            i64::MIN,
            i64::MIN,
            1,
            i64::MIN,
            b"version=0",
        );
        assert_eq!(enc, frame);
        assert_eq!(
            decode_framed(&frame),
            v2(0, i64::MIN, i64::MIN, 1, i64::MIN, "version=0")
        );
    }

    #[test]
    fn the_probes_40_byte_body_is_the_3_4_format() {
        let body = encode_notification_body_v1(ServerState::Looking, i64::MIN, i64::MIN, 0, -1);
        assert_eq!(
            body,
            hex("00000000 8000000000000000 8000000000000000 0000000000000000
                 ffffffffffffffff 00000001")
        );
        let n = decode_notification(&body).unwrap();
        assert_eq!((n.state, n.leader, n.zxid), (0, i64::MIN, i64::MIN));
        assert_eq!((n.election_epoch, n.peer_epoch), (0, -1));
        assert_eq!((n.version, n.config), (0, None));
    }

    /// A v2 header with the given config length field, padded to `total` bytes.
    fn v2_body_with_config_len(config_len: i32, total: usize) -> Vec<u8> {
        let mut b = encode_notification_body(ServerState::Looking, 1, 0, 1, 0, &[]);
        b[40..44].copy_from_slice(&config_len.to_be_bytes());
        b.resize(total, b'x');
        b
    }

    #[test]
    fn tv11_malformed_notifications_dropped() {
        assert_eq!(
            decode_notification(&[0u8; 12]),
            Err(NotificationError::TooShort(12))
        );
        assert_eq!(
            decode_notification(&[0u8; 30]),
            Err(NotificationError::Underflow {
                len: 30,
                reading: "peerEpoch"
            })
        );
        assert_eq!(
            decode_notification(&[0u8; 36]),
            Err(NotificationError::Underflow {
                len: 36,
                reading: "version"
            })
        );
        assert_eq!(
            decode_notification(&v2_body_with_config_len(-123, 60)),
            Err(NotificationError::BadConfigLength {
                config_len: -123,
                body_len: 60
            })
        );
        assert_eq!(
            decode_notification(&v2_body_with_config_len(10000, 77)),
            Err(NotificationError::BadConfigLength {
                config_len: 10000,
                body_len: 77
            })
        );
        // Config text errors are not a decode concern: the bytes come through.
        let garbage = b"my very invalid config string";
        let body = encode_notification_body(ServerState::Looking, 1, 0, 1, 0, garbage);
        assert_eq!(
            decode_notification(&body).unwrap().config.as_deref(),
            Some(&garbage[..])
        );
    }

    #[test]
    fn every_short_length_behaves_like_java() {
        for len in 0..28 {
            assert_eq!(
                decode_notification(&vec![0u8; len]),
                Err(NotificationError::TooShort(len))
            );
        }
        for len in 29..36 {
            assert!(matches!(
                decode_notification(&vec![0u8; len]),
                Err(NotificationError::Underflow {
                    reading: "peerEpoch",
                    ..
                })
            ));
        }
        for len in 36..40 {
            assert!(matches!(
                decode_notification(&vec![0u8; len]),
                Err(NotificationError::Underflow {
                    reading: "version",
                    ..
                })
            ));
        }
        // 41..43 with version 2: the config length does not fit.
        for len in 41..44 {
            let mut b = vec![0u8; len];
            b[36..40].copy_from_slice(&2i32.to_be_bytes());
            assert_eq!(
                decode_notification(&b),
                Err(NotificationError::Underflow {
                    len,
                    reading: "configLength"
                })
            );
        }
    }

    #[test]
    fn config_length_within_body_but_past_end_underflows() {
        // 50 <= 77, but only 33 bytes follow the header.
        assert_eq!(
            decode_notification(&v2_body_with_config_len(50, 77)),
            Err(NotificationError::Underflow {
                len: 77,
                reading: "config"
            })
        );
        // Exactly the body length is allowed by the cap check but cannot fit.
        assert_eq!(
            decode_notification(&v2_body_with_config_len(77, 77)),
            Err(NotificationError::Underflow {
                len: 77,
                reading: "config"
            })
        );
        let n = decode_notification(&v2_body_with_config_len(33, 77)).unwrap();
        assert_eq!(n.config, Some(vec![b'x'; 33]));
    }

    #[test]
    fn version_one_or_less_has_no_config_and_keeps_version() {
        for version in [1i32, 0, -7, i32::MIN] {
            let mut b = encode_notification_body(ServerState::Looking, 1, 0, 1, 0, b"abc");
            b[36..40].copy_from_slice(&version.to_be_bytes());
            let n = decode_notification(&b).unwrap();
            assert_eq!((n.version, n.config), (version, None));
        }
        // 44-byte body carrying version 1 (not the 40-byte special case).
        let mut b = vec![0u8; 44];
        b[36..40].copy_from_slice(&1i32.to_be_bytes());
        assert_eq!(decode_notification(&b).unwrap().version, 1);
    }

    #[test]
    fn trailing_bytes_after_config_ignored() {
        let mut b = encode_notification_body(ServerState::Leading, 5, 7, 8, 9, b"version=0");
        b.extend_from_slice(b"trailing junk");
        assert_eq!(
            decode_notification(&b).unwrap(),
            v2(2, 5, 7, 8, 9, "version=0")
        );
        // Higher versions are read the same way as 2.
        let mut b = encode_notification_body(ServerState::Leading, 5, 7, 8, 9, b"v");
        b[36..40].copy_from_slice(&3i32.to_be_bytes());
        let n = decode_notification(&b).unwrap();
        assert_eq!((n.version, n.config), (3, Some(b"v".to_vec())));
    }

    #[test]
    fn invalid_state_is_not_a_decode_error() {
        let mut b = encode_notification_body(ServerState::Looking, 1, 0, 1, 0, b"version=0");
        b[0..4].copy_from_slice(&7i32.to_be_bytes());
        let n = decode_notification(&b).unwrap();
        assert_eq!((n.state, n.server_state()), (7, None));
    }

    #[test]
    fn encode_body_always_writes_version2() {
        let n = Notification {
            state: 3,
            leader: 4,
            zxid: 5,
            election_epoch: 6,
            peer_epoch: 7,
            version: 0,
            config: None,
        };
        let b = n.encode_body();
        assert_eq!(b.len(), 44);
        let back = decode_notification(&b).unwrap();
        assert_eq!(back.version, 2);
        assert_eq!(back.config, Some(vec![]));
        assert_eq!(back.encode_body(), b);
    }

    #[test]
    fn round_trips() {
        for state in [
            ServerState::Looking,
            ServerState::Following,
            ServerState::Leading,
            ServerState::Observing,
        ] {
            for (leader, zxid, ee, pe) in [
                (0i64, 0i64, 0i64, 0i64),
                (i64::MAX, -1, i64::MIN, 1),
                (-3, 0x7fff_ffff_0000_0001, 42, -42),
            ] {
                let body =
                    encode_notification_body(state, leader, zxid, ee, pe, CFG_TV5.as_bytes());
                let n = decode_notification(&body).unwrap();
                assert_eq!(n, v2(state.as_i32(), leader, zxid, ee, pe, CFG_TV5));
                assert_eq!(n.encode_body(), body);
                let frame =
                    encode_notification_frame(state, leader, zxid, ee, pe, CFG_TV5.as_bytes());
                assert_eq!(check_frame_len(176), Ok(frame.len() - 4));
                assert_eq!(&frame[4..], &body[..]);
            }
        }
    }

    #[test]
    fn captured_vector2_first_looking_vote() {
        let frame = hex("00 00 00 b6 00 00 00 00 00 00 00 00 00 00 00 02
             00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
             00 00 00 00 00 00 00 00 00 00 00 02 00 00 00 8a
             73 65 72 76 65 72 2e 31 3d 31 32 37 2e 30 2e 30
             2e 31 3a 32 33 31 30 31 3a 32 33 32 30 31 3a 70
             61 72 74 69 63 69 70 61 6e 74 0a 73 65 72 76 65
             72 2e 32 3d 31 32 37 2e 30 2e 30 2e 31 3a 32 33
             31 30 32 3a 32 33 32 30 32 3a 70 61 72 74 69 63
             69 70 61 6e 74 0a 73 65 72 76 65 72 2e 33 3d 31
             32 37 2e 30 2e 30 2e 31 3a 32 33 31 30 33 3a 32
             33 32 30 33 3a 70 61 72 74 69 63 69 70 61 6e 74
             0a 76 65 72 73 69 6f 6e 3d 30");
        assert_eq!(frame.len(), 4 + 182);
        assert_eq!(CFG_CAPTURE.len(), 138);
        assert_eq!(&frame[48..], CFG_CAPTURE.as_bytes());
        let enc =
            encode_notification_frame(ServerState::Looking, 2, 0, 1, 0, CFG_CAPTURE.as_bytes());
        assert_eq!(enc, frame);
        assert_eq!(decode_framed(&frame), v2(0, 2, 0, 1, 0, CFG_CAPTURE));
        // The next frame (vote switched to sid 3) differs only at offset 0x0f.
        let next =
            encode_notification_frame(ServerState::Looking, 3, 0, 1, 0, CFG_CAPTURE.as_bytes());
        let diff: Vec<usize> = (0..frame.len()).filter(|&i| frame[i] != next[i]).collect();
        assert_eq!(diff, vec![0x0f]);
    }

    /// Builds a captured header (48 bytes incl. frame length) plus the capture config.
    fn captured_frame(header: &str) -> Vec<u8> {
        let mut f = hex(header);
        assert_eq!(f.len(), 48);
        f.extend_from_slice(CFG_CAPTURE.as_bytes());
        f
    }

    #[test]
    fn captured_vector3_leading_answer() {
        let frame = captured_frame(
            "00 00 00 b6 00 00 00 02 00 00 00 00 00 00 00 03
             00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
             00 00 00 00 00 00 00 01 00 00 00 02 00 00 00 8a",
        );
        let enc =
            encode_notification_frame(ServerState::Leading, 3, 0, 1, 1, CFG_CAPTURE.as_bytes());
        assert_eq!(enc, frame);
        assert_eq!(decode_framed(&frame), v2(2, 3, 0, 1, 1, CFG_CAPTURE));
        // The stale repeat sent just before it on the same connection.
        let stale =
            encode_notification_frame(ServerState::Looking, 3, 0, 1, 0, CFG_CAPTURE.as_bytes());
        assert_eq!(decode_framed(&stale), v2(0, 3, 0, 1, 0, CFG_CAPTURE));
    }

    #[test]
    fn captured_vector4_following_answer() {
        let frame = captured_frame(
            "00 00 00 b6 00 00 00 01 00 00 00 00 00 00 00 03
             00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
             00 00 00 00 00 00 00 01 00 00 00 02 00 00 00 8a",
        );
        let enc =
            encode_notification_frame(ServerState::Following, 3, 0, 1, 1, CFG_CAPTURE.as_bytes());
        assert_eq!(enc, frame);
        assert_eq!(decode_framed(&frame), v2(1, 3, 0, 1, 1, CFG_CAPTURE));
    }

    #[test]
    fn captured_vector5_second_election_looking() {
        let frame = captured_frame(
            "00 00 00 b6 00 00 00 00 00 00 00 00 00 00 00 01
             00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 02
             00 00 00 00 00 00 00 01 00 00 00 02 00 00 00 8a",
        );
        let enc = encode_notification_frame(
            ServerState::Looking,
            1,
            0x1_0000_0000,
            2,
            1,
            CFG_CAPTURE.as_bytes(),
        );
        assert_eq!(enc, frame);
        assert_eq!(
            decode_framed(&frame),
            v2(0, 1, 0x1_0000_0000, 2, 1, CFG_CAPTURE)
        );
    }

    #[test]
    fn captured_vector7_test_peer_first_bytes() {
        use crate::wire::{decode_handshake, encode_handshake, HostPort, ProtocolVersion};
        let mut stream = hex("ff ff ff ff ff ff 00 00 00 00 00 00 00 00 00 04
             00 00 00 0f 31 32 37 2e 30 2e 30 2e 31 3a 32 36
             32 30 34 00 00 01 0c 00 00 00 00 00 00 00 00 00
             00 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00
             00 00 01 00 00 00 00 00 00 00 00 00 00 00 02 00
             00 00 e0");
        assert_eq!(CFG_JOIN.len(), 224);
        stream.extend_from_slice(CFG_JOIN.as_bytes());

        let me = HostPort {
            host: "127.0.0.1".to_string(),
            port: 26204,
        };
        let mut enc = encode_handshake(ProtocolVersion::V1, 4, std::slice::from_ref(&me));
        enc.extend_from_slice(&encode_notification_frame(
            ServerState::Looking,
            4,
            0,
            1,
            0,
            CFG_JOIN.as_bytes(),
        ));
        assert_eq!(enc, stream);

        let (hs, used) = decode_handshake(&stream).unwrap();
        assert_eq!(used, 35);
        assert_eq!((hs.sid, hs.addresses), (4, vec![me]));
        let (body, rest) = split_frame(&stream[used..]).unwrap().unwrap();
        assert_eq!(body.len(), 268);
        assert_eq!(used + rest, stream.len());
        assert_eq!(
            decode_notification(body).unwrap(),
            v2(0, 4, 0, 1, 0, CFG_JOIN)
        );
    }

    #[test]
    fn error_messages_are_readable() {
        assert_eq!(
            NotificationError::TooShort(12).to_string(),
            "notification too short: 12 bytes (at least 28 needed); dropped"
        );
        let e = NotificationError::BadConfigLength {
            config_len: 10000,
            body_len: 77,
        };
        assert!(e.to_string().contains("10000") && e.to_string().contains("77"));
    }
}
