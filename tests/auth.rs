//! Authentication against nats-servers configured for it: NKey users, operator/account/user
//! JWTs with a `.creds` file and with a signing callback, permission violations reported
//! through the error callback. Keys and JWTs are generated in the test.

mod common;
use common::*;
use nats_ffi::error::*;
use nats_ffi::options::*;
use std::ffi::{c_char, c_void, CStr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn b64url(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A NATS JWT (`ed25519-nkey`) with `nats` claims, issued by `issuer` for `subject`.
fn jwt(issuer: &nkeys::KeyPair, subject: &str, name: &str, nats: serde_json::Value) -> String {
    let header = b64url(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let claims = serde_json::json!({
        "jti": format!("{}{}", name, std::process::id()),
        "iat": 1_700_000_000u64,
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    let body = b64url(claims.to_string().as_bytes());
    let sig = issuer.sign(format!("{header}.{body}").as_bytes()).unwrap();
    format!("{header}.{body}.{}", b64url(&sig))
}

/// An operator-mode server: operator → account → user; returns the server, the user's key
/// and the user's JWT.
fn operator_setup() -> (Server, nkeys::KeyPair, String) {
    let op = nkeys::KeyPair::new_operator();
    let acc = nkeys::KeyPair::new_account();
    let user = nkeys::KeyPair::new_user();
    let op_jwt = jwt(&op, &op.public_key(), "op", serde_json::json!({"type": "operator", "version": 2}));
    let unlimited = serde_json::json!({"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
        "wildcards": true, "conn": -1, "leaf": -1});
    let acc_jwt = jwt(&op, &acc.public_key(), "mail", serde_json::json!({"limits": unlimited, "type": "account", "version": 2}));
    let user_jwt = jwt(&acc, &user.public_key(), "mta", serde_json::json!({"pub": {}, "sub": {}, "subs": -1,
        "data": -1, "payload": -1, "type": "user", "version": 2}));
    let conf = format!(
        "operator: \"{op_jwt}\"\nresolver: MEMORY\nresolver_preload: {{\n  {}: \"{acc_jwt}\"\n}}\n",
        acc.public_key()
    );
    (Server::start_conf(&conf), user, user_jwt)
}

fn creds_file(dir: &std::path::Path, jwt: &str, seed: &str) -> String {
    write_file(
        dir,
        "user.creds",
        &format!(
            "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\n\
             -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
        ),
    )
}

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
    ok(unsafe { nats_options_set_nkey_seed(o.0, cs(&seed).as_ptr()) });
    roundtrip(&o.connect().unwrap());
    let f = write_file(srv.dir.path(), "user.nk", &format!("{seed}\n"));
    ok(unsafe { nats_options_set_nkey_seed_file(o.0, cs(&f).as_ptr()) });
    roundtrip(&o.connect().unwrap());
    // Another user's key: rejected, fast, without the seed in the error.
    let other = nkeys::KeyPair::new_user().seed().unwrap();
    ok(unsafe { nats_options_set_nkey_seed(o.0, cs(&other).as_ptr()) });
    expect_auth_failure(&o, &other);
    // Bad input never echoes the secret.
    check(unsafe { nats_options_set_nkey_seed(o.0, cs("SUnotaseed").as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    assert!(!last_error().contains("SUnotaseed"));
    let bad = write_file(srv.dir.path(), "bad.nk", "garbage\n");
    check(unsafe { nats_options_set_nkey_seed_file(o.0, cs(&bad).as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    check(unsafe { nats_options_set_nkey_seed_file(o.0, cs("/nonexistent/x.nk").as_ptr()) }, NATS_ERR_IO);
    check(unsafe { nats_options_set_nkey_seed(o.0, std::ptr::null()) }, NATS_ERR_NULL_ARGUMENT);
}

#[test]
fn operator_jwt_with_creds_file() {
    let (srv, user, user_jwt) = operator_setup();
    let seed = user.seed().unwrap();
    let o = Opts::new().servers(&[&srv.url()]);
    let f = creds_file(srv.dir.path(), &user_jwt, &seed);
    ok(unsafe { nats_options_set_credentials_file(o.0, cs(&f).as_ptr()) });
    roundtrip(&o.connect().unwrap());
    // A user whose JWT the account did not issue: rejected.
    let stranger = nkeys::KeyPair::new_user();
    let rogue_acc = nkeys::KeyPair::new_account();
    let rogue = jwt(&rogue_acc, &stranger.public_key(), "x", serde_json::json!({"type": "user", "version": 2}));
    let f2 = creds_file(&srv.dir.path().join("."), &rogue, &stranger.seed().unwrap());
    ok(unsafe { nats_options_set_credentials_file(o.0, cs(&f2).as_ptr()) });
    expect_auth_failure(&o, &stranger.seed().unwrap());
    let junk = write_file(srv.dir.path(), "junk.creds", "not creds\n");
    check(unsafe { nats_options_set_credentials_file(o.0, cs(&junk).as_ptr()) }, NATS_ERR_INVALID_ARGUMENT);
    assert!(!last_error().contains("not creds"));
    check(unsafe { nats_options_set_credentials_file(o.0, cs("/nonexistent/u.creds").as_ptr()) }, NATS_ERR_IO);
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
    ok(unsafe { nats_options_set_user_jwt(o.0, cs(&user_jwt).as_ptr(), Some(sign), &mut *calls as *mut usize as *mut c_void) });
    roundtrip(&o.connect().unwrap());
    assert_eq!(*calls, 1, "the callback signed the nonce once");
    // The callback refusing to sign fails the connect.
    *SIGNER.lock().unwrap() = None;
    let t = Instant::now();
    assert!(o.connect().is_err());
    assert!(t.elapsed() < Duration::from_secs(5));
    check(unsafe { nats_options_set_user_jwt(o.0, cs("nope").as_ptr(), Some(sign), std::ptr::null_mut()) }, NATS_ERR_INVALID_ARGUMENT);
    check(unsafe { nats_options_set_user_jwt(o.0, cs(&user_jwt).as_ptr(), None, std::ptr::null_mut()) }, NATS_ERR_NULL_ARGUMENT);
}

static ERRORS: Mutex<Vec<(nats_status, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn on_error(
    _ud: *mut c_void,
    _c: *mut nats_ffi::connection::nats_connection,
    _s: *mut nats_ffi::subscription::nats_subscription,
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
    ok(unsafe { nats_options_set_user_password(o.0, cs("mta").as_ptr(), cs("pw").as_ptr()) });
    ok(unsafe { nats_options_set_error_cb(o.0, Some(on_error), std::ptr::null_mut()) });
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
