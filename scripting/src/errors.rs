//! Redis's shape of error texts inside Lua.

/// Turns an error reply (with or without its leading `-`) into the text a Lua error
/// table carries: `-CODE msg` loses the dash, a text without a dash or without a space
/// after its code gets the generic `ERR` code, and trailing CR/LF are trimmed.
pub fn normalize_error(text: &[u8]) -> Vec<u8> {
    let (code, msg): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", text),
    };
    let mut end = msg.len();
    while end > 0 && (msg[end - 1] == b'\r' || msg[end - 1] == b'\n') {
        end -= 1;
    }
    let mut out = Vec::with_capacity(code.len() + 1 + end);
    out.extend_from_slice(code);
    out.push(b' ');
    out.extend_from_slice(&msg[..end]);
    out
}

#[cfg(test)]
mod tests {
    use super::normalize_error;

    #[test]
    fn codes_are_kept_or_added() {
        assert_eq!(normalize_error(b"-My Error"), b"My Error");
        assert_eq!(normalize_error(b"-x"), b"ERR x");
        assert_eq!(normalize_error(b"x y"), b"ERR x y");
        assert_eq!(normalize_error(b"-WRONGTYPE bad\r\n"), b"WRONGTYPE bad");
    }
}
