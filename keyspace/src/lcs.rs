//! LCS: the longest common subsequence of two strings, with the matching ranges walked
//! back from the end of both strings in the order and grouping Redis reports them.

/// One run of consecutive matching bytes: inclusive ranges in each string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// Start and end in the first string.
    pub a: (u32, u32),
    /// Start and end in the second string.
    pub b: (u32, u32),
}

impl Match {
    /// The number of bytes in the run.
    pub fn len(&self) -> u32 {
        self.a.1 - self.a.0 + 1
    }

    /// Never true: a run holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// The result of the LCS computation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lcs {
    /// The common subsequence itself.
    pub text: Vec<u8>,
    /// The runs, from the end of the strings backwards.
    pub matches: Vec<Match>,
}

/// The table of LCS lengths of every pair of prefixes, `(a.len()+1) * (b.len()+1)`.
struct Table {
    width: usize,
    cells: Vec<u32>,
}

impl Table {
    /// `None` when the table cannot be allocated (Redis answers an error then).
    fn build(a: &[u8], b: &[u8]) -> Option<Table> {
        let width = b.len() + 1;
        let size = (a.len() + 1).checked_mul(width)?;
        let mut cells = Vec::new();
        cells.try_reserve_exact(size).ok()?;
        cells.resize(size, 0u32);
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cells[i * width + j] = if a[i - 1] == b[j - 1] {
                    cells[(i - 1) * width + j - 1] + 1
                } else {
                    cells[(i - 1) * width + j].max(cells[i * width + j - 1])
                };
            }
        }
        Some(Table { width, cells })
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.width + j]
    }
}

/// The length of the longest common subsequence of `a` and `b`; `None` when its table
/// does not fit in memory.
pub fn lcs_len(a: &[u8], b: &[u8]) -> Option<u32> {
    Some(Table::build(a, b)?.at(a.len(), b.len()))
}

/// The longest common subsequence of `a` and `b` and its runs, walking back from the
/// ends: on a tie the walk moves in `b`, and a run closes when the walk leaves it or
/// reaches the start of either string, which is what fixes Redis's choice among equal
/// answers. `None` when the table does not fit in memory.
pub fn lcs(a: &[u8], b: &[u8]) -> Option<Lcs> {
    let table = Table::build(a, b)?;
    let mut text = vec![0u8; table.at(a.len(), b.len()) as usize];
    let mut left = text.len();
    let mut matches = Vec::new();
    let mut run: Option<Match> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        let mut close = false;
        if a[i - 1] == b[j - 1] {
            left -= 1;
            text[left] = a[i - 1];
            let (ai, bj) = ((i - 1) as u32, (j - 1) as u32);
            match &mut run {
                None => {
                    run = Some(Match {
                        a: (ai, ai),
                        b: (bj, bj),
                    })
                }
                Some(m) if m.a.0 == ai + 1 && m.b.0 == bj + 1 => {
                    m.a.0 = ai;
                    m.b.0 = bj;
                }
                Some(_) => close = true,
            }
            if run.is_some_and(|m| m.a.0 == 0 || m.b.0 == 0) {
                close = true;
            }
            i -= 1;
            j -= 1;
        } else {
            if table.at(i - 1, j) > table.at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            close = run.is_some();
        }
        if close {
            matches.extend(run.take());
        }
    }
    Some(Lcs { text, matches })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_documentation_example() {
        // LCS ohmytext mynewtext, as documented for Redis 7.0.
        let out = lcs(b"ohmytext", b"mynewtext").expect("fits");
        assert_eq!(out.text, b"mytext");
        assert_eq!(lcs_len(b"ohmytext", b"mynewtext"), Some(6));
        let runs: Vec<_> = out.matches.iter().map(|m| (m.a, m.b, m.len())).collect();
        assert_eq!(runs, [((4, 7), (5, 8), 4), ((2, 3), (0, 1), 2)]);
    }

    #[test]
    fn empty_and_disjoint() {
        assert_eq!(lcs(b"", b"abc").expect("fits").text, b"");
        assert!(lcs(b"abc", b"xyz").expect("fits").matches.is_empty());
    }
}
