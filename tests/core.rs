//! The complete core client against a real nats-server: headers, synchronous subscriptions,
//! auto-unsubscribe, drain, pending limits and slow consumers, events, statistics, server
//! info, reconnect buffer and tuning, async requests.

mod common;
use common::collector::Sub;
use common::*;
use nats_ffi::nats_string_free;
use nats_ffi::*;
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SEC: Duration = Duration::from_secs(1);

unsafe fn cstr(p: *const c_char) -> String {
    assert!(!p.is_null());
    CStr::from_ptr(p).to_str().unwrap().to_string()
}

fn sync_sub(c: &Conn, subject: &str) -> *mut nats_subscription {
    let s = cs(subject);
    let mut sub = null_mut();
    ok(unsafe { nats_subscribe_sync(c.raw(), s.as_ptr(), &mut sub) });
    sub
}

fn next(sub: *mut nats_subscription, ms: u64) -> Result<Msg, nats_status> {
    let mut m = null_mut();
    match unsafe { nats_subscription_next_msg(sub, ms, &mut m) } {
        NATS_OK => Ok(Msg::from_raw(m)),
        e => {
            assert!(m.is_null());
            Err(e)
        }
    }
}

fn new_msg(subject: &str, data: &[u8]) -> Msg {
    let s = cs(subject);
    let mut m = null_mut();
    ok(unsafe { nats_msg_new(s.as_ptr(), null(), data.as_ptr().cast(), data.len(), &mut m) });
    Msg::from_raw(m)
}

fn header_values(m: &Msg, key: &str) -> Result<Vec<String>, nats_status> {
    let k = cs(key);
    let mut vals: *const *const c_char = null();
    let mut n = 0usize;
    match unsafe { nats_msg_header_values(m.raw(), k.as_ptr(), &mut vals, &mut n) } {
        NATS_OK => Ok((0..n).map(|i| unsafe { cstr(*vals.add(i)) }).collect()),
        e => Err(e),
    }
}

fn header_keys(m: &Msg) -> Vec<String> {
    let mut keys: *const *const c_char = null();
    let mut n = 0usize;
    ok(unsafe { nats_msg_header_keys(m.raw(), &mut keys, &mut n) });
    (0..n).map(|i| unsafe { cstr(*keys.add(i)) }).collect()
}

fn set_header(m: &Msg, k: &str, v: &str, add: bool) {
    let (k, v) = (cs(k), cs(v));
    ok(unsafe {
        if add {
            nats_msg_header_add(m.raw(), k.as_ptr(), v.as_ptr())
        } else {
            nats_msg_header_set(m.raw(), k.as_ptr(), v.as_ptr())
        }
    });
}

