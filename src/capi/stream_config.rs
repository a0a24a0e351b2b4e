//! A stream's configuration as C writes it (`nats_stream_config` and the structs it points
//! to), read into async-nats' `Config`, and the same struct filled back from a stream's info.

use crate::capi::args::*;
use crate::capi::view::{millis as ms, nanos_since_epoch, CArena};
use crate::client::error::*;
use crate::client::jetstream::stream::check_name;
use async_nats::jetstream::stream::{
    Compression, Config, ConsumerLimits, DiscardPolicy, External, Placement, Republish, RetentionPolicy, Source,
    StorageType, SubjectTransform,
};
use std::ffi::c_char;
use std::time::Duration;

/// Retention policy of a stream.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nats_retention {
    /// Keep messages up to the stream's limits (default).
    NATS_RETENTION_LIMITS = 0,
    /// Keep a message while some consumer has not acknowledged it.
    NATS_RETENTION_INTEREST = 1,
    /// Work queue: a message is removed once one consumer acknowledged it.
    NATS_RETENTION_WORKQUEUE = 2,
}

/// Where a stream stores its messages.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nats_storage {
    /// On disk (default).
    NATS_STORAGE_FILE = 0,
    /// In memory.
    NATS_STORAGE_MEMORY = 1,
}

/// What a full stream does with a new message.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nats_discard {
    /// Drop the oldest messages (default).
    NATS_DISCARD_OLD = 0,
    /// Refuse the new message.
    NATS_DISCARD_NEW = 1,
}

/// How a stream compresses what it stores.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nats_compression {
    /// Uncompressed (default).
    NATS_COMPRESSION_NONE = 0,
    /// S2 compression.
    NATS_COMPRESSION_S2 = 1,
}

c_enum_reader!(nats_retention { NATS_RETENTION_LIMITS, NATS_RETENTION_INTEREST, NATS_RETENTION_WORKQUEUE });
c_enum_reader!(nats_storage { NATS_STORAGE_FILE, NATS_STORAGE_MEMORY });
c_enum_reader!(nats_discard { NATS_DISCARD_OLD, NATS_DISCARD_NEW });
c_enum_reader!(nats_compression { NATS_COMPRESSION_NONE, NATS_COMPRESSION_S2 });

/// A subject transform: messages whose subject matches `source` (wildcards allowed) are
/// stored under `destination`, which may use the server's mapping functions
/// (`{{wildcard(1)}}`, `{{partition(3,1)}}`, ...). Both are required.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_subject_transform {
    /// Subjects it applies to.
    pub source: *const c_char,
    /// What they become.
    pub destination: *const c_char,
}

/// Where a stream copies messages from: its mirror, or one of its sources. Zero-initialize it
/// (`= {0}`): zero and NULL mean "not set" for every field but `name`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_stream_source {
    /// The stream copied from (required).
    pub name: *const c_char,
    /// Start at this sequence of the origin; 0: from its first message.
    pub opt_start_seq: u64,
    /// Start at the first message stored at or after this time, ns since the Unix epoch; 0:
    /// not set.
    pub opt_start_time_ns: i64,
    /// Copy only messages on these subjects (wildcards allowed); NULL: all.
    pub filter_subject: *const c_char,
    /// Transforms applied to what is copied (`subject_transforms_count` entries; NULL/0: none).
    /// A source may have a filter or transforms, not both.
    pub subject_transforms: *const nats_subject_transform,
    /// Number of entries of `subject_transforms`.
    pub subject_transforms_count: usize,
    /// A stream in another account or domain: that JetStream's API prefix; NULL: this one.
    pub external_api_prefix: *const c_char,
    /// With `external_api_prefix`: the prefix its deliveries arrive on; NULL: none.
    pub external_deliver_prefix: *const c_char,
    /// The JetStream domain of the origin; NULL: this one. Not with `external_api_prefix`.
    pub domain: *const c_char,
}

/// Republishing: every message stored on a subject matching `source` is also published, as
/// it was stored, to `destination` (with `Nats-Stream`, `Nats-Sequence` and `Nats-Subject`
/// headers).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_republish {
    /// Subjects republished (wildcards allowed; required).
    pub source: *const c_char,
    /// Where they are republished (mapping functions allowed; required).
    pub destination: *const c_char,
    /// Republish the headers only (with `Nats-Msg-Size`), not the payload.
    pub headers_only: bool,
}

