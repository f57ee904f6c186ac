//! Decoding client requests: RESP multibulk arrays and inline commands.
//!
//! The decoder is resumable: a request split across reads is not re-parsed from its
//! start, so a 1 GB pipeline arriving in 16 KB pieces costs O(bytes). Arguments are
//! byte ranges into the caller's buffer (no copy), except for inline commands, whose
//! quoting and escapes are resolved into a small owned buffer.
//!
//! Limits and error texts are Redis 7.0's. After an error the caller replies with it and
//! closes the connection, as Redis does.

use std::ops::Range;

use super::split_args::split_args;

/// Longest inline command, and longest `*<n>` / `$<n>` header line.
pub const MAX_INLINE_SIZE: usize = 64 * 1024;
/// Most arguments a request may announce.
const MAX_MULTIBULK_LEN: i64 = i32::MAX as i64;
/// Most arguments a client that has not authenticated may send.
const UNAUTHENTICATED_MULTIBULK_LEN: i64 = 10;
/// Longest argument a client that has not authenticated may send.
const UNAUTHENTICATED_BULK_LEN: i64 = 16384;

/// A malformed request. The text is Redis's, without the `ERR ` code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// An inline command longer than 64 KB.
    #[error("Protocol error: too big inline request")]
    InlineTooBig,
    /// Quotes in an inline command are not closed.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// A `*<n>` header line longer than 64 KB.
    #[error("Protocol error: too big mbulk count string")]
    MultibulkCountTooBig,
    /// A `$<n>` header line longer than 64 KB.
    #[error("Protocol error: too big bulk count string")]
    BulkCountTooBig,
    /// `*<n>` is not a number or is too large.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// `*<n>` too large for a client that has not authenticated.
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// An argument that does not start with `$`.
    #[error("Protocol error: expected '$', got '{0}'")]
    ExpectedBulk(char),
    /// `$<n>` is not a number, negative, or above proto-max-bulk-len.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// `$<n>` too large for a client that has not authenticated.
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
}

/// The limits that apply to the next request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// proto-max-bulk-len.
    pub max_bulk_len: usize,
    /// Whether the client has authenticated (or no password is required).
    pub authenticated: bool,
}

/// What a decode call found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// A complete request of this many bytes; its arguments are in [`RequestDecoder::args`].
    /// Zero arguments means an empty request, which is skipped without a reply.
    Request(usize),
    /// More bytes are needed; at least this many in total would help (for preallocation).
    Incomplete(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing of the current request parsed yet.
    Start,
    /// Inside a multibulk array: this many arguments still to read.
    MultiBulk { remaining: usize },
    /// A `$<len>` header was read; waiting for the data.
    Bulk { remaining: usize, len: usize },
}

/// A resumable request decoder for one connection.
#[derive(Debug)]
pub struct RequestDecoder {
    state: State,
    /// Bytes of the current request already parsed.
    pos: usize,
    ranges: Vec<Range<usize>>,
    inline: Option<Vec<Vec<u8>>>,
}

impl Default for RequestDecoder {
    fn default() -> Self {
        RequestDecoder::new()
    }
}

/// Finds `\r` in `buf` from `from`, as Redis finds header ends.
fn find_cr(buf: &[u8], from: usize) -> Option<usize> {
    buf[from..]
        .iter()
        .position(|&b| b == b'\r')
        .map(|p| p + from)
}

fn parse_number(text: &[u8]) -> Option<i64> {
    crate::number::parse_i64(text)
}

impl RequestDecoder {
    /// A decoder waiting for the start of a request.
    pub fn new() -> RequestDecoder {
        RequestDecoder {
            state: State::Start,
            pos: 0,
            ranges: Vec::new(),
            inline: None,
        }
    }

