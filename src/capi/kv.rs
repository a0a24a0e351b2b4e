//! `nats_kv_*` and `nats_jetstream_kv_*`: key-value buckets, entries and watchers.

use crate::capi::args::*;
use crate::capi::callback::{nats_user_data_free, CCallback};
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::jetstream::nats_jetstream;
use crate::capi::status::*;
use crate::capi::stream::{nats_storage, storage_type};
use crate::capi::strings::c_string;
use crate::client::error::*;
use crate::client::jetstream::kv::{check_bucket, Entry, Kv, WatchFrom, WatchHandler, WatchSpec, Watcher};
use crate::client::subject::Wildcards;
use async_nats::jetstream::kv::{self, Operation};
use bytes::Bytes;
use std::ffi::{c_char, c_void, CString};
use std::time::Duration;

/// A bucket configuration. Start from `nats_kv_config_init(&cfg)`; strings are borrowed for
/// the call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_kv_config {
    /// Bucket name (required): letters, digits, `-` and `_`.
    pub bucket: *const c_char,
    /// A description stored with the bucket; NULL for none.
    pub description: *const c_char,
    /// Values kept per key, 1 to 64 (default 1: only the latest).
    pub history: i64,
    /// Bucket TTL: values older than this are removed, ms; 0 = never (default).
    pub ttl_ms: u64,
    /// Largest value, bytes; -1 = the server's max payload (default).
    pub max_value_size: i32,
    /// Largest total size, bytes; -1 = unlimited (default).
    pub max_bytes: i64,
    /// A `nats_storage` value; any other gives `NATS_ERR_INVALID_ARGUMENT`.
    pub storage: i32,
    /// Replicas, 1 to 5 (default 1).
    pub replicas: u32,
    /// Allow per-key TTLs (`nats_kv_create_with_ttl`, nats-server >= 2.11): how long the
    /// markers of expired or purged keys are kept, ms; 0 = per-key TTLs disabled (default).
    pub limit_marker_ttl_ms: u64,
}

/// Fills `*cfg` with the defaults (history 1, no TTL, no limits, file storage, 1 replica).
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_config_init(cfg: *mut nats_kv_config) -> nats_status {
    guard(|| {
        out_arg(cfg, "cfg")?;
        write_out(
            cfg,
            nats_kv_config {
                bucket: std::ptr::null(),
                description: std::ptr::null(),
                history: 1,
                ttl_ms: 0,
                max_value_size: -1,
                max_bytes: -1,
                storage: nats_storage::NATS_STORAGE_FILE as i32,
                replicas: 1,
                limit_marker_ttl_ms: 0,
            },
        );
        Ok(())
    })
}

/// A key-value bucket from `nats_jetstream_kv_create` / `_bind`; → `nats_kv_free`. Thread
/// safe.
///
/// Functions: `nats_jetstream_kv_create`, `nats_jetstream_kv_bind`, `nats_kv_free`, `nats_kv_put`,
/// `nats_kv_create`, `nats_kv_create_with_ttl`, `nats_kv_update`, `nats_kv_get`,
/// `nats_kv_get_revision`, `nats_kv_delete`, `nats_kv_purge`, `nats_kv_keys`, `nats_kv_history`,
/// `nats_kv_watch`, `nats_kv_watch_multi`, `nats_kv_watch_sync`, `nats_kv_keys_filtered`,
/// `nats_kv_purge_deletes`, `nats_kv_status`, `nats_kv_update_with_ttl`, `nats_kv_bucket`.
pub struct nats_kv {
    _private: [u8; 0],
}

// C owns a `nats_kv` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_kv {
    type Rust = Kv;
}
impl BoxHandle for nats_kv {}

