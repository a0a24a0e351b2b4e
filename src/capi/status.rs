//! `nats_status`: the codes, their static descriptions, the mapping from the client's error
//! kinds, and the thread-local last-error detail.

use crate::client::error::{Error, ErrorKind};
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};

/// Result of every fallible `nats_*` call. `NATS_OK` (0) is success; every other value is an
/// error whose number is stable across releases (codes are only ever added, never renumbered).
/// `nats_status_str()` gives a static description and `nats_last_error()` the detail of the
/// most recent failure on the calling thread.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nats_status {
    /// Success.
    NATS_OK = 0,
    /// A required pointer argument was NULL.
    NATS_ERR_NULL_ARGUMENT = 1,
    /// A string argument was not valid UTF-8.
    NATS_ERR_INVALID_UTF8 = 2,
    /// An argument had a value outside what the function accepts (zero capacity, bad URL, ...).
    NATS_ERR_INVALID_ARGUMENT = 3,
    /// A subject, reply subject or queue group name is not valid: empty, contains whitespace,
    /// has an empty token (`a..b`, `.a`, `a.`), or (for publishing) contains a wildcard.
    NATS_ERR_INVALID_SUBJECT = 4,
    /// The operation did not complete within its timeout.
    NATS_ERR_TIMEOUT = 5,
    /// A request found no subscriber on its subject (the server answered 503). From JetStream
    /// calls: no JetStream API, stream or consumer answered — JetStream is not enabled for the
    /// account, the domain or API prefix is wrong, no stream stores the subject, the consumer
    /// no longer exists, or (transiently) a stream or consumer is electing its leader.
    /// Retryable (`nats_status_is_retryable`).
    NATS_ERR_NO_RESPONDERS = 6,
    /// The connection (or subscription) has been closed; the call cannot proceed.
    NATS_ERR_CONNECTION_CLOSED = 7,
    /// Could not connect: refused, unreachable, DNS failure, or all servers failed.
    NATS_ERR_CONNECTION_FAILED = 8,
    /// The server rejected the credentials (authorization violation / authentication failure).
    NATS_ERR_AUTH = 9,
    /// TLS could not be established: handshake failure, untrusted certificate, TLS required
    /// by one side but not offered by the other, unreadable certificate or key.
    NATS_ERR_TLS = 10,
    /// A subscription could not keep up and messages were dropped.
    NATS_ERR_SLOW_CONSUMER = 11,
    /// A blocking call was made from a thread of the library's own async runtime, where
    /// blocking would deadlock. (Callbacks never run on those threads.)
    NATS_ERR_WOULD_BLOCK_RUNTIME = 12,
    /// A bug inside the library was caught at the boundary; the call had no effect or a partial
    /// one. Please report it with `nats_last_error()`.
    NATS_ERR_PANIC = 13,
    /// Reading a file named in an argument failed (missing, unreadable, empty).
    NATS_ERR_IO = 14,
    /// The message has no reply subject to respond to.
    NATS_ERR_NO_REPLY_SUBJECT = 15,
    /// The payload (with headers) exceeds the server's max_payload.
    NATS_ERR_MAX_PAYLOAD = 16,
    /// The subscription is no longer active (unsubscribed, drained or its connection closed).
    NATS_ERR_INVALID_SUBSCRIPTION = 17,
    /// Any other failure reported by the server or the protocol layer; see `nats_last_error()`.
    NATS_ERR_INTERNAL = 18,
    /// The header, key or item asked for does not exist.
    NATS_ERR_NOT_FOUND = 19,
    /// The connection is reconnecting and its reconnect buffer
    /// (`nats_options_set_reconnect_buffer_size`) is full: the message was not accepted.
    NATS_ERR_BUFFER_FULL = 20,
    /// The server refused a publish or subscribe for lack of permission ("Permissions
    /// Violation"); reported through the error callback.
    NATS_ERR_PERMISSION = 21,
    /// A JetStream API error (e.g. JetStream not enabled, bad stream configuration); see
    /// `nats_last_error()` for the server's code and description.
    NATS_ERR_JETSTREAM = 22,
    /// A JetStream expectation did not hold: expected last sequence / last msg-id / stream of
    /// a publish, or the revision of a key-value update.
    NATS_ERR_EXPECTATION_FAILED = 23,
    /// JetStream answered that it is temporarily unavailable (no cluster leader, the stream's
    /// or consumer's leader is being elected, cluster not ready). Retryable.
    NATS_ERR_JETSTREAM_UNAVAILABLE = 24,
    /// The connection to the server was lost while the call waited for an answer (a request
    /// on a connection set up with `nats_options_set_fail_requests_on_disconnect`). The
    /// request may or may not have reached a responder. Retryable.
    NATS_ERR_DISCONNECTED = 25,
}

