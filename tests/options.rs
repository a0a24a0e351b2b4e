//! Every nats_options_* setter, observed against a real nats-server: its default, its effect,
//! and its rejection of bad values.

mod common;
use common::collector::*;
use common::tls::Pki;
use common::*;
use nats_ffi::nats_conn_status::*;
use nats_ffi::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

fn connz_names(srv: &Server) -> Vec<String> {
    srv.monitor("/connz")["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn servers_list_and_bad_urls() {
    let srv = Server::start();
    let dead = format!("nats://127.0.0.1:{}", free_port());
    // A dead first server is skipped; the live one is used.
    let o = Opts::new().servers(&[&dead, &srv.url()]);
    ok(unsafe { nats_options_set_retain_servers_order(o.raw(), true) });
    let c = o.connect().unwrap();
    assert_eq!(c.status(), NATS_CONN_STATUS_CONNECTED);
    // Default server is 127.0.0.1:4222 — nothing listens there in tests, or something else
    // does; only check that bad lists are refused at set time.
    let bad = cs("nats://host:notaport");
    let list = [bad.as_ptr()];
    check(unsafe { nats_options_set_servers(o.raw(), list.as_ptr(), 1) }, NATS_ERR_INVALID_ARGUMENT);
    check(unsafe { nats_options_set_servers(o.raw(), list.as_ptr(), 0) }, NATS_ERR_INVALID_ARGUMENT);
    let with_null = [std::ptr::null()];
    check(unsafe { nats_options_set_servers(o.raw(), with_null.as_ptr(), 1) }, NATS_ERR_NULL_ARGUMENT);
    check(unsafe { nats_options_set_servers(o.raw(), std::ptr::null(), 1) }, NATS_ERR_NULL_ARGUMENT);
    // All servers dead: a fast, clear failure naming them.
    let o = Opts::new().servers(&[&dead]);
    let t = Instant::now();
    check(o.connect().err().unwrap(), NATS_ERR_CONNECTION_FAILED);
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(last_error().contains(&dead), "{}", last_error());
    // Comma-separated list through nats_connect_url.
    let c2 = Conn::to(&format!("{dead},{}", srv.url()));
    assert_eq!(c2.status(), NATS_CONN_STATUS_CONNECTED);
}

#[test]
fn user_password_inline_and_from_file() {
    let srv = Server::start_with(&["--user", "mailer", "--pass", "s3cret"]);
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_user_password(o.raw(), cs("mailer").as_ptr(), cs("s3cret").as_ptr()) });
    o.connect().unwrap();
    ok(unsafe { nats_options_set_user_password(o.raw(), cs("mailer").as_ptr(), cs("wrong").as_ptr()) });
    let t = Instant::now();
    check(o.connect().err().unwrap(), NATS_ERR_AUTH);
    assert!(t.elapsed() < Duration::from_secs(5), "auth failure must be fast");
    assert!(!last_error().contains("wrong"), "secret leaked into error: {}", last_error());
    // No credentials at all: rejected too.
    check(Opts::new().servers(&[&srv.url()]).connect().err().unwrap(), NATS_ERR_AUTH);
    // Password from a file, trailing newline stripped.
    let pw = write_file(srv.dir.path(), "pw", "s3cret\n");
    ok(unsafe { nats_options_set_user_password_file(o.raw(), cs("mailer").as_ptr(), cs(&pw).as_ptr()) });
    o.connect().unwrap();
    let missing = srv.dir.path().join("nope").to_str().unwrap().to_string();
    check(
        unsafe { nats_options_set_user_password_file(o.raw(), cs("mailer").as_ptr(), cs(&missing).as_ptr()) },
        NATS_ERR_IO,
    );
    assert!(last_error().contains("nope"));
    let empty = write_file(srv.dir.path(), "empty", "");
    check(
        unsafe { nats_options_set_user_password_file(o.raw(), cs("mailer").as_ptr(), cs(&empty).as_ptr()) },
        NATS_ERR_IO,
    );
    // URL-embedded credentials.
    Conn::to(&format!("nats://mailer:s3cret@127.0.0.1:{}", srv.port));
}

