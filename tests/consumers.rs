//! JetStream consumers from C: pull (fetch, next, consume), push (callback, queue, sync),
//! ordered, acknowledgements (ack, nak, nak with delay, in progress, term), ack wait and max
//! deliver, message metadata, consumer management; against a real nats-server with -js.

mod common;
use common::js::*;
use common::*;
use nats_ffi::nats_strings_free;
use nats_ffi::*;
use std::ffi::{c_char, c_void, CStr};
use std::ptr::{null, null_mut};
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn config() -> nats_consumer_config {
    let mut c = std::mem::MaybeUninit::uninit();
    ok(unsafe { nats_consumer_config_init(c.as_mut_ptr()) });
    unsafe { c.assume_init() }
}

/// Creates a consumer; returns its name.
fn create(j: &Js, stream: &str, cfg: &nats_consumer_config) -> String {
    let s = cs(stream);
    let mut info = null_mut();
    ok(unsafe { nats_jetstream_consumer_create(j.raw(), s.as_ptr(), cfg, &mut info) });
    let name = unsafe { CStr::from_ptr(nats_consumer_info_name(info)).to_str().unwrap().to_string() };
    unsafe { nats_consumer_info_free(info) };
    name
}

fn pull(j: &Js, stream: &str, name: &str) -> Pull {
    let (s, n) = (cs(stream), cs(name));
    let mut p = null_mut();
    ok(unsafe { nats_jetstream_pull_consumer(j.raw(), s.as_ptr(), n.as_ptr(), &mut p) });
    Pull::from_raw(p)
}

fn meta(m: *const nats_msg) -> nats_js_msg_metadata {
    let mut md = std::mem::MaybeUninit::uninit();
    ok(unsafe { nats_msg_metadata(m, md.as_mut_ptr()) });
    unsafe { md.assume_init() }
}

fn next(p: &Pull, timeout_ms: u64) -> Result<Msg, nats_status> {
    let mut m = null_mut();
    match unsafe { nats_pull_consumer_next(p.raw(), timeout_ms, &mut m) } {
        NATS_OK => Ok(Msg::from_raw(m)),
        st => {
            assert!(m.is_null());
            Err(st)
        }
    }
}

fn fetch(p: &Pull, batch: usize, timeout_ms: u64) -> Result<Vec<Msg>, nats_status> {
    let (mut list, mut n) = (null_mut(), 0usize);
    match unsafe { nats_pull_consumer_fetch(p.raw(), batch, timeout_ms, &mut list, &mut n) } {
        NATS_OK => {
            // Take every message out of the array, then free the (now empty) array.
            let v = (0..n)
                .map(|i| unsafe {
                    let m = *list.add(i);
                    *list.add(i) = null_mut();
                    Msg::from_raw(m)
                })
                .collect();
            unsafe { nats_msgs_free(list, n) };
            Ok(v)
        }
        st => Err(st),
    }
}

fn cinfo(j: &Js, stream: &str, name: &str) -> (u64, u64, u64, u64) {
    let (s, n) = (cs(stream), cs(name));
    let mut i = null_mut();
    ok(unsafe { nats_jetstream_consumer_info(j.raw(), s.as_ptr(), n.as_ptr(), &mut i) });
    let r = unsafe {
        (
            nats_consumer_info_num_pending(i),
            nats_consumer_info_num_ack_pending(i),
            nats_consumer_info_ack_floor_stream_seq(i),
            nats_consumer_info_num_redelivered(i),
        )
    };
    unsafe { nats_consumer_info_free(i) };
    r
}

fn publish_n(j: &Js, subject: &str, n: usize) {
    for i in 0..n {
        publish(j, subject, format!("m{i}").as_bytes(), None).unwrap();
    }
}

