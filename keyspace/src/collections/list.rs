//! A list value: Redis 7.0's quicklist, a sequence of listpack nodes.
//!
//! Redis 7.0 stores every list this way (OBJECT ENCODING always says `quicklist`). Each
//! node is a listpack bounded by `list-max-listpack-size` (a positive count, or -1 to -5
//! for 4 to 64 KiB), and with `list-compress-depth` N every node but the N at each end
//! is kept LZF-compressed. The rules for when a node is full, when neighbours merge and
//! which nodes are compressed follow Redis's quicklist.c, so the nodes (and hence
//! memory and DUMP payloads) come out as Redis's do. Both options are fixed when a
//! list is created, as in Redis: a later CONFIG SET applies to lists created after it.

use std::collections::VecDeque;

use crate::EncodingLimits;
use crate::encoding::listpack::{Listpack, LpEntry};
use crate::rdb::encoding::Source;
use crate::rdb::lzf;
use crate::rdb::{RdbError, ReadLimits};
use crate::value::Encoding;

#[path = "list_rdb.rs"]
mod rdb;

/// Most entries a count-limited node holds (Redis's FILL_MAX).
const FILL_MAX: i64 = 1 << 15;
/// Most nodes kept uncompressed at each end (Redis's COMPRESS_MAX).
const COMPRESS_MAX: usize = (1 << 16) - 1;
/// A count-limited node never grows past this many bytes.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// What an insertion is assumed to add to a node beyond the element's length.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// Byte limits of fill -1 to -5.
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Nodes smaller than this are not worth compressing.
const MIN_COMPRESS_BYTES: usize = 48;
/// Compression must save more than this many bytes to be kept.
const MIN_COMPRESS_IMPROVE: usize = 8;
/// Bytes of a listpack's header and terminator.
const LP_OVERHEAD: usize = 7;
/// What Redis 7.0 subtracts from two nodes' sizes to estimate their merged size: a
/// ziplist's header and terminator (11), a leftover of ziplist days it still uses.
const MERGE_OVERHEAD: usize = 11;

/// A compressed node in one allocation: the listpack's size and entry count (u32 each,
/// little-endian), then its LZF bytes. One boxed slice keeps [`Node`] at 24 bytes.
#[derive(Clone, Debug)]
struct Compressed(Box<[u8]>);

impl Compressed {
    fn new(lzf: &[u8], raw_len: usize, count: usize) -> Compressed {
        let mut bytes = Vec::with_capacity(8 + lzf.len());
        bytes.extend_from_slice(&(raw_len as u32).to_le_bytes());
        bytes.extend_from_slice(&(count as u32).to_le_bytes());
        bytes.extend_from_slice(lzf);
        Compressed(bytes.into_boxed_slice())
    }

    fn field(&self, at: usize) -> usize {
        u32::from_le_bytes(self.0[at..at + 4].try_into().expect("4 bytes")) as usize
    }

    /// The listpack's size in bytes.
    fn raw_len(&self) -> usize {
        self.field(0)
    }

    fn count(&self) -> usize {
        self.field(4)
    }

    /// The LZF bytes.
    fn data(&self) -> &[u8] {
        &self.0[8..]
    }
}

/// One quicklist node.
#[derive(Clone, Debug)]
enum Node {
    Raw(Listpack),
    Lzf(Compressed),
}

impl Node {
    fn count(&self) -> usize {
        match self {
            Node::Raw(lp) => lp.len(),
            Node::Lzf(c) => c.count(),
        }
    }

    /// The listpack's size in bytes (Redis's `node->sz`), compressed or not.
    fn byte_len(&self) -> usize {
        match self {
            Node::Raw(lp) => lp.byte_len(),
            Node::Lzf(c) => c.raw_len(),
        }
    }

    fn decompressed(c: &Compressed) -> Listpack {
        let bytes = lzf::decompress(c.data(), c.raw_len()).expect("we compressed this node");
        Listpack::from_bytes(&bytes).expect("we compressed a valid listpack")
    }