/// A stream configuration. Always start from `nats_stream_config_init(&cfg)`, then set
/// fields; the strings and arrays are borrowed for the duration of the call that takes the
/// config. `nats_stream_info_config` fills one back from a stream's info.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_stream_config {
    /// Stream name (required): no spaces, `.`, `*` or `>`.
    pub name: *const c_char,
    /// Subjects the stream stores (wildcards allowed); `subjects_count` entries. None: the
    /// stream's name is its subject (unless it is a mirror, which has no subjects).
    pub subjects: *const *const c_char,
    /// Number of entries of `subjects`.
    pub subjects_count: usize,
    /// A `nats_retention` value; any other gives `NATS_ERR_INVALID_ARGUMENT`.
    pub retention: i32,
    /// A `nats_storage` value; any other gives `NATS_ERR_INVALID_ARGUMENT`.
    pub storage: i32,
    /// Number of replicas (1 to 5); default 1.
    pub replicas: u32,
    /// Most messages kept; -1 = unlimited (default).
    pub max_msgs: i64,
    /// Most bytes kept; -1 = unlimited (default).
    pub max_bytes: i64,
    /// Most messages kept per subject; -1 = unlimited (default).
    pub max_msgs_per_subject: i64,
    /// Largest message accepted, bytes; -1 = the server's max_payload.
    pub max_msg_size: i32,
    /// Age after which messages are removed, ms; 0 = forever.
    pub max_age_ms: u64,
    /// A `nats_discard` value; any other gives `NATS_ERR_INVALID_ARGUMENT`.
    pub discard: i32,
    /// Window for msg-id de-duplication, ms; 0 = the server's default (2 minutes).
    pub duplicate_window_ms: u64,
    /// A description stored with the stream; NULL for none.
    pub description: *const c_char,
    /// Most consumers; -1 = unlimited (default).
    pub max_consumers: i32,
    /// With `NATS_DISCARD_NEW` and `max_msgs_per_subject`: refuse a new message on a full
    /// subject rather than only when the whole stream is full.
    pub discard_new_per_subject: bool,
    /// Publishes are not acknowledged (the server sends no reply).
    pub no_ack: bool,
    /// Transform applied to the subjects of incoming messages before they are stored; NULL:
    /// none.
    pub subject_transform: *const nats_subject_transform,
    /// This stream mirrors another (it then has no subjects of its own); NULL: not a mirror.
    pub mirror: *const nats_stream_source,
    /// Streams whose messages this one also stores (`sources_count` entries; NULL/0: none).
    pub sources: *const nats_stream_source,
    /// Number of entries of `sources`.
    pub sources_count: usize,
    /// Place the stream in this cluster; NULL: anywhere.
    pub placement_cluster: *const c_char,
    /// Place the stream on servers with all these tags (`placement_tags_count` entries).
    pub placement_tags: *const *const c_char,
    /// Number of entries of `placement_tags`.
    pub placement_tags_count: usize,
    /// Republish stored messages; NULL: none.
    pub republish: *const nats_republish,
    /// Serve direct gets (`nats_jetstream_stream_direct_get`) from every replica.
    pub allow_direct: bool,
    /// A mirror: serve direct gets for its origin stream too.
    pub mirror_direct: bool,
    /// Accept the `Nats-Rollup` header (a message that replaces the subject's or the
    /// stream's earlier ones).
    pub allow_rollup_hdrs: bool,
    /// Refuse deleting messages.
    pub deny_delete: bool,
    /// Refuse purging.
    pub deny_purge: bool,
    /// Seal the stream (an update only): no more messages, deletes or purges, ever.
    pub sealed: bool,
    /// A `nats_compression` value; any other gives `NATS_ERR_INVALID_ARGUMENT`.
    pub compression: i32,
    /// The sequence of the first message a new stream stores; 0: 1.
    pub first_seq: u64,
    /// Metadata: `metadata_count` keys and as many values (NULL/0: none).
    pub metadata_keys: *const *const c_char,
    /// The values, in the order of `metadata_keys`.
    pub metadata_values: *const *const c_char,
    /// Number of metadata entries.
    pub metadata_count: usize,
    /// Consumer limits: the longest `inactive_threshold_ms` a consumer of this stream may
    /// have (and its default), ms; 0: no limit.
    pub consumer_inactive_threshold_ms: u64,
    /// Consumer limits: the largest `max_ack_pending` a consumer may have; 0: no limit.
    pub consumer_max_ack_pending: i64,
    /// Accept a per-message TTL (the `Nats-TTL` header; server 2.11+).
    pub allow_msg_ttl: bool,
    /// When limits remove a subject's last message, leave a delete marker that lives this
    /// long, ms; 0: no markers (server 2.11+, needs `allow_msg_ttl`).
    pub subject_delete_marker_ttl_ms: u64,
}

