//! A list's RDB forms: Redis 7.0 writes QUICKLIST_2 (type 18): the node count, then per
//! node its container (2: a packed listpack; 1: a plain single element) and the
//! listpack as an RDB string (an LZF blob for a compressed node). It still reads the
//! older forms: a plain list of strings (1), one ziplist (10), and a quicklist of
//! ziplists (14).

use super::{End, ListValue, Node};
use crate::encoding::listpack::Listpack;
use crate::encoding::ziplist::ziplist_entries;
use crate::rdb::encoding::{Source, put_length, put_string, read_plain_length, read_string};
use crate::rdb::{RdbError, ReadLimits, op};

/// Quicklist node containers.
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;
/// The special string encoding of an LZF blob.
const LZF_BLOB: u8 = 0xC0 | 3;

/// Appends the QUICKLIST_2 encoding of `list`.
pub(super) fn write(list: &ListValue, out: &mut Vec<u8>, compress: bool) {
    put_length(out, list.nodes.len() as u64);
    for node in &list.nodes {
        put_length(out, CONTAINER_PACKED);
        match node {
            Node::Raw(lp) => put_string(out, lp.as_bytes(), compress),
            // A compressed node goes out as its LZF bytes, whatever rdbcompression says,
            // as Redis does.
            Node::Lzf(c) => {
                out.push(LZF_BLOB);
                put_length(out, c.data().len() as u64);
                put_length(out, c.raw_len() as u64);
                out.extend_from_slice(c.data());
            }
        }
    }
}

fn corrupt<E>(_: E) -> RdbError {
    RdbError::Corrupt("invalid list node")
}

/// Reads a list of RDB type `kind`, with the node options of `limits`.
pub(super) fn read(
    src: &mut impl Source,
    kind: u8,
    limits: ReadLimits,
) -> Result<ListValue, RdbError> {
    let mut list = ListValue::new(&limits.encoding);
    match kind {
        op::TYPE_LIST => {
            for _ in 0..read_plain_length(src)? {
                list.push(&read_string(src, limits.max_len)?, End::Tail);
            }
        }
        op::TYPE_LIST_ZIPLIST => {
            let bytes = read_string(src, limits.max_len)?;
            for e in ziplist_entries(&bytes).map_err(corrupt)? {
                e.as_entry().with_bytes(|b| list.push(b, End::Tail));
            }
        }
        op::TYPE_LIST_QUICKLIST | op::TYPE_LIST_QUICKLIST_2 => {
            for _ in 0..read_plain_length(src)? {
                let container = if kind == op::TYPE_LIST_QUICKLIST_2 {
                    read_plain_length(src)?
                } else {
                    CONTAINER_PACKED
                };
                let bytes = read_string(src, limits.max_len)?;
                let lp = match container {
                    // Tessera keeps a plain node (an element over 1 GiB in Redis) as a
                    // node of one entry.
                    CONTAINER_PLAIN => Listpack::from_values([bytes.as_slice()]),
                    CONTAINER_PACKED if kind == op::TYPE_LIST_QUICKLIST_2 => {
                        Listpack::from_bytes(&bytes).map_err(corrupt)?
                    }
                    CONTAINER_PACKED => {
                        let entries = ziplist_entries(&bytes).map_err(corrupt)?;
                        let mut lp = Listpack::new();
                        for e in &entries {
                            e.as_entry().with_bytes(|b| lp.push_back(b));
                        }
                        lp
                    }
                    _ => return Err(RdbError::Corrupt("unknown quicklist container")),
                };
                list.append_node(lp);
            }
        }
        _ => return Err(RdbError::Corrupt("not a list type")),
    }
    if list.is_empty() {
        return Err(RdbError::Corrupt("empty list"));
    }
    list.settle_all();
    Ok(list)
}
