//! A consumer's configuration as C writes it (`nats_consumer_config`), read into
//! async-nats' `Config`, and the same struct filled back from a consumer's info.

use crate::capi::args::*;
use crate::capi::stream_config::time_from_ns;
use crate::capi::view::{millis as ms, nanos_since_epoch, CArena};
use crate::client::error::*;
use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy, ReplayPolicy};
use std::ffi::c_char;
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
/// `nats_consumer_info_config` fills one back from a consumer's info.
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
    /// Several filters (wildcards allowed, none overlapping; `filter_subjects_count` entries;
    /// NULL/0: none). Not with `filter_subject`.
    pub filter_subjects: *const *const c_char,
    /// Number of entries of `filter_subjects`.
    pub filter_subjects_count: usize,
    /// Push consumers: the most bits per second delivered; 0: no limit.
    pub rate_limit_bps: u64,
    /// Pull consumers: the largest batch one pull may ask for; 0: no limit.
    pub max_batch: i64,
    /// Pull consumers: the longest a pull may wait, ms; 0: no limit.
    pub max_expires_ms: u64,
    /// Pull consumers: the most bytes one pull may ask for; 0: no limit.
    pub max_bytes: i64,
    /// Paused until this time, ns since the Unix epoch (server 2.11+); 0: not paused. See also
    /// `nats_jetstream_consumer_pause`.
    pub pause_until_ns: i64,
    /// Metadata: `metadata_count` keys and as many values (NULL/0: none).
    pub metadata_keys: *const *const c_char,
    /// The values, in the order of `metadata_keys`.
    pub metadata_values: *const *const c_char,
    /// Number of metadata entries.
    pub metadata_count: usize,
}

/// The defaults `nats_consumer_config_init` writes.
pub(crate) fn default_config() -> nats_consumer_config {
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
        filter_subjects: std::ptr::null(),
        filter_subjects_count: 0,
        rate_limit_bps: 0,
        max_batch: 0,
        max_expires_ms: 0,
        max_bytes: 0,
        pause_until_ns: 0,
        metadata_keys: std::ptr::null(),
        metadata_values: std::ptr::null(),
        metadata_count: 0,
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

pub(crate) fn replay_policy(value: i32) -> Result<ReplayPolicy> {
    Ok(match nats_replay_policy::from_c(value, "cfg.replay_policy")? {
        nats_replay_policy::NATS_REPLAY_INSTANT => ReplayPolicy::Instant,
        nats_replay_policy::NATS_REPLAY_ORIGINAL => ReplayPolicy::Original,
    })
}

pub(crate) fn deliver_policy(value: i32, seq: u64, time_ms: i64) -> Result<DeliverPolicy> {
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
pub(crate) fn to_config(c: &nats_consumer_config) -> Result<consumer::Config> {
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
        filter_subjects: strings_arg(c.filter_subjects, c.filter_subjects_count, "cfg.filter_subjects")?,
        rate_limit: c.rate_limit_bps,
        max_batch: c.max_batch,
        max_expires: Duration::from_millis(c.max_expires_ms),
        max_bytes: c.max_bytes,
        pause_until: time_from_ns(c.pause_until_ns, "cfg.pause_until_ns")?,
        metadata: metadata_arg(c.metadata_keys, c.metadata_values, c.metadata_count, "cfg.metadata")?,
        ..Default::default()
    })
}

/// A consumer's configuration as C reads it, its strings and arrays owned by `arena`.
pub(crate) fn config_view(arena: &mut CArena, c: &consumer::Config) -> nats_consumer_config {
    let (deliver_policy, opt_start_seq, opt_start_time_ms) = match c.deliver_policy {
        DeliverPolicy::All => (nats_deliver_policy::NATS_DELIVER_ALL, 0, 0),
        DeliverPolicy::Last => (nats_deliver_policy::NATS_DELIVER_LAST, 0, 0),
        DeliverPolicy::New => (nats_deliver_policy::NATS_DELIVER_NEW, 0, 0),
        DeliverPolicy::ByStartSequence { start_sequence } => {
            (nats_deliver_policy::NATS_DELIVER_BY_START_SEQUENCE, start_sequence, 0)
        }
        DeliverPolicy::ByStartTime { start_time } => (
            nats_deliver_policy::NATS_DELIVER_BY_START_TIME,
            0,
            i64::try_from(start_time.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
        ),
        DeliverPolicy::LastPerSubject => (nats_deliver_policy::NATS_DELIVER_LAST_PER_SUBJECT, 0, 0),
    };
    let backoff: Vec<u64> = c.backoff.iter().map(|d| ms(*d)).collect();
    let (backoff_ms, backoff_count) = arena.array(backoff);
    let (filter_subjects, filter_subjects_count) = arena.texts(c.filter_subjects.iter().map(String::as_str));
    let (metadata_keys, metadata_values, metadata_count) = arena.metadata(&c.metadata);
    nats_consumer_config {
        durable_name: arena.opt_text(c.durable_name.as_deref()),
        name: arena.opt_text(c.name.as_deref()),
        description: arena.opt_text(c.description.as_deref()),
        deliver_subject: arena.opt_text(c.deliver_subject.as_deref()),
        deliver_group: arena.opt_text(c.deliver_group.as_deref()),
        deliver_policy: deliver_policy as i32,
        opt_start_seq,
        opt_start_time_ms,
        ack_policy: match c.ack_policy {
            AckPolicy::Explicit => nats_ack_policy::NATS_ACK_EXPLICIT,
            AckPolicy::None => nats_ack_policy::NATS_ACK_NONE,
            AckPolicy::All => nats_ack_policy::NATS_ACK_ALL,
            // Only consumers the server makes for stream sourcing (2.14) use flow-control
            // acks; they are acknowledged one by one, as explicit.
            AckPolicy::FlowControl => nats_ack_policy::NATS_ACK_EXPLICIT,
        } as i32,
        ack_wait_ms: ms(c.ack_wait),
        max_deliver: c.max_deliver,
        filter_subject: arena.opt_text((!c.filter_subject.is_empty()).then_some(c.filter_subject.as_str())),
        replay_policy: match c.replay_policy {
            ReplayPolicy::Instant => nats_replay_policy::NATS_REPLAY_INSTANT,
            ReplayPolicy::Original => nats_replay_policy::NATS_REPLAY_ORIGINAL,
        } as i32,
        max_ack_pending: c.max_ack_pending,
        max_waiting: c.max_waiting,
        headers_only: c.headers_only,
        flow_control: c.flow_control,
        idle_heartbeat_ms: ms(c.idle_heartbeat),
        inactive_threshold_ms: ms(c.inactive_threshold),
        replicas: u32::try_from(c.num_replicas).unwrap_or(u32::MAX),
        memory_storage: c.memory_storage,
        backoff_ms,
        backoff_count,
        filter_subjects,
        filter_subjects_count,
        rate_limit_bps: c.rate_limit,
        max_batch: c.max_batch,
        max_expires_ms: ms(c.max_expires),
        max_bytes: c.max_bytes,
        pause_until_ns: c.pause_until.map_or(0, nanos_since_epoch),
        metadata_keys,
        metadata_values,
        metadata_count,
    }
}
