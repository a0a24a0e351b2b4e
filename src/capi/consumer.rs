//! `nats_consumer_*`, `nats_jetstream_consumer_*`, `nats_pull_consumer_*` and the JetStream
//! subscriptions (`nats_jetstream_subscribe*`): durable and ephemeral consumers, pull
//! (fetch, next, consume with a callback), push and ordered delivery.

use crate::capi::args::*;
use crate::capi::callback::nats_user_data_free;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::jetstream::nats_jetstream;
use crate::capi::msg::{nats_msg, CMsg};
use crate::capi::status::*;
use crate::capi::stream_config::time_from_ns;
use crate::capi::strings::c_string;
use crate::capi::subscription::{nats_msg_callback, nats_subscription, sub_out, CMessageHandler};
use crate::capi::view::{millis, nanos_since_epoch, CArena};
use crate::client::delivery::MessageHandler;
use crate::client::error::*;
use crate::client::jetstream::consumer::{
    check_consumer_name, FetchRequest, FetchWait, OrderedOptions, PullConsumer, SubjectSubscribe,
};
use crate::client::jetstream::context::JetStream;
use crate::client::jetstream::stream::check_name;
use crate::client::message::{AckStep, Message};
use crate::client::subscription::Subscription;
use async_nats::jetstream::consumer;
use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;
use std::time::Duration;

pub use crate::capi::consumer_config::*;

/// Fills `*cfg` with the defaults: ephemeral pull consumer, deliver all, explicit acks,
/// server-default ack wait, unlimited deliveries, no filter, instant replay.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_config_init(cfg: *mut nats_consumer_config) -> nats_status {
    guard(|| {
        out_arg(cfg, "cfg")?;
        write_out(cfg, default_config());
        Ok(())
    })
}

/// A snapshot of a consumer's configuration and state; → `nats_consumer_info_free`.
///
/// Functions: `nats_jetstream_consumer_create`, `nats_jetstream_consumer_update`,
/// `nats_jetstream_consumer_info`, `nats_consumer_info_name`, `nats_consumer_info_stream`,
/// `nats_consumer_info_is_push`, `nats_consumer_info_num_pending`,
/// `nats_consumer_info_num_ack_pending`, `nats_consumer_info_num_redelivered`,
/// `nats_consumer_info_num_waiting`, `nats_consumer_info_delivered_stream_seq`,
/// `nats_consumer_info_delivered_consumer_seq`, `nats_consumer_info_ack_floor_stream_seq`,
/// `nats_consumer_info_ack_floor_consumer_seq`, `nats_consumer_info_config`,
/// `nats_consumer_info_paused`, `nats_consumer_info_pause_remaining_ms`,
/// `nats_consumer_info_created_ns`, `nats_jetstream_consumer_infos`, `nats_consumer_infos_free`,
/// `nats_subscription_consumer_info`, `nats_consumer_info_free`, `nats_pull_consumer_info`.
pub struct nats_consumer_info {
    _private: [u8; 0],
}

// C owns a `nats_consumer_info` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_consumer_info {
    type Rust = CConsumerInfo;
}
impl BoxHandle for nats_consumer_info {}

/// A consumer's info with its strings NUL-terminated for C.
pub(crate) struct CConsumerInfo {
    name: CString,
    stream: CString,
    push: bool,
    num_pending: u64,
    num_ack_pending: u64,
    num_redelivered: u64,
    num_waiting: u64,
    delivered_stream_seq: u64,
    delivered_consumer_seq: u64,
    ack_floor_stream_seq: u64,
    ack_floor_consumer_seq: u64,
    config: nats_consumer_config,
    paused: bool,
    pause_remaining_ms: u64,
    created_ns: i64,
    /// Owns what `config` points to.
    _arena: CArena,
}

// SAFETY: the raw pointers in `config` point into the arena of the same immutable snapshot.
unsafe impl Send for CConsumerInfo {}
unsafe impl Sync for CConsumerInfo {}

