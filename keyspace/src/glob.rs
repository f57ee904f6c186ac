//! Glob-style patterns as KEYS, SCAN MATCH and CONFIG GET read them.
//!
//! `*` any run, `?` any byte, `[abc]` / `[^abc]` / `[a-z]` classes (a reversed range is
//! accepted), `\x` a literal `x`. An unclosed class runs to the end of the pattern.
//! Matching backtracks only to the last `*`, so time is O(pattern × text) at worst:
//! a hostile pattern cannot stall the node.

/// True when `text` matches `pattern`.
pub fn glob_match(pattern: &[u8], text: &[u8], nocase: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut s) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern position after it, text position).
    let mut resume: Option<(usize, usize)> = None;
    while s < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    resume = Some((p, s));
                    continue;
                }
                b'?' => {
                    p += 1;
                    s += 1;
                    continue;
                }
                b'[' => {
                    let (matched, next) = match_class(pattern, p + 1, text[s], nocase);
                    if matched {
                        p = next;
                        s += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if eq(pattern[p + 1], text[s]) {
                        p += 2;
                        s += 1;
                        continue;
                    }
                }
                c => {
                    if eq(c, text[s]) {
                        p += 1;
                        s += 1;
                        continue;
                    }
                }
            }
        }
        match resume {
            Some((rp, rs)) => {
                p = rp;
                s = rs + 1;
                resume = Some((rp, rs + 1));
            }
            None => return false,
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// Matches `c` against the class starting at `start` (just after `[`); returns whether
/// it matched and the pattern position after the class.
fn match_class(pattern: &[u8], start: usize, c: u8, nocase: bool) -> (bool, usize) {
    let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    let c = fold(c);
    let mut p = start;
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    loop {
        match pattern.get(p) {
            None => break,
            Some(b']') => {
                p += 1;
                break;
            }
            Some(b'\\') if p + 1 < pattern.len() => {
                matched |= fold(pattern[p + 1]) == c;
                p += 2;
            }
            Some(&lo) if p + 2 < pattern.len() && pattern[p + 1] == b'-' => {
                let (lo, hi) = (fold(lo), fold(pattern[p + 2]));
                let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
                matched |= (lo..=hi).contains(&c);
                p += 3;
            }
            Some(&b) => {
                matched |= fold(b) == c;
                p += 1;
            }
        }
    }
    (matched != negate, p)
}

/// True when `pattern` has no special character, so it can only match itself.
pub fn is_literal(pattern: &[u8]) -> bool {
    !pattern
        .iter()
        .any(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
}

#[cfg(test)]
mod tests {
    use super::glob_match as m;

    #[test]
    fn basics() {
        assert!(m(b"*", b"", false));
        assert!(m(b"*", b"anything", false));
        assert!(m(b"h?llo", b"hello", false));
        assert!(!m(b"h?llo", b"hllo", false));
        assert!(m(b"h*llo", b"heeeello", false));
        assert!(m(b"h[ae]llo", b"hallo", false));
        assert!(!m(b"h[ae]llo", b"hillo", false));
        assert!(m(b"h[^e]llo", b"hallo", false));
        assert!(!m(b"h[^e]llo", b"hello", false));
        assert!(m(b"h[a-b]llo", b"hbllo", false));
        assert!(m(b"h[b-a]llo", b"hbllo", false), "reversed ranges work");
        assert!(m(b"h\\*llo", b"h*llo", false));
        assert!(!m(b"h\\*llo", b"hello", false));
        assert!(m(b"key:*:x", b"key:a:b:x", false));
        assert!(!m(b"key:*:x", b"key:a:b:y", false));
        assert!(m(b"HELLO", b"hello", true));
        assert!(m(b"[A-C]x", b"bx", true));
        assert!(m(b"a\\", b"a\\", false), "a trailing backslash is literal");
        assert!(m(b"[abc", b"b", false), "an unclosed class runs to the end");
        assert!(!m(b"[]abc", b"a", false));
        assert!(m(b"[\\]]", b"]", false));
        assert!(m(b"**a**", b"xxa", false));
    }

    #[test]
    fn pathological_patterns_finish_quickly() {
        let text = vec![b'a'; 10_000];
        let mut pattern = b"*a".repeat(50);
        pattern.push(b'b');
        assert!(!m(&pattern, &text, false));
    }
}
