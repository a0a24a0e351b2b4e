//! Authentication against nats-servers configured for it: NKey users, operator/account/user
//! JWTs with a `.creds` file and with a signing callback, permission violations reported
//! through the error callback. Keys and JWTs are generated in the test.

mod common;
use common::auth::*;
use common::*;
use nats_ffi::*;
use std::ffi::{c_char, c_void, CStr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn roundtrip(c: &Conn) {
    let got = collector::Sub::new(c, "auth.rt", "");
    c.flush();
    ok(c.publish("auth.rt", b"hi"));
    assert!(got.wait_count(1, Duration::from_secs(5)));
}

fn expect_auth_failure(o: &Opts, secret: &str) {
    let t = Instant::now();
    check(o.connect().err().unwrap(), NATS_ERR_AUTH);
    assert!(t.elapsed() < Duration::from_secs(5), "auth failure took {:?}", t.elapsed());
    let e = last_error();
    assert!(e.to_ascii_lowercase().contains("auth"), "says what was wrong: {e}");
    assert!(!e.contains(secret), "secret leaked into the error: {e}");
}

#[test]
fn nkey_user_inline_and_from_file() {
    let user = nkeys::KeyPair::new_user();
    let srv = Server::start_conf(&format!("authorization {{ users = [ {{ nkey: {} }} ] }}\n", user.public_key()));
    let seed = user.seed().unwrap();
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_nkey_seed(o.raw(), cs(&seed).as_ptr()) });
    let c = o.connect().unwrap();
    roundtrip(&c);
    // The connection signs with the user's key.
    let mut sig = [0u8; NATS_NKEY_SIGNATURE_LEN];
    ok(unsafe { nats_connection_sign(c.raw(), b"nonce".as_ptr().cast(), 5, sig.as_mut_ptr()) });
    nkeys::KeyPair::from_public_key(&user.public_key()).unwrap().verify(b"nonce", &sig).unwrap();
    let f = write_file(srv.dir.path(), "user.nk", &format!("{seed}\n"));
    ok(unsafe { nats_options_set_nkey_seed_file(o.raw(), cs(&f).as_ptr()) });
    roundtrip(&o.connect().unwrap());
    // Another user's key: rejected, fast, without the seed in the error.
    let other = nkeys::KeyPair::new_user().seed().unwrap();
    ok(unsafe { nats_options_set_nkey_seed(o.raw(), cs(&other).as_ptr()) });
    expect_auth_failure(&o, &other);
    // Bad input never echoes the secret.
    check(unsafe { nats_options_set_nkey_seed(o.raw(), cs("SUnotaseed").as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    assert!(!last_error().contains("SUnotaseed"));
    let bad = write_file(srv.dir.path(), "bad.nk", "garbage\n");
    check(unsafe { nats_options_set_nkey_seed_file(o.raw(), cs(&bad).as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    check(unsafe { nats_options_set_nkey_seed_file(o.raw(), cs("/nonexistent/x.nk").as_ptr()) }, NATS_ERR_IO);
    check(unsafe { nats_options_set_nkey_seed(o.raw(), std::ptr::null()) }, NATS_ERR_NULL_ARGUMENT);
}

#[test]
fn operator_jwt_with_creds_file() {
    let (srv, user, user_jwt) = operator_setup();
    let seed = user.seed().unwrap();
    let o = Opts::new().servers(&[&srv.url()]);
    let f = creds_file(srv.dir.path(), &user_jwt, &seed);
    ok(unsafe { nats_options_set_credentials_file(o.raw(), cs(&f).as_ptr()) });
    let c = o.connect().unwrap();
    roundtrip(&c);
    // The connection signs with the seed of its credentials.
    let mut sig = [0u8; NATS_NKEY_SIGNATURE_LEN];
    ok(unsafe { nats_connection_sign(c.raw(), b"nonce".as_ptr().cast(), 5, sig.as_mut_ptr()) });
    nkeys::KeyPair::from_public_key(&user.public_key()).unwrap().verify(b"nonce", &sig).unwrap();
    // A user whose JWT the account did not issue: rejected.
    let stranger = nkeys::KeyPair::new_user();
    let rogue_acc = nkeys::KeyPair::new_account();
    let rogue = jwt(&rogue_acc, &stranger.public_key(), "x", serde_json::json!({"type": "user", "version": 2}));
    let f2 = creds_file(&srv.dir.path().join("."), &rogue, &stranger.seed().unwrap());
    ok(unsafe { nats_options_set_credentials_file(o.raw(), cs(&f2).as_ptr()) });
    expect_auth_failure(&o, &stranger.seed().unwrap());
    let junk = write_file(srv.dir.path(), "junk.creds", "not creds\n");
    check(unsafe { nats_options_set_credentials_file(o.raw(), cs(&junk).as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    assert!(!last_error().contains("not creds"));
    check(unsafe { nats_options_set_credentials_file(o.raw(), cs("/nonexistent/u.creds").as_ptr()) }, NATS_ERR_IO);
}

/// Credentials from memory (`nats_options_set_credentials`) and from a JWT file and a seed
/// file (`nats_options_set_credentials_files`, also with one `.creds` file for both) connect;
/// text that is not credentials is refused without being repeated.
#[test]
fn operator_jwt_with_credentials_from_memory_and_two_files() {
    let (srv, user, user_jwt) = operator_setup();
    let seed = user.seed().unwrap();
    let creds_path = creds_file(srv.dir.path(), &user_jwt, &seed);
    let creds_text = std::fs::read_to_string(&creds_path).unwrap();
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_credentials(o.raw(), cs(&creds_text).as_ptr()) });
    roundtrip(&o.connect().unwrap());

    let jwt_path = write_file(srv.dir.path(), "user.jwt", &format!("{user_jwt}\n"));
    let seed_path = write_file(srv.dir.path(), "user.nk", &format!("{seed}\n"));
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_credentials_files(o.raw(), cs(&jwt_path).as_ptr(), cs(&seed_path).as_ptr()) });
    roundtrip(&o.connect().unwrap());
    // One .creds file for both, and a .creds file as the JWT's source with a separate seed.
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_credentials_files(o.raw(), cs(&creds_path).as_ptr(), std::ptr::null()) });
    roundtrip(&o.connect().unwrap());
    ok(unsafe { nats_options_set_credentials_files(o.raw(), cs(&creds_path).as_ptr(), cs(&seed_path).as_ptr()) });
    roundtrip(&o.connect().unwrap());

    // A seed the account did not issue a JWT for: the server refuses it.
    let stranger_seed = nkeys::KeyPair::new_user().seed().unwrap();
    let stranger = write_file(srv.dir.path(), "stranger.nk", &stranger_seed);
    ok(unsafe { nats_options_set_credentials_files(o.raw(), cs(&jwt_path).as_ptr(), cs(&stranger).as_ptr()) });
    expect_auth_failure(&o, &stranger_seed);

    check(unsafe { nats_options_set_credentials(o.raw(), cs("not creds at all").as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    assert!(!last_error().contains("not creds at all"), "{}", last_error());
    check(
        unsafe { nats_options_set_credentials_files(o.raw(), cs(&jwt_path).as_ptr(), cs(&jwt_path).as_ptr()) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    assert!(!last_error().contains(&user_jwt), "{}", last_error());
    check(
        unsafe { nats_options_set_credentials_files(o.raw(), cs("/nonexistent/u.jwt").as_ptr(), std::ptr::null()) },
        NATS_ERR_IO,
    );
    check(unsafe { nats_options_set_credentials(o.raw(), std::ptr::null()) }, NATS_ERR_NULL_ARGUMENT);
}

/// The `.creds` text is parsed by hand since async-nats patch 7 (it was a regex): Windows line
/// ends and a missing final newline connect; text with only the JWT block is refused.
#[test]
fn credentials_text_with_crlf_or_no_final_newline() {
    let (srv, user, user_jwt) = operator_setup();
    let seed = user.seed().unwrap();
    let text = std::fs::read_to_string(creds_file(srv.dir.path(), &user_jwt, &seed)).unwrap();
    let o = Opts::new().servers(&[&srv.url()]);
    for variant in [text.replace('\n', "\r\n"), text.trim_end().to_string()] {
        ok(unsafe { nats_options_set_credentials(o.raw(), cs(&variant).as_ptr()) });
        roundtrip(&o.connect().unwrap());
    }
    let jwt_only = &text[..text.find("************").unwrap()];
    check(unsafe { nats_options_set_credentials(o.raw(), cs(jwt_only).as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    let seed_line_broken = text.replace(&seed, &format!("{seed} x"));
    check(unsafe { nats_options_set_credentials(o.raw(), cs(&seed_line_broken).as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
}

/// The CA and the client certificate and key as PEM text (`nats_options_set_ca_pem`,
/// `nats_options_set_client_cert_pem`) establish mTLS as the file setters do; the wrong CA
/// fails the handshake; text without a certificate or key is refused without repeating it.
#[test]
fn tls_ca_and_client_certificate_from_memory() {
    let pki = tls::Pki::new();
    let srv = Server::start_conf(&pki.server_block("verify: true"));
    let read = |p: &str| std::fs::read_to_string(p).unwrap();
    let url = format!("tls://127.0.0.1:{}", srv.port);
    let o = Opts::new().servers(&[&url]);
    ok(unsafe { nats_options_set_ca_pem(o.raw(), cs(&read(&pki.ca)).as_ptr()) });
    // The server asks for a client certificate.
    assert!(o.connect().is_err());
    let (cert, key) = (read(&pki.client_cert), read(&pki.client_key));
    ok(unsafe { nats_options_set_client_cert_pem(o.raw(), cs(&cert).as_ptr(), cs(&key).as_ptr()) });
    roundtrip(&o.connect().unwrap());

    let wrong = Opts::new().servers(&[&url]);
    ok(unsafe { nats_options_set_ca_pem(wrong.raw(), cs(&read(&pki.other_ca)).as_ptr()) });
    ok(unsafe { nats_options_set_client_cert_pem(wrong.raw(), cs(&cert).as_ptr(), cs(&key).as_ptr()) });
    check(wrong.connect().map(drop).unwrap_err(), NATS_ERR_TLS);

    check(unsafe { nats_options_set_ca_pem(o.raw(), cs("no certificate here").as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    check(
        unsafe { nats_options_set_client_cert_pem(o.raw(), cs(&cert).as_ptr(), cs(&cert).as_ptr()) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    check(
        unsafe { nats_options_set_client_cert_pem(o.raw(), cs(&key).as_ptr(), cs(&key).as_ptr()) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    assert!(!last_error().contains("PRIVATE KEY"), "{}", last_error());
    check(
        unsafe { nats_options_set_client_cert_pem(o.raw(), cs(&cert).as_ptr(), std::ptr::null()) },
        NATS_ERR_NULL_ARGUMENT,
    );
    // NULL clears the CA: back to the system roots, which do not know this test CA.
    ok(unsafe { nats_options_set_ca_pem(o.raw(), std::ptr::null()) });
    check(o.connect().map(drop).unwrap_err(), NATS_ERR_TLS);
}

/// The token the token callback hands out now (empty: none), and how often it was asked.
static TOKEN: Mutex<String> = Mutex::new(String::new());
static TOKEN_ASKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe extern "C" fn current_token(_ud: *mut c_void) -> *const c_char {
    TOKEN_ASKED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    // Leaked: valid for as long as the library may read it.
    let t = TOKEN.lock().unwrap().clone();
    if t.is_empty() {
        return std::ptr::null();
    }
    cs(&t).into_raw()
}

/// A token handler is asked before every connect attempt: after the server's token rotated
/// (server restarted with a new one), the reconnect presents the new token. A handler with no
/// token fails the connect as an authorization error.
#[test]
fn token_handler_follows_a_rotating_token() {
    let mut srv = Server::start_conf("authorization { token: \"first-token\" }\n");
    *TOKEN.lock().unwrap() = "first-token".into();
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_reconnect_wait_ms(o.raw(), 50) });
    ok(unsafe { nats_options_set_token_handler(o.raw(), Some(current_token), std::ptr::null_mut()) });
    let c = o.connect().unwrap();
    roundtrip(&c);
    let asked = TOKEN_ASKED.load(std::sync::atomic::Ordering::SeqCst);
    assert!(asked >= 1);

    std::fs::write(srv.dir.path().join("server.conf"), "authorization { token: \"second-token\" }\n").unwrap();
    *TOKEN.lock().unwrap() = "second-token".into();
    srv.restart();
    // The reconnect asks again, and gets in with the new token.
    assert!(wait_until(Duration::from_secs(20), || TOKEN_ASKED.load(std::sync::atomic::Ordering::SeqCst) > asked));
    assert!(c.wait_status(nats_conn_status::NATS_CONN_STATUS_CONNECTED, Duration::from_secs(20)));
    roundtrip(&c);
    let mut st = nats_statistics::default();
    ok(unsafe { nats_connection_stats(c.raw(), &mut st) });
    assert_eq!(st.reconnects, 1);
    drop(c);

    *TOKEN.lock().unwrap() = String::new();
    expect_auth_failure(&o, "second-token");
    // Removing the handler leaves no auth: refused too.
    ok(unsafe { nats_options_set_token_handler(o.raw(), None, std::ptr::null_mut()) });
    check(o.connect().map(drop).unwrap_err(), NATS_ERR_AUTH);
    check(
        unsafe { nats_options_set_token_handler(std::ptr::null_mut(), None, std::ptr::null_mut()) },
        NATS_ERR_NULL_ARGUMENT,
    );
}

static SIGNER: Mutex<Option<nkeys::KeyPair>> = Mutex::new(None);

unsafe extern "C" fn sign(ud: *mut c_void, nonce: *const u8, len: usize, sig: *mut u8) -> nats_status {
    *(ud as *mut usize) += 1;
    let guard = SIGNER.lock().unwrap();
    let Some(k) = guard.as_ref() else { return NATS_ERR_AUTH };
    let s = k.sign(std::slice::from_raw_parts(nonce, len)).unwrap();
    std::ptr::copy_nonoverlapping(s.as_ptr(), sig, 64);
    NATS_OK
}

#[test]
fn operator_jwt_with_signing_callback() {
    let (srv, user, user_jwt) = operator_setup();
    *SIGNER.lock().unwrap() = Some(nkeys::KeyPair::from_seed(&user.seed().unwrap()).unwrap());
    let mut calls = Box::new(0usize);
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe {
        nats_options_set_user_jwt(o.raw(), cs(&user_jwt).as_ptr(), Some(sign), &mut *calls as *mut usize as *mut c_void)
    });
    roundtrip(&o.connect().unwrap());
    assert_eq!(*calls, 1, "the callback signed the nonce once");
    // The callback refusing to sign fails the connect.
    *SIGNER.lock().unwrap() = None;
    let t = Instant::now();
    assert!(o.connect().is_err());
    assert!(t.elapsed() < Duration::from_secs(5));
    check(
        unsafe { nats_options_set_user_jwt(o.raw(), cs("nope").as_ptr(), Some(sign), std::ptr::null_mut()) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    check(
        unsafe { nats_options_set_user_jwt(o.raw(), cs(&user_jwt).as_ptr(), None, std::ptr::null_mut()) },
        NATS_ERR_NULL_ARGUMENT,
    );
}

static ERRORS: Mutex<Vec<(nats_status, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn on_error(
    _ud: *mut c_void,
    _c: *mut nats_ffi::nats_connection,
    _s: *mut nats_ffi::nats_subscription,
    st: nats_status,
    text: *const c_char,
) {
    ERRORS.lock().unwrap().push((st, CStr::from_ptr(text).to_string_lossy().into_owned()));
}

#[test]
fn permission_violation_reported_through_the_error_callback() {
    let srv = Server::start_conf(
        "authorization { users = [ { user: mta, password: pw, permissions: { publish: { deny: [\"secret.>\"] } } } ] }\n",
    );
    let o = Opts::new().servers(&[&srv.url()]);
    ok(unsafe { nats_options_set_user_password(o.raw(), cs("mta").as_ptr(), cs("pw").as_ptr()) });
    ok(unsafe { nats_options_set_error_cb(o.raw(), Some(on_error), std::ptr::null_mut()) });
    let c = o.connect().unwrap();
    ok(c.publish("secret.keys", b"x"));
    c.flush();
    assert!(wait_until(Duration::from_secs(5), || !ERRORS.lock().unwrap().is_empty()));
    let (st, text) = ERRORS.lock().unwrap()[0].clone();
    assert_eq!(st, NATS_ERR_PERMISSION, "{text}");
    assert!(text.to_ascii_lowercase().contains("permissions violation") && text.contains("secret.keys"), "{text}");
    // Allowed subjects still work on the same connection.
    roundtrip(&c);
}

#[test]
fn mtls_verify_and_map_maps_the_certificate_to_a_user() {
    let pki = tls::Pki::new();
    let conf = |user: &str| {
        format!("{}authorization {{ users = [ {{ user: \"{user}\", permissions: {{ publish: {{ deny: [\"denied.>\"] }} }} }} ] }}\n", pki.server_block("verify_and_map: true"))
    };
    let srv = Server::start_conf(&conf("CN=mailer"));
    let o = Opts::new().servers(&[&format!("tls://127.0.0.1:{}", srv.port)]);
    ok(unsafe { nats_options_set_certificate(o.raw(), cs(&pki.ca).as_ptr()) });
    // No client certificate: the TLS handshake itself fails.
    assert!(o.connect().is_err());
    ok(unsafe { nats_options_set_client_cert(o.raw(), cs(&pki.client_cert).as_ptr(), cs(&pki.client_key).as_ptr()) });
    let c = o.connect().unwrap();
    roundtrip(&c);
    // The server knows the connection as the mapped user.
    let connz = srv.monitor("/connz?auth=1");
    assert_eq!(connz["connections"][0]["authorized_user"].as_str().unwrap_or(""), "CN=mailer", "{connz}");
    drop(c);
    // A certificate that maps to no user is an authorization failure.
    let other = Server::start_conf(&conf("CN=someone-else"));
    let o2 = Opts::new().servers(&[&format!("tls://127.0.0.1:{}", other.port)]);
    ok(unsafe { nats_options_set_certificate(o2.raw(), cs(&pki.ca).as_ptr()) });
    ok(unsafe { nats_options_set_client_cert(o2.raw(), cs(&pki.client_cert).as_ptr(), cs(&pki.client_key).as_ptr()) });
    expect_auth_failure(&o2, "BEGIN PRIVATE KEY");
}

#[test]
fn failed_auth_makes_one_attempt_per_server_not_a_retry_storm() {
    let user = nkeys::KeyPair::new_user();
    let srv = Server::start_conf(&format!("authorization {{ users = [ {{ nkey: {} }} ] }}\n", user.public_key()));
    let o = Opts::new().servers(&[&srv.url()]);
    let wrong = nkeys::KeyPair::new_user().seed().unwrap();
    ok(unsafe { nats_options_set_nkey_seed(o.raw(), cs(&wrong).as_ptr()) });
    expect_auth_failure(&o, &wrong);
    std::thread::sleep(Duration::from_millis(500));
    let violations = srv.log().matches("authentication error").count();
    assert!((1..=2).contains(&violations), "{violations} attempts:\n{}", srv.log());
}

#[test]
fn tls_server_name_override_and_insecure_skip_verify() {
    let pki = tls::Pki::new();
    let srv = Server::start_conf(&pki.server_block("verify: true"));
    let o = Opts::new().servers(&[&format!("tls://127.0.0.1:{}", srv.port)]);
    ok(unsafe { nats_options_set_certificate(o.raw(), cs(&pki.ca).as_ptr()) });
    ok(unsafe { nats_options_set_client_cert(o.raw(), cs(&pki.client_cert).as_ptr(), cs(&pki.client_key).as_ptr()) });
    o.connect().unwrap();
    // The certificate names localhost and 127.0.0.1: verifying against another name fails,
    // against one of its names (not the URL's host) succeeds.
    ok(unsafe { nats_options_set_tls_server_name(o.raw(), cs("nats.internal").as_ptr()) });
    check(o.connect().err().unwrap(), NATS_ERR_TLS);
    ok(unsafe { nats_options_set_tls_server_name(o.raw(), cs("localhost").as_ptr()) });
    roundtrip(&o.connect().unwrap());
    ok(unsafe { nats_options_set_tls_server_name(o.raw(), std::ptr::null()) });
    check(unsafe { nats_options_set_tls_server_name(o.raw(), cs("not a name").as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    // An untrusted CA fails unless verification is explicitly skipped.
    ok(unsafe { nats_options_set_certificate(o.raw(), cs(&pki.other_ca).as_ptr()) });
    check(o.connect().err().unwrap(), NATS_ERR_TLS);
    ok(unsafe { nats_options_set_tls_insecure_skip_verify(o.raw(), true) });
    let c = o.connect().unwrap();
    roundtrip(&c);
    let tls = &srv.monitor("/connz")["connections"][0]["tls_version"];
    assert!(tls.as_str().unwrap_or("").starts_with("1."), "still encrypted: {tls}");
    ok(unsafe { nats_options_set_tls_insecure_skip_verify(o.raw(), false) });
    check(o.connect().err().unwrap(), NATS_ERR_TLS);
    check(unsafe { nats_options_set_tls_insecure_skip_verify(std::ptr::null_mut(), true) }, NATS_ERR_NULL_ARGUMENT);
}

/// `nats_sign` signs with an NKey seed exactly as the key pair does (the signature verifies
/// against the public key); a bad seed is `NATS_ERR_INVALID_ARGUMENT` without the seed in
/// the error; NULL arguments are refused and `sig` is left alone on failure.
#[test]
fn nats_sign_signs_with_an_nkey_seed() {
    let key = nkeys::KeyPair::new_user();
    let seed = cs(&key.seed().unwrap());
    let nonce = b"a nonce from the server";
    let mut sig = [0u8; NATS_NKEY_SIGNATURE_LEN];
    ok(unsafe { nats_sign(seed.as_ptr(), nonce.as_ptr().cast(), nonce.len(), sig.as_mut_ptr()) });
    let public = nkeys::KeyPair::from_public_key(&key.public_key()).unwrap();
    public.verify(nonce, &sig).expect("the signature verifies with the public key");
    assert_eq!(sig.to_vec(), key.sign(nonce).unwrap(), "Ed25519 signatures are deterministic");
    // An empty message may come as NULL.
    ok(unsafe { nats_sign(seed.as_ptr(), std::ptr::null(), 0, sig.as_mut_ptr()) });
    public.verify(b"", &sig).unwrap();

    let mut untouched = [7u8; NATS_NKEY_SIGNATURE_LEN];
    let bad = cs("SUNOTASEED");
    check(
        unsafe { nats_sign(bad.as_ptr(), nonce.as_ptr().cast(), nonce.len(), untouched.as_mut_ptr()) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    assert!(!last_error().contains("SUNOTASEED"), "{}", last_error());
    assert_eq!(untouched, [7u8; NATS_NKEY_SIGNATURE_LEN]);
    check(unsafe { nats_sign(std::ptr::null(), nonce.as_ptr().cast(), 1, sig.as_mut_ptr()) }, NATS_ERR_NULL_ARGUMENT);
    check(unsafe { nats_sign(seed.as_ptr(), std::ptr::null(), 1, sig.as_mut_ptr()) }, NATS_ERR_NULL_ARGUMENT);
    check(unsafe { nats_sign(seed.as_ptr(), nonce.as_ptr().cast(), 1, std::ptr::null_mut()) }, NATS_ERR_NULL_ARGUMENT);
}

/// `ws://` and `wss://` server URLs (a nats-server websocket listener, plain and with TLS):
/// publish, subscribe, request across to a plain client, reconnect after a server restart;
/// wss with and without the CA; a list mixing websocket and plain URLs is refused.
#[test]
fn websocket_and_secure_websocket() {
    let (ws_port, wss_port) = (free_port(), free_port());
    let pki = tls::Pki::new();
    let srv = Server::start_conf(&format!("websocket {{ listen: \"127.0.0.1:{ws_port}\", no_tls: true }}\n",));
    let secure = Server::start_conf(&format!(
        "websocket {{ listen: \"127.0.0.1:{wss_port}\"\n  tls {{ cert_file: \"{}\", key_file: \"{}\" }} }}\n",
        pki.server_cert, pki.server_key
    ));
    let ws_url = format!("ws://127.0.0.1:{ws_port}");
    let c = Conn::to(&ws_url);
    roundtrip(&c);
    // The websocket's socket is not the library's: no local address to give.
    let (mut ip, mut port) = (std::ptr::null_mut(), 0u16);
    check(unsafe { nats_connection_local_address(c.raw(), &mut ip, &mut port) }, NATS_ERR_NOT_FOUND);
    // Without an NKey, the connection has nothing to sign with.
    let mut sig = [7u8; NATS_NKEY_SIGNATURE_LEN];
    check(
        unsafe { nats_connection_sign(c.raw(), b"x".as_ptr().cast(), 1, sig.as_mut_ptr()) },
        NATS_ERR_INVALID_ARGUMENT,
    );
    assert_eq!(sig, [7u8; NATS_NKEY_SIGNATURE_LEN]);
    // A responder on the plain NATS port answers a request made over the websocket.
    let plain = Conn::to(&srv.url());
    let echo = collector::Sub::new(&plain, "ws.echo", "");
    plain.flush();
    let _ = c.request("ws.echo", b"hello", 300);
    assert!(echo.wait_count(1, Duration::from_secs(5)));
    assert_eq!(echo.received().msgs.lock().unwrap()[0].data, b"hello");
    // A restarted server: the websocket client reconnects and its subscription works again.
    let mut srv = srv;
    drop((echo, plain));
    let got = collector::Sub::new(&c, "ws.after", "");
    c.flush();
    srv.restart();
    let plain = Conn::to(&srv.url());
    assert!(
        wait_until(Duration::from_secs(20), || {
            ok(plain.publish("ws.after", b"x"));
            plain.flush();
            got.wait_count(1, Duration::from_millis(200))
        }),
        "no message after the restart"
    );

    let o = Opts::new().servers(&[&format!("wss://localhost:{wss_port}")]);
    ok(unsafe { nats_options_set_certificate(o.raw(), cs(&pki.ca).as_ptr()) });
    roundtrip(&o.connect().unwrap());
    // Without the CA the handshake fails.
    let untrusted = Opts::new().servers(&[&format!("wss://localhost:{wss_port}")]);
    assert!(untrusted.connect().is_err());

    let mixed = [cs(&ws_url), cs(&srv.url())];
    let ptrs: Vec<*const c_char> = mixed.iter().map(|s| s.as_ptr()).collect();
    let o = Opts::new();
    check(unsafe { nats_options_set_servers(o.raw(), ptrs.as_ptr(), ptrs.len()) }, NATS_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("ws://"), "{}", last_error());
    drop(secure);
}

/// Certificate files are read again at each reconnect, also when a server-name override makes
/// the library build the TLS configuration itself: a rotated client certificate the server
/// does not trust keeps the client out, the good one lets it back; the same for the CA file.
#[test]
fn rotated_certificate_files_are_read_at_each_reconnect() {
    let (pki, stranger) = (tls::Pki::new(), tls::Pki::new());
    let srv = Server::start_conf(&pki.server_block("verify: true"));
    let read = |p: &str| std::fs::read_to_string(p).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = (
        write_file(dir.path(), "ca.pem", &read(&pki.ca)),
        write_file(dir.path(), "cert.pem", &read(&pki.client_cert)),
        write_file(dir.path(), "key.pem", &read(&pki.client_key)),
    );
    let o = Opts::new().servers(&[&format!("tls://127.0.0.1:{}", srv.port)]);
    ok(unsafe { nats_options_set_certificate(o.raw(), cs(&ca).as_ptr()) });
    ok(unsafe { nats_options_set_client_cert(o.raw(), cs(&cert).as_ptr(), cs(&key).as_ptr()) });
    ok(unsafe { nats_options_set_tls_server_name(o.raw(), cs("localhost").as_ptr()) });
    ok(unsafe { nats_options_set_reconnect_wait_ms(o.raw(), 100) });
    ok(unsafe { nats_options_set_max_reconnects(o.raw(), 0) });
    let c = o.connect().unwrap();
    roundtrip(&c);
    let connected = || c.status() == nats_conn_status::NATS_CONN_STATUS_CONNECTED;
    let stays_out = || {
        ok(unsafe { nats_connection_reconnect(c.raw()) });
        assert!(wait_until(Duration::from_secs(5), || !connected()));
        std::thread::sleep(Duration::from_millis(1500)); // several attempts
        !connected()
    };
    // A client certificate from another CA: refused at every attempt.
    std::fs::write(&cert, read(&stranger.client_cert)).unwrap();
    std::fs::write(&key, read(&stranger.client_key)).unwrap();
    assert!(stays_out(), "reconnected with a certificate the server does not trust");
    std::fs::write(&cert, read(&pki.client_cert)).unwrap();
    std::fs::write(&key, read(&pki.client_key)).unwrap();
    assert!(wait_until(Duration::from_secs(20), connected), "the restored certificate was not read");
    roundtrip(&c);
    // A CA that did not sign the server's certificate.
    std::fs::write(&ca, read(&stranger.ca)).unwrap();
    assert!(stays_out(), "reconnected though the CA file no longer trusts the server");
    std::fs::write(&ca, read(&pki.ca)).unwrap();
    assert!(wait_until(Duration::from_secs(20), connected), "the restored CA was not read");
    roundtrip(&c);
}
