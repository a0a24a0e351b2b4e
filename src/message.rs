//! `nats_msg_*`: messages, their accessors and headers.

use crate::error::*;
use crate::ffi::*;
use bytes::Bytes;
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CString};
use std::str::FromStr;
use std::sync::OnceLock;

/// A message. Messages passed to a callback are borrowed until the callback returns (keep one
/// with `nats_msg_clone`); messages returned through an out-param (`nats_msg_new`,
/// `nats_request`, `nats_msg_clone`, `nats_subscription_next_msg`) are owned by the caller and
/// freed with `nats_msg_free`. Reading a message from several threads at once is safe;
/// modifying one (`nats_msg_header_set/add/delete`) needs the caller's exclusive access and
/// invalidates the strings earlier header accessors returned for it.
pub struct nats_msg {
    pub(crate) inner: async_nats::Message,
    /// `subject\0` then, when there is one, `reply\0`: NUL-terminated copies for C.
    strings: Box<[u8]>,
    reply_at: Option<usize>,
    /// NUL-terminated copies of the headers, built on first header access.
    cache: OnceLock<HeaderCache>,
}

/// C views of a message's headers: every key, and per key its values, each with an array of
/// pointers into the owned strings.
struct HeaderCache {
    keys: Vec<CString>,
    key_ptrs: Vec<*const c_char>,
    values: HashMap<String, (Vec<CString>, Vec<*const c_char>)>,
    description: Option<CString>,
}
// SAFETY: the raw pointers point into CStrings owned by the same cache, which is immutable once
// built; sharing them between threads is sharing `&CStr`.
unsafe impl Send for HeaderCache {}
unsafe impl Sync for HeaderCache {}

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

impl HeaderCache {
    fn build(m: &async_nats::Message) -> Self {
        let mut keys = Vec::new();
        let mut values = HashMap::new();
        if let Some(h) = &m.headers {
            let mut names: Vec<(&async_nats::HeaderName, &Vec<async_nats::HeaderValue>)> = h.iter().collect();
            names.sort_by(|a, b| AsRef::<str>::as_ref(a.0).cmp(AsRef::<str>::as_ref(b.0)));
            for (k, vs) in names {
                let k: &str = k.as_ref();
                keys.push(cstring(k));
                let owned: Vec<CString> = vs.iter().map(|v| cstring(v.as_str())).collect();
                let ptrs = owned.iter().map(|c| c.as_ptr()).collect();
                values.insert(k.to_string(), (owned, ptrs));
            }
        }
        let key_ptrs = keys.iter().map(|c| c.as_ptr()).collect();
        HeaderCache { keys, key_ptrs, values, description: m.description.as_deref().map(cstring) }
    }
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
        nats_msg { inner, strings: buf.into_boxed_slice(), reply_at, cache: OnceLock::new() }
    }

    /// A message to publish, built by the user.
    pub(crate) fn outgoing(subject: &str, reply: Option<&str>, data: &[u8]) -> Result<Self> {
        check_subject(subject, false, "subject")?;
        if let Some(r) = reply {
            check_subject(r, false, "reply subject")?;
        }
        Ok(nats_msg::new(async_nats::Message {
            subject: subject.into(),
            reply: reply.map(Into::into),
            payload: Bytes::copy_from_slice(data),
            headers: None,
            status: None,
            description: None,
            length: subject.len() + data.len(),
        }))
    }

    pub(crate) fn reply_str(&self) -> Option<&str> {
        self.inner.reply.as_ref().map(|r| r.as_str())
    }

    fn headers(&self) -> &HeaderCache {
        self.cache.get_or_init(|| HeaderCache::build(&self.inner))
    }

    fn modify_headers(&mut self, f: impl FnOnce(&mut async_nats::HeaderMap)) {
        let mut h = self.inner.headers.take().unwrap_or_default();
        f(&mut h);
        self.inner.headers = if h.is_empty() { None } else { Some(h) };
        self.cache = OnceLock::new();
    }
}

impl Clone for nats_msg {
    fn clone(&self) -> Self {
        nats_msg {
            inner: self.inner.clone(),
            strings: self.strings.clone(),
            reply_at: self.reply_at,
            cache: OnceLock::new(),
        }
    }
}

fn header_name(key: &str) -> Result<async_nats::HeaderName> {
    if key.is_empty() {
        return Err(Error::new(NATS_ERR_INVALID_ARGUMENT, "header name is empty"));
    }
    async_nats::HeaderName::from_str(key).map_err(|_| {
        Error::new(
            NATS_ERR_INVALID_ARGUMENT,
            format!("header name {key:?} must be printable ASCII without ':' or spaces"),
        )
    })
}

fn header_value(value: &str) -> Result<async_nats::HeaderValue> {
    async_nats::HeaderValue::from_str(value).map_err(|_| {
        Error::new(NATS_ERR_INVALID_ARGUMENT, "header value must not contain CR or LF")
    })
}