/// One value of a key (or a delete/purge marker), from `nats_kv_get`, `nats_kv_history` or a
/// watch callback; owned ones are freed with `nats_kv_entry_free`.
///
/// Functions: `nats_kv_get`, `nats_kv_get_revision`, `nats_kv_history`, `nats_kv_entries_free`,
/// `nats_kv_entry_key`, `nats_kv_entry_value`, `nats_kv_entry_value_len`, `nats_kv_entry_revision`,
/// `nats_kv_entry_delta`, `nats_kv_entry_created_ns`, `nats_kv_entry_operation`,
/// `nats_kv_watcher_next`, `nats_kv_entry_bucket`, `nats_kv_entry_value_string`,
/// `nats_kv_entry_free`.
pub struct nats_kv_entry {
    _private: [u8; 0],
}

// C owns a `nats_kv_entry` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_kv_entry {
    type Rust = CKvEntry;
}
impl BoxHandle for nats_kv_entry {}

/// An entry with its key NUL-terminated for C.
pub(crate) struct CKvEntry {
    key: CString,
    bucket: CString,
    value: Bytes,
    /// The value NUL-terminated, made on first `nats_kv_entry_value_string`.
    value_text: std::sync::OnceLock<CString>,
    revision: u64,
    delta: u64,
    created_ns: i64,
    op: nats_kv_op,
}

/// What an entry records.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nats_kv_op {
    NATS_KV_PUT = 0,
    /// The key was deleted (its history is kept).
    NATS_KV_DELETE = 1,
    /// The key was purged (its history removed).
    NATS_KV_PURGE = 2,
}

impl Fallback for nats_kv_op {
    fn fallback() -> Self {
        nats_kv_op::NATS_KV_PUT
    }
}

impl From<Entry> for CKvEntry {
    fn from(e: Entry) -> Self {
        CKvEntry {
            key: c_string(&e.key),
            bucket: c_string(&e.bucket),
            value: e.value,
            value_text: std::sync::OnceLock::new(),
            revision: e.revision,
            delta: e.delta,
            created_ns: i64::try_from(e.created.unix_timestamp_nanos()).unwrap_or(i64::MAX),
            op: match e.operation {
                Operation::Put => nats_kv_op::NATS_KV_PUT,
                Operation::Delete => nats_kv_op::NATS_KV_DELETE,
                Operation::Purge => nats_kv_op::NATS_KV_PURGE,
            },
        }
    }
}

/// Creates a bucket (succeeds also when an identical one exists) and writes a handle to
/// `*kv` (→ `nats_kv_free`). Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`,
/// `NATS_ERR_INVALID_ARGUMENT` (bucket name, history outside 1..64), `NATS_ERR_JETSTREAM`, `NATS_ERR_NO_RESPONDERS` (no JetStream answered), `NATS_ERR_JETSTREAM_UNAVAILABLE`
/// (refused by the server), `NATS_ERR_TIMEOUT`, `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_kv_create(
    js: *mut nats_jetstream,
    cfg: *const nats_kv_config,
    out: *mut *mut nats_kv,
) -> nats_status {
    guard(|| {
        borrow(js, "js")?;
        let c = struct_arg(cfg, "cfg")?;
        out_arg(out, "out")?;
        let config = kv::Config {
            bucket: str_arg(c.bucket, "cfg.bucket")?.to_string(),
            description: opt_str_arg(c.description, "cfg.description")?.unwrap_or_default().to_string(),
            history: c.history,
            max_age: Duration::from_millis(c.ttl_ms),
            max_value_size: c.max_value_size,
            max_bytes: c.max_bytes,
            storage: storage_type(c.storage, "cfg.storage")?,
            num_replicas: c.replicas.max(1) as usize,
            limit_markers: (c.limit_marker_ttl_ms > 0).then(|| Duration::from_millis(c.limit_marker_ttl_ms)),
            ..Default::default()
        };
        box_out(out, clone_arc(js, "js")?.kv_create(config)?);
        Ok(())
    })
}

/// Binds to the existing bucket `bucket` (→ `nats_kv_free`). Errors: `NATS_ERR_NOT_FOUND`,
/// else as `nats_jetstream_kv_create`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_kv_bind(
    js: *mut nats_jetstream,
    bucket: *const c_char,
    out: *mut *mut nats_kv,
) -> nats_status {
    guard(|| {
        borrow(js, "js")?;
        let b = str_arg(bucket, "bucket")?;
        check_bucket(b)?;
        out_arg(out, "out")?;
        box_out(out, clone_arc(js, "js")?.kv_bind(b)?);
        Ok(())
    })
}

