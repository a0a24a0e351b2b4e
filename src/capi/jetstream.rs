//! `nats_jetstream_options_*`, `nats_jetstream_new` / `_free` and `nats_jetstream_publish*`:
//! the JetStream context and publishing with acknowledgement.

use crate::capi::args::*;
use crate::capi::connection::nats_connection;
use crate::capi::events::hook;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::msg::nats_msg;
use crate::capi::pub_ack::{nats_pub_ack, CPubAck};
use crate::capi::status::*;
use crate::client::error::*;
use crate::client::jetstream::context::{build, AckHandler, JetStream, JsOptions, Outgoing, PublishOptions};
use bytes::Bytes;
use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

/// JetStream context options: create with `nats_jetstream_options_new`, free with
/// `nats_jetstream_options_free`. Not thread safe; `nats_jetstream_new` copies them.
///
/// Functions: `nats_jetstream_options_new`, `nats_jetstream_options_free`,
/// `nats_jetstream_options_set_domain`, `nats_jetstream_options_set_api_prefix`,
/// `nats_jetstream_options_set_timeout_ms`, `nats_jetstream_options_set_max_pending_acks`.
pub struct nats_jetstream_options {
    _private: [u8; 0],
}

// C owns a `nats_jetstream_options` with one owner: created and freed through a Box (see
// capi::handle).
impl Castable for nats_jetstream_options {
    type Rust = JsOptions;
}
impl BoxHandle for nats_jetstream_options {}

/// A JetStream context on a connection, from `nats_jetstream_new`; freed with
/// `nats_jetstream_free`. Thread safe: use it from any number of threads at once.
///
/// Functions: `nats_jetstream_consumer_create`, `nats_jetstream_consumer_update`,
/// `nats_jetstream_consumer_delete`, `nats_jetstream_consumer_info`,
/// `nats_jetstream_consumer_names`, `nats_jetstream_consumer_infos`, `nats_jetstream_consumer_pause`,
/// `nats_jetstream_consumer_resume`, `nats_jetstream_subscribe_subject`,
/// `nats_jetstream_pull_subscribe`, `nats_jetstream_pull_consumer`, `nats_jetstream_subscribe`,
/// `nats_jetstream_subscribe_sync`, `nats_jetstream_subscribe_ordered`, `nats_jetstream_new`,
/// `nats_jetstream_free`, `nats_jetstream_publish`, `nats_jetstream_publish_msg`,
/// `nats_jetstream_publish_async`, `nats_jetstream_publish_msg_async`,
/// `nats_jetstream_publish_async_complete`, `nats_jetstream_publish_async_pending`,
/// `nats_jetstream_kv_create`, `nats_jetstream_kv_bind`, `nats_jetstream_kv_delete`,
/// `nats_jetstream_kv_names`, `nats_jetstream_object_store_create`,
/// `nats_jetstream_object_store_bind`, `nats_jetstream_object_store_delete`,
/// `nats_jetstream_stream_create`, `nats_jetstream_stream_update`, `nats_jetstream_stream_delete`,
/// `nats_jetstream_stream_info`, `nats_jetstream_stream_purge`, `nats_jetstream_stream_names`,
/// `nats_jetstream_stream_get_msg`, `nats_jetstream_stream_get_last_msg`,
/// `nats_jetstream_stream_purge_ex`, `nats_jetstream_stream_delete_msg`,
/// `nats_jetstream_stream_erase_msg`, `nats_jetstream_stream_direct_get`,
/// `nats_jetstream_stream_infos`, `nats_jetstream_account_info`.
pub struct nats_jetstream {
    _private: [u8; 0],
}

// C shares a `nats_jetstream`: C holds one strong reference (see capi::handle).
impl Castable for nats_jetstream {
    type Rust = JetStream;
}
impl ArcHandle for nats_jetstream {}

