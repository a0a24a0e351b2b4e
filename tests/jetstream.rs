//! JetStream from C: streams and publishing with acknowledgement, against a real nats-server
//! with JetStream enabled.

mod common;
use common::collector::Sub;
use common::js::*;
use common::*;
use nats_ffi::nats_strings_free;
use nats_ffi::*;
use std::ffi::{c_char, c_void, CStr};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[test]
fn streams_create_info_purge_get_list_delete() {
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "MAIL", &["mail.>"], 0);
    create_stream(&j, "LOGS", &["logs.*"], 0);
    for i in 0..10u8 {
        let subj = if i % 2 == 0 { "mail.delivered" } else { "mail.bounced" };
        assert_eq!(publish(&j, subj, &[i], None).unwrap(), ("MAIL".to_string(), i as u64 + 1, false));
    }
    assert_eq!(info(&j, "MAIL"), (10, 1, 10));
    let (n, mut m) = (cs("MAIL"), null_mut());
    ok(unsafe { nats_jetstream_stream_get_msg(j.raw(), n.as_ptr(), 4, &mut m) });
    let m = Msg::from_raw(m);
    assert_eq!((m.subject(), m.data()), ("mail.bounced".to_string(), vec![3]));
    let subj = cs("mail.delivered");
    let mut last = null_mut();
    ok(unsafe { nats_jetstream_stream_get_last_msg(j.raw(), n.as_ptr(), subj.as_ptr(), &mut last) });
    assert_eq!(Msg::from_raw(last).data(), vec![8]);
    let mut none = null_mut();
    check(unsafe { nats_jetstream_stream_get_msg(j.raw(), n.as_ptr(), 999, &mut none) }, NATS_ERR_NOT_FOUND);
    // Purge one subject, then everything.
    let mut purged = 0u64;
    let bounced = cs("mail.bounced");
    ok(unsafe { nats_jetstream_stream_purge(j.raw(), n.as_ptr(), bounced.as_ptr(), &mut purged) });
    assert_eq!(purged, 5);
    assert_eq!(info(&j, "MAIL").0, 5);
    ok(unsafe { nats_jetstream_stream_purge(j.raw(), n.as_ptr(), null(), &mut purged) });
    assert_eq!((purged, info(&j, "MAIL").0), (5, 0));
    // List.
    let (mut names, mut count): (*mut *mut c_char, usize) = (null_mut(), 0);
    ok(unsafe { nats_jetstream_stream_names(j.raw(), &mut names, &mut count) });
    let mut got: Vec<String> =
        (0..count).map(|i| unsafe { CStr::from_ptr(*names.add(i)) }.to_str().unwrap().to_string()).collect();
    got.sort();
    assert_eq!(got, ["LOGS", "MAIL"]);
    unsafe { nats_strings_free(names, count) };
    // Delete.
    ok(unsafe { nats_jetstream_stream_delete(j.raw(), n.as_ptr()) });
    let mut i = null_mut();
    check(unsafe { nats_jetstream_stream_info(j.raw(), n.as_ptr(), &mut i) }, NATS_ERR_NOT_FOUND);
    check(unsafe { nats_jetstream_stream_delete(j.raw(), n.as_ptr()) }, NATS_ERR_NOT_FOUND);
    // A conflicting stream is refused.
    let mut cfg = std::mem::MaybeUninit::<nats_stream_config>::uninit();
    ok(unsafe { nats_stream_config_init(cfg.as_mut_ptr()) });
    let mut cfg = unsafe { cfg.assume_init() };
    let (bad, subs) = (cs("OTHER"), [cs("logs.x")]);
    let ptrs = [subs[0].as_ptr()];
    cfg.name = bad.as_ptr();
    cfg.subjects = ptrs.as_ptr();
    cfg.subjects_count = 1;
    check(unsafe { nats_jetstream_stream_create(j.raw(), &cfg, null_mut()) }, NATS_ERR_JETSTREAM);
    assert!(last_error().contains("overlap"), "{}", last_error());
    cfg.name = cs("bad.name").into_raw();
    check(unsafe { nats_jetstream_stream_create(j.raw(), &cfg, null_mut()) }, NATS_ERR_INVALID_ARGUMENT);
    drop(unsafe { std::ffi::CString::from_raw(cfg.name.cast_mut()) });
}