#[test]
fn token_inline_and_from_file() {
    let srv = Server::start_with(&["--auth", "t0ken"]);
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_token(o.raw(), cs("t0ken").as_ptr()) });
    o.connect().unwrap();
    ok(unsafe { nats_options_set_token(o.raw(), cs("other").as_ptr()) });
    check(o.connect().err().unwrap(), NATS_ERR_AUTH);
    assert!(!last_error().contains("other"), "secret leaked: {}", last_error());
    let f = write_file(srv.dir.path(), "tok", "t0ken\r\n");
    ok(unsafe { nats_options_set_token_file(o.raw(), cs(&f).as_ptr()) });
    o.connect().unwrap();
    check(unsafe { nats_options_set_token_file(o.raw(), cs("/nonexistent/tok").as_ptr()) }, NATS_ERR_IO);
    // Setting a token replaces user/password and vice versa.
    ok(unsafe { nats_options_set_user_password(o.raw(), cs("u").as_ptr(), cs("p").as_ptr()) });
    check(o.connect().err().unwrap(), NATS_ERR_AUTH);
}

#[test]
fn name_is_shown_by_the_server() {
    let srv = Server::start();
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_name(o.raw(), cs("mta-delivery-log").as_ptr()) });
    let _c = o.connect().unwrap();
    let unnamed = Opts::new().servers(&[&srv.url()]).connect().unwrap();
    let mut names = connz_names(&srv);
    names.sort();
    assert_eq!(names, ["", "mta-delivery-log"]);
    drop(unnamed);
    check(unsafe { nats_options_set_name(o.raw(), c"\xff\xfe".as_ptr()) }, NATS_ERR_INVALID_UTF8);
}

#[test]
fn no_echo_suppresses_own_messages() {
    let srv = Server::start();
    for (no_echo, expect) in [(false, 1usize), (true, 0)] {
        let o = Opts::new().servers(&[&srv.url()]);
        ok(unsafe { nats_options_set_no_echo(o.raw(), no_echo) });
        let c = o.connect().unwrap();
        let own = Sub::new(&c, "echo", "");
        let other_conn = Conn::to(&srv.url());
        let other = Sub::new(&other_conn, "echo", "");
        c.flush();
        other_conn.flush();
        ok(c.publish("echo", b"hi"));
        c.flush();
        assert!(other.wait_count(1, WAIT), "another connection always receives");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(own.count(), expect, "no_echo={no_echo}");
    }
}

#[test]
fn max_reconnects_gives_up_and_closes() {
    let mut srv = Server::start();
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_max_reconnects(o.raw(), 3) });
    let c = o.connect().unwrap();
    srv.kill();
    assert!(c.wait_status(NATS_CONN_STATUS_CLOSED, Duration::from_secs(15)), "status {:?}", c.status());
    check(c.publish("x", b"1"), NATS_ERR_CONNECTION_CLOSED);
}

#[test]
fn max_reconnects_zero_is_unlimited() {
    let mut srv = Server::start();
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_max_reconnects(o.raw(), 0) });
    let c = o.connect().unwrap();
    let sub = Sub::new(&c, "back", "");
    c.flush();
    srv.kill();
    assert!(c.wait_status(NATS_CONN_STATUS_RECONNECTING, WAIT));
    // Well past what 3 attempts would take (backoff is capped at 4 s): still trying.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(c.status(), NATS_CONN_STATUS_RECONNECTING);
    srv.restart();
    assert!(c.wait_status(NATS_CONN_STATUS_CONNECTED, Duration::from_secs(15)));
    // The subscription was restored on the new connection.
    let p = Conn::to(&srv.url());
    assert!(wait_until(WAIT, || {
        ok(p.publish("back", b"again"));
        p.flush();
        sub.count() > 0
    }));
}

#[test]
fn connection_timeout_against_a_silent_port() {
    // Accepts TCP connections but never sends INFO.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("nats://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut keep = Vec::new();
        for s in silent.incoming().take(2) {
            keep.push(s);
        }
        std::thread::sleep(Duration::from_secs(8));
    });
    let o = Opts::new().servers(&[&url]);
    ok(unsafe { nats_options_set_connection_timeout_ms(o.raw(), 400) });
    let t = Instant::now();
    check(o.connect().err().unwrap(), NATS_ERR_TIMEOUT);
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(350) && e < Duration::from_secs(3), "{e:?}");
    // The default is 5 s.
    let o = Opts::new().servers(&[&url]);
    let t = Instant::now();
    check(o.connect().err().unwrap(), NATS_ERR_TIMEOUT);
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(4800) && e < Duration::from_secs(8), "{e:?}");
    check(unsafe { nats_options_set_connection_timeout_ms(o.raw(), 0) }, NATS_ERR_INVALID_ARGUMENT);
    drop(held);
}

#[test]
fn tls_required_against_plain_server_fails_fast() {
    let srv = Server::start();
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_tls_required(o.raw(), true) });
    let t = Instant::now();
    check(o.connect().err().unwrap(), NATS_ERR_TLS);
    assert!(t.elapsed() < Duration::from_secs(5));
    ok(unsafe { nats_options_set_tls_required(o.raw(), false) });
    o.connect().unwrap();
}