/// Writes the names of the account's buckets to `*names` (`*count` strings, →
/// `nats_strings_free(names, count)`; NULL and 0 when there are none) (nats.c's
/// `js_KeyValueStoreNames`). Errors: as `nats_jetstream_stream_names`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_kv_names(
    js: *mut nats_jetstream,
    names: *mut *mut *mut c_char,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        crate::capi::strings::strings_to(names, count, || j.kv_names())
    })
}

/// Deletes bucket `bucket` and everything in it. Errors: `NATS_ERR_NOT_FOUND`, else as
/// `nats_jetstream_kv_create`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_kv_delete(js: *mut nats_jetstream, bucket: *const c_char) -> nats_status {
    guard(|| borrow(js, "js")?.kv_delete(str_arg(bucket, "bucket")?))
}

/// Releases the handle (the bucket stays). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_free(kv: *mut nats_kv) {
    guard_void(|| free_box(kv))
}

/// Runs a write to a key (`op` with the bucket, key and value) and writes the new revision
/// to `*revision` unless it is NULL.
fn write_key(
    kv: *mut nats_kv,
    key: *const c_char,
    data: *const c_void,
    len: usize,
    revision: *mut u64,
    op: impl FnOnce(&Kv, &str, &[u8]) -> Result<u64>,
) -> nats_status {
    guard(|| {
        let k = borrow(kv, "kv")?;
        let r = op(k, str_arg(key, "key")?, bytes_arg(data, len, "data")?)?;
        if !revision.is_null() {
            write_out(revision, r);
        }
        Ok(())
    })
}

/// Stores `len` bytes at `data` under `key` (letters, digits, `-_/\=`, dot-separated) and
/// writes the new revision to `*revision` (may be NULL). Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT` (key), `NATS_ERR_INVALID_SUBJECT` (a key
/// so long that its subject would pass `NATS_MAX_CONTROL_LINE`), `NATS_ERR_MAX_PAYLOAD`,
/// `NATS_ERR_JETSTREAM`, `NATS_ERR_NO_RESPONDERS` (no JetStream answered),
/// `NATS_ERR_JETSTREAM_UNAVAILABLE`, `NATS_ERR_TIMEOUT`, `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_put(
    kv: *mut nats_kv,
    key: *const c_char,
    data: *const c_void,
    len: usize,
    revision: *mut u64,
) -> nats_status {
    write_key(kv, key, data, len, revision, Kv::put)
}

/// Stores the value only if `key` has none (never set, or deleted/purged); writes the
/// revision. Errors: `NATS_ERR_EXPECTATION_FAILED` (the key has a value), else as
/// `nats_kv_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_create(
    kv: *mut nats_kv,
    key: *const c_char,
    data: *const c_void,
    len: usize,
    revision: *mut u64,
) -> nats_status {
    write_key(kv, key, data, len, revision, |k, key, v| k.create(key, v, None))
}

/// As `nats_kv_create`, the value expiring after `ttl_ms` (at least 1000): needs a bucket
/// created with `limit_marker_ttl_ms` > 0 on nats-server >= 2.11.
/// Errors: as `nats_kv_create`; `NATS_ERR_JETSTREAM` when the bucket does not allow per-key TTLs.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_create_with_ttl(
    kv: *mut nats_kv,
    key: *const c_char,
    data: *const c_void,
    len: usize,
    ttl_ms: u64,
    revision: *mut u64,
) -> nats_status {
    write_key(kv, key, data, len, revision, |k, key, v| k.create(key, v, Some(Duration::from_millis(ttl_ms))))
}

