//! `nats_msg_*`: reading and building messages, headers, JetStream metadata and
//! acknowledgements.

use crate::capi::args::*;
use crate::capi::connection::nats_connection;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::status::*;
use crate::capi::strings::c_string;
use crate::client::error::*;
use crate::client::message::{header_name, header_value, AckStep, JsMeta, Message};
use crate::client::runtime;
use async_nats::{HeaderName, HeaderValue};
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CString};
use std::sync::OnceLock;

/// A message. Messages passed to a callback are borrowed until the callback returns (keep one
/// with `nats_msg_clone`); messages returned through an out-param (`nats_msg_new`,
/// `nats_request`, `nats_msg_clone`, `nats_subscription_next_msg`) are owned by the caller and
/// freed with `nats_msg_free`. Reading a message from several threads at once is safe;
/// modifying one (`nats_msg_header_set/add/delete`) needs the caller's exclusive access and
/// invalidates the strings earlier header accessors returned for it.
///
/// Functions: `nats_request`, `nats_request_msg`, `nats_pull_consumer_fetch`, `nats_pull_consumer_fetch_ex`,
/// `nats_pull_consumer_fetch_no_wait`, `nats_pull_consumer_next`, `nats_msg_new`,
/// `nats_msg_header_set`, `nats_msg_header_add`, `nats_msg_header_delete`, `nats_msg_header_get`,
/// `nats_msg_header_values`, `nats_msg_header_keys`, `nats_msg_status`,
/// `nats_msg_status_description`, `nats_msg_subject`, `nats_msg_reply`, `nats_msg_data`,
/// `nats_msg_data_len`, `nats_msg_clone`, `nats_msg_free`, `nats_msgs_free`, `nats_msg_metadata`,
/// `nats_msg_ack`, `nats_msg_ack_sync`, `nats_msg_nak`, `nats_msg_nak_with_delay`,
/// `nats_msg_in_progress`, `nats_msg_term`, `nats_jetstream_stream_get_msg`,
/// `nats_jetstream_stream_get_last_msg`, `nats_jetstream_stream_direct_get`, `nats_msg_sequence`,
/// `nats_msg_timestamp`, `nats_subscription_next_msg`.
pub struct nats_msg {
    _private: [u8; 0],
}

// C owns a `nats_msg` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_msg {
    type Rust = CMsg;
}
impl BoxHandle for nats_msg {}

/// A message as C sees it: the message, and the NUL-terminated copies of its strings that C
/// borrows, each made on first access (a callback that only reads the payload costs no
/// allocation).
pub(crate) struct CMsg {
    pub(crate) msg: Message,
    /// `subject\0` then, when there is one, `reply\0`, with where the reply starts.
    strings: OnceLock<(Box<[u8]>, Option<usize>)>,
    /// The headers and status description, built on first header access.
    headers: OnceLock<HeaderCache>,
    /// The JetStream metadata's strings.
    meta: OnceLock<Option<CMeta>>,
}

impl From<Message> for CMsg {
    fn from(msg: Message) -> Self {
        CMsg { msg, strings: OnceLock::new(), headers: OnceLock::new(), meta: OnceLock::new() }
    }
}

impl Clone for CMsg {
    fn clone(&self) -> Self {
        CMsg { strings: self.strings.clone(), ..CMsg::from(self.msg.clone()) }
    }
}

/// The handle of a message C borrows for the length of a callback.
pub(crate) fn borrowed_msg(m: &CMsg) -> *const nats_msg {
    (m as *const CMsg).cast()
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

/// NUL-terminated copies of a JetStream message's metadata strings.
struct CMeta {
    stream: CString,
    consumer: CString,
    domain: CString,
    meta: JsMeta,
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
                keys.push(c_string(k));
                let owned: Vec<CString> = vs.iter().map(|v| c_string(v.as_str())).collect();
                let ptrs = owned.iter().map(|c| c.as_ptr()).collect();
                values.insert(k.to_string(), (owned, ptrs));
            }
        }
        let key_ptrs = keys.iter().map(|c| c.as_ptr()).collect();
        HeaderCache { keys, key_ptrs, values, description: m.description.as_deref().map(c_string) }
    }
}