#[test]
fn tls_certificate_verifies_the_server() {
    let pki = Pki::new();
    let srv = Server::start_conf(&pki.server_block(""));
    let url = format!("tls://127.0.0.1:{}", srv.port);
    let o = Opts::new().servers(&[&url]);
    // Without our CA the server is untrusted.
    check(o.connect().err().unwrap(), NATS_ERR_TLS);
    ok(unsafe { nats_options_set_certificate(o.raw(), cs(&pki.other_ca).as_ptr()) });
    check(o.connect().err().unwrap(), NATS_ERR_TLS);
    ok(unsafe { nats_options_set_certificate(o.raw(), cs(&pki.ca).as_ptr()) });
    ok(unsafe { nats_options_set_tls_required(o.raw(), true) });
    let c = o.connect().unwrap();
    assert_eq!(c.request("nobody", b"", 2000).err().unwrap(), NATS_ERR_NO_RESPONDERS);
    let tls = &srv.monitor("/connz")["connections"][0]["tls_version"];
    assert!(tls.as_str().unwrap_or("").starts_with("1."), "server sees TLS: {tls}");
    check(unsafe { nats_options_set_certificate(o.raw(), cs("/nonexistent/ca.pem").as_ptr()) }, NATS_ERR_IO);
}

#[test]
fn client_cert_for_mutual_tls() {
    let pki = Pki::new();
    let srv = Server::start_conf(&pki.server_block("verify: true"));
    let o = Opts::new().servers(&[&format!("tls://127.0.0.1:{}", srv.port)]);
    ok(unsafe { nats_options_set_certificate(o.raw(), cs(&pki.ca).as_ptr()) });
    assert!(o.connect().is_err(), "server requires a client certificate");
    ok(unsafe { nats_options_set_client_cert(o.raw(), cs(&pki.client_cert).as_ptr(), cs(&pki.client_key).as_ptr()) });
    let c = o.connect().unwrap();
    assert_eq!(c.status(), NATS_CONN_STATUS_CONNECTED);
    check(
        unsafe { nats_options_set_client_cert(o.raw(), cs(&pki.client_cert).as_ptr(), std::ptr::null()) },
        NATS_ERR_NULL_ARGUMENT,
    );
    check(
        unsafe {
            nats_options_set_client_cert(o.raw(), cs(&pki.client_cert).as_ptr(), cs("/nonexistent/key").as_ptr())
        },
        NATS_ERR_IO,
    );
}

#[test]
fn tls_first_with_handshake_first_server() {
    let pki = Pki::new();
    let srv = Server::start_conf(&pki.server_block("handshake_first: true"));
    let o = Opts::new().servers(&[&format!("nats://127.0.0.1:{}", srv.port)]);
    ok(unsafe { nats_options_set_certificate(o.raw(), cs(&pki.ca).as_ptr()) });
    ok(unsafe { nats_options_set_connection_timeout_ms(o.raw(), 2000) });
    assert!(o.connect().is_err(), "a handshake-first server does not send INFO first");
    ok(unsafe { nats_options_set_tls_first(o.raw(), true) });
    let c = o.connect().unwrap();
    assert_eq!(c.status(), NATS_CONN_STATUS_CONNECTED);
}

/// A TCP proxy in front of a server that counts client PINGs.
fn ping_counting_proxy(upstream: u16) -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let pings = Arc::new(AtomicUsize::new(0));
    let p = pings.clone();
    std::thread::spawn(move || {
        for client in l.incoming().take(1) {
            let mut client = client.unwrap();
            let mut server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s2, &mut c2);
            });
            let mut buf = [0u8; 65536];
            let mut tail = Vec::new();
            while let Ok(n) = client.read(&mut buf) {
                if n == 0 {
                    break;
                }
                // Counted before forwarding: the handshake's PING is counted before its PONG
                // can let nats_connect return.
                tail.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&tail).to_string();
                let complete = text.rfind("\r\n").map_or(0, |i| i + 2);
                p.fetch_add(text[..complete].matches("PING\r\n").count(), Ordering::SeqCst);
                tail.drain(..complete);
                if server.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    });
    (port, pings)
}

