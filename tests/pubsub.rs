//! Publish, subscribe, wildcards, queue groups, request/reply and callback re-entrancy against
//! a real nats-server.

#![allow(clippy::arc_with_non_send_sync)]

mod common;
use common::collector::*;
use common::*;
use nats_ffi::*;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn publish_subscribe_in_order() {
    let srv = Server::start();
    let sub_conn = Conn::to(&srv.url());
    let pub_conn = Conn::to(&srv.url());
    let sub = Sub::new(&sub_conn, "orders.new", "");
    sub_conn.flush();
    for i in 0..1000u32 {
        ok(pub_conn.publish("orders.new", &i.to_be_bytes()));
    }
    pub_conn.flush();
    assert!(sub.wait_count(1000, WAIT), "got {}", sub.count());
    let got: Vec<u32> =
        sub.received().payloads().iter().map(|p| u32::from_be_bytes(p[..4].try_into().unwrap())).collect();
    assert_eq!(got, (0..1000).collect::<Vec<_>>(), "messages out of order or lost");
    assert_eq!(unsafe { nats_subscription_delivered(sub.raw()) }, 1000);
    let m = &sub.received().msgs.lock().unwrap()[0];
    assert_eq!(m.subject, "orders.new");
    assert_eq!(m.reply, None);
}

#[test]
fn empty_and_large_payloads() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let sub = Sub::new(&c, "blob", "");
    c.flush();
    ok(unsafe { nats_publish(c.raw(), cs("blob").as_ptr(), std::ptr::null(), 0) });
    let big = vec![0xabu8; 512 * 1024];
    ok(c.publish("blob", &big));
    assert!(sub.wait_count(2, WAIT));
    let p = sub.received().payloads();
    assert!(p[0].is_empty());
    assert_eq!(p[1], big);
    // Over the server's max_payload (1 MiB by default).
    check(c.publish("blob", &vec![0u8; 2 * 1024 * 1024]), NATS_ERR_MAX_PAYLOAD);
}

#[test]
fn wildcards() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let star = Sub::new(&c, "mail.*.delivered", "");
    let tail = Sub::new(&c, "mail.>", "");
    c.flush();
    for s in ["mail.a.delivered", "mail.b.delivered", "mail.a.bounced", "mail.a.b.delivered", "other.a"] {
        ok(c.publish(s, b"x"));
    }
    c.flush();
    assert!(tail.wait_count(4, WAIT));
    std::thread::sleep(Duration::from_millis(200));
    let subjects = |s: &Sub| s.received().msgs.lock().unwrap().iter().map(|m| m.subject.clone()).collect::<Vec<_>>();
    assert_eq!(subjects(&star), ["mail.a.delivered", "mail.b.delivered"]);
    assert_eq!(subjects(&tail), ["mail.a.delivered", "mail.b.delivered", "mail.a.bounced", "mail.a.b.delivered"]);
}

#[test]
fn queue_group_spreads_and_delivers_once() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let members: Vec<Sub> = (0..3).map(|_| Sub::new(&c, "jobs", "workers")).collect();
    let plain = Sub::new(&c, "jobs", "");
    c.flush();
    for i in 0..300u32 {
        ok(c.publish("jobs", &i.to_be_bytes()));
    }
    c.flush();
    assert!(plain.wait_count(300, WAIT));
    assert!(wait_until(WAIT, || members.iter().map(|m| m.count()).sum::<usize>() >= 300));
    std::thread::sleep(Duration::from_millis(200));
    let counts: Vec<usize> = members.iter().map(|m| m.count()).collect();
    assert_eq!(counts.iter().sum::<usize>(), 300, "each message goes to exactly one member: {counts:?}");
    assert!(counts.iter().all(|&n| n > 0), "load spread over all members: {counts:?}");
}

unsafe extern "C" fn echo_upper(ud: *mut c_void, _s: *mut nats_subscription, msg: *const nats_msg) {
    let conn = ud as *mut nats_connection;
    let up: Vec<u8> = msg_data(msg).to_ascii_uppercase();
    ok(nats_msg_respond(conn, msg, up.as_ptr().cast(), up.len()));
}

