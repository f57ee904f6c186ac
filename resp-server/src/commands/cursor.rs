//! Reading a command's arguments front to back, so no handler indexes past them.
//!
//! A handler takes a cursor after the name (or the subcommand) and asks for what it
//! expects next; a missing argument is a syntax error, never a panic. Options are
//! declared once per command as a table of tokens, how many values each takes and
//! what it means, and read with [`ArgCursor::next_option`].

use tessera_keyspace::number::parse_i64;

use super::errors;
use crate::protocol::request::Args;

/// Why the arguments could not be read; [`ArgError::text`] is Redis's reply for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// Missing, unknown or repeated where it may not be.
    Syntax,
    /// Not an integer where one is needed.
    NotInteger,
}

impl ArgError {
    /// The error reply, as Redis 7.0 words it.
    pub fn text(self) -> &'static str {
        match self {
            ArgError::Syntax => errors::SYNTAX,
            ArgError::NotInteger => errors::NOT_INTEGER,
        }
    }
}

/// The options a command accepts: `(token, number of values, meaning)`.
pub type Options<T> = &'static [(&'static str, usize, T)];

/// The values that followed an option's token (at most two: `LIMIT offset count`).
pub type OptionValues<'a> = [&'a [u8]; 2];

/// A command's arguments, read in order.
#[derive(Clone, Copy)]
pub struct ArgCursor<'a> {
    args: Args<'a>,
    at: usize,
}

impl<'a> ArgCursor<'a> {
    /// A cursor at argument `from` (1: after the name; 2: after a subcommand).
    pub fn new(args: Args<'a>, from: usize) -> ArgCursor<'a> {
        ArgCursor {
            args,
            at: from.min(args.len()),
        }
    }

    /// True when every argument has been read.
    pub fn is_done(&self) -> bool {
        self.at >= self.args.len()
    }

    /// How many arguments are left.
    pub fn remaining(&self) -> usize {
        self.args.len() - self.at
    }

    /// The next argument.
    pub fn next_arg(&mut self) -> Result<&'a [u8], ArgError> {
        if self.is_done() {
            return Err(ArgError::Syntax);
        }
        self.at += 1;
        Ok(self.args.get(self.at - 1))
    }

    /// Passes over the next argument (the one [`ArgCursor::peek`] showed), if any.
    pub fn skip(&mut self) {
        if !self.is_done() {
            self.at += 1;
        }
    }

    /// The next `N` arguments (a command's fixed positions: key, field, value ...).
    pub fn next_args<const N: usize>(&mut self) -> Result<[&'a [u8]; N], ArgError> {
        if self.remaining() < N {
            return Err(ArgError::Syntax);
        }
        let mut out: [&'a [u8]; N] = [&[]; N];
        for slot in out.iter_mut() {
            *slot = self.args.get(self.at);
            self.at += 1;
        }
        Ok(out)
    }

    /// The next `n` arguments (a `numkeys` list of keys), or a syntax error when
    /// fewer are left.
    pub fn next_many(
        &mut self,
        n: usize,
    ) -> Result<impl ExactSizeIterator<Item = &'a [u8]> + Clone + 'a, ArgError> {
        if self.remaining() < n {
            return Err(ArgError::Syntax);
        }
        let (args, from) = (self.args, self.at);
        self.at += n;
        Ok((from..from + n).map(move |i| args.get(i)))
    }

    /// The next argument as an integer.
    pub fn next_i64(&mut self) -> Result<i64, ArgError> {
        parse_i64(self.next_arg()?).ok_or(ArgError::NotInteger)
    }

    /// The arguments not read yet, in order; the cursor is spent.
    pub fn rest(self) -> impl ExactSizeIterator<Item = &'a [u8]> + Clone + 'a {
        let args = self.args;
        (self.at..args.len()).map(move |i| args.get(i))
    }

    /// The command's name as the client spelled it (empty for an empty request).
    pub fn name(&self) -> &'a [u8] {
        if self.args.is_empty() {
            &[]
        } else {
            self.args.get(0)
        }
    }

