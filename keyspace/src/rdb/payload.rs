//! DUMP / RESTORE payloads: one value in its RDB object encoding, then the RDB version
//! (u16, little-endian) and a CRC64 of everything before it (u64, little-endian).
//! What MIGRATE carries between nodes, byte for byte as Redis 7.0 writes and reads it.

use super::encoding::Source;
use super::{RDB_VERSION, RdbError, ReadLimits, crc64, decode_value, encode_value};
use crate::value::Value;

/// Why a payload was refused (Redis's two error texts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DumpError {
    /// Too short, a newer RDB version, or a checksum mismatch.
    #[error("DUMP payload version or checksum are wrong")]
    VersionOrChecksum,
    /// The value itself does not decode.
    #[error("Bad data format")]
    BadFormat,
}

/// The DUMP payload of `value`.
pub fn dump(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(&mut out, value, true);
    seal(out)
}

/// Appends the payload footer to `body`: the RDB version and the CRC64 of everything
/// before the CRC. FUNCTION DUMP uses the same framing around its libraries.
pub fn seal(mut body: Vec<u8>) -> Vec<u8> {
    body.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    body
}

/// The FUNCTION DUMP payload of the libraries' `codes`: a FUNCTION2 record each.
pub fn dump_libraries<'a>(codes: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        super::writer::encode_library(&mut out, code, true);
    }
    seal(out)
}

/// The libraries' codes of a FUNCTION RESTORE payload, or Redis's error text.
pub fn restore_libraries(payload: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let body = open(payload).map_err(|e| e.to_string())?;
    let mut src = Slice(body);
    let mut codes = Vec::new();
    while !src.0.is_empty() {
        let kind = src
            .byte()
            .map_err(|_| "can not read data type".to_string())?;
        if kind != super::op::FUNCTION2 {
            return Err("given type is not a function".into());
        }
        let code = super::encoding::read_string(&mut src, u64::MAX)
            .map_err(|_| "failed loading the given functions payload".to_string())?;
        codes.push(code);
    }
    Ok(codes)
}

/// Checks a payload's footer and returns what it frames.
pub fn open(payload: &[u8]) -> Result<&[u8], DumpError> {
    if payload.len() < 10 {
        return Err(DumpError::VersionOrChecksum);
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let crc = u64::from_le_bytes(footer[2..10].try_into().expect("8 bytes"));
    if u32::from(version) > RDB_VERSION || crc64(&payload[..payload.len() - 8]) != crc {
        return Err(DumpError::VersionOrChecksum);
    }
    Ok(body)
}

/// Reads a DUMP payload. Bytes left over after the value are accepted, as Redis
/// accepts them.
pub fn restore(payload: &[u8], limits: ReadLimits) -> Result<Value, DumpError> {
    let mut src = Slice(open(payload)?);
    let kind = src.byte().map_err(|_| DumpError::BadFormat)?;
    decode_value(&mut src, kind, limits).map_err(|_| DumpError::BadFormat)
}

/// RDB bytes in memory, read front to back (DUMP payloads; tests' hand-built input).
pub(crate) struct Slice<'a>(pub(crate) &'a [u8]);

impl Source for Slice<'_> {
    fn take(&mut self, n: usize) -> Result<Vec<u8>, RdbError> {
        if self.0.len() < n {
            return Err(RdbError::Corrupt("payload ends early"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::StrValue;

    fn s(b: &[u8]) -> Value {
        Value::Str(StrValue::new(b))
    }

    #[test]
    fn matches_what_redis_7_dumps() {
        // DUMP of "hello" and of 12345 from redis-server 7.0.15 (the reference, §12).
        let hello = dump(&s(b"hello"));
        assert_eq!(&hello[..9], b"\x00\x05hello\x0a\x00");
        assert_eq!(hello.len(), 17);
        let n = dump(&s(b"12345"));
        assert_eq!(&n[..6], b"\x00\xc1\x39\x30\x0a\x00");
        assert_eq!(
            restore(&hello, ReadLimits::new(1 << 20)).unwrap(),
            s(b"hello")
        );
        assert_eq!(restore(&n, ReadLimits::new(1 << 20)).unwrap(), s(b"12345"));
        let long = s(&b"abc".repeat(1000));
        assert_eq!(
            restore(&dump(&long), ReadLimits::new(1 << 20)).unwrap(),
            long
        );
    }

    #[test]
    fn refuses_what_redis_refuses() {
        let mut p = dump(&s(b"hello"));
        assert_eq!(
            restore(&p[..5], ReadLimits::new(1 << 20)),
            Err(DumpError::VersionOrChecksum)
        );
        let last = p.len() - 1;
        p[last] ^= 1;
        assert_eq!(
            restore(&p, ReadLimits::new(1 << 20)),
            Err(DumpError::VersionOrChecksum)
        );
        // Version 11 with a valid checksum.
        let mut newer = b"\x00\x01x".to_vec();
        newer.extend_from_slice(&11u16.to_le_bytes());
        let crc = crc64(&newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            restore(&newer, ReadLimits::new(1 << 20)),
            Err(DumpError::VersionOrChecksum)
        );
        // An unknown type with a valid checksum.
        let mut odd = b"\x63\x01x".to_vec();
        odd.extend_from_slice(&10u16.to_le_bytes());
        let crc = crc64(&odd);
        odd.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            restore(&odd, ReadLimits::new(1 << 20)),
            Err(DumpError::BadFormat)
        );
    }
}