/// Expectations and settings for one publish (`nats_jetstream_publish*`). Zero-initialize it
/// (`nats_js_publish_options o = {0};`) and set what you need; NULL pointers and false flags
/// mean "not set".
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_js_publish_options {
    /// Message id for de-duplication within the stream's duplicate window (`Nats-Msg-Id`).
    pub msg_id: *const c_char,
    /// The stream the subject must belong to (`Nats-Expected-Stream`).
    pub expected_stream: *const c_char,
    /// The id the stream's last message must have (`Nats-Expected-Last-Msg-Id`).
    pub expected_last_msg_id: *const c_char,
    /// With `has_expected_last_sequence`: the stream's last sequence must be this
    /// (`Nats-Expected-Last-Sequence`; 0 = the stream is empty).
    pub expected_last_sequence: u64,
    /// Whether `expected_last_sequence` is set.
    pub has_expected_last_sequence: bool,
    /// With `has_expected_last_subject_sequence`: the last sequence of a message on this
    /// subject must be this (`Nats-Expected-Last-Subject-Sequence`).
    pub expected_last_subject_sequence: u64,
    /// Whether `expected_last_subject_sequence` is set.
    pub has_expected_last_subject_sequence: bool,
    /// How long to wait for the acknowledgement; 0 = the context's timeout.
    pub timeout_ms: u64,
    /// Attempts after the first when the failure is transient: `NATS_ERR_NO_RESPONDERS` (no
    /// stream answered, e.g. during a leader election), `NATS_ERR_JETSTREAM_UNAVAILABLE`, and
    /// — only when `msg_id` is set, so the stream de-duplicates — `NATS_ERR_TIMEOUT`. Every
    /// attempt sends the same message with the same headers. 0 = no retry (default), as
    /// nats.c's jsPubOptions.MaxRetries. Each attempt waits up to the timeout for its ack.
    pub max_retries: u32,
    /// Wait before each retry, ms; 0 = 250 ms (nats.c's default RetryWait).
    pub retry_wait_ms: u64,
}

/// Reads the publish options C passes (NULL: none set).
fn publish_options<'a>(p: *const nats_js_publish_options) -> Result<PublishOptions<'a>> {
    let Some(o) = struct_opt(p) else { return Ok(PublishOptions::default()) };
    Ok(PublishOptions {
        msg_id: opt_str_arg(o.msg_id, "opts.msg_id")?,
        expected_stream: opt_str_arg(o.expected_stream, "opts.expected_stream")?,
        expected_last_msg_id: opt_str_arg(o.expected_last_msg_id, "opts.expected_last_msg_id")?,
        expected_last_sequence: o.has_expected_last_sequence.then_some(o.expected_last_sequence),
        expected_last_subject_sequence: o
            .has_expected_last_subject_sequence
            .then_some(o.expected_last_subject_sequence),
        timeout: (o.timeout_ms > 0).then(|| Duration::from_millis(o.timeout_ms)),
        max_retries: o.max_retries,
        retry_wait: (o.retry_wait_ms > 0).then(|| Duration::from_millis(o.retry_wait_ms)),
    })
}

/// Async publish acknowledgement callback: `user_data`, `NATS_OK` and the ack (borrowed until
/// the callback returns), or an error status (`NATS_ERR_TIMEOUT`, `NATS_ERR_NO_RESPONDERS` (no
/// stream answered: none stores the subject, or its leader is being elected),
/// `NATS_ERR_JETSTREAM_UNAVAILABLE`, `NATS_ERR_EXPECTATION_FAILED`, `NATS_ERR_JETSTREAM`) with
/// `ack` NULL; `nats_last_error()` explains inside the callback. Runs on the context's ack
/// thread, one call at a time, in completion order; it may call any function of the library
/// except `nats_jetstream_publish_async_complete` on the same context.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_pub_ack_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, status: nats_status, ack: *const nats_pub_ack)>;

type AckFn = unsafe extern "C" fn(*mut c_void, nats_status, *const nats_pub_ack);

/// The ack handler calling a `nats_pub_ack_callback` (none: the outcome is dropped).
fn ack_handler(cb: nats_pub_ack_callback, user_data: *mut c_void) -> AckHandler {
    let Some(f) = cb else { return Box::new(drop) };
    let hook = hook::<AckFn>(f, user_data);
    Box::new(move |result| {
        let ack = result.map(CPubAck::from);
        let (status, ack_ptr) = match &ack {
            Ok(a) => (NATS_OK, crate::capi::pub_ack::borrowed_ack(a)),
            Err(e) => (record(e.clone()), std::ptr::null()),
        };
        // SAFETY: the user's callback with the user's pointer; the ack lives until `ack` is
        // dropped after the call.
        unsafe { (hook.f())(hook.user_data(), status, ack_ptr) };
    })
}

/// Creates JetStream context options with the defaults: no domain, API prefix `$JS.API`,
/// timeout 5000 ms, max_pending_acks 4000. → `nats_jetstream_options_free`.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_options_new(out: *mut *mut nats_jetstream_options) -> nats_status {
    guard(|| {
        out_arg(out, "out")?;
        box_out(out, Default::default());
        Ok(())
    })
}