/// The defaults `nats_stream_config_init` writes.
pub(crate) fn default_stream_config() -> nats_stream_config {
    nats_stream_config {
        name: std::ptr::null(),
        subjects: std::ptr::null(),
        subjects_count: 0,
        retention: nats_retention::NATS_RETENTION_LIMITS as i32,
        storage: nats_storage::NATS_STORAGE_FILE as i32,
        replicas: 1,
        max_msgs: -1,
        max_bytes: -1,
        max_msgs_per_subject: -1,
        max_msg_size: -1,
        max_age_ms: 0,
        discard: nats_discard::NATS_DISCARD_OLD as i32,
        duplicate_window_ms: 0,
        description: std::ptr::null(),
        max_consumers: -1,
        discard_new_per_subject: false,
        no_ack: false,
        subject_transform: std::ptr::null(),
        mirror: std::ptr::null(),
        sources: std::ptr::null(),
        sources_count: 0,
        placement_cluster: std::ptr::null(),
        placement_tags: std::ptr::null(),
        placement_tags_count: 0,
        republish: std::ptr::null(),
        allow_direct: false,
        mirror_direct: false,
        allow_rollup_hdrs: false,
        deny_delete: false,
        deny_purge: false,
        sealed: false,
        compression: nats_compression::NATS_COMPRESSION_NONE as i32,
        first_seq: 0,
        metadata_keys: std::ptr::null(),
        metadata_values: std::ptr::null(),
        metadata_count: 0,
        consumer_inactive_threshold_ms: 0,
        consumer_max_ack_pending: 0,
        allow_msg_ttl: false,
        subject_delete_marker_ttl_ms: 0,
    }
}

/// Reads a `nats_storage` value from C (streams and key-value buckets).
pub(crate) fn storage_type(value: i32, field: &str) -> Result<StorageType> {
    Ok(match nats_storage::from_c(value, field)? {
        nats_storage::NATS_STORAGE_FILE => StorageType::File,
        nats_storage::NATS_STORAGE_MEMORY => StorageType::Memory,
    })
}

fn opt_string(p: *const c_char, field: &str) -> Result<Option<String>> {
    Ok(opt_str_arg(p, field)?.map(str::to_string))
}

fn transform(t: &nats_subject_transform, field: &str) -> Result<SubjectTransform> {
    Ok(SubjectTransform {
        source: str_arg(t.source, &format!("{field}.source"))?.to_string(),
        destination: str_arg(t.destination, &format!("{field}.destination"))?.to_string(),
    })
}

fn transforms(p: *const nats_subject_transform, count: usize, field: &str) -> Result<Vec<SubjectTransform>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    array_arg(p, count, field)?.iter().map(|t| transform(t, field)).collect()
}

/// Nanoseconds since the Unix epoch as async-nats' time; 0 is "not set".
pub(crate) fn time_from_ns(ns: i64, field: &str) -> Result<Option<async_nats::datetime::DateTime>> {
    if ns == 0 {
        return Ok(None);
    }
    async_nats::datetime::from_nanos(i128::from(ns))
        .map(Some)
        .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("`{field}`: {e}")))
}

fn source(s: &nats_stream_source, field: &str) -> Result<Source> {
    let name = str_arg(s.name, &format!("{field}.name"))?;
    check_name(name)?;
    let api_prefix = opt_string(s.external_api_prefix, &format!("{field}.external_api_prefix"))?;
    let deliver_prefix = opt_string(s.external_deliver_prefix, &format!("{field}.external_deliver_prefix"))?;
    if api_prefix.is_none() && deliver_prefix.is_some() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("`{field}.external_deliver_prefix` needs `external_api_prefix`"),
        ));
    }
    Ok(Source {
        name: name.to_string(),
        start_sequence: (s.opt_start_seq != 0).then_some(s.opt_start_seq),
        start_time: time_from_ns(s.opt_start_time_ns, &format!("{field}.opt_start_time_ns"))?,
        filter_subject: opt_string(s.filter_subject, &format!("{field}.filter_subject"))?,
        external: api_prefix.map(|api_prefix| External { api_prefix, delivery_prefix: deliver_prefix }),
        domain: opt_string(s.domain, &format!("{field}.domain"))?,
        subject_transforms: transforms(
            s.subject_transforms,
            s.subject_transforms_count,
            &format!("{field}.subject_transforms"),
        )?,
        ..Default::default()
    })
}

