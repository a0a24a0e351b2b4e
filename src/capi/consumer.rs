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
use crate::capi::strings::c_string;
use crate::capi::subscription::{nats_msg_callback, nats_subscription, sub_out, CMessageHandler};
use crate::client::error::*;
use crate::client::jetstream::consumer::{check_consumer_name, FetchWait, OrderedOptions, PullConsumer};
use crate::client::jetstream::context::JetStream;
use crate::client::jetstream::stream::check_name;
use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy, ReplayPolicy};
use std::ffi::{c_char, c_void, CString};
use std::time::Duration;

/// Where a new consumer starts in its stream.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nats_deliver_policy {
    /// From the first message (default).
    NATS_DELIVER_ALL = 0,
    /// From the last message.
    NATS_DELIVER_LAST = 1,
    /// Only messages stored after the consumer was created.
    NATS_DELIVER_NEW = 2,
    /// From stream sequence `opt_start_seq`.
    NATS_DELIVER_BY_START_SEQUENCE = 3,
    /// From the first message stored at or after `opt_start_time_ms`.
    NATS_DELIVER_BY_START_TIME = 4,
    /// The last message of each subject, then new ones.
    NATS_DELIVER_LAST_PER_SUBJECT = 5,
}

/// How messages must be acknowledged.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nats_ack_policy {
    /// Each message individually (default; the only one pull consumers accept).
    NATS_ACK_EXPLICIT = 0,
    /// No acknowledgements: a message counts as processed once delivered.
    NATS_ACK_NONE = 1,
    /// Acknowledging a message acknowledges every earlier one too.
    NATS_ACK_ALL = 2,
}

/// How fast stored messages are delivered.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nats_replay_policy {
    /// As fast as possible (default).
    NATS_REPLAY_INSTANT = 0,
    /// At the pace they were originally stored.
    NATS_REPLAY_ORIGINAL = 1,
}

/// A consumer configuration. Always start from `nats_consumer_config_init(&cfg)`, then set
/// fields; strings are borrowed for the duration of the call that takes the config.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_consumer_config {
    /// Name of a durable consumer (kept by the server until deleted); NULL for an ephemeral one
    /// (removed after `inactive_threshold_ms` without use).
    pub durable_name: *const c_char,
    /// Name of an ephemeral consumer (NULL: the server picks one). Ignored with a durable name.
    pub name: *const c_char,
    /// A description stored with the consumer; NULL for none.
    pub description: *const c_char,
    /// Push consumers: the subject the server delivers to (see `nats_jetstream_subscribe`).
    /// NULL: a pull consumer (see `nats_jetstream_pull_consumer`).
    pub deliver_subject: *const c_char,
    /// Push consumers: the queue group whose members share the deliveries; NULL for none.
    pub deliver_group: *const c_char,
    /// A `nats_deliver_policy` value; any other gives `NATS_ERR_INVALID_ARGUMENT`.
    pub deliver_policy: i32,
    /// With `NATS_DELIVER_BY_START_SEQUENCE`.
    pub opt_start_seq: u64,
    /// With `NATS_DELIVER_BY_START_TIME`: milliseconds since the Unix epoch.
    pub opt_start_time_ms: i64,
    /// A `nats_ack_policy` value; any other gives `NATS_ERR_INVALID_ARGUMENT`.
    pub ack_policy: i32,
    /// How long the server waits for an acknowledgement before redelivering, ms; 0 = the
    /// server's default (30 s).
    pub ack_wait_ms: u64,
    /// How many times a message is delivered at most; -1 = no limit (default).
    pub max_deliver: i64,
    /// Only messages whose subject matches (wildcards allowed); NULL = all of the stream's.
    pub filter_subject: *const c_char,
    /// A `nats_replay_policy` value; any other gives `NATS_ERR_INVALID_ARGUMENT`.
    pub replay_policy: i32,
    /// Most messages delivered and not yet acknowledged at once; 0 = the server's default
    /// (1000), -1 = no limit.
    pub max_ack_pending: i64,
    /// Pull consumers: most pull requests waiting at once; 0 = the server's default (512).
    pub max_waiting: i64,
    /// Deliver only headers (with `Nats-Msg-Size`), not payloads.
    pub headers_only: bool,
    /// Push consumers: flow control (answered by this library).
    pub flow_control: bool,
    /// Push consumers: idle heartbeat interval, ms (heartbeats are not delivered); 0 = none.
    pub idle_heartbeat_ms: u64,
    /// Ephemeral consumers: removed after this long without activity, ms; 0 = the server's
    /// default (5 s).
    pub inactive_threshold_ms: u64,
    /// Replicas; 0 = as the stream.
    pub replicas: u32,
    /// Keep the consumer's state in memory even if the stream is on disk.
    pub memory_storage: bool,
    /// Redelivery delays for successive attempts, ms (`backoff_count` entries; the last one
    /// repeats); replaces ack_wait between redeliveries. NULL/0: none.
    pub backoff_ms: *const u64,
    /// Number of entries of `backoff_ms`.
    pub backoff_count: usize,
}

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

