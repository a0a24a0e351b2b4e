//! `nats_ffi_shutdown`: the library as a whole stopped and started again, against a real
//! nats-server. Its own test binary with one test, because shutdown acts on the whole process.

mod common;
use common::js::*;
use common::*;
use nats_ffi::*;
use std::ffi::c_void;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// The library's threads in this process (runtime workers, delivery threads, the pool), by
/// their names.
/// How long an ended thread may still be listed: `pthread_join` returns once the kernel has
/// cleared the thread's id, a moment before the task leaves `/proc/self/task`, and on a busy
/// machine that moment has been long enough to see (1 run in 6). A thread that stays is a
/// leak, and this bound still catches it.
const REAPED: Duration = Duration::from_secs(5);

fn library_threads() -> Vec<String> {
    let mut names = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        if let Ok(name) = std::fs::read_to_string(task.path().join("comm")) {
            if name.starts_with("nats-ffi") {
                names.push(name.trim().to_string());
            }
        }
    }
    names
}

static DELIVERED: AtomicUsize = AtomicUsize::new(0);
static FREED: AtomicUsize = AtomicUsize::new(0);
static CLOSED: AtomicUsize = AtomicUsize::new(0);
/// What `nats_ffi_shutdown` returned inside a callback (-1: not called yet).
static FROM_CALLBACK: AtomicI32 = AtomicI32::new(-1);