/// Creates a message to publish with `nats_publish_msg` or send with `nats_request_msg`:
/// `subject` (no wildcards), optional `reply` (NULL for none), `len` bytes at `data` (copied;
/// NULL allowed when len is 0). Add headers with `nats_msg_header_set/add`. On success writes
/// the message to `*out`, owned by the caller (`nats_msg_free`).
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_SUBJECT`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_new(
    subject: *const c_char,
    reply: *const c_char,
    data: *const c_void,
    len: usize,
    out: *mut *mut nats_msg,
) -> nats_status {
    guard(|| {
        let s = str_arg(subject, "subject")?;
        let r = opt_str_arg(reply, "reply")?;
        let d = bytes_arg(data, len, "data")?;
        out_arg(out, "out")?;
        let m = nats_msg::outgoing(s, r, d)?;
        write_out(out, Box::into_raw(Box::new(m)));
        Ok(())
    })
}

/// Sets header `key` to `value`, replacing any values it had. Keys are case-sensitive,
/// printable ASCII without ':'; values must not contain CR or LF.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_header_set(msg: *mut nats_msg, key: *const c_char, value: *const c_char) -> nats_status {
    guard(|| {
        let m = msg.as_mut().ok_or_else(|| null("msg"))?;
        let k = header_name(str_arg(key, "key")?)?;
        let v = header_value(str_arg(value, "value")?)?;
        m.modify_headers(|h| h.insert(k, v));
        Ok(())
    })
}

/// Adds `value` to header `key`, keeping the values it already has (multi-valued headers).
/// Errors: as `nats_msg_header_set`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_header_add(msg: *mut nats_msg, key: *const c_char, value: *const c_char) -> nats_status {
    guard(|| {
        let m = msg.as_mut().ok_or_else(|| null("msg"))?;
        let k = header_name(str_arg(key, "key")?)?;
        let v = header_value(str_arg(value, "value")?)?;
        m.modify_headers(|h| h.append(k, v));
        Ok(())
    })
}

/// Removes header `key` and all its values.
/// Errors: `NATS_ERR_NOT_FOUND` when the message has no such header, `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_header_delete(msg: *mut nats_msg, key: *const c_char) -> nats_status {
    guard(|| {
        let m = msg.as_mut().ok_or_else(|| null("msg"))?;
        let key = str_arg(key, "key")?;
        let k = header_name(key)?;
        let has = m.inner.headers.as_ref().is_some_and(|h| h.get(k.clone()).is_some());
        if !has {
            return Err(Error::new(NATS_ERR_NOT_FOUND, format!("no header {key:?}")));
        }
        m.modify_headers(|h| {
            let mut kept = async_nats::HeaderMap::new();
            for (name, vs) in h.iter() {
                if *name != k {
                    for v in vs {
                        kept.append(name.clone(), v.clone());
                    }
                }
            }
            *h = kept;
        });
        Ok(())
    })
}

/// Writes to `*value` the first value of header `key`, NUL-terminated, borrowed from the
/// message (valid until it is freed or its headers modified; in a callback, until it returns).
/// Errors: `NATS_ERR_NOT_FOUND` (no such header), `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_UTF8`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_header_get(msg: *const nats_msg, key: *const c_char, value: *mut *const c_char) -> nats_status {
    guard(|| {
        let m = handle_arg(msg, "msg")?;
        let key = str_arg(key, "key")?;
        out_arg(value, "value")?;
        match m.headers().values.get(key).and_then(|(_, p)| p.first()) {
            Some(p) => {
                write_out(value, *p);
                Ok(())
            }
            None => Err(Error::new(NATS_ERR_NOT_FOUND, format!("no header {key:?}"))),
        }
    })
}

/// Writes to `*values` an array of the `*count` values of header `key`, in the order they were
/// added. Array and strings are borrowed from the message like `nats_msg_header_get`'s.
/// Errors: `NATS_ERR_NOT_FOUND`, `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_header_values(
    msg: *const nats_msg,
    key: *const c_char,
    values: *mut *const *const c_char,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        let m = handle_arg(msg, "msg")?;
        let key = str_arg(key, "key")?;
        out_arg(values, "values")?;
        out_arg(count, "count")?;
        match m.headers().values.get(key) {
            Some((_, p)) if !p.is_empty() => {
                write_out(values, p.as_ptr());
                write_out(count, p.len());
                Ok(())
            }
            _ => Err(Error::new(NATS_ERR_NOT_FOUND, format!("no header {key:?}"))),
        }
    })
}

/// Writes to `*keys` an array of the message's `*count` header names (sorted), borrowed like
/// `nats_msg_header_get`'s strings. A message without headers gives count 0 and `*keys` NULL.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_header_keys(msg: *const nats_msg, keys: *mut *const *const c_char, count: *mut usize) -> nats_status {
    guard(|| {
        let m = handle_arg(msg, "msg")?;
        out_arg(keys, "keys")?;
        out_arg(count, "count")?;
        let c = m.headers();
        write_out(keys, if c.key_ptrs.is_empty() { std::ptr::null() } else { c.key_ptrs.as_ptr() });
        write_out(count, c.keys.len());
        Ok(())
    })
}

/// The NATS status code a server-generated message carries (503 no responders, 408 request
/// timeout, 404 no messages, 100 idle heartbeat / flow control, ...), or 0 for an ordinary
/// message (and for NULL).
#[no_mangle]
pub unsafe extern "C" fn nats_msg_status(msg: *const nats_msg) -> u16 {
    guard_value(0, || msg.as_ref().and_then(|m| m.inner.status).map_or(0, |s| s.as_u16()))
}

/// The description accompanying a status code ("No Responders", ...), NUL-terminated and
/// borrowed like `nats_msg_subject`; NULL when there is none.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_status_description(msg: *const nats_msg) -> *const c_char {
    guard_value(std::ptr::null(), || match msg.as_ref().and_then(|m| m.headers().description.as_ref()) {
        Some(d) => d.as_ptr(),
        None => std::ptr::null(),
    })
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
