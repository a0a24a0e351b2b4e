//! The object store from C: buckets, objects put from a buffer or a file descriptor and read
//! back into either (large ones with memory bounded by the chunk size), info, list, delete,
//! metadata, status; a truncated or corrupted object is an error; objects written by
//! async-nats' own object store read back here and the other way round.

mod common;
use common::js::*;
use common::*;
use nats_ffi::*;
use std::ffi::{c_char, c_void, CStr};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::ptr::{null, null_mut};

fn text(p: *const c_char) -> String {
    assert!(!p.is_null());
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string()
}

/// A bucket handle, freed on drop.
struct Os(*mut nats_object_store);

impl Drop for Os {
    fn drop(&mut self) {
        unsafe { nats_object_store_free(self.0) };
    }
}

fn bucket(j: &Js, name: &str, storage: nats_storage) -> Os {
    let n = cs(name);
    let mut cfg = std::mem::MaybeUninit::uninit();
    ok(unsafe { nats_object_store_config_init(cfg.as_mut_ptr()) });
    let mut cfg = unsafe { cfg.assume_init() };
    cfg.bucket = n.as_ptr();
    cfg.storage = storage as i32;
    let mut os = null_mut();
    ok(unsafe { nats_jetstream_object_store_create(j.raw(), &cfg, &mut os) });
    Os(os)
}

fn meta(name: &std::ffi::CString, chunk_size: usize) -> nats_object_meta {
    nats_object_meta {
        name: name.as_ptr(),
        description: null(),
        chunk_size,
        metadata_keys: null(),
        metadata_values: null(),
        metadata_count: 0,
    }
}

/// An info, freed on drop.
struct Info(*mut nats_object_info);

impl Info {
    fn get(&self) -> &nats_object_info {
        unsafe { &*self.0 }
    }
}

impl Drop for Info {
    fn drop(&mut self) {
        unsafe { nats_object_info_free(self.0) };
    }
}

fn put(os: &Os, name: &str, data: &[u8], chunk_size: usize) -> Info {
    let n = cs(name);
    let mut info = null_mut();
    ok(unsafe { nats_object_store_put(os.0, &meta(&n, chunk_size), data.as_ptr().cast(), data.len(), &mut info) });
    Info(info)
}