impl From<&consumer::Info> for CConsumerInfo {
    fn from(i: &consumer::Info) -> Self {
        let mut arena = CArena::default();
        let config = config_view(&mut arena, &i.config);
        CConsumerInfo {
            config,
            paused: i.paused,
            pause_remaining_ms: i.pause_remaining.map_or(0, millis),
            created_ns: nanos_since_epoch(i.created),
            _arena: arena,
            name: c_string(&i.name),
            stream: c_string(&i.stream_name),
            push: i.config.deliver_subject.is_some(),
            num_pending: i.num_pending,
            num_ack_pending: i.num_ack_pending as u64,
            num_redelivered: i.num_redelivered as u64,
            num_waiting: i.num_waiting as u64,
            delivered_stream_seq: i.delivered.stream_sequence,
            delivered_consumer_seq: i.delivered.consumer_sequence,
            ack_floor_stream_seq: i.ack_floor.stream_sequence,
            ack_floor_consumer_seq: i.ack_floor.consumer_sequence,
        }
    }
}

fn info_out(out: *mut *mut nats_consumer_info, i: &consumer::Info) {
    if !out.is_null() {
        box_out(out, CConsumerInfo::from(i));
    }
}

/// Creates or updates a consumer from a C configuration (`op`), writing its info unless NULL.
fn put_consumer(
    js: *mut nats_jetstream,
    stream: *const c_char,
    cfg: *const nats_consumer_config,
    info: *mut *mut nats_consumer_info,
    op: fn(&JetStream, &str, consumer::Config) -> Result<consumer::Info>,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let s = str_arg(stream, "stream")?;
        check_name(s)?;
        let i = op(j, s, to_config(struct_arg(cfg, "cfg")?)?)?;
        info_out(info, &i);
        Ok(())
    })
}

/// Creates a consumer on `stream` (succeeds also when an identical one exists; a durable one
/// with a different configuration is updated where the server allows). On success writes its
/// info to `*info` unless `info` is NULL (→ `nats_consumer_info_free`); its name (for an
/// ephemeral consumer, chosen by the server) is `nats_consumer_info_name`.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT`,
/// `NATS_ERR_INVALID_SUBJECT`, `NATS_ERR_NOT_FOUND` (no such stream), `NATS_ERR_JETSTREAM`, `NATS_ERR_NO_RESPONDERS` (no JetStream answered), `NATS_ERR_JETSTREAM_UNAVAILABLE`
/// (refused by the server), `NATS_ERR_TIMEOUT`, `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_consumer_create(
    js: *mut nats_jetstream,
    stream: *const c_char,
    cfg: *const nats_consumer_config,
    info: *mut *mut nats_consumer_info,
) -> nats_status {
    put_consumer(js, stream, cfg, info, JetStream::create_consumer)
}

/// Updates an existing consumer's configuration (the durable name or name selects it).
/// Errors: as `nats_jetstream_consumer_create`; `NATS_ERR_NOT_FOUND` when it does not exist.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_consumer_update(
    js: *mut nats_jetstream,
    stream: *const c_char,
    cfg: *const nats_consumer_config,
    info: *mut *mut nats_consumer_info,
) -> nats_status {
    put_consumer(js, stream, cfg, info, JetStream::update_consumer)
}

/// Deletes consumer `name` of `stream`. Errors: `NATS_ERR_NOT_FOUND`, else as
/// `nats_jetstream_consumer_create`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_consumer_delete(
    js: *mut nats_jetstream,
    stream: *const c_char,
    name: *const c_char,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let (s, n) = names(stream, name)?;
        j.delete_consumer(s, n)
    })
}

/// Fetches consumer `name`'s current info into `*info` (→ `nats_consumer_info_free`).
/// Errors: `NATS_ERR_NOT_FOUND`, else as `nats_jetstream_consumer_create`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_consumer_info(
    js: *mut nats_jetstream,
    stream: *const c_char,
    name: *const c_char,
    info: *mut *mut nats_consumer_info,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let (s, n) = names(stream, name)?;
        out_arg(info, "info")?;
        info_out(info, &j.consumer_info(s, n)?);
        Ok(())
    })
}

