//! `nats_jetstream_object_store_*`, `nats_object_store_*` and `nats_object_info*`: object
//! store buckets, objects put from a buffer or a file descriptor and read back into either
//! (chunk by chunk, digest checked), their info, listing, deletion and metadata.

use crate::capi::args::*;
use crate::capi::callback::{nats_user_data_free, CCallback};
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::jetstream::nats_jetstream;
use crate::capi::status::*;
use crate::capi::stream_config::{nats_storage, storage_type};
use crate::capi::view::{free_owned, millis, nanos_since_epoch, owned_raw, CArena};
use crate::client::error::*;
use crate::client::jetstream::kv::{WatchHandler, Watcher};
use crate::client::jetstream::object_store::ObjectStore;
use async_nats::jetstream::object_store::{Config, ObjectInfo, ObjectMetadata, UpdateMetadata};
use std::ffi::{c_char, c_int, c_void};
use std::os::fd::FromRawFd;
use std::time::Duration;

/// An object store bucket's configuration. Always start from
/// `nats_object_store_config_init(&cfg)`, then set fields; strings are borrowed for the call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_object_store_config {
    /// Bucket name (required): letters, digits, `-` and `_`.
    pub bucket: *const c_char,
    /// A description; NULL for none.
    pub description: *const c_char,
    /// Objects are removed after this long, ms; 0: kept forever.
    pub ttl_ms: u64,
    /// The most bytes the bucket may hold; -1: no limit (default).
    pub max_bytes: i64,
    /// A `nats_storage` value; any other gives `NATS_ERR_INVALID_ARGUMENT`.
    pub storage: i32,
    /// Replicas (1 to 5); default 1.
    pub replicas: u32,
    /// Compress what is stored (S2).
    pub compression: bool,
    /// The bucket's metadata: `metadata_count` keys and as many values (NULL/0: none).
    pub metadata_keys: *const *const c_char,
    /// The values, in the order of `metadata_keys`.
    pub metadata_values: *const *const c_char,
    /// Number of metadata entries.
    pub metadata_count: usize,
}

/// Fills `*cfg` with the defaults: no name, file storage, 1 replica, no limits, no metadata.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_config_init(cfg: *mut nats_object_store_config) -> nats_status {
    guard(|| {
        out_arg(cfg, "cfg")?;
        write_out(
            cfg,
            nats_object_store_config {
                bucket: std::ptr::null(),
                description: std::ptr::null(),
                ttl_ms: 0,
                max_bytes: -1,
                storage: nats_storage::NATS_STORAGE_FILE as i32,
                replicas: 1,
                compression: false,
                metadata_keys: std::ptr::null(),
                metadata_values: std::ptr::null(),
                metadata_count: 0,
            },
        );
        Ok(())
    })
}

/// An object store bucket, from `nats_jetstream_object_store_create` or `_bind`; →
/// `nats_object_store_free`. Thread safe.
///
/// Functions: `nats_jetstream_object_store_create`, `nats_jetstream_object_store_bind`,
/// `nats_object_store_put`, `nats_object_store_put_fd`, `nats_object_store_get`,
/// `nats_object_store_get_fd`, `nats_object_store_put_stream`, `nats_object_store_get_stream`,
/// `nats_object_store_add_link`, `nats_object_store_add_bucket_link`,
/// `nats_object_store_info`, `nats_object_store_list`,
/// `nats_object_store_delete`, `nats_object_store_update_meta`, `nats_object_store_status`,
/// `nats_object_store_watch`,
/// `nats_object_store_free`.
pub struct nats_object_store {
    _private: [u8; 0],
}

// C owns a `nats_object_store` with one owner: created and freed through a Box (see
// capi::handle).
impl Castable for nats_object_store {
    type Rust = ObjectStore;
}
impl BoxHandle for nats_object_store {}

