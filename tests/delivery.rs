//! Where callbacks run (issue 16): the shared delivery pool and the dispatcher (the
//! application's own thread), against a real nats-server.

mod common;
use common::js::*;
use common::*;
use nats_ffi::*;
use std::collections::HashSet;
use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

fn dispatcher() -> Dispatcher {
    let mut d = null_mut();
    ok(unsafe { nats_dispatcher_new(&mut d) });
    Dispatcher::from_raw(d)
}

/// Options for `server` whose callbacks go to `d`.
fn dispatched_opts(server: &Server, d: &Dispatcher) -> Opts {
    let o = Opts::new().servers(&[&server.url()]);
    ok(unsafe { nats_options_set_dispatcher(o.raw(), d.raw()) });
    o
}

/// Runs `d`'s callbacks on this thread until `done()` holds or `limit` passed.
fn dispatch_until(d: &Dispatcher, limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        let _ = unsafe { nats_dispatcher_wait(d.raw(), 20) };
        ok(unsafe { nats_dispatcher_dispatch(d.raw(), usize::MAX, null_mut()) });
    }
    done()
}

/// Whether the dispatcher's descriptor polls readable right now.
fn readable(d: &Dispatcher) -> bool {
    let mut p = libc::pollfd { fd: unsafe { nats_dispatcher_fd(d.raw()) }, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, 0) == 1 && p.revents & libc::POLLIN != 0 }
}

fn dispatch(d: &Dispatcher, max: usize) -> usize {
    let mut ran = 0;
    ok(unsafe { nats_dispatcher_dispatch(d.raw(), max, &mut ran) });
    ran
}

/// Which callbacks ran, on which threads; how many `user_data_free` calls.
#[derive(Default)]
struct Seen {
    calls: Mutex<Vec<(&'static str, ThreadId, Option<String>)>>,
    freed: AtomicUsize,
}

impl Seen {
    fn leak() -> &'static Seen {
        Box::leak(Box::default())
    }
    fn ud(&'static self) -> *mut c_void {
        self as *const Seen as *mut c_void
    }
    fn note(&self, kind: &'static str) {
        let t = std::thread::current();
        self.calls.lock().unwrap().push((kind, t.id(), t.name().map(str::to_string)));
    }
    fn count(&self, kind: &str) -> usize {
        self.calls.lock().unwrap().iter().filter(|c| c.0 == kind).count()
    }
    fn threads(&self) -> HashSet<ThreadId> {
        self.calls.lock().unwrap().iter().map(|c| c.1).collect()
    }
    fn thread_names(&self) -> HashSet<Option<String>> {
        self.calls.lock().unwrap().iter().map(|c| c.2.clone()).collect()
    }
}

unsafe fn seen<'a>(ud: *mut c_void) -> &'a Seen {
    unsafe { &*(ud as *const Seen) }
}
unsafe extern "C" fn on_msg(ud: *mut c_void, _s: *mut nats_subscription, _m: *const nats_msg) {
    unsafe { seen(ud) }.note("msg");
}
unsafe extern "C" fn on_pull(ud: *mut c_void, _s: *mut nats_subscription, m: *const nats_msg) {
    ok(unsafe { nats_msg_ack(m) });
    unsafe { seen(ud) }.note("pull");
}
unsafe extern "C" fn on_event(ud: *mut c_void, _c: *mut nats_connection) {
    unsafe { seen(ud) }.note("event");
}
unsafe extern "C" fn on_reply(ud: *mut c_void, st: nats_status, _r: *const nats_msg) {
    assert_eq!(st, NATS_OK);
    unsafe { seen(ud) }.note("reply");
}
unsafe extern "C" fn on_ack(ud: *mut c_void, st: nats_status, _a: *const nats_pub_ack) {
    assert_eq!(st, NATS_OK);
    unsafe { seen(ud) }.note("ack");
}
unsafe extern "C" fn on_entry(ud: *mut c_void, _e: *const nats_kv_entry) {
    unsafe { seen(ud) }.note("kv");
}
unsafe extern "C" fn on_free(ud: *mut c_void) {
    unsafe { seen(ud) }.note("free");
    unsafe { seen(ud) }.freed.fetch_add(1, Ordering::SeqCst);
}

