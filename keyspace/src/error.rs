//! Why a keyspace operation was refused. The RESP layer maps each to Redis's text.

/// An operation the data does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyspaceError {
    /// The key holds a value of another type.
    #[error("operation against a key holding the wrong kind of value")]
    WrongType,
    /// The stored value is not a canonical integer.
    #[error("value is not an integer or out of range")]
    NotInteger,
    /// The integer result does not fit in 64 bits.
    #[error("increment or decrement would overflow")]
    Overflow,
    /// The stored value is not a float.
    #[error("value is not a valid float")]
    NotFloat,
    /// The float increment is not a float.
    #[error("increment is not a valid float")]
    IncrementNotFloat,
    /// The float result is NaN or infinite.
    #[error("increment would produce NaN or Infinity")]
    NotFinite,
    /// The string would exceed the configured maximum size.
    #[error("string exceeds maximum allowed size")]
    StringTooLong,
    /// The key does not exist.
    #[error("no such key")]
    NoSuchKey,
    /// The hash field's value is not an integer (HINCRBY).
    #[error("hash value is not an integer")]
    HashNotInteger,
    /// The hash field's value is not a float (HINCRBYFLOAT).
    #[error("hash value is not a float")]
    HashNotFloat,
}

/// Result of a keyspace operation.
pub type Result<T> = std::result::Result<T, KeyspaceError>;