/// Writes the names of `stream`'s consumers to `*names` (`*count` strings, →
/// `nats_strings_free(names, count)`; NULL and 0 when there are none).
/// Errors: as `nats_jetstream_consumer_info`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_consumer_names(
    js: *mut nats_jetstream,
    stream: *const c_char,
    names: *mut *mut *mut c_char,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let s = str_arg(stream, "stream")?;
        check_name(s)?;
        crate::capi::strings::strings_to(names, count, || j.consumer_names(s))
    })
}

/// The consumer's name; "" for NULL. Borrowed from the info.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_name(info: *const nats_consumer_info) -> *const c_char {
    read_or(info, c"".as_ptr(), |i| i.name.as_ptr())
}

/// The stream it consumes; "" for NULL. Borrowed from the info.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_stream(info: *const nats_consumer_info) -> *const c_char {
    read_or(info, c"".as_ptr(), |i| i.stream.as_ptr())
}

/// True for a push consumer (it has a deliver subject); false for pull and NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_is_push(info: *const nats_consumer_info) -> bool {
    read(info, |i| i.push)
}

/// Messages of the stream not yet delivered to the consumer; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_num_pending(info: *const nats_consumer_info) -> u64 {
    read(info, |i| i.num_pending)
}

/// Messages delivered and not yet acknowledged; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_num_ack_pending(info: *const nats_consumer_info) -> u64 {
    read(info, |i| i.num_ack_pending)
}

/// Messages redelivered (ack wait expired or nak); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_num_redelivered(info: *const nats_consumer_info) -> u64 {
    read(info, |i| i.num_redelivered)
}

/// Pull requests waiting at the server; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_num_waiting(info: *const nats_consumer_info) -> u64 {
    read(info, |i| i.num_waiting)
}

/// Stream sequence of the last message delivered; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_delivered_stream_seq(info: *const nats_consumer_info) -> u64 {
    read(info, |i| i.delivered_stream_seq)
}

/// Consumer sequence of the last delivery; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_delivered_consumer_seq(info: *const nats_consumer_info) -> u64 {
    read(info, |i| i.delivered_consumer_seq)
}

/// Stream sequence up to which every message is acknowledged; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_ack_floor_stream_seq(info: *const nats_consumer_info) -> u64 {
    read(info, |i| i.ack_floor_stream_seq)
}

/// Consumer sequence up to which every delivery is acknowledged; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_ack_floor_consumer_seq(info: *const nats_consumer_info) -> u64 {
    read(info, |i| i.ack_floor_consumer_seq)
}

/// Writes the consumer's whole configuration, as the server holds it, to `*cfg`: every field
/// of `nats_consumer_config`, its strings and arrays borrowed from `info` (valid until
/// `nats_consumer_info_free`). Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_config(
    info: *const nats_consumer_info,
    cfg: *mut nats_consumer_config,
) -> nats_status {
    copy_out(info, "info", cfg, "cfg", |i| i.config)
}

/// True while the consumer is paused (`nats_jetstream_consumer_pause`); false for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_paused(info: *const nats_consumer_info) -> bool {
    read(info, |i| i.paused)
}

/// How long the consumer stays paused, ms; 0 when it is not paused, or for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_pause_remaining_ms(info: *const nats_consumer_info) -> u64 {
    read(info, |i| i.pause_remaining_ms)
}

/// When the consumer was created, ns since the Unix epoch; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_created_ns(info: *const nats_consumer_info) -> i64 {
    read(info, |i| i.created_ns)
}

/// Writes the info of every consumer of `stream` to `*infos` (an array of `*count`
/// snapshots, → `nats_consumer_infos_free(infos, count)`; NULL and 0 when there are none).
/// Errors: as `nats_jetstream_consumer_names`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_consumer_infos(
    js: *mut nats_jetstream,
    stream: *const c_char,
    infos: *mut *mut *mut nats_consumer_info,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let s = str_arg(stream, "stream")?;
        check_name(s)?;
        out_arg(infos, "infos")?;
        out_arg(count, "count")?;
        let list: Vec<CConsumerInfo> = j.consumer_infos(s)?.iter().map(CConsumerInfo::from).collect();
        let (p, n) = box_array::<nats_consumer_info>(list);
        write_out(infos, p);
        write_out(count, n);
        Ok(())
    })
}

