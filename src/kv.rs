//! `nats_kv_*` and `nats_jetstream_kv_*`: JetStream key-value buckets: create/bind/delete,
//! put/get/create/update with revision checks, delete/purge, keys, history, watch with a
//! callback, bucket and per-key TTL.

use crate::capi::args::*;
use crate::capi::callback::CCallback;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::status::*;
use crate::client::error::*;
use crate::client::subject::*;
use crate::events::Event;
use crate::jetstream::{js_error, nats_jetstream};
use crate::stream::nats_storage;
use crate::subscription::nats_user_data_free;
use async_nats::jetstream::kv::{self, Operation};
use bytes::Bytes;
use futures_util::StreamExt;
use std::ffi::{c_char, c_void, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
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
/// `nats_kv_watch`.
pub struct nats_kv {
    js: Arc<nats_jetstream>,
    store: kv::Store,
}

// C owns a `nats_kv` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_kv {
    type Rust = nats_kv;
}
impl BoxHandle for nats_kv {}

/// One value of a key (or a delete/purge marker), from `nats_kv_get`, `nats_kv_history` or a
/// watch callback; owned ones are freed with `nats_kv_entry_free`.
///
/// Functions: `nats_kv_get`, `nats_kv_get_revision`, `nats_kv_history`, `nats_kv_entries_free`,
/// `nats_kv_entry_key`, `nats_kv_entry_value`, `nats_kv_entry_value_len`, `nats_kv_entry_revision`,
/// `nats_kv_entry_delta`, `nats_kv_entry_created_ns`, `nats_kv_entry_operation`,
/// `nats_kv_entry_free`.
pub struct nats_kv_entry {
    key: CString,
    value: Bytes,
    revision: u64,
    delta: u64,
    created_ns: i64,
    op: nats_kv_op,
}

// C owns a `nats_kv_entry` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_kv_entry {
    type Rust = nats_kv_entry;
}
impl BoxHandle for nats_kv_entry {}

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

impl nats_kv_entry {
    fn from(e: kv::Entry) -> Self {
        nats_kv_entry {
            key: CString::new(e.key.replace('\0', " ")).unwrap_or_default(),
            value: e.value,
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

fn check_bucket(b: &str) -> Result<()> {
    if b.is_empty() || !b.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("invalid bucket name {b:?}: use letters, digits, '-' and '_'"),
        ));
    }
    Ok(())
}

fn check_key(k: &str, wildcards: Wildcards) -> Result<()> {
    let ok = !k.is_empty()
        && !k.starts_with('.')
        && !k.ends_with('.')
        && !k.contains("..")
        && k.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '/' | '\\' | '=' | '.')
                || (wildcards == Wildcards::Allowed && matches!(c, '*' | '>'))
        });
    if !ok {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "invalid key {k:?}: letters, digits and - _ / \\ = . (not at the ends){}",
                if wildcards == Wildcards::Allowed { ", wildcards * >" } else { "" }
            ),
        ));
    }
    Ok(())
}

impl nats_kv {
    /// Reads a key argument: valid characters, and short enough that its subject
    /// (`$KV.<bucket>.<key>`, or the bucket's put prefix) fits a protocol line with the reply
    /// subject of a request.
    unsafe fn key_arg<'a>(&self, key: *const c_char) -> Result<&'a str> {
        let k = str_arg(key, "key")?;
        self.check_key_pattern(k, Wildcards::Refused)?;
        Ok(k)
    }

    fn check_key_pattern(&self, key: &str, wildcards: Wildcards) -> Result<()> {
        check_key(key, wildcards)?;
        let put_prefix = self.store.put_prefix.as_deref().unwrap_or("");
        let prefix = std::cmp::max_by_key(put_prefix, self.store.prefix.as_str(), |p| p.len());
        check_control_line("key", &[prefix, key], self.js.conn.request_reply_len)
    }
}