#[test]
fn publish_dedup_and_expectations() {
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "Q", &["q.>"], 60_000);
    let id = cs("msg-1");
    let mut o = popts();
    o.msg_id = id.as_ptr();
    assert_eq!(publish(&j, "q.a", b"one", Some(&o)).unwrap(), ("Q".into(), 1, false));
    assert_eq!(publish(&j, "q.a", b"one again", Some(&o)).unwrap(), ("Q".into(), 1, true), "deduplicated");
    assert_eq!(info(&j, "Q").0, 1);
    // Expected last sequence.
    let mut o = popts();
    o.has_expected_last_sequence = true;
    o.expected_last_sequence = 1;
    assert_eq!(publish(&j, "q.b", b"two", Some(&o)).unwrap().1, 2);
    check(publish(&j, "q.b", b"stale", Some(&o)).unwrap_err(), NATS_ERR_EXPECTATION_FAILED);
    // Expected last msg id.
    let mut o = popts();
    o.expected_last_msg_id = id.as_ptr();
    check(publish(&j, "q.c", b"x", Some(&o)).unwrap_err(), NATS_ERR_EXPECTATION_FAILED);
    // Expected stream.
    let other = cs("OTHER");
    let mut o = popts();
    o.expected_stream = other.as_ptr();
    check(publish(&j, "q.c", b"x", Some(&o)).unwrap_err(), NATS_ERR_EXPECTATION_FAILED);
    // Expected last subject sequence.
    let mut o = popts();
    o.has_expected_last_subject_sequence = true;
    o.expected_last_subject_sequence = 2;
    assert_eq!(publish(&j, "q.b", b"three", Some(&o)).unwrap().1, 3);
    // No stream for the subject.
    check(publish(&j, "nowhere", b"x", None).unwrap_err(), NATS_ERR_NO_RESPONDERS);
    // Headers via nats_msg.
    let (s, mut m) = (cs("q.h"), null_mut());
    ok(unsafe { nats_msg_new(s.as_ptr(), null(), b"h".as_ptr().cast(), 1, &mut m) });
    let (k, v) = (cs("Mail-Id"), cs("abc"));
    ok(unsafe { nats_msg_header_set(m, k.as_ptr(), v.as_ptr()) });
    let mut ack = null_mut();
    ok(unsafe { nats_jetstream_publish_msg(j.raw(), m, null(), &mut ack) });
    let seq = unsafe { nats_pub_ack_sequence(ack) };
    unsafe {
        nats_pub_ack_free(ack);
        nats_msg_free(m);
    }
    let (n, mut got) = (cs("Q"), null_mut());
    ok(unsafe { nats_jetstream_stream_get_msg(j.raw(), n.as_ptr(), seq, &mut got) });
    let mut val = null();
    ok(unsafe { nats_msg_header_get(got, k.as_ptr(), &mut val) });
    assert_eq!(unsafe { CStr::from_ptr(val) }.to_str().unwrap(), "abc");
    unsafe { nats_msg_free(got) };
}

struct Acks {
    seqs: Mutex<Vec<u64>>,
    errors: Mutex<Vec<nats_status>>,
    n: AtomicU64,
}

unsafe extern "C" fn on_ack(ud: *mut c_void, st: nats_status, ack: *const nats_pub_ack) {
    let a = &*(ud as *const Acks);
    if st == NATS_OK {
        a.seqs.lock().unwrap().push(nats_pub_ack_sequence(ack));
    } else {
        assert!(ack.is_null());
        *LAST_ACK_ERROR.lock().unwrap() = last_error();
        a.errors.lock().unwrap().push(st);
    }
    a.n.fetch_add(1, Ordering::Relaxed);
}