/// Frees an array from `nats_jetstream_consumer_infos` and the snapshots in it. NULL is a
/// no-op; `count` must be the count returned with it.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_infos_free(infos: *mut *mut nats_consumer_info, count: usize) {
    guard_void(|| free_box_array(infos, count))
}

/// Pauses consumer `name` of `stream` until `until_ns` (ns since the Unix epoch): it delivers
/// nothing (pulls wait, push deliveries stop) until then or until
/// `nats_jetstream_consumer_resume` (server 2.11+). Writes whether it is paused now to
/// `*paused` unless NULL (false when `until_ns` has passed already). Errors: as
/// `nats_jetstream_consumer_info`; `NATS_ERR_INVALID_ARGUMENT` (`until_ns` not a valid time).
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_consumer_pause(
    js: *mut nats_jetstream,
    stream: *const c_char,
    name: *const c_char,
    until_ns: i64,
    paused: *mut bool,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let (s, n) = names(stream, name)?;
        let until = time_from_ns(until_ns, "until_ns")?.ok_or_else(|| {
            Error::new(ErrorKind::InvalidArgument, "`until_ns` is 0: use nats_jetstream_consumer_resume")
        })?;
        let now = j.pause_consumer(s, n, Some(until))?;
        if !paused.is_null() {
            write_out(paused, now);
        }
        Ok(())
    })
}

/// Resumes a paused consumer at once. Errors: as `nats_jetstream_consumer_info`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_consumer_resume(
    js: *mut nats_jetstream,
    stream: *const c_char,
    name: *const c_char,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let (s, n) = names(stream, name)?;
        j.pause_consumer(s, n, None).map(drop)
    })
}

/// Frees a consumer info. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_consumer_info_free(info: *mut nats_consumer_info) {
    guard_void(|| {
        free_box(info);
    })
}

/// A pull consumer bound with `nats_jetstream_pull_consumer`; → `nats_pull_consumer_free`.
/// Thread safe: several threads may fetch from one handle (each message goes to one of them).
///
/// Functions: `nats_jetstream_pull_consumer`, `nats_pull_consumer_fetch`,
/// `nats_pull_consumer_fetch_no_wait`, `nats_pull_consumer_next`, `nats_pull_consumer_consume`,
/// `nats_pull_consumer_fetch_ex`, `nats_jetstream_pull_subscribe`, `nats_pull_consumer_info`,
/// `nats_pull_consumer_free`.
pub struct nats_pull_consumer {
    _private: [u8; 0],
}

// C owns a `nats_pull_consumer` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_pull_consumer {
    type Rust = PullConsumer;
}
impl BoxHandle for nats_pull_consumer {}

/// Binds to the existing pull consumer `name` of `stream` (create it first with
/// `nats_jetstream_consumer_create`, without a deliver subject). → `nats_pull_consumer_free`.
/// Errors: `NATS_ERR_NOT_FOUND` (no such stream or consumer), `NATS_ERR_INVALID_ARGUMENT`
/// (it is a push consumer), else as `nats_jetstream_consumer_create`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_pull_consumer(
    js: *mut nats_jetstream,
    stream: *const c_char,
    name: *const c_char,
    out: *mut *mut nats_pull_consumer,
) -> nats_status {
    guard(|| {
        borrow(js, "js")?;
        let (s, n) = names(stream, name)?;
        out_arg(out, "out")?;
        box_out(out, clone_arc(js, "js")?.pull_consumer(s, n)?);
        Ok(())
    })
}

/// Pulls up to `batch` messages: returns when `batch` arrived or `timeout_ms` (at least 10)
/// passed, with those that arrived. On success writes an array of `*count` (>= 1) messages
/// to `*msgs` (→ `nats_msgs_free(msgs, count)`); acknowledge each (`nats_msg_ack`).
/// Errors: `NATS_ERR_TIMEOUT` (none arrived), `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_ARGUMENT` (batch 0, timeout < 10), `NATS_ERR_NO_RESPONDERS` (the consumer
/// was deleted, or has no leader right now), `NATS_ERR_JETSTREAM`,
/// `NATS_ERR_JETSTREAM_UNAVAILABLE`, `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_pull_consumer_fetch(
    pc: *mut nats_pull_consumer,
    batch: usize,
    timeout_ms: u64,
    msgs: *mut *mut *mut nats_msg,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        fetch_common(pc, FetchRequest::new(batch, FetchWait::UpTo(Duration::from_millis(timeout_ms))), msgs, count)
    })
}

