//! Message framing on an established election connection (spec 2.6): a
//! big-endian `int` length, then that many bytes of body.

use std::fmt;

use super::MAX_FRAME_LEN;

/// Why a frame cannot be accepted. ZooKeeper closes the connection on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The length prefix is `<= 0` or larger than [`MAX_FRAME_LEN`].
    BadLength(i32),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadLength(len) => write!(
                f,
                "unreasonable frame length {len} (must be 1..={MAX_FRAME_LEN}); closing connection"
            ),
        }
    }
}

impl std::error::Error for FrameError {}

/// Validates a received frame length the way ZooKeeper's receiver does
/// (`length <= 0 || length > 524288` is an I/O error) and returns it as a
/// byte count.
pub fn check_frame_len(len: i32) -> Result<usize, FrameError> {
    match usize::try_from(len) {
        Ok(n) if (1..=MAX_FRAME_LEN).contains(&n) => Ok(n),
        _ => Err(FrameError::BadLength(len)),
    }
}

/// Prefixes `body` with its 4-byte big-endian length.
///
/// The length is not checked: sending an empty or oversized body is the
/// caller's mistake, and the receiver would close the connection.
pub fn encode_frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The big-endian `long` at `buf[at..at + 8]`, `None` if `buf` ends
/// before it (as Java's `ByteBuffer.getLong` / `DataInputStream.readLong`
/// read it). Shared by every decoder in `wire`.
pub(super) fn read_i64(buf: &[u8], at: usize) -> Option<i64> {
    let b: [u8; 8] = buf.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(i64::from_be_bytes(b))
}

/// The big-endian `int` at `buf[at..at + 4]`, `None` if `buf` ends before
/// it.
pub(super) fn read_i32(buf: &[u8], at: usize) -> Option<i32> {
    let b: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(i32::from_be_bytes(b))
}

/// Splits one complete frame off the front of `buf`, for a reader that
/// accumulates bytes from a socket (frames may arrive split anywhere).
///
/// Returns `Ok(None)` while the length prefix or the body is still incomplete,
/// `Ok(Some((body, consumed)))` once the whole frame is there, and an error as
/// soon as the length prefix is invalid (no need to wait for the body).
pub fn split_frame(buf: &[u8]) -> Result<Option<(&[u8], usize)>, FrameError> {
    let Some(len) = read_i32(buf, 0) else {
        return Ok(None);
    };
    let n = check_frame_len(len)?;
    Ok(buf.get(4..4 + n).map(|body| (body, 4 + n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_length_bounds() {
        assert_eq!(check_frame_len(1), Ok(1));
        assert_eq!(check_frame_len(524288), Ok(524288));
        for bad in [0, -1, i32::MIN, 524289, i32::MAX] {
            assert_eq!(check_frame_len(bad), Err(FrameError::BadLength(bad)));
        }
    }

    #[test]
    fn tv11_bad_frame_lengths_close_connection() {
        // Frame length 0, negative, > 524288; and the 1 GiB "length" probe.
        for prefix in [
            [0u8, 0, 0, 0],
            [0xff, 0xff, 0xff, 0xff],
            [0x00, 0x08, 0x00, 0x01],
            [0x40, 0x00, 0x00, 0x00],
        ] {
            assert!(matches!(
                split_frame(&prefix),
                Err(FrameError::BadLength(_))
            ));
        }
        let e = check_frame_len(0).unwrap_err();
        assert!(e.to_string().contains("frame length 0"), "{e}");
    }

    #[test]
    fn read_helpers_are_big_endian_and_bounded() {
        let buf = [0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2];
        assert_eq!(read_i32(&buf, 0), Some(i32::MIN + 1));
        assert_eq!(read_i64(&buf, 4), Some(2));
        assert_eq!(read_i32(&buf, 9), None);
        assert_eq!(read_i64(&buf, 5), None);
        assert_eq!(read_i64(&buf, usize::MAX), None);
    }

    #[test]
    fn encode_frame_prefixes_length() {
        assert_eq!(encode_frame(&[1, 2, 3]), vec![0, 0, 0, 3, 1, 2, 3]);
        let body = vec![7u8; 300];
        let f = encode_frame(&body);
        assert_eq!(&f[..4], &[0, 0, 1, 0x2c]);
        assert_eq!(&f[4..], &body[..]);
    }

    #[test]
    fn split_frame_waits_for_whole_frame() {
        let f = encode_frame(b"hello");
        for cut in 0..f.len() {
            assert_eq!(split_frame(&f[..cut]), Ok(None), "cut {cut}");
        }
        let mut two = f.clone();
        two.extend_from_slice(&encode_frame(b"x"));
        assert_eq!(split_frame(&two), Ok(Some((&b"hello"[..], 9))));
        assert_eq!(split_frame(&two[9..]), Ok(Some((&b"x"[..], 5))));
    }
}
