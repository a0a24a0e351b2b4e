//! The client's errors: what kind of failure (the C boundary maps each kind to its
//! `nats_status`) and a sentence for the user.

/// What went wrong; one kind per status code of the C API (see `capi::status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    NullArgument,
    InvalidUtf8,
    InvalidArgument,
    InvalidSubject,
    Timeout,
    NoResponders,
    ConnectionClosed,
    ConnectionFailed,
    Auth,
    Tls,
    SlowConsumer,
    WouldBlockRuntime,
    Panic,
    Io,
    NoReplySubject,
    MaxPayload,
    InvalidSubscription,
    Internal,
    NotFound,
    BufferFull,
    Permission,
    JetStream,
    ExpectationFailed,
    JetStreamUnavailable,
}

/// A failure on its way to the caller: its kind and a human-readable detail (never a secret).
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub detail: String,
}

impl Error {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Error { kind, detail: detail.into() }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