/// Answers every request on `subject` (on its own connection's threads).
fn responder(server: &Server, subject: &str) -> (Conn, *mut nats_subscription) {
    unsafe extern "C" fn answer(ud: *mut c_void, _s: *mut nats_subscription, m: *const nats_msg) {
        let _ = unsafe { nats_msg_respond(ud.cast(), m, b"pong".as_ptr().cast(), 4) };
    }
    let c = Conn::to(&server.url());
    let s = cs(subject);
    let mut sub = null_mut();
    ok(unsafe { nats_subscribe(c.raw(), s.as_ptr(), Some(answer), c.raw().cast(), &mut sub) });
    c.flush();
    (c, sub)
}

fn subscribe(conn: &Conn, subject: &str, cb: nats_msg_callback, seen: &'static Seen) -> *mut nats_subscription {
    let s = cs(subject);
    let mut sub = null_mut();
    ok(unsafe { nats_subscribe_ex(conn.raw(), s.as_ptr(), std::ptr::null(), cb, seen.ud(), Some(on_free), &mut sub) });
    sub
}

fn pending(sub: *mut nats_subscription) -> i64 {
    let (mut msgs, mut bytes) = (0, 0);
    ok(unsafe { nats_subscription_pending(sub, &mut msgs, &mut bytes) });
    msgs
}

/// Every kind of callback — messages, connection events, async request replies, JetStream
/// publish acks, KV watch entries, pull-consume deliveries — runs inside
/// `nats_dispatcher_dispatch`, on the dispatching thread, and only there.
#[test]
fn every_callback_kind_runs_on_the_dispatching_thread() {
    let server = js_server();
    let (_resp, _resp_sub) = responder(&server, "svc");
    let d = dispatcher();
    let seen = Seen::leak();
    let o = dispatched_opts(&server, &d);
    ok(unsafe { nats_options_set_connected_cb(o.raw(), Some(on_event), seen.ud()) });
    ok(unsafe { nats_options_set_closed_cb(o.raw(), Some(on_event), seen.ud()) });
    let conn = o.connect().unwrap();
    let sub = subscribe(&conn, "d.msgs", Some(on_msg), seen);
    conn.flush();
    for i in 0..100u32 {
        ok(conn.publish("d.msgs", &i.to_be_bytes()));
    }
    let svc = cs("svc");
    ok(unsafe {
        nats_request_async(conn.raw(), svc.as_ptr(), b"ping".as_ptr().cast(), 4, 5000, Some(on_reply), seen.ud())
    });
    let j = js(&conn);
    create_stream(&j, "DS", &["ds.>"], 0);
    let subject = cs("ds.x");
    for _ in 0..10 {
        let st = unsafe {
            nats_jetstream_publish_async(
                j.raw(),
                subject.as_ptr(),
                b"x".as_ptr().cast(),
                1,
                std::ptr::null(),
                Some(on_ack),
                seen.ud(),
            )
        };
        ok(st);
    }
    let bucket = cs("DK");
    let cfg = kv_config_for(&bucket);
    let mut kv = null_mut();
    ok(unsafe { nats_jetstream_kv_create(j.raw(), &cfg, &mut kv) });
    let kv = Kv::from_raw(kv);
    let mut watcher = null_mut();
    ok(unsafe { nats_kv_watch(kv.raw(), std::ptr::null(), 0, Some(on_entry), seen.ud(), Some(on_free), &mut watcher) });
    for key in ["a", "b", "c"] {
        let k = cs(key);
        ok(unsafe { nats_kv_put(kv.raw(), k.as_ptr(), b"v".as_ptr().cast(), 1, null_mut()) });
    }
    let mut ccfg = consumer_config();
    let durable = cs("dpull");
    ccfg.durable_name = durable.as_ptr();
    let (stream, mut info) = (cs("DS"), null_mut());
    ok(unsafe { nats_jetstream_consumer_create(j.raw(), stream.as_ptr(), &ccfg, &mut info) });
    unsafe { nats_consumer_info_free(info) };
    let mut pc = null_mut();
    ok(unsafe { nats_jetstream_pull_consumer(j.raw(), stream.as_ptr(), durable.as_ptr(), &mut pc) });
    let pc = Pull::from_raw(pc);
    let mut pull_sub = null_mut();
    ok(unsafe { nats_pull_consumer_consume(pc.raw(), Some(on_pull), seen.ud(), Some(on_free), &mut pull_sub) });

    let me = std::thread::current().id();
    assert!(seen.threads().is_empty(), "nothing runs before dispatching: {:?}", seen.calls.lock().unwrap());
    let all_arrived = || {
        seen.count("msg") == 100
            && seen.count("reply") == 1
            && seen.count("ack") == 10
            && seen.count("kv") >= 3
            && seen.count("pull") == 10
            && seen.count("event") >= 1
    };
    assert!(dispatch_until(&d, WAIT, all_arrived), "{:?}", seen.calls.lock().unwrap());
    ok(unsafe { nats_jetstream_publish_async_complete(j.raw(), 5000) });
    unsafe { nats_kv_watcher_free(watcher) };
    unsafe { nats_subscription_free(pull_sub) };
    unsafe { nats_subscription_free(sub) };
    unsafe { nats_connection_close(conn.raw()) };
    assert!(dispatch_until(&d, WAIT, || seen.count("event") == 2 && seen.freed.load(Ordering::SeqCst) == 3));
    assert_eq!(seen.threads(), HashSet::from([me]), "a callback ran on another thread");
}