/// Stores the value only if the key's latest revision is `last_revision` (optimistic
/// concurrency); writes the new revision. Errors: `NATS_ERR_EXPECTATION_FAILED` (another
/// revision is current), else as `nats_kv_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_update(
    kv: *mut nats_kv,
    key: *const c_char,
    data: *const c_void,
    len: usize,
    last_revision: u64,
    revision: *mut u64,
) -> nats_status {
    write_key(kv, key, data, len, revision, |k, key, v| k.update(key, v, last_revision))
}

/// Reads a key's entry for `nats_kv_get` / `_get_revision`.
fn get_common(
    kv: *mut nats_kv,
    key: *const c_char,
    revision: Option<u64>,
    out: *mut *mut nats_kv_entry,
) -> nats_status {
    guard(|| {
        let k = borrow(kv, "kv")?;
        let key = str_arg(key, "key")?;
        k.check_key(key, Wildcards::Refused)?;
        out_arg(out, "out")?;
        box_out(out, CKvEntry::from(k.get(key, revision)?));
        Ok(())
    })
}

/// Reads the latest value of `key` into `*entry` (→ `nats_kv_entry_free`).
/// Errors: `NATS_ERR_NOT_FOUND` (no value, or deleted/purged), else as `nats_kv_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_get(
    kv: *mut nats_kv,
    key: *const c_char,
    entry: *mut *mut nats_kv_entry,
) -> nats_status {
    get_common(kv, key, None, entry)
}

/// Reads the value `key` had at `revision` (kept while within the bucket's history).
/// Errors: `NATS_ERR_NOT_FOUND`, else as `nats_kv_get`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_get_revision(
    kv: *mut nats_kv,
    key: *const c_char,
    revision: u64,
    entry: *mut *mut nats_kv_entry,
) -> nats_status {
    get_common(kv, key, Some(revision), entry)
}

/// Deletes `key`: a delete marker becomes its latest entry (history kept).
/// Errors: as `nats_kv_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_delete(kv: *mut nats_kv, key: *const c_char) -> nats_status {
    guard(|| borrow(kv, "kv")?.delete(str_arg(key, "key")?))
}

/// Purges `key`: removes all its history, leaving a purge marker. Errors: as `nats_kv_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_purge(kv: *mut nats_kv, key: *const c_char) -> nats_status {
    guard(|| borrow(kv, "kv")?.purge(str_arg(key, "key")?))
}

/// Writes the keys that currently have a value to `*keys` (`*count` strings, →
/// `nats_strings_free(keys, count)`; NULL and 0 for an empty bucket).
/// Errors: `NATS_ERR_NOT_FOUND` (the bucket was deleted), else as `nats_kv_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_keys(kv: *mut nats_kv, keys: *mut *mut *mut c_char, count: *mut usize) -> nats_status {
    guard(|| {
        let k = borrow(kv, "kv")?;
        crate::capi::strings::strings_to(keys, count, || k.keys())
    })
}

/// As `nats_kv_keys`, only the keys matching one of `filters` (`filters_count` keys or
/// patterns with `*` / `>`; 0: all) (nats.c's `kvStore_KeysWithFilters`). Only the keys'
/// latest entries' headers are read, not their values.
/// Errors: as `nats_kv_keys`; `NATS_ERR_INVALID_ARGUMENT` (a bad filter).
#[no_mangle]
pub unsafe extern "C" fn nats_kv_keys_filtered(
    kv: *mut nats_kv,
    filters: *const *const c_char,
    filters_count: usize,
    keys: *mut *mut *mut c_char,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        let k = borrow(kv, "kv")?;
        let filters = strings_arg(filters, filters_count, "filters")?;
        crate::capi::strings::strings_to(keys, count, || k.keys_matching(&filters))
    })
}

/// Removes the bucket's delete and purge markers and the history behind them (nats.c's
/// `kvStore_PurgeDeletes`): markers older than `older_than_ms` go entirely; younger ones stay
/// as their key's only entry, so a watcher that has not seen the delete yet still will.
/// `older_than_ms` 0: 30 minutes, as nats.c. Writes how many keys were cleaned to `*purged`
/// unless NULL. Errors: as `nats_kv_keys`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_purge_deletes(
    kv: *mut nats_kv,
    older_than_ms: u64,
    purged: *mut usize,
) -> nats_status {
    guard(|| {
        let k = borrow(kv, "kv")?;
        let n = k.purge_deletes(ms_or_default(older_than_ms, Duration::from_secs(30 * 60)))?;
        if !purged.is_null() {
            write_out(purged, n);
        }
        Ok(())
    })
}