fn kv_error(what: &str, e: &(dyn std::error::Error + 'static)) -> Error {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("wrong last sequence")
        || lower.contains("already exists")
        || lower.contains("wrong last revision")
    {
        return Error::new(ErrorKind::ExpectationFailed, format!("{what}: revision conflict ({text})"));
    }
    js_error(what, e)
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
        let j = borrow(js, "js")?;
        let c = struct_arg(cfg, "cfg")?;
        out_arg(out, "out")?;
        let bucket = str_arg(c.bucket, "cfg.bucket")?;
        check_bucket(bucket)?;
        if !(1..=64).contains(&c.history) {
            return Err(Error::new(ErrorKind::InvalidArgument, "history must be between 1 and 64"));
        }
        let config = kv::Config {
            bucket: bucket.to_string(),
            description: opt_str_arg(c.description, "cfg.description")?.unwrap_or_default().to_string(),
            history: c.history,
            max_age: Duration::from_millis(c.ttl_ms),
            max_value_size: c.max_value_size,
            max_bytes: c.max_bytes,
            storage: crate::stream::storage_type(c.storage, "cfg.storage")?,
            num_replicas: c.replicas.max(1) as usize,
            limit_markers: (c.limit_marker_ttl_ms > 0).then(|| Duration::from_millis(c.limit_marker_ttl_ms)),
            ..Default::default()
        };
        let store = j
            .call("nats_jetstream_kv_create", j.ctx.create_key_value(config))?
            .map_err(|e| kv_error("create bucket", &e))?;
        box_out(out, nats_kv { js: clone_arc(js, "js")?, store });
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
        let j = borrow(js, "js")?;
        let b = str_arg(bucket, "bucket")?;
        check_bucket(b)?;
        out_arg(out, "out")?;
        let store = j.call("nats_jetstream_kv_bind", j.ctx.get_key_value(b))?.map_err(|e| {
            let err = kv_error("bind bucket", &e);
            if err.kind == ErrorKind::NotFound || e.to_string().to_ascii_lowercase().contains("not found") {
                Error::new(ErrorKind::NotFound, format!("bucket {b:?} does not exist"))
            } else {
                err
            }
        })?;
        box_out(out, nats_kv { js: clone_arc(js, "js")?, store });
        Ok(())
    })
}

/// Deletes bucket `bucket` and everything in it. Errors: `NATS_ERR_NOT_FOUND`, else as
/// `nats_jetstream_kv_create`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_kv_delete(js: *mut nats_jetstream, bucket: *const c_char) -> nats_status {
    guard(|| {
        let j = borrow(js, "js")?;
        let b = str_arg(bucket, "bucket")?;
        check_bucket(b)?;
        j.call("nats_jetstream_kv_delete", j.ctx.delete_key_value(b))?.map_err(|e| kv_error("delete bucket", &e))?;
        Ok(())
    })
}

/// Releases the handle (the bucket stays). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_free(kv: *mut nats_kv) {
    guard_void(|| {
        free_box(kv);
    })
}

unsafe fn write_rev(rev: *mut u64, r: u64) {
    if !rev.is_null() {
        write_out(rev, r);
    }
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
    guard(|| {
        let k = borrow(kv, "kv")?;
        let key = k.key_arg(key)?;
        let v = Bytes::copy_from_slice(bytes_arg(data, len, "data")?);
        let r = k.js.call("nats_kv_put", k.store.put(key, v))?.map_err(|e| kv_error("put", &e))?;
        write_rev(revision, r);
        Ok(())
    })
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
    guard(|| create_common(kv, key, data, len, None, revision))
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
    guard(|| {
        if ttl_ms < 1000 {
            return Err(Error::new(ErrorKind::InvalidArgument, "a per-key TTL must be at least 1000 ms"));
        }
        create_common(kv, key, data, len, Some(Duration::from_millis(ttl_ms)), revision)
    })
}

