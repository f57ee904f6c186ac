//! Any RESP2 or RESP3 value, decoded and encoded.
//!
//! Servers receive only arrays of bulk strings ([`super::request`]); this full decoder is
//! for the other direction: reading replies from peers (MIGRATE targets, a replication
//! master) and checking replies in tests. "Incomplete" and "invalid" are different
//! answers, lengths are checked before anything is allocated, and nesting is bounded so
//! a hostile peer cannot exhaust the stack.

/// Deepest nesting of aggregates accepted.
const MAX_DEPTH: usize = 64;
/// Largest aggregate length accepted before its elements arrive.
const MAX_AGGREGATE_LEN: i64 = 1 << 32;

/// A RESP value.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+text`
    Simple(Vec<u8>),
    /// `-CODE message`
    Error(Vec<u8>),
    /// `:n`
    Integer(i64),
    /// `$n` and the data
    Bulk(Vec<u8>),
    /// `*n` and the elements
    Array(Vec<Frame>),
    /// `$-1`, `*-1` (RESP2) or `_` (RESP3)
    Null,
    /// `#t` / `#f`
    Boolean(bool),
    /// `,` double
    Double(f64),
    /// `(` big number, kept as its digits
    BigNumber(Vec<u8>),
    /// `!n` bulk error
    BulkError(Vec<u8>),
    /// `=n` verbatim string: the 3-byte format and the text
    Verbatim(Vec<u8>, Vec<u8>),
    /// `%n` map
    Map(Vec<(Frame, Frame)>),
    /// `~n` set
    Set(Vec<Frame>),
    /// `|n` attributes, followed by the value they describe
    Attribute(Vec<(Frame, Frame)>, Box<Frame>),
    /// `>n` push
    Push(Vec<Frame>),
}

/// Why bytes are not a RESP value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// An unknown type byte.
    #[error("unknown RESP type byte {0:#04x}")]
    UnknownType(u8),
    /// A length or integer that does not parse or is out of range.
    #[error("invalid length or number")]
    InvalidNumber,
    /// Bulk data not followed by CRLF, or a line without CRLF.
    #[error("missing CRLF")]
    MissingCrlf,
    /// Aggregates nested too deep.
    #[error("aggregates nested too deeply")]
    TooDeep,
    /// A malformed boolean, double or verbatim string.
    #[error("malformed value")]
    Malformed,
}

/// Decodes one frame from the start of `buf`: `Ok(Some((frame, bytes used)))`, or
/// `Ok(None)` when more bytes are needed.
pub fn decode(buf: &[u8], max_bulk_len: usize) -> Result<Option<(Frame, usize)>, FrameError> {
    let mut pos = 0;
    match decode_at(buf, &mut pos, max_bulk_len, 0)? {
        Some(frame) => Ok(Some((frame, pos))),
        None => Ok(None),
    }
}

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Result<Option<&'a [u8]>, FrameError> {
    let start = *pos;
    match buf[start..].iter().position(|&b| b == b'\n') {
        None => Ok(None),
        Some(n) => {
            let end = start + n;
            if end == start || buf[end - 1] != b'\r' {
                return Err(FrameError::MissingCrlf);
            }
            *pos = end + 1;
            Ok(Some(&buf[start..end - 1]))
        }
    }
}

fn number(text: &[u8]) -> Result<i64, FrameError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(FrameError::InvalidNumber)
}