/// A bucket's state, from `nats_kv_status` (nats.c's `kvStatus`). `bucket` and `stream` are
/// borrowed from the `nats_kv` handle.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_kv_bucket_status {
    /// The bucket's name.
    pub bucket: *const c_char,
    /// The stream that stores it (`KV_<bucket>`).
    pub stream: *const c_char,
    /// Entries stored (values and markers, history included).
    pub values: u64,
    /// Bytes stored.
    pub bytes: u64,
    /// Entries kept per key.
    pub history: i64,
    /// How long an entry lives, ms; 0: forever.
    pub ttl_ms: u64,
    /// Replicas.
    pub replicas: u32,
    /// The stream is compressed.
    pub compressed: bool,
    /// A `nats_storage` value.
    pub storage: i32,
}

/// Writes the bucket's state to `*status`. Errors: as `nats_kv_keys`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_status(kv: *mut nats_kv, status: *mut nats_kv_bucket_status) -> nats_status {
    guard(|| {
        let k = borrow(kv, "kv")?;
        out_arg(status, "status")?;
        let st = k.status()?;
        let (bucket, stream) = k.names_nul();
        write_out(
            status,
            nats_kv_bucket_status {
                bucket: bucket.as_ptr().cast(),
                stream: stream.as_ptr().cast(),
                values: st.values,
                bytes: st.bytes,
                history: st.history,
                ttl_ms: crate::capi::view::millis(st.ttl),
                replicas: u32::try_from(st.replicas).unwrap_or(u32::MAX),
                compressed: st.compressed,
                storage: if st.memory { nats_storage::NATS_STORAGE_MEMORY } else { nats_storage::NATS_STORAGE_FILE }
                    as i32,
            },
        );
        Ok(())
    })
}

/// As `nats_kv_update`, and the new value expires after `ttl_ms` (at least 1000; the bucket
/// needs per-key TTLs: `limit_marker_ttl_ms`). Errors: as `nats_kv_update`;
/// `NATS_ERR_INVALID_ARGUMENT` also for a TTL under a second.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_update_with_ttl(
    kv: *mut nats_kv,
    key: *const c_char,
    data: *const c_void,
    len: usize,
    last_revision: u64,
    ttl_ms: u64,
    revision: *mut u64,
) -> nats_status {
    write_key(kv, key, data, len, revision, |k, key, v| {
        k.update_with_ttl(key, v, last_revision, Duration::from_millis(ttl_ms))
    })
}

/// Writes every kept entry of `key` (values and delete/purge markers), oldest first, to
/// `*entries` (`*count` of them, → `nats_kv_entries_free(entries, count)`).
/// Errors: `NATS_ERR_NOT_FOUND` (no history), else as `nats_kv_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_history(
    kv: *mut nats_kv,
    key: *const c_char,
    entries: *mut *mut *mut nats_kv_entry,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        let k = borrow(kv, "kv")?;
        let key = str_arg(key, "key")?;
        k.check_key(key, Wildcards::Refused)?;
        out_arg(entries, "entries")?;
        out_arg(count, "count")?;
        let list: Vec<CKvEntry> = k.history(key)?.into_iter().map(CKvEntry::from).collect();
        let (array, n) = box_array(list);
        write_out(count, n);
        write_out(entries, array);
        Ok(())
    })
}

/// Frees an array from `nats_kv_history`: every non-NULL entry and the array. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entries_free(entries: *mut *mut nats_kv_entry, count: usize) {
    guard_void(|| free_box_array(entries, count))
}
/// The bucket the entry belongs to, borrowed from the entry; "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_bucket(e: *const nats_kv_entry) -> *const c_char {
    read_or(e, c"".as_ptr(), |e| e.bucket.as_ptr())
}

