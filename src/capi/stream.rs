//! `nats_stream_*` and `nats_jetstream_stream_*`: JetStream streams: configuration, create,
//! update, delete, info, purge, list, and reading stored messages.

use crate::capi::args::*;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::jetstream::nats_jetstream;
use crate::capi::msg::{nats_msg, CMsg};
use crate::capi::status::*;
use crate::capi::view::{nanos_since_epoch as ns, CArena};
use crate::client::error::*;
use crate::client::jetstream::context::JetStream;
use crate::client::jetstream::stream::{check_name, DirectGet, PurgeOptions};
use crate::client::subject::{check_subject, Wildcards};
use async_nats::jetstream::stream::{Config, Info};
use std::ffi::c_char;

pub use crate::capi::stream_config::*;

/// Fills `*cfg` with the defaults (no name, no subjects, limits retention, file storage, 1
/// replica, no limits, discard old, every other field zero or NULL: not set).
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_config_init(cfg: *mut nats_stream_config) -> nats_status {
    guard(|| {
        out_arg(cfg, "cfg")?;
        write_out(cfg, default_stream_config());
        Ok(())
    })
}

/// A snapshot of a stream's configuration and state; → `nats_stream_info_free`.
///
/// Functions: `nats_jetstream_stream_create`, `nats_jetstream_stream_update`,
/// `nats_jetstream_stream_info`, `nats_stream_info_name`, `nats_stream_info_subjects`,
/// `nats_stream_info_messages`, `nats_stream_info_bytes`, `nats_stream_info_first_seq`,
/// `nats_stream_info_last_seq`, `nats_stream_info_consumers`, `nats_stream_info_config`,
/// `nats_stream_info_state`, `nats_stream_info_created_ns`, `nats_stream_info_cluster_leader`,
/// `nats_stream_info_mirror`, `nats_stream_info_sources`, `nats_jetstream_stream_infos`,
/// `nats_stream_infos_free`, `nats_stream_info_free`.
pub struct nats_stream_info {
    _private: [u8; 0],
}

// C owns a `nats_stream_info` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_stream_info {
    type Rust = CStreamInfo;
}
impl BoxHandle for nats_stream_info {}

/// A stream's info as C reads it: its configuration and state, strings owned by `arena`.
pub(crate) struct CStreamInfo {
    /// Owns what the pointers below (and in `config`) point to.
    _arena: CArena,
    config: nats_stream_config,
    state: nats_stream_state,
    created_ns: i64,
    leader: *const c_char,
    mirror: *const nats_stream_source_info,
    sources: (*const nats_stream_source_info, usize),
}

// SAFETY: the raw pointers point into the arena of the same immutable snapshot.
unsafe impl Send for CStreamInfo {}
unsafe impl Sync for CStreamInfo {}

/// A stream's state when its info was taken (`nats_stream_info_state`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct nats_stream_state {
    /// Messages stored.
    pub messages: u64,
    /// Bytes stored.
    pub bytes: u64,
    /// Sequence of the first message stored.
    pub first_seq: u64,
    /// When the first message was stored, ns since the Unix epoch (0: empty stream).
    pub first_time_ns: i64,
    /// Sequence of the last message stored (0: none ever).
    pub last_seq: u64,
    /// When the last message was stored, ns since the Unix epoch.
    pub last_time_ns: i64,
    /// Distinct subjects stored.
    pub num_subjects: u64,
    /// Messages deleted between the first and the last (interior gaps).
    pub num_deleted: u64,
    /// Consumers.
    pub consumers: u64,
}

/// How far a mirror or a source has caught up (`nats_stream_info_mirror`,
/// `nats_stream_info_sources`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_stream_source_info {
    /// The origin stream.
    pub name: *const c_char,
    /// Messages the origin has that are not copied yet.
    pub lag: u64,
    /// Time since the last contact with the origin, ms; -1: none yet.
    pub active_ms: i64,
    /// The filter applied, NULL for none.
    pub filter_subject: *const c_char,
}