#[test]
fn async_publish_100k_no_ack_lost_or_duplicated() {
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "LOG", &["log.>"], 0);
    let acks = Box::leak(Box::new(Acks { seqs: Mutex::default(), errors: Mutex::default(), n: AtomicU64::new(0) }));
    let ud = acks as *const Acks as *mut c_void;
    // Sequential sync publishes, for the rate comparison.
    let sync_n = 2000;
    let t = Instant::now();
    for i in 0..sync_n {
        publish(&j, "log.sync", format!("{i}").as_bytes(), None).unwrap();
    }
    let sync_rate = sync_n as f64 / t.elapsed().as_secs_f64();
    let n = 100_000u64;
    let subj = cs("log.async");
    let t = Instant::now();
    for i in 0..n {
        let d = i.to_be_bytes();
        ok(unsafe {
            nats_jetstream_publish_async(j.raw(), subj.as_ptr(), d.as_ptr().cast(), d.len(), null(), Some(on_ack), ud)
        });
    }
    ok(unsafe { nats_jetstream_publish_async_complete(j.raw(), 60_000) });
    let async_rate = n as f64 / t.elapsed().as_secs_f64();
    eprintln!(
        "JetStream publish: sync {sync_rate:.0} msg/s, async {async_rate:.0} msg/s ({:.1}x)",
        async_rate / sync_rate
    );
    assert_eq!(unsafe { nats_jetstream_publish_async_pending(j.raw()) }, 0);
    assert_eq!(acks.n.load(Ordering::Relaxed), n);
    assert!(acks.errors.lock().unwrap().is_empty(), "{:?}", acks.errors.lock().unwrap().len());
    let mut seqs = acks.seqs.lock().unwrap().clone();
    seqs.sort();
    seqs.dedup();
    assert_eq!(seqs.len() as u64, n, "every ack once");
    assert_eq!((seqs[0], *seqs.last().unwrap()), (sync_n + 1, sync_n + n));
    assert_eq!(info(&j, "LOG").0, sync_n + n, "every message stored once");
    // Failures come through the callback; completion still waits for them.
    let nowhere = cs("nowhere");
    ok(unsafe { nats_jetstream_publish_async(j.raw(), nowhere.as_ptr(), null(), 0, null(), Some(on_ack), ud) });
    ok(unsafe { nats_jetstream_publish_async_complete(j.raw(), 10_000) });
    assert_eq!(acks.errors.lock().unwrap().as_slice(), [NATS_ERR_NO_RESPONDERS]);
}

/// Async publishes faster than the socket: the publisher waits for room in the connection's
/// buffer, and must not do so while holding the table its acknowledgements are routed
/// through. It did: the runtime tasks routing acknowledgements and expiring publishes then
/// blocked on that table, both runtime threads stood still, nothing was written, and every
/// publish failed after request_timeout ("the publish buffer stayed full").
#[test]
fn async_publish_faster_than_the_socket_keeps_going() {
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "BULK", &["bulk.>"], 0);
    let acks = Box::leak(Box::new(Acks { seqs: Mutex::default(), errors: Mutex::default(), n: AtomicU64::new(0) }));
    let ud = acks as *const Acks as *mut c_void;
    let n = 8_000u64;
    let subj = cs("bulk.a");
    let payload = vec![b'm'; 4096];
    for i in 0..n {
        let st = unsafe {
            nats_jetstream_publish_async(
                j.raw(),
                subj.as_ptr(),
                payload.as_ptr().cast(),
                payload.len(),
                null(),
                Some(on_ack),
                ud,
            )
        };
        assert_eq!(st, NATS_OK, "publish {i}: {}", last_error());
    }
    ok(unsafe { nats_jetstream_publish_async_complete(j.raw(), 60_000) });
    assert_eq!(acks.n.load(Ordering::Relaxed), n);
    assert!(acks.errors.lock().unwrap().is_empty(), "{:?}", acks.errors.lock().unwrap());
    assert_eq!(info(&j, "BULK").0, n, "every message stored once");
}

