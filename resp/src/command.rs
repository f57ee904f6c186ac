//! The command encoder: a command as a RESP array of bulk strings, the one form every
//! server accepts whatever protocol version the connection speaks. MIGRATE, the
//! replication stream and clients all send commands this way, so they share this code.

/// Appends `args` as a RESP array of bulk strings.
pub fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        bulk(out, a);
    }
}

/// Appends `arg` as one RESP bulk string.
pub fn bulk(out: &mut Vec<u8>, arg: &[u8]) {
    bulk_header(out, arg.len());
    out.extend_from_slice(arg);
    out.extend_from_slice(b"\r\n");
}

/// Appends the `$<len>\r\n` that announces a bulk string of `len` bytes; a master also
/// sends an RDB payload behind one, without the trailing newline.
pub fn bulk_header(out: &mut Vec<u8>, len: usize) {
    out.push(b'$');
    out.extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, decode};

    #[test]
    fn a_command_is_an_array_of_bulk_strings() {
        let mut out = Vec::new();
        encode_command(&mut out, &[&b"SET"[..], b"k", b""]);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
        let (frame, used) = decode(&out, usize::MAX).expect("valid").expect("complete");
        assert_eq!(used, out.len());
        assert_eq!(
            frame,
            Frame::Array(vec![
                Frame::Bulk(b"SET".to_vec()),
                Frame::Bulk(b"k".to_vec()),
                Frame::Bulk(Vec::new()),
            ])
        );
    }

    #[test]
    fn an_empty_command_is_an_empty_array() {
        let mut out = Vec::new();
        encode_command(&mut out, &[]);
        assert_eq!(out, b"*0\r\n");
    }
}
