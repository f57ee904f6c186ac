//! Splitting a line into arguments the way redis-cli and redis.conf write them.
//!
//! Words are separated by whitespace. Double quotes allow `\n`, `\r`, `\t`, `\b`, `\a`,
//! `\\`, `\"` and `\xHH` escapes; single quotes allow only `\'`. A closing quote must be
//! followed by whitespace or the end of the line. Inline commands and configuration
//! files share these rules, so they share this function.

/// Why a line could not be split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnbalancedQuotes;

/// Splits `line` into arguments. A NUL byte ends the line, as it does for Redis.
pub fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, UnbalancedQuotes> {
    let end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    let line = &line[..end];
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i == line.len() {
            return Ok(args);
        }
        let mut current = Vec::new();
        let mut quote: Option<u8> = None;
        loop {
            let c = line.get(i).copied();
            match quote {
                Some(b'"') => match c {
                    None => return Err(UnbalancedQuotes),
                    Some(b'\\')
                        if line.get(i + 1) == Some(&b'x') && hex_pair(line, i + 2).is_some() =>
                    {
                        current.push(hex_pair(line, i + 2).expect("checked"));
                        i += 4;
                        continue;
                    }
                    Some(b'\\') if i + 1 < line.len() => {
                        current.push(match line[i + 1] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                        i += 2;
                        continue;
                    }
                    Some(b'"') => {
                        if line.get(i + 1).is_some_and(|&n| !is_space(n)) {
                            return Err(UnbalancedQuotes);
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                },
                Some(_) => match c {
                    None => return Err(UnbalancedQuotes),
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        current.push(b'\'');
                        i += 2;
                        continue;
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|&n| !is_space(n)) {
                            return Err(UnbalancedQuotes);
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                },
                None => match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    Some(q @ (b'"' | b'\'')) => quote = Some(q),
                    Some(other) => current.push(other),
                },
            }
            i += 1;
        }
        args.push(current);
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_pair(line: &[u8], at: usize) -> Option<u8> {
    let hi = (*line.get(at)? as char).to_digit(16)?;
    let lo = (*line.get(at + 1)? as char).to_digit(16)?;
    Some((hi * 16 + lo) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Result<Vec<String>, UnbalancedQuotes> {
        split_args(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|a| String::from_utf8_lossy(&a).into_owned())
                .collect()
        })
    }

    #[test]
    fn words_and_quotes() {
        assert_eq!(split("  set a  b ").unwrap(), ["set", "a", "b"]);
        assert_eq!(split("set \"a b\" 'c d'").unwrap(), ["set", "a b", "c d"]);
        assert_eq!(split("\"\\x41\\n\\\"\"").unwrap(), ["A\n\""]);
        assert_eq!(split("'it\\'s'").unwrap(), ["it's"]);
        assert_eq!(
            split("a\"b c\"").unwrap(),
            ["ab c"],
            "a quote may open mid-word"
        );
        assert_eq!(split("\"\"").unwrap(), [""]);
        assert_eq!(split("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn unbalanced() {
        assert_eq!(split("set a \"b"), Err(UnbalancedQuotes));
        assert_eq!(split("set a 'b"), Err(UnbalancedQuotes));
        assert_eq!(split("\"a\"b"), Err(UnbalancedQuotes));
    }
}