#[test]
fn ping_interval_sets_how_often_the_client_pings() {
    let srv = Server::start();
    // Pings sent after connecting, counted until `enough` or `limit`.
    let count_pings = |ms: Option<u64>, enough: usize, limit: Duration| {
        let (port, pings) = ping_counting_proxy(srv.port);
        let o = Opts::new().servers(&[&format!("nats://127.0.0.1:{port}")]);
        if let Some(ms) = ms {
            ok(unsafe { nats_options_set_ping_interval_ms(o.raw(), ms) });
        }
        let c = o.connect().unwrap();
        let start = pings.load(Ordering::SeqCst);
        wait_until(limit, || pings.load(Ordering::SeqCst) - start >= enough);
        let n = pings.load(Ordering::SeqCst) - start;
        drop(c);
        n
    };
    // 5 pings take 0.5 s at 100 ms; the bound is generous for a loaded machine, and still far
    // below what the 60 s default could do.
    let fast = count_pings(Some(100), 5, Duration::from_secs(10));
    assert!(fast >= 5, "100 ms interval gave {fast} pings in 10 s");
    let default = count_pings(None, 1, Duration::from_millis(1500));
    assert_eq!(default, 0, "default interval is 60 s");
    let o = Opts::new();
    check(unsafe { nats_options_set_ping_interval_ms(o.raw(), 0) }, NATS_ERR_INVALID_ARGUMENT);
}

#[test]
fn sender_capacity_small_queue_loses_nothing() {
    let srv = Server::start();
    let o = Opts::new().servers(&[&srv.url()]);
    check(unsafe { nats_options_set_sender_capacity(o.raw(), 0) }, NATS_ERR_INVALID_ARGUMENT);
    ok(unsafe { nats_options_set_sender_capacity(o.raw(), 1) });
    let c = o.connect().unwrap();
    let rx = Conn::to(&srv.url());
    let sub = Sub::new(&rx, "cap", "");
    rx.flush();
    for i in 0..20000u32 {
        ok(c.publish("cap", &i.to_be_bytes()));
    }
    c.flush();
    assert!(sub.wait_count(20000, WAIT), "got {}", sub.count());
}

#[test]
fn inbox_prefix_is_used_for_replies() {
    let srv = Server::start();
    let responder = Conn::to(&srv.url());
    let sub = Sub::new(&responder, "svc", "");
    responder.flush();
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_inbox_prefix(o.raw(), cs("_MTA.replies").as_ptr()) });
    let c = o.connect().unwrap();
    let _ = c.request("svc", b"q", 300); // nobody answers; we only look at the reply subject
    assert!(sub.wait_count(1, WAIT));
    let reply = sub.received().msgs.lock().unwrap()[0].reply.clone().unwrap();
    assert!(reply.starts_with("_MTA.replies."), "{reply}");
    // Default prefix.
    let d = Conn::to(&srv.url());
    let _ = d.request("svc", b"q", 300);
    assert!(sub.wait_count(2, WAIT));
    assert!(sub.received().msgs.lock().unwrap()[1].reply.clone().unwrap().starts_with("_INBOX."));
    for bad in ["", "a b", "a..b", "x.>"] {
        check(unsafe { nats_options_set_inbox_prefix(o.raw(), cs(bad).as_ptr()) }, NATS_ERR_INVALID_SUBJECT);
    }
}

#[test]
fn request_timeout_applies_when_timeout_is_zero() {
    let srv = Server::start();
    let silent_conn = Conn::to(&srv.url());
    let _silent = Sub::new(&silent_conn, "slow", "");
    silent_conn.flush();
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_request_timeout_ms(o.raw(), 300) });
    let c = o.connect().unwrap();
    let t = Instant::now();
    check(c.request("slow", b"", 0).err().unwrap(), NATS_ERR_TIMEOUT);
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(280) && e < Duration::from_secs(3), "{e:?}");
    check(unsafe { nats_options_set_request_timeout_ms(o.raw(), 0) }, NATS_ERR_INVALID_ARGUMENT);
}

#[test]
fn request_timeout_default_is_ten_seconds() {
    let srv = Server::start();
    let silent_conn = Conn::to(&srv.url());
    let _silent = Sub::new(&silent_conn, "slow", "");
    silent_conn.flush();
    let c = Conn::to(&srv.url());
    let t = Instant::now();
    check(c.request("slow", b"", 0).err().unwrap(), NATS_ERR_TIMEOUT);
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(9800) && e < Duration::from_secs(14), "{e:?}");
}

#[test]
fn retry_on_initial_connect_connects_in_background() {
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    // Off (default): fails at once.
    check(Opts::new().servers(&[&url]).connect().err().unwrap(), NATS_ERR_CONNECTION_FAILED);
    // On: returns a connecting handle; works once the server is up.
    let o = Opts::new().servers(&[&url]);
    ok(unsafe { nats_options_set_retry_on_initial_connect(o.raw(), true) });
    let t = Instant::now();
    let c = o.connect().unwrap();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(c.status(), NATS_CONN_STATUS_CONNECTING);
    let sub = Sub::new(&c, "early", "");
    std::thread::sleep(Duration::from_millis(300));
    let _srv = Server::start_on(port, &[]);
    assert!(c.wait_status(NATS_CONN_STATUS_CONNECTED, Duration::from_secs(15)));
    ok(c.publish("early", b"made it"));
    c.flush();
    assert!(sub.wait_count(1, WAIT), "subscription made before connecting works");
}