/// What an object is stored with. Zero-initialize it (`= {0}`), then set `name`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_object_meta {
    /// The object's name (required; any text without CR, LF or NUL).
    pub name: *const c_char,
    /// A description; NULL for none.
    pub description: *const c_char,
    /// Bytes per chunk, at most the server's max payload; 0: 128 KiB. A put holds about one
    /// chunk in memory at a time.
    pub chunk_size: usize,
    /// Metadata: `metadata_count` keys and as many values (NULL/0: none).
    pub metadata_keys: *const *const c_char,
    /// The values, in the order of `metadata_keys`.
    pub metadata_values: *const *const c_char,
    /// Number of metadata entries.
    pub metadata_count: usize,
}

fn object_meta(m: &nats_object_meta) -> Result<ObjectMetadata> {
    Ok(ObjectMetadata {
        name: str_arg(m.name, "meta.name")?.to_string(),
        description: opt_str_arg(m.description, "meta.description")?.map(str::to_string),
        chunk_size: (m.chunk_size != 0).then_some(m.chunk_size),
        metadata: metadata_arg(m.metadata_keys, m.metadata_values, m.metadata_count, "meta.metadata")?,
        headers: None,
    })
}

/// An object's info, a struct C reads directly; → `nats_object_info_free`. Strings and
/// arrays are owned by it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_object_info {
    /// The object's name.
    pub name: *const c_char,
    /// Its description; NULL for none.
    pub description: *const c_char,
    /// The bucket.
    pub bucket: *const c_char,
    /// The unique id of this version of the object (its chunks' subject).
    pub nuid: *const c_char,
    /// `SHA-256=` and the base64 (URL-safe) SHA-256 of the data; "" for none.
    pub digest: *const c_char,
    /// Bytes.
    pub size: u64,
    /// Chunks it is stored in.
    pub chunks: u64,
    /// When it was stored, ns since the Unix epoch (0: unknown).
    pub modified_ns: i64,
    /// The object was deleted (its info stays, marked so).
    pub deleted: bool,
    /// Metadata keys (sorted), `metadata_count` of them.
    pub metadata_keys: *const *const c_char,
    /// The values, in the order of `metadata_keys`.
    pub metadata_values: *const *const c_char,
    /// Number of metadata entries.
    pub metadata_count: usize,
    /// A link: the bucket it points into; NULL for an object with data of its own.
    pub link_bucket: *const c_char,
    /// A link to an object: its name; NULL for a link to a whole bucket (or no link).
    pub link_name: *const c_char,
}

fn info_raw(i: &ObjectInfo) -> *mut nats_object_info {
    let mut arena = CArena::default();
    let (metadata_keys, metadata_values, metadata_count) = arena.metadata(&i.metadata);
    let link = i.options.as_ref().and_then(|o| o.link.as_ref());
    let info = nats_object_info {
        name: arena.text(&i.name),
        description: arena.opt_text(i.description.as_deref()),
        bucket: arena.text(&i.bucket),
        nuid: arena.text(&i.nuid),
        digest: arena.text(i.digest.as_deref().unwrap_or("")),
        size: i.size as u64,
        chunks: i.chunks as u64,
        modified_ns: i.modified.map_or(0, nanos_since_epoch),
        deleted: i.deleted,
        metadata_keys,
        metadata_values,
        metadata_count,
        link_bucket: arena.opt_text(link.map(|l| l.bucket.as_str())),
        link_name: arena.opt_text(link.and_then(|l| l.name.as_deref())),
    };
    owned_raw(info, arena)
}

/// Writes an info through an optional out-parameter.
fn info_out(out: *mut *mut nats_object_info, i: &ObjectInfo) {
    if !out.is_null() {
        write_out(out, info_raw(i));
    }
}

/// Frees an info from this library. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_object_info_free(info: *mut nats_object_info) {
    // The header lets only infos this library handed out come back, once.
    guard_void(|| free_owned(info))
}