fn placement(c: &nats_stream_config) -> Result<Option<Placement>> {
    let cluster = opt_string(c.placement_cluster, "cfg.placement_cluster")?;
    let tags = strings_arg(c.placement_tags, c.placement_tags_count, "cfg.placement_tags")?;
    Ok((cluster.is_some() || !tags.is_empty()).then_some(Placement { cluster, tags }))
}

/// Reads a stream configuration C passes (the client checks name and subjects).
pub(crate) fn to_config(c: &nats_stream_config) -> Result<Config> {
    let sources = match c.sources_count {
        0 => None,
        n => Some(
            array_arg(c.sources, n, "cfg.sources")?
                .iter()
                .map(|s| source(s, "cfg.sources[i]"))
                .collect::<Result<_>>()?,
        ),
    };
    let republish = struct_opt(c.republish)
        .map(|r| {
            Ok::<_, Error>(Republish {
                source: str_arg(r.source, "cfg.republish.source")?.to_string(),
                destination: str_arg(r.destination, "cfg.republish.destination")?.to_string(),
                headers_only: r.headers_only,
            })
        })
        .transpose()?;
    let limits = (c.consumer_inactive_threshold_ms != 0 || c.consumer_max_ack_pending != 0).then(|| ConsumerLimits {
        inactive_threshold: Duration::from_millis(c.consumer_inactive_threshold_ms),
        max_ack_pending: c.consumer_max_ack_pending,
    });
    Ok(Config {
        name: str_arg(c.name, "cfg.name")?.to_string(),
        subjects: strings_arg(c.subjects, c.subjects_count, "cfg.subjects")?,
        retention: match nats_retention::from_c(c.retention, "cfg.retention")? {
            nats_retention::NATS_RETENTION_LIMITS => RetentionPolicy::Limits,
            nats_retention::NATS_RETENTION_INTEREST => RetentionPolicy::Interest,
            nats_retention::NATS_RETENTION_WORKQUEUE => RetentionPolicy::WorkQueue,
        },
        storage: storage_type(c.storage, "cfg.storage")?,
        num_replicas: c.replicas.max(1) as usize,
        max_messages: c.max_msgs,
        max_bytes: c.max_bytes,
        max_messages_per_subject: c.max_msgs_per_subject,
        max_message_size: c.max_msg_size,
        max_age: Duration::from_millis(c.max_age_ms),
        discard: match nats_discard::from_c(c.discard, "cfg.discard")? {
            nats_discard::NATS_DISCARD_OLD => DiscardPolicy::Old,
            nats_discard::NATS_DISCARD_NEW => DiscardPolicy::New,
        },
        duplicate_window: Duration::from_millis(c.duplicate_window_ms),
        description: opt_string(c.description, "cfg.description")?,
        max_consumers: c.max_consumers,
        discard_new_per_subject: c.discard_new_per_subject,
        no_ack: c.no_ack,
        subject_transform: struct_opt(c.subject_transform)
            .map(|t| transform(t, "cfg.subject_transform"))
            .transpose()?,
        mirror: struct_opt(c.mirror).map(|s| source(s, "cfg.mirror")).transpose()?,
        sources,
        placement: placement(c)?,
        republish,
        allow_direct: c.allow_direct,
        mirror_direct: c.mirror_direct,
        allow_rollup: c.allow_rollup_hdrs,
        deny_delete: c.deny_delete,
        deny_purge: c.deny_purge,
        sealed: c.sealed,
        compression: match nats_compression::from_c(c.compression, "cfg.compression")? {
            nats_compression::NATS_COMPRESSION_NONE => None,
            nats_compression::NATS_COMPRESSION_S2 => Some(Compression::S2),
        },
        first_sequence: (c.first_seq != 0).then_some(c.first_seq),
        metadata: metadata_arg(c.metadata_keys, c.metadata_values, c.metadata_count, "cfg.metadata")?,
        consumer_limits: limits,
        allow_message_ttl: c.allow_msg_ttl,
        subject_delete_marker_ttl: (c.subject_delete_marker_ttl_ms != 0)
            .then(|| Duration::from_millis(c.subject_delete_marker_ttl_ms)),
        ..Default::default()
    })
}

fn transform_view(arena: &mut CArena, t: &SubjectTransform) -> nats_subject_transform {
    nats_subject_transform { source: arena.text(&t.source), destination: arena.text(&t.destination) }
}