    /// Runs `f` on the node's listpack, decompressing a copy if needed.
    fn with_lp<R>(&self, f: impl FnOnce(&Listpack) -> R) -> R {
        match self {
            Node::Raw(lp) => f(lp),
            Node::Lzf(c) => f(&Node::decompressed(c)),
        }
    }

    /// The node's listpack for modification, decompressing it in place.
    fn raw(&mut self) -> &mut Listpack {
        if let Node::Lzf(c) = self {
            *self = Node::Raw(Node::decompressed(c));
        }
        match self {
            Node::Raw(lp) => lp,
            Node::Lzf(_) => unreachable!("just decompressed"),
        }
    }

    fn into_lp(self) -> Listpack {
        match self {
            Node::Raw(lp) => lp,
            Node::Lzf(c) => Node::decompressed(&c),
        }
    }

    /// Compresses the node when it is big enough and LZF saves enough, as Redis does.
    fn compress(&mut self) {
        let Node::Raw(lp) = self else { return };
        let sz = lp.byte_len();
        if sz < MIN_COMPRESS_BYTES {
            return;
        }
        if let Some(data) = lzf::compress(lp.as_bytes(), sz - MIN_COMPRESS_IMPROVE) {
            *self = Node::Lzf(Compressed::new(&data, sz, lp.len()));
        }
    }
}

/// A list value.
#[derive(Debug, Clone)]
pub struct ListValue {
    nodes: VecDeque<Node>,
    len: usize,
    /// list-max-listpack-size when the list was created.
    fill: i32,
    /// list-compress-depth when the list was created.
    depth: usize,
}

impl PartialEq for ListValue {
    /// Lists are equal when their elements are, whatever their nodes.
    fn eq(&self, other: &Self) -> bool {
        if self.len != other.len {
            return false;
        }
        let mut a = Vec::new();
        let mut b = Vec::new();
        self.for_each_element(|e| a.push(e.to_vec()));
        other.for_each_element(|e| b.push(e.to_vec()));
        a == b
    }
}

impl Eq for ListValue {}

/// Whether `sz` bytes meet the byte limit of a negative fill.
fn meets_size_limit(sz: usize, fill: i32) -> bool {
    fill < 0
        && OPTIMIZATION_LEVEL
            .get((-fill - 1) as usize)
            .is_some_and(|&limit| sz <= limit)
}

/// Whether an element of `sz` bytes may join `node`. Redis estimates the growth as the
/// element's length plus 8 (an overestimate: an integer takes less).
fn allow_insert(node: &Node, fill: i32, sz: usize) -> bool {
    let new_sz = node.byte_len() + sz + SIZE_ESTIMATE_OVERHEAD;
    if meets_size_limit(new_sz, fill) {
        true
    } else if new_sz > SIZE_SAFETY_LIMIT {
        false
    } else {
        (node.count() as i64) < i64::from(fill)
    }
}

/// Whether two neighbouring nodes may become one.
fn allow_merge(a: &Node, b: &Node, fill: i32) -> bool {
    let merged = (a.byte_len() + b.byte_len()).saturating_sub(MERGE_OVERHEAD);
    if meets_size_limit(merged, fill) {
        true
    } else if merged > SIZE_SAFETY_LIMIT {
        false
    } else {
        ((a.count() + b.count()) as i64) <= i64::from(fill)
    }
}

/// A listpack holding `a`'s entries then `b`'s, their bytes kept as they are.
fn concat(a: &Listpack, b: &Listpack) -> Listpack {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut bytes = Vec::with_capacity(a.len() + b.len() - LP_OVERHEAD);
    bytes.extend_from_slice(&a[..a.len() - 1]);
    bytes.extend_from_slice(&b[6..]);
    let total = bytes.len() as u32;
    bytes[..4].copy_from_slice(&total.to_le_bytes());
    let ca = u16::from_le_bytes([a[4], a[5]]);
    let cb = u16::from_le_bytes([b[4], b[5]]);
    let count = match (ca, cb) {
        (u16::MAX, _) | (_, u16::MAX) => u16::MAX,
        _ => u16::try_from(u32::from(ca) + u32::from(cb)).unwrap_or(u16::MAX),
    };
    bytes[4..6].copy_from_slice(&count.to_le_bytes());
    Listpack::from_bytes(&bytes).expect("two valid listpacks concatenate to one")
}

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head (LEFT).
    Head,
    /// The tail (RIGHT).
    Tail,
}

