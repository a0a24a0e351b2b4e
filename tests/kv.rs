//! JetStream key-value from C: buckets, put/get/create/update with revision checks,
//! delete/purge, keys, history, watch with a callback, bucket and per-key TTL; against a real
//! nats-server with -js.

mod common;
use common::js::*;
use common::*;
use nats_ffi::nats_storage;
use nats_ffi::nats_strings_free;
use nats_ffi::*;
use std::ffi::{c_char, c_void, CStr};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

fn kv_config(bucket: &CStr) -> nats_kv_config {
    let mut c = std::mem::MaybeUninit::uninit();
    ok(unsafe { nats_kv_config_init(c.as_mut_ptr()) });
    let mut c = unsafe { c.assume_init() };
    c.bucket = bucket.as_ptr();
    c.storage = nats_storage::NATS_STORAGE_MEMORY as i32;
    c
}

fn bucket(j: &Js, cfg: &nats_kv_config) -> Kv {
    let mut k = null_mut();
    ok(unsafe { nats_jetstream_kv_create(j.raw(), cfg, &mut k) });
    Kv::from_raw(k)
}

fn put(k: &Kv, key: &str, v: &str) -> u64 {
    let key = cs(key);
    let mut rev = 0;
    ok(unsafe { nats_kv_put(k.raw(), key.as_ptr(), v.as_ptr().cast(), v.len(), &mut rev) });
    rev
}

fn get(k: &Kv, key: &str) -> Result<(String, u64), nats_status> {
    let key = cs(key);
    let mut e = null_mut();
    match unsafe { nats_kv_get(k.raw(), key.as_ptr(), &mut e) } {
        NATS_OK => Ok(unsafe {
            let v = std::slice::from_raw_parts(nats_kv_entry_value(e).cast::<u8>(), nats_kv_entry_value_len(e));
            let r = (String::from_utf8(v.to_vec()).unwrap(), nats_kv_entry_revision(e));
            assert_eq!(nats_kv_entry_operation(e), nats_kv_op::NATS_KV_PUT);
            nats_kv_entry_free(e);
            r
        }),
        st => {
            assert!(e.is_null());
            Err(st)
        }
    }
}

fn keys(k: &Kv) -> Vec<String> {
    let (mut list, mut n): (*mut *mut c_char, usize) = (null_mut(), 0);
    ok(unsafe { nats_kv_keys(k.raw(), &mut list, &mut n) });
    let mut v: Vec<String> =
        (0..n).map(|i| unsafe { CStr::from_ptr(*list.add(i)).to_str().unwrap().to_string() }).collect();
    unsafe { nats_strings_free(list, n) };
    v.sort();
    v
}