/// The defaults `nats_consumer_config_init` writes.
fn default_config() -> nats_consumer_config {
    nats_consumer_config {
        durable_name: std::ptr::null(),
        name: std::ptr::null(),
        description: std::ptr::null(),
        deliver_subject: std::ptr::null(),
        deliver_group: std::ptr::null(),
        deliver_policy: nats_deliver_policy::NATS_DELIVER_ALL as i32,
        opt_start_seq: 0,
        opt_start_time_ms: 0,
        ack_policy: nats_ack_policy::NATS_ACK_EXPLICIT as i32,
        ack_wait_ms: 0,
        max_deliver: -1,
        filter_subject: std::ptr::null(),
        replay_policy: nats_replay_policy::NATS_REPLAY_INSTANT as i32,
        max_ack_pending: 0,
        max_waiting: 0,
        headers_only: false,
        flow_control: false,
        idle_heartbeat_ms: 0,
        inactive_threshold_ms: 0,
        replicas: 0,
        memory_storage: false,
        backoff_ms: std::ptr::null(),
        backoff_count: 0,
    }
}

c_enum_reader!(nats_deliver_policy {
    NATS_DELIVER_ALL,
    NATS_DELIVER_LAST,
    NATS_DELIVER_NEW,
    NATS_DELIVER_BY_START_SEQUENCE,
    NATS_DELIVER_BY_START_TIME,
    NATS_DELIVER_LAST_PER_SUBJECT,
});
c_enum_reader!(nats_ack_policy { NATS_ACK_EXPLICIT, NATS_ACK_NONE, NATS_ACK_ALL });
c_enum_reader!(nats_replay_policy { NATS_REPLAY_INSTANT, NATS_REPLAY_ORIGINAL });

fn replay_policy(value: i32) -> Result<ReplayPolicy> {
    Ok(match nats_replay_policy::from_c(value, "cfg.replay_policy")? {
        nats_replay_policy::NATS_REPLAY_INSTANT => ReplayPolicy::Instant,
        nats_replay_policy::NATS_REPLAY_ORIGINAL => ReplayPolicy::Original,
    })
}

fn deliver_policy(value: i32, seq: u64, time_ms: i64) -> Result<DeliverPolicy> {
    Ok(match nats_deliver_policy::from_c(value, "cfg.deliver_policy")? {
        nats_deliver_policy::NATS_DELIVER_ALL => DeliverPolicy::All,
        nats_deliver_policy::NATS_DELIVER_LAST => DeliverPolicy::Last,
        nats_deliver_policy::NATS_DELIVER_NEW => DeliverPolicy::New,
        nats_deliver_policy::NATS_DELIVER_BY_START_SEQUENCE => DeliverPolicy::ByStartSequence { start_sequence: seq },
        nats_deliver_policy::NATS_DELIVER_BY_START_TIME => {
            let t = async_nats::datetime::from_nanos(i128::from(time_ms) * 1_000_000)
                .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("opt_start_time_ms: {e}")))?;
            DeliverPolicy::ByStartTime { start_time: t }
        }
        nats_deliver_policy::NATS_DELIVER_LAST_PER_SUBJECT => DeliverPolicy::LastPerSubject,
    })
}

