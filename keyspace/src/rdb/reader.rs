//! Reading RDB files.

use std::io::{BufReader, Read};

use super::encoding::{Source, read_plain_length, read_string};
use super::{RDB_VERSION, RdbError, ReadLimits, crc64, op};
use crate::collections::{HashValue, ListValue, SetValue, ZSetValue};
use crate::value::{StrValue, Value};

/// One key read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbEntry {
    /// The key.
    pub key: Vec<u8>,
    /// Its value.
    pub value: Value,
    /// Its deadline (Unix ms), if any.
    pub deadline: Option<i64>,
    /// Seconds since its last access, saved under an LRU policy.
    pub idle_seconds: Option<u64>,
    /// Its LFU counter, saved under an LFU policy.
    pub freq: Option<u8>,
}

/// One item of an RDB stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RdbItem {
    /// An auxiliary field.
    Aux(Vec<u8>, Vec<u8>),
    /// The following keys belong to this database.
    SelectDb(u64),
    /// Size hints for the current database.
    ResizeDb {
        /// Keys.
        keys: u64,
        /// Keys with a deadline.
        volatile: u64,
    },
    /// A key.
    Entry(RdbEntry),
    /// A function library's code (RDB_OPCODE_FUNCTION2).
    Library(Vec<u8>),
    /// The end; the checksum was verified.
    End,
}

/// Reads a value of object type `kind` (the form DUMP payloads use too).
pub fn decode_value(
    src: &mut impl Source,
    kind: u8,
    limits: ReadLimits,
) -> Result<Value, RdbError> {
    match kind {
        op::TYPE_STRING => Ok(Value::Str(StrValue::from_vec(read_string(
            src,
            limits.max_len,
        )?))),
        op::TYPE_LIST
        | op::TYPE_LIST_ZIPLIST
        | op::TYPE_LIST_QUICKLIST
        | op::TYPE_LIST_QUICKLIST_2 => Ok(Value::List(Box::new(ListValue::read_rdb(
            src, kind, limits,
        )?))),
        op::TYPE_SET | op::TYPE_SET_INTSET => {
            Ok(Value::Set(Box::new(SetValue::read_rdb(src, kind, limits)?)))
        }
        op::TYPE_ZSET | op::TYPE_ZSET_2 | op::TYPE_ZSET_ZIPLIST | op::TYPE_ZSET_LISTPACK => Ok(
            Value::ZSet(Box::new(ZSetValue::read_rdb(src, kind, limits)?)),
        ),
        op::TYPE_HASH | op::TYPE_HASH_ZIPMAP | op::TYPE_HASH_ZIPLIST | op::TYPE_HASH_LISTPACK => {
            Ok(Value::Hash(Box::new(HashValue::read_rdb(
                src, kind, limits,
            )?)))
        }
        other => Err(RdbError::UnsupportedType(other)),
    }
}

struct CrcSource<R: Read> {
    inner: BufReader<R>,
    crc: u64,
}

impl<R: Read> Source for CrcSource<R> {
    fn take(&mut self, n: usize) -> Result<Vec<u8>, RdbError> {
        // Read in pieces so a corrupt huge length fails at the end of the data instead
        // of allocating its claimed size up front.
        let mut out = Vec::with_capacity(n.min(1 << 20));
        while out.len() < n {
            let start = out.len();
            out.resize(start + (n - start).min(1 << 20), 0);
            self.inner.read_exact(&mut out[start..])?;
        }
        self.crc = crc64::update(self.crc, &out);
        Ok(out)
    }
}

/// A streaming RDB reader.
pub struct RdbReader<R: Read> {
    src: CrcSource<R>,
    version: u32,
    limits: ReadLimits,
    done: bool,
}

impl<R: Read> RdbReader<R> {
    /// Checks the header. Strings longer than `limits.max_len` are treated as corruption.
    pub fn new(input: R, limits: ReadLimits) -> Result<RdbReader<R>, RdbError> {
        let mut src = CrcSource {
            inner: BufReader::with_capacity(1 << 16, input),
            crc: 0,
        };
        let header = src.take(9)?;
        if &header[..5] != b"REDIS" {
            return Err(RdbError::BadMagic);
        }
        let version: u32 = std::str::from_utf8(&header[5..])
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or(RdbError::BadMagic)?;
        if !(1..=RDB_VERSION).contains(&version) {
            return Err(RdbError::UnsupportedVersion(version));
        }
        Ok(RdbReader {
            src,
            version,
            limits,
            done: false,
        })
    }

    /// The format version of the file.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The next item; after [`RdbItem::End`] there is nothing more.
    pub fn next_item(&mut self) -> Result<RdbItem, RdbError> {
        if self.done {
            return Ok(RdbItem::End);
        }
        let (mut deadline, mut idle_seconds, mut freq) = (None, None, None);
        loop {
            let code = self.src.byte()?;
            match code {
                op::EOF => return self.finish(),
                op::SELECTDB => return Ok(RdbItem::SelectDb(read_plain_length(&mut self.src)?)),
                op::RESIZEDB => {
                    let keys = read_plain_length(&mut self.src)?;
                    let volatile = read_plain_length(&mut self.src)?;
                    return Ok(RdbItem::ResizeDb { keys, volatile });
                }
                op::AUX => {
                    let key = read_string(&mut self.src, self.limits.max_len)?;
                    let value = read_string(&mut self.src, self.limits.max_len)?;
                    return Ok(RdbItem::Aux(key, value));
                }
                op::EXPIRETIME_MS => {
                    let bytes = self.src.take(8)?;
                    deadline = Some(i64::from_le_bytes(bytes.try_into().expect("8 bytes")));
                }
                op::EXPIRETIME => {
                    let bytes = self.src.take(4)?;
                    let secs = i32::from_le_bytes(bytes.try_into().expect("4 bytes"));
                    deadline = Some(i64::from(secs) * 1000);
                }
                // LRU/LFU hints apply to the next key.
                op::FREQ => {
                    freq = Some(self.src.byte()?);
                }
                op::IDLE => {
                    idle_seconds = Some(read_plain_length(&mut self.src)?);
                }
                op::FUNCTION2 => {
                    let code = read_string(&mut self.src, self.limits.max_len)?;
                    return Ok(RdbItem::Library(code));
                }
                op::MODULE_AUX | op::FUNCTION_PRE_GA => {
                    return Err(RdbError::UnsupportedOpcode(code));
                }
                kind => {
                    let key = read_string(&mut self.src, self.limits.max_len)?;
                    let value = decode_value(&mut self.src, kind, self.limits)?;
                    return Ok(RdbItem::Entry(RdbEntry {
                        key,
                        value,
                        deadline,
                        idle_seconds,
                        freq,
                    }));
                }
            }
        }
    }

    fn finish(&mut self) -> Result<RdbItem, RdbError> {
        self.done = true;
        if self.version >= 5 {
            let computed = self.src.crc;
            let mut stored = [0u8; 8];
            self.src.inner.read_exact(&mut stored)?;
            let stored = u64::from_le_bytes(stored);
            // A zero checksum means the writer had rdbchecksum off.
            if stored != 0 && stored != computed {
                return Err(RdbError::ChecksumMismatch);
            }
        }
        Ok(RdbItem::End)
    }
}
