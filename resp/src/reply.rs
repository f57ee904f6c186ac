//! Encoding replies in RESP2 or RESP3.
//!
//! Handlers write replies through [`Reply`] without caring which protocol the client
//! speaks: a map becomes a flat array in RESP2, a null `$-1`, a double a bulk string.
//! Replies accumulate in one buffer per connection and leave in one write per batch.

/// The reply buffer of one connection.
#[derive(Debug, Default)]
pub struct Reply {
    buf: Vec<u8>,
    resp3: bool,
    errors: u64,
}

impl Reply {
    /// An empty RESP2 reply buffer.
    pub fn new() -> Reply {
        Reply::default()
    }

    /// Switches between RESP2 and RESP3 encoding for what is written next.
    pub fn set_resp3(&mut self, resp3: bool) {
        self.resp3 = resp3;
    }

    /// True when encoding RESP3.
    pub fn is_resp3(&self) -> bool {
        self.resp3
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends bytes that are already a complete reply (one saved earlier).
    pub fn append_raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Drops what was written after `len` (CLIENT REPLY OFF/SKIP).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// Empties the buffer after it was sent, releasing memory a huge reply left behind.
    pub fn clear(&mut self) {
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
    }

    /// Error replies written since the last call; for INFO's total_error_replies.
    pub fn take_error_count(&mut self) -> u64 {
        std::mem::take(&mut self.errors)
    }

    fn line(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A simple string; CR and LF are replaced by spaces to keep the frame valid.
    pub fn simple(&mut self, text: &str) {
        self.buf.push(b'+');
        self.buf.extend(
            text.bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error. `message` starts with the error code (`ERR ...`, `WRONGTYPE ...`).
    pub fn error(&mut self, message: &str) {
        self.errors += 1;
        self.buf.push(b'-');
        self.buf.extend(
            message
                .bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer.
    pub fn int(&mut self, n: i64) {
        self.line(b':', n);
    }

    /// A bulk string.
    pub fn bulk(&mut self, data: &[u8]) {
        self.line(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer sent as a bulk string (GET of an integer-encoded value).
    pub fn bulk_i64(&mut self, n: i64) {
        self.bulk(itoa::Buffer::new().format(n).as_bytes());
    }

    /// A null: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// A null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    /// The header of an array of `n` elements.
    pub fn array(&mut self, n: usize) {
        self.line(b'*', n as i64);
    }

    /// The header of a push of `n` elements (`>` in RESP3, an array in RESP2): what
    /// pub/sub messages and subscription confirmations are.
    pub fn push(&mut self, n: usize) {
        self.line(if self.resp3 { b'>' } else { b'*' }, n as i64);
    }

    /// The header of a map of `n` pairs (an array of 2n elements in RESP2).
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.line(b'%', n as i64);
        } else {
            self.line(b'*', 2 * n as i64);
        }
    }

    /// The header of a set of `n` elements (an array in RESP2).
    pub fn set(&mut self, n: usize) {
        self.line(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }

    /// A boolean (`:1`/`:0` in RESP2).
    pub fn boolean(&mut self, b: bool) {
        if self.resp3 {
            self.buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(i64::from(b));
        }
    }

    /// A double (a bulk string in RESP2), printed as Redis prints it.
    pub fn double(&mut self, d: f64) {
        let text = format_double(d);
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// Plain text (a RESP3 verbatim string of format `txt`, a bulk string in RESP2).
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.line(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// An array of bulk strings.
    pub fn bulk_array<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.array(items.len());
        for item in items {
            self.bulk(item);
        }
    }
}

/// A double as Redis prints it: `inf`, `-inf`, `nan`, or the shortest text that reads
/// back to the same value.
pub fn format_double(d: f64) -> String {
    if d.is_infinite() {
        if d > 0.0 { "inf".into() } else { "-inf".into() }
    } else if d.is_nan() {
        "nan".into()
    } else {
        format!("{d}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(f: impl Fn(&mut Reply)) -> (String, String) {
        let mut r2 = Reply::new();
        f(&mut r2);
        let mut r3 = Reply::new();
        r3.set_resp3(true);
        f(&mut r3);
        (
            String::from_utf8(r2.buf).unwrap(),
            String::from_utf8(r3.buf).unwrap(),
        )
    }

    #[test]
    fn every_reply_type_in_both_protocols() {
        assert_eq!(both(|r| r.ok()), ("+OK\r\n".into(), "+OK\r\n".into()));
        assert_eq!(both(|r| r.int(-3)).0, ":-3\r\n");
        assert_eq!(both(|r| r.bulk(b"hi")).1, "$2\r\nhi\r\n");
        assert_eq!(both(|r| r.null()), ("$-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(|r| r.null_array()), ("*-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(|r| r.map(2)), ("*4\r\n".into(), "%2\r\n".into()));
        assert_eq!(both(|r| r.set(2)), ("*2\r\n".into(), "~2\r\n".into()));
        assert_eq!(
            both(|r| r.boolean(true)),
            (":1\r\n".into(), "#t\r\n".into())
        );
        assert_eq!(
            both(|r| r.double(1.5)),
            ("$3\r\n1.5\r\n".into(), ",1.5\r\n".into())
        );
        assert_eq!(
            both(|r| r.verbatim(b"a\n")),
            ("$2\r\na\n\r\n".into(), "=6\r\ntxt:a\n\r\n".into())
        );
        assert_eq!(both(|r| r.error("ERR x\r\ny")).0, "-ERR x  y\r\n");
        assert_eq!(both(|r| r.simple("a\nb")).0, "+a b\r\n");
    }

    #[test]
    fn counts_errors() {
        let mut r = Reply::new();
        r.error("ERR a");
        r.ok();
        r.error("WRONGTYPE b");
        assert_eq!(r.take_error_count(), 2);
        assert_eq!(r.take_error_count(), 0);
    }
}
