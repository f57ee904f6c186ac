//! The large sorted-set encoding (OBJECT ENCODING calls it `skiplist`): a member ->
//! score index plus an order-statistic B+tree, so lookups are O(1) and ranks, ranges
//! and inserts O(log n).
//!
//! Members live once, in a slab of `(member, score)` slots addressed by `u32`; the hash
//! index and the tree hold only slot numbers. That keeps a member at about 40 bytes
//! plus its text beyond 22 bytes, where Redis spends a skiplist node, an sds and a
//! dict entry (over 100 bytes). A slot number is stable while its member is present,
//! which also makes it ZSCAN's cursor.

use std::cmp::Ordering;

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

use super::score::compare;
use crate::compact_bytes::CompactBytes;

/// Most items (or children) a tree node holds before it splits.
const CAP: usize = 64;
/// Fewest a node keeps before it merges with a neighbour.
const MIN: usize = CAP / 4;

#[derive(Clone)]
struct Slot {
    member: CompactBytes,
    /// NaN marks a free slot (a stored score is never NaN).
    score: f64,
}

#[derive(Clone)]
enum Node {
    Leaf(Vec<u32>),
    Inner(Box<Inner>),
}

#[derive(Clone)]
struct Inner {
    kids: Vec<Node>,
    /// Items under each child.
    counts: Vec<usize>,
    /// The first item of each child, to choose a child without descending.
    firsts: Vec<u32>,
}

impl Node {
    fn first(&self) -> u32 {
        match self {
            Node::Leaf(v) => v[0],
            Node::Inner(n) => n.firsts[0],
        }
    }

    fn width(&self) -> usize {
        match self {
            Node::Leaf(v) => v.len(),
            Node::Inner(n) => n.kids.len(),
        }
    }

    fn count(&self) -> usize {
        match self {
            Node::Leaf(v) => v.len(),
            Node::Inner(n) => n.counts.iter().sum(),
        }
    }

    /// Splits off the upper half when over capacity.
    fn split_if_full(&mut self) -> Option<Node> {
        if self.width() <= CAP {
            return None;
        }
        let half = self.width() / 2;
        Some(match self {
            Node::Leaf(v) => Node::Leaf(v.split_off(half)),
            Node::Inner(n) => Node::Inner(Box::new(Inner {
                kids: n.kids.split_off(half),
                counts: n.counts.split_off(half),
                firsts: n.firsts.split_off(half),
            })),
        })
    }
}

/// Inserts `item`, which sorts after exactly the items for which `before` is true.
fn insert(node: &mut Node, item: u32, before: &dyn Fn(u32) -> bool) -> Option<Node> {
    match node {
        Node::Leaf(v) => {
            let at = v.partition_point(|&x| before(x));
            v.insert(at, item);
        }
        Node::Inner(n) => {
            let c = n.firsts.partition_point(|&f| before(f)).saturating_sub(1);
            let split = insert(&mut n.kids[c], item, before);
            n.counts[c] += 1;
            n.firsts[c] = n.kids[c].first();
            if let Some(right) = split {
                let moved = right.count();
                n.counts[c] -= moved;
                n.firsts.insert(c + 1, right.first());
                n.counts.insert(c + 1, moved);
                n.kids.insert(c + 1, right);
            }
        }
    }
    node.split_if_full()
}

/// Removes `item`, located by `before` (true for the items sorting before it).
fn remove(node: &mut Node, item: u32, before: &dyn Fn(u32) -> bool) -> bool {
    match node {
        Node::Leaf(v) => {
            let at = v.partition_point(|&x| before(x));
            if v.get(at) != Some(&item) {
                return false;
            }
            v.remove(at);
            true
        }
        Node::Inner(n) => {
            let c = n
                .firsts
                .partition_point(|&f| f == item || before(f))
                .saturating_sub(1);
            if !remove(&mut n.kids[c], item, before) {
                return false;
            }
            n.counts[c] -= 1;
            if n.counts[c] == 0 {
                n.kids.remove(c);
                n.counts.remove(c);
                n.firsts.remove(c);
            } else {
                n.firsts[c] = n.kids[c].first();
                if n.kids[c].width() < MIN && n.kids.len() > 1 {
                    rebalance(n, c);
                }
            }
            true
        }
    }
}

