//! Quorum SASL packets (`QuorumAuthPacket`, spec 8.1). zkelect does not run
//! quorum SASL; the codec exists so that a peer's SASL bytes are recognised
//! for what they are, and because they are part of the wire format's vectors
//! (TV12).

/// The magic long that starts every packet (`0x5F2435013501EDCC`).
pub const SASL_MAGIC: i64 = 0x5F24_3501_3501_EDCC;

/// The longest token a packet may declare: jute's `readBuffer` limit at
/// its defaults (`jute.maxbuffer` 0xfffff plus 1024 extra bytes), past which
/// ZooKeeper fails the read with "Unreasonable length". A longer declared
/// length is [`SaslError::BadTokenLength`] at once, so a reader never
/// buffers more than 16 + this many bytes for a packet.
pub const MAX_SASL_TOKEN_LEN: usize = 0xfffff + 1024;

/// Packet status (spec 8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslStatus {
    /// 0: more rounds follow.
    InProgress,
    /// 1: authentication finished.
    Success,
    /// -1: authentication failed.
    Error,
    /// Anything else (the initiator treats it as a failure).
    Other(i32),
}

impl SaslStatus {
    fn to_i32(self) -> i32 {
        match self {
            SaslStatus::InProgress => 0,
            SaslStatus::Success => 1,
            SaslStatus::Error => -1,
            SaslStatus::Other(v) => v,
        }
    }

    fn from_i32(v: i32) -> SaslStatus {
        match v {
            0 => SaslStatus::InProgress,
            1 => SaslStatus::Success,
            -1 => SaslStatus::Error,
            v => SaslStatus::Other(v),
        }
    }
}

/// One packet: status and token (`None` is the null token, length -1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslPacket {
    /// The status.
    pub status: SaslStatus,
    /// The token bytes.
    pub token: Option<Vec<u8>>,
}

/// Why bytes are not a SASL packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslError {
    /// Fewer bytes than the packet needs.
    Incomplete {
        /// Bytes needed so far.
        needed: usize,
    },
    /// The first long is not the magic.
    NotSasl(i64),
    /// A token length below -1 or above [`MAX_SASL_TOKEN_LEN`].
    BadTokenLength(i32),
}

impl std::fmt::Display for SaslError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SaslError::Incomplete { needed } => write!(f, "SASL packet needs {needed} bytes"),
            SaslError::NotSasl(v) => write!(f, "not a SASL packet (first long {v:#x})"),
            SaslError::BadTokenLength(l) => write!(
                f,
                "SASL token length {l} is invalid (must be -1..={MAX_SASL_TOKEN_LEN})"
            ),
        }
    }
}

impl std::error::Error for SaslError {}

/// Encodes a packet: magic, status, token length (-1 for none), token.
pub fn encode_sasl(p: &SaslPacket) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + p.token.as_ref().map_or(0, Vec::len));
    out.extend_from_slice(&SASL_MAGIC.to_be_bytes());
    out.extend_from_slice(&p.status.to_i32().to_be_bytes());
    match &p.token {
        Some(t) => {
            out.extend_from_slice(&(t.len() as i32).to_be_bytes());
            out.extend_from_slice(t);
        }
        None => out.extend_from_slice(&(-1i32).to_be_bytes()),
    }
    out
}

/// Decodes a packet from the start of `buf`; returns it and the bytes used.
pub fn decode_sasl(buf: &[u8]) -> Result<(SaslPacket, usize), SaslError> {
    let take = |at: usize, n: usize| -> Result<&[u8], SaslError> {
        buf.get(at..at + n)
            .ok_or(SaslError::Incomplete { needed: at + n })
    };
    let magic = i64::from_be_bytes(take(0, 8)?.try_into().expect("8 bytes"));
    if magic != SASL_MAGIC {
        return Err(SaslError::NotSasl(magic));
    }
    let status = i32::from_be_bytes(take(8, 4)?.try_into().expect("4 bytes"));
    let len = i32::from_be_bytes(take(12, 4)?.try_into().expect("4 bytes"));
    let (token, used) = match len {
        -1 => (None, 16),
        l => match usize::try_from(l) {
            Ok(n) if n <= MAX_SASL_TOKEN_LEN => (Some(take(16, n)?.to_vec()), 16 + n),
            _ => return Err(SaslError::BadTokenLength(l)),
        },
    };
    Ok((
        SaslPacket {
            status: SaslStatus::from_i32(status),
            token,
        },
        used,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::hex;

    /// TV12: the learner's initial DIGEST-MD5 packet with an empty token.
    #[test]
    fn tv12_initial_learner_packet() {
        let p = SaslPacket {
            status: SaslStatus::InProgress,
            token: Some(Vec::new()),
        };
        let bytes = hex("5f2435013501edcc 00000000 00000000");
        assert_eq!(encode_sasl(&p), bytes);
        assert_eq!(decode_sasl(&bytes), Ok((p, 16)));
    }

    /// TV12: the server's error packet with an empty token; a null token is
    /// length -1.
    #[test]
    fn tv12_error_packet_and_null_token() {
        let err = SaslPacket {
            status: SaslStatus::Error,
            token: Some(Vec::new()),
        };
        assert_eq!(encode_sasl(&err), hex("5f2435013501edcc ffffffff 00000000"));
        let null = SaslPacket {
            status: SaslStatus::Success,
            token: None,
        };
        let bytes = hex("5f2435013501edcc 00000001 ffffffff");
        assert_eq!(encode_sasl(&null), bytes);
        assert_eq!(decode_sasl(&bytes), Ok((null, 16)));
    }

    #[test]
    fn not_sasl_short_and_bad_lengths() {
        assert_eq!(
            decode_sasl(&[0x5f, 0x24]),
            Err(SaslError::Incomplete { needed: 8 })
        );
        assert!(matches!(decode_sasl(&[0; 16]), Err(SaslError::NotSasl(0))));
        assert_eq!(
            decode_sasl(&hex("5f2435013501edcc 00000000 fffffffe")),
            Err(SaslError::BadTokenLength(-2))
        );
        assert_eq!(
            decode_sasl(&hex("5f2435013501edcc 00000000 00000005 aa")),
            Err(SaslError::Incomplete { needed: 21 })
        );
    }

    /// A declared token length past jute's limit is refused at once, not
    /// answered with "need 2 GiB more": a reader that trusts `needed` would
    /// buffer whatever a peer declares (found while writing the fuzz entry,
    /// whose cap on `needed` fails on it).
    #[test]
    fn a_token_length_past_the_cap_is_refused_at_once() {
        let max = MAX_SASL_TOKEN_LEN as i32;
        for l in [max + 1, i32::MAX] {
            let mut b = hex("5f2435013501edcc 00000000");
            b.extend_from_slice(&l.to_be_bytes());
            assert_eq!(decode_sasl(&b), Err(SaslError::BadTokenLength(l)));
        }
        let mut b = hex("5f2435013501edcc 00000000");
        b.extend_from_slice(&max.to_be_bytes());
        assert_eq!(
            decode_sasl(&b),
            Err(SaslError::Incomplete {
                needed: 16 + MAX_SASL_TOKEN_LEN
            })
        );
        let e = SaslError::BadTokenLength(i32::MAX).to_string();
        assert!(e.contains("2147483647"), "{e}");
    }
}