/// As `nats_pull_consumer_fetch`, without waiting: only the messages available now (at most
/// `batch`). Errors: `NATS_ERR_NOT_FOUND` when none is available, else as
/// `nats_pull_consumer_fetch`.
#[no_mangle]
pub unsafe extern "C" fn nats_pull_consumer_fetch_no_wait(
    pc: *mut nats_pull_consumer,
    batch: usize,
    msgs: *mut *mut *mut nats_msg,
    count: *mut usize,
) -> nats_status {
    guard(|| fetch_common(pc, FetchRequest::new(batch, FetchWait::NoWait), msgs, count))
}

/// What `nats_pull_consumer_fetch_ex` asks for. Zero-initialize it (`= {0}`), then set `batch`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_fetch_options {
    /// Most messages (at least 1).
    pub batch: usize,
    /// Most bytes in all (payloads, subjects and headers as the server counts them); 0: no
    /// limit. A first message larger than this ends the fetch with nothing.
    pub max_bytes: usize,
    /// How long the pull waits, ms (at least 10); ignored with `no_wait`.
    pub timeout_ms: u64,
    /// Ask the server for a heartbeat this often while the pull waits (at most half of
    /// `timeout_ms`); a missed one ends the fetch early with what arrived, or with
    /// `NATS_ERR_JETSTREAM` if nothing did. 0: none.
    pub heartbeat_ms: u64,
    /// Only the messages available now.
    pub no_wait: bool,
}

/// Pulls messages as `opts` says: up to `batch` messages and `max_bytes` bytes, waiting at
/// most `timeout_ms` (or not at all with `no_wait`), with idle heartbeats so a lost server is
/// noticed before the timeout. Writes the array as `nats_pull_consumer_fetch` does.
/// Errors: as `nats_pull_consumer_fetch` (`NATS_ERR_NOT_FOUND` with `no_wait` and nothing
/// available); `NATS_ERR_INVALID_ARGUMENT` also for a heartbeat longer than half the timeout
/// or one with `no_wait`.
#[no_mangle]
pub unsafe extern "C" fn nats_pull_consumer_fetch_ex(
    pc: *mut nats_pull_consumer,
    opts: *const nats_fetch_options,
    msgs: *mut *mut *mut nats_msg,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        let o = struct_arg(opts, "opts")?;
        let wait = if o.no_wait { FetchWait::NoWait } else { FetchWait::UpTo(Duration::from_millis(o.timeout_ms)) };
        let req = FetchRequest {
            batch: o.batch,
            max_bytes: o.max_bytes,
            wait,
            heartbeat: Duration::from_millis(o.heartbeat_ms),
        };
        fetch_common(pc, req, msgs, count)
    })
}

/// Fetches as `req` says into an array of messages for C.
fn fetch_common(
    pc: *mut nats_pull_consumer,
    req: FetchRequest,
    msgs: *mut *mut *mut nats_msg,
    count: *mut usize,
) -> Result<()> {
    let p = borrow(pc, "pc")?;
    out_arg(msgs, "msgs")?;
    out_arg(count, "count")?;
    let list: Vec<CMsg> = p.fetch(req)?.into_iter().map(CMsg::from).collect();
    let (ptr, n) = box_array(list);
    write_out(msgs, ptr);
    write_out(count, n);
    Ok(())
}

/// Pulls one message, waiting at most `timeout_ms` (at least 10). On success writes it to
/// `*msg` (→ `nats_msg_free`). Errors: as `nats_pull_consumer_fetch`.
#[no_mangle]
pub unsafe extern "C" fn nats_pull_consumer_next(
    pc: *mut nats_pull_consumer,
    timeout_ms: u64,
    msg: *mut *mut nats_msg,
) -> nats_status {
    guard(|| {
        let p = borrow(pc, "pc")?;
        out_arg(msg, "msg")?;
        box_out(msg, CMsg::from(p.next(Duration::from_millis(timeout_ms))?));
        Ok(())
    })
}