fn decode_at(
    buf: &[u8],
    pos: &mut usize,
    max_bulk_len: usize,
    depth: usize,
) -> Result<Option<Frame>, FrameError> {
    if depth > MAX_DEPTH {
        return Err(FrameError::TooDeep);
    }
    let Some(&kind) = buf.get(*pos) else {
        return Ok(None);
    };
    *pos += 1;
    let Some(header) = line(buf, pos)? else {
        return Ok(None);
    };
    let aggregate_len = |text: &[u8]| -> Result<Option<usize>, FrameError> {
        let n = number(text)?;
        match n {
            -1 => Ok(None),
            0..=MAX_AGGREGATE_LEN => Ok(Some(n as usize)),
            _ => Err(FrameError::InvalidNumber),
        }
    };
    let elements = |n: usize, pos: &mut usize| -> Result<Option<Vec<Frame>>, FrameError> {
        let mut items = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            match decode_at(buf, pos, max_bulk_len, depth + 1)? {
                Some(f) => items.push(f),
                None => return Ok(None),
            }
        }
        Ok(Some(items))
    };
    let pairs = |items: Vec<Frame>| -> Vec<(Frame, Frame)> {
        let mut it = items.into_iter();
        std::iter::from_fn(|| Some((it.next()?, it.next()?))).collect()
    };
    let frame = match kind {
        b'+' => Frame::Simple(header.to_vec()),
        b'-' => Frame::Error(header.to_vec()),
        b':' => Frame::Integer(number(header)?),
        b'(' => {
            let digits = header.strip_prefix(b"-").unwrap_or(header);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return Err(FrameError::InvalidNumber);
            }
            Frame::BigNumber(header.to_vec())
        }
        b'_' if header.is_empty() => Frame::Null,
        b'#' => match header {
            b"t" => Frame::Boolean(true),
            b"f" => Frame::Boolean(false),
            _ => return Err(FrameError::Malformed),
        },
        b',' => {
            let text = std::str::from_utf8(header).map_err(|_| FrameError::Malformed)?;
            let value = match text {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                _ => text.parse().map_err(|_| FrameError::Malformed)?,
            };
            Frame::Double(value)
        }
        b'$' | b'!' | b'=' => {
            let n = number(header)?;
            if n == -1 && kind == b'$' {
                return Ok(Some(Frame::Null));
            }
            if n < 0 || n as u64 > max_bulk_len as u64 {
                return Err(FrameError::InvalidNumber);
            }
            let n = n as usize;
            if buf.len() < *pos + n + 2 {
                return Ok(None);
            }
            let data = &buf[*pos..*pos + n];
            if &buf[*pos + n..*pos + n + 2] != b"\r\n" {
                return Err(FrameError::MissingCrlf);
            }
            *pos += n + 2;
            match kind {
                b'$' => Frame::Bulk(data.to_vec()),
                b'!' => Frame::BulkError(data.to_vec()),
                _ => {
                    if data.len() < 4 || data[3] != b':' {
                        return Err(FrameError::Malformed);
                    }
                    Frame::Verbatim(data[..3].to_vec(), data[4..].to_vec())
                }
            }
        }
        b'*' | b'~' | b'>' => {
            let Some(n) = aggregate_len(header)? else {
                return Ok(Some(Frame::Null));
            };
            let Some(items) = elements(n, pos)? else {
                return Ok(None);
            };
            match kind {
                b'*' => Frame::Array(items),
                b'~' => Frame::Set(items),
                _ => Frame::Push(items),
            }
        }
        b'%' | b'|' => {
            let Some(n) = aggregate_len(header)? else {
                return Err(FrameError::InvalidNumber);
            };
            let Some(items) = elements(n.checked_mul(2).ok_or(FrameError::InvalidNumber)?, pos)?
            else {
                return Ok(None);
            };
            if kind == b'%' {
                Frame::Map(pairs(items))
            } else {
                let Some(value) = decode_at(buf, pos, max_bulk_len, depth + 1)? else {
                    return Ok(None);
                };
                Frame::Attribute(pairs(items), Box::new(value))
            }
        }
        other => return Err(FrameError::UnknownType(other)),
    };
    Ok(Some(frame))
}