/// Frees an array from `nats_object_store_list` and the infos in it. NULL is a no-op;
/// `count` must be the count returned with it.
#[no_mangle]
pub unsafe extern "C" fn nats_object_infos_free(infos: *mut *mut nats_object_info, count: usize) {
    guard_void(|| {
        if !infos.is_null() {
            // SAFETY: an array from `nats_object_store_list` with its count, given back once.
            let list = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(infos, count)) };
            for &i in list.iter() {
                // SAFETY: as above; NULL entries are skipped by the callee.
                unsafe { nats_object_info_free(i) };
            }
        }
    })
}

/// Creates a bucket (fine when an identical one exists) and writes its handle to `*os`.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT` (bad
/// name, storage), `NATS_ERR_JETSTREAM` (refused: another bucket of that name, limits),
/// `NATS_ERR_NO_RESPONDERS`, `NATS_ERR_TIMEOUT`, `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_object_store_create(
    js: *mut nats_jetstream,
    cfg: *const nats_object_store_config,
    os: *mut *mut nats_object_store,
) -> nats_status {
    guard(|| {
        let j = clone_arc(js, "js")?;
        let c = struct_arg(cfg, "cfg")?;
        out_arg(os, "os")?;
        let config = Config {
            bucket: str_arg(c.bucket, "cfg.bucket")?.to_string(),
            description: opt_str_arg(c.description, "cfg.description")?.map(str::to_string),
            max_age: Duration::from_millis(c.ttl_ms),
            max_bytes: c.max_bytes,
            storage: storage_type(c.storage, "cfg.storage")?,
            num_replicas: c.replicas.max(1) as usize,
            compression: c.compression,
            placement: None,
        };
        let metadata = metadata_arg(c.metadata_keys, c.metadata_values, c.metadata_count, "cfg.metadata")?;
        box_out(os, j.object_store_create(config, metadata)?);
        Ok(())
    })
}

/// Binds to an existing bucket. Errors: `NATS_ERR_NOT_FOUND`, else as
/// `nats_jetstream_object_store_create`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_object_store_bind(
    js: *mut nats_jetstream,
    bucket: *const c_char,
    os: *mut *mut nats_object_store,
) -> nats_status {
    guard(|| {
        let j = clone_arc(js, "js")?;
        let bucket = str_arg(bucket, "bucket")?;
        out_arg(os, "os")?;
        box_out(os, j.object_store_bind(bucket)?);
        Ok(())
    })
}

/// Deletes bucket `bucket` and every object in it. Errors: `NATS_ERR_NOT_FOUND`, else as
/// `nats_jetstream_object_store_create`.
#[no_mangle]
pub unsafe extern "C" fn nats_jetstream_object_store_delete(
    js: *mut nats_jetstream,
    bucket: *const c_char,
) -> nats_status {
    guard(|| borrow(js, "js")?.object_store_delete(str_arg(bucket, "bucket")?))
}

/// Releases the handle (the bucket stays). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_free(os: *mut nats_object_store) {
    guard_void(|| free_box(os))
}

/// Stores `len` bytes at `data` as object `meta->name` (replacing one of that name), in
/// chunks of `meta->chunk_size`, each acknowledged by the server; writes its info to `*info`
/// unless NULL (→ `nats_object_info_free`). Blocks until stored; each chunk waits at most the
/// context's timeout for its acknowledgement. Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT` (name, chunk size), `NATS_ERR_JETSTREAM` (refused,
/// e.g. the bucket is full), `NATS_ERR_NO_RESPONDERS`, `NATS_ERR_TIMEOUT`,
/// `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_put(
    os: *mut nats_object_store,
    meta: *const nats_object_meta,
    data: *const c_void,
    len: usize,
    info: *mut *mut nats_object_info,
) -> nats_status {
    guard(|| {
        let s = borrow(os, "os")?;
        let meta = object_meta(struct_arg(meta, "meta")?)?;
        let data = bytes_arg(data, len, "data")?;
        info_out(info, &s.put_bytes(meta, data)?);
        Ok(())
    })
}

