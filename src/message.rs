//! `nats_msg_*`: messages, their accessors and headers.

use crate::capi::args::*;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::status::*;
use crate::client::error::*;
use crate::client::runtime;
use crate::client::subject::*;
use crate::connection::nats_connection;
use bytes::Bytes;
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CString};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A message. Messages passed to a callback are borrowed until the callback returns (keep one
/// with `nats_msg_clone`); messages returned through an out-param (`nats_msg_new`,
/// `nats_request`, `nats_msg_clone`, `nats_subscription_next_msg`) are owned by the caller and
/// freed with `nats_msg_free`. Reading a message from several threads at once is safe;
/// modifying one (`nats_msg_header_set/add/delete`) needs the caller's exclusive access and
/// invalidates the strings earlier header accessors returned for it.
///
/// Functions: `nats_request`, `nats_request_msg`, `nats_pull_consumer_fetch`,
/// `nats_pull_consumer_fetch_no_wait`, `nats_pull_consumer_next`, `nats_msg_new`,
/// `nats_msg_header_set`, `nats_msg_header_add`, `nats_msg_header_delete`, `nats_msg_header_get`,
/// `nats_msg_header_values`, `nats_msg_header_keys`, `nats_msg_status`,
/// `nats_msg_status_description`, `nats_msg_subject`, `nats_msg_reply`, `nats_msg_data`,
/// `nats_msg_data_len`, `nats_msg_clone`, `nats_msg_free`, `nats_msgs_free`, `nats_msg_metadata`,
/// `nats_msg_ack`, `nats_msg_ack_sync`, `nats_msg_nak`, `nats_msg_nak_with_delay`,
/// `nats_msg_in_progress`, `nats_msg_term`, `nats_jetstream_stream_get_msg`,
/// `nats_jetstream_stream_get_last_msg`, `nats_subscription_next_msg`.
pub struct nats_msg {
    pub(crate) inner: async_nats::Message,
    /// `subject\0` then, when there is one, `reply\0`: NUL-terminated copies for C, made on
    /// first access (a callback that only reads the payload costs no allocation), with where
    /// the reply starts.
    strings: OnceLock<(Box<[u8]>, Option<usize>)>,
    /// NUL-terminated copies of the headers, built on first header access.
    cache: OnceLock<HeaderCache>,
    /// JetStream messages: the connection acknowledgements are published on.
    acker: Option<Arc<nats_connection>>,
    /// A final acknowledgement (ack, nak, term) was sent.
    acked: AtomicBool,
    /// JetStream metadata parsed from the reply subject, on first access.
    meta: OnceLock<Option<JsMeta>>,
}

// C owns a `nats_msg` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_msg {
    type Rust = nats_msg;
}
impl BoxHandle for nats_msg {}

/// Metadata of a JetStream message, parsed from its `$JS.ACK.` reply subject.
struct JsMeta {
    stream: CString,
    consumer: CString,
    domain: CString,
    stream_seq: u64,
    consumer_seq: u64,
    delivered: u64,
    pending: u64,
    timestamp_ns: i64,
}

