//! Framing: where one message ends in a stream of bytes, and the proof that a slice is
//! one whole message the decoder may index without bounds worries.

use super::{HEADER_LEN, SIGNATURE};

/// What the first bytes of the stream say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameCheck {
    /// Fewer than 8 bytes so far.
    NeedMore,
    /// A message of this total length starts here.
    Frame(usize),
    /// Bad signature or a length below the header size: Redis closes the link.
    CloseLink,
}

/// Looks at the first 8 bytes (signature and total length).
pub fn check_frame(prefix: &[u8]) -> FrameCheck {
    if prefix.len() < 8 {
        return FrameCheck::NeedMore;
    }
    let total = u32::from_be_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]) as usize;
    if &prefix[..4] != SIGNATURE || total < HEADER_LEN {
        return FrameCheck::CloseLink;
    }
    FrameCheck::Frame(total)
}

/// Exactly one message: the signature is right, and the slice is as long as its
/// `totlen` says, which is at least a whole header. Only [`CheckedFrame::new`] makes
/// one, so [`super::decode`] can read every header field without checking lengths,
/// and a caller cannot hand it a short or partial frame by mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedFrame<'a> {
    bytes: &'a [u8],
}

impl<'a> CheckedFrame<'a> {
    /// `bytes` as a frame, if it is exactly one message; otherwise what framing says
    /// of it (`Frame(n)` with `n` other than its length: too short or too long).
    pub fn new(bytes: &'a [u8]) -> Result<CheckedFrame<'a>, FrameCheck> {
        match check_frame(bytes) {
            FrameCheck::Frame(len) if len == bytes.len() => Ok(CheckedFrame { bytes }),
            other => Err(other),
        }
    }

    /// The whole message, header included.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(totlen: u32, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        v[..4].copy_from_slice(SIGNATURE);
        v[4..8].copy_from_slice(&totlen.to_be_bytes());
        v
    }

    #[test]
    fn only_whole_frames_are_checked() {
        assert!(CheckedFrame::new(&frame(2256, 2256)).is_ok());
        assert_eq!(
            CheckedFrame::new(&frame(2300, 2256)),
            Err(FrameCheck::Frame(2300)),
            "a partial frame"
        );
        assert_eq!(
            CheckedFrame::new(&frame(2256, 2300)),
            Err(FrameCheck::Frame(2256)),
            "more than one frame"
        );
        assert_eq!(
            CheckedFrame::new(&frame(16, 16)),
            Err(FrameCheck::CloseLink),
            "shorter than a header"
        );
        assert_eq!(CheckedFrame::new(b"RCmb"), Err(FrameCheck::NeedMore));
    }
}