#[test]
fn headers_round_trip_with_multiple_values() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let sub = sync_sub(&c, "h.*");
    c.flush();
    let m = new_msg("h.one", b"body");
    set_header(&m, "Mail-Id", "m1", false);
    set_header(&m, "Rcpt", "a@example.com", true);
    set_header(&m, "Rcpt", "b@example.com", true);
    set_header(&m, "Rcpt", "c@example.com", true);
    set_header(&m, "Gone", "x", false);
    let gone = cs("Gone");
    ok(unsafe { nats_msg_header_delete(m.raw(), gone.as_ptr()) });
    check(unsafe { nats_msg_header_delete(m.raw(), gone.as_ptr()) }, NATS_ERR_NOT_FOUND);
    // set replaces every value.
    set_header(&m, "Mail-Id", "m2", false);
    ok(unsafe { nats_publish_msg(c.raw(), m.raw()) });
    let got = next(sub, 5000).unwrap();
    assert_eq!(got.subject(), "h.one");
    assert_eq!(got.data(), b"body");
    assert_eq!(header_keys(&got), ["Mail-Id", "Rcpt"]);
    assert_eq!(header_values(&got, "Rcpt").unwrap(), ["a@example.com", "b@example.com", "c@example.com"]);
    assert_eq!(header_values(&got, "Mail-Id").unwrap(), ["m2"]);
    let (k, mut v) = (cs("Rcpt"), null());
    ok(unsafe { nats_msg_header_get(got.raw(), k.as_ptr(), &mut v) });
    assert_eq!(unsafe { cstr(v) }, "a@example.com");
    let missing = cs("Nope");
    let mut v2 = null();
    check(unsafe { nats_msg_header_get(got.raw(), missing.as_ptr(), &mut v2) }, NATS_ERR_NOT_FOUND);
    assert!(v2.is_null());
    assert_eq!(header_values(&got, "Nope"), Err(NATS_ERR_NOT_FOUND));
    assert_eq!(unsafe { nats_msg_status(got.raw()) }, 0);
    // Bad header names and values are refused.
    let (bad_k, bad_v, good) = (cs("a b"), cs("x\r\ny"), cs("K"));
    check(unsafe { nats_msg_header_set(m.raw(), bad_k.as_ptr(), good.as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    check(unsafe { nats_msg_header_set(m.raw(), good.as_ptr(), bad_v.as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    // A message without headers has no keys.
    let plain = new_msg("h.two", b"");
    assert!(header_keys(&plain).is_empty());
    unsafe { nats_subscription_free(sub) };
}

#[test]
fn request_msg_carries_headers_both_ways() {
    let srv = Server::start();
    let responder = Conn::to(&srv.url());
    let sub = sync_sub(&responder, "svc.echo") as usize;
    responder.flush();
    let r = std::thread::spawn(move || {
        let sub = sub as *mut nats_subscription;
        let req = next(sub, 5000).unwrap();
        let reply_to = unsafe { msg_reply(req.raw()) }.unwrap();
        let out = new_msg(&reply_to, &req.data());
        for v in header_values(&req, "Trace").unwrap() {
            set_header(&out, "Trace", &v, true);
        }
        set_header(&out, "Seen-By", "responder", false);
        ok(unsafe { nats_publish_msg(responder.raw(), out.raw()) });
        responder.flush();
        unsafe { nats_subscription_free(sub) };
    });
    let c = Conn::to(&srv.url());
    let m = new_msg("svc.echo", b"ping");
    set_header(&m, "Trace", "t1", true);
    set_header(&m, "Trace", "t2", true);
    let mut reply = null_mut();
    ok(unsafe { nats_request_msg(c.raw(), m.raw(), 5000, &mut reply) });
    let reply = Msg::from_raw(reply);
    assert_eq!(reply.data(), b"ping");
    assert_eq!(header_values(&reply, "Trace").unwrap(), ["t1", "t2"]);
    assert_eq!(header_values(&reply, "Seen-By").unwrap(), ["responder"]);
    r.join().unwrap();
    // No responders, as a status.
    let nobody = new_msg("svc.nobody", b"");
    let mut none = null_mut();
    check(unsafe { nats_request_msg(c.raw(), nobody.raw(), 2000, &mut none) }, NATS_ERR_NO_RESPONDERS);
    assert!(none.is_null());
}

#[test]
fn no_responders_status_message_surfaces_as_503() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let mut inbox = null_mut();
    ok(unsafe { nats_connection_new_inbox(c.raw(), &mut inbox) });
    let inbox_s = unsafe { cstr(inbox) };
    assert!(inbox_s.starts_with("_INBOX."), "{inbox_s}");
    let sub = sync_sub(&c, &inbox_s);
    c.flush();
    let (s, r) = (cs("nobody.home"), cs(&inbox_s));
    ok(unsafe { nats_publish_with_reply(c.raw(), s.as_ptr(), r.as_ptr(), null(), 0) });
    let m = next(sub, 5000).unwrap();
    assert_eq!(unsafe { nats_msg_status(m.raw()) }, 503);
    unsafe {
        nats_string_free(inbox);
        nats_subscription_free(sub);
    }
}

#[test]
fn sync_subscription_order_timeout_and_queue() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let sub = sync_sub(&c, "s.>");
    c.flush();
    let t = Instant::now();
    assert_eq!(next(sub, 200).err(), Some(NATS_ERR_TIMEOUT));
    assert!(t.elapsed() >= Duration::from_millis(190), "{:?}", t.elapsed());
    for i in 0..100 {
        ok(c.publish(&format!("s.{i}"), format!("{i}").as_bytes()));
    }
    for i in 0..100 {
        let m = next(sub, 5000).unwrap();
        assert_eq!(m.subject(), format!("s.{i}"));
        assert_eq!(m.data(), format!("{i}").as_bytes());
    }
    assert_eq!(next(sub, 0).err(), Some(NATS_ERR_TIMEOUT));
    assert_eq!(unsafe { nats_subscription_delivered(sub) }, 100);
    // next_msg on a callback subscription is refused.
    let cb = Sub::new(&c, "cb", "");
    let mut m = null_mut();
    check(unsafe { nats_subscription_next_msg(cb.raw(), 10, &mut m) }, NATS_ERR_INVALID_ARGUMENT);
    // Queue group of synchronous members: each message to exactly one.
    let (subj, q) = (cs("work"), cs("workers"));
    let mut members = [null_mut(); 3];
    for m in members.iter_mut() {
        ok(unsafe { nats_queue_subscribe_sync(c.raw(), subj.as_ptr(), q.as_ptr(), m) });
    }
    c.flush();
    for i in 0..300 {
        ok(c.publish("work", format!("{i}").as_bytes()));
    }
    c.flush();
    let mut seen = Vec::new();
    let mut per_member = Vec::new();
    for m in members {
        let mut n = 0;
        while let Ok(msg) = next(m, 300) {
            seen.push(String::from_utf8(msg.data()).unwrap());
            n += 1;
        }
        per_member.push(n);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 300, "each message once");
    assert!(per_member.iter().all(|n| *n > 30), "spread: {per_member:?}");
    for m in members {
        unsafe { nats_subscription_free(m) };
    }
    unsafe { nats_subscription_unsubscribe(sub) };
    assert_eq!(next(sub, 10).err(), Some(NATS_ERR_INVALID_SUBSCRIPTION));
    unsafe { nats_subscription_free(sub) };
}

#[test]
fn auto_unsubscribe_delivers_exactly_max() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let s = Sub::new(&c, "au", "");
    ok(unsafe { nats_subscription_auto_unsubscribe(s.raw(), 5) });
    check(unsafe { nats_subscription_auto_unsubscribe(s.raw(), 0) }, NATS_ERR_INVALID_ARGUMENT);
    c.flush();
    for i in 0..20 {
        ok(c.publish("au", &[i]));
    }
    c.flush();
    assert!(s.wait_count(5, 5 * SEC));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(s.received().payloads(), vec![vec![0], vec![1], vec![2], vec![3], vec![4]]);
    assert!(wait_until(5 * SEC, || !unsafe { nats_subscription_is_valid(s.raw()) }));
    check(unsafe { nats_subscription_unsubscribe(s.raw()) }, NATS_ERR_INVALID_SUBSCRIPTION);

    // Counting messages already received: 2 taken, max 3 → one more.
    let sync = sync_sub(&c, "au2");
    c.flush();
    ok(c.publish("au2", b"a"));
    ok(c.publish("au2", b"b"));
    assert!(next(sync, 5000).is_ok() && next(sync, 5000).is_ok());
    ok(unsafe { nats_subscription_auto_unsubscribe(sync, 3) });
    for _ in 0..5 {
        ok(c.publish("au2", b"x"));
    }
    c.flush();
    assert!(next(sync, 5000).is_ok());
    assert_eq!(next(sync, 500).err(), Some(NATS_ERR_INVALID_SUBSCRIPTION));
    unsafe { nats_subscription_free(sync) };
}

static SLOW_CB_DELAY_US: u64 = 500;

unsafe extern "C" fn slow_count(ud: *mut c_void, _s: *mut nats_subscription, _m: *const nats_msg) {
    std::thread::sleep(Duration::from_micros(SLOW_CB_DELAY_US));
    (*(ud as *const AtomicUsize)).fetch_add(1, Ordering::SeqCst);
}

#[test]
fn subscription_drain_delivers_everything_in_flight() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let publisher = Conn::to(&srv.url());
    let count = Box::leak(Box::new(AtomicUsize::new(0)));
    let subj = cs("dr");
    let mut sub = null_mut();
    ok(unsafe { nats_subscribe(c.raw(), subj.as_ptr(), Some(slow_count), count as *const _ as *mut c_void, &mut sub) });
    c.flush();
    for i in 0..2000u32 {
        ok(publisher.publish("dr", &i.to_be_bytes()));
    }
    publisher.flush();
    // The server has routed all 2000 to us; most still wait for the slow callback.
    let t = Instant::now();
    ok(unsafe { nats_subscription_drain(sub, 20_000) });
    assert_eq!(count.load(Ordering::SeqCst), 2000, "all delivered when drain returns ({:?})", t.elapsed());
    // Nothing published after the drain arrives.
    ok(publisher.publish("dr", b"late"));
    publisher.flush();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(count.load(Ordering::SeqCst), 2000);
    check(unsafe { nats_subscription_drain(sub, 100) }, NATS_ERR_INVALID_SUBSCRIPTION);
    unsafe { nats_subscription_free(sub) };

    // Synchronous: drain without waiting, then every message is still there to take.
    let s2 = sync_sub(&c, "dr2");
    c.flush();
    for i in 0..50u8 {
        ok(publisher.publish("dr2", &[i]));
    }
    publisher.flush();
    ok(unsafe { nats_subscription_drain(s2, 0) });
    for i in 0..50u8 {
        assert_eq!(next(s2, 5000).unwrap().data(), [i]);
    }
    assert_eq!(next(s2, 1000).err(), Some(NATS_ERR_INVALID_SUBSCRIPTION));
    unsafe { nats_subscription_free(s2) };
}

/// Records connection events (and errors) in order.
#[derive(Default)]
struct Events {
    log: Mutex<Vec<String>>,
    errors: Mutex<Vec<(nats_status, usize, String)>>,
    /// Status seen by calling the API from inside the reconnected callback.
    status_in_cb: Mutex<Option<nats_conn_status>>,
    flush_in_cb: Mutex<Option<nats_status>>,
}

impl Events {
    fn names(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
    fn count(&self, name: &str) -> usize {
        self.names().iter().filter(|n| *n == name).count()
    }
    fn wait(&self, name: &str, n: usize, limit: Duration) -> bool {
        wait_until(limit, || self.count(name) >= n)
    }
}

macro_rules! event_cb {
    ($name:ident, $label:expr) => {
        unsafe extern "C" fn $name(ud: *mut c_void, conn: *mut nats_connection) {
            let ev = &*(ud as *const Events);
            assert!(!conn.is_null());
            let name = std::thread::current().name().unwrap_or("").to_string();
            assert_eq!(name, "nats-ffi-events", "event callbacks run on the event thread");
            ev.log.lock().unwrap().push($label.to_string());
        }
    };
}
event_cb!(on_connected, "connected");
event_cb!(on_disconnected, "disconnected");
event_cb!(on_closed, "closed");
event_cb!(on_lame_duck, "lame_duck");
event_cb!(on_discovered, "discovered");

unsafe extern "C" fn on_reconnected(ud: *mut c_void, conn: *mut nats_connection) {
    let ev = &*(ud as *const Events);
    // Callbacks may call the API, blocking calls included.
    *ev.status_in_cb.lock().unwrap() = Some(nats_connection_status(conn));
    *ev.flush_in_cb.lock().unwrap() = Some(nats_connection_flush(conn, 5000));
    ev.log.lock().unwrap().push("reconnected".into());
}

unsafe extern "C" fn on_error(
    ud: *mut c_void,
    _c: *mut nats_connection,
    sub: *mut nats_subscription,
    st: nats_status,
    text: *const c_char,
) {
    let ev = &*(ud as *const Events);
    ev.errors.lock().unwrap().push((st, sub as usize, cstr(text)));
}

fn event_opts(url: &str, ev: &Events) -> Opts {
    let o = Opts::new().servers(&[url]);
    let ud = ev as *const Events as *mut c_void;
    unsafe {
        ok(nats_options_set_connected_cb(o.raw(), Some(on_connected), ud));
        ok(nats_options_set_disconnected_cb(o.raw(), Some(on_disconnected), ud));
        ok(nats_options_set_reconnected_cb(o.raw(), Some(on_reconnected), ud));
        ok(nats_options_set_closed_cb(o.raw(), Some(on_closed), ud));
        ok(nats_options_set_lame_duck_cb(o.raw(), Some(on_lame_duck), ud));
        ok(nats_options_set_discovered_servers_cb(o.raw(), Some(on_discovered), ud));
        ok(nats_options_set_error_cb(o.raw(), Some(on_error), ud));
    }
    o
}

#[test]
fn events_fire_on_disconnect_reconnect_and_close() {
    let mut srv = Server::start();
    let ev: &'static Events = Box::leak(Box::default());
    let c = event_opts(&srv.url(), ev).connect().unwrap();
    assert!(ev.wait("connected", 1, 5 * SEC));
    srv.kill();
    assert!(ev.wait("disconnected", 1, 5 * SEC), "{:?}", ev.names());
    srv.restart();
    assert!(ev.wait("reconnected", 1, 10 * SEC), "{:?}", ev.names());
    assert_eq!(*ev.status_in_cb.lock().unwrap(), Some(nats_conn_status::NATS_CONN_STATUS_CONNECTED));
    assert_eq!(*ev.flush_in_cb.lock().unwrap(), Some(NATS_OK));
    // Forced reconnect: another disconnected/reconnected pair.
    ok(unsafe { nats_connection_reconnect(c.raw()) });
    assert!(ev.wait("reconnected", 2, 10 * SEC), "{:?}", ev.names());
    let mut st = nats_statistics::default();
    ok(unsafe { nats_connection_stats(c.raw(), &mut st) });
    assert_eq!(st.reconnects, 2);
    unsafe { nats_connection_close(c.raw()) };
    assert!(ev.wait("closed", 1, 5 * SEC));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(ev.names(), ["connected", "disconnected", "reconnected", "disconnected", "reconnected", "closed"]);
    assert!(unsafe { nats_connection_is_closed(c.raw()) });
    drop(c);
}

#[test]
fn closed_event_after_max_reconnects() {
    let mut srv = Server::start();
    let ev: &'static Events = Box::leak(Box::default());
    let o = event_opts(&srv.url(), ev);
    ok(unsafe { nats_options_set_max_reconnects(o.raw(), 2) });
    ok(unsafe { nats_options_set_reconnect_wait_ms(o.raw(), 50) });
    let c = o.connect().unwrap();
    srv.kill();
    assert!(ev.wait("closed", 1, 10 * SEC), "{:?}", ev.names());
    assert_eq!(c.status(), nats_conn_status::NATS_CONN_STATUS_CLOSED);
    assert_eq!(ev.count("closed"), 1);
}

#[test]
fn lame_duck_mode_is_reported() {
    let srv = Server::start_conf("lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n");
    let ev: &'static Events = Box::leak(Box::default());
    let _c = event_opts(&srv.url(), ev).connect().unwrap();
    let out = std::process::Command::new(nats_server_bin())
        .arg("--signal")
        .arg(format!("ldm={}", srv.pid()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(ev.wait("lame_duck", 1, 5 * SEC), "{:?}", ev.names());
}

#[test]
fn discovered_servers_are_reported_and_listed() {
    let (pa, pb) = (free_port(), free_port());
    let node = |own: u16, other: u16| {
        Server::start_with(&[
            "--cluster_name",
            "c1",
            "--cluster",
            &format!("nats://127.0.0.1:{own}"),
            "--routes",
            &format!("nats://127.0.0.1:{other}"),
        ])
    };
    let a = node(pa, pb);
    let ev: &'static Events = Box::leak(Box::default());
    let c = event_opts(&a.url(), ev).connect().unwrap();
    let b = node(pb, pa);
    // Wait for the route, then reconnect: the client learns the cluster from the INFO of
    // the connection it makes.
    assert!(wait_until(10 * SEC, || a.monitor("/routez")["num_routes"].as_u64().unwrap_or(0) >= 1));
    assert_eq!(ev.count("discovered"), 0);
    ok(unsafe { nats_connection_reconnect(c.raw()) });
    assert!(ev.wait("discovered", 1, 10 * SEC), "{:?}", ev.names());
    let mut info = null_mut();
    ok(unsafe { nats_connection_server_info(c.raw(), &mut info) });
    let (mut urls, mut n): (*const *const c_char, usize) = (null(), 0);
    ok(unsafe { nats_server_info_discovered_servers(info, &mut urls, &mut n) });
    let found: Vec<String> = (0..n).map(|i| unsafe { cstr(*urls.add(i)) }).collect();
    assert!(found.iter().any(|u| u.ends_with(&format!(":{}", b.port))), "{found:?} should list {}", b.port);
    ok(unsafe { nats_server_info_servers(info, &mut urls, &mut n) });
    assert!(n >= 2);
    assert_eq!(unsafe { cstr(nats_server_info_cluster(info)) }, "c1");
    unsafe { nats_server_info_free(info) };
}

#[test]
fn slow_consumer_drops_over_the_limits_and_reports_once() {
    let srv = Server::start();
    let ev: &'static Events = Box::leak(Box::default());
    let c = event_opts(&srv.url(), ev).connect().unwrap();
    let gate: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    unsafe extern "C" fn blocked(ud: *mut c_void, _s: *mut nats_subscription, _m: *const nats_msg) {
        let gate = &*(ud as *const AtomicBool);
        while !gate.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let subj = cs("slow");
    let mut sub = null_mut();
    ok(unsafe { nats_subscribe(c.raw(), subj.as_ptr(), Some(blocked), gate as *const _ as *mut c_void, &mut sub) });
    check(unsafe { nats_subscription_set_pending_limits(sub, 0, 100) }, NATS_ERR_INVALID_ARGUMENT);
    ok(unsafe { nats_subscription_set_pending_limits(sub, 10, -1) });
    let (mut lm, mut lb) = (0i64, 0i64);
    ok(unsafe { nats_subscription_pending_limits(sub, &mut lm, &mut lb) });
    assert_eq!((lm, lb), (10, -1));
    c.flush();
    for _ in 0..100 {
        ok(c.publish("slow", b"12345"));
    }
    c.flush();
    // 10 pending (one of them in the blocked callback), the rest dropped.
    assert!(wait_until(5 * SEC, || unsafe { nats_subscription_dropped(sub) } == 90), "dropped {}", unsafe {
        nats_subscription_dropped(sub)
    });
    let (mut pm, mut pb) = (0i64, 0i64);
    ok(unsafe { nats_subscription_pending(sub, &mut pm, &mut pb) });
    assert_eq!((pm, pb), (10, 50));
    assert!(wait_until(5 * SEC, || !ev.errors.lock().unwrap().is_empty()));
    std::thread::sleep(Duration::from_millis(100));
    {
        let errs = ev.errors.lock().unwrap();
        assert_eq!(errs.len(), 1, "reported once per episode: {errs:?}");
        assert_eq!(errs[0].0, NATS_ERR_SLOW_CONSUMER);
        assert_eq!(errs[0].1, sub as usize, "the error names the subscription");
    }
    gate.store(true, Ordering::SeqCst);
    assert!(wait_until(5 * SEC, || unsafe { nats_subscription_delivered(sub) } == 10));
    ok(unsafe { nats_subscription_pending(sub, &mut pm, &mut pb) });
    assert_eq!((pm, pb), (0, 0));
    ok(unsafe { nats_subscription_max_pending(sub, &mut pm, &mut pb) });
    assert_eq!((pm, pb), (10, 50));
    let mut st = nats_statistics::default();
    ok(unsafe { nats_connection_stats(c.raw(), &mut st) });
    assert_eq!(st.in_msgs, 100, "received counts dropped messages too");
    // A new episode is reported again.
    for _ in 0..30 {
        ok(c.publish("slow", b"x"));
    }
    gate.store(false, Ordering::SeqCst);
    for _ in 0..30 {
        ok(c.publish("slow", b"x"));
    }
    c.flush();
    gate.store(true, Ordering::SeqCst);
    assert!(wait_until(5 * SEC, || ev.errors.lock().unwrap().len() == 2));
    unsafe { nats_subscription_free(sub) };
}

#[test]
fn default_limits_lose_nothing_at_full_speed() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let p = Conn::to(&srv.url());
    let s = Sub::new(&c, "fast", "");
    c.flush();
    let payload = [7u8; 128];
    for _ in 0..50_000 {
        ok(p.publish("fast", &payload));
    }
    p.flush();
    assert!(s.wait_count(50_000, 30 * SEC), "got {}", s.count());
    assert_eq!(unsafe { nats_subscription_dropped(s.raw()) }, 0);
}

#[test]
fn connection_drain_delivers_everything_then_closes() {
    let srv = Server::start();
    let ev: &'static Events = Box::leak(Box::default());
    let c = event_opts(&srv.url(), ev).connect().unwrap();
    let publisher = Conn::to(&srv.url());
    let counts: Vec<&'static AtomicUsize> = (0..2).map(|_| &*Box::leak(Box::new(AtomicUsize::new(0)))).collect();
    let mut subs = Vec::new();
    for (i, n) in counts.iter().enumerate() {
        let subj = cs(&format!("cd.{i}"));
        let mut sub = null_mut();
        ok(unsafe {
            nats_subscribe(c.raw(), subj.as_ptr(), Some(slow_count), *n as *const _ as *mut c_void, &mut sub)
        });
        subs.push(sub);
    }
    c.flush();
    for i in 0..1000u32 {
        ok(publisher.publish(&format!("cd.{}", i % 2), &i.to_be_bytes()));
    }
    publisher.flush();
    // Also publishes of our own, which must reach the server before the close.
    for _ in 0..100 {
        ok(c.publish("cd.out", b"bye"));
    }
    let watcher = Sub::new(&publisher, "cd.out", "");
    publisher.flush();
    for _ in 0..100 {
        ok(c.publish("cd.out", b"bye"));
    }
    ok(unsafe { nats_connection_drain(c.raw(), 20_000) });
    assert_eq!(counts[0].load(Ordering::SeqCst) + counts[1].load(Ordering::SeqCst), 1000);
    assert_eq!(c.status(), nats_conn_status::NATS_CONN_STATUS_CLOSED);
    assert!(ev.wait("closed", 1, 5 * SEC));
    assert!(watcher.wait_count(100, 5 * SEC), "publishes before drain were sent: {}", watcher.count());
    check(unsafe { nats_connection_drain(c.raw(), 1000) }, NATS_ERR_CONNECTION_CLOSED);
    for s in subs {
        unsafe { nats_subscription_free(s) };
    }
}

#[test]
fn statistics_count_exactly() {
    let srv = Server::start();
    let a = Conn::to(&srv.url());
    let b = Conn::to(&srv.url());
    let s = Sub::new(&b, "st.>", "");
    let responder = Sub::new(&b, "svc.none", "");
    let _ = responder; // not answering: requests below go to an echo responder instead
    unsafe extern "C" fn echo(ud: *mut c_void, _s: *mut nats_subscription, m: *const nats_msg) {
        let c = ud as *mut nats_connection;
        ok(nats_msg_respond(c, m, nats_msg_data(m), nats_msg_data_len(m)));
    }
    let subj = cs("svc.echo");
    let mut es = null_mut();
    ok(unsafe { nats_subscribe(b.raw(), subj.as_ptr(), Some(echo), b.raw().cast(), &mut es) });
    b.flush();
    let mut bytes = 0u64;
    for i in 0..250usize {
        let data = vec![1u8; i];
        bytes += i as u64;
        ok(a.publish(&format!("st.{i}"), &data));
    }
    let hm = new_msg("st.hdr", b"12345");
    set_header(&hm, "K", "V", false);
    ok(unsafe { nats_publish_msg(a.raw(), hm.raw()) });
    bytes += 5;
    for _ in 0..10 {
        assert_eq!(a.request("svc.echo", b"abc", 5000).unwrap().data(), b"abc");
    }
    a.flush();
    assert!(s.wait_count(251, 5 * SEC));
    let mut sa = nats_statistics::default();
    let mut sb = nats_statistics::default();
    ok(unsafe { nats_connection_stats(a.raw(), &mut sa) });
    assert_eq!((sa.out_msgs, sa.out_bytes), (251 + 10, bytes + 30));
    assert_eq!((sa.in_msgs, sa.in_bytes), (10, 30), "replies received");
    assert!(wait_until(5 * SEC, || {
        ok(unsafe { nats_connection_stats(b.raw(), &mut sb) });
        sb.in_msgs == 261
    }));
    assert_eq!((sb.in_msgs, sb.in_bytes), (261, bytes + 30));
    assert_eq!((sb.out_msgs, sb.out_bytes), (10, 30), "replies sent");
    assert_eq!(sa.reconnects, 0);
    unsafe { nats_subscription_free(es) };
}

/// `nats_request_async` publishes its request before it returns, so a publish made after it
/// on the same thread reaches the server after it (it was sent later, from a runtime task,
/// and a publish right after it often went first).
#[test]
fn async_request_keeps_its_place_among_publishes() {
    let srv = Server::start();
    let watcher = Conn::to(&srv.url());
    let seen = Sub::new(&watcher, "ord.*", "");
    watcher.flush();
    let c = Conn::to(&srv.url());
    let results = Arc::new(AsyncResults { got: Mutex::default(), errors: Mutex::default() });
    let (req, rounds) = (cs("ord.req"), 300);
    for i in 0..rounds {
        let payload = format!("{i}").into_bytes();
        ok(results.request(&c, &req, &payload, 100));
        ok(c.publish("ord.pub", &payload));
        if i % 10 == 0 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    assert!(seen.wait_count(2 * rounds, 30 * SEC), "{} of {} messages", seen.count(), 2 * rounds);
    let order: Vec<String> = seen
        .received()
        .msgs
        .lock()
        .unwrap()
        .iter()
        .map(|m| format!("{} {}", m.subject, String::from_utf8_lossy(&m.data)))
        .collect();
    let expected: Vec<String> = (0..rounds).flat_map(|i| [format!("ord.req {i}"), format!("ord.pub {i}")]).collect();
    let first_wrong = order.iter().zip(&expected).position(|(got, want)| got != want);
    assert!(
        first_wrong.is_none() && order.len() == expected.len(),
        "out of order from message {first_wrong:?}: {:?}",
        &order[first_wrong.unwrap_or(0)..order.len().min(first_wrong.unwrap_or(0) + 6)]
    );
    // Every request timed out (nobody answers); its callback ran before the test ends.
    assert!(wait_until(30 * SEC, || results.errors.lock().unwrap().len() == rounds));
}

#[allow(clippy::type_complexity)]
struct AsyncResults {
    got: Mutex<HashMap<Vec<u8>, (nats_status, Vec<u8>)>>,
    errors: Mutex<Vec<(nats_status, String)>>,
}

impl AsyncResults {
    /// `nats_request_async` with `payload`, its outcome recorded here under that payload.
    fn request(self: &Arc<Self>, c: &Conn, subject: &CStr, payload: &[u8], timeout_ms: u64) -> nats_status {
        let ud = Box::into_raw(Box::new((self.clone(), payload.to_vec())));
        unsafe {
            nats_request_async(
                c.raw(),
                subject.as_ptr(),
                payload.as_ptr().cast(),
                payload.len(),
                timeout_ms,
                Some(on_reply),
                ud.cast(),
            )
        }
    }
}

unsafe extern "C" fn on_reply(ud: *mut c_void, status: nats_status, reply: *const nats_msg) {
    assert!(!std::thread::current().name().unwrap_or("").starts_with("nats-ffi-rt"));
    let r = &*(ud as *const (Arc<AsyncResults>, Vec<u8>));
    if status == NATS_OK {
        r.0.got.lock().unwrap().insert(r.1.clone(), (status, msg_data(reply)));
    } else {
        assert!(reply.is_null());
        r.0.errors.lock().unwrap().push((status, last_error()));
    }
    drop(Box::from_raw(ud as *mut (Arc<AsyncResults>, Vec<u8>)));
}

#[test]
fn async_requests_1000_in_flight() {
    let srv = Server::start();
    let responder = Conn::to(&srv.url());
    unsafe extern "C" fn upper(ud: *mut c_void, _s: *mut nats_subscription, m: *const nats_msg) {
        let c = ud as *mut nats_connection;
        let d: Vec<u8> = msg_data(m).to_ascii_uppercase();
        ok(nats_msg_respond(c, m, d.as_ptr().cast(), d.len()));
    }
    let subj = cs("svc.upper");
    let (q, mut subs) = (cs("q"), Vec::new());
    for _ in 0..4 {
        let mut s = null_mut();
        ok(unsafe {
            nats_queue_subscribe(
                responder.raw(),
                subj.as_ptr(),
                q.as_ptr(),
                Some(upper),
                responder.raw().cast(),
                &mut s,
            )
        });
        subs.push(s);
    }
    responder.flush();
    let c = Conn::to(&srv.url());
    let results = Arc::new(AsyncResults { got: Mutex::default(), errors: Mutex::default() });
    let t = Instant::now();
    for i in 0..1000 {
        let payload = format!("req-{i}").into_bytes();
        ok(results.request(&c, &subj, &payload, 10_000));
    }
    let issued = t.elapsed();
    assert!(
        wait_until(30 * SEC, || results.got.lock().unwrap().len() == 1000),
        "{} replies",
        results.got.lock().unwrap().len()
    );
    eprintln!("1000 async requests: issued in {issued:?}, all replied in {:?}", t.elapsed());
    for (req, (st, rep)) in results.got.lock().unwrap().iter() {
        assert_eq!(*st, NATS_OK);
        assert_eq!(rep, &req.to_ascii_uppercase(), "reply matches its request");
    }
    assert!(results.errors.lock().unwrap().is_empty());
    // Failures arrive through the callback too, with an explanation.
    let nobody = cs("svc.nobody");
    let ud = Box::into_raw(Box::new((results.clone(), b"x".to_vec())));
    ok(unsafe { nats_request_async(c.raw(), nobody.as_ptr(), null(), 0, 5000, Some(on_reply), ud.cast()) });
    assert!(wait_until(5 * SEC, || results.errors.lock().unwrap().len() == 1));
    let (st, text) = results.errors.lock().unwrap()[0].clone();
    assert_eq!(st, NATS_ERR_NO_RESPONDERS);
    assert!(text.contains("svc.nobody"), "{text}");
    // Timeout: a responder that never answers.
    let _silent = Sub::new(&responder, "svc.silent", "");
    responder.flush();
    let silent = cs("svc.silent");
    let ud = Box::into_raw(Box::new((results.clone(), b"y".to_vec())));
    ok(unsafe { nats_request_async(c.raw(), silent.as_ptr(), null(), 0, 200, Some(on_reply), ud.cast()) });
    assert!(wait_until(5 * SEC, || results.errors.lock().unwrap().len() == 2));
    assert_eq!(results.errors.lock().unwrap()[1].0, NATS_ERR_TIMEOUT);
    check(
        unsafe { nats_request_async(c.raw(), subj.as_ptr(), null(), 0, 0, None, null_mut()) },
        NATS_ERR_NULL_ARGUMENT,
    );
    for s in subs {
        unsafe { nats_subscription_free(s) };
    }
}

#[test]
fn server_info_rtt_inbox_and_max_payload() {
    let store = tempfile::tempdir().unwrap();
    let srv = Server::start_with(&["-js", "-sd", store.path().to_str().unwrap()]);
    let c = Conn::to(&srv.url());
    let mut info = null_mut();
    ok(unsafe { nats_connection_server_info(c.raw(), &mut info) });
    unsafe {
        assert!(!cstr(nats_server_info_id(info)).is_empty());
        assert!(!cstr(nats_server_info_name(info)).is_empty());
        assert!(cstr(nats_server_info_version(info)).starts_with("2."));
        assert_eq!(cstr(nats_server_info_connected_url(info)), srv.url());
        assert_eq!(cstr(nats_server_info_client_ip(info)), "127.0.0.1");
        assert_eq!(nats_server_info_port(info), srv.port);
        assert!(nats_server_info_client_id(info) > 0);
        assert!(nats_server_info_jetstream(info));
        assert!(nats_server_info_headers(info));
        assert!(!nats_server_info_lame_duck(info));
        assert_eq!(nats_server_info_max_payload(info), 1024 * 1024);
        let (mut urls, mut n): (*const *const c_char, usize) = (null(), 7);
        ok(nats_server_info_discovered_servers(info, &mut urls, &mut n));
        assert_eq!(n, 0);
        assert!(urls.is_null());
        nats_server_info_free(info);
        nats_server_info_free(null_mut());
        assert_eq!(cstr(nats_server_info_id(null())), "");
    }
    // The server's own view of us matches.
    let connz = srv.monitor("/connz");
    let cid = connz["connections"][0]["cid"].as_u64().unwrap();
    let mut info = null_mut();
    ok(unsafe { nats_connection_server_info(c.raw(), &mut info) });
    assert_eq!(unsafe { nats_server_info_client_id(info) }, cid);
    unsafe { nats_server_info_free(info) };
    assert_eq!(unsafe { nats_connection_max_payload(c.raw()) }, 1024 * 1024);
    let plain = Server::start();
    let pc = Conn::to(&plain.url());
    let mut pinfo = null_mut();
    ok(unsafe { nats_connection_server_info(pc.raw(), &mut pinfo) });
    assert!(!unsafe { nats_server_info_jetstream(pinfo) });
    unsafe { nats_server_info_free(pinfo) };
    let mut rtt = 0u64;
    ok(unsafe { nats_connection_rtt(c.raw(), &mut rtt) });
    assert!(rtt > 0 && rtt < 1_000_000, "{rtt} us");
    let (mut a, mut b) = (null_mut(), null_mut());
    ok(unsafe { nats_connection_new_inbox(c.raw(), &mut a) });
    ok(unsafe { nats_connection_new_inbox(c.raw(), &mut b) });
    assert_ne!(unsafe { cstr(a) }, unsafe { cstr(b) });
    unsafe {
        nats_string_free(a);
        nats_string_free(b);
        nats_string_free(null_mut());
    }
    assert!(!unsafe { nats_connection_is_closed(c.raw()) });
    unsafe { nats_connection_close(c.raw()) };
    assert!(unsafe { nats_connection_is_closed(c.raw()) });
    check(unsafe { nats_connection_rtt(c.raw(), &mut rtt) }, NATS_ERR_CONNECTION_CLOSED);
    check(unsafe { nats_connection_reconnect(c.raw()) }, NATS_ERR_CONNECTION_CLOSED);
}

#[test]
fn reconnect_buffer_keeps_publishes_and_refuses_when_full() {
    let mut srv = Server::start();
    let ev: &'static Events = Box::leak(Box::default());
    let o = event_opts(&srv.url(), ev);
    ok(unsafe { nats_options_set_reconnect_buffer_size(o.raw(), 64 * 1024) });
    ok(unsafe { nats_options_set_reconnect_wait_ms(o.raw(), 100) });
    let c = o.connect().unwrap();
    let s = Sub::new(&c, "buf", "");
    c.flush();
    srv.kill();
    assert!(ev.wait("disconnected", 1, 5 * SEC));
    assert_eq!(c.status(), nats_conn_status::NATS_CONN_STATUS_RECONNECTING);
    let mut accepted = 0u32;
    let payload = [5u8; 1000];
    let t = Instant::now();
    loop {
        let mut data = payload;
        data[..4].copy_from_slice(&accepted.to_be_bytes());
        match c.publish("buf", &data) {
            NATS_OK => accepted += 1,
            NATS_ERR_BUFFER_FULL => break,
            e => panic!("unexpected {e:?}: {}", last_error()),
        }
        assert!(accepted < 1000, "the buffer never filled");
    }
    assert!(t.elapsed() < SEC, "publishing while disconnected does not block: {:?}", t.elapsed());
    // 64 KiB of publishes (payload and subject), all held by the library while disconnected.
    assert!((60..=66).contains(&accepted), "accepted {accepted}");
    assert!(unsafe { nats_connection_buffered(c.raw()) } > 60_000);
    srv.restart();
    assert!(ev.wait("reconnected", 1, 10 * SEC));
    assert!(s.wait_count(accepted as usize, 10 * SEC), "got {} of {accepted}", s.count());
    std::thread::sleep(Duration::from_millis(200));
    let got: Vec<u32> =
        s.received().payloads().iter().map(|p| u32::from_be_bytes(p[..4].try_into().unwrap())).collect();
    assert_eq!(got, (0..accepted).collect::<Vec<_>>(), "every buffered message, once, in order");
    assert_eq!(unsafe { nats_connection_buffered(c.raw()) }, 0);
}

/// A TCP listener on `port` counting connection attempts (and dropping them).
fn count_attempts(port: u16, stop: Arc<AtomicBool>) -> Arc<AtomicUsize> {
    let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
    l.set_nonblocking(true).unwrap();
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            match l.accept() {
                Ok(_) => {
                    n2.fetch_add(1, Ordering::SeqCst);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    n
}

#[test]
fn reconnect_wait_spaces_attempts() {
    let mut srv = Server::start();
    let ev: &'static Events = Box::leak(Box::default());
    let o = event_opts(&srv.url(), ev);
    ok(unsafe { nats_options_set_reconnect_wait_ms(o.raw(), 400) });
    ok(unsafe { nats_options_set_reconnect_jitter_ms(o.raw(), 0, 0) });
    let _c = o.connect().unwrap();
    srv.kill();
    let stop = Arc::new(AtomicBool::new(false));
    let n = count_attempts(srv.port, stop.clone());
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::SeqCst);
    let attempts = n.load(Ordering::SeqCst);
    // One at once, then one per 400 ms (+ connect time): 3 to 5 in 1.5 s; the default backoff
    // (2, 4, 8 ... ms) would make about 10.
    assert!((2..=5).contains(&attempts), "{attempts} attempts in 1.5 s");
}

static DELAY_CALLS: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn delay_cb(ud: *mut c_void, attempts: u32) -> u64 {
    assert_eq!(ud as usize, 42);
    let name = std::thread::current().name().unwrap_or("").to_string();
    DELAY_CALLS.lock().unwrap().push((attempts, name));
    50
}

#[test]
fn reconnect_delay_callback_decides_the_wait() {
    let mut srv = Server::start();
    let ev: &'static Events = Box::leak(Box::default());
    let o = event_opts(&srv.url(), ev);
    ok(unsafe { nats_options_set_reconnect_delay_cb(o.raw(), Some(delay_cb), 42 as *mut c_void) });
    let c = o.connect().unwrap();
    srv.kill();
    assert!(wait_until(5 * SEC, || DELAY_CALLS.lock().unwrap().len() >= 4));
    srv.restart();
    assert!(ev.wait("reconnected", 1, 10 * SEC));
    let calls = DELAY_CALLS.lock().unwrap().clone();
    let attempts: Vec<u32> = calls.iter().map(|c| c.0).collect();
    assert_eq!(attempts[0], 1, "{attempts:?}");
    assert!(attempts.windows(2).all(|w| w[1] >= w[0]) && *attempts.last().unwrap() >= 3, "{attempts:?}");
    assert!(calls.iter().all(|c| c.1 == "nats-ffi-delay"), "{calls:?}");
    ok(unsafe { nats_connection_flush(c.raw(), 5000) });
}

/// A TCP proxy to `upstream` that can be frozen: it then stops forwarding in both directions
/// while keeping the sockets open (a dead network, not a closed one).
fn freezable_proxy(upstream: u16) -> (u16, Arc<AtomicBool>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let frozen = Arc::new(AtomicBool::new(false));
    let f = frozen.clone();
    std::thread::spawn(move || {
        for client in l.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
            for (mut from, mut to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)] {
                let f = f.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    loop {
                        let n = match from.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        while f.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        if to.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                });
            }
        }
    });
    (port, frozen)
}

#[test]
fn max_pings_out_detects_a_dead_link() {
    let srv = Server::start();
    let (port, frozen) = freezable_proxy(srv.port);
    let ev: &'static Events = Box::leak(Box::default());
    let o = event_opts(&format!("nats://127.0.0.1:{port}"), ev);
    ok(unsafe { nats_options_set_ping_interval_ms(o.raw(), 100) });
    ok(unsafe { nats_options_set_max_pings_out(o.raw(), 3) });
    check(unsafe { nats_options_set_max_pings_out(o.raw(), 0) }, NATS_ERR_INVALID_ARGUMENT);
    let c = o.connect().unwrap();
    c.flush();
    // Healthy: a second of pings answered, no disconnect.
    std::thread::sleep(SEC);
    assert_eq!(ev.count("disconnected"), 0, "{:?}", ev.names());
    frozen.store(true, Ordering::SeqCst);
    let t = Instant::now();
    assert!(ev.wait("disconnected", 1, 3 * SEC), "{:?}", ev.names());
    let took = t.elapsed();
    // 3 unanswered pings at 100 ms: noticed at the 4th tick.
    assert!(took >= Duration::from_millis(250), "too early: {took:?}");
    frozen.store(false, Ordering::SeqCst);
    assert!(ev.wait("reconnected", 1, 10 * SEC), "{:?}", ev.names());
}

/// The process's resident memory high-water mark, in bytes, since `reset_peak`.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// A publisher faster than the socket (here: the server stopped with SIGSTOP, so nothing is
/// read) ends up waiting with a bounded amount of memory held for it: at most 1 MiB queued
/// (`nats_connection_buffered`) and a few buffers lent to the engine. Before, up to 8 MiB
/// waited and up to `sender_capacity` (128) buffers of 256 KiB were in flight: the process
/// grew by 17 MiB here (now 1-2 MiB), and a release-build program publishing 4 KiB messages
/// at full speed peaked at 80 MB resident (now 8 MB). Measured in a child process of its own
/// (this test only), away from the other tests' memory.
#[test]
fn a_publisher_faster_than_the_socket_holds_bounded_memory() {
    if ran_in_child_process("a_publisher_faster_than_the_socket_holds_bounded_memory", "burst:") {
        return;
    }
    let srv = Server::start();
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_request_timeout_ms(o.raw(), 1500) });
    let c = o.connect().unwrap();
    let sub = Sub::new(&c, "burst", "");
    c.flush();
    let payload = vec![7u8; 4096];
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = peak_rss();
    assert_eq!(unsafe { libc::kill(srv.pid() as i32, libc::SIGSTOP) }, 0);
    let mut accepted = 0usize;
    let mut most_buffered = 0;
    let refused = loop {
        match c.publish("burst", &payload) {
            NATS_OK => accepted += 1,
            e => break e,
        }
        most_buffered = most_buffered.max(unsafe { nats_connection_buffered(c.raw()) });
        // 80 MiB: far more than the socket and every bound above take.
        assert!(accepted < 20_000, "publishing never waited");
    };
    let grew = peak_rss().saturating_sub(before);
    assert_eq!(unsafe { libc::kill(srv.pid() as i32, libc::SIGCONT) }, 0);
    check(refused, NATS_ERR_TIMEOUT);
    let seen = format!("{most_buffered} bytes waited at most; memory peak +{} MiB for {accepted} messages", grew >> 20);
    println!("burst: {seen}");
    assert!(most_buffered <= (1 << 20) + 4200, "{seen}");
    assert!(grew < 8 << 20, "{seen}");
    // Nothing accepted is lost once the server reads again.
    assert!(sub.wait_count(accepted, 30 * SEC), "got {} of {accepted}", sub.count());
}

#[test]
fn option_setters_for_reconnect_tuning() {
    let o = Opts::new();
    unsafe {
        ok(nats_options_set_no_randomize(o.raw(), true));
        ok(nats_options_set_reconnect_wait_ms(o.raw(), 0));
        ok(nats_options_set_reconnect_jitter_ms(o.raw(), 10, 20));
        ok(nats_options_set_reconnect_buffer_size(o.raw(), 0));
        ok(nats_options_set_max_pings_out(o.raw(), 1));
        ok(nats_options_set_connected_cb(o.raw(), None, null_mut()));
        ok(nats_options_set_error_cb(o.raw(), None, null_mut()));
        ok(nats_options_set_reconnect_delay_cb(o.raw(), None, null_mut()));
        check(nats_options_set_no_randomize(null_mut(), true), NATS_ERR_NULL_ARGUMENT);
        check(nats_options_set_closed_cb(null_mut(), None, null_mut()), NATS_ERR_NULL_ARGUMENT);
    }
}

#[test]
fn reconnect_buffer_zero_refuses_while_disconnected() {
    let mut srv = Server::start();
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_reconnect_buffer_size(o.raw(), 0) });
    ok(unsafe { nats_options_set_sender_capacity(o.raw(), 8) });
    let c = o.connect().unwrap();
    srv.kill();
    assert!(c.wait_status(nats_conn_status::NATS_CONN_STATUS_RECONNECTING, 5 * SEC));
    // No reconnect buffer: nothing is accepted while the connection is down.
    check(c.publish("x", b"y"), NATS_ERR_BUFFER_FULL);
    check(c.publish("x", b"y"), NATS_ERR_BUFFER_FULL);
}