/// A file of C's own: a duplicate of `fd`, so that the library closes only its copy.
fn dup_fd(fd: c_int) -> Result<std::fs::File> {
    // SAFETY: dup has no memory preconditions; a bad fd gives -1.
    let copy = unsafe { libc::dup(fd) };
    if copy < 0 {
        return Err(Error::new(ErrorKind::Io, format!("fd {fd}: {}", std::io::Error::last_os_error())));
    }
    // SAFETY: `copy` is a new descriptor this library owns from here on.
    Ok(unsafe { std::fs::File::from_raw_fd(copy) })
}

/// As `nats_object_store_put`, with the data read from `fd` until end of file (a file, a
/// pipe or a socket; read from where it stands, not closed). Memory holds about one chunk at
/// a time, whatever the object's size. Errors: as `nats_object_store_put`; `NATS_ERR_IO`
/// (`fd` is not open or cannot be read).
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_put_fd(
    os: *mut nats_object_store,
    meta: *const nats_object_meta,
    fd: c_int,
    info: *mut *mut nats_object_info,
) -> nats_status {
    guard(|| {
        let s = borrow(os, "os")?;
        let meta = object_meta(struct_arg(meta, "meta")?)?;
        info_out(info, &s.put_from("nats_object_store_put_fd", meta, dup_fd(fd)?)?);
        Ok(())
    })
}

/// Reads an object's data from C: `read(user_data, buf, cap)` fills up to `cap` bytes and
/// returns how many, 0 at the end, or a negative number for an error (the put fails with
/// `NATS_ERR_IO`). Called on the thread of `nats_object_store_put_stream`, one chunk's worth
/// at a time, until it returns 0.
pub type nats_object_read_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, buf: *mut c_void, cap: usize) -> i64>;

/// Takes an object's data into C: `write(user_data, data, len)` returns 0 to go on, anything
/// else to stop (the get fails with `NATS_ERR_IO`). Called on the thread of
/// `nats_object_store_get_stream`, once per chunk, in order.
pub type nats_object_write_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, data: *const c_void, len: usize) -> c_int>;

/// The caller's read callback as a reader.
struct CReader {
    f: unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> i64,
    user_data: *mut c_void,
}

impl std::io::Read for CReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // SAFETY: the caller's callback with its pointer and a buffer of `buf.len()` bytes.
        let n = unsafe { (self.f)(self.user_data, buf.as_mut_ptr().cast(), buf.len()) };
        match usize::try_from(n) {
            Ok(n) if n <= buf.len() => Ok(n),
            Ok(n) => Err(std::io::Error::other(format!("the read callback returned {n} for {} bytes", buf.len()))),
            Err(_) => Err(std::io::Error::other(format!("the read callback failed ({n})"))),
        }
    }
}

/// The caller's write callback as a writer.
struct CWriter {
    f: unsafe extern "C" fn(*mut c_void, *const c_void, usize) -> c_int,
    user_data: *mut c_void,
}

impl std::io::Write for CWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        // SAFETY: the caller's callback with its pointer and `data.len()` readable bytes.
        match unsafe { (self.f)(self.user_data, data.as_ptr().cast(), data.len()) } {
            0 => Ok(data.len()),
            code => Err(std::io::Error::other(format!("the write callback stopped the read ({code})"))),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// As `nats_object_store_put_fd`, with the data pulled from `read` (see
/// `nats_object_read_callback`) on the calling thread: for data made as it is stored
/// (compressed, encrypted, assembled from parts). Errors: as `nats_object_store_put_fd`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_put_stream(
    os: *mut nats_object_store,
    meta: *const nats_object_meta,
    read: nats_object_read_callback,
    user_data: *mut c_void,
    info: *mut *mut nats_object_info,
) -> nats_status {
    guard(|| {
        let s = borrow(os, "os")?;
        let meta = object_meta(struct_arg(meta, "meta")?)?;
        let f = read.ok_or_else(|| null("read"))?;
        info_out(info, &s.put_from("nats_object_store_put_stream", meta, CReader { f, user_data })?);
        Ok(())
    })
}