impl ListValue {
    /// An empty list with the node options of `limits`.
    pub fn new(limits: &EncodingLimits) -> ListValue {
        ListValue {
            nodes: VecDeque::new(),
            len: 0,
            fill: limits.list_max_listpack_size.clamp(-5, FILL_MAX) as i32,
            depth: limits.list_compress_depth.min(COMPRESS_MAX),
        }
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> Encoding {
        Encoding::Quicklist
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no elements (such a list is deleted by its caller).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of nodes (for tests and memory reports).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The number of elements in each node, head to tail (tests compare node layouts
    /// with redis-server's by restoring its DUMP payloads).
    pub fn node_lengths(&self) -> Vec<usize> {
        self.nodes.iter().map(Node::count).collect()
    }

    /// Bytes the value holds on the heap, roughly (MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        let nodes: usize = self
            .nodes
            .iter()
            .map(|n| match n {
                Node::Raw(lp) => lp.capacity(),
                Node::Lzf(c) => c.0.len(),
            })
            .sum();
        nodes + self.nodes.capacity() * std::mem::size_of::<Node>()
    }

    /// Calls `f` with every element, head to tail.
    pub fn for_each_element(&self, mut f: impl FnMut(&[u8])) {
        self.for_each_entry(|e| e.with_bytes(&mut f));
    }

    /// Calls `f` with every element as a listpack entry, head to tail.
    pub fn for_each_entry(&self, mut f: impl FnMut(LpEntry<'_>)) {
        for node in &self.nodes {
            node.with_lp(|lp| lp.iter().for_each(&mut f));
        }
    }

    /// Calls `f` with the elements from index `start` on, `count` of them, in order
    /// (`reverse`: from `start` towards the head).
    pub fn for_each_in_range(
        &self,
        start: usize,
        count: usize,
        reverse: bool,
        mut f: impl FnMut(LpEntry<'_>),
    ) {
        if count == 0 || start >= self.len {
            return;
        }
        let (mut node, offset) = self.locate(start);
        let mut left = count;
        if reverse {
            let mut take_from = Some(offset);
            loop {
                self.nodes[node].with_lp(|lp| {
                    let skip = lp.len() - 1 - take_from.take().unwrap_or(lp.len() - 1);
                    for e in lp.iter().rev().skip(skip).take(left) {
                        f(e);
                        left -= 1;
                    }
                });
                if left == 0 || node == 0 {
                    return;
                }
                node -= 1;
            }
        } else {
            let mut skip = offset;
            while left > 0 && node < self.nodes.len() {
                self.nodes[node].with_lp(|lp| {
                    for e in lp.iter().skip(skip).take(left) {
                        f(e);
                        left -= 1;
                    }
                });
                skip = 0;
                node += 1;
            }
        }
    }

    /// Visits elements from the head (or the tail) with how many came before, until `f`
    /// answers false.
    pub fn scan(&self, from_tail: bool, mut f: impl FnMut(usize, LpEntry<'_>) -> bool) {
        let mut seen = 0;
        let mut visit = |lp: &Listpack| -> bool {
            let mut go = |e: LpEntry<'_>| {
                let more = f(seen, e);
                seen += 1;
                more
            };
            if from_tail {
                lp.iter().rev().all(&mut go)
            } else {
                lp.iter().all(&mut go)
            }
        };
        if from_tail {
            for node in self.nodes.iter().rev() {
                if !node.with_lp(&mut visit) {
                    return;
                }
            }
        } else {
            for node in &self.nodes {
                if !node.with_lp(&mut visit) {
                    return;
                }
            }
        }
    }

    /// The node holding index `index` (< len) and the offset in it, walking from the
    /// nearer end.
    fn locate(&self, index: usize) -> (usize, usize) {
        debug_assert!(index < self.len);
        if index < self.len / 2 {
            let mut seen = 0;
            for (i, node) in self.nodes.iter().enumerate() {
                let c = node.count();
                if index < seen + c {
                    return (i, index - seen);
                }
                seen += c;
            }
        } else {
            let mut after = self.len;
            for (i, node) in self.nodes.iter().enumerate().rev() {
                let c = node.count();
                after -= c;
                if index >= after {
                    return (i, index - after);
                }
            }
        }
        unreachable!("index {index} < len {}", self.len)
    }

    /// The element at `index` (< len) as an owned vector.
    pub fn get(&self, index: usize) -> Option<Vec<u8>> {
        if index >= self.len {
            return None;
        }
        let (node, offset) = self.locate(index);
        self.nodes[node].with_lp(|lp| lp.get(offset).map(|e| e.to_vec()))
    }

    /// Calls `f` with the element at `index`, if there is one.
    pub fn with_element<R>(&self, index: usize, f: impl FnOnce(LpEntry<'_>) -> R) -> Option<R> {
        if index >= self.len {
            return None;
        }
        let (node, offset) = self.locate(index);
        self.nodes[node].with_lp(|lp| lp.get(offset).map(f))
    }

    /// Keeps the nodes at each end raw and compresses the inner ones around `touched`,
    /// as Redis's __quicklistCompress: the node just changed, and the nodes right past
    /// the uncompressed depth at each end (where nodes cross into the compressed middle).
    fn settle(&mut self, touched: Option<usize>) {
        let (depth, n) = (self.depth, self.nodes.len());
        if depth == 0 || n < depth * 2 {
            return;
        }
        for i in 0..depth {
            self.nodes[i].raw();
            self.nodes[n - 1 - i].raw();
        }
        let inner = |i: usize| i >= depth && i + depth < n;
        for i in [touched, Some(depth), Some(n - 1 - depth)]
            .into_iter()
            .flatten()
        {
            if inner(i) {
                self.nodes[i].compress();
            }
        }
    }

    /// Every node's compression as it should be: ends raw, inner ones compressed (used
    /// after changes spanning many nodes, and after loading).
    fn settle_all(&mut self) {
        let (depth, n) = (self.depth, self.nodes.len());
        if depth == 0 || n < depth * 2 {
            return;
        }
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if i < depth || i + depth >= n {
                node.raw();
            } else {
                node.compress();
            }
        }
    }

    /// Adds `value` at one end.
    pub fn push(&mut self, value: &[u8], end: End) {
        let fill = self.fill;
        let target = match end {
            End::Head => self.nodes.front_mut(),
            End::Tail => self.nodes.back_mut(),
        };
        match target {
            Some(node) if allow_insert(node, fill, value.len()) => match end {
                End::Head => node.raw().push_front(value),
                End::Tail => node.raw().push_back(value),
            },
            _ => {
                let mut lp = Listpack::new();
                lp.push_back(value);
                match end {
                    End::Head => {
                        self.nodes.push_front(Node::Raw(lp));
                        self.settle(Some(0));
                    }
                    End::Tail => {
                        self.nodes.push_back(Node::Raw(lp));
                        self.settle(Some(self.nodes.len() - 1));
                    }
                }
            }
        }
        self.len += 1;
    }

    /// Appends a whole listpack as a node (loading), skipping empty ones as Redis does.
    fn append_node(&mut self, lp: Listpack) {
        let count = lp.len();
        if count == 0 {
            return;
        }
        self.nodes.push_back(Node::Raw(lp));
        self.len += count;
        self.settle(Some(self.nodes.len() - 1));
    }

    /// Removes and returns the element at one end.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        if self.len == 0 {
            return None;
        }
        let index = match end {
            End::Head => 0,
            End::Tail => self.len - 1,
        };
        let value = self.get(index);
        self.remove_at(index);
        value
    }

    /// Removes the element at `index` (< len).
    pub fn remove_at(&mut self, index: usize) {
        let (node, offset) = self.locate(index);
        self.remove_in_node(node, &[offset]);
    }

    /// Removes the entries at `offsets` (ascending) of node `node`, dropping the node
    /// when it empties.
    fn remove_in_node(&mut self, node: usize, offsets: &[usize]) {
        let lp = self.nodes[node].raw();
        for &o in offsets.iter().rev() {
            lp.remove(o);
        }
        self.len -= offsets.len();
        if lp.is_empty() {
            self.nodes.remove(node);
            self.settle(None);
        } else {
            self.settle(Some(node));
        }
    }

    /// Removes `count` elements from index `start` on (Redis's quicklistDelRange:
    /// whole nodes are dropped, partly covered ones trimmed, nothing merges).
    pub fn remove_range(&mut self, start: usize, count: usize) {
        if start >= self.len || count == 0 {
            return;
        }
        let mut left = count.min(self.len - start);
        let (mut node, mut offset) = self.locate(start);
        while left > 0 {
            let c = self.nodes[node].count();
            let del = left.min(c - offset);
            if offset == 0 && del == c {
                self.nodes.remove(node);
            } else {
                self.nodes[node].raw().remove_range(offset, del);
                node += 1;
            }
            self.len -= del;
            left -= del;
            offset = 0;
        }
        self.settle_all();
    }

    /// Replaces the element at `index` (< len) in place (Redis 7.0 does not re-check
    /// the node's limits on replacement).
    pub fn set(&mut self, index: usize, value: &[u8]) {
        let (node, offset) = self.locate(index);
        self.nodes[node].raw().replace(offset, value);
        self.settle(Some(node));
    }

    /// Inserts `value` next to the element at `index` (< len): after it or before it,
    /// following Redis's _quicklistInsert (use a neighbour with room at a node's edge,
    /// else split the full node and merge what can be merged).
    pub fn insert(&mut self, index: usize, value: &[u8], after: bool) {
        let (i, offset) = self.locate(index);
        let fill = self.fill;
        let sz = value.len();
        let count = self.nodes[i].count();
        let full = !allow_insert(&self.nodes[i], fill, sz);
        let at_tail = after && offset == count - 1;
        let at_head = !after && offset == 0;
        let next_has_room = at_tail
            && self
                .nodes
                .get(i + 1)
                .is_some_and(|n| allow_insert(n, fill, sz));
        let prev_has_room = at_head
            && i > 0
            && self
                .nodes
                .get(i - 1)
                .is_some_and(|n| allow_insert(n, fill, sz));
        self.len += 1;
        if !full {
            let at = if after { offset + 1 } else { offset };
            self.nodes[i].raw().insert(at, value);
            self.settle(Some(i));
        } else if next_has_room {
            self.nodes[i + 1].raw().push_front(value);
            self.settle(Some(i + 1));
        } else if prev_has_room {
            self.nodes[i - 1].raw().push_back(value);
            self.settle(Some(i - 1));
        } else if at_tail || at_head {
            // Full, at an edge, and the neighbour (if any) has no room: a new node.
            let mut lp = Listpack::new();
            lp.push_back(value);
            let at = if after { i + 1 } else { i };
            self.nodes.insert(at, Node::Raw(lp));
            self.settle(Some(at));
        } else {
            // Split: `after` keeps [..=offset] here and moves the rest to a new node
            // that starts with the value; before, the new node takes [..offset] and ends
            // with the value.
            let lp = self.nodes[i].raw();
            let mut moved = lp.clone();
            if after {
                lp.remove_range(offset + 1, usize::MAX);
                moved.remove_range(0, offset + 1);
                moved.push_front(value);
                self.nodes.insert(i + 1, Node::Raw(moved));
                self.merge_around(i);
            } else {
                lp.remove_range(0, offset);
                moved.remove_range(offset, usize::MAX);
                moved.push_back(value);
                self.nodes.insert(i, Node::Raw(moved));
                self.merge_around(i + 1);
            }
        }
    }

    /// Merges node `i` into node `i + 1`'s place: one node with both entries at `i`.
    fn merge(&mut self, i: usize) {
        let b = self.nodes.remove(i + 1).expect("merge partner").into_lp();
        let a = self.nodes[i].raw();
        *a = concat(a, &b);
        self.settle(Some(i));
    }

    /// Redis's _quicklistMergeNodes around the node at `center`: the two before it,
    /// the two after it, then the center with its neighbours.
    fn merge_around(&mut self, mut center: usize) {
        let fill = self.fill;
        let may = |s: &Self, a: usize, b: usize| {
            b < s.nodes.len() && allow_merge(&s.nodes[a], &s.nodes[b], fill)
        };
        if center >= 2 && may(self, center - 2, center - 1) {
            self.merge(center - 2);
            center -= 1;
        }
        if may(self, center + 1, center + 2) {
            self.merge(center + 1);
        }
        let target = if center >= 1 && may(self, center - 1, center) {
            self.merge(center - 1);
            center - 1
        } else {
            center
        };
        if may(self, target, target + 1) {
            self.merge(target);
        }
        self.settle(Some(target.min(self.nodes.len() - 1)));
    }

    /// Index of the first element equal to `value`, from the head.
    pub fn position(&self, value: &[u8]) -> Option<usize> {
        let mut base = 0;
        for node in &self.nodes {
            if let Some(o) = node.with_lp(|lp| lp.find(value, 0, 1)) {
                return Some(base + o);
            }
            base += node.count();
        }
        None
    }

    /// Removes up to `limit` elements equal to `value` (0: all), from the head, or from
    /// the tail when `from_tail`; returns how many went.
    pub fn remove_matching(&mut self, value: &[u8], limit: usize, from_tail: bool) -> usize {
        let mut removed = 0;
        let order: Vec<usize> = if from_tail {
            (0..self.nodes.len()).rev().collect()
        } else {
            (0..self.nodes.len()).collect()
        };
        // Walking node indexes from the end that does not shift when a node drops out.
        let mut dropped_before = 0;
        for i in order {
            if limit != 0 && removed == limit {
                break;
            }
            let i = if from_tail { i } else { i - dropped_before };
            let mut offsets = Vec::new();
            self.nodes[i].with_lp(|lp| {
                let hits = lp.iter().enumerate().filter(|(_, e)| e.eq_bytes(value));
                let hits: Vec<usize> = hits.map(|(o, _)| o).collect();
                let want = if limit == 0 {
                    hits.len()
                } else {
                    limit - removed
                };
                if from_tail {
                    offsets = hits.iter().rev().take(want).copied().collect();
                    offsets.reverse();
                } else {
                    offsets = hits.into_iter().take(want).collect();
                }
            });
            if offsets.is_empty() {
                continue;
            }
            removed += offsets.len();
            let before = self.nodes.len();
            self.remove_in_node(i, &offsets);
            dropped_before += before - self.nodes.len();
        }
        removed
    }

    /// Reads a value of RDB object type `kind`.
    pub(crate) fn read_rdb(
        src: &mut impl Source,
        kind: u8,
        limits: ReadLimits,
    ) -> Result<Self, RdbError> {
        rdb::read(src, kind, limits)
    }

    /// The RDB object type this value is written as.
    pub(crate) fn rdb_type(&self) -> u8 {
        crate::rdb::op::TYPE_LIST_QUICKLIST_2
    }

    /// Appends the value's RDB encoding, without its type byte.
    pub(crate) fn write_rdb(&self, out: &mut Vec<u8>, compress: bool) {
        rdb::write(self, out, compress)
    }
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