/// The value as a NUL-terminated string, borrowed from the entry (a copy made on the first
/// call; NUL bytes inside show as spaces: use `nats_kv_entry_value` for binary values); ""
/// for NULL (nats.c's `kvEntry_ValueString`).
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_value_string(e: *const nats_kv_entry) -> *const c_char {
    read_or(e, c"".as_ptr(), |e| {
        e.value_text
            .get_or_init(|| {
                let bytes: Vec<u8> = e.value.iter().map(|&b| if b == 0 { b' ' } else { b }).collect();
                CString::new(bytes).unwrap_or_default()
            })
            .as_ptr()
    })
}

/// The bucket's name, borrowed from the handle; "" for NULL (nats.c's `kvStore_Bucket`).
#[no_mangle]
pub unsafe extern "C" fn nats_kv_bucket(kv: *const nats_kv) -> *const c_char {
    read_or(kv, c"".as_ptr(), |k| k.names_nul().0.as_ptr().cast())
}

/// The entry's key, borrowed from the entry; "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_key(e: *const nats_kv_entry) -> *const c_char {
    read_or(e, c"".as_ptr(), |e| e.key.as_ptr())
}

/// The value's bytes (`nats_kv_entry_value_len` of them, not NUL-terminated; empty for
/// delete/purge markers), borrowed from the entry; NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_value(e: *const nats_kv_entry) -> *const c_void {
    read(e, |e| data_ptr(&e.value))
}

/// Length of the value in bytes; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_value_len(e: *const nats_kv_entry) -> usize {
    read(e, |e| e.value.len())
}

/// The entry's revision (its sequence in the bucket's stream); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_revision(e: *const nats_kv_entry) -> u64 {
    read(e, |e| e.revision)
}

/// For watched and history entries: how many newer entries followed it when it was read (0 =
/// the latest); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_delta(e: *const nats_kv_entry) -> u64 {
    read(e, |e| e.delta)
}

/// When it was stored, nanoseconds since the Unix epoch; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_created_ns(e: *const nats_kv_entry) -> i64 {
    read(e, |e| e.created_ns)
}

/// Put, delete or purge; `NATS_KV_PUT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_operation(e: *const nats_kv_entry) -> nats_kv_op {
    read(e, |e| e.op)
}

/// Frees an entry from `nats_kv_get*`. NULL is a no-op. Never free one lent to a watch
/// callback.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_free(e: *mut nats_kv_entry) {
    guard_void(|| {
        free_box(e);
    })
}

/// Watch callback: `user_data` and an entry (a put, delete or purge), borrowed until the
/// callback returns. Runs on the watch's lane (a thread of its own, the shared pool or the
/// dispatcher: see `nats_dispatcher`), one entry at a time, in revision order; it may call any function of this library (including `nats_kv_watcher_stop` of its
/// own watcher).
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_kv_watch_callback = Option<unsafe extern "C" fn(user_data: *mut c_void, entry: *const nats_kv_entry)>;

type WatchFn = unsafe extern "C" fn(*mut c_void, *const nats_kv_entry);

/// Watch options, as bit flags for `nats_kv_watch`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nats_kv_watch_flags {
    /// Default: first the current entry of every matching key, then each change.
    NATS_KV_WATCH_DEFAULT = 0,
    /// Only changes made after the watch started.
    NATS_KV_WATCH_UPDATES_ONLY = 1,
    /// Every kept entry of the matching keys (the whole history), then each change.
    NATS_KV_WATCH_INCLUDE_HISTORY = 2,
    /// Skip delete and purge markers (may be combined with the others).
    NATS_KV_WATCH_IGNORE_DELETES = 4,
    /// Entries without their values (`nats_kv_entry_value_len` 0): the server sends headers
    /// only (may be combined with the others).
    NATS_KV_WATCH_META_ONLY = 8,
}