impl CMsg {
    /// The NUL-terminated subject and reply (see `strings`).
    fn c_strings(&self) -> &(Box<[u8]>, Option<usize>) {
        self.strings.get_or_init(|| {
            let subject = self.msg.inner.subject.as_bytes();
            let reply = self.msg.inner.reply.as_ref().map(|r| r.as_bytes());
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

    fn headers(&self) -> &HeaderCache {
        self.headers.get_or_init(|| HeaderCache::build(&self.msg.inner))
    }

    fn meta(&self) -> Option<&CMeta> {
        self.meta
            .get_or_init(|| {
                self.msg.js_meta().map(|m| CMeta {
                    stream: c_string(&m.stream),
                    consumer: c_string(&m.consumer),
                    domain: c_string(&m.domain),
                    meta: m.clone(),
                })
            })
            .as_ref()
    }

    /// Changes the headers, dropping the C views of the old ones.
    fn modify<T>(&mut self, f: impl FnOnce(&mut Message) -> T) -> T {
        let result = f(&mut self.msg);
        self.headers = OnceLock::new();
        result
    }
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
        box_out(out, CMsg::from(Message::outgoing(s, r, d)?));
        Ok(())
    })
}

/// Reads a header name and value and applies `op` (set or add) to the message.
fn write_header(
    msg: *mut nats_msg,
    key: *const c_char,
    value: *const c_char,
    op: fn(&mut Message, HeaderName, HeaderValue),
) -> nats_status {
    guard(|| {
        let m = borrow_mut(msg, "msg")?;
        let k = header_name(str_arg(key, "key")?)?;
        let v = header_value(str_arg(value, "value")?)?;
        m.modify(|m| op(m, k, v));
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
    write_header(msg, key, value, Message::set_header)
}

/// Adds `value` to header `key`, keeping the values it already has (multi-valued headers).
/// Errors: as `nats_msg_header_set`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_header_add(
    msg: *mut nats_msg,
    key: *const c_char,
    value: *const c_char,
) -> nats_status {
    write_header(msg, key, value, Message::add_header)
}

/// Removes header `key` and all its values.
/// Errors: `NATS_ERR_NOT_FOUND` when the message has no such header, `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_header_delete(msg: *mut nats_msg, key: *const c_char) -> nats_status {
    guard(|| {
        let m = borrow_mut(msg, "msg")?;
        let key = str_arg(key, "key")?;
        m.modify(|m| m.delete_header(key))
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
    read(msg, |m| m.msg.status())
}

/// The description accompanying a status code ("No Responders", ...), NUL-terminated and
/// borrowed like `nats_msg_subject`; NULL when there is none.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_status_description(msg: *const nats_msg) -> *const c_char {
    read(msg, |m| m.headers().description.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()))
}

/// The message's subject, NUL-terminated. Borrowed from the message: valid until it is freed
/// (or, in a callback, until the callback returns). NULL only if `msg` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_subject(msg: *const nats_msg) -> *const c_char {
    read(msg, |m| m.c_strings().0.as_ptr().cast())
}

/// The message's reply subject, NUL-terminated, or NULL when it has none (or `msg` is NULL).
/// Borrowed like `nats_msg_subject`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_reply(msg: *const nats_msg) -> *const c_char {
    read(msg, |m| match m.c_strings() {
        (strings, Some(at)) => strings[*at..].as_ptr().cast(),
        (_, None) => std::ptr::null(),
    })
}

/// Pointer to the payload bytes (`nats_msg_data_len` of them). The payload is binary and NOT
/// NUL-terminated; print it with `"%.*s", (int)len, data`. Never NULL for a valid message,
/// even when empty. Borrowed like `nats_msg_subject`. NULL if `msg` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_data(msg: *const nats_msg) -> *const c_void {
    read(msg, |m| data_ptr(&m.msg.inner.payload))
}