pub use nats_status::*;

impl nats_status {
    pub(crate) fn describe_c(self) -> &'static CStr {
        match self {
            NATS_OK => c"ok",
            NATS_ERR_NULL_ARGUMENT => c"a required pointer argument was NULL",
            NATS_ERR_INVALID_UTF8 => c"a string argument is not valid UTF-8",
            NATS_ERR_INVALID_ARGUMENT => c"invalid argument",
            NATS_ERR_INVALID_SUBJECT => c"invalid subject",
            NATS_ERR_TIMEOUT => c"timed out",
            NATS_ERR_NO_RESPONDERS => c"no responders",
            NATS_ERR_CONNECTION_CLOSED => c"connection closed",
            NATS_ERR_CONNECTION_FAILED => c"could not connect to any server",
            NATS_ERR_AUTH => c"authorization failed",
            NATS_ERR_TLS => c"TLS error",
            NATS_ERR_SLOW_CONSUMER => c"slow consumer, messages dropped",
            NATS_ERR_WOULD_BLOCK_RUNTIME => c"blocking call made on a runtime thread",
            NATS_ERR_PANIC => c"internal panic caught at the API boundary",
            NATS_ERR_IO => c"file could not be read",
            NATS_ERR_NO_REPLY_SUBJECT => c"message has no reply subject",
            NATS_ERR_MAX_PAYLOAD => c"payload exceeds the server's max_payload",
            NATS_ERR_INVALID_SUBSCRIPTION => c"subscription is not active",
            NATS_ERR_INTERNAL => c"internal or protocol error",
            NATS_ERR_NOT_FOUND => c"not found",
            NATS_ERR_BUFFER_FULL => c"reconnect buffer full",
            NATS_ERR_PERMISSION => c"permissions violation",
            NATS_ERR_JETSTREAM => c"JetStream error",
            NATS_ERR_EXPECTATION_FAILED => c"expectation failed (wrong last sequence, msg-id or revision)",
            NATS_ERR_JETSTREAM_UNAVAILABLE => c"JetStream temporarily unavailable",
            NATS_ERR_DISCONNECTED => c"disconnected from the server while waiting",
        }
    }

    pub(crate) fn describe(self) -> &'static str {
        self.describe_c().to_str().unwrap_or("")
    }

    fn from_i32(v: i32) -> Option<Self> {
        const ALL: [nats_status; 26] = [
            NATS_OK,
            NATS_ERR_NULL_ARGUMENT,
            NATS_ERR_INVALID_UTF8,
            NATS_ERR_INVALID_ARGUMENT,
            NATS_ERR_INVALID_SUBJECT,
            NATS_ERR_TIMEOUT,
            NATS_ERR_NO_RESPONDERS,
            NATS_ERR_CONNECTION_CLOSED,
            NATS_ERR_CONNECTION_FAILED,
            NATS_ERR_AUTH,
            NATS_ERR_TLS,
            NATS_ERR_SLOW_CONSUMER,
            NATS_ERR_WOULD_BLOCK_RUNTIME,
            NATS_ERR_PANIC,
            NATS_ERR_IO,
            NATS_ERR_NO_REPLY_SUBJECT,
            NATS_ERR_MAX_PAYLOAD,
            NATS_ERR_INVALID_SUBSCRIPTION,
            NATS_ERR_INTERNAL,
            NATS_ERR_NOT_FOUND,
            NATS_ERR_BUFFER_FULL,
            NATS_ERR_PERMISSION,
            NATS_ERR_JETSTREAM,
            NATS_ERR_EXPECTATION_FAILED,
            NATS_ERR_JETSTREAM_UNAVAILABLE,
            NATS_ERR_DISCONNECTED,
        ];
        ALL.iter().copied().find(|s| *s as i32 == v)
    }
}