    /// Decodes the request at the start of `buf`. After `Decoded::Request(n)` the caller
    /// reads the arguments with [`RequestDecoder::args`] and then drops `n` bytes from
    /// the front of its buffer before calling again. After `Incomplete`, it calls again
    /// with the same bytes plus more.
    pub fn decode(&mut self, buf: &[u8], limits: Limits) -> Result<Decoded, ProtocolError> {
        if self.state == State::Start {
            self.ranges.clear();
            self.inline = None;
            self.pos = 0;
            match buf.first() {
                None => return Ok(Decoded::Incomplete(1)),
                Some(b'*') => {}
                Some(_) => return self.decode_inline(buf),
            }
            let Some(cr) = find_cr(buf, 1) else {
                if buf.len() > MAX_INLINE_SIZE {
                    return Err(ProtocolError::MultibulkCountTooBig);
                }
                return Ok(Decoded::Incomplete(buf.len() + 1));
            };
            if cr + 2 > buf.len() {
                return Ok(Decoded::Incomplete(cr + 2));
            }
            let n = parse_number(&buf[1..cr]).ok_or(ProtocolError::InvalidMultibulkLength)?;
            if n > MAX_MULTIBULK_LEN {
                return Err(ProtocolError::InvalidMultibulkLength);
            }
            if !limits.authenticated && n > UNAUTHENTICATED_MULTIBULK_LEN {
                return Err(ProtocolError::UnauthenticatedMultibulkLength);
            }
            self.pos = cr + 2;
            if n <= 0 {
                return Ok(self.finish());
            }
            self.ranges.reserve((n as usize).min(1024));
            self.state = State::MultiBulk {
                remaining: n as usize,
            };
        }
        loop {
            match self.state {
                State::Start => unreachable!("handled above"),
                State::MultiBulk { remaining: 0 } => return Ok(self.finish()),
                State::MultiBulk { remaining } => {
                    let Some(&first) = buf.get(self.pos) else {
                        return Ok(Decoded::Incomplete(self.pos + 1));
                    };
                    let Some(cr) = find_cr(buf, self.pos) else {
                        if buf.len() - self.pos > MAX_INLINE_SIZE {
                            return Err(ProtocolError::BulkCountTooBig);
                        }
                        return Ok(Decoded::Incomplete(buf.len() + 1));
                    };
                    if cr + 2 > buf.len() {
                        return Ok(Decoded::Incomplete(cr + 2));
                    }
                    if first != b'$' {
                        return Err(ProtocolError::ExpectedBulk(first as char));
                    }
                    let len = parse_number(&buf[self.pos + 1..cr])
                        .filter(|&n| n >= 0 && n as u64 <= limits.max_bulk_len as u64)
                        .ok_or(ProtocolError::InvalidBulkLength)?;
                    if !limits.authenticated && len > UNAUTHENTICATED_BULK_LEN {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    self.pos = cr + 2;
                    self.state = State::Bulk {
                        remaining,
                        len: len as usize,
                    };
                }
                State::Bulk { remaining, len } => {
                    // Redis skips the two bytes after the data without checking them.
                    let end = self.pos + len + 2;
                    if buf.len() < end {
                        return Ok(Decoded::Incomplete(end));
                    }
                    self.ranges.push(self.pos..self.pos + len);
                    self.pos = end;
                    self.state = State::MultiBulk {
                        remaining: remaining - 1,
                    };
                }
            }
        }
    }

    fn decode_inline(&mut self, buf: &[u8]) -> Result<Decoded, ProtocolError> {
        let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
            if buf.len() > MAX_INLINE_SIZE {
                return Err(ProtocolError::InlineTooBig);
            }
            return Ok(Decoded::Incomplete(buf.len() + 1));
        };
        let mut line = &buf[..newline];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        let args = split_args(line).map_err(|_| ProtocolError::UnbalancedQuotes)?;
        self.inline = Some(args);
        self.pos = newline + 1;
        Ok(self.finish())
    }

    fn finish(&mut self) -> Decoded {
        self.state = State::Start;
        Decoded::Request(self.pos)
    }

    /// The arguments of the request just decoded; `buf` is the buffer passed to decode.
    pub fn args<'a>(&'a self, buf: &'a [u8]) -> Args<'a> {
        match &self.inline {
            Some(words) => Args::Owned(words),
            None => Args::Ranges {
                buf,
                ranges: &self.ranges,
            },
        }
    }
}

/// The arguments of one request, the command name first.
#[derive(Debug, Clone, Copy)]
pub enum Args<'a> {
    /// Slices of the connection's read buffer.
    Ranges {
        /// The buffer the ranges point into.
        buf: &'a [u8],
        /// One range per argument.
        ranges: &'a [Range<usize>],
    },
    /// Arguments that had to be copied (inline commands, internal calls).
    Owned(&'a [Vec<u8>]),
}