fn source_view(arena: &mut CArena, s: &Source) -> nats_stream_source {
    let transforms: Vec<_> = s.subject_transforms.iter().map(|t| transform_view(arena, t)).collect();
    let (subject_transforms, subject_transforms_count) = arena.array(transforms);
    let external = s.external.as_ref();
    nats_stream_source {
        name: arena.text(&s.name),
        opt_start_seq: s.start_sequence.unwrap_or(0),
        opt_start_time_ns: s.start_time.map_or(0, nanos_since_epoch),
        filter_subject: arena.opt_text(s.filter_subject.as_deref()),
        subject_transforms,
        subject_transforms_count,
        external_api_prefix: arena.opt_text(external.map(|e| e.api_prefix.as_str())),
        external_deliver_prefix: arena.opt_text(external.and_then(|e| e.delivery_prefix.as_deref())),
        domain: arena.opt_text(s.domain.as_deref()),
    }
}

/// A configuration as C reads it, its strings and arrays owned by `arena`.
pub(crate) fn config_view(arena: &mut CArena, c: &Config) -> nats_stream_config {
    let (subjects, subjects_count) = arena.texts(c.subjects.iter().map(String::as_str));
    let sources: Vec<_> = c.sources.iter().flatten().map(|s| source_view(arena, s)).collect();
    let (sources, sources_count) = arena.array(sources);
    let placement = c.placement.as_ref();
    let (placement_tags, placement_tags_count) =
        arena.texts(placement.into_iter().flat_map(|p| p.tags.iter().map(String::as_str)));
    let (metadata_keys, metadata_values, metadata_count) = arena.metadata(&c.metadata);
    let subject_transform = c.subject_transform.as_ref().map(|t| transform_view(arena, t));
    let mirror = c.mirror.as_ref().map(|s| source_view(arena, s));
    let republish = c.republish.as_ref().map(|r| nats_republish {
        source: arena.text(&r.source),
        destination: arena.text(&r.destination),
        headers_only: r.headers_only,
    });
    let limits = c.consumer_limits.clone().unwrap_or_default();
    nats_stream_config {
        name: arena.text(&c.name),
        subjects,
        subjects_count,
        retention: match c.retention {
            RetentionPolicy::Limits => nats_retention::NATS_RETENTION_LIMITS,
            RetentionPolicy::Interest => nats_retention::NATS_RETENTION_INTEREST,
            RetentionPolicy::WorkQueue => nats_retention::NATS_RETENTION_WORKQUEUE,
        } as i32,
        storage: match c.storage {
            StorageType::File => nats_storage::NATS_STORAGE_FILE,
            StorageType::Memory => nats_storage::NATS_STORAGE_MEMORY,
        } as i32,
        replicas: u32::try_from(c.num_replicas).unwrap_or(u32::MAX),
        max_msgs: c.max_messages,
        max_bytes: c.max_bytes,
        max_msgs_per_subject: c.max_messages_per_subject,
        max_msg_size: c.max_message_size,
        max_age_ms: ms(c.max_age),
        discard: match c.discard {
            DiscardPolicy::Old => nats_discard::NATS_DISCARD_OLD,
            DiscardPolicy::New => nats_discard::NATS_DISCARD_NEW,
        } as i32,
        duplicate_window_ms: ms(c.duplicate_window),
        description: arena.opt_text(c.description.as_deref()),
        max_consumers: c.max_consumers,
        discard_new_per_subject: c.discard_new_per_subject,
        no_ack: c.no_ack,
        subject_transform: arena.one(subject_transform),
        mirror: arena.one(mirror),
        sources,
        sources_count,
        placement_cluster: arena.opt_text(placement.and_then(|p| p.cluster.as_deref())),
        placement_tags,
        placement_tags_count,
        republish: arena.one(republish),
        allow_direct: c.allow_direct,
        mirror_direct: c.mirror_direct,
        allow_rollup_hdrs: c.allow_rollup,
        deny_delete: c.deny_delete,
        deny_purge: c.deny_purge,
        sealed: c.sealed,
        compression: match c.compression {
            Some(Compression::S2) => nats_compression::NATS_COMPRESSION_S2,
            _ => nats_compression::NATS_COMPRESSION_NONE,
        } as i32,
        first_seq: c.first_sequence.unwrap_or(0),
        metadata_keys,
        metadata_values,
        metadata_count,
        consumer_inactive_threshold_ms: ms(limits.inactive_threshold),
        consumer_max_ack_pending: limits.max_ack_pending,
        allow_msg_ttl: c.allow_message_ttl,
        subject_delete_marker_ttl_ms: c.subject_delete_marker_ttl.map_or(0, ms),
    }
}