fn source_info_view(arena: &mut CArena, s: &async_nats::jetstream::stream::SourceInfo) -> nats_stream_source_info {
    nats_stream_source_info {
        name: arena.text(&s.name),
        lag: s.lag,
        active_ms: s.active.map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        filter_subject: arena.opt_text(s.filter_subject.as_deref()),
    }
}

impl From<Info> for CStreamInfo {
    fn from(i: Info) -> Self {
        let mut arena = CArena::default();
        let config = config_view(&mut arena, &i.config);
        let st = &i.state;
        let state = nats_stream_state {
            messages: st.messages,
            bytes: st.bytes,
            first_seq: st.first_sequence,
            first_time_ns: if st.messages == 0 { 0 } else { ns(st.first_timestamp) },
            last_seq: st.last_sequence,
            last_time_ns: if st.last_sequence == 0 { 0 } else { ns(st.last_timestamp) },
            num_subjects: st.subjects_count,
            num_deleted: st.deleted_count.unwrap_or(0),
            consumers: st.consumer_count as u64,
        };
        let leader = arena.text(i.cluster.as_ref().and_then(|c| c.leader.as_deref()).unwrap_or(""));
        let mirror = i.mirror.as_ref().map(|m| source_info_view(&mut arena, m));
        let mirror = arena.one(mirror);
        let sources: Vec<_> = i.sources.iter().map(|s| source_info_view(&mut arena, s)).collect();
        let sources = arena.array(sources);
        CStreamInfo { _arena: arena, config, state, created_ns: ns(i.created), leader, mirror, sources }
    }
}

fn info_out(info: *mut *mut nats_stream_info, i: Info) {
    if !info.is_null() {
        box_out(info, CStreamInfo::from(i));
    }
}

/// Creates or updates a stream from a C configuration (`op`), writing its info unless NULL.
fn put_stream(
    js: *mut nats_jetstream,
    cfg: *const nats_stream_config,
    info: *mut *mut nats_stream_info,
    op: fn(&JetStream, Config) -> Result<Info>,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let i = op(j, to_config(struct_arg(cfg, "cfg")?)?)?;
        info_out(info, i);
        Ok(())
    })
}

/// Creates a stream (succeeds also when an identical one exists). On success writes its info
/// to `*info` unless `info` is NULL (→ `nats_stream_info_free`). Blocks at most the context's
/// timeout. Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`,
/// `NATS_ERR_INVALID_ARGUMENT` (bad name), `NATS_ERR_INVALID_SUBJECT`, `NATS_ERR_JETSTREAM`, `NATS_ERR_NO_RESPONDERS` (no JetStream answered), `NATS_ERR_JETSTREAM_UNAVAILABLE`
/// (refused by the server, e.g. a different stream of that name exists, subjects overlap,
/// JetStream not enabled), `NATS_ERR_TIMEOUT`, `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_stream_create(
    js: *mut nats_jetstream,
    cfg: *const nats_stream_config,
    info: *mut *mut nats_stream_info,
) -> nats_status {
    put_stream(js, cfg, info, JetStream::create_stream)
}

/// Updates a stream's configuration (name selects it). Errors: as
/// `nats_jetstream_stream_create`; `NATS_ERR_NOT_FOUND` when there is no such stream.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_stream_update(
    js: *mut nats_jetstream,
    cfg: *const nats_stream_config,
    info: *mut *mut nats_stream_info,
) -> nats_status {
    put_stream(js, cfg, info, JetStream::update_stream)
}

/// Deletes a stream and all its messages. Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT`, `NATS_ERR_NOT_FOUND`,
/// `NATS_ERR_JETSTREAM`, `NATS_ERR_NO_RESPONDERS` (no JetStream answered), `NATS_ERR_JETSTREAM_UNAVAILABLE`, `NATS_ERR_TIMEOUT`, `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_stream_delete(js: *mut nats_jetstream, name: *const c_char) -> nats_status {
    guard(|| borrow(js, "js")?.delete_stream(str_arg(name, "name")?))
}