/// A subscription made after publishes to its own subject does not receive them: the SUB
/// goes to the server after everything published before it on this connection (as in
/// nats.c, where both share one buffer). Before, the SUB could overtake publishes still in
/// the library's buffer and the new subscription received messages published before it.
#[test]
fn subscribe_stays_behind_earlier_publishes() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    for round in 0..20 {
        let subject = format!("behind.{round}");
        for _ in 0..5000 {
            ok(c.publish(&subject, b"published before the subscription"));
        }
        let sub = sync_sub(&c, &subject);
        c.flush();
        let early = next(sub, 100);
        unsafe { nats_subscription_free(sub) };
        assert_eq!(early.err(), Some(NATS_ERR_TIMEOUT), "round {round}: a message published before the SUB arrived");
    }
}

/// What a callback of `callback_sees_its_handle_only_after_subscribe_returned` shares with
/// the test: where `nats_subscribe` writes the handle, and what the callbacks saw.
struct HandleWatch {
    out: std::sync::atomic::AtomicPtr<nats_subscription>,
    early: AtomicUsize,
    calls: AtomicUsize,
}

unsafe extern "C" fn note_handle(ud: *mut c_void, sub: *mut nats_subscription, _msg: *const nats_msg) {
    let w = &*(ud as *const HandleWatch);
    w.calls.fetch_add(1, Ordering::SeqCst);
    if w.out.load(Ordering::SeqCst) != sub {
        w.early.fetch_add(1, Ordering::SeqCst);
    }
}