/// Consumes continuously: the library keeps pull requests outstanding (with heartbeats) and
/// calls `cb(user_data, sub, msg)` for each message on its delivery lane, as `nats_subscribe`
/// does; acknowledge with `nats_msg_ack`. Stop with `nats_subscription_unsubscribe`,
/// `_drain` or `_free` (unacknowledged messages are redelivered by the server); problems
/// (missed heartbeats, consumer deleted) go to the error callback with `NATS_ERR_JETSTREAM`.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_JETSTREAM`, `NATS_ERR_NO_RESPONDERS` (no JetStream answered), `NATS_ERR_JETSTREAM_UNAVAILABLE`, `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_pull_consumer_consume(
    pc: *mut nats_pull_consumer,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
    out: *mut *mut nats_subscription,
) -> nats_status {
    guard(|| {
        let p = borrow(pc, "pc")?;
        let cb = cb.ok_or_else(|| null("cb"))?;
        out_arg(out, "out")?;
        let sub = p.consume(CMessageHandler::boxed(cb, user_data, user_data_free))?;
        sub_out(out, sub);
        Ok(())
    })
}

/// Fetches the consumer's current info into `*info` (→ `nats_consumer_info_free`).
/// Errors: as `nats_jetstream_consumer_info`.
#[no_mangle]
pub unsafe extern "C" fn nats_pull_consumer_info(
    pc: *mut nats_pull_consumer,
    info: *mut *mut nats_consumer_info,
) -> nats_status {
    guard(|| {
        let p = borrow(pc, "pc")?;
        out_arg(info, "info")?;
        info_out(info, &p.info()?);
        Ok(())
    })
}

/// Releases the handle (the consumer stays on the server). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_pull_consumer_free(pc: *mut nats_pull_consumer) {
    guard_void(|| free_box(pc))
}

/// Subscribes to the existing push consumer `name` of `stream` (created with a
/// `deliver_subject`, and `deliver_group` for a queue of workers): its messages go to
/// `cb(user_data, sub, msg)` on its delivery lane, as with `nats_subscribe` (pending limits,
/// drain, unsubscribe and the other `nats_subscription_*` functions apply). Acknowledge with
/// `nats_msg_ack` unless the consumer's ack policy is none. Flow control and heartbeats are
/// handled here, not delivered. `user_data_free` may be NULL.
/// Errors: `NATS_ERR_NOT_FOUND` (no such stream or consumer), `NATS_ERR_INVALID_ARGUMENT`
/// (a pull consumer), else as `nats_jetstream_consumer_create`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_subscribe(
    js: *mut nats_jetstream,
    stream: *const c_char,
    consumer: *const c_char,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
    out: *mut *mut nats_subscription,
) -> nats_status {
    guard(|| {
        let cb = cb.ok_or_else(|| null("cb"))?;
        push_common(js, stream, consumer, Some(CMessageHandler::boxed(cb, user_data, user_data_free)), out)
    })
}

/// How `nats_jetstream_subscribe_subject` and `nats_jetstream_pull_subscribe` make their
/// consumer. Zero-initialize it (`= {0}`) or pass NULL for the defaults.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_js_subscribe_options {
    /// The stream; NULL: the one that stores the subject (one more request).
    pub stream: *const c_char,
    /// A durable consumer's name (kept by the server, shared by whoever binds to it); NULL:
    /// an ephemeral consumer (named by the server; removed once unused for its inactive
    /// threshold, 5 s by default). With `queue` and no durable, the queue's name.
    pub durable: *const c_char,
    /// Push only: the queue group whose members share the deliveries.
    pub queue: *const c_char,
    /// Push with a callback: false (default) acknowledges each message when its callback
    /// returns, unless the callback acknowledged, nak'd or terminated it itself; true leaves
    /// every acknowledgement to the callback.
    pub manual_ack: bool,
    /// The rest of the consumer's configuration; NULL: `nats_consumer_config_init`'s. Its
    /// filter is the subject unless it sets `filter_subject(s)`; its durable name and deliver
    /// group come from the fields above.
    pub config: *const nats_consumer_config,
}