/// As `nats_object_store_get_fd`, handing each chunk to `write` (see
/// `nats_object_write_callback`) on the calling thread; the digest is checked after the last
/// one, so a failure status means the data handed over must not be trusted.
/// Errors: as `nats_object_store_get_fd`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_get_stream(
    os: *mut nats_object_store,
    name: *const c_char,
    write: nats_object_write_callback,
    user_data: *mut c_void,
    info: *mut *mut nats_object_info,
) -> nats_status {
    guard(|| {
        let s = borrow(os, "os")?;
        let name = str_arg(name, "name")?;
        let f = write.ok_or_else(|| null("write"))?;
        info_out(info, &s.get_to("nats_object_store_get_stream", name, CWriter { f, user_data })?);
        Ok(())
    })
}

/// Adds object `name`, a link to object `target` of the same bucket: reading `name` reads
/// `target` (one level deep). Writes the link's info to `*info` unless NULL.
/// Errors: `NATS_ERR_NOT_FOUND` (no `target`), `NATS_ERR_JETSTREAM` (`name` holds data),
/// else as `nats_object_store_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_add_link(
    os: *mut nats_object_store,
    name: *const c_char,
    target: *const c_char,
    info: *mut *mut nats_object_info,
) -> nats_status {
    guard(|| {
        let s = borrow(os, "os")?;
        let i = s.add_link(str_arg(name, "name")?, str_arg(target, "target")?)?;
        info_out(info, &i);
        Ok(())
    })
}

/// Adds object `name`, a link to bucket `bucket` (it has no data of its own: reading it is
/// `NATS_ERR_INVALID_ARGUMENT`; its info names the bucket). Errors: as
/// `nats_object_store_add_link`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_add_bucket_link(
    os: *mut nats_object_store,
    name: *const c_char,
    bucket: *const c_char,
    info: *mut *mut nats_object_info,
) -> nats_status {
    guard(|| {
        let s = borrow(os, "os")?;
        let i = s.add_bucket_link(str_arg(name, "name")?, str_arg(bucket, "bucket")?)?;
        info_out(info, &i);
        Ok(())
    })
}

/// Reads object `name` into a new buffer: writes it to `*data` (→ `nats_bytes_free`; NULL for
/// an empty object) and its length to `*len`, and its info to `*info` unless NULL. The data's
/// SHA-256 is checked against the object's digest. Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_NOT_FOUND` (no such object, or it was deleted), `NATS_ERR_JETSTREAM` (the data
/// does not match its digest: corrupted or truncated), `NATS_ERR_TIMEOUT` (a chunk did not
/// arrive within the context's timeout), else as `nats_object_store_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_get(
    os: *mut nats_object_store,
    name: *const c_char,
    data: *mut *mut c_void,
    len: *mut usize,
    info: *mut *mut nats_object_info,
) -> nats_status {
    guard(|| {
        let s = borrow(os, "os")?;
        let name = str_arg(name, "name")?;
        out_arg(data, "data")?;
        out_arg(len, "len")?;
        let (bytes, i) = s.get_bytes(name)?;
        let buf = if bytes.is_empty() {
            std::ptr::null_mut()
        } else {
            // SAFETY: malloc has no preconditions; its block is released by nats_bytes_free.
            let p = unsafe { libc::malloc(bytes.len()) };
            if p.is_null() {
                return Err(Error::new(ErrorKind::Internal, format!("out of memory for {} bytes", bytes.len())));
            }
            // SAFETY: `p` has room for `bytes.len()` bytes and does not overlap `bytes`.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.cast::<u8>(), bytes.len()) };
            p
        };
        write_out(data, buf);
        write_out(len, bytes.len());
        info_out(info, &i);
        Ok(())
    })
}

/// Frees a buffer this library handed out (`nats_object_store_get`). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_bytes_free(data: *mut c_void) {
    guard_void(|| {
        // SAFETY: the header lets only buffers from this library (malloc'd) come back, once.
        unsafe { libc::free(data) }
    })
}

