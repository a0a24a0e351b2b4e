//! `nats_msg_*`: received messages and their accessors.

use crate::error::*;
use crate::ffi::*;
use std::ffi::{c_char, c_void};

/// A received message. Messages passed to a callback are borrowed until the callback returns
/// (keep one with `nats_msg_clone`); messages returned through an out-param (`nats_request`,
/// `nats_msg_clone`) are owned by the caller and freed with `nats_msg_free`.
/// A message is immutable: its accessors may be called from any thread concurrently.
pub struct nats_msg {
    pub(crate) inner: async_nats::Message,
    /// `subject\0` then, when there is one, `reply\0`: NUL-terminated copies for C.
    strings: Box<[u8]>,
    reply_at: Option<usize>,
}

impl nats_msg {
    pub(crate) fn new(inner: async_nats::Message) -> Self {
        let subject = inner.subject.as_bytes();
        let reply = inner.reply.as_ref().map(|r| r.as_bytes());
        let mut buf = Vec::with_capacity(subject.len() + 2 + reply.map_or(0, |r| r.len()));
        buf.extend_from_slice(subject);
        buf.push(0);
        let reply_at = reply.map(|r| {
            let at = buf.len();
            buf.extend_from_slice(r);
            buf.push(0);
            at
        });
        nats_msg { inner, strings: buf.into_boxed_slice(), reply_at }
    }

    pub(crate) fn reply_str(&self) -> Option<&str> {
        self.inner.reply.as_ref().map(|r| r.as_str())
    }
}

impl Clone for nats_msg {
    fn clone(&self) -> Self {
        nats_msg { inner: self.inner.clone(), strings: self.strings.clone(), reply_at: self.reply_at }
    }
}

/// The message's subject, NUL-terminated. Borrowed from the message: valid until it is freed
/// (or, in a callback, until the callback returns). NULL only if `msg` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_subject(msg: *const nats_msg) -> *const c_char {
    guard_value(std::ptr::null(), || match msg.as_ref() {
        Some(m) => m.strings.as_ptr().cast(),
        None => std::ptr::null(),
    })
}

/// The message's reply subject, NUL-terminated, or NULL when it has none (or `msg` is NULL).
/// Borrowed like `nats_msg_subject`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_reply(msg: *const nats_msg) -> *const c_char {
    guard_value(std::ptr::null(), || match msg.as_ref().and_then(|m| m.reply_at.map(|at| (m, at))) {
        Some((m, at)) => m.strings[at..].as_ptr().cast(),
        None => std::ptr::null(),
    })
}

/// Pointer to the payload bytes (`nats_msg_data_len` of them). The payload is binary and NOT
/// NUL-terminated; print it with `"%.*s", (int)len, data`. Never NULL for a valid message,
/// even when empty. Borrowed like `nats_msg_subject`. NULL if `msg` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_data(msg: *const nats_msg) -> *const c_void {
    guard_value(std::ptr::null(), || match msg.as_ref() {
        Some(m) if m.inner.payload.is_empty() => c"".as_ptr().cast(),
        Some(m) => m.inner.payload.as_ptr().cast(),
        None => std::ptr::null(),
    })
}

/// Length of the payload in bytes; 0 if `msg` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_data_len(msg: *const nats_msg) -> usize {
    guard_value(0, || msg.as_ref().map_or(0, |m| m.inner.payload.len()))
}

/// Copies `msg` (cheap: the payload is shared, not copied) into a new message owned by the
/// caller, freed with `nats_msg_free`. Use it to keep a message received in a callback.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_clone(msg: *const nats_msg, out: *mut *mut nats_msg) -> nats_status {
    guard(|| {
        let m = handle_arg(msg, "msg")?;
        out_arg(out, "out")?;
        write_out(out, Box::into_raw(Box::new(m.clone())));
        Ok(())
    })
}

/// Frees a message the caller owns (from `nats_request` or `nats_msg_clone`). NULL is a no-op.
/// Never free the message passed to a callback.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_free(msg: *mut nats_msg) {
    guard_void(|| {
        if !msg.is_null() {
            drop(Box::from_raw(msg));
        }
    })
}