/// Writes a fresh snapshot of a stream's configuration and state to `*info`
/// (→ `nats_stream_info_free`). Errors: as `nats_jetstream_stream_delete`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_stream_info(
    js: *mut nats_jetstream,
    name: *const c_char,
    info: *mut *mut nats_stream_info,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let name = str_arg(name, "name")?;
        check_name(name)?;
        out_arg(info, "info")?;
        info_out(info, j.stream_info(name)?);
        Ok(())
    })
}

/// Removes messages from a stream: all of them, or only those on `subject` (wildcards
/// allowed) when it is not NULL. Writes how many were removed to `*purged` unless NULL.
/// Errors: as `nats_jetstream_stream_delete`; `NATS_ERR_INVALID_SUBJECT`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_stream_purge(
    js: *mut nats_jetstream,
    name: *const c_char,
    subject: *const c_char,
    purged: *mut u64,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let opts = PurgeOptions { subject: opt_str_arg(subject, "subject")?, ..Default::default() };
        let n = j.purge_stream_with(str_arg(name, "name")?, &opts)?;
        if !purged.is_null() {
            write_out(purged, n);
        }
        Ok(())
    })
}

/// Writes the names of every stream to `*names` (an array of `*count` strings, →
/// `nats_strings_free(names, count)`; NULL and 0 when there are none).
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_JETSTREAM`, `NATS_ERR_NO_RESPONDERS` (no JetStream answered), `NATS_ERR_JETSTREAM_UNAVAILABLE`, `NATS_ERR_TIMEOUT`,
/// `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_stream_names(
    js: *mut nats_jetstream,
    names: *mut *mut *mut c_char,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        crate::capi::strings::strings_to(names, count, || j.stream_names())
    })
}

/// Reads the message stored at sequence `seq` of stream `name` into `*msg` (subject, headers,
/// payload; → `nats_msg_free`). Errors: `NATS_ERR_NOT_FOUND` (no such stream or message),
/// else as `nats_jetstream_stream_info`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_stream_get_msg(
    js: *mut nats_jetstream,
    name: *const c_char,
    seq: u64,
    msg: *mut *mut nats_msg,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let name = str_arg(name, "name")?;
        check_name(name)?;
        out_arg(msg, "msg")?;
        box_out(msg, CMsg::from(j.stream_get_msg(name, seq)?));
        Ok(())
    })
}

/// Reads the last message stored on `subject` in stream `name` into `*msg`
/// (→ `nats_msg_free`). Errors: as `nats_jetstream_stream_get_msg`; `NATS_ERR_INVALID_SUBJECT`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_stream_get_last_msg(
    js: *mut nats_jetstream,
    name: *const c_char,
    subject: *const c_char,
    msg: *mut *mut nats_msg,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let name = str_arg(name, "name")?;
        check_name(name)?;
        let subject = str_arg(subject, "subject")?;
        check_subject(subject, Wildcards::Refused, "subject")?;
        out_arg(msg, "msg")?;
        box_out(msg, CMsg::from(j.stream_get_last_msg(name, subject)?));
        Ok(())
    })
}

/// The stream's name (borrowed from the snapshot); "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_name(info: *const nats_stream_info) -> *const c_char {
    read_or(info, c"".as_ptr(), |i| i.config.name)
}

/// Writes the stream's subjects to `*subjects` (borrowed from the snapshot) and their number
/// to `*count`. Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_subjects(
    info: *const nats_stream_info,
    subjects: *mut *const *const c_char,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        let i = borrow(info, "info")?;
        out_arg(subjects, "subjects")?;
        out_arg(count, "count")?;
        write_out(subjects, i.config.subjects);
        write_out(count, i.config.subjects_count);
        Ok(())
    })
}

/// Messages stored; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_messages(info: *const nats_stream_info) -> u64 {
    read(info, |i| i.state.messages)
}

/// Bytes stored; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_bytes(info: *const nats_stream_info) -> u64 {
    read(info, |i| i.state.bytes)
}

/// Sequence of the first message stored; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_first_seq(info: *const nats_stream_info) -> u64 {
    read(info, |i| i.state.first_seq)
}

/// Sequence of the last message stored; 0 for NULL or an empty stream.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_last_seq(info: *const nats_stream_info) -> u64 {
    read(info, |i| i.state.last_seq)
}