/// As `nats_object_store_get`, writing the data to `fd` as it arrives (a file, a pipe or a
/// socket; at its position, not closed): memory holds about one chunk at a time. On a digest
/// mismatch the data was written already: the status says not to trust it. Errors: as
/// `nats_object_store_get`; `NATS_ERR_IO` (`fd` cannot be written).
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_get_fd(
    os: *mut nats_object_store,
    name: *const c_char,
    fd: c_int,
    info: *mut *mut nats_object_info,
) -> nats_status {
    guard(|| {
        let s = borrow(os, "os")?;
        let name = str_arg(name, "name")?;
        info_out(info, &s.get_to("nats_object_store_get_fd", name, dup_fd(fd)?)?);
        Ok(())
    })
}

/// Writes the info of object `name` to `*info` (also of a deleted one: `deleted` is set).
/// Errors: `NATS_ERR_NOT_FOUND`, else as `nats_object_store_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_info(
    os: *mut nats_object_store,
    name: *const c_char,
    info: *mut *mut nats_object_info,
) -> nats_status {
    guard(|| {
        let s = borrow(os, "os")?;
        let name = str_arg(name, "name")?;
        out_arg(info, "info")?;
        info_out(info, &s.info(name)?);
        Ok(())
    })
}

/// Writes the info of every object in the bucket (deleted ones left out) to `*infos`, an
/// array of `*count` (→ `nats_object_infos_free(infos, count)`; NULL and 0 when empty).
/// Errors: `NATS_ERR_NOT_FOUND` (the bucket was deleted), else as `nats_object_store_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_list(
    os: *mut nats_object_store,
    infos: *mut *mut *mut nats_object_info,
    count: *mut usize,
) -> nats_status {
    guard(|| {
        let s = borrow(os, "os")?;
        out_arg(infos, "infos")?;
        out_arg(count, "count")?;
        let list: Vec<*mut nats_object_info> = s.list()?.iter().map(info_raw).collect();
        let n = list.len();
        let p = if n == 0 { std::ptr::null_mut() } else { Box::into_raw(list.into_boxed_slice()).cast() };
        write_out(infos, p);
        write_out(count, n);
        Ok(())
    })
}

/// Deletes object `name`: its chunks are removed, its info stays marked deleted.
/// Errors: `NATS_ERR_NOT_FOUND`, else as `nats_object_store_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_delete(os: *mut nats_object_store, name: *const c_char) -> nats_status {
    guard(|| borrow(os, "os")?.delete(str_arg(name, "name")?))
}

/// Renames object `name` to `meta->name` (the same name keeps it) and replaces its
/// description and metadata; the data is not touched (`meta->chunk_size` is ignored). Writes
/// the new info to `*info` unless NULL. Errors: `NATS_ERR_NOT_FOUND`,
/// `NATS_ERR_JETSTREAM` (the new name is taken), else as `nats_object_store_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_update_meta(
    os: *mut nats_object_store,
    name: *const c_char,
    meta: *const nats_object_meta,
    info: *mut *mut nats_object_info,
) -> nats_status {
    guard(|| {
        let s = borrow(os, "os")?;
        let name = str_arg(name, "name")?;
        let m = object_meta(struct_arg(meta, "meta")?)?;
        let update = UpdateMetadata { name: m.name, description: m.description, metadata: m.metadata, headers: None };
        info_out(info, &s.update_meta(name, update)?);
        Ok(())
    })
}

/// A bucket's state, from `nats_object_store_status`; `bucket` is borrowed from the handle.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nats_object_store_state {
    /// The bucket's name.
    pub bucket: *const c_char,
    /// Bytes stored (chunks and infos).
    pub size: u64,
    /// How long objects live, ms; 0: forever.
    pub ttl_ms: u64,
    /// A `nats_storage` value.
    pub storage: i32,
    /// Replicas.
    pub replicas: u32,
    /// The bucket is sealed (read only).
    pub sealed: bool,
    /// The bucket's stream is compressed.
    pub compressed: bool,
}