#[test]
fn pull_fetch_next_ack_and_metadata() {
    let (_srv, c, j) = js_setup();
    create_stream(&j, "LOG", &["log.>"], 0);
    publish_n(&j, "log.a", 10);
    let mut cfg = config();
    let d = cs("worker");
    cfg.durable_name = d.as_ptr();
    assert_eq!(create(&j, "LOG", &cfg), "worker");
    let p = pull(&j, "LOG", "worker");

    let batch = fetch(&p, 5, 2000).unwrap();
    assert_eq!(batch.len(), 5);
    for (i, m) in batch.iter().enumerate() {
        let md = meta(m.raw());
        assert_eq!(md.stream_seq, i as u64 + 1);
        assert_eq!(md.consumer_seq, i as u64 + 1);
        assert_eq!(md.num_delivered, 1);
        assert_eq!(md.num_pending, 10 - (i as u64 + 1));
        assert!(md.timestamp_ns > 1_600_000_000_000_000_000);
        unsafe {
            assert_eq!(CStr::from_ptr(md.stream).to_str().unwrap(), "LOG");
            assert_eq!(CStr::from_ptr(md.consumer).to_str().unwrap(), "worker");
        }
        assert_eq!(m.data(), format!("m{i}").as_bytes());
        ok(unsafe { nats_msg_ack(m.raw()) });
        // One final acknowledgement per message.
        check(unsafe { nats_msg_ack(m.raw()) }, NATS_ERR_INVALID_ARGUMENT);
        check(unsafe { nats_msg_nak(m.raw()) }, NATS_ERR_INVALID_ARGUMENT);
    }
    let m = next(&p, 2000).unwrap();
    assert_eq!(meta(m.raw()).stream_seq, 6);
    ok(unsafe { nats_msg_ack_sync(m.raw(), 2000) });
    // Asking for more than there are: returns what arrived once the timeout passes.
    let t = Instant::now();
    let rest = fetch(&p, 10, 500).unwrap();
    assert_eq!(rest.len(), 4);
    assert!(t.elapsed() >= Duration::from_millis(400), "waited for the batch to fill: {:?}", t.elapsed());
    for m in &rest {
        ok(unsafe { nats_msg_ack(m.raw()) });
    }
    c.flush();
    check(fetch(&p, 3, 200).map(|_| ()).unwrap_err(), NATS_ERR_TIMEOUT);
    let (mut list, mut n) = (null_mut(), 0usize);
    check(unsafe { nats_pull_consumer_fetch_no_wait(p.raw(), 3, &mut list, &mut n) }, NATS_ERR_NOT_FOUND);
    assert!(wait_until(Duration::from_secs(3), || cinfo(&j, "LOG", "worker") == (0, 0, 10, 0)));

    // fetch_no_wait returns what is there now.
    publish_n(&j, "log.b", 2);
    ok(unsafe { nats_pull_consumer_fetch_no_wait(p.raw(), 5, &mut list, &mut n) });
    assert_eq!(n, 2);
    unsafe {
        for i in 0..n {
            ok(nats_msg_ack(*list.add(i)));
        }
        nats_msgs_free(list, n);
    }

    // Not JetStream messages: no ack, no metadata.
    let mut plain = null_mut();
    let subj = cs("x");
    ok(unsafe { nats_msg_new(subj.as_ptr(), null(), null(), 0, &mut plain) });
    check(unsafe { nats_msg_ack(plain) }, NATS_ERR_INVALID_ARGUMENT);
    let mut md = std::mem::MaybeUninit::uninit();
    check(unsafe { nats_msg_metadata(plain, md.as_mut_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    unsafe { nats_msg_free(plain) };
    check(unsafe { nats_msg_ack(null()) }, NATS_ERR_NULL_ARGUMENT);
    check(unsafe { nats_pull_consumer_fetch(p.raw(), 0, 100, &mut list, &mut n) }, NATS_ERR_INVALID_ARGUMENT);
    check(unsafe { nats_pull_consumer_fetch(p.raw(), 1, 1, &mut list, &mut n) }, NATS_ERR_INVALID_ARGUMENT);
    check(unsafe { nats_pull_consumer_fetch(null_mut(), 1, 100, &mut list, &mut n) }, NATS_ERR_NULL_ARGUMENT);
    unsafe { nats_msgs_free(null_mut(), 3) };
}

#[test]
fn redelivery_ack_wait_max_deliver_nak_progress_term() {
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "Q", &["q.>"], 0);

    // Ack wait 300 ms, at most 2 deliveries.
    let mut cfg = config();
    let d = cs("redeliver");
    let f = cs("q.one");
    cfg.durable_name = d.as_ptr();
    cfg.filter_subject = f.as_ptr();
    cfg.ack_wait_ms = 300;
    cfg.max_deliver = 2;
    create(&j, "Q", &cfg);
    publish(&j, "q.one", b"x", None).unwrap();
    let p = pull(&j, "Q", "redeliver");
    let first = next(&p, 2000).unwrap();
    assert_eq!(meta(first.raw()).num_delivered, 1);
    // Not acknowledged in time: the server delivers it again, no earlier than the ack wait.
    let t = Instant::now();
    let again = next(&p, 3000).unwrap();
    assert!(t.elapsed() >= Duration::from_millis(200), "redelivered after {:?}", t.elapsed());
    let md = meta(again.raw());
    assert_eq!((md.stream_seq, md.num_delivered), (1, 2));
    // max_deliver reached: never again.
    check(next(&p, 1000).map(|_| ()).unwrap_err(), NATS_ERR_TIMEOUT);

    // nak: redelivered at once; nak with delay: not before the delay.
    let mut cfg = config();
    let d = cs("nak");
    let f = cs("q.two");
    cfg.durable_name = d.as_ptr();
    cfg.filter_subject = f.as_ptr();
    cfg.ack_wait_ms = 30_000;
    create(&j, "Q", &cfg);
    publish(&j, "q.two", b"y", None).unwrap();
    let p = pull(&j, "Q", "nak");
    let m = next(&p, 2000).unwrap();
    ok(unsafe { nats_msg_nak(m.raw()) });
    let m = next(&p, 2000).unwrap();
    assert_eq!(meta(m.raw()).num_delivered, 2);
    ok(unsafe { nats_msg_nak_with_delay(m.raw(), 800) });
    check(next(&p, 400).map(|_| ()).unwrap_err(), NATS_ERR_TIMEOUT);
    let m = next(&p, 3000).unwrap();
    assert_eq!(meta(m.raw()).num_delivered, 3);

    // in progress: keeps resetting the ack wait, so no redelivery while working.
    let mut cfg = config();
    let d = cs("slow");
    let f = cs("q.three");
    cfg.durable_name = d.as_ptr();
    cfg.filter_subject = f.as_ptr();
    cfg.ack_wait_ms = 500;
    create(&j, "Q", &cfg);
    publish(&j, "q.three", b"z", None).unwrap();
    let p = pull(&j, "Q", "slow");
    let m = next(&p, 2000).unwrap();
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(200));
        ok(unsafe { nats_msg_in_progress(m.raw()) });
    }
    check(next(&p, 200).map(|_| ()).unwrap_err(), NATS_ERR_TIMEOUT);
    // term: never redelivered, although the ack wait passes.
    ok(unsafe { nats_msg_term(m.raw()) });
    check(unsafe { nats_msg_in_progress(m.raw()) }, NATS_ERR_INVALID_ARGUMENT);
    std::thread::sleep(Duration::from_millis(700));
    check(next(&p, 300).map(|_| ()).unwrap_err(), NATS_ERR_TIMEOUT);
    assert_eq!(cinfo(&j, "Q", "slow").1, 0, "nothing awaits an ack after term");
}

