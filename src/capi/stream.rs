//! `nats_stream_*` and `nats_jetstream_stream_*`: JetStream streams: configuration, create,
//! update, delete, info, purge, list, and reading stored messages.

use crate::capi::args::*;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::jetstream::nats_jetstream;
use crate::capi::msg::{nats_msg, CMsg};
use crate::capi::status::*;
use crate::capi::strings::c_string;
use crate::client::error::*;
use crate::client::jetstream::context::JetStream;
use crate::client::jetstream::stream::check_name;
use crate::client::subject::{check_subject, Wildcards};
use async_nats::jetstream::stream::{Config, DiscardPolicy, Info, RetentionPolicy, StorageType};
use std::ffi::{c_char, CString};
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

/// A stream configuration. Always start from `nats_stream_config_init(&cfg)`, then set
/// fields; the strings are borrowed for the duration of the call that takes the config.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_stream_config {
    /// Stream name (required): no spaces, `.`, `*` or `>`.
    pub name: *const c_char,
    /// Subjects the stream stores (wildcards allowed); `subjects_count` entries. None: the
    /// stream's name is its subject.
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
}

/// Fills `*cfg` with the defaults (no name, no subjects, limits retention, file storage, 1
/// replica, no limits, discard old). Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_config_init(cfg: *mut nats_stream_config) -> nats_status {
    guard(|| {
        out_arg(cfg, "cfg")?;
        write_out(
            cfg,
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
            },
        );
        Ok(())
    })
}

c_enum_reader!(nats_retention { NATS_RETENTION_LIMITS, NATS_RETENTION_INTEREST, NATS_RETENTION_WORKQUEUE });
c_enum_reader!(nats_storage { NATS_STORAGE_FILE, NATS_STORAGE_MEMORY });
c_enum_reader!(nats_discard { NATS_DISCARD_OLD, NATS_DISCARD_NEW });

/// Reads a `nats_storage` value from C (streams and key-value buckets).
pub(crate) fn storage_type(value: i32, field: &str) -> Result<StorageType> {
    Ok(match nats_storage::from_c(value, field)? {
        nats_storage::NATS_STORAGE_FILE => StorageType::File,
        nats_storage::NATS_STORAGE_MEMORY => StorageType::Memory,
    })
}

/// Reads a stream configuration C passes (the client checks name and subjects).
fn to_config(c: &nats_stream_config) -> Result<Config> {
    let name = str_arg(c.name, "cfg.name")?;
    let mut subjects = Vec::with_capacity(c.subjects_count);
    if c.subjects_count > 0 {
        for &s in array_arg(c.subjects, c.subjects_count, "cfg.subjects")? {
            subjects.push(str_arg(s, "cfg.subjects[i]")?.to_string());
        }
    }
    Ok(Config {
        name: name.to_string(),
        subjects,
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
        ..Default::default()
    })
}

/// A snapshot of a stream's configuration and state; → `nats_stream_info_free`.
///
/// Functions: `nats_jetstream_stream_create`, `nats_jetstream_stream_update`,
/// `nats_jetstream_stream_info`, `nats_stream_info_name`, `nats_stream_info_subjects`,
/// `nats_stream_info_messages`, `nats_stream_info_bytes`, `nats_stream_info_first_seq`,
/// `nats_stream_info_last_seq`, `nats_stream_info_consumers`, `nats_stream_info_free`.
pub struct nats_stream_info {
    _private: [u8; 0],
}

// C owns a `nats_stream_info` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_stream_info {
    type Rust = CStreamInfo;
}
impl BoxHandle for nats_stream_info {}

/// A stream's info with its strings NUL-terminated for C.
pub(crate) struct CStreamInfo {
    name: CString,
    /// Owns the strings `subject_ptrs` points to.
    #[allow(dead_code)]
    subjects: Vec<CString>,
    subject_ptrs: Vec<*const c_char>,
    messages: u64,
    bytes: u64,
    first_seq: u64,
    last_seq: u64,
    consumers: u64,
}

// SAFETY: the raw pointers point into CStrings owned by the same immutable snapshot.
unsafe impl Send for CStreamInfo {}
unsafe impl Sync for CStreamInfo {}

impl From<Info> for CStreamInfo {
    fn from(i: Info) -> Self {
        let subjects: Vec<CString> = i.config.subjects.iter().map(|s| c_string(s)).collect();
        CStreamInfo {
            name: c_string(&i.config.name),
            subject_ptrs: subjects.iter().map(|c| c.as_ptr()).collect(),
            subjects,
            messages: i.state.messages,
            bytes: i.state.bytes,
            first_seq: i.state.first_sequence,
            last_seq: i.state.last_sequence,
            consumers: i.state.consumer_count as u64,
        }
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
        let n = j.purge_stream(str_arg(name, "name")?, opt_str_arg(subject, "subject")?)?;
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
        out_arg(names, "names")?;
        out_arg(count, "count")?;
        let (p, n) = crate::capi::strings::strings_out(j.stream_names()?);
        write_out(names, p);
        write_out(count, n);
        Ok(())
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
    read_or(info, c"".as_ptr(), |i| i.name.as_ptr())
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
        write_out(subjects, if i.subject_ptrs.is_empty() { std::ptr::null() } else { i.subject_ptrs.as_ptr() });
        write_out(count, i.subject_ptrs.len());
        Ok(())
    })
}

/// Messages stored; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_messages(info: *const nats_stream_info) -> u64 {
    read(info, |i| i.messages)
}

/// Bytes stored; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_bytes(info: *const nats_stream_info) -> u64 {
    read(info, |i| i.bytes)
}

/// Sequence of the first message stored; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_first_seq(info: *const nats_stream_info) -> u64 {
    read(info, |i| i.first_seq)
}

/// Sequence of the last message stored; 0 for NULL or an empty stream.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_last_seq(info: *const nats_stream_info) -> u64 {
    read(info, |i| i.last_seq)
}

/// Number of consumers; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_consumers(info: *const nats_stream_info) -> u64 {
    read(info, |i| i.consumers)
}

/// Frees a snapshot. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_stream_info_free(info: *mut nats_stream_info) {
    guard_void(|| {
        free_box(info);
    })
}