/// The descriptor polls readable exactly while callbacks wait; `max` bounds a dispatch.
#[test]
fn the_fd_is_readable_exactly_while_callbacks_wait() {
    let server = Server::start();
    let d = dispatcher();
    assert!(!readable(&d), "a new dispatcher has nothing waiting");
    let seen = Seen::leak();
    let conn = dispatched_opts(&server, &d).connect().unwrap();
    let sub = subscribe(&conn, "fd", Some(on_msg), seen);
    conn.flush();
    assert!(!readable(&d));
    let publisher = Conn::to(&server.url());
    for _ in 0..5 {
        ok(publisher.publish("fd", b"x"));
    }
    publisher.flush();
    assert!(wait_until(WAIT, || pending(sub) == 5), "all five are queued");
    assert!(wait_until(WAIT, || readable(&d)), "messages wait: readable");
    assert!(readable(&d), "level-triggered: still readable when polled again");
    assert_eq!(seen.count("msg"), 0, "nothing ran before dispatch");
    assert_eq!(dispatch(&d, 2), 2);
    assert!(readable(&d), "three still wait");
    assert_eq!(dispatch(&d, usize::MAX), 3);
    assert!(!readable(&d), "nothing waits any more");
    assert_eq!(dispatch(&d, usize::MAX), 0, "dispatch never waits");
    check(unsafe { nats_dispatcher_dispatch(d.raw(), 0, null_mut()) }, NATS_ERR_INVALID_ARGUMENT);
    check(unsafe { nats_dispatcher_wait(d.raw(), 10) }, NATS_ERR_TIMEOUT);
    check(unsafe { nats_dispatcher_dispatch(null_mut(), 1, null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    assert_eq!(unsafe { nats_dispatcher_fd(std::ptr::null()) }, -1);
    ok(publisher.publish("fd", b"x"));
    publisher.flush();
    ok(unsafe { nats_dispatcher_wait(d.raw(), 20_000) });
    assert_eq!(dispatch(&d, usize::MAX), 1);
    unsafe { nats_subscription_free(sub) };
}

/// What a dispatched callback of `work` does: a blocking request, then free its own
/// subscription and close its own connection.
struct Worker {
    conn: *mut nats_connection,
    replied: AtomicBool,
    freed: AtomicUsize,
}

unsafe extern "C" fn work(ud: *mut c_void, sub: *mut nats_subscription, _m: *const nats_msg) {
    let w = unsafe { &*(ud as *const Worker) };
    let svc = cs("svc");
    let mut reply = null_mut();
    let st = unsafe { nats_request(w.conn, svc.as_ptr(), b"?".as_ptr().cast(), 1, 5000, &mut reply) };
    w.replied.store(st == NATS_OK, Ordering::SeqCst);
    unsafe { nats_msg_free(reply) };
    unsafe { nats_subscription_free(sub) };
    unsafe { nats_connection_close(w.conn) };
}

unsafe extern "C" fn worker_free(ud: *mut c_void) {
    unsafe { &*(ud as *const Worker) }.freed.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn a_dispatched_callback_may_request_and_free_and_close_what_it_belongs_to() {
    let server = Server::start();
    let (_resp, _resp_sub) = responder(&server, "svc");
    let d = dispatcher();
    let conn = dispatched_opts(&server, &d).connect().unwrap();
    let w: &'static Worker =
        Box::leak(Box::new(Worker { conn: conn.raw(), replied: AtomicBool::new(false), freed: AtomicUsize::new(0) }));
    let subject = cs("work");
    let mut sub = null_mut();
    let ud = w as *const Worker as *mut c_void;
    ok(unsafe {
        nats_subscribe_ex(conn.raw(), subject.as_ptr(), std::ptr::null(), Some(work), ud, Some(worker_free), &mut sub)
    });
    conn.flush();
    let publisher = Conn::to(&server.url());
    ok(publisher.publish("work", b"go"));
    ok(publisher.publish("work", b"again: discarded, the callback freed its subscription"));
    publisher.flush();
    assert!(dispatch_until(&d, WAIT, || w.freed.load(Ordering::SeqCst) == 1));
    assert!(w.replied.load(Ordering::SeqCst), "the request from the callback was answered");
    assert!(unsafe { nats_connection_is_closed(conn.raw()) });
    dispatch_until(&d, Duration::from_millis(200), || false);
    assert_eq!(w.freed.load(Ordering::SeqCst), 1, "user_data_free ran once");
}

/// Closing with callbacks still queued: they are delivered at the next dispatches (a close
/// delivers what arrived), and each subscription's `user_data_free` runs exactly once, on
/// the dispatching thread; freeing subscriptions first discards their queue instead.
#[test]
fn close_with_callbacks_queued_frees_each_user_data_once() {
    let server = Server::start();
    let d = dispatcher();
    let publisher = Conn::to(&server.url());
    for discard in [false, true] {
        let seen = Seen::leak();
        let conn = dispatched_opts(&server, &d).connect().unwrap();
        let subs: Vec<_> = (0..3).map(|i| subscribe(&conn, &format!("q.{i}"), Some(on_msg), seen)).collect();
        conn.flush();
        for i in 0..3 {
            for _ in 0..50 {
                ok(publisher.publish(&format!("q.{i}"), b"x"));
            }
        }
        publisher.flush();
        assert!(wait_until(WAIT, || subs.iter().all(|s| pending(*s) == 50)));
        if discard {
            subs.iter().for_each(|s| unsafe { nats_subscription_free(*s) });
        }
        unsafe { nats_connection_close(conn.raw()) };
        assert!(dispatch_until(&d, WAIT, || seen.freed.load(Ordering::SeqCst) == 3), "discard {discard}");
        dispatch_until(&d, Duration::from_millis(200), || false);
        assert_eq!(seen.freed.load(Ordering::SeqCst), 3, "each user_data_free once");
        assert_eq!(seen.count("msg"), if discard { 0 } else { 150 });
        assert_eq!(seen.threads(), HashSet::from([std::thread::current().id()]));
        if !discard {
            subs.iter().for_each(|s| unsafe { nats_subscription_free(*s) });
        }
    }
}

/// A drain on the dispatching thread dispatches while it waits for the callbacks (which can
/// run nowhere else) instead of waiting for itself until its timeout.
#[test]
fn a_drain_on_the_dispatching_thread_delivers_instead_of_waiting_on_itself() {
    let server = Server::start();
    let d = dispatcher();
    let seen = Seen::leak();
    let conn = dispatched_opts(&server, &d).connect().unwrap();
    let sub = subscribe(&conn, "drain", Some(on_msg), seen);
    conn.flush();
    let publisher = Conn::to(&server.url());
    for _ in 0..200 {
        ok(publisher.publish("drain", b"x"));
    }
    publisher.flush();
    assert!(wait_until(WAIT, || pending(sub) == 200));
    assert_eq!(dispatch(&d, 1), 1, "this thread dispatches");
    let start = Instant::now();
    ok(unsafe { nats_connection_drain(conn.raw(), 10_000) });
    assert!(start.elapsed() < Duration::from_secs(8), "the drain waited on itself: {:?}", start.elapsed());
    assert_eq!(seen.count("msg"), 200);
    assert_eq!(seen.freed.load(Ordering::SeqCst), 1);
    assert_eq!(seen.threads(), HashSet::from([std::thread::current().id()]));
    unsafe { nats_subscription_free(sub) };
}

/// Freeing a dispatcher its connection still uses is safe (the connection keeps a
/// reference): what waited is discarded and its `user_data_free` runs at once; the rest's
/// when they end; the connection goes on working, its callbacks no longer run.
#[test]
fn freeing_a_dispatcher_still_in_use_discards_its_callbacks_safely() {
    let server = Server::start();
    let d = dispatcher();
    let seen = Seen::leak();
    let conn = dispatched_opts(&server, &d).connect().unwrap();
    let waiting = subscribe(&conn, "gone.a", Some(on_msg), seen);
    let idle = subscribe(&conn, "gone.b", Some(on_msg), seen);
    ok(conn.publish("gone.a", b"x"));
    conn.flush();
    assert!(wait_until(WAIT, || pending(waiting) == 1));
    drop(d);
    // The message may still be on its way into the queue: then it is discarded on arrival.
    assert!(
        wait_until(WAIT, || seen.freed.load(Ordering::SeqCst) == 1),
        "the waiting subscription's user_data_free ran"
    );
    ok(conn.publish("gone.b", b"x"));
    conn.flush();
    check(conn.request("nobody", b"", 2000).map(drop).unwrap_err(), NATS_ERR_NO_RESPONDERS);
    unsafe { nats_subscription_free(idle) };
    assert!(wait_until(WAIT, || seen.freed.load(Ordering::SeqCst) == 2));
    unsafe { nats_subscription_free(waiting) };
    unsafe { nats_connection_close(conn.raw()) };
    assert_eq!(seen.count("msg"), 0);
    assert_eq!(seen.freed.load(Ordering::SeqCst), 2, "once each");
}

/// Checks order per subscription: payload i follows i - 1.
struct Ordered {
    next: Mutex<Vec<u32>>,
    out_of_order: AtomicUsize,
    received: AtomicUsize,
    names: Mutex<HashSet<Option<String>>>,
}

unsafe extern "C" fn in_order(ud: *mut c_void, _s: *mut nats_subscription, m: *const nats_msg) {
    let o = unsafe { &*(ud as *const Ordered) };
    let data = unsafe { std::slice::from_raw_parts(nats_msg_data(m).cast::<u8>(), nats_msg_data_len(m)) };
    let (sub_index, seq) = (data[0] as usize, u32::from_be_bytes(data[1..5].try_into().unwrap()));
    let mut next = o.next.lock().unwrap();
    if next[sub_index] != seq {
        o.out_of_order.fetch_add(1, Ordering::SeqCst);
    }
    next[sub_index] = seq + 1;
    drop(next);
    o.names.lock().unwrap().insert(std::thread::current().name().map(str::to_string));
    o.received.fetch_add(1, Ordering::SeqCst);
}

/// In pool mode, each subscription's messages arrive in order, on pool threads (at most the
/// pool's size of them), events and replies too; the size is validated.
#[test]
fn the_pool_keeps_each_subscriptions_order_on_few_threads() {
    check(nats_ffi_set_delivery_pool_size(0), NATS_ERR_INVALID_ARGUMENT);
    check(nats_ffi_set_delivery_pool_size(NATS_DELIVERY_POOL_MAX_SIZE + 1), NATS_ERR_INVALID_ARGUMENT);
    ok(nats_ffi_set_delivery_pool_size(2));
    let server = Server::start();
    let (_resp, _resp_sub) = responder(&server, "svc");
    let seen = Seen::leak();
    let o = Opts::new().servers(&[&server.url()]);
    ok(unsafe { nats_options_use_shared_delivery(o.raw(), true) });
    ok(unsafe { nats_options_set_closed_cb(o.raw(), Some(on_event), seen.ud()) });
    let conn = o.connect().unwrap();
    const SUBS: usize = 20;
    const EACH: u32 = 500;
    let ordered: &'static Ordered = Box::leak(Box::new(Ordered {
        next: Mutex::new(vec![0; SUBS]),
        out_of_order: AtomicUsize::new(0),
        received: AtomicUsize::new(0),
        names: Mutex::default(),
    }));
    let ud = ordered as *const Ordered as *mut c_void;
    let subs: Vec<_> = (0..SUBS)
        .map(|i| {
            let s = cs(&format!("p.{i}"));
            let mut sub = null_mut();
            ok(unsafe { nats_subscribe(conn.raw(), s.as_ptr(), Some(in_order), ud, &mut sub) });
            sub
        })
        .collect();
    conn.flush();
    let publisher = Conn::to(&server.url());
    for seq in 0..EACH {
        for i in 0..SUBS {
            let mut data = vec![i as u8];
            data.extend_from_slice(&seq.to_be_bytes());
            ok(publisher.publish(&format!("p.{i}"), &data));
        }
    }
    publisher.flush();
    let svc = cs("svc");
    ok(unsafe {
        nats_request_async(conn.raw(), svc.as_ptr(), b"ping".as_ptr().cast(), 4, 5000, Some(on_reply), seen.ud())
    });
    let total = SUBS * EACH as usize;
    assert!(wait_until(WAIT, || ordered.received.load(Ordering::SeqCst) == total));
    assert_eq!(ordered.out_of_order.load(Ordering::SeqCst), 0);
    let names = ordered.names.lock().unwrap().clone();
    assert!(names.iter().all(|n| n.as_deref() == Some("nats-ffi-pool")), "{names:?}");
    assert!(!names.is_empty());
    assert!(wait_until(WAIT, || seen.count("reply") == 1));
    subs.iter().for_each(|s| unsafe { nats_subscription_free(*s) });
    unsafe { nats_connection_close(conn.raw()) };
    assert!(wait_until(WAIT, || seen.count("event") == 1));
    assert_eq!(seen.thread_names(), HashSet::from([Some("nats-ffi-pool".to_string())]));
    assert!(seen.threads().len() <= NATS_DELIVERY_POOL_DEFAULT_SIZE.max(2));
}

/// A callback blocked in the pool holds one thread; other subscriptions go on.
#[test]
fn a_blocked_pool_callback_does_not_stop_the_others() {
    static GATE: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());
    unsafe extern "C" fn blocked(_ud: *mut c_void, _s: *mut nats_subscription, _m: *const nats_msg) {
        let mut open = GATE.0.lock().unwrap();
        while !*open {
            open = GATE.1.wait(open).unwrap();
        }
    }
    let server = Server::start();
    let o = Opts::new().servers(&[&server.url()]);
    ok(unsafe { nats_options_use_shared_delivery(o.raw(), true) });
    let conn = o.connect().unwrap();
    let seen = Seen::leak();
    let slow = subscribe(&conn, "slow", Some(blocked), seen);
    let fast = subscribe(&conn, "fast", Some(on_msg), seen);
    conn.flush();
    let publisher = Conn::to(&server.url());
    ok(publisher.publish("slow", b"x"));
    publisher.flush();
    for _ in 0..100 {
        ok(publisher.publish("fast", b"x"));
    }
    publisher.flush();
    let others_went_on = wait_until(WAIT, || seen.count("msg") == 100);
    *GATE.0.lock().unwrap() = true;
    GATE.1.notify_all();
    assert!(others_went_on, "got {}", seen.count("msg"));
    unsafe { nats_subscription_free(slow) };
    unsafe { nats_subscription_free(fast) };
}