/// A callback may free its own subscription, so it must never run before `nats_subscribe`
/// has handed the handle to the caller: freeing a reference the caller does not hold yet
/// freed the subscription under the call (a double free seen under ASan). Messages flow on
/// the subject the whole time, so the first one can arrive while the call is still running.
#[test]
fn callback_sees_its_handle_only_after_subscribe_returned() {
    let srv = Server::start();
    let flood = Conn::to(&srv.url());
    let opts = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_use_shared_delivery(opts.raw(), true) });
    let c = opts.connect().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let stop = stop.clone();
        let url = srv.url();
        std::thread::spawn(move || {
            let p = Conn::to(&url);
            let deadline = Instant::now() + 60 * SEC;
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                for _ in 0..100 {
                    ok(p.publish("handle.flood", b"x"));
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    // Busy threads make it likely that the subscribing thread is preempted inside the call.
    let spinners: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let deadline = Instant::now() + 60 * SEC;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let subject = cs("handle.flood");
    let (mut calls, mut early) = (0, 0);
    for _ in 0..1000 {
        let w =
            Box::new(HandleWatch { out: Default::default(), early: AtomicUsize::new(0), calls: AtomicUsize::new(0) });
        let ud = &*w as *const HandleWatch as *mut c_void;
        ok(unsafe { nats_subscribe(c.raw(), subject.as_ptr(), Some(note_handle), ud, w.out.as_ptr()) });
        let sub = w.out.load(Ordering::SeqCst);
        assert!(wait_until(10 * SEC, || w.calls.load(Ordering::SeqCst) > 0), "no message arrived");
        ok(unsafe { nats_subscription_unsubscribe(sub) });
        unsafe { nats_subscription_free(sub) };
        calls += w.calls.load(Ordering::SeqCst);
        early += w.early.load(Ordering::SeqCst);
        std::mem::forget(w); // a late callback may still read it
    }
    stop.store(true, Ordering::Relaxed);
    publisher.join().unwrap();
    spinners.into_iter().for_each(|t| t.join().unwrap());
    drop(flood);
    assert_eq!(early, 0, "{early} of {calls} callbacks ran before nats_subscribe returned the handle");
}

unsafe fn opt_cstr(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| cstr(p))
}

/// A subscription reports its subject, queue group and protocol id (the server's `sid`);
/// the connection its name; `nats_subscription_clear_max_pending` restarts the high-water
/// mark. NULL gives NULL / 0.
#[test]
fn subscription_and_connection_getters() {
    let srv = Server::start();
    let c = Opts::new().servers(&[&srv.url()]).name("mta-1").connect().unwrap();
    assert_eq!(unsafe { opt_cstr(nats_connection_name(c.raw())) }.as_deref(), Some("mta-1"));
    let unnamed = Conn::to(&srv.url());
    assert!(unsafe { nats_connection_name(unnamed.raw()) }.is_null());
    assert!(unsafe { nats_connection_name(null()) }.is_null());

    let plain = sync_sub(&c, "mail.in.*");
    let (subject, queue) = (cs("mail.out"), cs("senders"));
    let mut grouped = null_mut();
    ok(unsafe { nats_queue_subscribe_sync(c.raw(), subject.as_ptr(), queue.as_ptr(), &mut grouped) });
    c.flush();
    unsafe {
        assert_eq!(cstr(nats_subscription_subject(plain)), "mail.in.*");
        assert!(nats_subscription_queue(plain).is_null());
        assert_eq!(cstr(nats_subscription_subject(grouped)), "mail.out");
        assert_eq!(opt_cstr(nats_subscription_queue(grouped)).as_deref(), Some("senders"));
        assert!(nats_subscription_subject(null()).is_null() && nats_subscription_queue(null()).is_null());
        assert_eq!(nats_subscription_id(null()), 0);
    }
    // The ids are the server's sids for these subjects.
    let connz = srv.monitor("/connz?subs=detail");
    let conn = connz["connections"].as_array().unwrap().iter().find(|x| x["name"] == "mta-1").unwrap().clone();
    let sid_of = |subject: &str| -> u64 {
        let detail = conn["subscriptions_list_detail"].as_array().unwrap();
        let s = detail.iter().find(|d| d["subject"] == subject).unwrap_or_else(|| panic!("{subject} in {conn}"));
        s["sid"].as_str().unwrap().parse().unwrap()
    };
    assert_eq!(unsafe { nats_subscription_id(plain) }, sid_of("mail.in.*"));
    assert_eq!(unsafe { nats_subscription_id(grouped) }, sid_of("mail.out"));
    assert_ne!(unsafe { nats_subscription_id(plain) }, unsafe { nats_subscription_id(grouped) });

    for _ in 0..5 {
        ok(c.publish("mail.in.x", b"12345"));
    }
    c.flush();
    assert!(wait_until(10 * SEC, || pending_of(plain).0 == 5));
    while next(plain, 0).is_ok() {}
    assert_eq!(max_pending_of(plain), (5, 25));
    ok(unsafe { nats_subscription_clear_max_pending(plain) });
    assert_eq!(max_pending_of(plain), (0, 0));
    check(unsafe { nats_subscription_clear_max_pending(null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    unsafe {
        nats_subscription_free(plain);
        nats_subscription_free(grouped);
    }
}

fn pending_of(sub: *mut nats_subscription) -> (i64, i64) {
    let (mut m, mut b) = (0, 0);
    ok(unsafe { nats_subscription_pending(sub, &mut m, &mut b) });
    (m, b)
}

fn max_pending_of(sub: *mut nats_subscription) -> (i64, i64) {
    let (mut m, mut b) = (0, 0);
    ok(unsafe { nats_subscription_max_pending(sub, &mut m, &mut b) });
    (m, b)
}

/// With reconnection off, a lost connection closes (disconnected, then closed) and stays
/// closed when the server comes back: nothing dials it, calls fail with CONNECTION_CLOSED.
#[test]
fn reconnection_off_closes_on_the_first_loss() {
    let mut srv = Server::start();
    let ev: &'static Events = Box::leak(Box::default());
    let o = event_opts(&srv.url(), ev);
    ok(unsafe { nats_options_set_allow_reconnect(o.raw(), false) });
    ok(unsafe { nats_options_set_reconnect_wait_ms(o.raw(), 50) });
    let c = o.connect().unwrap();
    assert!(ev.wait("connected", 1, 5 * SEC));
    check(unsafe { nats_connection_reconnect(c.raw()) }, NATS_ERR_INVALID_ARGUMENT);
    srv.kill();
    assert!(ev.wait("closed", 1, 10 * SEC), "{:?}", ev.names());
    assert_eq!(c.status(), nats_conn_status::NATS_CONN_STATUS_CLOSED);
    srv.restart();
    std::thread::sleep(2 * SEC);
    assert_eq!(srv.num_connections(), 0, "the closed connection dialed the server again");
    assert_eq!(ev.names(), ["connected", "disconnected", "closed"]);
    check(c.publish("after.close", b"x"), NATS_ERR_CONNECTION_CLOSED);
    check(unsafe { nats_options_set_allow_reconnect(null_mut(), false) }, NATS_ERR_NULL_ARGUMENT);

    // The default still reconnects (the same server, killed again).
    let ev2: &'static Events = Box::leak(Box::default());
    let again = event_opts(&srv.url(), ev2).connect().unwrap();
    srv.kill();
    srv.restart();
    assert!(ev2.wait("reconnected", 1, 10 * SEC), "{:?}", ev2.names());
    assert_eq!(again.status(), nats_conn_status::NATS_CONN_STATUS_CONNECTED);
}

/// With fail_requests_on_disconnect, a request waiting for its reply fails with
/// NATS_ERR_DISCONNECTED as soon as the connection is lost (not at its 20 s timeout); without
/// it, the request waits (and here times out). Async requests report the same status.
#[test]
fn requests_fail_on_disconnect_when_asked() {
    let mut srv = Server::start();
    let silent = Conn::to(&srv.url()); // subscribed, never answers: requests wait
    let never = sync_sub(&silent, "slow.service");
    silent.flush();
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_fail_requests_on_disconnect(o.raw(), true) });
    let c = Arc::new(o.connect().unwrap());
    let plain = Arc::new(Conn::to(&srv.url()));
    let waiting = {
        let c = c.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            (c.request("slow.service", b"?", 20_000).map(drop), start.elapsed())
        })
    };
    let waiting_plain = {
        let plain = plain.clone();
        std::thread::spawn(move || plain.request("slow.service", b"?", 3_000).map(drop))
    };
    std::thread::sleep(Duration::from_millis(500)); // both requests are out
    srv.kill();
    let (outcome, took) = waiting.join().unwrap();
    assert_eq!(outcome.unwrap_err(), NATS_ERR_DISCONNECTED, "{}", last_error());
    assert!(took < 10 * SEC, "failed only after {took:?}");
    assert!(nats_status_is_retryable(NATS_ERR_DISCONNECTED as i32));
    assert_eq!(waiting_plain.join().unwrap().unwrap_err(), NATS_ERR_TIMEOUT);
    srv.restart();
    assert!(c.wait_status(nats_conn_status::NATS_CONN_STATUS_CONNECTED, 10 * SEC));
    unsafe { nats_subscription_free(never) };
}

