//! Writing RDB files.

use std::io::{self, Write};

use super::encoding::{put_integer_string, put_length, put_string};
use super::{RDB_VERSION, crc64, op};
use crate::value::Value;

/// The value of an auxiliary field.
#[derive(Debug, Clone, Copy)]
pub enum AuxValue<'a> {
    /// Text.
    Text(&'a [u8]),
    /// An integer (stored in integer encoding, as Redis stores ctime and used-mem).
    Int(i64),
    /// Not an aux field: a function library's code, written (its key ignored) as an
    /// RDB_OPCODE_FUNCTION2 record. Redis writes libraries after the aux fields and
    /// before the databases, so they go last among the aux values.
    Library(&'a [u8]),
}

/// Appends a function library's record: opcode 245 and its code as a string.
pub fn encode_library(out: &mut Vec<u8>, code: &[u8], compress: bool) {
    out.push(op::FUNCTION2);
    put_string(out, code, compress);
}

/// Appends a value's type byte and encoding (the form DUMP payloads use too).
pub fn encode_value(out: &mut Vec<u8>, value: &Value, compress: bool) {
    out.push(type_byte(value));
    encode_payload(out, value, compress);
}

/// The RDB object type a value is written as.
fn type_byte(value: &Value) -> u8 {
    match value {
        Value::Str(_) => op::TYPE_STRING,
        Value::List(l) => l.rdb_type(),
        Value::Hash(h) => h.rdb_type(),
        Value::Set(s) => s.rdb_type(),
        Value::ZSet(z) => z.rdb_type(),
    }
}

/// Appends a value's encoding without its type byte.
fn encode_payload(out: &mut Vec<u8>, value: &Value, compress: bool) {
    match value {
        Value::Str(s) => match s.as_i64() {
            Some(n) if s.encoding() == crate::value::Encoding::Int => put_integer_string(out, n),
            _ => s.with_bytes(|b| put_string(out, b, compress)),
        },
        Value::List(l) => l.write_rdb(out, compress),
        Value::Hash(h) => h.write_rdb(out, compress),
        Value::Set(s) => s.write_rdb(out, compress),
        Value::ZSet(z) => z.write_rdb(out, compress),
    }
}

/// Appends one key with its value and optional deadline (Unix ms).
pub fn encode_entry(
    out: &mut Vec<u8>,
    key: &[u8],
    value: &Value,
    deadline: Option<i64>,
    compress: bool,
) {
    if let Some(at) = deadline {
        out.push(op::EXPIRETIME_MS);
        out.extend_from_slice(&at.to_le_bytes());
    }
    // The type byte comes before the key, the payload after it.
    out.push(type_byte(value));
    put_string(out, key, compress);
    encode_payload(out, value, compress);
}

/// A streaming RDB writer that keeps the running checksum.
pub struct RdbWriter<W: Write> {
    out: W,
    crc: u64,
}

impl<W: Write> RdbWriter<W> {
    /// Writes the header.
    pub fn new(out: W) -> io::Result<RdbWriter<W>> {
        let mut w = RdbWriter { out, crc: 0 };
        w.raw(format!("REDIS{RDB_VERSION:04}").as_bytes())?;
        Ok(w)
    }

    /// Writes bytes that are already RDB-encoded.
    pub fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.crc = crc64::update(self.crc, bytes);
        self.out.write_all(bytes)
    }

    /// Writes an auxiliary field.
    pub fn aux(&mut self, key: &str, value: AuxValue<'_>) -> io::Result<()> {
        if let AuxValue::Library(code) = value {
            let mut buf = Vec::with_capacity(code.len() + 8);
            encode_library(&mut buf, code, true);
            return self.raw(&buf);
        }
        let mut buf = vec![op::AUX];
        put_string(&mut buf, key.as_bytes(), false);
        match value {
            AuxValue::Text(t) => put_string(&mut buf, t, false),
            AuxValue::Int(n) => put_integer_string(&mut buf, n),
            AuxValue::Library(_) => unreachable!("written above"),
        }
        self.raw(&buf)
    }

    /// Starts database `db`, announcing its sizes.
    pub fn start_db(&mut self, db: usize, keys: u64, volatile: u64) -> io::Result<()> {
        let mut buf = vec![op::SELECTDB];
        put_length(&mut buf, db as u64);
        buf.push(op::RESIZEDB);
        put_length(&mut buf, keys);
        put_length(&mut buf, volatile);
        self.raw(&buf)
    }

    /// Writes the end marker and the checksum; returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.raw(&[op::EOF])?;
        let crc = self.crc;
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}
