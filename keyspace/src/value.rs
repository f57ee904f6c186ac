//! Values stored under keys, and how Redis describes them to clients.

use crate::collections::{HashValue, ListValue, SetValue, ZSetValue};
use crate::compact_bytes::CompactBytes;
use crate::number::parse_i64;

/// Longest string Redis stores with the `embstr` encoding.
const EMBSTR_LIMIT: usize = 44;

/// Longest text that can hold a canonical `i64`.
const MAX_INT_TEXT: usize = 20;

/// A value stored under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string (binary safe).
    Str(StrValue),
    // Collections are boxed so a key's value stays 24 bytes: strings dominate.
    /// A list.
    List(Box<ListValue>),
    /// A hash.
    Hash(Box<HashValue>),
    /// A set.
    Set(Box<SetValue>),
    /// A sorted set.
    ZSet(Box<ZSetValue>),
}

impl Value {
    /// The type name TYPE and SCAN's TYPE filter use.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Str(_) => ValueType::String,
            Value::List(_) => ValueType::List,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::ZSet(_) => ValueType::ZSet,
        }
    }

    /// Bytes the value holds on the heap (MEMORY USAGE); collections are estimated
    /// from `samples` of their elements (0: all), as Redis samples them.
    pub fn heap_bytes(&self, samples: usize) -> usize {
        match self {
            Value::Str(s) => s.heap_bytes(),
            Value::List(l) => std::mem::size_of::<ListValue>() + l.heap_bytes(),
            Value::Hash(h) => std::mem::size_of::<HashValue>() + h.heap_bytes(samples),
            Value::Set(s) => std::mem::size_of::<SetValue>() + s.heap_bytes(samples),
            Value::ZSet(z) => std::mem::size_of::<ZSetValue>() + z.heap_bytes(samples),
        }
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> Encoding {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }
}

/// Typed views of a value: the command modules' way to a key's value of their type,
/// WRONGTYPE for any other.
macro_rules! typed_views {
    ($($variant:ident: $ty:ty => $view:ident, $view_mut:ident;)*) => {
        impl Value {
            $(
                #[doc = concat!("The value as `", stringify!($ty), "`, or WRONGTYPE.")]
                pub fn $view(&self) -> crate::error::Result<&$ty> {
                    match self {
                        Value::$variant(v) => Ok(v),
                        _ => Err(crate::error::KeyspaceError::WrongType),
                    }
                }

                #[doc = concat!("The value as a mutable `", stringify!($ty), "`, or WRONGTYPE.")]
                pub fn $view_mut(&mut self) -> crate::error::Result<&mut $ty> {
                    match self {
                        Value::$variant(v) => Ok(v),
                        _ => Err(crate::error::KeyspaceError::WrongType),
                    }
                }
            )*
        }
    };
}

typed_views! {
    Str: StrValue => as_string, as_string_mut;
    List: ListValue => as_list, as_list_mut;
    Hash: HashValue => as_hash, as_hash_mut;
    Set: SetValue => as_set, as_set_mut;
    ZSet: ZSetValue => as_zset, as_zset_mut;
}

/// The kinds of values, as TYPE names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// `string`
    String,
    /// `list`
    List,
    /// `hash`
    Hash,
    /// `set`
    Set,
    /// `zset`
    ZSet,
}

/// Every type with its name, in the order of Redis's type codes.
const TYPE_NAMES: [(ValueType, &str); 5] = [
    (ValueType::String, "string"),
    (ValueType::List, "list"),
    (ValueType::Set, "set"),
    (ValueType::ZSet, "zset"),
    (ValueType::Hash, "hash"),
];

impl ValueType {
    /// The name Redis uses.
    pub fn name(self) -> &'static str {
        TYPE_NAMES
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, name)| *name)
            .expect("every type is named")
    }

    /// Parses a TYPE name (case-insensitive), as SCAN's TYPE option takes it.
    pub fn from_name(name: &[u8]) -> Option<ValueType> {
        TYPE_NAMES
            .iter()
            .find(|(_, n)| name.eq_ignore_ascii_case(n.as_bytes()))
            .map(|(t, _)| *t)
    }
}

/// Internal representations, as OBJECT ENCODING names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// An integer stored as a number.
    Int,
    /// A short string, written once.
    Embstr,
    /// A long string, or one modified in place.
    Raw,
    /// A small hash, sorted set or quicklist node in one contiguous buffer.
    Listpack,
    /// A list as a linked sequence of listpacks.
    Quicklist,
    /// A small set of integers, sorted in one buffer.
    Intset,
    /// A hash or set in a hash table.
    Hashtable,
    /// A sorted set in a hash table and a skiplist.
    Skiplist,
}

impl Encoding {
    /// The name Redis uses.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Int => "int",
            Encoding::Embstr => "embstr",
            Encoding::Raw => "raw",
            Encoding::Listpack => "listpack",
            Encoding::Quicklist => "quicklist",
            Encoding::Intset => "intset",
            Encoding::Hashtable => "hashtable",
            Encoding::Skiplist => "skiplist",
        }
    }
}

/// A string value, stored compactly.
///
/// Redis keeps canonical integers as numbers, short strings in one allocation with their
/// header (`embstr`) and strings that grow in place (APPEND, SETRANGE) in a growable
/// buffer (`raw`). OBJECT ENCODING exposes that choice, so we make the same one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrValue(Repr);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    Int(i64),
    Bytes(CompactBytes),
    // Boxed so the enum stays 24 bytes: a bare Vec would overlap the niche that lets
    // the tag share a byte with CompactBytes'. Only strings modified in place pay for it.
    #[allow(clippy::box_collection)]
    Growable(Box<Vec<u8>>),
}