/// Frees options. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_options_free(opts: *mut nats_jetstream_options) {
    guard_void(|| {
        free_box(opts);
    })
}

fn with_js_opts(o: *mut nats_jetstream_options, f: impl FnOnce(&mut JsOptions) -> Result<()>) -> nats_status {
    guard(|| f(borrow_mut(o, "opts")?))
}

/// The JetStream domain to talk to (API prefix `$JS.<domain>.API`); NULL for none.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (opts), `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT`
/// (empty or with spaces/dots).
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_options_set_domain(
    opts: *mut nats_jetstream_options,
    domain: *const c_char,
) -> nats_status {
    with_js_opts(opts, |o| o.set_domain(opt_str_arg(domain, "domain")?))
}

/// The JetStream API subject prefix (default `$JS.API`), e.g. for an account import. Ignored
/// when a domain is set. NULL restores the default.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (opts), `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_SUBJECT`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_options_set_api_prefix(
    opts: *mut nats_jetstream_options,
    prefix: *const c_char,
) -> nats_status {
    with_js_opts(opts, |o| o.set_api_prefix(opt_str_arg(prefix, "prefix")?))
}

/// Default timeout of JetStream API calls and of waiting for publish acknowledgements
/// (default 5000 ms). Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_ARGUMENT` (0).
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_options_set_timeout_ms(
    opts: *mut nats_jetstream_options,
    ms: u64,
) -> nats_status {
    with_js_opts(opts, |o| o.set_timeout(Duration::from_millis(ms)))
}

/// How many async publishes may await their acknowledgement at once (default 4000); beyond
/// that `nats_jetstream_publish_async` waits (at most the timeout).
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_ARGUMENT` (0, or more than
/// `NATS_MAX_QUEUE_CAPACITY`).
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_options_set_max_pending_acks(
    opts: *mut nats_jetstream_options,
    max: usize,
) -> nats_status {
    with_js_opts(opts, |o| {
        check_capacity(max, "max_pending_acks")?;
        o.set_max_pending_acks(max);
        Ok(())
    })
}

/// Creates a JetStream context on `conn` with `opts` (NULL: defaults; copied). Does not talk
/// to the server. → `nats_jetstream_free` (before or after the connection's free: the
/// context keeps what it needs alive). Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_new(
    conn: *mut nats_connection,
    opts: *const nats_jetstream_options,
    out: *mut *mut nats_jetstream,
) -> nats_status {
    guard(|| {
        borrow(conn, "conn")?;
        out_arg(out, "out")?;
        let defaults = JsOptions::default();
        let o = borrow_opt(opts).unwrap_or(&defaults);
        let js = JetStream::new(clone_arc(conn, "conn")?, o)?;
        arc_out(out, Arc::new(js));
        Ok(())
    })
}

/// Releases the caller's handle. Callbacks of async publishes still in flight run anyway;
/// call `nats_jetstream_publish_async_complete` first to wait for them. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_free(js: *mut nats_jetstream) {
    guard_void(|| {
        drop(free_arc(js));
    })
}

/// Reads and checks what `nats_jetstream_publish` / `_async` send.
fn publish_common(
    js: *mut nats_jetstream,
    subject: *const c_char,
    data: *const c_void,
    len: usize,
    opts: *const nats_js_publish_options,
) -> Result<Outgoing> {
    let j = borrow(js, "js")?;
    let s = str_arg(subject, "subject")?;
    let d = bytes_arg(data, len, "data")?;
    build(j, s, None, Bytes::copy_from_slice(d), &publish_options(opts)?)
}

/// Reads and checks what `nats_jetstream_publish_msg` / `_async` send.
fn publish_msg_common(
    js: *mut nats_jetstream,
    msg: *const nats_msg,
    opts: *const nats_js_publish_options,
) -> Result<Outgoing> {
    let j = borrow(js, "js")?;
    let m = &borrow(msg, "msg")?.msg.inner;
    build(j, m.subject.as_str(), m.headers.clone(), m.payload.clone(), &publish_options(opts)?)
}

/// Publishes to a stream and waits for its acknowledgement. `opts` may be NULL. On success
/// writes the ack to `*ack` (→ `nats_pub_ack_free`; pass NULL if not wanted).
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_SUBJECT`,
/// `NATS_ERR_INVALID_ARGUMENT` (a string of `opts` with CR or LF),
/// `NATS_ERR_NO_RESPONDERS` (no stream answered: none stores the subject, or — transiently —
/// its leader is being elected; see `max_retries`), `NATS_ERR_JETSTREAM_UNAVAILABLE`
/// (JetStream answered that it is temporarily unavailable), `NATS_ERR_EXPECTATION_FAILED` (an
/// expectation of `opts` did not hold), `NATS_ERR_JETSTREAM` (another JetStream error),
/// `NATS_ERR_TIMEOUT`, `NATS_ERR_MAX_PAYLOAD`, `NATS_ERR_CONNECTION_CLOSED`,
/// `NATS_ERR_WOULD_BLOCK_RUNTIME`. A connection lost while it waits does not fail it (even
/// with `nats_options_set_fail_requests_on_disconnect`, which is for core requests): it waits
/// through the reconnect until its timeout.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_publish(
    js: *mut nats_jetstream,
    subject: *const c_char,
    data: *const c_void,
    len: usize,
    opts: *const nats_js_publish_options,
    ack: *mut *mut nats_pub_ack,
) -> nats_status {
    guard(|| {
        let out = publish_common(js, subject, data, len, opts)?;
        let a = borrow(js, "js")?.publish(out)?;
        if !ack.is_null() {
            box_out(ack, CPubAck::from(a));
        }
        Ok(())
    })
}