impl<'a> Args<'a> {
    /// Number of arguments, the command name included.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Args::Ranges { ranges, .. } => ranges.len(),
            Args::Owned(v) => v.len(),
        }
    }

    /// True for an empty request.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Argument `i`.
    ///
    /// # Panics
    /// If `i` is out of range; the command table checks arity before a handler runs.
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        match self {
            Args::Ranges { buf, ranges } => &buf[ranges[i].clone()],
            Args::Owned(v) => &v[i],
        }
    }

    /// Arguments from `start` on.
    pub fn iter_from(&self, start: usize) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let this = *self;
        (start.min(this.len())..this.len()).map(move |i| this.get(i))
    }

    /// Total bytes of all arguments.
    pub fn byte_len(&self) -> usize {
        self.iter_from(0).map(<[u8]>::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Limits = Limits {
        max_bulk_len: 512 * 1024 * 1024,
        authenticated: true,
    };

    fn decode_all(input: &[u8]) -> Result<Vec<Vec<String>>, ProtocolError> {
        let mut d = RequestDecoder::new();
        let mut buf = input;
        let mut out = Vec::new();
        loop {
            match d.decode(buf, OPEN)? {
                Decoded::Request(n) => {
                    let args = d.args(buf);
                    out.push(
                        args.iter_from(0)
                            .map(|a| String::from_utf8_lossy(a).into_owned())
                            .collect(),
                    );
                    buf = &buf[n..];
                }
                Decoded::Incomplete(_) => return Ok(out),
            }
        }
    }

    #[test]
    fn multibulk_and_inline_pipelined() {
        let got =
            decode_all(b"*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\nset \"x y\" z\n*0\r\n").unwrap();
        assert_eq!(
            got,
            vec![
                vec!["GET", "a"],
                vec!["PING"],
                vec!["set", "x y", "z"],
                vec![]
            ]
        );
    }

    #[test]
    fn byte_by_byte_gives_the_same_result() {
        let input = b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$0\r\n\r\nECHO hi\r\n";
        let mut d = RequestDecoder::new();
        let mut start = 0;
        let mut got = Vec::new();
        for end in 1..=input.len() {
            if let Decoded::Request(n) = d.decode(&input[start..end], OPEN).unwrap() {
                got.push(d.args(&input[start..end]).len());
                start += n;
            }
        }
        assert_eq!(got, vec![3, 2]);
        assert_eq!(start, input.len());
    }

    #[test]
    fn redis_quirks() {
        // Negative counts are empty requests; the two bytes after bulk data are not checked.
        assert_eq!(decode_all(b"*-1\r\n").unwrap(), vec![Vec::<String>::new()]);
        assert_eq!(
            decode_all(b"*1\r\n$4\r\nPINGxx").unwrap(),
            vec![vec!["PING"]]
        );
        assert_eq!(decode_all(b"\r\n").unwrap(), vec![Vec::<String>::new()]);
    }

    #[test]
    fn malformed_requests_get_redis_errors() {
        let cases: &[(&[u8], ProtocolError)] = &[
            (b"*a\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*9999999999\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*-0\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*2\r\n:3\r\n", ProtocolError::ExpectedBulk(':')),
            (b"*2\r\n$-5\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$-1\r\n", ProtocolError::InvalidBulkLength),
            (b"*2\r\n$999999999999\r\n", ProtocolError::InvalidBulkLength),
            (b"SET a \"b\r\n", ProtocolError::UnbalancedQuotes),
        ];
        for (input, want) in cases {
            assert_eq!(decode_all(input).as_ref(), Err(want), "{input:?}");
        }
    }

    #[test]
    fn oversized_headers() {
        let big = vec![b'a'; MAX_INLINE_SIZE + 1];
        assert_eq!(decode_all(&big), Err(ProtocolError::InlineTooBig));
        let mut mb = b"*".to_vec();
        mb.extend(vec![b'1'; MAX_INLINE_SIZE + 1]);
        assert_eq!(decode_all(&mb), Err(ProtocolError::MultibulkCountTooBig));
        let mut b = b"*1\r\n$".to_vec();
        b.extend(vec![b'1'; MAX_INLINE_SIZE + 1]);
        assert_eq!(decode_all(&b), Err(ProtocolError::BulkCountTooBig));
        let small = vec![b'a'; 1000];
        assert_eq!(decode_all(&small), Ok(vec![]), "short partial inline waits");
    }

    #[test]
    fn limits() {
        let mut d = RequestDecoder::new();
        let tight = Limits {
            max_bulk_len: 4,
            authenticated: true,
        };
        assert_eq!(
            d.decode(b"*1\r\n$5\r\n", tight),
            Err(ProtocolError::InvalidBulkLength)
        );
        let anon = Limits {
            max_bulk_len: 1 << 20,
            authenticated: false,
        };
        let mut d = RequestDecoder::new();
        assert_eq!(
            d.decode(b"*11\r\n", anon),
            Err(ProtocolError::UnauthenticatedMultibulkLength)
        );
        let mut d = RequestDecoder::new();
        assert_eq!(
            d.decode(b"*2\r\n$16385\r\n", anon),
            Err(ProtocolError::UnauthenticatedBulkLength)
        );
    }

    #[test]
    fn incomplete_reports_what_it_needs() {
        let mut d = RequestDecoder::new();
        assert_eq!(
            d.decode(b"*1\r\n$100\r\nab", OPEN),
            Ok(Decoded::Incomplete(4 + 6 + 102))
        );
    }
}