impl StrValue {
    /// The value SET stores for `bytes`: an integer when `bytes` is a canonical `i64`.
    pub fn new(bytes: &[u8]) -> StrValue {
        if bytes.len() <= MAX_INT_TEXT
            && let Some(n) = parse_i64(bytes)
        {
            return StrValue(Repr::Int(n));
        }
        StrValue(Repr::Bytes(CompactBytes::new(bytes)))
    }

    /// Like [`StrValue::new`], taking ownership of `bytes`.
    pub fn from_vec(bytes: Vec<u8>) -> StrValue {
        if bytes.len() <= MAX_INT_TEXT
            && let Some(n) = parse_i64(&bytes)
        {
            return StrValue(Repr::Int(n));
        }
        StrValue(Repr::Bytes(CompactBytes::from(bytes)))
    }

    /// The bytes as they are, even when they read as an integer: what Redis stores
    /// for INCRBYFLOAT's result (OBJECT ENCODING says embstr, not int).
    pub fn verbatim(bytes: &[u8]) -> StrValue {
        StrValue(Repr::Bytes(CompactBytes::new(bytes)))
    }

    /// A `raw` string of these bytes, whatever they hold: what Redis stores when a
    /// command builds a string buffer itself (BITOP's result).
    pub fn raw(bytes: Vec<u8>) -> StrValue {
        StrValue(Repr::Growable(Box::new(bytes)))
    }

    /// An integer value.
    pub fn from_i64(n: i64) -> StrValue {
        StrValue(Repr::Int(n))
    }

    /// The integer this value holds, if it is one in canonical form.
    pub fn as_i64(&self) -> Option<i64> {
        match &self.0 {
            Repr::Int(n) => Some(*n),
            Repr::Bytes(b) => parse_i64(b.as_bytes()),
            Repr::Growable(v) => parse_i64(v),
        }
    }

    /// Calls `f` with the bytes of the value; integers are formatted on the stack.
    #[inline]
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match &self.0 {
            Repr::Int(n) => f(itoa::Buffer::new().format(*n).as_bytes()),
            Repr::Bytes(b) => f(b.as_bytes()),
            Repr::Growable(v) => f(v),
        }
    }

    /// The bytes of the value as an owned vector.
    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// Length in bytes of the value's text.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Int(n) => itoa::Buffer::new().format(*n).len(),
            Repr::Bytes(b) => b.len(),
            Repr::Growable(v) => v.len(),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for the integers Redis shares between keys (0 to 9999), whose OBJECT
    /// REFCOUNT is INT_MAX.
    pub fn is_shared_integer(&self) -> bool {
        matches!(self.0, Repr::Int(n) if (0..10_000).contains(&n))
    }

    /// Bytes on the heap (MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Int(_) => 0,
            Repr::Bytes(b) => b.heap_size(),
            Repr::Growable(v) => std::mem::size_of::<Vec<u8>>() + v.capacity(),
        }
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> Encoding {
        match &self.0 {
            Repr::Int(_) => Encoding::Int,
            Repr::Bytes(b) if b.len() <= EMBSTR_LIMIT => Encoding::Embstr,
            Repr::Bytes(_) | Repr::Growable(_) => Encoding::Raw,
        }
    }

    /// The value as a buffer that can be modified in place; the value becomes `raw`.
    pub fn make_mut(&mut self) -> &mut Vec<u8> {
        if !matches!(self.0, Repr::Growable(_)) {
            self.0 = Repr::Growable(Box::new(self.to_vec()));
        }
        match &mut self.0 {
            Repr::Growable(v) => v,
            _ => unreachable!("converted to Growable above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_small() {
        assert_eq!(std::mem::size_of::<StrValue>(), 24);
        assert_eq!(std::mem::size_of::<Value>(), 24);
    }

    #[test]
    fn encodings_follow_redis() {
        // Read off redis-server 7.0.15 with OBJECT ENCODING after SET.
        assert_eq!(StrValue::new(b"123").encoding(), Encoding::Int);
        assert_eq!(StrValue::new(b"-5").encoding(), Encoding::Int);
        assert_eq!(StrValue::new(b"0123").encoding(), Encoding::Embstr);
        assert_eq!(StrValue::new(b"-0").encoding(), Encoding::Embstr);
        assert_eq!(
            StrValue::new(b"12345678901234567890").encoding(),
            Encoding::Embstr
        );
        assert_eq!(StrValue::new(&[b'a'; 44]).encoding(), Encoding::Embstr);
        assert_eq!(StrValue::new(&[b'a'; 45]).encoding(), Encoding::Raw);
        let mut v = StrValue::new(b"ab");
        v.make_mut().push(b'c');
        assert_eq!(v.encoding(), Encoding::Raw);
        assert_eq!(v.to_vec(), b"abc");
    }

    #[test]
    fn integers_print_canonically() {
        let v = StrValue::new(b"-42");
        assert_eq!(v.to_vec(), b"-42");
        assert_eq!(v.len(), 3);
        assert_eq!(v.as_i64(), Some(-42));
        assert_eq!(StrValue::new(b"x").as_i64(), None);
    }
}