/// Reads watch flags and the keys into what the watch does.
fn watch_spec(patterns: Vec<String>, flags: u32) -> Result<WatchSpec> {
    use nats_kv_watch_flags::*;
    let known = NATS_KV_WATCH_UPDATES_ONLY as u32
        | NATS_KV_WATCH_INCLUDE_HISTORY as u32
        | NATS_KV_WATCH_IGNORE_DELETES as u32
        | NATS_KV_WATCH_META_ONLY as u32;
    if flags & !known != 0 {
        return Err(Error::new(ErrorKind::InvalidArgument, format!("flags: unknown bits {:#x}", flags & !known)));
    }
    let from = match (flags & NATS_KV_WATCH_UPDATES_ONLY as u32 != 0, flags & NATS_KV_WATCH_INCLUDE_HISTORY as u32 != 0)
    {
        (false, false) => WatchFrom::Current,
        (true, false) => WatchFrom::UpdatesOnly,
        (false, true) => WatchFrom::History,
        (true, true) => {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "flags: NATS_KV_WATCH_UPDATES_ONLY and NATS_KV_WATCH_INCLUDE_HISTORY exclude each other",
            ))
        }
    };
    Ok(WatchSpec {
        patterns,
        from,
        ignore_deletes: flags & NATS_KV_WATCH_IGNORE_DELETES as u32 != 0,
        meta_only: flags & NATS_KV_WATCH_META_ONLY as u32 != 0,
    })
}

/// Keys C passes: an array of `count` (none: every key).
fn key_patterns(keys: *const *const c_char, count: usize) -> Result<Vec<String>> {
    strings_arg(keys, count, "keys")
}

/// A running watch from `nats_kv_watch`, `_watch_multi` (callbacks) or `_watch_sync`
/// (`nats_kv_watcher_next`); → `nats_kv_watcher_free`.
///
/// Functions: `nats_kv_watch`, `nats_kv_watch_multi`, `nats_kv_watch_sync`,
/// `nats_kv_watcher_next`, `nats_kv_watcher_stop`, `nats_kv_watcher_free`.
pub struct nats_kv_watcher {
    _private: [u8; 0],
}

// C owns a `nats_kv_watcher` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_kv_watcher {
    type Rust = Watcher;
}
impl BoxHandle for nats_kv_watcher {}

/// A `nats_kv_watch_callback` with its `user_data` and release function, as a watch's
/// handler.
struct CWatchHandler(CCallback<WatchFn>);

impl WatchHandler for CWatchHandler {
    fn accepted(&mut self) {
        self.0.own();
    }

    fn on_entry(&mut self, entry: Entry) {
        let e = CKvEntry::from(entry);
        // SAFETY: the user's callback with the user's pointer; the entry lives for the call.
        unsafe { (self.0.f())(self.0.user_data(), (&e as *const CKvEntry).cast()) };
    }
}

/// Watches the keys matching `keys` (a key, or a pattern with `*` / `>`; NULL = all keys) and
/// calls `cb(user_data, entry)` for each entry, per `flags` (`nats_kv_watch_flags`), on a
/// dedicated thread, in order. `user_data_free` (may be NULL) runs once after the last
/// callback, when the watcher is stopped. A watch recovers from a gap in delivery (a reconnect,
/// a lost heartbeat on a loaded machine) by reading again after the last entry it delivered:
/// nothing is delivered twice, but values the bucket has stopped keeping by then (beyond its
/// `history`) are not delivered at all. Errors: `NATS_ERR_NULL_ARGUMENT` (kv, cb, out),
/// `NATS_ERR_INVALID_UTF8`, `NATS_ERR_NOT_FOUND` (the bucket was deleted), `NATS_ERR_INVALID_ARGUMENT` (keys, flags), `NATS_ERR_INVALID_SUBJECT` (keys too long), `NATS_ERR_JETSTREAM`, `NATS_ERR_NO_RESPONDERS` (no JetStream answered), `NATS_ERR_JETSTREAM_UNAVAILABLE`, `NATS_ERR_TIMEOUT`,
/// `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_watch(
    kv: *mut nats_kv,
    keys: *const c_char,
    flags: u32,
    cb: nats_kv_watch_callback,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
    out: *mut *mut nats_kv_watcher,
) -> nats_status {
    guard(|| {
        let pattern = opt_str_arg(keys, "keys")?;
        let spec = watch_spec(pattern.map(str::to_string).into_iter().collect(), flags)?;
        watch_common(kv, spec, cb, user_data, user_data_free, out)
    })
}