fn get(os: &Os, name: &str) -> Result<Vec<u8>, nats_status> {
    let n = cs(name);
    let (mut data, mut len) = (null_mut::<c_void>(), 0usize);
    match unsafe { nats_object_store_get(os.0, n.as_ptr(), &mut data, &mut len, null_mut()) } {
        NATS_OK => {
            let v = if len == 0 {
                Vec::new()
            } else {
                unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }.to_vec()
            };
            unsafe { nats_bytes_free(data) };
            Ok(v)
        }
        st => Err(st),
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

/// Put, get, info, list, update metadata, delete and status of a bucket, with chunking.
#[test]
fn objects_put_get_info_list_update_delete() {
    let (_srv, _c, j) = js_setup();
    let os = bucket(&j, "mailbodies", nats_storage::NATS_STORAGE_MEMORY);
    let body = pattern(300_000, 7);
    let info = put(&os, "msg-1.eml", &body, 64 * 1024);
    let i = info.get();
    assert_eq!((text(i.name), text(i.bucket), i.size, i.chunks), ("msg-1.eml".into(), "mailbodies".into(), 300_000, 5));
    assert!(text(i.digest).starts_with("SHA-256="), "{}", text(i.digest));
    assert!(i.modified_ns > 0 && !i.deleted && i.description.is_null());
    assert_eq!(get(&os, "msg-1.eml").unwrap(), body);
    // Empty objects and names with spaces and slashes.
    put(&os, "empty", b"", 0);
    assert_eq!(get(&os, "empty").unwrap(), Vec::<u8>::new());
    let odd = "inbox/2026 12/03 — résumé.eml";
    put(&os, odd, b"hello", 0);
    assert_eq!(get(&os, odd).unwrap(), b"hello");
    // Replacing keeps one object of that name.
    put(&os, "msg-1.eml", b"short now", 0);
    assert_eq!(get(&os, "msg-1.eml").unwrap(), b"short now");

    let (mut list, mut n) = (null_mut(), 0);
    ok(unsafe { nats_object_store_list(os.0, &mut list, &mut n) });
    let mut names: Vec<String> = (0..n).map(|k| text(unsafe { (**list.add(k)).name })).collect();
    names.sort();
    assert_eq!(names, ["empty", "inbox/2026 12/03 — résumé.eml", "msg-1.eml"]);
    unsafe { nats_object_infos_free(list, n) };

    // Rename with a description and metadata; the data stays.
    let (new_name, desc, k, v) = (cs("archived/msg-1.eml"), cs("from relay 3"), cs("queue"), cs("bounces"));
    let (keys, values) = ([k.as_ptr()], [v.as_ptr()]);
    let m = nats_object_meta {
        description: desc.as_ptr(),
        metadata_keys: keys.as_ptr(),
        metadata_values: values.as_ptr(),
        metadata_count: 1,
        ..meta(&new_name, 0)
    };
    let mut updated = null_mut();
    ok(unsafe { nats_object_store_update_meta(os.0, cs("msg-1.eml").as_ptr(), &m, &mut updated) });
    let updated = Info(updated);
    let u = updated.get();
    assert_eq!(
        (text(u.name), text(u.description), u.metadata_count),
        ("archived/msg-1.eml".into(), "from relay 3".into(), 1)
    );
    assert_eq!(
        (text(unsafe { *u.metadata_keys }), text(unsafe { *u.metadata_values })),
        ("queue".into(), "bounces".into())
    );
    assert_eq!(get(&os, "archived/msg-1.eml").unwrap(), b"short now");
    check(get(&os, "msg-1.eml").unwrap_err(), NATS_ERR_NOT_FOUND);

    // Delete: gone for get, info marked deleted, left out of the list.
    ok(unsafe { nats_object_store_delete(os.0, cs("empty").as_ptr()) });
    check(get(&os, "empty").unwrap_err(), NATS_ERR_NOT_FOUND);
    let mut di = null_mut();
    ok(unsafe { nats_object_store_info(os.0, cs("empty").as_ptr(), &mut di) });
    assert!(Info(di).get().deleted);
    check(unsafe { nats_object_store_delete(os.0, cs("never").as_ptr()) }, NATS_ERR_NOT_FOUND);
    let mut st = std::mem::MaybeUninit::uninit();
    ok(unsafe { nats_object_store_status(os.0, st.as_mut_ptr()) });
    let st = unsafe { st.assume_init() };
    assert_eq!(
        (text(st.bucket), st.storage, st.replicas, st.sealed),
        ("mailbodies".into(), nats_storage::NATS_STORAGE_MEMORY as i32, 1, false)
    );
    assert!(st.size > 0);

    // Bind, and bad input.
    let mut bound = null_mut();
    ok(unsafe { nats_jetstream_object_store_bind(j.raw(), cs("mailbodies").as_ptr(), &mut bound) });
    let bound = Os(bound);
    assert_eq!(get(&bound, odd).unwrap(), b"hello");
    let mut none = null_mut();
    check(unsafe { nats_jetstream_object_store_bind(j.raw(), cs("nope").as_ptr(), &mut none) }, NATS_ERR_NOT_FOUND);
    check(
        unsafe { nats_jetstream_object_store_bind(j.raw(), cs("a b").as_ptr(), &mut none) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    let bad = cs("line\nbreak");
    check(unsafe { nats_object_store_put(os.0, &meta(&bad, 0), null(), 0, null_mut()) }, NATS_ERR_INVALID_ARGUMENT);
    check(unsafe { nats_object_store_put(os.0, null(), null(), 0, null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    // A chunk is one message: larger than the server's max payload is refused up front (a
    // huge size once panicked allocating its buffer).
    let huge = cs("huge");
    for size in [usize::MAX, (1 << 20) + 1] {
        check(
            unsafe { nats_object_store_put(os.0, &meta(&huge, size), b"x".as_ptr().cast(), 1, null_mut()) },
            NATS_ERR_INVALID_ARGUMENT,
        );
    }
    put(&os, "max chunk", &pattern(3 << 20, 4), 1 << 20);
    ok(unsafe { nats_jetstream_object_store_delete(j.raw(), cs("mailbodies").as_ptr()) });
    check(get(&bound, odd).unwrap_err(), NATS_ERR_NOT_FOUND);
}

/// The process's resident memory high-water mark, in bytes, since `reset_peak`.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

/// 96 MiB through file descriptors (a temp file in, another out): byte-exact, and the
/// process's memory peak grows by far less than the object. Measured in a child process of
/// its own (the test binary again, this test only), away from the other tests' memory.
#[test]
fn a_large_object_through_file_descriptors_in_bounded_memory() {
    if std::env::var_os("NATS_FFI_OBJECT_CHILD").is_none() {
        let me = std::env::current_exe().unwrap();
        let o = std::process::Command::new(me)
            .args(["a_large_object_through_file_descriptors_in_bounded_memory", "--exact", "--nocapture"])
            .env("NATS_FFI_OBJECT_CHILD", "1")
            .output()
            .unwrap();
        let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(o.status.success() && out.contains("1 passed"), "{out}");
        eprintln!("{}", out.lines().find(|l| l.starts_with("object:")).unwrap_or(""));
        return;
    }
    let (_srv, _c, j) = js_setup();
    let os = bucket(&j, "large", nats_storage::NATS_STORAGE_FILE);
    let mib = 96;
    let mut src = tempfile::tempfile().unwrap();
    let block = pattern(1 << 20, 3);
    for k in 0..mib {
        let mut b = block.clone();
        b[0] = k as u8;
        src.write_all(&b).unwrap();
    }
    src.rewind().unwrap();
    let name = cs("big.bin");
    reset_peak();
    let before = peak_rss();
    let t = std::time::Instant::now();
    let mut info = null_mut();
    ok(unsafe { nats_object_store_put_fd(os.0, &meta(&name, 0), src.as_raw_fd(), &mut info) });
    let put_time = t.elapsed();
    let info = Info(info);
    assert_eq!((info.get().size, info.get().chunks), ((mib as u64) << 20, (mib as u64) * 8));
    let mut dst = tempfile::tempfile().unwrap();
    let t = std::time::Instant::now();
    ok(unsafe { nats_object_store_get_fd(os.0, name.as_ptr(), dst.as_raw_fd(), null_mut()) });
    let get_time = t.elapsed();
    let grew = peak_rss().saturating_sub(before);
    println!("object: {mib} MiB put in {put_time:?}, read back in {get_time:?}; memory peak +{} KiB", grew >> 10);
    assert!(grew < 32 << 20, "memory peak grew by {} MiB for a {mib} MiB object", grew >> 20);
    // The descriptors stay open, at their end.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    src.rewind().unwrap();
    dst.rewind().unwrap();
    src.read_to_end(&mut a).unwrap();
    dst.read_to_end(&mut b).unwrap();
    assert!(a == b, "byte-exact round trip");
    check(unsafe { nats_object_store_put_fd(os.0, &meta(&name, 0), -1, null_mut()) }, NATS_ERR_IO);
}

/// Removing one chunk (truncated) or adding one (corrupted) makes the read fail on the digest
/// instead of returning wrong data.
#[test]
fn truncated_or_corrupted_objects_fail_their_digest() {
    let (_srv, c, j) = js_setup();
    let os = bucket(&j, "checked", nats_storage::NATS_STORAGE_MEMORY);
    let data = pattern(3 * 1024, 9);
    let info = put(&os, "a", &data, 1024); // chunks at stream sequences 1, 2, 3; info at 4
    assert_eq!(info.get().chunks, 3);
    let nuid = text(info.get().nuid);
    ok(unsafe { nats_jetstream_stream_delete_msg(j.raw(), cs("OBJ_checked").as_ptr(), 2) });
    let st = get(&os, "a").unwrap_err();
    check(st, NATS_ERR_JETSTREAM);
    assert!(last_error().contains("digest"), "{}", last_error());

    let info = put(&os, "b", &data, 1024);
    let nuid_b = text(info.get().nuid);
    assert_ne!(nuid, nuid_b);
    // A chunk the object never had, on its chunk subject.
    ok(c.publish(&format!("$O.checked.C.{nuid_b}"), b"intruder"));
    c.flush();
    match get(&os, "b") {
        Ok(v) => assert_eq!(v, data, "read what was put, or fail"),
        Err(st) => check(st, NATS_ERR_JETSTREAM),
    }
}

/// An object written by async-nats' own object store reads back here, and one written here
/// reads back with async-nats.
#[test]
fn objects_interoperate_with_async_nats() {
    let (srv, _c, j) = js_setup();
    let os = bucket(&j, "shared", nats_storage::NATS_STORAGE_FILE);
    let ours = pattern(200_000, 1);
    put(&os, "from-c", &ours, 0);
    let theirs = pattern(150_000, 2);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let read_back = rt.block_on(async {
        use tokio::io::AsyncReadExt;
        let client = async_nats::connect(srv.url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let store = js.get_object_store("shared").await.unwrap();
        store.put("from-rust", &mut theirs.as_slice()).await.unwrap();
        let mut object = store.get("from-c").await.unwrap();
        let mut got = Vec::new();
        object.read_to_end(&mut got).await.unwrap();
        got
    });
    assert!(read_back == ours, "async-nats read what the C API wrote");
    assert!(get(&os, "from-rust").unwrap() == theirs, "the C API read what async-nats wrote");
}

/// What the streaming callbacks see and do.
struct Feed {
    source: Vec<u8>,
    at: usize,
    /// The read callback fails once this much was read (`usize::MAX`: never).
    fail_at: usize,
    sink: Vec<u8>,
    calls: usize,
    /// The write callback stops at this call (`usize::MAX`: never).
    stop_at: usize,
}

unsafe extern "C" fn feed_read(ud: *mut c_void, buf: *mut c_void, cap: usize) -> i64 {
    let f = &mut *(ud as *mut Feed);
    if f.at >= f.fail_at {
        return -5;
    }
    let n = cap.min(f.source.len() - f.at).min(10_000); // short reads, as a socket gives
    std::ptr::copy_nonoverlapping(f.source[f.at..].as_ptr(), buf.cast::<u8>(), n);
    f.at += n;
    n as i64
}

unsafe extern "C" fn feed_write(ud: *mut c_void, data: *const c_void, len: usize) -> i32 {
    let f = &mut *(ud as *mut Feed);
    f.calls += 1;
    if f.calls >= f.stop_at {
        return 1;
    }
    f.sink.extend_from_slice(std::slice::from_raw_parts(data.cast::<u8>(), len));
    0
}

fn feed(source: Vec<u8>) -> Feed {
    Feed { source, at: 0, fail_at: usize::MAX, sink: Vec::new(), calls: 0, stop_at: usize::MAX }
}

/// Data pulled from a read callback and pushed to a write callback, chunk by chunk; a failing
/// read fails the put (nothing stored), a write callback can stop the get; links to an object
/// read through, a link to a bucket has no data.
#[test]
fn streamed_through_callbacks_and_links() {
    let (_srv, _c, j) = js_setup();
    let os = bucket(&j, "streamed", nats_storage::NATS_STORAGE_MEMORY);
    let name = cs("report.csv");
    let mut f = feed(pattern(250_000, 5));
    let mut info = null_mut();
    ok(unsafe {
        nats_object_store_put_stream(
            os.0,
            &meta(&name, 50_000),
            Some(feed_read),
            (&mut f as *mut Feed).cast(),
            &mut info,
        )
    });
    let info = Info(info);
    assert_eq!((info.get().size, info.get().chunks), (250_000, 5));
    let mut out = feed(Vec::new());
    ok(unsafe {
        nats_object_store_get_stream(os.0, name.as_ptr(), Some(feed_write), (&mut out as *mut Feed).cast(), null_mut())
    });
    assert!(out.sink == f.source, "byte-exact");
    assert_eq!(out.calls, 5, "one call per chunk");
    // The write callback stops the read: an I/O error, and the data so far.
    let mut stopper = feed(Vec::new());
    stopper.stop_at = 2;
    check(
        unsafe {
            nats_object_store_get_stream(
                os.0,
                name.as_ptr(),
                Some(feed_write),
                (&mut stopper as *mut Feed).cast(),
                null_mut(),
            )
        },
        NATS_ERR_IO,
    );
    assert_eq!(stopper.sink.len(), 50_000);
    // A failing read: the put fails and nothing of that name appears.
    let broken = cs("broken.csv");
    let mut bad = feed(pattern(100_000, 6));
    bad.fail_at = 30_000;
    check(
        unsafe {
            nats_object_store_put_stream(
                os.0,
                &meta(&broken, 0),
                Some(feed_read),
                (&mut bad as *mut Feed).cast(),
                null_mut(),
            )
        },
        NATS_ERR_IO,
    );
    check(get(&os, "broken.csv").unwrap_err(), NATS_ERR_NOT_FOUND);
    check(
        unsafe { nats_object_store_put_stream(os.0, &meta(&broken, 0), None, null_mut(), null_mut()) },
        NATS_ERR_NULL_ARGUMENT,
    );

    // Links.
    let mut li = null_mut();
    ok(unsafe { nats_object_store_add_link(os.0, cs("latest.csv").as_ptr(), name.as_ptr(), &mut li) });
    let li = Info(li);
    assert_eq!((text(li.get().link_bucket), text(li.get().link_name)), ("streamed".into(), "report.csv".into()));
    assert!(get(&os, "latest.csv").unwrap() == f.source, "read through the link");
    let mut bi = null_mut();
    ok(unsafe {
        nats_object_store_add_bucket_link(os.0, cs("all-bodies").as_ptr(), cs("mailbodies").as_ptr(), &mut bi)
    });
    let bi = Info(bi);
    assert_eq!(text(bi.get().link_bucket), "mailbodies");
    assert!(bi.get().link_name.is_null() && info.get().link_bucket.is_null());
    check(get(&os, "all-bodies").unwrap_err(), NATS_ERR_INVALID_ARGUMENT);
    check(
        unsafe { nats_object_store_add_link(os.0, cs("x").as_ptr(), cs("missing").as_ptr(), null_mut()) },
        NATS_ERR_NOT_FOUND,
    );
}

#[derive(Default)]
struct Watched {
    seen: std::sync::Mutex<Vec<(String, bool)>>,
    freed: std::sync::atomic::AtomicUsize,
}

unsafe extern "C" fn on_object(ud: *mut c_void, info: *const nats_object_info) {
    let w = &*(ud as *const Watched);
    let i = &*info;
    w.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((text(i.name), i.deleted));
}

unsafe extern "C" fn on_watched_free(ud: *mut c_void) {
    (*(ud as *const Watched)).freed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

fn watch(os: &Os, history: bool, w: &Watched) -> *mut nats_object_watcher {
    let mut out = null_mut();
    ok(unsafe {
        nats_object_store_watch(
            os.0,
            history,
            Some(on_object),
            w as *const Watched as *mut c_void,
            Some(on_watched_free),
            &mut out,
        )
    });
    out
}

/// A watch sees objects put and deleted, in order; with history first what the bucket
/// holds; after stop no callback runs and user_data_free has run once.
#[test]
fn watching_a_bucket() {
    let (_srv, _c, j) = js_setup();
    let os = bucket(&j, "watched", nats_storage::NATS_STORAGE_MEMORY);
    put(&os, "a", b"1", 0);
    put(&os, "b", b"2", 0);
    let (all, new) = (Watched::default(), Watched::default());
    let (w_all, w_new) = (watch(&os, true, &all), watch(&os, false, &new));
    let limit = std::time::Duration::from_secs(10);
    assert!(wait_until(limit, || all.seen.lock().unwrap().len() == 2));
    put(&os, "c", b"3", 0);
    ok(unsafe { nats_object_store_delete(os.0, cs("a").as_ptr()) });
    assert!(wait_until(limit, || all.seen.lock().unwrap().len() == 4));
    assert!(wait_until(limit, || new.seen.lock().unwrap().len() == 2));
    let expect_all: Vec<(String, bool)> =
        vec![("a".into(), false), ("b".into(), false), ("c".into(), false), ("a".into(), true)];
    assert_eq!(*all.seen.lock().unwrap(), expect_all);
    assert_eq!(*new.seen.lock().unwrap(), expect_all[2..].to_vec());
    for w in [w_all, w_new] {
        ok(unsafe { nats_object_watcher_stop(w) });
        ok(unsafe { nats_object_watcher_stop(w) });
        unsafe { nats_object_watcher_free(w) };
    }
    put(&os, "d", b"4", 0);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(all.seen.lock().unwrap().len(), 4, "no callback after stop");
    assert_eq!(all.freed.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(new.freed.load(std::sync::atomic::Ordering::SeqCst), 1);
    let mut w = null_mut();
    check(unsafe { nats_object_store_watch(os.0, true, None, null_mut(), None, &mut w) }, NATS_ERR_NULL_ARGUMENT);
    assert!(w.is_null());
}

/// A bucket's metadata is stored on its stream, which is otherwise the stream async-nats
/// makes (read back with async-nats); creating it again with the same configuration is fine.
#[test]
fn bucket_metadata_is_stored() {
    let (srv, _c, j) = js_setup();
    let (name, description, key, value) = (cs("tagged"), cs("mail bodies"), cs("owner"), cs("postmaster"));
    let (keys, values) = ([key.as_ptr()], [value.as_ptr()]);
    let mut cfg = std::mem::MaybeUninit::uninit();
    ok(unsafe { nats_object_store_config_init(cfg.as_mut_ptr()) });
    let mut cfg = unsafe { cfg.assume_init() };
    assert!(cfg.metadata_keys.is_null() && cfg.metadata_count == 0);
    cfg.bucket = name.as_ptr();
    cfg.description = description.as_ptr();
    cfg.compression = true;
    cfg.metadata_keys = keys.as_ptr();
    cfg.metadata_values = values.as_ptr();
    cfg.metadata_count = 1;
    let mut os = null_mut();
    ok(unsafe { nats_jetstream_object_store_create(j.raw(), &cfg, &mut os) });
    let os = Os(os);
    let mut again = null_mut();
    ok(unsafe { nats_jetstream_object_store_create(j.raw(), &cfg, &mut again) });
    drop(Os(again));
    put(&os, "body", b"hello", 0);
    assert_eq!(get(&os, "body").unwrap(), b"hello");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let config = rt.block_on(async {
        let client = async_nats::connect(srv.url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        js.get_stream("OBJ_tagged").await.unwrap().info().await.unwrap().config.clone()
    });
    assert_eq!(config.metadata.get("owner").map(String::as_str), Some("postmaster"));
    assert_eq!(config.description.as_deref(), Some("mail bodies"));
    assert_eq!(config.subjects, ["$O.tagged.C.>", "$O.tagged.M.>"]);
    assert!(config.allow_rollup && config.allow_direct);
    assert_eq!(config.discard, async_nats::jetstream::stream::DiscardPolicy::New);
    assert_eq!(config.compression, Some(async_nats::jetstream::stream::Compression::S2));

    let (bad_key, bad) = (cs("k"), [null::<c_char>()]);
    let bad_keys = [bad_key.as_ptr()];
    cfg.metadata_keys = bad_keys.as_ptr();
    cfg.metadata_values = bad.as_ptr();
    let mut none = null_mut();
    check(unsafe { nats_jetstream_object_store_create(j.raw(), &cfg, &mut none) }, NATS_ERR_NULL_ARGUMENT);
    assert!(none.is_null());
}

/// A handle on a deleted bucket: listing and watching say `NATS_ERR_NOT_FOUND`, as documented
/// (the API driver found the watch's status undocumented).
#[test]
fn a_deleted_bucket_is_not_found() {
    let (_srv, _c, j) = js_setup();
    let os = bucket(&j, "gone", nats_storage::NATS_STORAGE_MEMORY);
    let name = cs("gone");
    ok(unsafe { nats_jetstream_object_store_delete(j.raw(), name.as_ptr()) });
    let (mut list, mut n) = (null_mut(), 0usize);
    check(unsafe { nats_object_store_list(os.0, &mut list, &mut n) }, NATS_ERR_NOT_FOUND);
    let mut w = null_mut();
    check(
        unsafe { nats_object_store_watch(os.0, false, Some(count_watch), null_mut(), None, &mut w) },
        NATS_ERR_NOT_FOUND,
    );
    assert!(w.is_null());
}

unsafe extern "C" fn count_watch(_ud: *mut c_void, _info: *const nats_object_info) {}
