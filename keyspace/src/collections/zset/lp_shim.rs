//! TEMPORARY stand-in for `crate::encoding::listpack` (branch `listpack`) with the same
//! API, so this branch compiles until it merges. Removed at the merge.
#![allow(dead_code, missing_docs)]

use crate::number::parse_i64;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Listpack(Vec<Vec<u8>>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LpEntry<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl LpEntry<'_> {
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            LpEntry::Int(n) => f(itoa::Buffer::new().format(*n).as_bytes()),
            LpEntry::Str(s) => f(s),
        }
    }
    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        self.with_bytes(|b| b == other)
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            LpEntry::Int(n) => Some(*n),
            LpEntry::Str(s) => parse_i64(s),
        }
    }
}

#[derive(Debug)]
pub struct ListpackError;

impl std::fmt::Display for ListpackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("corrupt listpack")
    }
}

fn entry(v: &[u8]) -> LpEntry<'_> {
    match parse_i64(v) {
        Some(n) if v.len() <= 20 => LpEntry::Int(n),
        _ => LpEntry::Str(v),
    }
}

impl Listpack {
    pub fn new() -> Self {
        Listpack(Vec::new())
    }
    pub fn from_bytes(_bytes: &[u8]) -> Result<Self, ListpackError> {
        Err(ListpackError)
    }
    pub fn as_bytes(&self) -> &[u8] {
        &[]
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn byte_len(&self) -> usize {
        self.0.iter().map(|e| e.len() + 2).sum::<usize>() + 7
    }
    pub fn get(&self, index: usize) -> Option<LpEntry<'_>> {
        self.0.get(index).map(|v| entry(v))
    }
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = LpEntry<'_>> + ExactSizeIterator {
        self.0.iter().map(|v| entry(v))
    }
    pub fn push_back(&mut self, value: &[u8]) {
        self.0.push(value.to_vec())
    }
    pub fn push_front(&mut self, value: &[u8]) {
        self.0.insert(0, value.to_vec())
    }
    pub fn push_back_int(&mut self, value: i64) {
        self.0.push(value.to_string().into_bytes())
    }
    pub fn insert(&mut self, index: usize, value: &[u8]) {
        self.0.insert(index, value.to_vec())
    }
    pub fn replace(&mut self, index: usize, value: &[u8]) {
        self.0[index] = value.to_vec()
    }
    pub fn remove(&mut self, index: usize) {
        self.0.remove(index);
    }
    pub fn remove_range(&mut self, index: usize, count: usize) {
        self.0.drain(index..index + count);
    }
    pub fn find(&self, value: &[u8], start: usize, step: usize) -> Option<usize> {
        (start..self.0.len())
            .step_by(step)
            .find(|&i| self.0[i] == value)
    }
}

pub fn ziplist_entries(_bytes: &[u8]) -> Result<Vec<Vec<u8>>, ListpackError> {
    Err(ListpackError)
}