/// Starts a callback watch for `nats_kv_watch` / `_watch_multi`.
fn watch_common(
    kv: *mut nats_kv,
    spec: WatchSpec,
    cb: nats_kv_watch_callback,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
    out: *mut *mut nats_kv_watcher,
) -> Result<()> {
    let k = borrow(kv, "kv")?;
    let cb = cb.ok_or_else(|| null("cb"))?;
    out_arg(out, "out")?;
    let handler = Box::new(CWatchHandler(CCallback::new(cb, user_data, user_data_free)));
    box_out(out, k.watch(spec, handler)?);
    Ok(())
}

/// As `nats_kv_watch`, over several keys or patterns at once (`keys_count` of them; 0: every
/// key), in one revision order (nats.c's `kvStore_WatchMulti`).
#[no_mangle]
pub unsafe extern "C" fn nats_kv_watch_multi(
    kv: *mut nats_kv,
    keys: *const *const c_char,
    keys_count: usize,
    flags: u32,
    cb: nats_kv_watch_callback,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
    out: *mut *mut nats_kv_watcher,
) -> nats_status {
    guard(|| {
        let spec = watch_spec(key_patterns(keys, keys_count)?, flags)?;
        watch_common(kv, spec, cb, user_data, user_data_free, out)
    })
}

/// A watcher without a callback: its entries are taken with `nats_kv_watcher_next` (nats.c's
/// `kvStore_Watch` with `kvWatcher_Next`). `keys` and `flags` as in `nats_kv_watch_multi`.
/// Entries wait in the watcher, without limit, until taken. Errors: as `nats_kv_watch`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_watch_sync(
    kv: *mut nats_kv,
    keys: *const *const c_char,
    keys_count: usize,
    flags: u32,
    out: *mut *mut nats_kv_watcher,
) -> nats_status {
    guard(|| {
        let k = borrow(kv, "kv")?;
        let spec = watch_spec(key_patterns(keys, keys_count)?, flags)?;
        out_arg(out, "out")?;
        box_out(out, k.watch_sync(spec)?);
        Ok(())
    })
}

/// Takes the next entry of a watcher from `nats_kv_watch_sync`, waiting at most `timeout_ms`,
/// into `*entry` (→ `nats_kv_entry_free`). `nats_kv_entry_delta` 0 marks the last of the
/// entries that existed when the watch started (with `NATS_KV_WATCH_IGNORE_DELETES`, the
/// delta also counts the markers skipped after an entry, so the last one delivered may not
/// show 0). Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_TIMEOUT` (none within the time), `NATS_ERR_INVALID_ARGUMENT` (a callback watcher,
/// or one that was stopped and has nothing left), `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_watcher_next(
    w: *mut nats_kv_watcher,
    timeout_ms: u64,
    entry: *mut *mut nats_kv_entry,
) -> nats_status {
    guard(|| {
        let w = borrow(w, "w")?;
        out_arg(entry, "entry")?;
        box_out(entry, CKvEntry::from(w.next(Duration::from_millis(timeout_ms))?));
        Ok(())
    })
}

/// Stops the watcher: waits for a running callback to return (unless called from the
/// watcher's own callback); no callback starts after this returns; then `user_data_free` runs,
/// on the calling thread (from its own callback: once that callback returned). Stopping twice
/// is fine. Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_watcher_stop(w: *mut nats_kv_watcher) -> nats_status {
    guard(|| {
        borrow(w, "w")?.stop();
        Ok(())
    })
}

/// Stops the watcher (if running) and frees it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_watcher_free(w: *mut nats_kv_watcher) {
    guard_void(|| {
        if let Some(w) = take_box(w) {
            w.stop();
        }
    })
}