#[test]
fn kv_put_get_create_update_delete_purge_keys_history() {
    let (_srv, _c, j) = js_setup();
    let name = cs("cfg");
    let mut cfg = kv_config(&name);
    cfg.history = 5;
    let k = bucket(&j, &cfg);
    let r1 = put(&k, "queue.depth", "1");
    assert_eq!(get(&k, "queue.depth").unwrap(), ("1".into(), r1));
    let (a, b) = (cs("queue.depth"), cs("relay"));
    // create: only when there is no value.
    let mut rev = 0;
    check(
        unsafe { nats_kv_create(k.raw(), a.as_ptr(), b"2".as_ptr().cast(), 1, &mut rev) },
        NATS_ERR_EXPECTATION_FAILED,
    );
    assert!(last_error().contains("already"), "{}", last_error());
    ok(unsafe { nats_kv_create(k.raw(), b.as_ptr(), b"mx1".as_ptr().cast(), 3, &mut rev) });
    assert_eq!(rev, r1 + 1);
    // update: only from the latest revision.
    check(
        unsafe { nats_kv_update(k.raw(), a.as_ptr(), b"3".as_ptr().cast(), 1, r1 + 1, &mut rev) },
        NATS_ERR_EXPECTATION_FAILED,
    );
    assert!(last_error().contains("revision"), "{}", last_error());
    ok(unsafe { nats_kv_update(k.raw(), a.as_ptr(), b"3".as_ptr().cast(), 1, r1, &mut rev) });
    let r3 = rev;
    assert_eq!(get(&k, "queue.depth").unwrap(), ("3".into(), r3));
    // An older revision is still readable.
    let mut e = null_mut();
    ok(unsafe { nats_kv_get_revision(k.raw(), a.as_ptr(), r1, &mut e) });
    assert_eq!(unsafe { nats_kv_entry_value_len(e) }, 1);
    unsafe {
        assert_eq!(CStr::from_ptr(nats_kv_entry_key(e)).to_str().unwrap(), "queue.depth");
        assert!(nats_kv_entry_created_ns(e) > 1_600_000_000_000_000_000);
        nats_kv_entry_free(e);
    }
    assert_eq!(keys(&k), vec!["queue.depth".to_string(), "relay".to_string()]);
    // delete: gone for get and keys, history kept; create works again.
    ok(unsafe { nats_kv_delete(k.raw(), a.as_ptr()) });
    check(get(&k, "queue.depth").map(|_| ()).unwrap_err(), NATS_ERR_NOT_FOUND);
    assert_eq!(keys(&k), vec!["relay".to_string()]);
    ok(unsafe { nats_kv_create(k.raw(), a.as_ptr(), b"4".as_ptr().cast(), 1, &mut rev) });
    let (mut list, mut n) = (null_mut(), 0usize);
    ok(unsafe { nats_kv_history(k.raw(), a.as_ptr(), &mut list, &mut n) });
    let ops: Vec<(nats_kv_op, u64)> = (0..n)
        .map(|i| unsafe { (nats_kv_entry_operation(*list.add(i)), nats_kv_entry_revision(*list.add(i))) })
        .collect();
    unsafe { nats_kv_entries_free(list, n) };
    use nats_kv_op::*;
    assert_eq!(
        ops.iter().map(|o| o.0).collect::<Vec<_>>(),
        vec![NATS_KV_PUT, NATS_KV_PUT, NATS_KV_DELETE, NATS_KV_PUT]
    );
    assert!(ops.windows(2).all(|w| w[0].1 < w[1].1), "oldest first: {ops:?}");
    // purge: history removed, a marker left.
    ok(unsafe { nats_kv_purge(k.raw(), b.as_ptr()) });
    check(get(&k, "relay").map(|_| ()).unwrap_err(), NATS_ERR_NOT_FOUND);
    ok(unsafe { nats_kv_history(k.raw(), b.as_ptr(), &mut list, &mut n) });
    assert_eq!(n, 1);
    assert_eq!(unsafe { nats_kv_entry_operation(*list) }, NATS_KV_PURGE);
    unsafe { nats_kv_entries_free(list, n) };
    let never = cs("never.set");
    check(unsafe { nats_kv_history(k.raw(), never.as_ptr(), &mut list, &mut n) }, NATS_ERR_NOT_FOUND);
    assert_eq!(keys(&k), vec!["queue.depth".to_string()]);

    // Bind, bad input, delete the bucket.
    let mut k2 = null_mut();
    ok(unsafe { nats_jetstream_kv_bind(j.raw(), name.as_ptr(), &mut k2) });
    let k2 = Kv::from_raw(k2);
    assert_eq!(get(&k2, "queue.depth").unwrap().0, "4");
    for bad in [".x", "x.", "a b", "a*", ""] {
        let key = cs(bad);
        check(
            unsafe { nats_kv_put(k.raw(), key.as_ptr(), b"v".as_ptr().cast(), 1, null_mut()) },
            NATS_ERR_INVALID_ARGUMENT,
        );
    }
    check(unsafe { nats_kv_put(k.raw(), null(), b"v".as_ptr().cast(), 1, null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    check(unsafe { nats_kv_put(null_mut(), a.as_ptr(), b"v".as_ptr().cast(), 1, null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    let badname = cs("a.b");
    let mut out = null_mut();
    check(unsafe { nats_jetstream_kv_create(j.raw(), &kv_config(&badname), &mut out) }, NATS_ERR_INVALID_ARGUMENT);
    let mut hcfg = kv_config(&name);
    hcfg.history = 65;
    check(unsafe { nats_jetstream_kv_create(j.raw(), &hcfg, &mut out) }, NATS_ERR_INVALID_ARGUMENT);
    ok(unsafe { nats_jetstream_kv_delete(j.raw(), name.as_ptr()) });
    check(unsafe { nats_jetstream_kv_bind(j.raw(), name.as_ptr(), &mut out) }, NATS_ERR_NOT_FOUND);
    assert!(out.is_null());
    unsafe {
        nats_kv_free(null_mut());
        nats_kv_entry_free(null_mut());
        nats_kv_entries_free(null_mut(), 2);
        nats_kv_watcher_free(null_mut());
        assert_eq!(nats_kv_entry_revision(null()), 0);
    }
}

#[derive(Default)]
struct Seen {
    entries: Mutex<Vec<(String, String, u64, nats_kv_op)>>,
    freed: AtomicUsize,
}

unsafe extern "C" fn on_entry(ud: *mut c_void, e: *const nats_kv_entry) {
    let s = &*(ud as *const Seen);
    let key = CStr::from_ptr(nats_kv_entry_key(e)).to_str().unwrap().to_string();
    let v = std::slice::from_raw_parts(nats_kv_entry_value(e).cast::<u8>(), nats_kv_entry_value_len(e));
    s.entries.lock().unwrap().push((
        key,
        String::from_utf8(v.to_vec()).unwrap(),
        nats_kv_entry_revision(e),
        nats_kv_entry_operation(e),
    ));
}

unsafe extern "C" fn on_free(ud: *mut c_void) {
    (*(ud as *const Seen)).freed.fetch_add(1, Ordering::SeqCst);
}

fn watch(k: &Kv, keys: Option<&str>, flags: u32, seen: &Seen) -> *mut nats_kv_watcher {
    let p = keys.map(cs);
    let mut w = null_mut();
    ok(unsafe {
        nats_kv_watch(
            k.raw(),
            p.as_ref().map_or(null(), |p| p.as_ptr()),
            flags,
            Some(on_entry),
            seen as *const Seen as *mut c_void,
            Some(on_free),
            &mut w,
        )
    });
    w
}

#[test]
fn watch_sees_every_update_in_order() {
    let (_srv, _c, j) = js_setup();
    let name = cs("watched");
    let mut cfg = kv_config(&name);
    cfg.history = 10;
    let k = bucket(&j, &cfg);
    put(&k, "k.0", "old");
    put(&k, "k.0", "initial");
    put(&k, "other", "x");
    let (all, only_k, updates, history) = (Seen::default(), Seen::default(), Seen::default(), Seen::default());
    let w_all = watch(&k, None, 0, &all);
    let w_k = watch(&k, Some("k.*"), 0, &only_k);
    let w_up = watch(&k, None, nats_kv_watch_flags::NATS_KV_WATCH_UPDATES_ONLY as u32, &updates);
    let w_hist = watch(&k, Some("k.0"), nats_kv_watch_flags::NATS_KV_WATCH_INCLUDE_HISTORY as u32, &history);
    // Current values arrive first.
    assert!(wait_until(Duration::from_secs(5), || all.entries.lock().unwrap().len() == 2));
    let mut revs = Vec::new();
    for i in 0..500 {
        revs.push(put(&k, &format!("k.{}", i % 10), &format!("v{i}")));
    }
    let key0 = cs("k.0");
    ok(unsafe { nats_kv_delete(k.raw(), key0.as_ptr()) });
    assert!(
        wait_until(Duration::from_secs(10), || all.entries.lock().unwrap().len() == 503),
        "got {}",
        all.entries.lock().unwrap().len()
    );
    let got = all.entries.lock().unwrap().clone();
    assert_eq!(got[0].0, "k.0");
    assert_eq!(got[0].1, "initial");
    assert_eq!(got[1].0, "other");
    for (i, e) in got[2..502].iter().enumerate() {
        assert_eq!(
            (e.0.as_str(), e.1.as_str(), e.2),
            (format!("k.{}", i % 10).as_str(), format!("v{i}").as_str(), revs[i])
        );
    }
    assert_eq!(got[502].3, nats_kv_op::NATS_KV_DELETE);
    assert!(got.windows(2).all(|w| w[0].2 < w[1].2), "revision order");
    // The pattern watcher: only k.*; the updates-only one: none of the initial values.
    assert!(wait_until(Duration::from_secs(5), || only_k.entries.lock().unwrap().len() == 502));
    assert!(only_k.entries.lock().unwrap().iter().all(|e| e.0.starts_with("k.")));
    assert!(wait_until(Duration::from_secs(5), || updates.entries.lock().unwrap().len() == 501));
    assert_eq!(updates.entries.lock().unwrap()[0].1, "v0");
    // With history: both old values of k.0, its 50 updates and the delete.
    assert!(
        wait_until(Duration::from_secs(5), || history.entries.lock().unwrap().len() == 53),
        "{:?}",
        history.entries.lock().unwrap().iter().map(|e| e.1.clone()).collect::<Vec<_>>()
    );
    let h = history.entries.lock().unwrap().clone();
    assert_eq!((h[0].1.as_str(), h[1].1.as_str(), h[2].1.as_str()), ("old", "initial", "v0"));

    // Stop: no callback after it returns; user_data_free once.
    for w in [w_all, w_k, w_up, w_hist] {
        ok(unsafe { nats_kv_watcher_stop(w) });
        ok(unsafe { nats_kv_watcher_stop(w) });
    }
    let n = all.entries.lock().unwrap().len();
    put(&k, "k.1", "after");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(all.entries.lock().unwrap().len(), n);
    for s in [&all, &only_k, &updates, &history] {
        assert!(wait_until(Duration::from_secs(2), || s.freed.load(Ordering::SeqCst) == 1));
    }
    unsafe {
        for w in [w_all, w_k, w_up, w_hist] {
            nats_kv_watcher_free(w);
        }
    }
    for s in [&all, &only_k, &updates, &history] {
        assert_eq!(s.freed.load(Ordering::SeqCst), 1);
    }
    let mut w = null_mut();
    check(
        unsafe { nats_kv_watch(k.raw(), null(), 3, Some(on_entry), null_mut(), None, &mut w) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    check(unsafe { nats_kv_watch(k.raw(), null(), 0, None, null_mut(), None, &mut w) }, NATS_ERR_NULL_ARGUMENT);
}

#[test]
fn bucket_ttl_and_per_key_ttl() {
    let (_srv, _c, j) = js_setup();
    let name = cs("ephemeral");
    let mut cfg = kv_config(&name);
    cfg.ttl_ms = 1000;
    let k = bucket(&j, &cfg);
    put(&k, "session", "s1");
    assert_eq!(get(&k, "session").unwrap().0, "s1");
    assert!(wait_until(Duration::from_secs(5), || get(&k, "session").is_err()), "expired with the bucket TTL");
    check(get(&k, "session").unwrap_err(), NATS_ERR_NOT_FOUND);

    // Per-key TTL (nats-server >= 2.11 limit markers).
    let name = cs("perkey");
    let mut cfg = kv_config(&name);
    cfg.limit_marker_ttl_ms = 1000;
    let k = bucket(&j, &cfg);
    let (lock, keep) = (cs("lock"), cs("keep"));
    ok(unsafe { nats_kv_create_with_ttl(k.raw(), lock.as_ptr(), b"me".as_ptr().cast(), 2, 1000, null_mut()) });
    ok(unsafe { nats_kv_put(k.raw(), keep.as_ptr(), b"v".as_ptr().cast(), 1, null_mut()) });
    assert_eq!(get(&k, "lock").unwrap().0, "me");
    assert!(wait_until(Duration::from_secs(6), || get(&k, "lock").is_err()), "the key expired");
    assert_eq!(get(&k, "keep").unwrap().0, "v", "other keys stay");
    // Expired: it can be created again.
    ok(unsafe { nats_kv_create_with_ttl(k.raw(), lock.as_ptr(), b"you".as_ptr().cast(), 3, 5000, null_mut()) });
    check(
        unsafe { nats_kv_create_with_ttl(k.raw(), lock.as_ptr(), b"x".as_ptr().cast(), 1, 10, null_mut()) },
        NATS_ERR_INVALID_ARGUMENT,
    );
}

fn strings(list: *mut *mut c_char, n: usize) -> Vec<String> {
    let mut v: Vec<String> =
        (0..n).map(|i| unsafe { CStr::from_ptr(*list.add(i)).to_str().unwrap().to_string() }).collect();
    unsafe { nats_strings_free(list, n) };
    v.sort();
    v
}

fn watch_multi(k: &Kv, keys: &[&str], flags: u32, seen: &Seen) -> *mut nats_kv_watcher {
    let owned: Vec<_> = keys.iter().map(|k| cs(k)).collect();
    let ptrs: Vec<*const c_char> = owned.iter().map(|k| k.as_ptr()).collect();
    let mut w = null_mut();
    ok(unsafe {
        nats_kv_watch_multi(
            k.raw(),
            ptrs.as_ptr(),
            ptrs.len(),
            flags,
            Some(on_entry),
            seen as *const Seen as *mut c_void,
            Some(on_free),
            &mut w,
        )
    });
    w
}

fn delete(k: &Kv, key: &str) {
    ok(unsafe { nats_kv_delete(k.raw(), cs(key).as_ptr()) });
}

/// One watch over several patterns; ignoring deletes; headers only.
#[test]
fn watch_several_keys_ignoring_deletes_or_values() {
    let (_srv, _c, j) = js_setup();
    let name = cs("multi");
    let k = bucket(&j, &kv_config(&name));
    put(&k, "route.a", "1");
    put(&k, "limit", "2");
    put(&k, "other", "3");
    let (all, no_deletes, meta) = (Seen::default(), Seen::default(), Seen::default());
    let flags_nd = nats_kv_watch_flags::NATS_KV_WATCH_IGNORE_DELETES as u32;
    let flags_meta = nats_kv_watch_flags::NATS_KV_WATCH_META_ONLY as u32;
    let w1 = watch_multi(&k, &["route.*", "limit"], 0, &all);
    let w2 = watch_multi(&k, &["route.*", "limit"], flags_nd, &no_deletes);
    let w3 = watch_multi(&k, &[], flags_meta, &meta);
    put(&k, "route.b", "4");
    delete(&k, "limit");
    put(&k, "other", "5");
    let keys_of = |s: &Seen| s.entries.lock().unwrap().iter().map(|e| (e.0.clone(), e.3)).collect::<Vec<_>>();
    use nats_kv_op::*;
    assert!(wait_until(Duration::from_secs(10), || all.entries.lock().unwrap().len() == 4));
    assert_eq!(
        keys_of(&all),
        [
            ("route.a".into(), NATS_KV_PUT),
            ("limit".into(), NATS_KV_PUT),
            ("route.b".into(), NATS_KV_PUT),
            ("limit".into(), NATS_KV_DELETE)
        ]
    );
    assert!(wait_until(Duration::from_secs(10), || no_deletes.entries.lock().unwrap().len() == 3));
    assert!(wait_until(Duration::from_secs(10), || meta.entries.lock().unwrap().len() == 6));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        keys_of(&no_deletes),
        [("route.a".into(), NATS_KV_PUT), ("limit".into(), NATS_KV_PUT), ("route.b".into(), NATS_KV_PUT)]
    );
    let m = meta.entries.lock().unwrap().clone();
    assert!(m.iter().all(|e| e.1.is_empty()), "values left out: {m:?}");
    assert_eq!(m.iter().map(|e| e.2).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6], "every revision, in order");
    for w in [w1, w2, w3] {
        ok(unsafe { nats_kv_watcher_stop(w) });
        unsafe { nats_kv_watcher_free(w) };
    }
    let mut w = null_mut();
    let bad = [cs("a b")];
    let ptrs = [bad[0].as_ptr()];
    check(
        unsafe { nats_kv_watch_multi(k.raw(), ptrs.as_ptr(), 1, 0, Some(on_entry), null_mut(), None, &mut w) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    check(
        unsafe { nats_kv_watch_multi(k.raw(), null(), 0, 16, Some(on_entry), null_mut(), None, &mut w) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    assert!(w.is_null());
}

fn next(w: *mut nats_kv_watcher, timeout_ms: u64) -> Result<(String, u64, u64), nats_status> {
    let mut e = null_mut();
    match unsafe { nats_kv_watcher_next(w, timeout_ms, &mut e) } {
        NATS_OK => unsafe {
            let r = (
                CStr::from_ptr(nats_kv_entry_key(e)).to_str().unwrap().to_string(),
                nats_kv_entry_revision(e),
                nats_kv_entry_delta(e),
            );
            nats_kv_entry_free(e);
            Ok(r)
        },
        st => {
            assert!(e.is_null());
            Err(st)
        }
    }
}

/// A watcher without a callback hands out the current entries (the last with delta 0), then
/// each change; it times out when nothing comes and fails once stopped.
#[test]
fn synchronous_watcher_next() {
    let (_srv, _c, j) = js_setup();
    let name = cs("pull");
    let k = bucket(&j, &kv_config(&name));
    put(&k, "a", "1");
    put(&k, "b", "2");
    put(&k, "a", "3");
    let mut w = null_mut();
    ok(unsafe { nats_kv_watch_sync(k.raw(), null(), 0, 0, &mut w) });
    assert_eq!(next(w, 5000).unwrap(), ("b".into(), 2, 1));
    assert_eq!(next(w, 5000).unwrap(), ("a".into(), 3, 0));
    let t = std::time::Instant::now();
    check(next(w, 200).unwrap_err(), NATS_ERR_TIMEOUT);
    assert!(t.elapsed() >= Duration::from_millis(190));
    put(&k, "c", "4");
    assert_eq!(next(w, 5000).unwrap().0, "c");
    ok(unsafe { nats_kv_watcher_stop(w) });
    check(next(w, 100).unwrap_err(), NATS_ERR_INVALID_ARGUMENT);
    unsafe { nats_kv_watcher_free(w) };
    // A callback watcher has no next.
    let seen = Seen::default();
    let cw = watch(&k, None, 0, &seen);
    check(next(cw, 100).unwrap_err(), NATS_ERR_INVALID_ARGUMENT);
    ok(unsafe { nats_kv_watcher_stop(cw) });
    unsafe { nats_kv_watcher_free(cw) };
}

/// Keys with filters; removing delete markers (kept as the only entry while young, gone once
/// old); the bucket's status; an update with a TTL; bucket names.
#[test]
fn filtered_keys_purge_deletes_status_update_with_ttl_and_names() {
    let (_srv, _c, j) = js_setup();
    let name = cs("relays");
    let mut cfg = kv_config(&name);
    cfg.history = 5;
    cfg.limit_marker_ttl_ms = 1000;
    let k = bucket(&j, &cfg);
    for key in ["eu.a", "eu.b", "us.a", "eu.c"] {
        put(&k, key, "v");
        put(&k, key, "w");
    }
    delete(&k, "eu.b");
    let filters = [cs("eu.*")];
    let ptrs = [filters[0].as_ptr()];
    let (mut list, mut n) = (null_mut(), 0);
    ok(unsafe { nats_kv_keys_filtered(k.raw(), ptrs.as_ptr(), 1, &mut list, &mut n) });
    assert_eq!(strings(list, n), ["eu.a", "eu.c"]);
    ok(unsafe { nats_kv_keys_filtered(k.raw(), null(), 0, &mut list, &mut n) });
    assert_eq!(strings(list, n), ["eu.a", "eu.c", "us.a"]);

    let mut st = std::mem::MaybeUninit::uninit();
    ok(unsafe { nats_kv_status(k.raw(), st.as_mut_ptr()) });
    let st = unsafe { st.assume_init() };
    assert_eq!(unsafe { CStr::from_ptr(st.bucket) }.to_str().unwrap(), "relays");
    assert_eq!(unsafe { CStr::from_ptr(st.stream) }.to_str().unwrap(), "KV_relays");
    assert_eq!((st.values, st.history, st.ttl_ms, st.replicas), (9, 5, 0, 1));
    assert!(st.bytes > 0 && st.storage == nats_storage::NATS_STORAGE_MEMORY as i32);

    // A young marker stays as the key's only entry; an old one goes with its history.
    let history_len = |key: &str| {
        let (mut e, mut n) = (null_mut(), 0);
        match unsafe { nats_kv_history(k.raw(), cs(key).as_ptr(), &mut e, &mut n) } {
            NATS_OK => {
                unsafe { nats_kv_entries_free(e, n) };
                n
            }
            _ => 0,
        }
    };
    assert_eq!(history_len("eu.b"), 3);
    let mut purged = 0;
    ok(unsafe { nats_kv_purge_deletes(k.raw(), 0, &mut purged) });
    assert_eq!((purged, history_len("eu.b"), history_len("eu.a")), (1, 1, 2));
    std::thread::sleep(Duration::from_millis(50));
    ok(unsafe { nats_kv_purge_deletes(k.raw(), 10, &mut purged) });
    assert_eq!((purged, history_len("eu.b"), history_len("eu.a")), (1, 0, 2));

    // Update with a TTL: the new value expires; only from the latest revision. (One entry
    // per key: with more, the value before would be the key's value again once it expired.)
    let leases = cs("leases");
    let mut cfg = kv_config(&leases);
    cfg.limit_marker_ttl_ms = 1000;
    let k = bucket(&j, &cfg);
    let (key, mut rev) = (cs("lease"), 0);
    let r1 = put(&k, "lease", "holder-1");
    check(
        unsafe { nats_kv_update_with_ttl(k.raw(), key.as_ptr(), b"x".as_ptr().cast(), 1, r1 + 100, 1000, &mut rev) },
        NATS_ERR_EXPECTATION_FAILED,
    );
    check(
        unsafe { nats_kv_update_with_ttl(k.raw(), key.as_ptr(), b"x".as_ptr().cast(), 1, r1, 10, &mut rev) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    ok(unsafe { nats_kv_update_with_ttl(k.raw(), key.as_ptr(), b"holder-2".as_ptr().cast(), 8, r1, 1000, &mut rev) });
    assert!(rev > r1);
    assert_eq!(get(&k, "lease").unwrap(), ("holder-2".into(), rev));
    assert!(wait_until(Duration::from_secs(8), || get(&k, "lease").is_err()), "the updated value expired");

    let other = cs("second");
    let _k2 = bucket(&j, &kv_config(&other));
    create_stream(&j, "NOTKV", &["notkv.>"], 0);
    let (mut names, mut n) = (null_mut(), 0);
    ok(unsafe { nats_jetstream_kv_names(j.raw(), &mut names, &mut n) });
    assert_eq!(strings(names, n), ["leases", "relays", "second"]);
}
