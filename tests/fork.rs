//! fork(): a child may connect afresh after its parent started the runtime (the child builds
//! its own runtime), and the parent keeps working; a prefork daemon's 8 children at once. Its own test binary, so that the process is
//! single-test when it forks.

mod common;
use common::collector::*;
use common::*;
use nats_ffi::*;
use std::ffi::c_void;
use std::time::Duration;

unsafe extern "C" fn responder(ud: *mut c_void, _s: *mut nats_subscription, msg: *const nats_msg) {
    ok(nats_msg_respond(ud.cast(), msg, b"from parent".as_ptr().cast(), 11));
}

/// Runs in the child: only async-signal-safe exits; returns the exit code.
fn child(url: &str) -> i32 {
    let mut c = std::ptr::null_mut();
    if unsafe { nats_connect_url(cs(url).as_ptr(), &mut c) } != NATS_OK {
        return 10;
    }
    if unsafe { nats_publish(c, cs("fork.child").as_ptr(), b"hello".as_ptr().cast(), 5) } != NATS_OK {
        return 11;
    }
    let mut reply = std::ptr::null_mut();
    if unsafe { nats_request(c, cs("fork.svc").as_ptr(), std::ptr::null(), 0, 5000, &mut reply) } != NATS_OK {
        return 12;
    }
    let good = unsafe { msg_data(reply) } == b"from parent";
    unsafe {
        nats_msg_free(reply);
        nats_connection_free(c);
    }
    if good {
        0
    } else {
        13
    }
}

#[test]
fn child_connects_afresh_after_fork() {
    let srv = Server::start();
    let parent = Conn::to(&srv.url());
    let mut svc = std::ptr::null_mut();
    ok(unsafe {
        nats_subscribe(parent.raw(), cs("fork.svc").as_ptr(), Some(responder), parent.raw().cast(), &mut svc)
    });
    let from_child = Sub::new(&parent, "fork.child", "");
    parent.flush();
    let url = srv.url();
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = child(&url);
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status), "child crashed: status {status}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "child failed (10 connect, 11 publish, 12 request, 13 reply)");
    assert!(from_child.wait_count(1, Duration::from_secs(10)));
    // The parent's connection is unaffected.
    ok(parent.publish("fork.child", b"parent"));
    assert!(from_child.wait_count(2, Duration::from_secs(10)));

    // A prefork daemon: 8 children forked at once, each connecting on its own.
    let children: Vec<i32> = (0..8)
        .map(|_| {
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                let code = child(&url);
                unsafe { libc::_exit(code) };
            }
            pid
        })
        .collect();
    for pid in children {
        let mut status = 0;
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "prefork child {pid}: status {status}");
    }
    assert!(from_child.wait_count(10, Duration::from_secs(10)), "got {} of 10", from_child.count());

    // A child that (against the rules) publishes on its parent's connection: nothing of it
    // reaches the parent's socket (a publish after a pause is written on the calling thread,
    // which in a child would write into the parent's socket, possibly inside a parent frame).
    let inherited = Sub::new(&parent, "fork.inherited", "");
    parent.flush();
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        std::thread::sleep(Duration::from_millis(5));
        unsafe { nats_publish(parent.raw(), cs("fork.inherited").as_ptr(), b"child".as_ptr().cast(), 5) };
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    ok(parent.publish("fork.inherited", b"parent"));
    parent.flush();
    assert!(inherited.wait_count(1, Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(inherited.received().payloads(), vec![b"parent".to_vec()], "the child wrote into the parent's socket");
    unsafe { nats_subscription_free(svc) };
}