/// Callbacks that block hold a pool thread each, and the pool's other threads take the lanes
/// queued behind them: three subscriptions whose first messages arrive in one read (queued
/// together, nothing more arriving after) are all in their callbacks at once on a pool of
/// four. (A push wakes one waiting thread at a time; a thread that leaves lanes queued wakes
/// the next: without that, the second and third wait for a message that never comes.)
#[test]
fn blocked_pool_callbacks_each_get_a_thread_of_their_own() {
    static INSIDE: AtomicUsize = AtomicUsize::new(0);
    static GATE: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());
    unsafe extern "C" fn held(_ud: *mut c_void, _s: *mut nats_subscription, _m: *const nats_msg) {
        INSIDE.fetch_add(1, Ordering::SeqCst);
        let mut open = GATE.0.lock().unwrap();
        while !*open {
            open = GATE.1.wait(open).unwrap();
        }
    }
    const { assert!(NATS_DELIVERY_POOL_DEFAULT_SIZE >= 4) };
    let server = Server::start();
    let o = Opts::new().servers(&[&server.url()]);
    ok(unsafe { nats_options_use_shared_delivery(o.raw(), true) });
    let conn = o.connect().unwrap();
    let seen = Seen::leak();
    let subs: Vec<_> = (0..3).map(|i| subscribe(&conn, &format!("held.{i}"), Some(held), seen)).collect();
    conn.flush();
    let publisher = Conn::to(&server.url());
    for i in 0..3 {
        ok(publisher.publish(&format!("held.{i}"), b"x"));
    }
    publisher.flush();
    let all_inside = wait_until(WAIT, || INSIDE.load(Ordering::SeqCst) == 3);
    *GATE.0.lock().unwrap() = true;
    GATE.1.notify_all();
    assert!(all_inside, "{} of 3 blocked callbacks running at once", INSIDE.load(Ordering::SeqCst));
    subs.iter().for_each(|s| unsafe { nats_subscription_free(*s) });
}