    /// A subcommand's name as the client spelled it (empty when there is none): for
    /// the error texts that quote it.
    pub fn subcommand(&self) -> &'a [u8] {
        if self.args.len() < 2 {
            &[]
        } else {
            self.args.get(1)
        }
    }

    /// The whole command as the client sent it, name first, whatever has been read:
    /// what a change is replayed as when it is propagated verbatim.
    pub fn verbatim(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + Clone + 'a {
        let args = self.args;
        (0..args.len()).map(move |i| args.get(i))
    }

    /// The next argument, without reading it (empty when none is left).
    pub fn peek(&self) -> &'a [u8] {
        if self.is_done() {
            &[]
        } else {
            self.args.get(self.at)
        }
    }

    /// The arguments left, two by two (MSET's key value, CONFIG SET's name value), or
    /// `None` when an odd number is left.
    pub fn rest_in_pairs(self) -> Option<impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone> {
        if self.remaining() % 2 != 0 {
            return None;
        }
        let args = self.args;
        Some(
            (self.at..args.len())
                .step_by(2)
                .map(move |i| (args.get(i), args.get(i + 1))),
        )
    }

    /// The options left, read from `table` one after another; the first error ends
    /// them (`for option in cursor.options(TABLE) { let Some(..) = ctx.read(option) ...`).
    pub fn options<T: Copy>(
        &mut self,
        table: Options<T>,
    ) -> impl Iterator<Item = Result<(T, OptionValues<'a>), ArgError>> + '_ {
        let mut failed = false;
        std::iter::from_fn(move || {
            if failed {
                return None;
            }
            let next = self.next_option(table).transpose();
            failed = matches!(next, Some(Err(_)));
            next
        })
    }

    /// The next option from `table` with its values (`None` when no argument is
    /// left): an unknown token, or too few values after it, is a syntax error, and
    /// leaves the cursor at that token so the reply can name it ([`ArgCursor::peek`]).
    pub fn next_option<T: Copy>(
        &mut self,
        table: Options<T>,
    ) -> Result<Option<(T, OptionValues<'a>)>, ArgError> {
        if self.is_done() {
            return Ok(None);
        }
        let token = self.peek();
        let &(_, count, meaning) = table
            .iter()
            .find(|(name, _, _)| token.eq_ignore_ascii_case(name.as_bytes()))
            .ok_or(ArgError::Syntax)?;
        assert!(count <= 2, "options take at most two values");
        if self.remaining() <= count {
            return Err(ArgError::Syntax);
        }
        let mut values: OptionValues<'a> = [&[], &[]];
        for (i, value) in values.iter_mut().take(count).enumerate() {
            *value = self.args.get(self.at + 1 + i);
        }
        self.at += 1 + count;
        Ok(Some((meaning, values)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Opt {
        Nx,
        Ex,
        Limit,
    }

    const OPTIONS: Options<Opt> = &[
        ("NX", 0, Opt::Nx),
        ("EX", 1, Opt::Ex),
        ("LIMIT", 2, Opt::Limit),
    ];

    fn read(words: &[&str]) -> (Vec<(Opt, Vec<String>)>, Option<String>) {
        let owned: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        let args = Args::Owned(&owned);
        let mut cursor = ArgCursor::new(args, 1);
        let mut seen = Vec::new();
        loop {
            match cursor.next_option(OPTIONS) {
                Ok(Some((opt, values))) => {
                    let count = match opt {
                        Opt::Nx => 0,
                        Opt::Ex => 1,
                        Opt::Limit => 2,
                    };
                    let values = values[..count]
                        .iter()
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                        .collect();
                    seen.push((opt, values));
                }
                Ok(None) => return (seen, None),
                Err(_) => {
                    let at = String::from_utf8_lossy(cursor.peek()).into_owned();
                    return (seen, Some(at));
                }
            }
        }
    }

    #[test]
    fn the_options_iterator_stops_at_the_first_error() {
        let words = owned(&["CMD", "EX", "1", "NX", "BOGUS", "NX"]);
        let mut cursor = ArgCursor::new(Args::Owned(&words), 1);
        let read: Vec<_> = cursor
            .options(OPTIONS)
            .map(|o| o.map(|(opt, _)| opt))
            .collect();
        assert_eq!(read, [Ok(Opt::Ex), Ok(Opt::Nx), Err(ArgError::Syntax)]);
        assert_eq!(cursor.peek(), b"BOGUS");
    }

    #[test]
    fn options_are_read_with_their_values_in_any_case() {
        let (seen, error) = read(&["CMD", "nx", "LIMIT", "0", "5", "ex", "10"]);
        assert_eq!(error, None);
        let opts: Vec<Opt> = seen.iter().map(|(o, _)| *o).collect();
        assert_eq!(opts, [Opt::Nx, Opt::Limit, Opt::Ex]);
        assert_eq!(seen[1].1, ["0", "5"]);
    }

    #[test]
    fn an_unknown_or_short_option_is_an_error_at_its_token() {
        assert_eq!(read(&["CMD", "NX", "BOGUS"]).1.as_deref(), Some("BOGUS"));
        assert_eq!(read(&["CMD", "LIMIT", "0"]).1.as_deref(), Some("LIMIT"));
        assert_eq!(read(&["CMD", "EX"]).1.as_deref(), Some("EX"));
    }

    fn owned(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn fixed_positions_then_the_rest() {
        let words = owned(&["HSET", "key", "f1", "v1", "f2", "v2"]);
        let mut cursor = ArgCursor::new(Args::Owned(&words), 1);
        assert_eq!(cursor.name(), b"HSET");
        let [key] = cursor.next_args().expect("one left");
        assert_eq!(key, b"key");
        assert_eq!(cursor.remaining(), 4);
        let pairs: Vec<_> = cursor.rest_in_pairs().expect("even").collect();
        assert_eq!(pairs, [(&b"f1"[..], &b"v1"[..]), (&b"f2"[..], &b"v2"[..])]);
        let rest: Vec<&[u8]> = cursor.rest().collect();
        assert_eq!(rest, [&b"f1"[..], b"v1", b"f2", b"v2"]);
        assert_eq!(cursor.verbatim().len(), 6);
    }

    #[test]
    fn too_few_for_fixed_positions_reads_nothing() {
        let words = owned(&["LSET", "key", "0"]);
        let mut cursor = ArgCursor::new(Args::Owned(&words), 1);
        assert_eq!(cursor.next_args::<3>(), Err(ArgError::Syntax));
        assert_eq!(
            cursor.remaining(),
            2,
            "a failed read leaves the cursor in place"
        );
        assert_eq!(cursor.next_args::<2>(), Ok([&b"key"[..], b"0"]));
        assert!(cursor.is_done());
    }

    #[test]
    fn numkeys_lists_are_taken_whole_or_not_at_all() {
        let words = owned(&["LMPOP", "2", "a", "b", "LEFT"]);
        let mut cursor = ArgCursor::new(Args::Owned(&words), 1);
        assert_eq!(cursor.next_i64(), Ok(2));
        assert!(cursor.next_many(4).is_err());
        let keys: Vec<&[u8]> = cursor.next_many(2).expect("two keys").collect();
        assert_eq!(keys, [&b"a"[..], b"b"]);
        assert_eq!(cursor.next_arg(), Ok(&b"LEFT"[..]));
        assert!(
            cursor
                .next_many(0)
                .is_ok_and(|mut none| none.next().is_none())
        );
    }

    #[test]
    fn numbers_and_words_in_order() {
        let words = owned(&["ZADD", "key", "nx", "1", "m"]);
        let mut cursor = ArgCursor::new(Args::Owned(&words), 2);
        assert_eq!(cursor.peek(), b"nx");
        cursor.skip();
        assert_eq!(cursor.next_i64(), Ok(1));
        assert_eq!(cursor.next_i64(), Err(ArgError::NotInteger));
        cursor.skip();
        assert!(cursor.is_done());
    }

    #[test]
    fn a_subcommand_handler_starts_past_the_subcommand() {
        let words = owned(&["CLUSTER", "countkeysinslot", "7"]);
        let mut cursor = ArgCursor::new(Args::Owned(&words), 2);
        assert_eq!(cursor.subcommand(), b"countkeysinslot");
        assert_eq!(cursor.next_i64(), Ok(7));
        let words = owned(&["PING"]);
        let cursor = ArgCursor::new(Args::Owned(&words), 2);
        assert!(cursor.is_done(), "a start past the end is clamped");
        assert_eq!(cursor.subcommand(), b"");
        let empty: Vec<Vec<u8>> = Vec::new();
        assert_eq!(ArgCursor::new(Args::Owned(&empty), 1).name(), b"");
    }

    #[test]
    fn reading_past_the_end_is_an_error_not_a_panic() {
        let owned = vec![b"GET".to_vec()];
        let mut cursor = ArgCursor::new(Args::Owned(&owned), 1);
        assert_eq!(cursor.next_arg(), Err(ArgError::Syntax));
        assert_eq!(cursor.next_i64(), Err(ArgError::Syntax));
        assert!(cursor.is_done());
        assert_eq!(cursor.peek(), b"");
    }
}