impl JsMeta {
    /// `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` or the form with
    /// `<domain>.<account hash>.` before the stream (ADR-15), possibly with more tokens.
    fn parse(reply: &str) -> Option<JsMeta> {
        let rest = reply.strip_prefix("$JS.ACK.")?;
        let t: Vec<&str> = rest.split('.').collect();
        let (domain, t) = match t.len() {
            7 => ("", &t[..]),
            n if n >= 9 => (if t[0] == "_" { "" } else { t[0] }, &t[2..]),
            _ => return None,
        };
        Some(JsMeta {
            stream: cstring(t[0]),
            consumer: cstring(t[1]),
            domain: cstring(domain),
            delivered: t[2].parse().ok()?,
            stream_seq: t[3].parse().ok()?,
            consumer_seq: t[4].parse().ok()?,
            timestamp_ns: t[5].parse().ok()?,
            pending: t[6].parse().ok()?,
        })
    }
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
        nats_msg {
            inner,
            strings: OnceLock::new(),
            cache: OnceLock::new(),
            acker: None,
            acked: AtomicBool::new(false),
            meta: OnceLock::new(),
        }
    }

    /// A JetStream message, acknowledged through `conn`.
    /// The NUL-terminated subject and reply (see `strings`).
    fn c_strings(&self) -> &(Box<[u8]>, Option<usize>) {
        self.strings.get_or_init(|| {
            let subject = self.inner.subject.as_bytes();
            let reply = self.inner.reply.as_ref().map(|r| r.as_bytes());
            let mut buf = Vec::with_capacity(subject.len() + 2 + reply.map_or(0, |r| r.len()));
            buf.extend_from_slice(subject);
            buf.push(0);
            let reply_at = reply.map(|r| {
                let at = buf.len();
                buf.extend_from_slice(r);
                buf.push(0);
                at
            });
            (buf.into_boxed_slice(), reply_at)
        })
    }

    pub(crate) fn with_acker(mut self, conn: Arc<nats_connection>) -> Self {
        self.acker = Some(conn);
        self
    }

    fn js_meta(&self) -> Option<&JsMeta> {
        self.meta.get_or_init(|| self.reply_str().and_then(JsMeta::parse)).as_ref()
    }

    /// Sends an acknowledgement of `kind` (`+ACK`, `-NAK`, `+WPI`, `+TERM`, ...) to the
    /// message's reply subject; a final one (ack, nak, term) may be sent once per message,
    /// progress (`+WPI`) any number of times before it. With `wait`, asks the server to
    /// confirm it (a request), at most that long.
    fn acknowledge(&self, body: &[u8], step: AckStep, wait: Option<Duration>) -> Result<()> {
        let fin = step == AckStep::Final;
        let conn = self.acker.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "not a JetStream message (it was not received from a JetStream consumer)",
            )
        })?;
        let reply = self.reply_str().filter(|r| r.starts_with("$JS.ACK.")).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "the message has no JetStream ack subject (its consumer does not need acknowledgements)",
            )
        })?;
        if fin && self.acked.swap(true, Ordering::AcqRel) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "the message was already acknowledged (ack, nak or term)",
            ));
        }
        if self.acked.load(Ordering::Acquire) && !fin {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "the message was already acknowledged (ack, nak or term)",
            ));
        }
        let sent = match wait {
            None => conn.publish(reply, None, body),
            Some(limit) => conn.request(reply, None, Bytes::copy_from_slice(body), limit).map(drop),
        };
        if sent.is_err() && fin {
            self.acked.store(false, Ordering::Release);
        }
        sent
    }

    /// A message to publish, built by the user.
    pub(crate) fn outgoing(subject: &str, reply: Option<&str>, data: &[u8]) -> Result<Self> {
        check_subject(subject, Wildcards::Refused, "subject")?;
        if let Some(r) = reply {
            check_subject(r, Wildcards::Refused, "reply subject")?;
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
            cache: OnceLock::new(),
            acker: self.acker.clone(),
            acked: AtomicBool::new(self.acked.load(Ordering::Acquire)),
            meta: OnceLock::new(),
        }
    }
}

fn header_name(key: &str) -> Result<async_nats::HeaderName> {
    if key.is_empty() {
        return Err(Error::new(ErrorKind::InvalidArgument, "header name is empty"));
    }
    async_nats::HeaderName::from_str(key).map_err(|_| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("header name {key:?} must be printable ASCII without ':' or spaces"),
        )
    })
}

/// What an acknowledgement does to a JetStream message's processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AckStep {
    /// Ends it (ack, nak, term): at most one per message.
    Final,
    /// Reports progress (`+WPI`): any number, before the final one.
    Progress,
}

pub(crate) fn header_value(value: &str) -> Result<async_nats::HeaderValue> {
    async_nats::HeaderValue::from_str(value)
        .map_err(|_| Error::new(ErrorKind::InvalidArgument, "header value must not contain CR or LF"))
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
        box_out(out, m);
        Ok(())
    })
}