/// Merges child `c` with a neighbour, splitting the result again if it is too big.
fn rebalance(n: &mut Inner, c: usize) {
    let a = if c + 1 < n.kids.len() { c } else { c - 1 };
    let b = n.kids.remove(a + 1);
    let b_count = n.counts.remove(a + 1);
    n.firsts.remove(a + 1);
    match (&mut n.kids[a], b) {
        (Node::Leaf(x), Node::Leaf(y)) => x.extend(y),
        (Node::Inner(x), Node::Inner(y)) => {
            let y = *y;
            x.kids.extend(y.kids);
            x.counts.extend(y.counts);
            x.firsts.extend(y.firsts);
        }
        _ => unreachable!("siblings are at the same depth"),
    }
    n.counts[a] += b_count;
    if let Some(right) = n.kids[a].split_if_full() {
        let moved = right.count();
        n.counts[a] -= moved;
        n.firsts.insert(a + 1, right.first());
        n.counts.insert(a + 1, moved);
        n.kids.insert(a + 1, right);
    }
}

/// How many leading items satisfy `pred` (which holds for a prefix of the order).
fn count_while(node: &Node, pred: &dyn Fn(u32) -> bool) -> usize {
    match node {
        Node::Leaf(v) => v.partition_point(|&x| pred(x)),
        Node::Inner(n) => {
            let k = n.firsts.partition_point(|&f| pred(f));
            if k == 0 {
                return 0;
            }
            n.counts[..k - 1].iter().sum::<usize>() + count_while(&n.kids[k - 1], pred)
        }
    }
}

fn select(node: &Node, mut rank: usize) -> u32 {
    match node {
        Node::Leaf(v) => v[rank],
        Node::Inner(n) => {
            for (kid, &count) in n.kids.iter().zip(&n.counts) {
                if rank < count {
                    return select(kid, rank);
                }
                rank -= count;
            }
            unreachable!("rank below the tree's length")
        }
    }
}

/// Calls `f` with items from rank `skip` on while `take` lasts.
fn visit(node: &Node, mut skip: usize, take: &mut usize, f: &mut dyn FnMut(u32)) {
    match node {
        Node::Leaf(v) => {
            for &x in v.iter().skip(skip) {
                if *take == 0 {
                    return;
                }
                *take -= 1;
                f(x);
            }
        }
        Node::Inner(n) => {
            for (kid, &count) in n.kids.iter().zip(&n.counts) {
                if *take == 0 {
                    return;
                }
                if skip >= count {
                    skip -= count;
                    continue;
                }
                visit(kid, skip, take, f);
                skip = 0;
            }
        }
    }
}

/// A sorted set in the `skiplist` encoding.
#[derive(Clone)]
pub(super) struct ScoreTree {
    slots: Vec<Slot>,
    free: Vec<u32>,
    index: HashTable<u32>,
    root: Node,
    len: usize,
}

fn hasher() -> FixedState {
    FixedState::with_seed(0x5eed_2e75)
}

fn hash(member: &[u8]) -> u64 {
    hasher().hash_one(member)
}

impl ScoreTree {
    /// Bytes the tree holds on the heap, sampling `samples` members (MEMORY USAGE).
    pub fn heap_bytes(&self, samples: usize) -> usize {
        fn nodes(node: &Node) -> usize {
            match node {
                Node::Leaf(v) => v.capacity() * 4,
                Node::Inner(n) => {
                    std::mem::size_of::<Inner>()
                        + n.kids.capacity() * std::mem::size_of::<Node>()
                        + n.counts.capacity() * 8
                        + n.firsts.capacity() * 4
                        + n.kids.iter().map(nodes).sum::<usize>()
                }
            }
        }
        let live = self.slots.iter().filter(|s| !s.score.is_nan());
        std::mem::size_of::<ScoreTree>()
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.free.capacity() * 4
            + self.index.capacity() * 5
            + nodes(&self.root)
            + crate::collections::table::sampled(live, self.len, samples, |s| s.member.heap_size())
    }