/// Records each message's stream sequence and payload; acks if asked to.
struct Rec {
    seen: Mutex<Vec<(u64, Vec<u8>, u16)>>,
    ack: bool,
}

unsafe extern "C" fn on_msg(ud: *mut c_void, _s: *mut nats_subscription, m: *const nats_msg) {
    let r = &*(ud as *const Rec);
    let status = nats_msg_status(m);
    let seq = if status == 0 { meta(m).stream_seq } else { 0 };
    let data = std::slice::from_raw_parts(nats_msg_data(m).cast::<u8>(), nats_msg_data_len(m)).to_vec();
    if r.ack {
        ok(nats_msg_ack(m));
    }
    r.seen.lock().unwrap().push((seq, data, status));
}

fn rec(ack: bool) -> Box<Rec> {
    Box::new(Rec { seen: Mutex::new(Vec::new()), ack })
}

fn seqs(r: &Rec) -> Vec<u64> {
    r.seen.lock().unwrap().iter().map(|x| x.0).collect()
}

#[test]
fn push_consumer_callbacks_queue_group_and_sync() {
    let (_srv, c, j) = js_setup();
    create_stream(&j, "EV", &["ev.>"], 0);
    let mut cfg = config();
    let (d, ds, g) = (cs("push"), cs("deliver.ev"), cs("workers"));
    cfg.durable_name = d.as_ptr();
    cfg.deliver_subject = ds.as_ptr();
    cfg.deliver_group = g.as_ptr();
    create(&j, "EV", &cfg);
    let (r1, r2) = (rec(true), rec(true));
    let (st, cn) = (cs("EV"), cs("push"));
    let (mut s1, mut s2) = (null_mut(), null_mut());
    unsafe {
        ok(nats_jetstream_subscribe(
            j.raw(),
            st.as_ptr(),
            cn.as_ptr(),
            Some(on_msg),
            &*r1 as *const Rec as *mut c_void,
            None,
            &mut s1,
        ));
        ok(nats_jetstream_subscribe(
            j.raw(),
            st.as_ptr(),
            cn.as_ptr(),
            Some(on_msg),
            &*r2 as *const Rec as *mut c_void,
            None,
            &mut s2,
        ));
    }
    c.flush();
    publish_n(&j, "ev.x", 200);
    assert!(wait_until(Duration::from_secs(10), || seqs(&r1).len() + seqs(&r2).len() == 200));
    let mut all: Vec<u64> = seqs(&r1).into_iter().chain(seqs(&r2)).collect();
    all.sort_unstable();
    assert_eq!(all, (1..=200).collect::<Vec<_>>(), "each message exactly once across the group");
    assert!(!seqs(&r1).is_empty() && !seqs(&r2).is_empty(), "both members got messages");
    assert!(wait_until(Duration::from_secs(5), || cinfo(&j, "EV", "push").1 == 0), "all acked");
    unsafe {
        nats_subscription_free(s1);
        nats_subscription_free(s2);
    }

    // Synchronous, with flow control and heartbeats: those are handled, not delivered.
    let mut cfg = config();
    let (d, ds) = (cs("hb"), cs("deliver.hb"));
    cfg.durable_name = d.as_ptr();
    cfg.deliver_subject = ds.as_ptr();
    cfg.flow_control = true;
    cfg.idle_heartbeat_ms = 100;
    create(&j, "EV", &cfg);
    let hb = cs("hb");
    let mut s = null_mut();
    ok(unsafe { nats_jetstream_subscribe_sync(j.raw(), st.as_ptr(), hb.as_ptr(), &mut s) });
    for want in 1..=200u64 {
        let mut m = null_mut();
        ok(unsafe { nats_subscription_next_msg(s, 2000, &mut m) });
        assert_eq!(unsafe { nats_msg_status(m) }, 0);
        assert_eq!(meta(m).stream_seq, want);
        ok(unsafe { nats_msg_ack(m) });
        unsafe { nats_msg_free(m) };
    }
    let mut m = null_mut();
    check(unsafe { nats_subscription_next_msg(s, 600, &mut m) }, NATS_ERR_TIMEOUT);
    unsafe { nats_subscription_free(s) };

    // Kinds must match.
    let mut cfg = config();
    let d = cs("pullonly");
    cfg.durable_name = d.as_ptr();
    create(&j, "EV", &cfg);
    let mut s = null_mut();
    check(
        unsafe { nats_jetstream_subscribe_sync(j.raw(), st.as_ptr(), d.as_ptr(), &mut s) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    assert!(last_error().contains("pull consumer"), "{}", last_error());
    let mut p = null_mut();
    check(
        unsafe { nats_jetstream_pull_consumer(j.raw(), st.as_ptr(), cn.as_ptr(), &mut p) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    assert!(p.is_null());
    let nope = cs("nope");
    check(unsafe { nats_jetstream_pull_consumer(j.raw(), st.as_ptr(), nope.as_ptr(), &mut p) }, NATS_ERR_NOT_FOUND);
}

#[test]
fn ordered_consumer_sees_every_message_in_order() {
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "ORD", &["ord.>"], 0);
    publish_n(&j, "ord.a", 300);
    publish_n(&j, "ord.b", 50);
    let r = rec(false);
    let (st, f) = (cs("ORD"), cs("ord.a"));
    let mut cfg = config();
    cfg.filter_subject = f.as_ptr();
    let mut s = null_mut();
    ok(unsafe {
        nats_jetstream_subscribe_ordered(
            j.raw(),
            st.as_ptr(),
            &cfg,
            Some(on_msg),
            &*r as *const Rec as *mut c_void,
            None,
            &mut s,
        )
    });
    assert!(wait_until(Duration::from_secs(10), || seqs(&r).len() == 300));
    // New messages keep coming, in order.
    publish_n(&j, "ord.a", 100);
    assert!(wait_until(Duration::from_secs(10), || seqs(&r).len() == 400));
    let got = seqs(&r);
    let want: Vec<u64> = (1..=300).chain(351..=450).collect();
    assert_eq!(got, want);
    let data: Vec<Vec<u8>> = r.seen.lock().unwrap().iter().map(|x| x.1.clone()).collect();
    assert_eq!(data[299], b"m299");
    unsafe { nats_subscription_free(s) };

    // NULL cfg: everything from the start.
    let r = rec(false);
    ok(unsafe {
        nats_jetstream_subscribe_ordered(
            j.raw(),
            st.as_ptr(),
            null(),
            Some(on_msg),
            &*r as *const Rec as *mut c_void,
            None,
            &mut s,
        )
    });
    assert!(wait_until(Duration::from_secs(10), || seqs(&r).len() == 450));
    assert_eq!(seqs(&r), (1..=450).collect::<Vec<_>>());
    unsafe { nats_subscription_free(s) };
    let nope = cs("NOPE");
    check(
        unsafe {
            nats_jetstream_subscribe_ordered(j.raw(), nope.as_ptr(), null(), Some(on_msg), null_mut(), None, &mut s)
        },
        NATS_ERR_NOT_FOUND,
    );
}

#[test]
fn pull_consume_with_callback_delivers_and_acks_everything() {
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "C", &["c.>"], 0);
    let mut cfg = config();
    let d = cs("consume");
    cfg.durable_name = d.as_ptr();
    create(&j, "C", &cfg);
    publish_n(&j, "c.x", 300);
    let p = pull(&j, "C", "consume");
    let r = rec(true);
    let mut s = null_mut();
    ok(unsafe { nats_pull_consumer_consume(p.raw(), Some(on_msg), &*r as *const Rec as *mut c_void, None, &mut s) });
    publish_n(&j, "c.x", 700);
    assert!(wait_until(Duration::from_secs(15), || seqs(&r).len() == 1000), "got {}", seqs(&r).len());
    assert_eq!(seqs(&r), (1..=1000).collect::<Vec<_>>());
    assert!(wait_until(Duration::from_secs(5), || cinfo(&j, "C", "consume") == (0, 0, 1000, 0)));
    ok(unsafe { nats_subscription_unsubscribe(s) });
    unsafe { nats_subscription_free(s) };
    let mut i = null_mut();
    ok(unsafe { nats_pull_consumer_info(p.raw(), &mut i) });
    assert_eq!(unsafe { nats_consumer_info_ack_floor_stream_seq(i) }, 1000);
    unsafe { nats_consumer_info_free(i) };
}

/// async-nats patch 5: `nats_pull_consumer_consume` kept pulling only while async-nats'
/// count of messages still to come was right. A pull's batch was added to it when the pull's
/// request task reported the pull sent; that task is often run late (woken into the runtime
/// worker's LIFO slot behind the consuming task, or preempted), and the pull's messages
/// counted down from 0 before were lost: the count drifted up and the stream stopped pulling
/// with messages left (a 30 s stall until the pull expired; the c_jetstream_tests flake of
/// issue 15). Busy threads make the late report likely: before the patch this stalled in
/// most runs (see PATCHES.md); every round must deliver all its messages.
#[test]
fn pull_consume_keeps_pulling_on_a_busy_machine() {
    const MESSAGES: usize = 4000;
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "BUSY", &["busy.>"], 0);
    publish_n(&j, "busy.x", MESSAGES);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spinners: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let mut stalls = Vec::new();
    for round in 0..8 {
        let mut cfg = config();
        let d = cs(&format!("busy{round}"));
        cfg.durable_name = d.as_ptr();
        create(&j, "BUSY", &cfg);
        let p = pull(&j, "BUSY", &format!("busy{round}"));
        let r = rec(true);
        let mut s = null_mut();
        ok(unsafe {
            nats_pull_consumer_consume(p.raw(), Some(on_msg), &*r as *const Rec as *mut c_void, None, &mut s)
        });
        // A stall lasts until the pull expires (30 s); everything arrives well before.
        if !wait_until(Duration::from_secs(20), || seqs(&r).len() == MESSAGES) {
            stalls.push((round, seqs(&r).len()));
        }
        unsafe { nats_subscription_free(s) };
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    spinners.into_iter().for_each(|t| t.join().unwrap());
    assert!(stalls.is_empty(), "stalled (round, messages received): {stalls:?}");
}

#[test]
fn consumer_management() {
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "M", &["m.>"], 0);
    let st = cs("M");
    // Ephemeral: the server names it.
    let mut cfg = config();
    cfg.inactive_threshold_ms = 60_000;
    let eph = create(&j, "M", &cfg);
    assert!(!eph.is_empty());
    let mut cfg = config();
    let (d, desc) = (cs("dur"), cs("first"));
    cfg.durable_name = d.as_ptr();
    cfg.description = desc.as_ptr();
    cfg.ack_wait_ms = 1000;
    let backoff = [100u64, 200];
    cfg.backoff_ms = backoff.as_ptr();
    cfg.backoff_count = 2;
    cfg.max_deliver = 5;
    create(&j, "M", &cfg);
    // Same config again: fine.
    create(&j, "M", &cfg);
    let (mut names, mut n): (*mut *mut c_char, usize) = (null_mut(), 0);
    ok(unsafe { nats_jetstream_consumer_names(j.raw(), st.as_ptr(), &mut names, &mut n) });
    let mut list: Vec<String> =
        (0..n).map(|i| unsafe { CStr::from_ptr(*names.add(i)).to_str().unwrap().to_string() }).collect();
    unsafe { nats_strings_free(names, n) };
    list.sort();
    let mut want = vec!["dur".to_string(), eph.clone()];
    want.sort();
    assert_eq!(list, want);
    // Update.
    let desc2 = cs("second");
    cfg.description = desc2.as_ptr();
    let mut info = null_mut();
    ok(unsafe { nats_jetstream_consumer_update(j.raw(), st.as_ptr(), &cfg, &mut info) });
    unsafe {
        assert_eq!(CStr::from_ptr(nats_consumer_info_stream(info)).to_str().unwrap(), "M");
        assert!(!nats_consumer_info_is_push(info));
        nats_consumer_info_free(info);
    }
    let ghost = cs("ghost");
    cfg.durable_name = ghost.as_ptr();
    check(unsafe { nats_jetstream_consumer_update(j.raw(), st.as_ptr(), &cfg, null_mut()) }, NATS_ERR_NOT_FOUND);
    // Delete.
    ok(unsafe { nats_jetstream_consumer_delete(j.raw(), st.as_ptr(), d.as_ptr()) });
    check(unsafe { nats_jetstream_consumer_delete(j.raw(), st.as_ptr(), d.as_ptr()) }, NATS_ERR_NOT_FOUND);
    let mut i = null_mut();
    check(unsafe { nats_jetstream_consumer_info(j.raw(), st.as_ptr(), d.as_ptr(), &mut i) }, NATS_ERR_NOT_FOUND);
    assert!(i.is_null());
    let nost = cs("NOSTREAM");
    check(unsafe { nats_jetstream_consumer_create(j.raw(), nost.as_ptr(), &config(), null_mut()) }, NATS_ERR_NOT_FOUND);
    // Bad input.
    let bad = cs("a.b");
    let mut cfg = config();
    cfg.durable_name = bad.as_ptr();
    check(unsafe { nats_jetstream_consumer_create(j.raw(), st.as_ptr(), &cfg, null_mut()) }, NATS_ERR_INVALID_ARGUMENT);
    let mut cfg = config();
    cfg.deliver_policy = nats_deliver_policy::NATS_DELIVER_BY_START_SEQUENCE as i32;
    check(unsafe { nats_jetstream_consumer_create(j.raw(), st.as_ptr(), &cfg, null_mut()) }, NATS_ERR_INVALID_ARGUMENT);
    cfg.opt_start_seq = 1;
    create(&j, "M", &cfg);
    let mut cfg = config();
    cfg.backoff_count = 2;
    check(unsafe { nats_jetstream_consumer_create(j.raw(), st.as_ptr(), &cfg, null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    check(unsafe { nats_jetstream_consumer_create(j.raw(), st.as_ptr(), null(), null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    check(unsafe { nats_jetstream_consumer_create(j.raw(), null(), &config(), null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    check(unsafe { nats_consumer_config_init(null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    unsafe {
        nats_consumer_info_free(null_mut());
        nats_pull_consumer_free(null_mut());
        assert_eq!(nats_consumer_info_num_pending(null()), 0);
        assert_eq!(CStr::from_ptr(nats_consumer_info_name(null())).to_bytes(), b"");
    }
}

fn text(p: *const c_char) -> String {
    assert!(!p.is_null());
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string()
}

fn texts(p: *const *const c_char, n: usize) -> Vec<String> {
    (0..n).map(|i| text(unsafe { *p.add(i) })).collect()
}

/// A consumer info snapshot, freed on drop.
struct CInfo(*mut nats_consumer_info);

impl CInfo {
    fn get(j: &Js, stream: &str, name: &str) -> CInfo {
        let mut i = null_mut();
        ok(unsafe { nats_jetstream_consumer_info(j.raw(), cs(stream).as_ptr(), cs(name).as_ptr(), &mut i) });
        CInfo(i)
    }
    fn config(&self) -> nats_consumer_config {
        let mut c = config();
        ok(unsafe { nats_consumer_info_config(self.0, &mut c) });
        c
    }
}

impl Drop for CInfo {
    fn drop(&mut self) {
        unsafe { nats_consumer_info_free(self.0) };
    }
}

/// The new consumer fields (several filters, pull request limits, rate limit, metadata)
/// go to the server and come back with the rest through `nats_consumer_info_config`; every
/// consumer's info comes in one call.
#[test]
fn consumer_config_round_trips_and_infos_list() {
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "CFG", &["cfg.>"], 0);
    let (name, desc, f1, f2) = (cs("puller"), cs("bounces and deferrals"), cs("cfg.bounce"), cs("cfg.defer.*"));
    let filters = [f1.as_ptr(), f2.as_ptr()];
    let (k, v) = (cs("team"), cs("postmaster"));
    let (keys, values) = ([k.as_ptr()], [v.as_ptr()]);
    let backoff = [1000u64, 5000];
    let mut cfg = config();
    cfg.durable_name = name.as_ptr();
    cfg.description = desc.as_ptr();
    cfg.filter_subjects = filters.as_ptr();
    cfg.filter_subjects_count = 2;
    cfg.max_deliver = 5;
    cfg.backoff_ms = backoff.as_ptr();
    cfg.backoff_count = 2;
    cfg.max_ack_pending = 100;
    cfg.max_waiting = 64;
    cfg.max_batch = 50;
    cfg.max_expires_ms = 30_000;
    cfg.max_bytes = 1 << 20;
    cfg.metadata_keys = keys.as_ptr();
    cfg.metadata_values = values.as_ptr();
    cfg.metadata_count = 1;
    create(&j, "CFG", &cfg);
    let info = CInfo::get(&j, "CFG", "puller");
    let back = info.config();
    assert_eq!(text(back.durable_name), "puller");
    assert_eq!(text(back.description), "bounces and deferrals");
    assert_eq!(texts(back.filter_subjects, back.filter_subjects_count), ["cfg.bounce", "cfg.defer.*"]);
    assert!(back.filter_subject.is_null());
    // With a backoff, the server takes the first step as the ack wait.
    assert_eq!((back.ack_wait_ms, back.max_deliver, back.max_ack_pending, back.max_waiting), (1000, 5, 100, 64));
    assert_eq!(unsafe { std::slice::from_raw_parts(back.backoff_ms, back.backoff_count) }, [1000, 5000]);
    assert_eq!((back.max_batch, back.max_expires_ms, back.max_bytes), (50, 30_000, 1 << 20));
    let meta: Vec<(String, String)> = texts(back.metadata_keys, back.metadata_count)
        .into_iter()
        .zip(texts(back.metadata_values, back.metadata_count))
        .collect();
    assert!(meta.contains(&("team".into(), "postmaster".into())), "{meta:?}");
    assert_eq!(back.ack_policy, nats_ack_policy::NATS_ACK_EXPLICIT as i32);
    assert!(back.deliver_subject.is_null() && !unsafe { nats_consumer_info_paused(info.0) });
    assert!(unsafe { nats_consumer_info_created_ns(info.0) } > 0);
    // The filters select: a bounce and a deferral, not a delivery.
    for s in ["cfg.bounce", "cfg.delivered", "cfg.defer.x"] {
        publish(&j, s, b"m", None).unwrap();
    }
    let got = fetch(&pull(&j, "CFG", "puller"), 10, 1000).unwrap();
    let subjects: Vec<String> = got.iter().map(|m| m.subject()).collect();
    assert_eq!(subjects, ["cfg.bounce", "cfg.defer.x"]);
    // A push consumer with a rate limit, by start sequence.
    let (pname, deliver) = (cs("pusher"), cs("deliver.cfg"));
    let mut push = config();
    push.durable_name = pname.as_ptr();
    push.deliver_subject = deliver.as_ptr();
    push.rate_limit_bps = 1_000_000;
    push.deliver_policy = nats_deliver_policy::NATS_DELIVER_BY_START_SEQUENCE as i32;
    push.opt_start_seq = 2;
    create(&j, "CFG", &push);
    let pinfo = CInfo::get(&j, "CFG", "pusher");
    let back = pinfo.config();
    assert_eq!((back.rate_limit_bps, back.opt_start_seq), (1_000_000, 2));
    assert_eq!(back.deliver_policy, nats_deliver_policy::NATS_DELIVER_BY_START_SEQUENCE as i32);
    assert_eq!(text(back.deliver_subject), "deliver.cfg");
    // Both in one call.
    let (mut list, mut n) = (null_mut(), 0);
    ok(unsafe { nats_jetstream_consumer_infos(j.raw(), cs("CFG").as_ptr(), &mut list, &mut n) });
    let mut names: Vec<String> = (0..n).map(|i| text(unsafe { nats_consumer_info_name(*list.add(i)) })).collect();
    names.sort();
    assert_eq!(names, ["puller", "pusher"]);
    unsafe { nats_consumer_infos_free(list, n) };
    // A filter and filters at once: refused by the server.
    let mut both = config();
    (both.filter_subject, both.filter_subjects, both.filter_subjects_count) = (f1.as_ptr(), filters.as_ptr(), 2);
    let mut i = null_mut();
    assert_ne!(unsafe { nats_jetstream_consumer_create(j.raw(), cs("CFG").as_ptr(), &both, &mut i) }, NATS_OK);
    assert!(i.is_null());
}

fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64
}

/// A paused consumer delivers nothing until resumed (or created paused).
#[test]
fn pause_and_resume_a_consumer() {
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "P", &["p.>"], 0);
    let name = cs("worker");
    let mut cfg = config();
    cfg.durable_name = name.as_ptr();
    create(&j, "P", &cfg);
    publish_n(&j, "p.x", 3);
    let (st, mut paused) = (cs("P"), false);
    ok(unsafe {
        nats_jetstream_consumer_pause(j.raw(), st.as_ptr(), name.as_ptr(), now_ns() + 60_000_000_000, &mut paused)
    });
    assert!(paused);
    let info = CInfo::get(&j, "P", "worker");
    assert!(unsafe { nats_consumer_info_paused(info.0) });
    let remaining = unsafe { nats_consumer_info_pause_remaining_ms(info.0) };
    assert!(remaining > 50_000 && remaining <= 60_000, "{remaining}");
    assert!(info.config().pause_until_ns > now_ns());
    let p = pull(&j, "P", "worker");
    check(fetch(&p, 3, 300).err().unwrap(), NATS_ERR_TIMEOUT);
    ok(unsafe { nats_jetstream_consumer_resume(j.raw(), st.as_ptr(), name.as_ptr()) });
    assert!(!unsafe { nats_consumer_info_paused(CInfo::get(&j, "P", "worker").0) });
    assert_eq!(fetch(&p, 3, 2000).unwrap().len(), 3);
    // A time already past: not paused.
    ok(unsafe {
        nats_jetstream_consumer_pause(j.raw(), st.as_ptr(), name.as_ptr(), now_ns() - 1_000_000_000, &mut paused)
    });
    assert!(!paused);
    check(
        unsafe { nats_jetstream_consumer_pause(j.raw(), st.as_ptr(), name.as_ptr(), 0, null_mut()) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    check(unsafe { nats_jetstream_consumer_resume(j.raw(), st.as_ptr(), cs("gone").as_ptr()) }, NATS_ERR_NOT_FOUND);
    // Created paused.
    let later = cs("later");
    let mut cfg = config();
    (cfg.durable_name, cfg.pause_until_ns) = (later.as_ptr(), now_ns() + 60_000_000_000);
    create(&j, "P", &cfg);
    assert!(unsafe { nats_consumer_info_paused(CInfo::get(&j, "P", "later").0) });
}

fn fetch_ex(p: &Pull, o: &nats_fetch_options) -> Result<Vec<Msg>, nats_status> {
    let (mut list, mut n) = (null_mut(), 0usize);
    match unsafe { nats_pull_consumer_fetch_ex(p.raw(), o, &mut list, &mut n) } {
        NATS_OK => {
            let v =
                (0..n).map(|i| Msg::from_raw(unsafe { std::mem::replace(&mut *list.add(i), null_mut()) })).collect();
            unsafe { nats_msgs_free(list, n) };
            Ok(v)
        }
        st => Err(st),
    }
}

fn fopts(batch: usize, max_bytes: usize, timeout_ms: u64, heartbeat_ms: u64) -> nats_fetch_options {
    nats_fetch_options { batch, max_bytes, timeout_ms, heartbeat_ms, no_wait: false }
}

/// A fetch limited by bytes stops short of its batch; heartbeats keep a long wait alive;
/// bad combinations are refused.
#[test]
fn fetch_by_bytes_and_with_heartbeats() {
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "F", &["f.>"], 0);
    let name = cs("f");
    let mut cfg = config();
    cfg.durable_name = name.as_ptr();
    create(&j, "F", &cfg);
    for _ in 0..10 {
        publish(&j, "f.x", &[b'x'; 100], None).unwrap();
    }
    let p = pull(&j, "F", "f");
    let got = fetch_ex(&p, &fopts(10, 350, 1000, 0)).unwrap();
    assert!((1..=3).contains(&got.len()), "{} messages within 350 bytes", got.len());
    for m in &got {
        ok(unsafe { nats_msg_ack(m.raw()) });
    }
    let rest = fetch_ex(&p, &nats_fetch_options { no_wait: true, ..fopts(20, 0, 0, 0) }).unwrap();
    assert_eq!(got.len() + rest.len(), 10);
    for m in &rest {
        ok(unsafe { nats_msg_ack_sync(m.raw(), 0) });
    }
    // Nothing left: with heartbeats every 100 ms, the fetch still waits out its second.
    let t = Instant::now();
    check(fetch_ex(&p, &fopts(5, 0, 1000, 100)).err().unwrap(), NATS_ERR_TIMEOUT);
    assert!(t.elapsed() >= Duration::from_millis(900), "{:?}", t.elapsed());
    check(fetch_ex(&p, &nats_fetch_options { no_wait: true, ..fopts(5, 0, 0, 0) }).err().unwrap(), NATS_ERR_NOT_FOUND);
    check(fetch_ex(&p, &fopts(5, 0, 1000, 600)).err().unwrap(), NATS_ERR_INVALID_ARGUMENT);
    check(
        fetch_ex(&p, &nats_fetch_options { no_wait: true, ..fopts(5, 0, 0, 100) }).err().unwrap(),
        NATS_ERR_INVALID_ARGUMENT,
    );
    check(fetch_ex(&p, &fopts(0, 0, 1000, 0)).err().unwrap(), NATS_ERR_INVALID_ARGUMENT);
    let (mut list, mut n) = (null_mut(), 0usize);
    check(unsafe { nats_pull_consumer_fetch_ex(p.raw(), null(), &mut list, &mut n) }, NATS_ERR_NULL_ARGUMENT);
}

struct Acks {
    seen: Mutex<Vec<(u64, u64)>>,
    nak_first: bool,
}

/// Records (stream sequence, delivery count); naks first deliveries when asked.
unsafe extern "C" fn on_delivery(ud: *mut c_void, _s: *mut nats_subscription, m: *const nats_msg) {
    let a = &*(ud as *const Acks);
    let md = meta(m);
    if a.nak_first && md.num_delivered == 1 {
        ok(nats_msg_nak(m));
    }
    a.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((md.stream_seq, md.num_delivered));
}

fn sub_subject(j: &Js, subject: &str, o: Option<&nats_js_subscribe_options>, acks: &Acks) -> *mut nats_subscription {
    let mut s = null_mut();
    ok(unsafe {
        nats_jetstream_subscribe_subject(
            j.raw(),
            cs(subject).as_ptr(),
            o.map_or(null(), |o| o as *const _),
            Some(on_delivery),
            acks as *const Acks as *mut c_void,
            None,
            &mut s,
        )
    });
    s
}

fn sub_options() -> nats_js_subscribe_options {
    nats_js_subscribe_options { stream: null(), durable: null(), queue: null(), manual_ack: false, config: null() }
}

/// Subscribing by subject finds the stream and makes the consumer (ephemeral, durable,
/// queue); messages are acknowledged when the callback returns, unless it acknowledged
/// itself (a nak then stands) or manual acks were asked; the subscription reports its
/// consumer's info.
#[test]
fn subscribe_by_subject_with_auto_ack() {
    let (_srv, c, j) = js_setup();
    create_stream(&j, "ORD", &["ord.>"], 0);
    let auto = Acks { seen: Mutex::new(Vec::new()), nak_first: false };
    let s = sub_subject(&j, "ord.eu", None, &auto);
    publish_n(&j, "ord.eu", 5);
    publish_n(&j, "ord.us", 5);
    assert!(wait_until(Duration::from_secs(10), || auto.seen.lock().unwrap().len() == 5));
    let mut info = null_mut();
    ok(unsafe { nats_subscription_consumer_info(s, &mut info) });
    let consumer = text(unsafe { nats_consumer_info_name(info) });
    assert_eq!(text(unsafe { nats_consumer_info_stream(info) }), "ORD");
    unsafe { nats_consumer_info_free(info) };
    // Every message acknowledged without the callback doing it.
    assert!(
        wait_until(Duration::from_secs(10), || cinfo(&j, "ORD", &consumer).1 == 0),
        "{:?}",
        cinfo(&j, "ORD", &consumer)
    );
    assert_eq!(cinfo(&j, "ORD", &consumer).2, 5, "ack floor at the last ord.eu");
    unsafe { nats_subscription_free(s) };

    // A callback's own nak stands: each message comes back once, then is auto-acked.
    let naks = Acks { seen: Mutex::new(Vec::new()), nak_first: true };
    let dur = cs("naker");
    let o = nats_js_subscribe_options { durable: dur.as_ptr(), ..sub_options() };
    let s = sub_subject(&j, "ord.us", Some(&o), &naks);
    assert!(wait_until(Duration::from_secs(10), || naks.seen.lock().unwrap().len() == 10));
    let mut seen = naks.seen.lock().unwrap().clone();
    seen.sort();
    let want: Vec<(u64, u64)> = [6, 7, 8, 9, 10].iter().flat_map(|&s| [(s, 1), (s, 2)]).collect();
    assert_eq!(seen, want);
    assert!(wait_until(Duration::from_secs(10), || cinfo(&j, "ORD", "naker").1 == 0));
    unsafe { nats_subscription_free(s) };

    // Manual acks: nothing acknowledged.
    let manual = Acks { seen: Mutex::new(Vec::new()), nak_first: false };
    let dur = cs("manual");
    let o = nats_js_subscribe_options { durable: dur.as_ptr(), manual_ack: true, ..sub_options() };
    let s = sub_subject(&j, "ord.eu", Some(&o), &manual);
    assert!(wait_until(Duration::from_secs(10), || manual.seen.lock().unwrap().len() == 5));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(cinfo(&j, "ORD", "manual").1, 5);
    unsafe { nats_subscription_free(s) };

    // A queue: two members, each message once.
    let (q1, q2) = (
        Acks { seen: Mutex::new(Vec::new()), nak_first: false },
        Acks { seen: Mutex::new(Vec::new()), nak_first: false },
    );
    let (queue, stream) = (cs("relays"), cs("ORD"));
    let o = nats_js_subscribe_options { queue: queue.as_ptr(), stream: stream.as_ptr(), ..sub_options() };
    let (s1, s2) = (sub_subject(&j, "ord.>", Some(&o), &q1), sub_subject(&j, "ord.>", Some(&o), &q2));
    c.flush();
    assert!(wait_until(Duration::from_secs(10), || q1.seen.lock().unwrap().len() + q2.seen.lock().unwrap().len() >= 10));
    std::thread::sleep(Duration::from_millis(300));
    let mut all: Vec<u64> = q1.seen.lock().unwrap().iter().chain(q2.seen.lock().unwrap().iter()).map(|x| x.0).collect();
    all.sort();
    assert_eq!(all, (1..=10).collect::<Vec<u64>>());
    unsafe { nats_subscription_free(s1) };
    unsafe { nats_subscription_free(s2) };

    // Synchronous, without a callback.
    let mut s = null_mut();
    ok(unsafe {
        nats_jetstream_subscribe_subject(j.raw(), cs("ord.us").as_ptr(), null(), None, null_mut(), None, &mut s)
    });
    let mut m = null_mut();
    ok(unsafe { nats_subscription_next_msg(s, 5000, &mut m) });
    assert_eq!(meta(m).stream_seq, 6);
    unsafe { nats_msg_free(m) };
    unsafe { nats_subscription_free(s) };

    // No stream stores the subject; core and ordered subscriptions have no consumer info.
    let mut none = null_mut();
    check(
        unsafe {
            nats_jetstream_subscribe_subject(j.raw(), cs("nowhere").as_ptr(), null(), None, null_mut(), None, &mut none)
        },
        NATS_ERR_NOT_FOUND,
    );
    assert!(none.is_null());
    let core = common::collector::Sub::new(&c, "ord.core", "");
    let mut info = null_mut();
    check(unsafe { nats_subscription_consumer_info(core.raw(), &mut info) }, NATS_ERR_INVALID_ARGUMENT);
    assert!(info.is_null());
}

/// A pull subscription by subject makes (or reuses) a durable pull consumer filtered on it.
#[test]
fn pull_subscribe_by_subject() {
    let (_srv, _c, j) = js_setup();
    create_stream(&j, "PS", &["ps.>"], 0);
    publish_n(&j, "ps.a", 3);
    publish_n(&j, "ps.b", 3);
    let dur = cs("pd");
    let o = nats_js_subscribe_options { durable: dur.as_ptr(), ..sub_options() };
    let mut p = null_mut();
    ok(unsafe { nats_jetstream_pull_subscribe(j.raw(), cs("ps.b").as_ptr(), &o, &mut p) });
    let p = Pull::from_raw(p);
    let got = fetch(&p, 10, 1000).unwrap();
    assert_eq!(got.iter().map(|m| meta(m.raw()).stream_seq).collect::<Vec<_>>(), [4, 5, 6]);
    assert_eq!(text(CInfo::get(&j, "PS", "pd").config().filter_subject), "ps.b");
    let q = cs("q");
    let bad = nats_js_subscribe_options { queue: q.as_ptr(), ..sub_options() };
    let mut p2 = null_mut();
    check(
        unsafe { nats_jetstream_pull_subscribe(j.raw(), cs("ps.a").as_ptr(), &bad, &mut p2) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    check(unsafe { nats_jetstream_pull_subscribe(j.raw(), cs("zz").as_ptr(), null(), &mut p2) }, NATS_ERR_NOT_FOUND);
    assert!(p2.is_null());
}