unsafe fn create_common(
    kv: *mut nats_kv,
    key: *const c_char,
    data: *const c_void,
    len: usize,
    ttl: Option<Duration>,
    revision: *mut u64,
) -> Result<()> {
    let k = borrow(kv, "kv")?;
    let key = k.key_arg(key)?;
    let v = Bytes::copy_from_slice(bytes_arg(data, len, "data")?);
    let fut = async {
        match ttl {
            Some(t) => k.store.create_with_ttl(key, v, t).await,
            None => k.store.create(key, v).await,
        }
    };
    let r = k.js.call("nats_kv_create", fut)?.map_err(|e| match e.kind() {
        kv::CreateErrorKind::AlreadyExists => {
            Error::new(ErrorKind::ExpectationFailed, format!("create: key {key:?} already has a value"))
        }
        _ => kv_error("create", &e),
    })?;
    write_rev(revision, r);
    Ok(())
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
    guard(|| {
        let k = borrow(kv, "kv")?;
        let key = k.key_arg(key)?;
        let v = Bytes::copy_from_slice(bytes_arg(data, len, "data")?);
        let r = k.js.call("nats_kv_update", k.store.update(key, v, last_revision))?.map_err(|e| match e.kind() {
            kv::UpdateErrorKind::WrongLastRevision => Error::new(
                ErrorKind::ExpectationFailed,
                format!("update: revision {last_revision} of {key:?} is not the latest"),
            ),
            _ => kv_error("update", &e),
        })?;
        write_rev(revision, r);
        Ok(())
    })
}

unsafe fn get_common(
    kv: *mut nats_kv,
    key: *const c_char,
    revision: Option<u64>,
    out: *mut *mut nats_kv_entry,
) -> Result<()> {
    let k = borrow(kv, "kv")?;
    let key = k.key_arg(key)?;
    out_arg(out, "out")?;
    let fut = async {
        match revision {
            Some(r) => k.store.entry_for_revision(key, r).await,
            None => k.store.entry(key).await,
        }
    };
    let e = k.js.call("nats_kv_get", fut)?.map_err(|e| kv_error("get", &e))?;
    match e {
        Some(e) if e.operation == Operation::Put => {
            box_out(out, nats_kv_entry::from(e));
            Ok(())
        }
        Some(_) => Err(Error::new(ErrorKind::NotFound, format!("key {key:?} was deleted"))),
        None => Err(Error::new(ErrorKind::NotFound, format!("key {key:?} not found"))),
    }
}

/// Reads the latest value of `key` into `*entry` (→ `nats_kv_entry_free`).
/// Errors: `NATS_ERR_NOT_FOUND` (no value, or deleted/purged), else as `nats_kv_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_get(
    kv: *mut nats_kv,
    key: *const c_char,
    entry: *mut *mut nats_kv_entry,
) -> nats_status {
    guard(|| get_common(kv, key, None, entry))
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
    guard(|| get_common(kv, key, Some(revision), entry))
}

/// Deletes `key`: a delete marker becomes its latest entry (history kept).
/// Errors: as `nats_kv_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_delete(kv: *mut nats_kv, key: *const c_char) -> nats_status {
    guard(|| {
        let k = borrow(kv, "kv")?;
        let key = k.key_arg(key)?;
        k.js.call("nats_kv_delete", k.store.delete(key))?.map_err(|e| kv_error("delete", &e))?;
        Ok(())
    })
}

/// Purges `key`: removes all its history, leaving a purge marker. Errors: as `nats_kv_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_purge(kv: *mut nats_kv, key: *const c_char) -> nats_status {
    guard(|| {
        let k = borrow(kv, "kv")?;
        let key = k.key_arg(key)?;
        k.js.call("nats_kv_purge", k.store.purge(key))?.map_err(|e| kv_error("purge", &e))?;
        Ok(())
    })
}

