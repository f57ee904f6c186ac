//! A list value and its encodings. (Skeleton: issue 13 fills it in.)

use crate::rdb::encoding::Source;
use crate::rdb::{RdbError, ReadLimits};
use crate::value::Encoding;

/// A list value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListValue {
    _todo: (),
}

impl ListValue {
    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> Encoding {
        unimplemented!("issue 13")
    }

    /// Calls `f` with every element, head to tail.
    pub fn for_each_element(&self, _f: impl FnMut(&[u8])) {
        unimplemented!("issue 13")
    }

    /// The RDB object type this value is written as.
    pub(crate) fn rdb_type(&self) -> u8 {
        unimplemented!("issue 13")
    }

    /// Appends the value's RDB encoding, without its type byte.
    pub(crate) fn write_rdb(&self, _out: &mut Vec<u8>, _compress: bool) {
        unimplemented!("issue 13")
    }

    /// Reads a value of RDB object type `kind`.
    pub(crate) fn read_rdb(
        _src: &mut impl Source,
        _kind: u8,
        _limits: ReadLimits,
    ) -> Result<Self, RdbError> {
        Err(RdbError::Corrupt("issue 13"))
    }
}