/// Reads the options, the consumer configuration they point to included.
fn subject_options(o: Option<&nats_js_subscribe_options>) -> Result<(SubjectSubscribe<'_>, bool)> {
    let Some(o) = o else {
        return Ok((SubjectSubscribe { config: to_config(&default_config())?, ..Default::default() }, false));
    };
    let config = match struct_opt(o.config) {
        Some(c) => to_config(c)?,
        None => to_config(&default_config())?,
    };
    let so = SubjectSubscribe {
        stream: opt_str_arg(o.stream, "opts.stream")?,
        durable: opt_str_arg(o.durable, "opts.durable")?,
        queue: opt_str_arg(o.queue, "opts.queue")?,
        config,
    };
    Ok((so, o.manual_ack))
}

/// A callback that acknowledges each JetStream message once it returns, unless the callback
/// did (ack, nak or term) — nats.c's default for `js_Subscribe`.
struct AutoAckHandler<const OWNED: bool = false>(CMessageHandler<OWNED>);

impl<const OWNED: bool> MessageHandler for AutoAckHandler<OWNED> {
    fn accepted(self: Box<Self>) -> crate::client::delivery::Callback {
        let AutoAckHandler(handler) = *self;
        Box::new(AutoAckHandler(handler.into_owned()))
    }

    fn on_message(&mut self, sub: &Arc<Subscription>, msg: Message) {
        let msg = CMsg::from(msg);
        self.0.call(sub, &msg);
        if !msg.msg.is_acknowledged() {
            // A failure (closed connection, a consumer without acks) shows as a redelivery
            // or through the connection's callbacks; there is no caller to tell.
            let _ = msg.msg.acknowledge(b"+ACK", AckStep::Final, None);
        }
    }
}

/// Creates a push consumer on the stream that stores `subject` (or `opts->stream`) filtered
/// on it, and subscribes to it (nats.c's `js_Subscribe` / `js_QueueSubscribe` /
/// `js_SubscribeSync`): messages go to `cb(user_data, sub, msg)` as with
/// `nats_jetstream_subscribe`, acknowledged when the callback returns unless
/// `opts->manual_ack`; with `cb` NULL, to `nats_subscription_next_msg` (acknowledge each).
/// The deliver subject is subscribed before the consumer exists: nothing is pushed unheard.
/// `opts` may be NULL; `user_data_free` may be NULL (with `cb` NULL, `user_data` and
/// `user_data_free` are not used). Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_SUBJECT`, `NATS_ERR_NOT_FOUND` (no stream stores the subject),
/// `NATS_ERR_INVALID_ARGUMENT` (a bad name or configuration), else as
/// `nats_jetstream_consumer_create`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_subscribe_subject(
    js: *mut nats_jetstream,
    subject: *const c_char,
    opts: *const nats_js_subscribe_options,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
    out: *mut *mut nats_subscription,
) -> nats_status {
    guard(|| {
        let j = clone_arc(js, "js")?;
        let subject = str_arg(subject, "subject")?;
        let (o, manual_ack) = subject_options(struct_opt(opts))?;
        out_arg(out, "out")?;
        let handler: Option<crate::client::delivery::Callback> = match cb {
            None => None,
            Some(f) if manual_ack => Some(CMessageHandler::boxed(f, user_data, user_data_free)),
            Some(f) => Some(Box::new(AutoAckHandler(CMessageHandler::new(f, user_data, user_data_free)))),
        };
        sub_out(out, j.subscribe_subject(subject, o, handler)?);
        Ok(())
    })
}

