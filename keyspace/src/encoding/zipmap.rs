//! A validating reader of Redis's zipmap, the small-hash encoding of RDB files written
//! before Redis 2.6 (object type 9). Redis 7.0 still loads it, converting it on load.
//!
//! Layout: a count byte (254 means "count them"), then per pair a length, the field,
//! a length, a free-space byte, the value and that many unused bytes, then 0xFF. A
//! length is one byte below 254, or 254 followed by a 4-byte little-endian length.

/// Why zipmap bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipmapError;

impl std::fmt::Display for ZipmapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("corrupt zipmap")
    }
}

/// A field and its value, as a zipmap holds them.
pub type ZipmapPair = (Vec<u8>, Vec<u8>);

const BIGLEN: u8 = 254;
const END: u8 = 255;

/// Reads a length at `*at`, advancing past it.
fn length(bytes: &[u8], at: &mut usize) -> Result<usize, ZipmapError> {
    let first = *bytes.get(*at).ok_or(ZipmapError)?;
    *at += 1;
    match first {
        END => Err(ZipmapError),
        BIGLEN => {
            let raw = bytes.get(*at..*at + 4).ok_or(ZipmapError)?;
            *at += 4;
            Ok(u32::from_le_bytes(raw.try_into().expect("4 bytes")) as usize)
        }
        n => Ok(usize::from(n)),
    }
}

/// Takes `n` bytes at `*at`, advancing past them.
fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], ZipmapError> {
    let end = at.checked_add(n).ok_or(ZipmapError)?;
    let out = bytes.get(*at..end).ok_or(ZipmapError)?;
    *at = end;
    Ok(out)
}

/// The field/value pairs of a zipmap, checked from end to end: every length within the
/// bytes, the count (when recorded) right, the end marker last.
pub fn zipmap_pairs(bytes: &[u8]) -> Result<Vec<ZipmapPair>, ZipmapError> {
    let count = *bytes.first().ok_or(ZipmapError)?;
    let mut at = 1;
    let mut pairs = Vec::new();
    loop {
        match bytes.get(at) {
            None => return Err(ZipmapError),
            Some(&END) => break,
            Some(_) => {}
        }
        let field_len = length(bytes, &mut at)?;
        let field = take(bytes, &mut at, field_len)?;
        let value_len = length(bytes, &mut at)?;
        let free = usize::from(*take(bytes, &mut at, 1)?.first().expect("one byte"));
        let value = take(bytes, &mut at, value_len)?;
        take(bytes, &mut at, free)?;
        pairs.push((field.to_vec(), value.to_vec()));
    }
    if at + 1 != bytes.len() || (count < BIGLEN && usize::from(count) != pairs.len()) {
        return Err(ZipmapError);
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_layout() {
        // {"foo": "bar", "hello": "world"} with one free byte after "bar".
        let zm = b"\x02\x03foo\x03\x01barX\x05hello\x05\x00world\xff";
        let pairs = zipmap_pairs(zm).unwrap();
        assert_eq!(pairs[0], (b"foo".to_vec(), b"bar".to_vec()));
        assert_eq!(pairs[1], (b"hello".to_vec(), b"world".to_vec()));
        let big = b"\xfe\xfe\x03\x00\x00\x00foo\x00\x00\xff";
        assert_eq!(zipmap_pairs(big).unwrap(), [(b"foo".to_vec(), vec![])]);
    }

    #[test]
    fn corrupt_zipmaps_are_errors() {
        for bad in [
            &b""[..],
            b"\x00",
            b"\x01\xff",
            b"\x01\x03foo\x03\x01bar\xff",
            b"\x01\x03foo\x03\x00bar\xff\x00",
            b"\x01\xfe\xff\xff\xff\xffab\xff",
            b"\x01\x03fo",
        ] {
            assert!(zipmap_pairs(bad).is_err(), "{bad:?}");
        }
    }
}