/// A subscription on `conn` answering each request on `subject` with its payload in upper case.
fn upper_responder(conn: &Conn, subject: &str) -> *mut nats_subscription {
    let mut sub = std::ptr::null_mut();
    ok(unsafe { nats_subscribe(conn.raw(), cs(subject).as_ptr(), Some(echo_upper), conn.raw().cast(), &mut sub) });
    sub
}

#[test]
fn request_reply() {
    let srv = Server::start();
    let server_side = Conn::to(&srv.url());
    let client = Conn::to(&srv.url());
    let sub = upper_responder(&server_side, "svc.upper");
    server_side.flush();
    for i in 0..50 {
        let r = client.request("svc.upper", format!("hello {i}").as_bytes(), 5000).unwrap();
        assert_eq!(r.data(), format!("HELLO {i}").as_bytes());
        assert!(r.subject().starts_with("_INBOX."), "{}", r.subject());
    }
    unsafe { nats_subscription_free(sub) };
}

/// A request is a publish whose reply is registered with async-nats' multiplexer (third_party
/// patch 14), written on the caller's thread after a pause (patch 13): the first request of a
/// connection must not overtake the multiplexer's own SUB, and a reply read right after a
/// direct write must find its registration. 40 fresh connections (their first request) and
/// 1000 requests with pauses on one connection: every one is answered, none times out.
#[test]
fn requests_written_directly_are_all_answered() {
    let srv = Server::start();
    let server_side = Conn::to(&srv.url());
    let sub = upper_responder(&server_side, "svc.upper");
    server_side.flush();
    for i in 0..40 {
        let client = Conn::to(&srv.url());
        std::thread::sleep(Duration::from_millis(2));
        let r = client.request("svc.upper", format!("first {i}").as_bytes(), 5000);
        assert_eq!(r.map(|m| m.data()), Ok(format!("FIRST {i}").into_bytes()), "first request on connection {i}");
    }
    let client = Conn::to(&srv.url());
    for i in 0..1000 {
        let r = client.request("svc.upper", format!("req {i}").as_bytes(), 5000);
        assert_eq!(r.map(|m| m.data()), Ok(format!("REQ {i}").into_bytes()), "request {i}");
        if i % 10 == 0 {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    unsafe { nats_subscription_free(sub) };
}

#[test]
fn no_responders_and_timeout() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let t = Instant::now();
    check(c.request("nobody.home", b"?", 5000).err().unwrap(), NATS_ERR_NO_RESPONDERS);
    assert!(t.elapsed() < Duration::from_secs(2), "no-responders must be immediate");
    assert!(last_error().contains("nobody.home"), "{}", last_error());
    // A subscriber that never answers: a timeout, not no-responders.
    let _silent = Sub::new(&c, "silent", "");
    c.flush();
    let t = Instant::now();
    check(c.request("silent", b"?", 300).err().unwrap(), NATS_ERR_TIMEOUT);
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(280) && e < Duration::from_secs(3), "{e:?}");
}

static RESPOND_STATUS: std::sync::Mutex<Vec<nats_status>> = std::sync::Mutex::new(Vec::new());

unsafe extern "C" fn respond_cb(ud: *mut c_void, _s: *mut nats_subscription, msg: *const nats_msg) {
    let st = nats_msg_respond(ud.cast(), msg, b"r".as_ptr().cast(), 1);
    // A lock poisoned by a failed assertion must not panic here: that would abort the whole binary.
    RESPOND_STATUS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(st);
}

#[test]
fn respond_without_reply_subject() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let mut sub = std::ptr::null_mut();
    ok(unsafe { nats_subscribe(c.raw(), cs("plain").as_ptr(), Some(respond_cb), c.raw().cast(), &mut sub) });
    c.flush();
    ok(c.publish("plain", b"x")); // no reply subject
    assert!(wait_until(WAIT, || RESPOND_STATUS.lock().unwrap().len() == 1));
    assert_eq!(RESPOND_STATUS.lock().unwrap()[0], NATS_ERR_NO_REPLY_SUBJECT);
    // And with one, the responder's answer arrives.
    assert_eq!(c.request("plain", b"y", 5000).unwrap().data(), b"r");
    // The reply can arrive before the callback has recorded its status.
    assert!(wait_until(WAIT, || RESPOND_STATUS.lock().unwrap().len() == 2));
    assert_eq!(RESPOND_STATUS.lock().unwrap()[1], NATS_OK);
    unsafe { nats_subscription_free(sub) };
}