/// Reads a consumer configuration C passes (the client checks names and subjects).
fn to_config(c: &nats_consumer_config) -> Result<consumer::Config> {
    let durable = opt_str_arg(c.durable_name, "cfg.durable_name")?;
    let name = opt_str_arg(c.name, "cfg.name")?;
    let deliver_subject = opt_str_arg(c.deliver_subject, "cfg.deliver_subject")?;
    let deliver_group = opt_str_arg(c.deliver_group, "cfg.deliver_group")?;
    let filter = opt_str_arg(c.filter_subject, "cfg.filter_subject")?;
    let backoff = match c.backoff_count {
        0 => Vec::new(),
        n => array_arg(c.backoff_ms, n, "cfg.backoff_ms")?.iter().map(|&ms| Duration::from_millis(ms)).collect(),
    };
    Ok(consumer::Config {
        durable_name: durable.map(str::to_string),
        name: name.or(durable).map(str::to_string),
        description: opt_str_arg(c.description, "cfg.description")?.map(str::to_string),
        deliver_subject: deliver_subject.map(str::to_string),
        deliver_group: deliver_group.map(str::to_string),
        deliver_policy: deliver_policy(c.deliver_policy, c.opt_start_seq, c.opt_start_time_ms)?,
        ack_policy: match nats_ack_policy::from_c(c.ack_policy, "cfg.ack_policy")? {
            nats_ack_policy::NATS_ACK_EXPLICIT => AckPolicy::Explicit,
            nats_ack_policy::NATS_ACK_NONE => AckPolicy::None,
            nats_ack_policy::NATS_ACK_ALL => AckPolicy::All,
        },
        ack_wait: Duration::from_millis(c.ack_wait_ms),
        max_deliver: if c.max_deliver <= 0 { -1 } else { c.max_deliver },
        filter_subject: filter.unwrap_or_default().to_string(),
        replay_policy: replay_policy(c.replay_policy)?,
        max_ack_pending: c.max_ack_pending,
        max_waiting: c.max_waiting,
        headers_only: c.headers_only,
        flow_control: c.flow_control,
        idle_heartbeat: Duration::from_millis(c.idle_heartbeat_ms),
        inactive_threshold: Duration::from_millis(c.inactive_threshold_ms),
        num_replicas: c.replicas as usize,
        memory_storage: c.memory_storage,
        backoff,
        ..Default::default()
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
/// `nats_consumer_info_ack_floor_consumer_seq`, `nats_consumer_info_free`,
/// `nats_pull_consumer_info`.
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
}

impl From<&consumer::Info> for CConsumerInfo {
    fn from(i: &consumer::Info) -> Self {
        CConsumerInfo {
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
        out_arg(names, "names")?;
        out_arg(count, "count")?;
        let (p, n) = crate::capi::strings::strings_out(j.consumer_names(s)?);
        write_out(names, p);
        write_out(count, n);
        Ok(())
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
/// `nats_pull_consumer_info`, `nats_pull_consumer_free`.
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
    guard(|| fetch_common(pc, batch, FetchWait::UpTo(Duration::from_millis(timeout_ms)), msgs, count))
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
    guard(|| fetch_common(pc, batch, FetchWait::NoWait, msgs, count))
}

/// Fetches as `wait` says into an array of messages for C.
fn fetch_common(
    pc: *mut nats_pull_consumer,
    batch: usize,
    wait: FetchWait,
    msgs: *mut *mut *mut nats_msg,
    count: *mut usize,
) -> Result<()> {
    let p = borrow(pc, "pc")?;
    out_arg(msgs, "msgs")?;
    out_arg(count, "count")?;
    let list: Vec<CMsg> = p.fetch(batch, wait)?.into_iter().map(CMsg::from).collect();
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
    let j = borrow(js, "js")?;
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