/// Writes the keys that currently have a value to `*keys` (`*count` strings, →
/// `nats_strings_free(keys, count)`; NULL and 0 for an empty bucket).
/// Errors: `NATS_ERR_NOT_FOUND` (the bucket was deleted), else as `nats_kv_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_keys(kv: *mut nats_kv, keys: *mut *mut *mut c_char, count: *mut usize) -> nats_status {
    guard(|| {
        let k = borrow(kv, "kv")?;
        out_arg(keys, "keys")?;
        out_arg(count, "count")?;
        let fut = async {
            let mut it = k.store.keys().await.map_err(|e| kv_error("keys", &e))?;
            let mut list = Vec::new();
            while let Some(key) = it.next().await {
                list.push(key.map_err(|e| kv_error("keys", &e))?);
            }
            Ok::<_, Error>(list)
        };
        let list = k.js.call("nats_kv_keys", fut)??;
        let (p, n) = crate::capi::strings::strings_out(list);
        write_out(keys, p);
        write_out(count, n);
        Ok(())
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
        let key = k.key_arg(key)?;
        out_arg(entries, "entries")?;
        out_arg(count, "count")?;
        let fut = async {
            let mut it = k.store.history(key).await.map_err(|e| kv_error("history", &e))?;
            let mut list = Vec::new();
            while let Some(e) = it.next().await {
                list.push(nats_kv_entry::from(e.map_err(|e| kv_error("history", &e))?));
            }
            Ok::<_, Error>(list)
        };
        let list = k.js.call("nats_kv_history", fut)??;
        if list.is_empty() {
            return Err(Error::new(ErrorKind::NotFound, format!("key {key:?} has no history")));
        }
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

/// The entry's key, borrowed from the entry; "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_key(e: *const nats_kv_entry) -> *const c_char {
    guard_value(c"".as_ptr(), || e.as_ref().map_or(c"".as_ptr(), |e| e.key.as_ptr()))
}

/// The value's bytes (`nats_kv_entry_value_len` of them, not NUL-terminated; empty for
/// delete/purge markers), borrowed from the entry; NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_value(e: *const nats_kv_entry) -> *const c_void {
    guard_value(std::ptr::null(), || match e.as_ref() {
        Some(e) if e.value.is_empty() => c"".as_ptr().cast(),
        Some(e) => e.value.as_ptr().cast(),
        None => std::ptr::null(),
    })
}

/// Length of the value in bytes; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_value_len(e: *const nats_kv_entry) -> usize {
    guard_value(0, || e.as_ref().map_or(0, |e| e.value.len()))
}

/// The entry's revision (its sequence in the bucket's stream); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_revision(e: *const nats_kv_entry) -> u64 {
    guard_value(0, || e.as_ref().map_or(0, |e| e.revision))
}

/// For watched and history entries: how many newer entries followed it when it was read (0 =
/// the latest); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_delta(e: *const nats_kv_entry) -> u64 {
    guard_value(0, || e.as_ref().map_or(0, |e| e.delta))
}

/// When it was stored, nanoseconds since the Unix epoch; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_created_ns(e: *const nats_kv_entry) -> i64 {
    guard_value(0, || e.as_ref().map_or(0, |e| e.created_ns))
}

/// Put, delete or purge; `NATS_KV_PUT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_kv_entry_operation(e: *const nats_kv_entry) -> nats_kv_op {
    guard_value(nats_kv_op::NATS_KV_PUT, || e.as_ref().map_or(nats_kv_op::NATS_KV_PUT, |e| e.op))
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
/// callback returns. Runs on the watcher's own thread, one entry at a time, in revision
/// order; it may call any function of this library (including `nats_kv_watcher_stop` of its
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
}

/// A running watch from `nats_kv_watch`; → `nats_kv_watcher_free`.
///
/// Functions: `nats_kv_watch`, `nats_kv_watcher_stop`, `nats_kv_watcher_free`.
pub struct nats_kv_watcher {
    state: Arc<WatchState>,
    task: tokio::task::AbortHandle,
}

// C owns a `nats_kv_watcher` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_kv_watcher {
    type Rust = nats_kv_watcher;
}
impl BoxHandle for nats_kv_watcher {}