/// Sets header `key` to `value`, replacing any values it had. Keys are case-sensitive,
/// printable ASCII without ':'; values must not contain CR or LF.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_header_set(
    msg: *mut nats_msg,
    key: *const c_char,
    value: *const c_char,
) -> nats_status {
    guard(|| {
        let m = borrow_mut(msg, "msg")?;
        let k = header_name(str_arg(key, "key")?)?;
        let v = header_value(str_arg(value, "value")?)?;
        m.modify_headers(|h| h.insert(k, v));
        Ok(())
    })
}

/// Adds `value` to header `key`, keeping the values it already has (multi-valued headers).
/// Errors: as `nats_msg_header_set`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_header_add(
    msg: *mut nats_msg,
    key: *const c_char,
    value: *const c_char,
) -> nats_status {
    guard(|| {
        let m = borrow_mut(msg, "msg")?;
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
        let m = borrow_mut(msg, "msg")?;
        let key = str_arg(key, "key")?;
        let k = header_name(key)?;
        let has = m.inner.headers.as_ref().is_some_and(|h| h.get(k.clone()).is_some());
        if !has {
            return Err(Error::new(ErrorKind::NotFound, format!("no header {key:?}")));
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
pub unsafe extern "C" fn nats_msg_header_get(
    msg: *const nats_msg,
    key: *const c_char,
    value: *mut *const c_char,
) -> nats_status {
    guard(|| {
        let m = borrow(msg, "msg")?;
        let key = str_arg(key, "key")?;
        out_arg(value, "value")?;
        match m.headers().values.get(key).and_then(|(_, p)| p.first()) {
            Some(p) => {
                write_out(value, *p);
                Ok(())
            }
            None => Err(Error::new(ErrorKind::NotFound, format!("no header {key:?}"))),
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
        let m = borrow(msg, "msg")?;
        let key = str_arg(key, "key")?;
        out_arg(values, "values")?;
        out_arg(count, "count")?;
        match m.headers().values.get(key) {
            Some((_, p)) if !p.is_empty() => {
                write_out(values, p.as_ptr());
                write_out(count, p.len());
                Ok(())
            }
            _ => Err(Error::new(ErrorKind::NotFound, format!("no header {key:?}"))),
        }
    })
}

/// Writes to `*keys` an array of the message's `*count` header names (sorted), borrowed like
/// `nats_msg_header_get`'s strings. A message without headers gives count 0 and `*keys` NULL.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_header_keys(
    msg: *const nats_msg,
    keys: *mut *const *const c_char,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        let m = borrow(msg, "msg")?;
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
        Some(m) => m.c_strings().0.as_ptr().cast(),
        None => std::ptr::null(),
    })
}

/// The message's reply subject, NUL-terminated, or NULL when it has none (or `msg` is NULL).
/// Borrowed like `nats_msg_subject`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_reply(msg: *const nats_msg) -> *const c_char {
    guard_value(std::ptr::null(), || match msg.as_ref().and_then(|m| m.c_strings().1.map(|at| (m, at))) {
        Some((m, at)) => m.c_strings().0[at..].as_ptr().cast(),
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
        let m = borrow(msg, "msg")?;
        out_arg(out, "out")?;
        box_out(out, m.clone());
        Ok(())
    })
}

/// Frees a message the caller owns (from `nats_request` or `nats_msg_clone`). NULL is a no-op.
/// Never free the message passed to a callback.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_free(msg: *mut nats_msg) {
    guard_void(|| {
        free_box(msg);
    })
}

/// Frees an array of messages from `nats_pull_consumer_fetch`: every non-NULL entry (set an
/// entry to NULL to keep that message; free it later with `nats_msg_free`) and the array.
/// NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_msgs_free(msgs: *mut *mut nats_msg, count: usize) {
    guard_void(|| free_box_array(msgs, count))
}

/// Metadata of a message received from a JetStream consumer, from `nats_msg_metadata`. The
/// strings are borrowed from the message (valid as long as it is).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_js_msg_metadata {
    /// The stream the message came from.
    pub stream: *const c_char,
    /// The consumer that delivered it.
    pub consumer: *const c_char,
    /// The JetStream domain; "" when none.
    pub domain: *const c_char,
    /// The message's sequence in the stream.
    pub stream_seq: u64,
    /// The delivery's sequence in the consumer.
    pub consumer_seq: u64,
    /// How many times it was delivered (1 the first time; more for redeliveries).
    pub num_delivered: u64,
    /// Messages left for the consumer after this one.
    pub num_pending: u64,
    /// When the stream stored it, nanoseconds since the Unix epoch.
    pub timestamp_ns: i64,
}