/// Length of the payload in bytes; 0 if `msg` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_data_len(msg: *const nats_msg) -> usize {
    read(msg, |m| m.msg.inner.payload.len())
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
        let c = m.meta().ok_or_else(|| {
            Error::new(ErrorKind::InvalidArgument, "not a JetStream consumer's message (no $JS.ACK reply subject)")
        })?;
        write_out(
            meta,
            nats_js_msg_metadata {
                stream: c.stream.as_ptr(),
                consumer: c.consumer.as_ptr(),
                domain: c.domain.as_ptr(),
                stream_seq: c.meta.stream_seq,
                consumer_seq: c.meta.consumer_seq,
                num_delivered: c.meta.delivered,
                num_pending: c.meta.pending,
                timestamp_ns: c.meta.timestamp_ns,
            },
        );
        Ok(())
    })
}

/// The stream sequence of a message read from a stream (`nats_jetstream_stream_get_msg`,
/// `_get_last_msg`, `_direct_get`) or delivered by a JetStream consumer; 0 for any other
/// message and for NULL (nats.c's `natsMsg_GetSequence`).
#[no_mangle]
pub unsafe extern "C" fn nats_msg_sequence(msg: *const nats_msg) -> u64 {
    read(msg, |m| m.msg.sequence().unwrap_or(0))
}

/// When a message read from a stream or delivered by a JetStream consumer was stored,
/// nanoseconds since the Unix epoch; 0 for any other message and for NULL (nats.c's
/// `natsMsg_GetTime`).
#[no_mangle]
pub unsafe extern "C" fn nats_msg_timestamp(msg: *const nats_msg) -> i64 {
    read(msg, |m| m.msg.timestamp_ns().unwrap_or(0))
}

/// Acknowledges a JetStream message: processed, do not redeliver. Published like any message
/// (buffered while reconnecting); use `nats_msg_ack_sync` to know the server has it. A
/// message takes one final acknowledgement (ack, nak or term).
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_ARGUMENT` (not a JetStream message that
/// needs acks, or already acknowledged), `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_ack(msg: *const nats_msg) -> nats_status {
    guard(|| borrow(msg, "msg")?.msg.acknowledge(b"+ACK", AckStep::Final, None))
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
        let limit = ms_or_default(timeout_ms, m.msg.ack_timeout());
        m.msg.acknowledge(b"+ACK", AckStep::Final, Some(limit))
    })
}

/// Negatively acknowledges a JetStream message: not processed, redeliver it now.
/// Errors: as `nats_msg_ack`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_nak(msg: *const nats_msg) -> nats_status {
    guard(|| borrow(msg, "msg")?.msg.acknowledge(b"-NAK", AckStep::Final, None))
}

/// As `nats_msg_nak`, asking the server to redeliver only after `delay_ms`.
/// Errors: as `nats_msg_ack`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_nak_with_delay(msg: *const nats_msg, delay_ms: u64) -> nats_status {
    guard(|| {
        let body = format!("-NAK {{\"delay\":{}}}", u128::from(delay_ms) * 1_000_000);
        borrow(msg, "msg")?.msg.acknowledge(body.as_bytes(), AckStep::Final, None)
    })
}

/// Tells the server the message is still being worked on: its ack wait starts again. May be
/// sent any number of times before the final acknowledgement. Errors: as `nats_msg_ack`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_in_progress(msg: *const nats_msg) -> nats_status {
    guard(|| borrow(msg, "msg")?.msg.acknowledge(b"+WPI", AckStep::Progress, None))
}

/// Terminates the message: never redeliver it, although it was not processed.
/// Errors: as `nats_msg_ack`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_term(msg: *const nats_msg) -> nats_status {
    guard(|| borrow(msg, "msg")?.msg.acknowledge(b"+TERM", AckStep::Final, None))
}

/// Publishes `len` bytes at `data` to the reply subject of `request`.
/// Errors: `NATS_ERR_NO_REPLY_SUBJECT` when the message has none, else as `nats_publish`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_respond(
    conn: *mut nats_connection,
    request: *const nats_msg,
    data: *const c_void,
    len: usize,
) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        let m = borrow(request, "request")?;
        let d = bytes_arg(data, len, "data")?;
        let reply = m
            .msg
            .reply_str()
            .ok_or_else(|| Error::new(ErrorKind::NoReplySubject, "the request has no reply subject"))?;
        c.publish(reply, None, d)
    })
}
