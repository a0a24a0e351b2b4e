//! The client's errors: what kind of failure (the C boundary maps each kind to its status
//! code) and a sentence for the user.

/// What went wrong; one kind per status code of the C API (mapped at the C boundary).
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
    /// The connection was lost while waiting for an answer.
    Disconnected,
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

thread_local! {
    /// Where the last panic on this thread happened, kept by the panic hook (see
    /// the C boundary's guard) for whoever catches it.
    static PANIC_LOCATION: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Remembers where a panic on this thread happened (called by the panic hook).
pub(crate) fn note_panic_location(location: Option<String>) {
    PANIC_LOCATION.with(|p| *p.borrow_mut() = location);
}

/// The text of a caught panic, with where it happened when known.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    match PANIC_LOCATION.with(|p| p.borrow_mut().take()) {
        Some(at) => format!("{what} (at {at})"),
        None => what,
    }
}