#[test]
fn publish_with_reply_carries_reply_subject() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let sub = Sub::new(&c, "ask", "");
    c.flush();
    ok(unsafe {
        nats_publish_with_reply(c.raw(), cs("ask").as_ptr(), cs("answers.here").as_ptr(), b"q".as_ptr().cast(), 1)
    });
    assert!(sub.wait_count(1, WAIT));
    assert_eq!(sub.received().msgs.lock().unwrap()[0].reply.as_deref(), Some("answers.here"));
    check(
        unsafe { nats_publish_with_reply(c.raw(), cs("ask").as_ptr(), cs("bad reply").as_ptr(), std::ptr::null(), 0) },
        NATS_ERR_INVALID_SUBJECT,
    );
}

/// State for the re-entrancy test: the callback publishes, requests, then frees its own sub.
struct Reentrant {
    conn: *mut nats_connection,
    seen: AtomicUsize,
    freed: AtomicUsize,
}

unsafe extern "C" fn reentrant_cb(ud: *mut c_void, sub: *mut nats_subscription, msg: *const nats_msg) {
    let st = &*(ud as *const Reentrant);
    let n = st.seen.fetch_add(1, Ordering::SeqCst);
    // Publish and request from the delivery thread.
    ok(nats_publish(st.conn, cs("reentrant.out").as_ptr(), b"p".as_ptr().cast(), 1));
    let mut reply = std::ptr::null_mut();
    ok(nats_request(st.conn, cs("svc.upper").as_ptr(), b"abc".as_ptr().cast(), 3, 5000, &mut reply));
    assert_eq!(msg_data(reply), b"ABC");
    nats_msg_free(reply);
    // Keep the message beyond the callback.
    let mut kept = std::ptr::null_mut();
    ok(nats_msg_clone(msg, &mut kept));
    if n == 2 {
        // Unsubscribe and free our own subscription from inside the callback.
        ok(nats_subscription_unsubscribe(sub));
        check(nats_subscription_unsubscribe(sub), NATS_ERR_INVALID_SUBSCRIPTION);
        nats_subscription_free(sub);
    }
    assert_eq!(msg_data(kept), msg_data(msg));
    nats_msg_free(kept);
}

unsafe extern "C" fn reentrant_free(ud: *mut c_void) {
    (*(ud as *const Reentrant)).freed.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn callback_may_publish_request_and_free_its_subscription() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let responder = upper_responder(&c, "svc.upper");
    let out = Sub::new(&c, "reentrant.out", "");
    let st = Arc::new(Reentrant { conn: c.raw(), seen: AtomicUsize::new(0), freed: AtomicUsize::new(0) });
    let mut sub = std::ptr::null_mut();
    ok(unsafe {
        nats_subscribe_ex(
            c.raw(),
            cs("reentrant.in").as_ptr(),
            std::ptr::null(),
            Some(reentrant_cb),
            Arc::as_ptr(&st) as *mut c_void,
            Some(reentrant_free),
            &mut sub,
        )
    });
    c.flush();
    for _ in 0..10 {
        ok(c.publish("reentrant.in", b"m"));
    }
    c.flush();
    assert!(wait_until(WAIT, || st.freed.load(Ordering::SeqCst) == 1), "user_data_free not called");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(st.seen.load(Ordering::SeqCst), 3, "no callback after the sub freed itself");
    assert_eq!(st.freed.load(Ordering::SeqCst), 1, "user_data_free exactly once");
    assert!(out.wait_count(3, WAIT));
    unsafe { nats_subscription_free(responder) };
}