/// Writes the bucket's state to `*status`. Errors: `NATS_ERR_NOT_FOUND` (the bucket was
/// deleted), else as `nats_object_store_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_status(
    os: *mut nats_object_store,
    status: *mut nats_object_store_state,
) -> nats_status {
    guard(|| {
        let s = borrow(os, "os")?;
        out_arg(status, "status")?;
        let st = s.status()?;
        write_out(
            status,
            nats_object_store_state {
                bucket: s.bucket_nul().as_ptr().cast(),
                size: st.size,
                ttl_ms: millis(st.ttl),
                storage: if st.memory { nats_storage::NATS_STORAGE_MEMORY } else { nats_storage::NATS_STORAGE_FILE }
                    as i32,
                replicas: u32::try_from(st.replicas).unwrap_or(u32::MAX),
                sealed: st.sealed,
                compressed: st.compressed,
            },
        );
        Ok(())
    })
}

/// Watch callback: `user_data` and an object's info (borrowed until the callback returns) as
/// it is put, updated or deleted (`deleted` set). Runs on the watch's lane (a thread of its
/// own, the shared pool or the dispatcher), one at a time, in order; it may call any function
/// of this library. Must not throw.
pub type nats_object_watch_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, info: *const nats_object_info)>;

type ObjectWatchFn = unsafe extern "C" fn(*mut c_void, *const nats_object_info);

/// A running watch from `nats_object_store_watch`; → `nats_object_watcher_free`.
///
/// Functions: `nats_object_store_watch`, `nats_object_watcher_stop`, `nats_object_watcher_free`.
pub struct nats_object_watcher {
    _private: [u8; 0],
}

// C owns a `nats_object_watcher` with one owner: created and freed through a Box (see
// capi::handle).
impl Castable for nats_object_watcher {
    type Rust = Watcher<ObjectInfo>;
}
impl BoxHandle for nats_object_watcher {}

/// A `nats_object_watch_callback` with its `user_data` and release function.
struct CObjectWatchHandler(CCallback<ObjectWatchFn>);

impl WatchHandler<ObjectInfo> for CObjectWatchHandler {
    fn accepted(&mut self) {
        self.0.own();
    }

    fn on_entry(&mut self, info: ObjectInfo) {
        let raw = info_raw(&info);
        // SAFETY: the user's callback with the user's pointer; the info lives for the call.
        unsafe { (self.0.f())(self.0.user_data(), raw) };
        // SAFETY: made just above, freed once.
        unsafe { nats_object_info_free(raw) };
    }
}

/// Watches the bucket: `cb(user_data, info)` for each object put, updated or deleted from
/// now on; with `include_history`, first for every object the bucket holds (deleted ones
/// included, marked so). `user_data_free` (may be NULL) runs once after the last callback,
/// when the watcher is stopped. Errors: `NATS_ERR_NULL_ARGUMENT` (os, cb, out),
/// `NATS_ERR_NOT_FOUND` (the bucket was deleted), else as `nats_object_store_put`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_store_watch(
    os: *mut nats_object_store,
    include_history: bool,
    cb: nats_object_watch_callback,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
    out: *mut *mut nats_object_watcher,
) -> nats_status {
    guard(|| {
        let s = borrow(os, "os")?;
        let cb = cb.ok_or_else(|| null("cb"))?;
        out_arg(out, "out")?;
        let handler = Box::new(CObjectWatchHandler(CCallback::new(cb, user_data, user_data_free)));
        box_out(out, s.watch(include_history, handler)?);
        Ok(())
    })
}

/// Stops the watcher: waits for a running callback to return (unless called from it); no
/// callback starts after this returns; then `user_data_free` runs. Stopping twice is fine.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_object_watcher_stop(w: *mut nats_object_watcher) -> nats_status {
    guard(|| {
        borrow(w, "w")?.stop();
        Ok(())
    })
}

/// Stops the watcher (if running) and frees it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_object_watcher_free(w: *mut nats_object_watcher) {
    guard_void(|| {
        if let Some(w) = take_box(w) {
            w.stop();
        }
    })
}