impl From<ErrorKind> for nats_status {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::NullArgument => NATS_ERR_NULL_ARGUMENT,
            ErrorKind::InvalidUtf8 => NATS_ERR_INVALID_UTF8,
            ErrorKind::InvalidArgument => NATS_ERR_INVALID_ARGUMENT,
            ErrorKind::InvalidSubject => NATS_ERR_INVALID_SUBJECT,
            ErrorKind::Timeout => NATS_ERR_TIMEOUT,
            ErrorKind::NoResponders => NATS_ERR_NO_RESPONDERS,
            ErrorKind::ConnectionClosed => NATS_ERR_CONNECTION_CLOSED,
            ErrorKind::ConnectionFailed => NATS_ERR_CONNECTION_FAILED,
            ErrorKind::Auth => NATS_ERR_AUTH,
            ErrorKind::Tls => NATS_ERR_TLS,
            ErrorKind::SlowConsumer => NATS_ERR_SLOW_CONSUMER,
            ErrorKind::WouldBlockRuntime => NATS_ERR_WOULD_BLOCK_RUNTIME,
            ErrorKind::Panic => NATS_ERR_PANIC,
            ErrorKind::Io => NATS_ERR_IO,
            ErrorKind::NoReplySubject => NATS_ERR_NO_REPLY_SUBJECT,
            ErrorKind::MaxPayload => NATS_ERR_MAX_PAYLOAD,
            ErrorKind::InvalidSubscription => NATS_ERR_INVALID_SUBSCRIPTION,
            ErrorKind::Internal => NATS_ERR_INTERNAL,
            ErrorKind::NotFound => NATS_ERR_NOT_FOUND,
            ErrorKind::BufferFull => NATS_ERR_BUFFER_FULL,
            ErrorKind::Permission => NATS_ERR_PERMISSION,
            ErrorKind::JetStream => NATS_ERR_JETSTREAM,
            ErrorKind::ExpectationFailed => NATS_ERR_EXPECTATION_FAILED,
            ErrorKind::JetStreamUnavailable => NATS_ERR_JETSTREAM_UNAVAILABLE,
            ErrorKind::Disconnected => NATS_ERR_DISCONNECTED,
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `err` as this thread's last error and returns its status.
pub(crate) fn record(err: Error) -> nats_status {
    let status = nats_status::from(err.kind);
    let text = format!("{}: {}", status.describe(), err.detail);
    let c = crate::capi::strings::c_string(&text);
    LAST_ERROR.with(|slot| *slot.borrow_mut() = c);
    status
}

/// Returns a static, NUL-terminated English description of `status` (never NULL).
/// Unknown values give "unknown status". Thread safety: any thread, any time.
#[no_mangle]
pub extern "C" fn nats_status_str(status: i32) -> *const c_char {
    match nats_status::from_i32(status) {
        Some(s) => s.describe_c().as_ptr(),
        None => c"unknown status".as_ptr(),
    }
}

/// True when the same call may succeed if simply made again later, without changing anything:
/// `NATS_ERR_TIMEOUT`, `NATS_ERR_NO_RESPONDERS` (for JetStream: possibly a leader election),
/// `NATS_ERR_JETSTREAM_UNAVAILABLE`, `NATS_ERR_BUFFER_FULL` (reconnecting),
/// `NATS_ERR_DISCONNECTED` and `NATS_ERR_CONNECTION_FAILED`. A retried JetStream publish should carry a msg_id so that
/// the stream stores it once (`nats_js_publish_options.max_retries` does this for you).
/// Every other status, `NATS_OK` and unknown values give false. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn nats_status_is_retryable(status: i32) -> bool {
    matches!(
        nats_status::from_i32(status),
        Some(
            NATS_ERR_TIMEOUT
                | NATS_ERR_NO_RESPONDERS
                | NATS_ERR_JETSTREAM_UNAVAILABLE
                | NATS_ERR_BUFFER_FULL
                | NATS_ERR_DISCONNECTED
                | NATS_ERR_CONNECTION_FAILED
        )
    )
}

/// Returns the detailed message of the most recent failed call on the calling thread, e.g.
/// "could not connect to any server: connection refused (127.0.0.1:4222)". Never NULL: ""
/// before any failure. Successful calls do not clear it, so read it right after the failing
/// call. The string is owned by the library and stays valid until the next failing call on
/// this thread; copy it to keep it. Thread safety: per-thread, no locking needed.
#[no_mangle]
pub extern "C" fn nats_last_error() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_matches_static_strings() {
        for v in -1..40 {
            // SAFETY: nats_status_str returns a static NUL-terminated string for any value.
            let s = unsafe { CStr::from_ptr(nats_status_str(v)) }.to_str().unwrap();
            match nats_status::from_i32(v) {
                Some(st) => assert_eq!(s, st.describe()),
                None => assert_eq!(s, "unknown status"),
            }
        }
    }
}