/// Creates a pull consumer on the stream that stores `subject` (or `opts->stream`) filtered
/// on it, and binds to it (nats.c's `js_PullSubscribe`): fetch with
/// `nats_pull_consumer_fetch*`, `_next` or `_consume`, → `nats_pull_consumer_free` (the
/// consumer stays: a durable one until deleted, an ephemeral one until unused for its
/// inactive threshold). `opts` may be NULL. Errors: as `nats_jetstream_subscribe_subject`;
/// `NATS_ERR_INVALID_ARGUMENT` also for a queue group or a deliver subject.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_pull_subscribe(
    js: *mut nats_jetstream,
    subject: *const c_char,
    opts: *const nats_js_subscribe_options,
    out: *mut *mut nats_pull_consumer,
) -> nats_status {
    guard(|| {
        let j = clone_arc(js, "js")?;
        let subject = str_arg(subject, "subject")?;
        let (o, _) = subject_options(struct_opt(opts))?;
        out_arg(out, "out")?;
        box_out(out, j.pull_subscribe(subject, o)?);
        Ok(())
    })
}

/// As `nats_jetstream_subscribe`, for synchronous delivery with
/// `nats_subscription_next_msg`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_subscribe_sync(
    js: *mut nats_jetstream,
    stream: *const c_char,
    consumer: *const c_char,
    out: *mut *mut nats_subscription,
) -> nats_status {
    guard(|| push_common(js, stream, consumer, None, out))
}

/// Reads and checks a stream and a consumer name (before the out-parameter, as documented
/// errors go).
fn names<'a>(stream: *const c_char, name: *const c_char) -> Result<(&'a str, &'a str)> {
    let s = str_arg(stream, "stream")?;
    check_name(s)?;
    let n = str_arg(name, "consumer")?;
    check_consumer_name(n, "consumer name")?;
    Ok((s, n))
}

/// Subscribes to a push consumer for `nats_jetstream_subscribe` / `_sync`.
fn push_common(
    js: *mut nats_jetstream,
    stream: *const c_char,
    name: *const c_char,
    cb: Option<crate::client::delivery::Callback>,
    out: *mut *mut nats_subscription,
) -> Result<()> {
    let j = clone_arc(js, "js")?;
    let (s, n) = names(stream, name)?;
    out_arg(out, "out")?;
    sub_out(out, j.subscribe_push(s, n, cb)?);
    Ok(())
}

/// An ordered consumer: every message of `stream` (or those matching `cfg->filter_subject`),
/// in stream order, exactly once, to `cb` on its delivery lane — the library creates an
/// ephemeral push consumer without acknowledgements (flow control, heartbeats) and recreates
/// it from the next sequence if a gap, a missed heartbeat or a reconnect interrupts it. From
/// `cfg` (NULL: defaults) only `deliver_policy`, `opt_start_seq`, `opt_start_time_ms`,
/// `filter_subject`, `replay_policy` and `headers_only` are used. Messages carry metadata
/// (`nats_msg_metadata`) and need no ack. Errors: `NATS_ERR_NOT_FOUND` (no such stream),
/// `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT`,
/// `NATS_ERR_INVALID_SUBJECT`, `NATS_ERR_JETSTREAM`, `NATS_ERR_NO_RESPONDERS` (no JetStream
/// answered), `NATS_ERR_JETSTREAM_UNAVAILABLE`, `NATS_ERR_TIMEOUT`, `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_subscribe_ordered(
    js: *mut nats_jetstream,
    stream: *const c_char,
    cfg: *const nats_consumer_config,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
    out: *mut *mut nats_subscription,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let s = str_arg(stream, "stream")?;
        check_name(s)?;
        let cb = cb.ok_or_else(|| null("cb"))?;
        out_arg(out, "out")?;
        let c = struct_opt(cfg).copied().unwrap_or_else(default_config);
        let o = OrderedOptions {
            deliver_policy: deliver_policy(c.deliver_policy, c.opt_start_seq, c.opt_start_time_ms)?,
            filter_subject: opt_str_arg(c.filter_subject, "cfg.filter_subject")?.unwrap_or_default().to_string(),
            replay_policy: replay_policy(c.replay_policy)?,
            headers_only: c.headers_only,
        };
        let sub = j.subscribe_ordered(s, o, CMessageHandler::boxed(cb, user_data, user_data_free))?;
        sub_out(out, sub);
        Ok(())
    })
}