/// async-nats hands a subscription's messages over in runs of consecutive ones (PATCHES.md
/// patch 17): interleaved messages for three subscriptions on one connection, a run longer
/// than one hand-over (256 messages), and an auto-unsubscribe maximum reached in the middle
/// of a read each reach the right subscription, all of them, in order, and no more than the
/// maximum. (Fails when runs are not split by subscription, or when a subscription is
/// removed at its maximum before its run was handed over.)
#[test]
fn interleaved_subscriptions_each_get_theirs_in_order() {
    let srv = Server::start();
    let sub_conn = Conn::to(&srv.url());
    let pub_conn = Conn::to(&srv.url());
    let (a, b, limited) =
        (Sub::new(&sub_conn, "mix.a", ""), Sub::new(&sub_conn, "mix.b", ""), Sub::new(&sub_conn, "mix.c", ""));
    ok(unsafe { nats_subscription_auto_unsubscribe(limited.raw(), 150) });
    sub_conn.flush();
    for i in 0..1000u32 {
        for subject in ["mix.a", "mix.b", "mix.c"] {
            ok(pub_conn.publish(subject, &i.to_be_bytes()));
        }
    }
    // One run of 600 for `a` alone: longer than one hand-over (256).
    for i in 1000..1600u32 {
        ok(pub_conn.publish("mix.a", &i.to_be_bytes()));
    }
    pub_conn.flush();
    let numbers = |sub: &Sub| -> Vec<u32> {
        sub.received().payloads().iter().map(|p| u32::from_be_bytes(p[..4].try_into().unwrap())).collect()
    };
    assert!(a.wait_count(1600, WAIT), "a got {}", a.count());
    assert!(b.wait_count(1000, WAIT), "b got {}", b.count());
    assert!(limited.wait_count(150, WAIT), "c got {}", limited.count());
    sub_conn.flush();
    assert_eq!(numbers(&a), (0..1600).collect::<Vec<_>>(), "a: messages out of order, lost or misdelivered");
    assert_eq!(numbers(&b), (0..1000).collect::<Vec<_>>(), "b: messages out of order, lost or misdelivered");
    assert_eq!(numbers(&limited), (0..150).collect::<Vec<_>>(), "c: not exactly its first 150");
}

#[test]
fn unsubscribe_stops_delivery() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let sub = Sub::new(&c, "u", "");
    c.flush();
    ok(c.publish("u", b"1"));
    assert!(sub.wait_count(1, WAIT));
    ok(unsafe { nats_subscription_unsubscribe(sub.raw()) });
    c.flush();
    // The server has no interest any more: a request finds no responders.
    check(c.request("u", b"2", 2000).err().unwrap(), NATS_ERR_NO_RESPONDERS);
    ok(c.publish("u", b"3"));
    c.flush();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sub.count(), 1);
}

#[test]
fn close_ends_subscriptions_and_further_calls_fail() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let sub = Sub::new(&c, "x", "");
    c.flush();
    // Monitoring is read under load: wait for the count rather than trust one sample.
    assert!(wait_until(WAIT, || srv.num_connections() == 1), "server sees {} connections", srv.num_connections());
    unsafe { nats_connection_close(c.raw()) };
    assert_eq!(c.status(), nats_conn_status::NATS_CONN_STATUS_CLOSED);
    check(c.publish("x", b"1"), NATS_ERR_CONNECTION_CLOSED);
    check(c.request("x", b"1", 100).err().unwrap(), NATS_ERR_CONNECTION_CLOSED);
    check(unsafe { nats_connection_flush(c.raw(), 100) }, NATS_ERR_CONNECTION_CLOSED);
    let mut s2 = std::ptr::null_mut();
    check(
        unsafe { nats_subscribe(c.raw(), cs("y").as_ptr(), Some(echo_upper), std::ptr::null_mut(), &mut s2) },
        NATS_ERR_CONNECTION_CLOSED,
    );
    assert!(s2.is_null());
    check(unsafe { nats_subscription_unsubscribe(sub.raw()) }, NATS_ERR_CONNECTION_CLOSED);
    unsafe { nats_connection_close(c.raw()) }; // idempotent
    assert!(wait_until(WAIT, || srv.num_connections() == 0), "server still sees the client");
}

#[test]
fn close_flushes_published_messages() {
    let srv = Server::start();
    let rx = Conn::to(&srv.url());
    let sub = Sub::new(&rx, "last.words", "");
    rx.flush();
    let tx = Conn::to(&srv.url());
    for i in 0..5000u32 {
        ok(tx.publish("last.words", &i.to_be_bytes()));
    }
    drop(tx); // nats_connection_free without an explicit flush
    assert!(sub.wait_count(5000, WAIT), "lost messages on close: got {}", sub.count());
}