    /// An empty set with room for `capacity` members.
    pub(super) fn with_capacity(capacity: usize) -> ScoreTree {
        ScoreTree {
            slots: Vec::with_capacity(capacity),
            free: Vec::new(),
            index: HashTable::with_capacity(capacity),
            root: Node::Leaf(Vec::new()),
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash(member), |&i| {
                slots[i as usize].member.as_bytes() == member
            })
            .copied()
    }

    fn key(&self, i: u32) -> (f64, &[u8]) {
        let s = &self.slots[i as usize];
        (s.score, s.member.as_bytes())
    }

    pub(super) fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|i| self.slots[i as usize].score)
    }

    fn tree_insert(&mut self, i: u32) {
        let slots = &self.slots;
        let me = (slots[i as usize].score, slots[i as usize].member.as_bytes());
        let before = |x: u32| {
            let s = &slots[x as usize];
            compare((s.score, s.member.as_bytes()), me) == Ordering::Less
        };
        if let Some(right) = insert(&mut self.root, i, &before) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Vec::new()));
            let (lc, rc) = (left.count(), right.count());
            self.root = Node::Inner(Box::new(Inner {
                firsts: vec![left.first(), right.first()],
                counts: vec![lc, rc],
                kids: vec![left, right],
            }));
        }
    }

    fn tree_remove(&mut self, i: u32) {
        let slots = &self.slots;
        let me = (slots[i as usize].score, slots[i as usize].member.as_bytes());
        let before = |x: u32| {
            let s = &slots[x as usize];
            compare((s.score, s.member.as_bytes()), me) == Ordering::Less
        };
        let removed = remove(&mut self.root, i, &before);
        debug_assert!(removed, "every indexed member is in the tree");
        if let Node::Inner(n) = &mut self.root
            && n.kids.len() == 1
        {
            self.root = n.kids.pop().expect("one child");
        }
    }

    /// Adds a member known to be absent.
    pub(super) fn insert_new(&mut self, member: &[u8], score: f64) {
        let slot = Slot {
            member: CompactBytes::new(member),
            score,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 members")
            }
        };
        let slots = &self.slots;
        self.index.insert_unique(hash(member), i, |&j| {
            hash(slots[j as usize].member.as_bytes())
        });
        self.tree_insert(i);
        self.len += 1;
    }

    /// Changes the score of a present member.
    pub(super) fn update(&mut self, member: &[u8], score: f64) {
        let i = self.find(member).expect("update of a present member");
        self.tree_remove(i);
        self.slots[i as usize].score = score;
        self.tree_insert(i);
    }

    /// Removes a member, returning its score.
    pub(super) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let i = self.find(member)?;
        self.tree_remove(i);
        let slots = &self.slots;
        if let Ok(entry) = self.index.find_entry(hash(member), |&j| {
            slots[j as usize].member.as_bytes() == member
        }) {
            entry.remove();
        }
        let slot = &mut self.slots[i as usize];
        let score = slot.score;
        slot.member = CompactBytes::new(b"");
        slot.score = f64::NAN;
        self.free.push(i);
        self.len -= 1;
        // Give the index's memory back once it is mostly empty, as Redis shrinks its
        // dict. The slab keeps its slots: they are ZSCAN's cursor positions, and
        // packing them would make a scan under way skip members (freed slots are
        // reused by later inserts instead).
        if self.index.capacity() >= 64 && self.len * 4 < self.index.capacity() {
            let slots = &self.slots;
            self.index
                .shrink_to(self.len, |&j| hash(slots[j as usize].member.as_bytes()));
        }
        if self.len == 0 {
            self.slots.clear();
            self.free.clear();
        }
        Some(score)
    }

    /// The rank of a member (0 = lowest).
    pub(super) fn rank(&self, member: &[u8]) -> Option<usize> {
        let i = self.find(member)?;
        let me = self.key(i);
        Some(self.count_while(&|m, s| compare((s, m), me) == Ordering::Less))
    }

    /// How many leading members satisfy `pred(member, score)`, which holds for a
    /// prefix of the order.
    pub(super) fn count_while(&self, pred: &dyn Fn(&[u8], f64) -> bool) -> usize {
        let slots = &self.slots;
        count_while(&self.root, &|x| {
            let s = &slots[x as usize];
            pred(s.member.as_bytes(), s.score)
        })
    }

    /// The member at `rank`.
    pub(super) fn get(&self, rank: usize) -> (&[u8], f64) {
        let (score, member) = self.key(select(&self.root, rank));
        (member, score)
    }

    /// Calls `f` for ranks `start..end` in order.
    pub(super) fn for_range(&self, start: usize, end: usize, f: &mut dyn FnMut(&[u8], f64)) {
        let mut take = end.saturating_sub(start);
        visit(&self.root, start, &mut take, &mut |x| {
            let s = &self.slots[x as usize];
            f(s.member.as_bytes(), s.score)
        });
    }

    /// One ZSCAN step from slot `cursor`: up to `count` slots examined; returns the
    /// next cursor (0 at the end).
    pub(super) fn scan(&self, cursor: u64, count: usize, f: &mut dyn FnMut(&[u8], f64)) -> u64 {
        let start = usize::try_from(cursor).unwrap_or(usize::MAX);
        let end = start.saturating_add(count.max(1)).min(self.slots.len());
        for slot in self.slots.get(start..end).unwrap_or(&[]) {
            if !slot.score.is_nan() {
                f(slot.member.as_bytes(), slot.score);
            }
        }
        if end >= self.slots.len() {
            0
        } else {
            end as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(t: &ScoreTree) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::new();
        t.for_range(0, t.len(), &mut |m, s| out.push((m.to_vec(), s)));
        out
    }

    #[test]
    fn removing_most_members_gives_memory_back() {
        let mut t = ScoreTree::with_capacity(0);
        for i in 0..10_000 {
            t.insert_new(format!("m{i}").as_bytes(), (i % 100) as f64);
        }
        for i in 0..9_990 {
            assert_eq!(t.remove(format!("m{i}").as_bytes()), Some((i % 100) as f64));
        }
        assert!(
            t.index.capacity() < 100,
            "{} buckets for 10",
            t.index.capacity()
        );
        assert_eq!(t.len(), 10);
        assert_eq!(t.rank(b"m9990"), Some(0));
        assert_eq!(t.score(b"m9999"), Some(99.0));
    }

    #[test]
    fn stays_sorted_through_random_changes() {
        let mut t = ScoreTree::with_capacity(0);
        let mut model: std::collections::BTreeMap<Vec<u8>, f64> = Default::default();
        let mut x = 12345u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..60_000 {
            let m = format!("m{}", rnd() % 3000).into_bytes();
            let score = (rnd() % 500) as f64;
            match (model.contains_key(&m), rnd() % 3) {
                (true, 0) => {
                    assert_eq!(t.remove(&m), model.remove(&m));
                }
                (true, _) => {
                    t.update(&m, score);
                    model.insert(m, score);
                }
                (false, _) => {
                    t.insert_new(&m, score);
                    model.insert(m, score);
                }
            }
            if step % 4000 == 0 {
                let mut want: Vec<(Vec<u8>, f64)> =
                    model.iter().map(|(k, v)| (k.clone(), *v)).collect();
                want.sort_by(|a, b| compare((a.1, &a.0), (b.1, &b.0)));
                assert_eq!(members(&t), want);
                for (rank, (m, _)) in want.iter().enumerate() {
                    assert_eq!(t.rank(m), Some(rank));
                    assert_eq!(t.get(rank).0, m.as_slice());
                }
            }
        }
    }
}