/// As `nats_jetstream_publish`, sending `msg` (built with `nats_msg_new`: subject, headers,
/// payload). Errors: as `nats_jetstream_publish`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_publish_msg(
    js: *mut nats_jetstream,
    msg: *const nats_msg,
    opts: *const nats_js_publish_options,
    ack: *mut *mut nats_pub_ack,
) -> nats_status {
    guard(|| {
        let out = publish_msg_common(js, msg, opts)?;
        let a = borrow(js, "js")?.publish(out)?;
        if !ack.is_null() {
            box_out(ack, CPubAck::from(a));
        }
        Ok(())
    })
}

/// Publishes without waiting for the acknowledgement: the message is sent in call order, and
/// `cb(user_data, status, ack)` runs once when the ack (or a failure) arrives, on the
/// context's ack lane (a thread of its own, the shared pool or the dispatcher; see
/// `nats_pub_ack_callback`). Waits only while max_pending_acks
/// acknowledgements are outstanding (at most the timeout). `cb` may be NULL when the outcome does
/// not matter (failures then go unreported). Errors (then `cb` is not called): as `nats_jetstream_publish` without the
/// ack-related ones; `NATS_ERR_TIMEOUT` when no ack slot freed up in time;
/// `NATS_ERR_BUFFER_FULL` while disconnected when the reconnect buffer cannot take the message.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_publish_async(
    js: *mut nats_jetstream,
    subject: *const c_char,
    data: *const c_void,
    len: usize,
    opts: *const nats_js_publish_options,
    cb: nats_pub_ack_callback,
    user_data: *mut c_void,
) -> nats_status {
    guard(|| {
        let out = publish_common(js, subject, data, len, opts)?;
        clone_arc(js, "js")?.publish_async(out, ack_handler(cb, user_data))
    })
}

/// As `nats_jetstream_publish_async`, sending `msg` (built with `nats_msg_new`).
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_publish_msg_async(
    js: *mut nats_jetstream,
    msg: *const nats_msg,
    opts: *const nats_js_publish_options,
    cb: nats_pub_ack_callback,
    user_data: *mut c_void,
) -> nats_status {
    guard(|| {
        let out = publish_msg_common(js, msg, opts)?;
        clone_arc(js, "js")?.publish_async(out, ack_handler(cb, user_data))
    })
}

/// Waits until every async publish of this context has been acknowledged (or failed) and its
/// callback has returned, at most `timeout_ms` (0 = the context's timeout).
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_TIMEOUT` (some still outstanding; see
/// `nats_jetstream_publish_async_pending`), `NATS_ERR_INVALID_ARGUMENT` (called from this
/// context's ack callback).
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_publish_async_complete(
    js: *mut nats_jetstream,
    timeout_ms: u64,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        j.complete(ms_or_default(timeout_ms, j.timeout))
    })
}

/// Number of async publishes whose callback has not yet returned; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_publish_async_pending(js: *const nats_jetstream) -> u64 {
    read(js, |j| j.pending() as u64)
}