unsafe extern "C" fn count(_ud: *mut c_void, _s: *mut nats_subscription, _m: *const nats_msg) {
    DELIVERED.fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn freed(_ud: *mut c_void) {
    FREED.fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn closed(_ud: *mut c_void, _c: *mut nats_connection) {
    CLOSED.fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn shut_down_here(_ud: *mut c_void, _s: *mut nats_subscription, _m: *const nats_msg) {
    FROM_CALLBACK.store(unsafe { nats_ffi_shutdown(1000) } as i32, Ordering::SeqCst);
}
unsafe extern "C" fn on_ack(_ud: *mut c_void, _st: nats_status, _a: *const nats_pub_ack) {}

fn subscribe(c: &Conn, subject: &str, cb: nats_msg_callback) -> *mut nats_subscription {
    let s = cs(subject);
    let mut sub = null_mut();
    ok(unsafe { nats_subscribe_ex(c.raw(), s.as_ptr(), null(), cb, null_mut(), Some(freed), &mut sub) });
    sub
}

/// Shutdown closes every open connection (closed callback, subscriptions delivered and
/// released), ends every library thread, and leaves old handles safe to use and free; the
/// library then starts again. Handles still holding a delivery lane make it report TIMEOUT
/// until they are freed; from a callback it is refused.
#[test]
fn shutdown_closes_everything_and_the_library_starts_again() {
    let server = js_server();
    let opts = Opts::new().servers(&[&server.url()]);
    ok(unsafe { nats_options_set_closed_cb(opts.raw(), Some(closed), null_mut()) });
    let dedicated = opts.connect().unwrap();
    let pooled_opts = Opts::new().servers(&[&server.url()]);
    ok(unsafe { nats_options_use_shared_delivery(pooled_opts.raw(), true) });
    let pooled = pooled_opts.connect().unwrap();
    let subs = [subscribe(&dedicated, "life.a", Some(count)), subscribe(&pooled, "life.b", Some(count))];
    let sync = {
        let s = cs("life.sync");
        let mut sub = null_mut();
        ok(unsafe { nats_subscribe_sync(dedicated.raw(), s.as_ptr(), &mut sub) });
        sub
    };
    dedicated.flush();
    pooled.flush();
    for subject in ["life.a", "life.b", "life.sync"] {
        ok(dedicated.publish(subject, b"x"));
    }
    dedicated.flush();
    assert!(wait_until(WAIT, || DELIVERED.load(Ordering::SeqCst) == 2));
    assert!(!library_threads().is_empty());

    // Connections and subscriptions are still held: shutdown closes them anyway.
    ok(unsafe { nats_ffi_shutdown(10_000) });
    assert!(wait_until(REAPED, || library_threads().is_empty()), "left running: {:?}", library_threads());
    assert_eq!(CLOSED.load(Ordering::SeqCst), 1, "the closed callback ran once");
    assert_eq!(FREED.load(Ordering::SeqCst), 2, "each subscription's user_data_free ran");
    assert_eq!(dedicated.status(), nats_conn_status::NATS_CONN_STATUS_CLOSED);
    check(dedicated.publish("life.a", b"x"), NATS_ERR_CONNECTION_CLOSED);
    check(dedicated.request("life.a", b"x", 100).map(drop).unwrap_err(), NATS_ERR_CONNECTION_CLOSED);
    check(unsafe { nats_connection_flush(pooled.raw(), 100) }, NATS_ERR_CONNECTION_CLOSED);
    let mut m = null_mut();
    let next = unsafe { nats_subscription_next_msg(sync, 0, &mut m) };
    assert!(next == NATS_OK || next == NATS_ERR_CONNECTION_CLOSED, "{next:?}");
    unsafe { nats_msg_free(m) };
    for sub in subs {
        let st = unsafe { nats_subscription_unsubscribe(sub) };
        assert_ne!(st, NATS_ERR_PANIC, "{}", last_error());
        unsafe { nats_subscription_free(sub) };
    }
    unsafe { nats_subscription_free(sync) };
    drop((dedicated, pooled));
    assert!(library_threads().is_empty(), "freeing old handles started threads: {:?}", library_threads());

    // The library starts again on the next connect.
    let again = Conn::to(&server.url());
    let sub = subscribe(&again, "life.again", Some(count));
    again.flush();
    ok(again.publish("life.again", b"x"));
    assert!(wait_until(WAIT, || DELIVERED.load(Ordering::SeqCst) == 3), "delivery after the restart");

    // Not from a callback: it would wait for its own thread.
    let inside = subscribe(&again, "life.inside", Some(shut_down_here));
    again.flush();
    ok(again.publish("life.inside", b"x"));
    assert!(wait_until(WAIT, || FROM_CALLBACK.load(Ordering::SeqCst) >= 0));
    assert_eq!(FROM_CALLBACK.load(Ordering::SeqCst), NATS_ERR_INVALID_ARGUMENT as i32);
    again.flush();

    // A JetStream context that acknowledged an async publish holds a thread until freed.
    let j = js(&again);
    create_stream(&j, "LIFE", &["life.js"], 0);
    let subject = cs("life.js");
    ok(unsafe {
        nats_jetstream_publish_async(
            j.raw(),
            subject.as_ptr(),
            b"x".as_ptr().cast(),
            1,
            null(),
            Some(on_ack),
            null_mut(),
        )
    });
    ok(unsafe { nats_jetstream_publish_async_complete(j.raw(), 5000) });
    unsafe {
        nats_subscription_free(sub);
        nats_subscription_free(inside);
    }
    check(unsafe { nats_ffi_shutdown(300) }, NATS_ERR_TIMEOUT);
    assert!(last_error().contains("not freed"), "{}", last_error());
    drop(j);
    assert!(wait_until(WAIT, || library_threads().is_empty()), "left running: {:?}", library_threads());
    ok(unsafe { nats_ffi_shutdown(1000) });
    drop(again);

    // The runtime's size: refused out of range, applied at its next start, kept (and said
    // so) while it runs.
    check(unsafe { nats_ffi_set_runtime_threads(0) }, NATS_ERR_INVALID_ARGUMENT);
    check(unsafe { nats_ffi_set_runtime_threads(NATS_RUNTIME_MAX_THREADS + 1) }, NATS_ERR_INVALID_ARGUMENT);
    ok(unsafe { nats_ffi_set_runtime_threads(3) });
    let sized = Conn::to(&server.url());
    let workers = || library_threads().iter().filter(|n| n.as_str() == "nats-ffi-rt").count();
    assert!(wait_until(REAPED, || workers() == 3), "{:?}", library_threads());
    check(unsafe { nats_ffi_set_runtime_threads(1) }, NATS_ERR_INVALID_ARGUMENT);
    drop(sized);
    ok(unsafe { nats_ffi_shutdown(1000) });
    let _one = Conn::to(&server.url());
    assert!(wait_until(REAPED, || workers() == 1), "the count kept for the next start: {:?}", library_threads());
}