#[test]
fn jetstream_options_and_bad_input() {
    let srv = Server::start(); // JetStream not enabled
    let c = Conn::to(&srv.url());
    let mut o = null_mut();
    ok(unsafe { nats_jetstream_options_new(&mut o) });
    check(unsafe { nats_jetstream_options_set_timeout_ms(o, 0) }, NATS_ERR_INVALID_ARGUMENT);
    ok(unsafe { nats_jetstream_options_set_timeout_ms(o, 500) });
    check(unsafe { nats_jetstream_options_set_max_pending_acks(o, 0) }, NATS_ERR_INVALID_ARGUMENT);
    ok(unsafe { nats_jetstream_options_set_max_pending_acks(o, 10) });
    check(unsafe { nats_jetstream_options_set_domain(o, cs("a b").as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    ok(unsafe { nats_jetstream_options_set_domain(o, null()) });
    check(unsafe { nats_jetstream_options_set_api_prefix(o, cs("a..b").as_ptr()) }, NATS_ERR_INVALID_SUBJECT);
    let mut j = null_mut();
    check(unsafe { nats_jetstream_new(null_mut(), o, &mut j) }, NATS_ERR_NULL_ARGUMENT);
    ok(unsafe { nats_jetstream_new(c.raw(), o, &mut j) });
    unsafe { nats_jetstream_options_free(o) };
    let j = Js::from_raw(j);
    let t = Instant::now();
    let st = publish(&j, "x", b"y", None).unwrap_err();
    assert!(st == NATS_ERR_NO_RESPONDERS || st == NATS_ERR_TIMEOUT, "{st:?}: {}", last_error());
    assert!(t.elapsed() < Duration::from_secs(3));
    let n = cs("S");
    let mut i = null_mut();
    let st = unsafe { nats_jetstream_stream_info(j.raw(), n.as_ptr(), &mut i) };
    assert!(st == NATS_ERR_NO_RESPONDERS || st == NATS_ERR_TIMEOUT, "JetStream not enabled: {st:?}: {}", last_error());
    check(unsafe { nats_jetstream_stream_create(j.raw(), null(), null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    check(
        unsafe { nats_jetstream_publish(null_mut(), n.as_ptr(), null(), 0, null(), null_mut()) },
        NATS_ERR_NULL_ARGUMENT,
    );
    check(
        unsafe { nats_jetstream_publish(j.raw(), cs("a b").as_ptr(), null(), 0, null(), null_mut()) },
        NATS_ERR_INVALID_SUBJECT,
    );
    check(unsafe { nats_jetstream_publish_async_complete(null_mut(), 1) }, NATS_ERR_NULL_ARGUMENT);
    assert_eq!(unsafe { nats_jetstream_publish_async_pending(null()) }, 0);
    unsafe {
        nats_jetstream_free(null_mut());
        nats_pub_ack_free(null_mut());
        nats_stream_info_free(null_mut());
        nats_strings_free(null_mut(), 0);
        nats_jetstream_options_free(null_mut());
    }
}

/// Async publishes are acknowledged through the context's own inbox: expectations that fail
/// come back as such, an acknowledgement that never comes is a timeout (after the retries a
/// msg_id allows, each attempt sent again), and closing the connection fails what waits.
#[test]
fn async_publish_outcomes_through_the_inbox() {
    let (_srv, c, j) = js_setup();
    create_stream(&j, "OUT", &["out.>"], 0);
    let acks = Box::leak(Box::new(Acks { seqs: Mutex::default(), errors: Mutex::default(), n: AtomicU64::new(0) }));
    let ud = acks as *const Acks as *mut c_void;
    let publish_async = |subject: &str, o: &nats_js_publish_options| {
        let s = cs(subject);
        ok(unsafe { nats_jetstream_publish_async(j.raw(), s.as_ptr(), b"x".as_ptr().cast(), 1, o, Some(on_ack), ud) });
    };
    let take_errors = || std::mem::take(&mut *acks.errors.lock().unwrap());

    // An expectation that does not hold.
    let mut o = popts();
    o.has_expected_last_sequence = true;
    o.expected_last_sequence = 42;
    publish_async("out.a", &o);
    ok(unsafe { nats_jetstream_publish_async_complete(j.raw(), 10_000) });
    assert_eq!(take_errors(), [NATS_ERR_EXPECTATION_FAILED]);

    // A subject some core subscriber takes but no stream answers: no acknowledgement. With a
    // msg_id and 2 retries, it is sent 3 times, then times out.
    let listener = Sub::new(&c, "silent.>", "");
    c.flush();
    let id = cs("once");
    let o = retrying_popts(&id, 200, 2, 10);
    let t = Instant::now();
    publish_async("silent.x", &o);
    ok(unsafe { nats_jetstream_publish_async_complete(j.raw(), 10_000) });
    assert_eq!(take_errors(), [NATS_ERR_TIMEOUT]);
    assert!(t.elapsed() >= Duration::from_millis(600), "three attempts of 200 ms: {:?}", t.elapsed());
    assert!(last_ack_error_said_attempts(), "the error names the attempts");
    assert!(listener.wait_count(3, Duration::from_secs(5)));
    assert_eq!(listener.count(), 3, "each attempt sent once");

    // Closing fails what still waits, promptly.
    let mut o = popts();
    o.timeout_ms = 60_000;
    publish_async("silent.y", &o);
    unsafe { nats_connection_close(c.raw()) };
    ok(unsafe { nats_jetstream_publish_async_complete(j.raw(), 10_000) });
    assert_eq!(take_errors(), [NATS_ERR_CONNECTION_CLOSED]);
    assert_eq!(unsafe { nats_jetstream_publish_async_pending(j.raw()) }, 0);
}

/// Whether the ack callback's last error detail named the attempts (read on the ack thread).
fn last_ack_error_said_attempts() -> bool {
    LAST_ACK_ERROR.lock().unwrap().contains("after 3 attempt(s)")
}

static LAST_ACK_ERROR: Mutex<String> = Mutex::new(String::new());