#[test]
fn free_connection_with_live_subscription() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let sub = Sub::new(&c, "z", "");
    c.flush();
    drop(c);
    // The subscription handle stays valid after its connection is freed.
    check(unsafe { nats_subscription_unsubscribe(sub.raw()) }, NATS_ERR_CONNECTION_CLOSED);
    drop(sub);
}

#[test]
fn blocking_calls_refuse_runtime_threads() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let conn = Conn::from_raw(c.raw());
    rt.block_on(async {
        check(conn.request("a", b"", 100).err().unwrap(), NATS_ERR_WOULD_BLOCK_RUNTIME);
        check(unsafe { nats_connection_flush(conn.raw(), 100) }, NATS_ERR_WOULD_BLOCK_RUNTIME);
        let mut out = std::ptr::null_mut();
        check(unsafe { nats_connect_url(cs(&srv.url()).as_ptr(), &mut out) }, NATS_ERR_WOULD_BLOCK_RUNTIME);
    });
    std::mem::forget(conn);
}

#[test]
fn many_threads_share_a_connection() {
    let srv = Server::start();
    let c = Arc::new(Conn::to(&srv.url()));
    let sub = Sub::new(&c, "mt.>", "");
    c.flush();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    ok(c.publish(&format!("mt.{t}"), format!("{i}").as_bytes()));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    c.flush();
    assert!(sub.wait_count(4000, WAIT), "got {}", sub.count());
    // Per-publisher order is kept.
    let msgs = sub.received().msgs.lock().unwrap();
    for t in 0..8 {
        let seq: Vec<usize> = msgs
            .iter()
            .filter(|m| m.subject == format!("mt.{t}"))
            .map(|m| std::str::from_utf8(&m.data).unwrap().parse().unwrap())
            .collect();
        assert_eq!(seq, (0..500).collect::<Vec<_>>());
    }
}

#[test]
fn flush_means_the_server_has_processed_earlier_subscribes() {
    let srv = Server::start();
    let responder = Conn::to(&srv.url());
    let client = Conn::to(&srv.url());
    for i in 0..50 {
        let subject = format!("barrier.{i}");
        let sub = upper_responder(&responder, &subject);
        responder.flush();
        // Right after flush, another connection must find the responder.
        assert_eq!(
            client.request(&subject, b"x", 5000).expect("subscription not yet known to the server").data(),
            b"X"
        );
        unsafe { nats_subscription_free(sub) };
    }
    // Flush works with no_echo too (the probe does not rely on our own messages coming back).
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_ffi::nats_options_set_no_echo(o.raw(), true) });
    let quiet = o.connect().unwrap();
    ok(unsafe { nats_connection_flush(quiet.raw(), 2000) });
}

/// A subscribe's SUB waits in the publish buffer behind what the connection published before
/// it; the UNSUB of an unsubscribe (at once, or after a count) must still reach the server
/// after it, or the server keeps a subscription the client has dropped. 40 rounds, each
/// behind 2 MiB published to nobody so that the SUB is still buffered when the UNSUB is sent.
#[test]
fn unsubscribe_reaches_the_server_after_its_subscribe() {
    let srv = Server::start();
    let c = Opts::new().servers(&[&srv.url()]).name("unsub-order").connect().unwrap();
    let bulk = vec![b'x'; 64 * 1024];
    let mut counted = Vec::new();
    for i in 0..40 {
        for _ in 0..32 {
            ok(c.publish("bulk.nobody", &bulk));
        }
        let subject = cs(&format!("gone.{i}"));
        let mut sub = std::ptr::null_mut();
        ok(unsafe { nats_subscribe_sync(c.raw(), subject.as_ptr(), &mut sub) });
        if i % 2 == 0 {
            ok(unsafe { nats_subscription_unsubscribe(sub) });
        } else {
            // Ends at the server once one message went through it.
            ok(unsafe { nats_subscription_auto_unsubscribe(sub, 1) });
            ok(c.publish(&format!("gone.{i}"), b"last"));
            counted.push(sub);
            continue;
        }
        unsafe { nats_subscription_free(sub) };
    }
    c.flush();
    assert!(
        wait_until(WAIT, || srv.subscriptions_of("unsub-order") == Some(0)),
        "the server still holds {:?} of the client's subscriptions",
        srv.subscriptions_of("unsub-order")
    );
    counted.into_iter().for_each(|sub| unsafe { nats_subscription_free(sub) });
}