/// Number of consumers; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_consumers(info: *const nats_stream_info) -> u64 {
    read(info, |i| i.state.consumers)
}

/// Frees a snapshot. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_free(info: *mut nats_stream_info) {
    guard_void(|| {
        free_box(info);
    })
}

/// Writes the stream's whole configuration, as the server holds it, to `*cfg`: every field
/// of `nats_stream_config`, its strings and arrays borrowed from `info` (valid until
/// `nats_stream_info_free`). Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_config(
    info: *const nats_stream_info,
    cfg: *mut nats_stream_config,
) -> nats_status {
    copy_out(info, "info", cfg, "cfg", |i| i.config)
}

/// Writes the stream's state when the info was taken to `*state`.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_state(
    info: *const nats_stream_info,
    state: *mut nats_stream_state,
) -> nats_status {
    copy_out(info, "info", state, "state", |i| i.state)
}

/// When the stream was created, ns since the Unix epoch; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_created_ns(info: *const nats_stream_info) -> i64 {
    read(info, |i| i.created_ns)
}

/// The name of the server leading the stream's replicas (a server that is not clustered
/// leads its streams itself), borrowed from the snapshot; "" when none is known, or for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_cluster_leader(info: *const nats_stream_info) -> *const c_char {
    read_or(info, c"".as_ptr(), |i| i.leader)
}

/// How far the stream's mirror has caught up (borrowed from the snapshot); NULL when the
/// stream is not a mirror, or for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_mirror(info: *const nats_stream_info) -> *const nats_stream_source_info {
    read_or(info, std::ptr::null(), |i| i.mirror)
}

/// Writes how far each of the stream's sources has caught up to `*sources` (an array of
/// `*count`, borrowed from the snapshot; NULL and 0 when it has none).
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_sources(
    info: *const nats_stream_info,
    sources: *mut *const nats_stream_source_info,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        let i = borrow(info, "info")?;
        out_arg(sources, "sources")?;
        out_arg(count, "count")?;
        write_out(sources, i.sources.0);
        write_out(count, i.sources.1);
        Ok(())
    })
}

/// Which messages `nats_jetstream_stream_purge_ex` removes. Zero-initialize it (`= {0}`):
/// all zero/NULL removes every message.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_purge_options {
    /// Only messages on this subject (wildcards allowed); NULL: any.
    pub subject: *const c_char,
    /// Only messages below this sequence; 0: not set.
    pub sequence: u64,
    /// Keep this many of the newest (per `subject` when set); 0: not set. Not with `sequence`.
    pub keep: u64,
}

/// Removes messages from a stream, as `opts` selects (NULL: all of them): by subject, below a
/// sequence, or all but the newest `keep` (nats.c's `js_PurgeStream` with options). Writes how
/// many were removed to `*purged` unless NULL. Errors: as `nats_jetstream_stream_purge`;
/// `NATS_ERR_INVALID_ARGUMENT` (both `sequence` and `keep`; or the stream denies purges).
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_stream_purge_ex(
    js: *mut nats_jetstream,
    name: *const c_char,
    opts: *const nats_purge_options,
    purged: *mut u64,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let name = str_arg(name, "name")?;
        let opts = match struct_opt(opts) {
            None => PurgeOptions::default(),
            Some(o) => {
                PurgeOptions { subject: opt_str_arg(o.subject, "opts.subject")?, below_seq: o.sequence, keep: o.keep }
            }
        };
        let n = j.purge_stream_with(name, &opts)?;
        if !purged.is_null() {
            write_out(purged, n);
        }
        Ok(())
    })
}

/// Deletes the message at `seq` from stream `name` (its data is left in place on disk until
/// compacted: fast; nats.c's `js_DeleteMsg`). Blocks at most the context's timeout.
/// Errors: `NATS_ERR_NOT_FOUND` (no such stream or message), `NATS_ERR_JETSTREAM` (refused,
/// e.g. the stream denies deletes), else as `nats_jetstream_stream_delete`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_stream_delete_msg(
    js: *mut nats_jetstream,
    name: *const c_char,
    seq: u64,
) -> nats_status {
    guard(|| borrow(js, "js")?.delete_msg(str_arg(name, "name")?, seq, false))
}

