//! Decentralized-auth fixtures generated in the test: NKeys, NATS JWTs (operator, account,
//! user), a server configured for them, `.creds` files.
#![allow(dead_code)]

use super::*;

pub fn b64url(data: &[u8]) -> String {
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
pub fn jwt(issuer: &nkeys::KeyPair, subject: &str, name: &str, nats: serde_json::Value) -> String {
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
pub fn operator_setup() -> (Server, nkeys::KeyPair, String) {
    operator_setup_with("")
}

/// As `operator_setup`, with more server configuration (e.g. a `tls { }` block).
pub fn operator_setup_with(extra: &str) -> (Server, nkeys::KeyPair, String) {
    let op = nkeys::KeyPair::new_operator();
    let acc = nkeys::KeyPair::new_account();
    let user = nkeys::KeyPair::new_user();
    let op_jwt = jwt(&op, &op.public_key(), "op", serde_json::json!({"type": "operator", "version": 2}));
    let unlimited = serde_json::json!({"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
        "wildcards": true, "conn": -1, "leaf": -1});
    let acc_jwt =
        jwt(&op, &acc.public_key(), "mail", serde_json::json!({"limits": unlimited, "type": "account", "version": 2}));
    let user_jwt = jwt(
        &acc,
        &user.public_key(),
        "mta",
        serde_json::json!({"pub": {}, "sub": {}, "subs": -1,
        "data": -1, "payload": -1, "type": "user", "version": 2}),
    );
    let conf = format!(
        "operator: \"{op_jwt}\"\nresolver: MEMORY\nresolver_preload: {{\n  {}: \"{acc_jwt}\"\n}}\n{extra}",
        acc.public_key()
    );
    (Server::start_conf(&conf), user, user_jwt)
}

pub fn creds_file(dir: &std::path::Path, jwt: &str, seed: &str) -> String {
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
