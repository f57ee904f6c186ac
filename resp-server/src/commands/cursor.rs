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

    /// The next argument as an integer.
    pub fn next_i64(&mut self) -> Result<i64, ArgError> {
        parse_i64(self.next_arg()?).ok_or(ArgError::NotInteger)
    }

    /// The next option from `table` with its values (`None` when no argument is
    /// left): an unknown token, or too few values after it, is a syntax error.
    pub fn next_option<T: Copy>(
        &mut self,
        table: Options<T>,
    ) -> Result<Option<(T, OptionValues<'a>)>, ArgError> {
        if self.is_done() {
            return Ok(None);
        }
        let token = self.next_arg()?;
        let &(_, count, meaning) = table
            .iter()
            .find(|(name, _, _)| token.eq_ignore_ascii_case(name.as_bytes()))
            .ok_or(ArgError::Syntax)?;
        debug_assert!(count <= 2, "options take at most two values");
        let mut values: OptionValues<'a> = [&[], &[]];
        for value in values.iter_mut().take(count) {
            *value = self.next_arg()?;
        }
        Ok(Some((meaning, values)))
    }
}