/// Fills `*meta` with the JetStream metadata of `msg` (stream and consumer sequences, delivery
/// count, pending, timestamp), read from its reply subject. Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_ARGUMENT` (not a message delivered by a JetStream consumer).
#[no_mangle]
pub unsafe extern "C" fn nats_msg_metadata(msg: *const nats_msg, meta: *mut nats_js_msg_metadata) -> nats_status {
    guard(|| {
        let m = borrow(msg, "msg")?;
        out_arg(meta, "meta")?;
        let j = m.js_meta().ok_or_else(|| {
            Error::new(ErrorKind::InvalidArgument, "not a JetStream consumer's message (no $JS.ACK reply subject)")
        })?;
        write_out(
            meta,
            nats_js_msg_metadata {
                stream: j.stream.as_ptr(),
                consumer: j.consumer.as_ptr(),
                domain: j.domain.as_ptr(),
                stream_seq: j.stream_seq,
                consumer_seq: j.consumer_seq,
                num_delivered: j.delivered,
                num_pending: j.pending,
                timestamp_ns: j.timestamp_ns,
            },
        );
        Ok(())
    })
}

/// Acknowledges a JetStream message: processed, do not redeliver. Published like any message
/// (buffered while reconnecting); use `nats_msg_ack_sync` to know the server has it. A
/// message takes one final acknowledgement (ack, nak or term).
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_ARGUMENT` (not a JetStream message that
/// needs acks, or already acknowledged), `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_ack(msg: *const nats_msg) -> nats_status {
    guard(|| borrow(msg, "msg")?.acknowledge(b"+ACK", AckStep::Final, None))
}

/// As `nats_msg_ack`, then waits (at most `timeout_ms`; 0 = the connection's request timeout)
/// until the server confirms it recorded the acknowledgement. Errors: as `nats_msg_ack`;
/// `NATS_ERR_TIMEOUT`, `NATS_ERR_NO_RESPONDERS` (the consumer no longer exists),
/// `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_ack_sync(msg: *const nats_msg, timeout_ms: u64) -> nats_status {
    guard(|| {
        let m = borrow(msg, "msg")?;
        runtime::refuse_on_runtime("nats_msg_ack_sync")?;
        // A message without a connection fails in `acknowledge`; any default will do there.
        let default = m.acker.as_ref().map_or(Duration::from_millis(1), |c| c.request_timeout);
        let limit = ms_or_default(timeout_ms, default);
        m.acknowledge(b"+ACK", AckStep::Final, Some(limit))
    })
}

/// Negatively acknowledges a JetStream message: not processed, redeliver it now.
/// Errors: as `nats_msg_ack`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_nak(msg: *const nats_msg) -> nats_status {
    guard(|| borrow(msg, "msg")?.acknowledge(b"-NAK", AckStep::Final, None))
}

/// As `nats_msg_nak`, asking the server to redeliver only after `delay_ms`.
/// Errors: as `nats_msg_ack`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_nak_with_delay(msg: *const nats_msg, delay_ms: u64) -> nats_status {
    guard(|| {
        let body = format!("-NAK {{\"delay\":{}}}", u128::from(delay_ms) * 1_000_000);
        borrow(msg, "msg")?.acknowledge(body.as_bytes(), AckStep::Final, None)
    })
}

/// Tells the server the message is still being worked on: its ack wait starts again. May be
/// sent any number of times before the final acknowledgement. Errors: as `nats_msg_ack`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_in_progress(msg: *const nats_msg) -> nats_status {
    guard(|| borrow(msg, "msg")?.acknowledge(b"+WPI", AckStep::Progress, None))
}

/// Terminates the message: never redeliver it, although it was not processed.
/// Errors: as `nats_msg_ack`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_term(msg: *const nats_msg) -> nats_status {
    guard(|| borrow(msg, "msg")?.acknowledge(b"+TERM", AckStep::Final, None))
}