impl Frame {
    /// Appends the RESP encoding of this frame to `out`. `Null` encodes as RESP3 `_`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        fn head(out: &mut Vec<u8>, kind: u8, n: usize) {
            out.push(kind);
            out.extend_from_slice(n.to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        fn text(out: &mut Vec<u8>, kind: u8, t: &[u8]) {
            out.push(kind);
            out.extend_from_slice(t);
            out.extend_from_slice(b"\r\n");
        }
        match self {
            Frame::Simple(t) => text(out, b'+', t),
            Frame::Error(t) => text(out, b'-', t),
            Frame::Integer(n) => text(out, b':', n.to_string().as_bytes()),
            Frame::BigNumber(d) => text(out, b'(', d),
            Frame::Null => out.extend_from_slice(b"_\r\n"),
            Frame::Boolean(b) => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Frame::Double(d) => text(out, b',', super::reply::format_double(*d).as_bytes()),
            Frame::Bulk(d) | Frame::BulkError(d) => {
                head(
                    out,
                    if matches!(self, Frame::Bulk(_)) {
                        b'$'
                    } else {
                        b'!'
                    },
                    d.len(),
                );
                out.extend_from_slice(d);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Verbatim(format, d) => {
                head(out, b'=', d.len() + 4);
                out.extend_from_slice(format);
                out.push(b':');
                out.extend_from_slice(d);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
                let kind = match self {
                    Frame::Array(_) => b'*',
                    Frame::Set(_) => b'~',
                    _ => b'>',
                };
                head(out, kind, items.len());
                items.iter().for_each(|f| f.encode(out));
            }
            Frame::Map(pairs) | Frame::Attribute(pairs, _) => {
                head(
                    out,
                    if matches!(self, Frame::Map(_)) {
                        b'%'
                    } else {
                        b'|'
                    },
                    pairs.len(),
                );
                for (k, v) in pairs {
                    k.encode(out);
                    v.encode(out);
                }
                if let Frame::Attribute(_, value) = self {
                    value.encode(out);
                }
            }
        }
    }

    /// Encodes a command as an array of bulk strings, as clients send it.
    pub fn command<'a>(args: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
        let args: Vec<&[u8]> = args.into_iter().collect();
        let mut out = Vec::new();
        crate::command::encode_command(&mut out, &args);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(input: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
        decode(input, 1 << 20)
    }

    #[test]
    fn every_frame_type() {
        let cases: Vec<(&[u8], Frame)> = vec![
            (b"+OK\r\n", Frame::Simple(b"OK".to_vec())),
            (b"-ERR x\r\n", Frame::Error(b"ERR x".to_vec())),
            (b":-12\r\n", Frame::Integer(-12)),
            (b"$3\r\nabc\r\n", Frame::Bulk(b"abc".to_vec())),
            (b"$-1\r\n", Frame::Null),
            (b"*-1\r\n", Frame::Null),
            (b"_\r\n", Frame::Null),
            (b"#t\r\n", Frame::Boolean(true)),
            (b",1.5\r\n", Frame::Double(1.5)),
            (b",-inf\r\n", Frame::Double(f64::NEG_INFINITY)),
            (
                b"(123456789012345678901234567890\r\n",
                Frame::BigNumber(b"123456789012345678901234567890".to_vec()),
            ),
            (b"!5\r\nERR x\r\n", Frame::BulkError(b"ERR x".to_vec())),
            (
                b"=7\r\ntxt:abc\r\n",
                Frame::Verbatim(b"txt".to_vec(), b"abc".to_vec()),
            ),
            (
                b"*2\r\n:1\r\n$1\r\na\r\n",
                Frame::Array(vec![Frame::Integer(1), Frame::Bulk(b"a".to_vec())]),
            ),
            (
                b"%1\r\n+k\r\n:1\r\n",
                Frame::Map(vec![(Frame::Simple(b"k".to_vec()), Frame::Integer(1))]),
            ),
            (b"~1\r\n:1\r\n", Frame::Set(vec![Frame::Integer(1)])),
            (b">1\r\n:1\r\n", Frame::Push(vec![Frame::Integer(1)])),
            (
                b"|1\r\n+a\r\n:1\r\n:2\r\n",
                Frame::Attribute(
                    vec![(Frame::Simple(b"a".to_vec()), Frame::Integer(1))],
                    Box::new(Frame::Integer(2)),
                ),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                one(input),
                Ok(Some((want, input.len()))),
                "{:?}",
                String::from_utf8_lossy(input)
            );
            for cut in 0..input.len() {
                assert_eq!(one(&input[..cut]), Ok(None), "prefix {cut} of {input:?}");
            }
        }
    }

    #[test]
    fn malformed_frames() {
        assert_eq!(one(b"?x\r\n"), Err(FrameError::UnknownType(b'?')));
        assert_eq!(one(b":abc\r\n"), Err(FrameError::InvalidNumber));
        assert_eq!(one(b"$3\r\nabcde"), Err(FrameError::MissingCrlf));
        assert_eq!(one(b"+OK\n"), Err(FrameError::MissingCrlf));
        assert_eq!(one(b"$-2\r\n"), Err(FrameError::InvalidNumber));
        assert_eq!(one(b"$99999999\r\n"), Err(FrameError::InvalidNumber));
        assert_eq!(one(b"*99999999999\r\n"), Err(FrameError::InvalidNumber));
        assert_eq!(one(b"#x\r\n"), Err(FrameError::Malformed));
        assert_eq!(one(b",abc\r\n"), Err(FrameError::Malformed));
        assert_eq!(one(b"=2\r\nab\r\n"), Err(FrameError::Malformed));
        assert_eq!(one(b"(12a\r\n"), Err(FrameError::InvalidNumber));
        assert_eq!(one(&b"*1\r\n".repeat(100)), Err(FrameError::TooDeep));
    }

    fn arb_frame() -> impl Strategy<Value = Frame> {
        let leaf = prop_oneof![
            "[a-zA-Z0-9 ]{0,8}".prop_map(|s| Frame::Simple(s.into_bytes())),
            "ERR [a-z]{0,8}".prop_map(|s| Frame::Error(s.into_bytes())),
            any::<i64>().prop_map(Frame::Integer),
            proptest::collection::vec(any::<u8>(), 0..16).prop_map(Frame::Bulk),
            Just(Frame::Null),
            any::<bool>().prop_map(Frame::Boolean),
            (-1e6f64..1e6).prop_map(Frame::Double),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Frame::Array),
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Frame::Set),
                proptest::collection::vec((inner.clone(), inner), 0..3).prop_map(Frame::Map),
            ]
        })
    }

    proptest! {
        #[test]
        fn round_trip(frame in arb_frame()) {
            let mut bytes = Vec::new();
            frame.encode(&mut bytes);
            prop_assert_eq!(one(&bytes), Ok(Some((frame, bytes.len()))));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = one(&bytes);
        }
    }
}