/// Two servers in a cluster; the client is given only `a`, and learns of `b` from INFO.
fn cluster() -> (Server, Server) {
    let ca = free_port();
    let cb = free_port();
    let a = Server::start_with(&[
        "--cluster_name",
        "c",
        "--cluster",
        &format!("nats://127.0.0.1:{ca}"),
        "--routes",
        &format!("nats://127.0.0.1:{cb}"),
    ]);
    let b = Server::start_with(&[
        "--cluster_name",
        "c",
        "--cluster",
        &format!("nats://127.0.0.1:{cb}"),
        "--routes",
        &format!("nats://127.0.0.1:{ca}"),
    ]);
    assert!(
        wait_until(WAIT, || a.monitor("/routez")["num_routes"].as_u64().unwrap_or(0) >= 1
            && b.monitor("/routez")["num_routes"].as_u64().unwrap_or(0) >= 1),
        "cluster did not form"
    );
    (a, b)
}

#[test]
fn discovered_servers_are_used_unless_ignored() {
    for ignore in [false, true] {
        let (mut a, b) = cluster();
        let o = Opts::new().servers(&[&a.url()]);
        ok(unsafe { nats_options_set_ignore_discovered_servers(o.raw(), ignore) });
        let c = o.connect().unwrap();
        c.flush();
        // Let INFO with connect_urls arrive.
        std::thread::sleep(Duration::from_millis(500));
        a.kill();
        if ignore {
            std::thread::sleep(Duration::from_secs(4));
            assert_eq!(c.status(), NATS_CONN_STATUS_RECONNECTING, "must not fail over to discovered b");
            assert_eq!(b.num_connections(), 0);
        } else {
            assert!(
                c.wait_status(NATS_CONN_STATUS_CONNECTED, Duration::from_secs(15))
                    && wait_until(WAIT, || b.num_connections() == 1),
                "should fail over to the discovered server"
            );
        }
    }
}

#[test]
fn retain_servers_order_always_picks_the_first() {
    let a = Server::start();
    let b = Server::start();
    let mut conns = Vec::new();
    for _ in 0..12 {
        let o = Opts::new().servers(&[&a.url(), &b.url()]);
        ok(unsafe { nats_options_set_retain_servers_order(o.raw(), true) });
        conns.push(o.connect().unwrap());
    }
    assert_eq!((a.num_connections(), b.num_connections()), (12, 0));
    drop(conns);
    // Default: randomized, so 24 connections land on both (chance of not: 2^-23).
    let mut conns = Vec::new();
    for _ in 0..24 {
        conns.push(Opts::new().servers(&[&a.url(), &b.url()]).connect().unwrap());
    }
    assert!(wait_until(WAIT, || a.num_connections() + b.num_connections() == 24));
    assert!(a.num_connections() > 0 && b.num_connections() > 0, "{} / {}", a.num_connections(), b.num_connections());
}

#[test]
fn options_free_null_and_null_opts() {
    unsafe { nats_options_free(std::ptr::null_mut()) };
    check(unsafe { nats_options_new(std::ptr::null_mut()) }, NATS_ERR_NULL_ARGUMENT);
    let null = std::ptr::null_mut();
    check(unsafe { nats_options_set_no_echo(null, true) }, NATS_ERR_NULL_ARGUMENT);
    check(unsafe { nats_options_set_max_reconnects(null, 1) }, NATS_ERR_NULL_ARGUMENT);
    check(unsafe { nats_options_set_tls_first(null, true) }, NATS_ERR_NULL_ARGUMENT);
    check(unsafe { nats_options_set_token(null, cs("t").as_ptr()) }, NATS_ERR_NULL_ARGUMENT);
    let o = Opts::new();
    check(unsafe { nats_options_set_token(o.raw(), std::ptr::null()) }, NATS_ERR_NULL_ARGUMENT);
    check(
        unsafe { nats_options_set_user_password(o.raw(), cs("u").as_ptr(), std::ptr::null()) },
        NATS_ERR_NULL_ARGUMENT,
    );
    // The name may be cleared with NULL.
    ok(unsafe { nats_options_set_name(o.raw(), std::ptr::null()) });
}