/// Shared by a watcher handle and its thread: the thread holds `calling` while it checks
/// `stopped` and runs a callback, so `stop` (setting the flag, then taking the lock) returns
/// only once no callback is running or can start.
#[derive(Default)]
struct WatchState {
    stopped: AtomicBool,
    calling: std::sync::Mutex<()>,
}

thread_local! {
    /// On a watcher thread: its state.
    static WATCHING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl nats_kv_watcher {
    fn stop(&self) {
        self.state.stopped.store(true, Ordering::Release);
        self.task.abort();
        if WATCHING.with(|w| w.get()) != Arc::as_ptr(&self.state) as usize {
            drop(self.state.calling.lock().unwrap_or_else(|p| p.into_inner()));
        }
    }
}

/// Watches the keys matching `keys` (a key, or a pattern with `*` / `>`; NULL = all keys) and
/// calls `cb(user_data, entry)` for each entry, per `flags` (`nats_kv_watch_flags`), on a
/// dedicated thread, in order. `user_data_free` (may be NULL) runs once after the last
/// callback, when the watcher is stopped. Errors: `NATS_ERR_NULL_ARGUMENT` (kv, cb, out),
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
        let k = borrow(kv, "kv")?;
        let pattern = opt_str_arg(keys, "keys")?.unwrap_or(">");
        k.check_key_pattern(pattern, Wildcards::Allowed)?;
        let cb = cb.ok_or_else(|| null("cb"))?;
        out_arg(out, "out")?;
        if flags > 2 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "flags: NATS_KV_WATCH_UPDATES_ONLY and NATS_KV_WATCH_INCLUDE_HISTORY exclude each other",
            ));
        }
        let store = k.store.clone();
        let p = pattern.to_string();
        let fut = async move {
            match flags {
                1 => store.watch(p).await,
                2 => store.watch_from_revision(p, 1).await,
                _ => store.watch_with_history(p).await,
            }
        };
        let mut watch = k.js.call("nats_kv_watch", fut)?.map_err(|e| kv_error("watch", &e))?;
        let (tx, rx) = mpsc::channel::<nats_kv_entry>();
        let conn = k.js.conn.clone();
        let task = k.js.conn.handle.spawn(async move {
            while let Some(e) = watch.next().await {
                match e {
                    Ok(e) => {
                        if tx.send(nats_kv_entry::from(e)).is_err() {
                            break;
                        }
                    }
                    Err(e) => conn.send_event(Event::Error {
                        sub: None,
                        status: ErrorKind::JetStream,
                        text: format!("kv watch: {e}"),
                    }),
                }
            }
        });
        let state = Arc::new(WatchState::default());
        let for_thread = state.clone();
        let cb = CCallback::new(cb, user_data, user_data_free);
        std::thread::Builder::new()
            .name("nats-ffi-kv-watch".into())
            .spawn(move || {
                // The watcher owns user_data from here; dropping `cb` after the last
                // callback runs user_data_free.
                let cb = cb.owned();
                run_watch(rx, &for_thread, &cb);
            })
            .map_err(|e| {
                task.abort();
                Error::new(ErrorKind::Internal, format!("cannot start the watch thread: {e}"))
            })?;
        box_out(out, nats_kv_watcher { state, task: task.abort_handle() });
        Ok(())
    })
}

fn run_watch(rx: mpsc::Receiver<nats_kv_entry>, state: &Arc<WatchState>, cb: &CCallback<WatchFn>) {
    WATCHING.with(|w| w.set(Arc::as_ptr(state) as usize));
    for e in rx {
        let _calling = state.calling.lock().unwrap_or_else(|p| p.into_inner());
        if state.stopped.load(Ordering::Acquire) {
            break;
        }
        // SAFETY: the user's callback with the user's pointer; `e` lives for the call.
        unsafe { (cb.f())(cb.user_data(), &e) };
    }
}

/// Stops the watcher: waits for a running callback to return (unless called from the
/// watcher's own callback); no callback starts after this returns; then `user_data_free` runs
/// on the watcher thread. Stopping twice is fine. Errors: `NATS_ERR_NULL_ARGUMENT`.
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