/// The connection's local IP and port are the client's side as the server's `/connz` lists
/// it, again after a reconnect (a new port); closed and bad arguments are refused.
#[test]
fn local_address_is_what_the_server_sees() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let local = |c: &Conn| {
        let (mut ip, mut port) = (std::ptr::null_mut(), 0u16);
        ok(unsafe { nats_connection_local_address(c.raw(), &mut ip, &mut port) });
        let text = unsafe { CStr::from_ptr(ip) }.to_str().unwrap().to_string();
        unsafe { nats_string_free(ip) };
        (text, port)
    };
    let server_side = || -> Vec<(String, u16)> {
        let connz = srv.monitor("/connz");
        connz["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["ip"].as_str().unwrap().to_string(), c["port"].as_u64().unwrap() as u16))
            .collect()
    };
    let first = local(&c);
    assert_eq!(first.0, "127.0.0.1");
    assert!(server_side().contains(&first), "{first:?} not in {:?}", server_side());
    ok(unsafe { nats_connection_reconnect(c.raw()) });
    assert!(wait_until(Duration::from_secs(10), || {
        let mut p = 0u16;
        let mut ip = std::ptr::null_mut();
        let st = unsafe { nats_connection_local_address(c.raw(), &mut ip, &mut p) };
        unsafe { nats_string_free(ip) };
        st == NATS_OK && p != first.1
    }));
    let second = local(&c);
    assert!(wait_until(Duration::from_secs(5), || server_side() == vec![second.clone()]), "{:?}", server_side());
    let mut ip = std::ptr::null_mut();
    check(unsafe { nats_connection_local_address(c.raw(), &mut ip, std::ptr::null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    unsafe { nats_connection_close(c.raw()) };
    let mut port = 7u16;
    check(unsafe { nats_connection_local_address(c.raw(), &mut ip, &mut port) }, NATS_ERR_CONNECTION_CLOSED);
    assert!(ip.is_null() && port == 7);
}