/// As `nats_jetstream_stream_delete_msg`, and overwrites the message's data with random bytes
/// first (nats.c's `js_EraseMsg`).
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_stream_erase_msg(
    js: *mut nats_jetstream,
    name: *const c_char,
    seq: u64,
) -> nats_status {
    guard(|| borrow(js, "js")?.delete_msg(str_arg(name, "name")?, seq, true))
}

/// What `nats_jetstream_stream_direct_get` reads. Zero-initialize it (`= {0}`), then set
/// exactly one of: `sequence` alone; `last_by_subject`; `next_by_subject`, with `sequence` as
/// where to start (0: the first message).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_direct_get_options {
    /// The message at this sequence; with `next_by_subject`, where the search starts.
    pub sequence: u64,
    /// The last message on this subject (no wildcards).
    pub last_by_subject: *const c_char,
    /// The first message on this subject (wildcards allowed) at or after `sequence`.
    pub next_by_subject: *const c_char,
}

/// Reads a message with a direct get: answered by any replica of stream `name` (or by a
/// mirror with `mirror_direct`), not only by its leader, so a read right after a write may
/// not see it yet. The stream needs `allow_direct`. The message carries its sequence and
/// time (`nats_msg_sequence`, `nats_msg_timestamp`) and headers; → `nats_msg_free`.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT` (a bad
/// stream name, not exactly one choice in `opts`, or the stream does not allow direct gets: the server lets such a request time
/// out, so this takes the context's timeout), `NATS_ERR_INVALID_SUBJECT`,
/// `NATS_ERR_NOT_FOUND` (no such stream or message), `NATS_ERR_NO_RESPONDERS`,
/// `NATS_ERR_TIMEOUT`, `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_stream_direct_get(
    js: *mut nats_jetstream,
    name: *const c_char,
    opts: *const nats_direct_get_options,
    msg: *mut *mut nats_msg,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let name = str_arg(name, "name")?;
        let o = struct_arg(opts, "opts")?;
        let last = opt_str_arg(o.last_by_subject, "opts.last_by_subject")?;
        let next = opt_str_arg(o.next_by_subject, "opts.next_by_subject")?;
        let which = match (last, next, o.sequence) {
            (None, None, 0) => return Err(direct_get_choice("nothing is set")),
            (None, None, seq) => DirectGet::Sequence(seq),
            (Some(subject), None, 0) => DirectGet::LastBySubject(subject),
            (None, Some(subject), seq) => DirectGet::NextBySubject(subject, seq),
            _ => return Err(direct_get_choice("more than one is set")),
        };
        out_arg(msg, "msg")?;
        box_out(msg, CMsg::from(j.direct_get(name, which)?));
        Ok(())
    })
}

fn direct_get_choice(what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("direct get: set one of `sequence`, `last_by_subject`, `next_by_subject` (+ `sequence`): {what}"),
    )
}

/// Writes every stream's info to `*infos` (an array of `*count` snapshots, each read with
/// the `nats_stream_info_*` functions; → `nats_stream_infos_free(infos, count)`; NULL and 0
/// when there are none). Errors: as `nats_jetstream_stream_names`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_stream_infos(
    js: *mut nats_jetstream,
    infos: *mut *mut *mut nats_stream_info,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        out_arg(infos, "infos")?;
        out_arg(count, "count")?;
        let list: Vec<CStreamInfo> = j.stream_infos()?.into_iter().map(CStreamInfo::from).collect();
        let (p, n) = box_array::<nats_stream_info>(list);
        write_out(infos, p);
        write_out(count, n);
        Ok(())
    })
}

/// Frees an array from `nats_jetstream_stream_infos` and the snapshots in it. NULL is a
/// no-op; `count` must be the count returned with it.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_infos_free(infos: *mut *mut nats_stream_info, count: usize) {
    guard_void(|| free_box_array(infos, count))
}
