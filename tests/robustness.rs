//! Inputs and situations the header allows that once broke the library (issue 13): each test
//! here failed before its fix.

mod common;
use common::*;
use nats_ffi::connection::*;
use nats_ffi::error::*;
use nats_ffi::options::*;
use nats_ffi::subscription::*;
use std::ptr::null_mut;

/// A monitoring tool's `>` subscription on the server.
fn wildcard_monitor(server: &Server) -> (Conn, *mut nats_subscription) {
    let monitor = Conn::to(&server.url());
    let mut sub = null_mut();
    let all = cs(">");
    ok(unsafe { nats_subscribe_sync(monitor.0, all.as_ptr(), &mut sub) });
    monitor.flush();
    (monitor, sub)
}

fn connect_with(server: &Server, setup: impl FnOnce(*mut nats_options)) -> Conn {
    let o = Opts::new().servers(&[&server.url()]);
    setup(o.0);
    o.connect().expect("connect")
}

/// flush, rtt and drain are PING/PONG round trips: a `>` subscriber elsewhere (which would
/// swallow a request-based probe), no_echo and a custom inbox prefix change nothing.
#[test]
fn round_trips_ignore_wildcard_subscribers() {
    let server = Server::start();
    let (_monitor, monitor_sub) = wildcard_monitor(&server);
    let prefix = cs("_CUSTOM.inbox");
    let setups: [(&str, Box<dyn Fn(*mut nats_options)>); 3] = [
        ("defaults", Box::new(|_| {})),
        ("no_echo", Box::new(|o| ok(unsafe { nats_options_set_no_echo(o, true) }))),
        ("inbox prefix", Box::new(|o| ok(unsafe { nats_options_set_inbox_prefix(o, prefix.as_ptr()) }))),
    ];
    for (what, setup) in setups {
        let conn = connect_with(&server, |o| {
            setup(o);
            ok(unsafe { nats_options_set_request_timeout_ms(o, 3000) });
        });
        for _ in 0..20 {
            check(unsafe { nats_connection_flush(conn.0, 2000) }, NATS_OK);
        }
        check(unsafe { nats_connection_flush(conn.0, 0) }, NATS_OK);
        let mut rtt = 0u64;
        check(unsafe { nats_connection_rtt(conn.0, &mut rtt) }, NATS_OK);
        assert!(rtt > 0 && rtt < 2_000_000, "{what}: rtt {rtt} us");
        let mut sub = null_mut();
        let subject = cs("round.trip");
        ok(unsafe { nats_subscribe_sync(conn.0, subject.as_ptr(), &mut sub) });
        check(unsafe { nats_subscription_drain(sub, 2000) }, NATS_OK);
        unsafe { nats_subscription_free(sub) };
        check(unsafe { nats_connection_drain(conn.0, 2000) }, NATS_OK);
        assert!(unsafe { nats_connection_is_closed(conn.0) }, "{what}: drained connection is closed");
    }
    unsafe { nats_subscription_free(monitor_sub) };
}