fn process_threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// Pool mode starts no thread per subscription: 2000 callback subscriptions add at most the
/// pool's threads to the process.
#[test]
fn pooled_subscriptions_start_no_threads() {
    let server = Server::start();
    let o = Opts::new().servers(&[&server.url()]);
    ok(unsafe { nats_options_use_shared_delivery(o.raw(), true) });
    let conn = o.connect().unwrap();
    let seen = Seen::leak();
    let first = subscribe(&conn, "many.0", Some(on_msg), seen);
    let before = process_threads();
    let subs: Vec<_> = (1..2000).map(|i| subscribe(&conn, &format!("many.{i}"), Some(on_msg), seen)).collect();
    conn.flush();
    let added = process_threads().saturating_sub(before);
    // Other tests of this binary run in parallel and start threads of their own.
    assert!(added < 200, "{added} threads for 2000 subscriptions");
    ok(conn.publish("many.1999", b"x"));
    assert!(wait_until(WAIT, || seen.count("msg") == 1));
    std::iter::once(first).chain(subs).for_each(|s| unsafe { nats_subscription_free(s) });
    assert!(wait_until(WAIT, || seen.freed.load(Ordering::SeqCst) == 2000));
}

/// One dispatcher serves several connections: each one's callbacks run in the same dispatch,
/// in order per subscription.
#[test]
fn one_dispatcher_serves_several_connections() {
    let server = Server::start();
    let d = dispatcher();
    let seen = Seen::leak();
    let conns: Vec<Conn> = (0..3).map(|_| dispatched_opts(&server, &d).connect().unwrap()).collect();
    let subs: Vec<_> =
        conns.iter().enumerate().map(|(i, c)| subscribe(c, &format!("multi.{i}"), Some(on_msg), seen)).collect();
    conns.iter().for_each(|c| c.flush());
    let publisher = Conn::to(&server.url());
    for i in 0..3 {
        for _ in 0..10 {
            ok(publisher.publish(&format!("multi.{i}"), b"x"));
        }
    }
    publisher.flush();
    assert!(dispatch_until(&d, WAIT, || seen.count("msg") == 30));
    assert_eq!(seen.threads(), HashSet::from([std::thread::current().id()]));
    subs.iter().for_each(|s| unsafe { nats_subscription_free(*s) });
    assert!(dispatch_until(&d, WAIT, || seen.freed.load(Ordering::SeqCst) == 3));
}

