//! Every exported function given NULLs, invalid UTF-8 and invalid subjects: an error code and a
//! message, never a crash; out-params untouched on failure; `_free(NULL)` a no-op.

mod common;
use common::*;
use nats_ffi::nats_conn_status::*;
use nats_ffi::nats_string_free;
use nats_ffi::*;
use std::ffi::{c_char, c_void, CStr};
use std::ptr::{null, null_mut};

const BAD_UTF8: *const c_char = c"ab\xff\xfe".as_ptr();

unsafe extern "C" fn noop_cb(_: *mut c_void, _: *mut nats_subscription, _: *const nats_msg) {}

/// A sentinel written into out-params to prove failures leave them alone.
fn sentinel<T>() -> *mut T {
    0x1 as *mut T
}

#[track_caller]
fn fails_with(st: nats_status, want: nats_status) {
    assert_eq!(st, want, "last error: {}", last_error());
    assert!(!last_error().is_empty(), "a failure must leave a message");
}

#[test]
fn status_strings_and_last_error() {
    for code in 0..=25 {
        let s = unsafe { CStr::from_ptr(nats_status_str(code)) }.to_str().unwrap();
        assert!(!s.is_empty() && s != "unknown status", "code {code}");
    }
    for code in [-1, 26, 999, i32::MIN, i32::MAX] {
        assert_eq!(unsafe { CStr::from_ptr(nats_status_str(code)) }.to_str().unwrap(), "unknown status");
    }
    // The detail is per thread.
    fails_with(unsafe { nats_options_new(null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    let mine = last_error();
    std::thread::spawn(|| assert_eq!(last_error(), "")).join().unwrap();
    assert_eq!(last_error(), mine);
    assert!(!nats_ffi::nats_ffi_version().is_null());
}

#[test]
fn options_setters_reject_null_and_bad_utf8() {
    let o = Opts::new();
    let n: *mut nats_options = null_mut();
    type StrSetter = unsafe extern "C" fn(*mut nats_options, *const c_char) -> nats_status;
    let str_setters: [(StrSetter, &str); 5] = [
        (nats_options_set_token, "token"),
        (nats_options_set_token_file, "token_file"),
        (nats_options_set_name, "name"),
        (nats_options_set_certificate, "certificate"),
        (nats_options_set_inbox_prefix, "inbox_prefix"),
    ];
    for (f, what) in str_setters {
        fails_with(unsafe { f(n, cs("x").as_ptr()) }, NATS_ERR_NULL_ARGUMENT);
        assert_eq!(unsafe { f(o.raw(), BAD_UTF8) }, NATS_ERR_INVALID_UTF8, "{what}");
    }
    for f in [nats_options_set_token, nats_options_set_token_file, nats_options_set_inbox_prefix] {
        fails_with(unsafe { f(o.raw(), null()) }, NATS_ERR_NULL_ARGUMENT);
    }
    type PairSetter = unsafe extern "C" fn(*mut nats_options, *const c_char, *const c_char) -> nats_status;
    let pairs: [PairSetter; 3] =
        [nats_options_set_user_password, nats_options_set_user_password_file, nats_options_set_client_cert];
    for f in pairs {
        fails_with(unsafe { f(n, cs("a").as_ptr(), cs("b").as_ptr()) }, NATS_ERR_NULL_ARGUMENT);
        fails_with(unsafe { f(o.raw(), null(), cs("b").as_ptr()) }, NATS_ERR_NULL_ARGUMENT);
        fails_with(unsafe { f(o.raw(), cs("a").as_ptr(), null()) }, NATS_ERR_NULL_ARGUMENT);
        fails_with(unsafe { f(o.raw(), BAD_UTF8, cs("b").as_ptr()) }, NATS_ERR_INVALID_UTF8);
    }
    type BoolSetter = unsafe extern "C" fn(*mut nats_options, bool) -> nats_status;
    let bools: [BoolSetter; 6] = [
        nats_options_set_no_echo,
        nats_options_set_tls_required,
        nats_options_set_tls_first,
        nats_options_set_retry_on_initial_connect,
        nats_options_set_ignore_discovered_servers,
        nats_options_set_retain_servers_order,
    ];
    for f in bools {
        fails_with(unsafe { f(n, true) }, NATS_ERR_NULL_ARGUMENT);
        ok(unsafe { f(o.raw(), true) });
    }
    type MsSetter = unsafe extern "C" fn(*mut nats_options, u64) -> nats_status;
    let ms: [MsSetter; 3] = [
        nats_options_set_connection_timeout_ms,
        nats_options_set_ping_interval_ms,
        nats_options_set_request_timeout_ms,
    ];
    for f in ms {
        fails_with(unsafe { f(n, 10) }, NATS_ERR_NULL_ARGUMENT);
        fails_with(unsafe { f(o.raw(), 0) }, NATS_ERR_INVALID_ARGUMENT);
        ok(unsafe { f(o.raw(), 10) });
    }
    fails_with(unsafe { nats_options_set_max_reconnects(n, 1) }, NATS_ERR_NULL_ARGUMENT);
    fails_with(unsafe { nats_options_set_sender_capacity(n, 1) }, NATS_ERR_NULL_ARGUMENT);
    let bad = [BAD_UTF8];
    fails_with(unsafe { nats_options_set_servers(o.raw(), bad.as_ptr(), 1) }, NATS_ERR_INVALID_UTF8);
}

#[test]
fn connect_rejects_null_and_bad_urls() {
    let mut out: *mut nats_connection = sentinel();
    fails_with(unsafe { nats_connect(null(), &mut out) }, NATS_ERR_NULL_ARGUMENT);
    let o = Opts::new();
    fails_with(unsafe { nats_connect(o.raw(), null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    fails_with(unsafe { nats_connect_url(null(), &mut out) }, NATS_ERR_NULL_ARGUMENT);
    fails_with(unsafe { nats_connect_url(BAD_UTF8, &mut out) }, NATS_ERR_INVALID_UTF8);
    fails_with(unsafe { nats_connect_url(cs("").as_ptr(), &mut out) }, NATS_ERR_INVALID_ARGUMENT);
    fails_with(unsafe { nats_connect_url(cs("nats://a:b:c:d").as_ptr(), &mut out) }, NATS_ERR_INVALID_ARGUMENT);
    fails_with(unsafe { nats_connect_url(cs("nats://127.0.0.1:1").as_ptr(), &mut out) }, NATS_ERR_CONNECTION_FAILED);
    assert_eq!(out, sentinel(), "out-param written on failure");
}

#[test]
fn connection_calls_reject_bad_input() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let n: *mut nats_connection = null_mut();
    let d = b"x".as_ptr().cast::<c_void>();
    // publish
    fails_with(unsafe { nats_publish(n, cs("a").as_ptr(), d, 1) }, NATS_ERR_NULL_ARGUMENT);
    fails_with(unsafe { nats_publish(c.raw(), null(), d, 1) }, NATS_ERR_NULL_ARGUMENT);
    fails_with(unsafe { nats_publish(c.raw(), cs("a").as_ptr(), null(), 5) }, NATS_ERR_NULL_ARGUMENT);
    fails_with(unsafe { nats_publish(c.raw(), BAD_UTF8, d, 1) }, NATS_ERR_INVALID_UTF8);
    for bad in ["", " ", "a b", "a..b", ".a", "a.", "a.*", "a.>", ">", "a\tb", "a\nb"] {
        fails_with(c.publish(bad, b"x"), NATS_ERR_INVALID_SUBJECT);
    }
    // publish_with_reply
    fails_with(unsafe { nats_publish_with_reply(c.raw(), cs("a").as_ptr(), null(), d, 1) }, NATS_ERR_NULL_ARGUMENT);
    fails_with(unsafe { nats_publish_with_reply(c.raw(), cs("a").as_ptr(), BAD_UTF8, d, 1) }, NATS_ERR_INVALID_UTF8);
    fails_with(
        unsafe { nats_publish_with_reply(c.raw(), cs("a").as_ptr(), cs("r.*").as_ptr(), d, 1) },
        NATS_ERR_INVALID_SUBJECT,
    );
    // flush
    fails_with(unsafe { nats_connection_flush(n, 100) }, NATS_ERR_NULL_ARGUMENT);
    // request
    let mut reply: *mut nats_msg = sentinel();
    fails_with(unsafe { nats_request(n, cs("a").as_ptr(), d, 1, 100, &mut reply) }, NATS_ERR_NULL_ARGUMENT);
    fails_with(unsafe { nats_request(c.raw(), null(), d, 1, 100, &mut reply) }, NATS_ERR_NULL_ARGUMENT);
    fails_with(unsafe { nats_request(c.raw(), cs("a").as_ptr(), d, 1, 100, null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    fails_with(unsafe { nats_request(c.raw(), BAD_UTF8, d, 1, 100, &mut reply) }, NATS_ERR_INVALID_UTF8);
    fails_with(unsafe { nats_request(c.raw(), cs("a b").as_ptr(), d, 1, 100, &mut reply) }, NATS_ERR_INVALID_SUBJECT);
    fails_with(unsafe { nats_request(c.raw(), cs("no.one").as_ptr(), d, 1, 1000, &mut reply) }, NATS_ERR_NO_RESPONDERS);
    assert_eq!(reply, sentinel(), "out-param written on failure");
    // respond
    fails_with(unsafe { nats_msg_respond(n, sentinel(), d, 1) }, NATS_ERR_NULL_ARGUMENT);
    fails_with(unsafe { nats_msg_respond(c.raw(), null(), d, 1) }, NATS_ERR_NULL_ARGUMENT);
    // status / close / free of NULL
    assert_eq!(unsafe { nats_connection_status(null()) }, NATS_CONN_STATUS_CLOSED);
    unsafe { nats_connection_close(null_mut()) };
    unsafe { nats_connection_free(null_mut()) };
    assert_eq!(c.status(), NATS_CONN_STATUS_CONNECTED, "the connection survived all of it");
}

#[test]
fn subscription_calls_reject_bad_input() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let mut out: *mut nats_subscription = sentinel();
    let s = cs("a");
    fails_with(
        unsafe { nats_subscribe(null_mut(), s.as_ptr(), Some(noop_cb), null_mut(), &mut out) },
        NATS_ERR_NULL_ARGUMENT,
    );
    fails_with(unsafe { nats_subscribe(c.raw(), null(), Some(noop_cb), null_mut(), &mut out) }, NATS_ERR_NULL_ARGUMENT);
    fails_with(unsafe { nats_subscribe(c.raw(), s.as_ptr(), None, null_mut(), &mut out) }, NATS_ERR_NULL_ARGUMENT);
    fails_with(
        unsafe { nats_subscribe(c.raw(), s.as_ptr(), Some(noop_cb), null_mut(), null_mut()) },
        NATS_ERR_NULL_ARGUMENT,
    );
    fails_with(
        unsafe { nats_subscribe(c.raw(), BAD_UTF8, Some(noop_cb), null_mut(), &mut out) },
        NATS_ERR_INVALID_UTF8,
    );
    for bad in ["", "a b", "a..b", "a.>.b", ">.a", "a.", "\t"] {
        fails_with(
            unsafe { nats_subscribe(c.raw(), cs(bad).as_ptr(), Some(noop_cb), null_mut(), &mut out) },
            NATS_ERR_INVALID_SUBJECT,
        );
    }
    fails_with(
        unsafe { nats_queue_subscribe(c.raw(), s.as_ptr(), null(), Some(noop_cb), null_mut(), &mut out) },
        NATS_ERR_NULL_ARGUMENT,
    );
    fails_with(
        unsafe { nats_queue_subscribe(c.raw(), s.as_ptr(), BAD_UTF8, Some(noop_cb), null_mut(), &mut out) },
        NATS_ERR_INVALID_UTF8,
    );
    for bad in ["", "a b"] {
        fails_with(
            unsafe { nats_queue_subscribe(c.raw(), s.as_ptr(), cs(bad).as_ptr(), Some(noop_cb), null_mut(), &mut out) },
            NATS_ERR_INVALID_SUBJECT,
        );
    }
    fails_with(
        unsafe { nats_subscribe_ex(c.raw(), s.as_ptr(), null(), None, null_mut(), None, &mut out) },
        NATS_ERR_NULL_ARGUMENT,
    );
    assert_eq!(out, sentinel(), "out-param written on failure");
    fails_with(unsafe { nats_subscription_unsubscribe(null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    assert_eq!(unsafe { nats_subscription_delivered(null()) }, 0);
    unsafe { nats_subscription_free(null_mut()) };
}

#[test]
fn message_accessors_on_null() {
    unsafe {
        assert!(nats_msg_subject(null()).is_null());
        assert!(nats_msg_reply(null()).is_null());
        assert!(nats_msg_data(null()).is_null());
        assert_eq!(nats_msg_data_len(null()), 0);
        let mut out: *mut nats_msg = sentinel();
        fails_with(nats_msg_clone(null(), &mut out), NATS_ERR_NULL_ARGUMENT);
        assert_eq!(out, sentinel());
        nats_msg_free(null_mut());
    }
}

#[test]
fn core_client_calls_reject_bad_input() {
    let srv = Server::start();
    let c = Conn::to(&srv.url());
    let n: *mut nats_connection = null_mut();
    let s = cs("a");
    unsafe {
        // Messages and headers.
        let mut m: *mut nats_msg = sentinel();
        fails_with(nats_msg_new(null(), null(), null(), 0, &mut m), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_msg_new(BAD_UTF8, null(), null(), 0, &mut m), NATS_ERR_INVALID_UTF8);
        fails_with(nats_msg_new(cs("a.*").as_ptr(), null(), null(), 0, &mut m), NATS_ERR_INVALID_SUBJECT);
        fails_with(nats_msg_new(s.as_ptr(), cs("r b").as_ptr(), null(), 0, &mut m), NATS_ERR_INVALID_SUBJECT);
        fails_with(nats_msg_new(s.as_ptr(), null(), null(), 3, &mut m), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_msg_new(s.as_ptr(), null(), null(), 0, null_mut()), NATS_ERR_NULL_ARGUMENT);
        assert_eq!(m, sentinel());
        ok(nats_msg_new(s.as_ptr(), null(), null(), 0, &mut m));
        let k = cs("K");
        for f in [nats_msg_header_set, nats_msg_header_add] {
            fails_with(f(null_mut(), k.as_ptr(), k.as_ptr()), NATS_ERR_NULL_ARGUMENT);
            fails_with(f(m, null(), k.as_ptr()), NATS_ERR_NULL_ARGUMENT);
            fails_with(f(m, k.as_ptr(), null()), NATS_ERR_NULL_ARGUMENT);
            fails_with(f(m, BAD_UTF8, k.as_ptr()), NATS_ERR_INVALID_UTF8);
            fails_with(f(m, k.as_ptr(), BAD_UTF8), NATS_ERR_INVALID_UTF8);
            fails_with(f(m, cs("").as_ptr(), k.as_ptr()), NATS_ERR_INVALID_ARGUMENT);
        }
        fails_with(nats_msg_header_delete(null_mut(), k.as_ptr()), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_msg_header_delete(m, k.as_ptr()), NATS_ERR_NOT_FOUND);
        let mut v: *const c_char = sentinel();
        fails_with(nats_msg_header_get(null(), k.as_ptr(), &mut v), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_msg_header_get(m, null(), &mut v), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_msg_header_get(m, k.as_ptr(), null_mut()), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_msg_header_get(m, k.as_ptr(), &mut v), NATS_ERR_NOT_FOUND);
        assert_eq!(v, sentinel());
        let (mut vs, mut cnt): (*const *const c_char, usize) = (sentinel(), 9);
        fails_with(nats_msg_header_values(m, k.as_ptr(), &mut vs, null_mut()), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_msg_header_keys(null(), &mut vs, &mut cnt), NATS_ERR_NULL_ARGUMENT);
        ok(nats_msg_header_keys(m, &mut vs, &mut cnt));
        assert_eq!((vs, cnt), (null(), 0));
        assert_eq!(nats_msg_status(null()), 0);
        assert!(nats_msg_status_description(null()).is_null());
        fails_with(nats_publish_msg(n, m), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_publish_msg(c.raw(), null()), NATS_ERR_NULL_ARGUMENT);
        let mut reply: *mut nats_msg = sentinel();
        fails_with(nats_request_msg(n, m, 100, &mut reply), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_request_msg(c.raw(), null(), 100, &mut reply), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_request_msg(c.raw(), m, 100, null_mut()), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_request_msg(c.raw(), m, 1000, &mut reply), NATS_ERR_NO_RESPONDERS);
        assert_eq!(reply, sentinel());
        nats_msg_free(m);
        fails_with(nats_request_async(n, s.as_ptr(), null(), 0, 0, None, null_mut()), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_request_async(c.raw(), BAD_UTF8, null(), 0, 0, None, null_mut()), NATS_ERR_INVALID_UTF8);

        // Connection calls.
        let mut st = nats_statistics::default();
        fails_with(nats_connection_stats(null(), &mut st), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_connection_stats(c.raw(), null_mut()), NATS_ERR_NULL_ARGUMENT);
        let mut rtt = 0u64;
        fails_with(nats_connection_rtt(n, &mut rtt), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_connection_rtt(c.raw(), null_mut()), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_connection_reconnect(n), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_connection_drain(n, 10), NATS_ERR_NULL_ARGUMENT);
        let mut inbox: *mut c_char = sentinel();
        fails_with(nats_connection_new_inbox(null(), &mut inbox), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_connection_new_inbox(c.raw(), null_mut()), NATS_ERR_NULL_ARGUMENT);
        assert_eq!(inbox, sentinel());
        assert!(nats_connection_is_closed(null()));
        assert_eq!(nats_connection_max_payload(null()), 0);
        assert_eq!(nats_connection_buffered(null()), 0);
        let mut info: *mut nats_server_info = sentinel();
        fails_with(nats_connection_server_info(n, &mut info), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_connection_server_info(c.raw(), null_mut()), NATS_ERR_NULL_ARGUMENT);
        assert_eq!(info, sentinel());
        let (mut urls, mut cnt): (*const *const c_char, usize) = (null(), 0);
        fails_with(nats_server_info_servers(null(), &mut urls, &mut cnt), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_server_info_discovered_servers(null(), &mut urls, &mut cnt), NATS_ERR_NULL_ARGUMENT);
        assert_eq!(nats_server_info_port(null()), 0);
        assert!(!nats_server_info_jetstream(null()));
        nats_server_info_free(null_mut());
        nats_string_free(null_mut());

        // Subscription calls.
        let mut sub: *mut nats_subscription = sentinel();
        fails_with(nats_subscribe_sync(n, s.as_ptr(), &mut sub), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_subscribe_sync(c.raw(), BAD_UTF8, &mut sub), NATS_ERR_INVALID_UTF8);
        fails_with(nats_subscribe_sync(c.raw(), cs("a b").as_ptr(), &mut sub), NATS_ERR_INVALID_SUBJECT);
        fails_with(nats_subscribe_sync(c.raw(), s.as_ptr(), null_mut()), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_queue_subscribe_sync(c.raw(), s.as_ptr(), null(), &mut sub), NATS_ERR_NULL_ARGUMENT);
        fails_with(
            nats_queue_subscribe_sync(c.raw(), s.as_ptr(), cs("q q").as_ptr(), &mut sub),
            NATS_ERR_INVALID_SUBJECT,
        );
        assert_eq!(sub, sentinel());
        let ns: *mut nats_subscription = null_mut();
        let mut msg: *mut nats_msg = sentinel();
        fails_with(nats_subscription_next_msg(ns, 1, &mut msg), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_subscription_auto_unsubscribe(ns, 1), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_subscription_drain(ns, 1), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_subscription_set_pending_limits(ns, 1, 1), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_subscription_pending_limits(null(), null_mut(), null_mut()), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_subscription_pending(null(), null_mut(), null_mut()), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_subscription_max_pending(null(), null_mut(), null_mut()), NATS_ERR_NULL_ARGUMENT);
        assert_eq!(nats_subscription_dropped(null()), 0);
        assert!(!nats_subscription_is_valid(null()));
        ok(nats_subscribe_sync(c.raw(), s.as_ptr(), &mut sub));
        fails_with(nats_subscription_next_msg(sub, 1, null_mut()), NATS_ERR_NULL_ARGUMENT);
        assert_eq!(msg, sentinel());
        nats_subscription_free(sub);

        // Option callbacks.
        let o: *mut nats_options = null_mut();
        fails_with(nats_options_set_error_cb(o, None, null_mut()), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_options_set_reconnect_delay_cb(o, None, null_mut()), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_options_set_reconnect_wait_ms(o, 1), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_options_set_reconnect_jitter_ms(o, 1, 1), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_options_set_reconnect_buffer_size(o, 1), NATS_ERR_NULL_ARGUMENT);
        fails_with(nats_options_set_max_pings_out(o, 1), NATS_ERR_NULL_ARGUMENT);
        for f in [
            nats_options_set_connected_cb,
            nats_options_set_disconnected_cb,
            nats_options_set_reconnected_cb,
            nats_options_set_closed_cb,
            nats_options_set_lame_duck_cb,
            nats_options_set_discovered_servers_cb,
        ] {
            fails_with(f(o, None, null_mut()), NATS_ERR_NULL_ARGUMENT);
        }
    }
    assert_eq!(c.status(), NATS_CONN_STATUS_CONNECTED, "the connection survived all of it");
}

/// `nats_ffi_check_version`: this header's version passes; another minor (0.x) or major fails
/// with an explanation.
#[test]
fn check_version_follows_the_abi_policy() {
    use nats_ffi::*;
    assert_eq!(nats_ffi_check_version(NATS_FFI_VERSION_MAJOR, NATS_FFI_VERSION_MINOR), NATS_OK);
    for (major, minor) in [(NATS_FFI_VERSION_MAJOR, NATS_FFI_VERSION_MINOR + 1), (1, 0), (u32::MAX, 0)] {
        assert_eq!(nats_ffi_check_version(major, minor), NATS_ERR_INVALID_ARGUMENT);
        let why = unsafe { std::ffi::CStr::from_ptr(nats_last_error()) }.to_string_lossy().into_owned();
        assert!(why.contains("this library is 0.1"), "{why}");
    }
}