unsafe extern "C" fn on_msg_slowly(ud: *mut c_void, _s: *mut nats_subscription, _m: *const nats_msg) {
    std::thread::sleep(Duration::from_micros(100));
    unsafe { seen(ud) }.note("msg");
}

/// `nats_dispatcher_dispatch(d, SIZE_MAX, ...)` gives each waiting callback source one turn
/// and returns, even while messages arrive faster than its callbacks run: the event loop
/// gets its thread back. Before, the call ran until the queue was empty, which a steady
/// stream postpones for as long as it lasts.
#[test]
fn dispatch_returns_while_messages_keep_arriving() {
    const N: usize = 20_000;
    let server = Server::start();
    let d = dispatcher();
    let seen = Seen::leak();
    let conn = dispatched_opts(&server, &d).connect().unwrap();
    let sub = subscribe(&conn, "steady", Some(on_msg_slowly), seen);
    conn.flush();
    let url = server.url();
    // About 40 000 a second for half a second, four times what the callbacks manage.
    let publisher = std::thread::spawn(move || {
        let p = Conn::to(&url);
        for i in 0..N {
            ok(p.publish("steady", b"x"));
            if i % 400 == 399 {
                p.flush();
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        p.flush();
    });
    assert!(wait_until(WAIT, || pending(sub) >= 100), "messages wait");
    let start = Instant::now();
    let ran = dispatch(&d, usize::MAX);
    let took = start.elapsed();
    assert!((1..=1024).contains(&ran), "one turn of at most 1024 callbacks, ran {ran} in {took:?}");
    publisher.join().unwrap();
    assert!(dispatch_until(&d, WAIT * 3, || seen.count("msg") == N), "all {N} delivered: {}", seen.count("msg"));
    unsafe { nats_subscription_free(sub) };
}
