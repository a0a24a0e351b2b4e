//! `nats_options_*`: connection configuration, one setter per kumo.nats.connect field.
//!
//! Values are validated when set (a bad URL, a zero capacity or an unreadable file fails the
//! setter, not a later connect). Files named by `_file` setters and certificate paths are read
//! or checked at set time. Setters may be called in any order; the last call wins.

use crate::capi::args::*;
use crate::capi::delivery::nats_dispatcher;
use crate::capi::events::*;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::status::*;
use crate::client::delivery::Executor;
use crate::client::error::*;
use crate::client::options::*;
use crate::client::subject::*;
use crate::client::tls::{certs_text, key_text, Pem};
use std::ffi::{c_char, c_void};
use std::time::Duration;

/// Connection options. Create with `nats_options_new`, free with `nats_options_free`.
/// Not thread safe: configure from one thread, then `nats_connect` (which copies what it
/// needs, so the options may be freed or reused right after).
///
/// Functions: `nats_connect`, `nats_options_new`, `nats_options_free`, `nats_options_set_servers`,
/// `nats_options_set_user_password`, `nats_options_set_user_password_file`,
/// `nats_options_set_token`, `nats_options_set_token_file`, `nats_options_set_token_handler`,
/// `nats_options_set_nkey_seed`,
/// `nats_options_set_nkey_seed_file`, `nats_options_set_credentials_file`,
/// `nats_options_set_credentials`, `nats_options_set_credentials_files`,
/// `nats_options_set_user_jwt`, `nats_options_set_name`, `nats_options_set_no_echo`,
/// `nats_options_set_allow_reconnect`, `nats_options_set_fail_requests_on_disconnect`,
/// `nats_options_use_shared_delivery`, `nats_options_set_dispatcher`,
/// `nats_options_set_max_reconnects`, `nats_options_set_connection_timeout_ms`,
/// `nats_options_set_tls_required`, `nats_options_set_tls_first`, `nats_options_set_certificate`,
/// `nats_options_set_tls_server_name`, `nats_options_set_tls_insecure_skip_verify`,
/// `nats_options_set_client_cert`, `nats_options_set_ca_pem`, `nats_options_set_client_cert_pem`,
/// `nats_options_set_ping_interval_ms`,
/// `nats_options_set_sender_capacity`, `nats_options_set_inbox_prefix`,
/// `nats_options_set_request_timeout_ms`, `nats_options_set_retry_on_initial_connect`,
/// `nats_options_set_ignore_discovered_servers`, `nats_options_set_retain_servers_order`,
/// `nats_options_set_no_randomize`, `nats_options_set_reconnect_wait_ms`,
/// `nats_options_set_reconnect_jitter_ms`, `nats_options_set_max_pings_out`,
/// `nats_options_set_reconnect_buffer_size`, `nats_options_set_connected_cb`,
/// `nats_options_set_disconnected_cb`, `nats_options_set_reconnected_cb`,
/// `nats_options_set_closed_cb`, `nats_options_set_lame_duck_cb`,
/// `nats_options_set_discovered_servers_cb`, `nats_options_set_error_cb`,
/// `nats_options_set_reconnect_delay_cb`.
pub struct nats_options {
    _private: [u8; 0],
}

// C owns a `nats_options` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_options {
    type Rust = COptions;
}
impl BoxHandle for nats_options {}

/// Options as C sets them: the client's settings, and the event callbacks from which their
/// event sink is made.
#[derive(Clone, Default)]
pub(crate) struct COptions {
    pub(crate) settings: Options,
    hooks: Hooks,
}

/// Sets an event callback: the settings' sink is made anew from all of them.
fn set_hook(o: *mut nats_options, f: impl FnOnce(&mut Hooks)) -> nats_status {
    guard(|| {
        let o = borrow_mut(o, "opts")?;
        f(&mut o.hooks);
        o.settings.events = o.hooks.sink();
        Ok(())
    })
}

/// Runs a setter body against the settings of a checked options pointer.
fn with_opts(o: *mut nats_options, f: impl FnOnce(&mut Options) -> Result<()>) -> nats_status {
    guard(|| f(&mut borrow_mut(o, "opts")?.settings))
}

/// Creates options holding every default: server `nats://127.0.0.1:4222`, no auth, no name,
/// echo on, max_reconnects 0 (unlimited), connection_timeout 5000 ms, no TLS requirement,
/// ping_interval 60000 ms, sender_capacity 128, inbox_prefix "_INBOX", request_timeout
/// 10000 ms, retry_on_initial_connect / ignore_discovered_servers / retain_servers_order off.
/// On success writes a new handle to `*out`; the caller frees it with `nats_options_free`.
/// Errors: `NATS_ERR_NULL_ARGUMENT` if `out` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_new(out: *mut *mut nats_options) -> nats_status {
    guard(|| {
        out_arg(out, "out")?;
        box_out(out, Default::default());
        Ok(())
    })
}

/// Frees options created by `nats_options_new`. NULL is a no-op. Connections made from them
/// are unaffected.
#[no_mangle]
pub unsafe extern "C" fn nats_options_free(opts: *mut nats_options) {
    guard_void(|| {
        free_box(opts);
    })
}

/// kumo `servers`: the list of server URLs (`nats://host:port`, `tls://host:port`,
/// `host:port`; credentials may be embedded as `nats://user:pass@host` or `nats://token@host`).
/// Replaces any earlier list. Each URL is parsed now.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (opts, urls or an element NULL), `NATS_ERR_INVALID_UTF8`,
/// `NATS_ERR_INVALID_ARGUMENT` (count 0, empty or unparsable URL).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_servers(
    opts: *mut nats_options,
    urls: *const *const c_char,
    count: usize,
) -> nats_status {
    with_opts(opts, |o| {
        let mut list = Vec::with_capacity(count);
        for &url in array_arg(urls, count, "urls")? {
            list.push(str_arg(url, "urls[i]")?);
        }
        o.servers = parse_servers(list)?;
        Ok(())
    })
}

/// kumo `auth = { username, password }`: authenticate with a user name and password.
/// Both are copied. Replaces a token set earlier (one auth scheme at a time).
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_user_password(
    opts: *mut nats_options,
    user: *const c_char,
    password: *const c_char,
) -> nats_status {
    with_opts(opts, |o| {
        let u = str_arg(user, "user")?.to_string();
        let p = str_arg(password, "password")?.to_string();
        o.clear_auth();
        o.user_password = Some((u, p));
        Ok(())
    })
}

/// kumo `auth = { username, password = { key_file } }`: user name inline, password read now
/// from `password_path` (one trailing newline stripped). The error names the file, never its
/// contents. Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_IO`
/// (missing, unreadable or empty file).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_user_password_file(
    opts: *mut nats_options,
    user: *const c_char,
    password_path: *const c_char,
) -> nats_status {
    with_opts(opts, |o| {
        let (u, path) = (str_arg(user, "user")?.to_string(), str_arg(password_path, "password_path")?);
        let p = read_secret(path, "password")?;
        o.clear_auth();
        o.user_password = Some((u, p));
        Ok(())
    })
}

/// kumo `auth = { token }`: authenticate with a token (copied). Replaces a user/password set
/// earlier. Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_token(opts: *mut nats_options, token: *const c_char) -> nats_status {
    with_opts(opts, |o| {
        let t = str_arg(token, "token")?.to_string();
        o.clear_auth();
        o.token = Some(t);
        Ok(())
    })
}

/// kumo `auth = { token = { key_file } }`: token read now from `token_path` (one trailing
/// newline stripped). Errors: as `nats_options_set_user_password_file`.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_token_file(
    opts: *mut nats_options,
    token_path: *const c_char,
) -> nats_status {
    with_opts(opts, |o| {
        let t = read_secret(str_arg(token_path, "token_path")?, "token")?;
        o.clear_auth();
        o.token = Some(t);
        Ok(())
    })
}

/// Signs the server's nonce for `nats_options_set_user_jwt`: write the 64-byte Ed25519
/// signature of the `nonce_len` bytes at `nonce` with the user's NKey to `sig` and return
/// `NATS_OK` (any other status fails the connection attempt with `NATS_ERR_AUTH`). Runs on a
/// short-lived library thread during each connect and reconnect, never on the async runtime;
/// it must not call blocking functions of this library.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_sign_callback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, nonce: *const u8, nonce_len: usize, sig: *mut u8) -> nats_status,
>;

/// NKey authentication: `seed` is the user's NKey seed (`SU...`; copied); the server knows the
/// public key. The seed signs the server's nonce and is never sent. Replaces other auth
/// settings. Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`,
/// `NATS_ERR_INVALID_ARGUMENT` (not a seed; the message never contains it).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_nkey_seed(opts: *mut nats_options, seed: *const c_char) -> nats_status {
    with_opts(opts, |o| {
        let s = str_arg(seed, "seed")?.trim();
        check_seed(s)?;
        o.clear_auth();
        o.nkey_seed = Some(s.to_string());
        Ok(())
    })
}

/// As `nats_options_set_nkey_seed`, the seed read now from `seed_path` (an `nk -gen user`
/// seed file: the first line starting with `SU`). Errors: as `nats_options_set_nkey_seed`;
/// `NATS_ERR_IO` (missing, unreadable or empty file).
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_nkey_seed_file(
    opts: *mut nats_options,
    seed_path: *const c_char,
) -> nats_status {
    with_opts(opts, |o| {
        let text = read_secret(str_arg(seed_path, "seed_path")?, "NKey seed")?;
        let s = text.lines().map(str::trim).find(|l| l.starts_with("SU")).unwrap_or("").to_string();
        check_seed(&s)?;
        o.clear_auth();
        o.nkey_seed = Some(s);
        Ok(())
    })
}

/// Decentralized (operator/account/JWT) authentication with a `.creds` file as `nsc` writes
/// it (user JWT and NKey seed), read now. Replaces other auth settings.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_IO` (missing,
/// unreadable or empty file), `NATS_ERR_INVALID_ARGUMENT` (not a credentials file; the
/// message never contains its contents).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_credentials_file(
    opts: *mut nats_options,
    creds_path: *const c_char,
) -> nats_status {
    with_opts(opts, |o| {
        let path = str_arg(creds_path, "creds_path")?;
        // read_secret strips the final newline, which the creds format ends with.
        let text = read_secret(path, "credentials")? + "\n";
        check_credentials(&text, path)?;
        o.clear_auth();
        o.creds = Some(text);
        Ok(())
    })
}

/// As `nats_options_set_credentials_file`, with the `.creds` contents given as text (copied;
/// nats.c's `natsOptions_SetUserCredentialsFromMemory`): for credentials kept in a secrets
/// store. Replaces other auth settings. Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT` (not credentials; the message never
/// contains them).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_credentials(opts: *mut nats_options, creds: *const c_char) -> nats_status {
    with_opts(opts, |o| {
        let text = format!("{}\n", str_arg(creds, "creds")?.trim_end());
        check_credentials(&text, "the text")?;
        o.clear_auth();
        o.creds = Some(text);
        Ok(())
    })
}

/// Decentralized authentication with the user JWT and the NKey seed in two files (nats.c's
/// `natsOptions_SetUserCredentialsFromFiles`), both read now: `jwt_path` holds the user JWT
/// (alone, or in a `.creds` file), `seed_path` the user's seed (an `nk` seed file, or a
/// `.creds` file); with `seed_path` NULL both come from `jwt_path`, which must then be a
/// `.creds` file. Replaces other auth settings. Errors: `NATS_ERR_NULL_ARGUMENT` (opts,
/// jwt_path), `NATS_ERR_INVALID_UTF8`, `NATS_ERR_IO` (missing, unreadable or empty file),
/// `NATS_ERR_INVALID_ARGUMENT` (no JWT or no seed found; the message never contains them).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_credentials_files(
    opts: *mut nats_options,
    jwt_path: *const c_char,
    seed_path: *const c_char,
) -> nats_status {
    with_opts(opts, |o| {
        let jwt_file = str_arg(jwt_path, "jwt_path")?;
        let seed_file = opt_str_arg(seed_path, "seed_path")?.unwrap_or(jwt_file);
        let jwt_text = read_secret(jwt_file, "user JWT")?;
        let seed_text = read_secret(seed_file, "NKey seed")?;
        let text = creds_from_parts(&jwt_text, &seed_text)
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("{jwt_file} and {seed_file}: {}", e.detail)))?;
        check_credentials(&text, &format!("{jwt_file} and {seed_file}"))?;
        o.clear_auth();
        o.creds = Some(text);
        Ok(())
    })
}

/// Decentralized authentication with the user JWT `jwt` (copied) and a callback that signs
/// the server's nonce with the user's key — for keys kept in an HSM, agent or TPM; the seed
/// never enters this library. Replaces other auth settings. Errors:
/// `NATS_ERR_NULL_ARGUMENT` (opts, jwt, cb), `NATS_ERR_INVALID_UTF8`,
/// `NATS_ERR_INVALID_ARGUMENT` (not a JWT).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_user_jwt(
    opts: *mut nats_options,
    jwt: *const c_char,
    cb: nats_sign_callback,
    user_data: *mut c_void,
) -> nats_status {
    with_opts(opts, |o| {
        let j = str_arg(jwt, "jwt")?.trim();
        let f = cb.ok_or_else(|| null("cb"))?;
        if j.split('.').count() != 3 {
            return Err(Error::new(ErrorKind::InvalidArgument, "jwt: not a JWT (header.claims.signature)"));
        }
        o.clear_auth();
        o.jwt_signer = Some((j.to_string(), nonce_signer(hook(f, user_data))));
        Ok(())
    })
}

/// Token authentication with a token asked for before every connect and reconnect attempt
/// (nats.c's `natsOptions_SetTokenHandler`): for tokens that rotate. `cb(user_data)` returns
/// the token (see `nats_token_callback`); `cb` NULL removes the handler. `user_data` must stay
/// valid while any connection made with these options lives. Replaces other auth settings.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_token_handler(
    opts: *mut nats_options,
    cb: nats_token_callback,
    user_data: *mut c_void,
) -> nats_status {
    with_opts(opts, |o| {
        o.clear_auth();
        o.token_source = cb.map(|f| token_source(hook(f, user_data)));
        Ok(())
    })
}

/// kumo `name`: the client name the server shows (e.g. in `/connz`). NULL clears it.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (opts), `NATS_ERR_INVALID_UTF8`.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_name(opts: *mut nats_options, name: *const c_char) -> nats_status {
    with_opts(opts, |o| {
        o.name = opt_str_arg(name, "name")?.map(str::to_string);
        Ok(())
    })
}

/// Whether a lost connection is re-established (default true, as nats.c's
/// `natsOptions_SetAllowReconnect`). With false, losing the connection after it was
/// established closes it: the disconnected callback, then the closed callback, and every call
/// on it fails with `NATS_ERR_CONNECTION_CLOSED` (a daemon that wants to decide itself when
/// and where to reconnect). The initial connect still tries every server once.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_allow_reconnect(opts: *mut nats_options, allow: bool) -> nats_status {
    with_opts(opts, |o| {
        o.allow_reconnect = allow;
        Ok(())
    })
}

/// With true, requests waiting for a reply (`nats_request`, `nats_request_msg`,
/// `nats_request_async`) fail with `NATS_ERR_DISCONNECTED` as soon as the connection is lost,
/// instead of waiting through the reconnect until their timeout (nats.c's
/// `natsOptions_SetFailRequestsOnDisconnect`). Default false. JetStream calls are not
/// affected. Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_fail_requests_on_disconnect(
    opts: *mut nats_options,
    fail: bool,
) -> nats_status {
    with_opts(opts, |o| {
        o.fail_requests_on_disconnect = fail;
        Ok(())
    })
}

/// kumo `no_echo`: when true, the server does not deliver this connection's own publishes to
/// its own subscriptions. Default false.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_no_echo(opts: *mut nats_options, no_echo: bool) -> nats_status {
    with_opts(opts, |o| {
        o.no_echo = no_echo;
        Ok(())
    })
}

/// Runs this connection's callbacks (messages, events, async request replies, JetStream
/// publish acknowledgements, KV watch entries) on the library-wide delivery pool (see
/// `nats_ffi_set_delivery_pool_size`) instead of a thread per subscription, watch and
/// queue (the default, `use` false). Per-subscription order is kept: a subscription's
/// callbacks run one at a time, in order, each on some pool thread. A slow callback holds
/// its pool thread: with every pool thread in a slow (or blocked) callback, all other
/// callbacks of every pooled connection wait; a callback that waits for another pooled
/// callback (a drain, `nats_jetstream_publish_async_complete`) needs a free pool thread.
/// Replaces an earlier `nats_options_set_dispatcher` (true) or is replaced by a later one.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_use_shared_delivery(opts: *mut nats_options, use_pool: bool) -> nats_status {
    with_opts(opts, |o| {
        o.executor = if use_pool { Executor::Pool } else { Executor::Threads };
        Ok(())
    })
}

/// Queues every callback of this connection to dispatcher `d`, to run on the application's
/// thread inside `nats_dispatcher_dispatch` (see `nats_dispatcher`). The connection keeps a
/// reference to `d`. NULL: back to a thread per subscription (the default). Replaces an
/// earlier `nats_options_use_shared_delivery` or is replaced by a later one.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_dispatcher(opts: *mut nats_options, d: *mut nats_dispatcher) -> nats_status {
    with_opts(opts, |o| {
        o.executor = match d.is_null() {
            true => Executor::Threads,
            false => Executor::Dispatcher(clone_arc(d, "d")?),
        };
        Ok(())
    })
}

/// kumo `max_reconnects`: consecutive reconnect attempts before the client gives up and the
/// connection becomes closed (`nats_connection_status` gives `NATS_CONN_STATUS_CLOSED`,
/// calls fail with `NATS_ERR_CONNECTION_CLOSED`). 0 = unlimited (the default).
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_max_reconnects(opts: *mut nats_options, max: u32) -> nats_status {
    with_opts(opts, |o| {
        o.max_reconnects = max;
        Ok(())
    })
}

/// kumo `connection_timeout`: limit for establishing one connection (TCP, TLS, INFO/CONNECT
/// handshake) to one server. Default 5000 ms. Errors: `NATS_ERR_INVALID_ARGUMENT` for 0.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_connection_timeout_ms(opts: *mut nats_options, ms: u64) -> nats_status {
    with_opts(opts, |o| {
        o.connection_timeout = positive_ms(ms, "connection_timeout")?;
        Ok(())
    })
}

/// kumo `tls_required`: when true, connecting fails with `NATS_ERR_TLS` unless TLS is
/// established. Default false (TLS is still used when the server requires it or the URL is
/// `tls://`).
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_tls_required(opts: *mut nats_options, required: bool) -> nats_status {
    with_opts(opts, |o| {
        o.tls_required = required;
        Ok(())
    })
}

/// kumo `tls_first`: start the TLS handshake before reading the server's INFO. The server must
/// have `handshake_first: true` in its `tls` block. Implies TLS. Default false.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_tls_first(opts: *mut nats_options, tls_first: bool) -> nats_status {
    with_opts(opts, |o| {
        o.tls_first = tls_first;
        Ok(())
    })
}

/// kumo `certificate`: path of a PEM file of root (CA) certificates used to verify the server,
/// instead of the system roots. Checked readable now, and read again at each connect and
/// reconnect (a rotated file is picked up; sessions are not resumed). NULL clears it.
/// Errors: `NATS_ERR_IO` if the file cannot be opened, `NATS_ERR_INVALID_UTF8`.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_certificate(
    opts: *mut nats_options,
    ca_pem_path: *const c_char,
) -> nats_status {
    with_opts(opts, |o| {
        o.ca = match opt_str_arg(ca_pem_path, "ca_pem_path")? {
            Some(p) => Some(Pem::File(readable_file(p, "CA certificate file")?)),
            None => None,
        };
        Ok(())
    })
}

/// Verifies the server certificate against `name` instead of the host in the server URL
/// (e.g. connecting by IP address or through a tunnel to a server whose certificate names
/// `nats.internal`). NULL restores the default. Errors: `NATS_ERR_NULL_ARGUMENT` (opts),
/// `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT` (not a DNS name or IP address).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_tls_server_name(opts: *mut nats_options, name: *const c_char) -> nats_status {
    with_opts(opts, |o| {
        let n = opt_str_arg(name, "name")?;
        if let Some(n) = n {
            async_nats::rustls::pki_types::ServerName::try_from(n)
                .map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("invalid TLS server name {n:?}")))?;
        }
        o.tls_server_name = n.map(str::to_string);
        Ok(())
    })
}

/// INSECURE, for tests and debugging only: with `skip` true, any server certificate is
/// accepted — no CA, name or expiry check — so anyone on the path can impersonate the server
/// and read everything, credentials included. The connection is still encrypted. Default false.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_tls_insecure_skip_verify(opts: *mut nats_options, skip: bool) -> nats_status {
    with_opts(opts, |o| {
        o.tls_skip_verify = skip;
        Ok(())
    })
}

/// kumo `client_cert` + `client_key`: PEM paths of the client certificate (chain) and its
/// private key, presented when the server asks (mTLS). Both are required together, checked
/// readable now, and read again at each connect and reconnect (rotated files are picked up;
/// while a file is being rewritten, the last pair read whole is used). Errors: `NATS_ERR_NULL_ARGUMENT` (either path NULL: a certificate without its
/// key is an error), `NATS_ERR_IO`, `NATS_ERR_INVALID_UTF8`.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_client_cert(
    opts: *mut nats_options,
    cert_path: *const c_char,
    key_path: *const c_char,
) -> nats_status {
    with_opts(opts, |o| {
        let (cert, key) = (str_arg(cert_path, "cert_path")?, str_arg(key_path, "key_path")?);
        let c = readable_file(cert, "client certificate file")?;
        let k = readable_file(key, "client key file")?;
        o.client_cert = Some((Pem::File(c), Pem::File(k)));
        Ok(())
    })
}

/// As `nats_options_set_certificate`, with the CA certificate(s) given as PEM text (copied;
/// nats.c's `natsOptions_SetCATrustedCertificates`): for certificates kept in a secrets store
/// or embedded in a configuration. NULL clears it. Errors: `NATS_ERR_NULL_ARGUMENT` (opts),
/// `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT` (no PEM certificate in the text).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_ca_pem(opts: *mut nats_options, ca_pem: *const c_char) -> nats_status {
    with_opts(opts, |o| {
        o.ca = match opt_str_arg(ca_pem, "ca_pem")? {
            Some(text) => Some(certs_text(text, "CA certificates")?),
            None => None,
        };
        Ok(())
    })
}

/// As `nats_options_set_client_cert`, with the certificate (chain) and its private key given
/// as PEM text (copied; nats.c's `natsOptions_SetCertificatesChain`). Both are required and
/// checked now; an error never repeats the key. Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_ARGUMENT` (no certificate, or no private key, in
/// the text).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_client_cert_pem(
    opts: *mut nats_options,
    cert_pem: *const c_char,
    key_pem: *const c_char,
) -> nats_status {
    with_opts(opts, |o| {
        let (cert, key) = (str_arg(cert_pem, "cert_pem")?, str_arg(key_pem, "key_pem")?);
        o.client_cert = Some((certs_text(cert, "client certificate")?, key_text(key, "client key")?));
        Ok(())
    })
}

/// kumo `ping_interval`: how often the client sends PING to detect a dead connection.
/// Default 60000 ms. Errors: `NATS_ERR_INVALID_ARGUMENT` for 0.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_ping_interval_ms(opts: *mut nats_options, ms: u64) -> nats_status {
    with_opts(opts, |o| {
        o.ping_interval = positive_ms(ms, "ping_interval")?;
        Ok(())
    })
}

/// kumo `sender_capacity`: capacity of the queue of outgoing operations (flushes, async
/// requests, batches of publishes) between the library and the connection task. When it is
/// full, those operations wait (up to request_timeout, then `NATS_ERR_TIMEOUT`). Default 128. Errors: `NATS_ERR_INVALID_ARGUMENT` for 0 or more than
/// `NATS_MAX_QUEUE_CAPACITY`.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_sender_capacity(opts: *mut nats_options, capacity: usize) -> nats_status {
    with_opts(opts, |o| {
        check_capacity(capacity, "sender_capacity")?;
        o.sender_capacity = capacity;
        Ok(())
    })
}

/// kumo `inbox_prefix`: prefix of reply subjects made for requests (default `_INBOX`).
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_SUBJECT`
/// (empty, whitespace, empty token or wildcard).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_inbox_prefix(opts: *mut nats_options, prefix: *const c_char) -> nats_status {
    with_opts(opts, |o| {
        let p = str_arg(prefix, "prefix")?;
        check_subject(p, Wildcards::Refused, "inbox prefix")?;
        o.inbox_prefix = p.to_string();
        Ok(())
    })
}

/// kumo `request_timeout`: how long `nats_request` waits for a reply when called with
/// timeout 0, and how long publish/flush may wait on a full queue. Default 10000 ms.
/// Errors: `NATS_ERR_INVALID_ARGUMENT` for 0.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_request_timeout_ms(opts: *mut nats_options, ms: u64) -> nats_status {
    with_opts(opts, |o| {
        o.request_timeout = positive_ms(ms, "request_timeout")?;
        Ok(())
    })
}

/// kumo `retry_on_initial_connect`: when true, `nats_connect` returns at once with a
/// connection that keeps trying to reach a server in the background (status
/// `NATS_CONN_STATUS_CONNECTING`); publishes and subscriptions made meanwhile take effect once
/// connected. Default false: `nats_connect` fails if no server can be reached.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_retry_on_initial_connect(
    opts: *mut nats_options,
    retry: bool,
) -> nats_status {
    with_opts(opts, |o| {
        o.retry_on_initial_connect = retry;
        Ok(())
    })
}

/// kumo `ignore_discovered_servers`: when true, servers advertised by the cluster are not
/// added to the reconnect list; only the configured servers are used. Default false.
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_ignore_discovered_servers(
    opts: *mut nats_options,
    ignore: bool,
) -> nats_status {
    with_opts(opts, |o| {
        o.ignore_discovered_servers = ignore;
        Ok(())
    })
}

/// kumo `retain_servers_order`: when true, servers are tried in the order given instead of a
/// random order. Default false (randomized, which spreads clients across a cluster).
/// Errors: `NATS_ERR_NULL_ARGUMENT` when `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_retain_servers_order(opts: *mut nats_options, retain: bool) -> nats_status {
    with_opts(opts, |o| {
        o.retain_servers_order = retain;
        Ok(())
    })
}

/// Same as `nats_options_set_retain_servers_order` (the nats.c / nats.js name): true keeps the
/// server list in the given order instead of shuffling it.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_no_randomize(opts: *mut nats_options, no_randomize: bool) -> nats_status {
    // SAFETY: the caller's arguments, under the same contract.
    unsafe { nats_options_set_retain_servers_order(opts, no_randomize) }
}

/// Time to wait between reconnect attempts, after the first (immediate) one. Unset (the
/// default), the wait grows from 2 ms, doubling per failed attempt, up to 4 s; set, every
/// further attempt waits `ms` plus a random jitter (`nats_options_set_reconnect_jitter_ms`).
/// 0 is allowed (retry at once). Ignored when a reconnect delay callback is set.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_reconnect_wait_ms(opts: *mut nats_options, ms: u64) -> nats_status {
    with_opts(opts, |o| {
        o.reconnect_wait = Some(Duration::from_millis(ms));
        Ok(())
    })
}

/// Upper bounds of the random time added to the reconnect wait, for plain and for TLS
/// connections (defaults 100 ms and 1000 ms, as nats.c). Used only with
/// `nats_options_set_reconnect_wait_ms`. Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_reconnect_jitter_ms(
    opts: *mut nats_options,
    plain_ms: u64,
    tls_ms: u64,
) -> nats_status {
    with_opts(opts, |o| {
        o.reconnect_jitter = Duration::from_millis(plain_ms);
        o.reconnect_jitter_tls = Duration::from_millis(tls_ms);
        Ok(())
    })
}

/// How many PINGs may go unanswered before the connection counts as stale and is dropped and
/// re-established (default 2). PINGs are sent every ping_interval.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_ARGUMENT` for 0.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_max_pings_out(opts: *mut nats_options, max: u32) -> nats_status {
    with_opts(opts, |o| {
        if max == 0 {
            return Err(Error::new(ErrorKind::InvalidArgument, "max_pings_out must be at least 1"));
        }
        o.max_pings_out = max;
        Ok(())
    })
}

/// How many bytes of publishes (payload, subject, reply and headers) are kept while the
/// connection is down, to be sent in order once it is back (default 8 MiB). When it is full,
/// publishes fail with `NATS_ERR_BUFFER_FULL` until reconnected. 0: none (publishes fail at
/// once while the connection is down). While connected, whatever the size, at most 1 MiB
/// waits to be sent; beyond that a publish waits for room (at most request_timeout), so a
/// publisher faster than the socket holds little memory.
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_reconnect_buffer_size(opts: *mut nats_options, bytes: usize) -> nats_status {
    with_opts(opts, |o| {
        o.reconnect_buffer_size = bytes;
        Ok(())
    })
}

/// Called once, when the connection is first established (right after `nats_connect`
/// returns, or later with retry_on_initial_connect).
/// `cb` NULL removes the callback. `user_data` is passed back as is; it must stay valid
/// while connections made with these options live. Errors: `NATS_ERR_NULL_ARGUMENT` (opts).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_connected_cb(
    opts: *mut nats_options,
    cb: nats_connection_callback,
    user_data: *mut c_void,
) -> nats_status {
    set_hook(opts, |h| h.connected = cb.map(|f| hook(f, user_data)))
}

/// Called each time the connection to the server is lost.
/// `cb` NULL removes the callback. `user_data` is passed back as is; it must stay valid
/// while connections made with these options live. Errors: `NATS_ERR_NULL_ARGUMENT` (opts).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_disconnected_cb(
    opts: *mut nats_options,
    cb: nats_connection_callback,
    user_data: *mut c_void,
) -> nats_status {
    set_hook(opts, |h| h.disconnected = cb.map(|f| hook(f, user_data)))
}

/// Called each time the connection is re-established after a loss; subscriptions have
/// been re-sent and buffered publishes follow.
/// `cb` NULL removes the callback. `user_data` is passed back as is; it must stay valid
/// while connections made with these options live. Errors: `NATS_ERR_NULL_ARGUMENT` (opts).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_reconnected_cb(
    opts: *mut nats_options,
    cb: nats_connection_callback,
    user_data: *mut c_void,
) -> nats_status {
    set_hook(opts, |h| h.reconnected = cb.map(|f| hook(f, user_data)))
}

/// Called once when the connection is closed for good (`nats_connection_close`, drain,
/// free, or max_reconnects failed attempts). The last callback of a connection.
/// `cb` NULL removes the callback. `user_data` is passed back as is; it must stay valid
/// while connections made with these options live. Errors: `NATS_ERR_NULL_ARGUMENT` (opts).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_closed_cb(
    opts: *mut nats_options,
    cb: nats_connection_callback,
    user_data: *mut c_void,
) -> nats_status {
    set_hook(opts, |h| h.closed = cb.map(|f| hook(f, user_data)))
}

/// Called when the server announces lame-duck mode (it is about to shut down; the client
/// will move to another server when it goes).
/// `cb` NULL removes the callback. `user_data` is passed back as is; it must stay valid
/// while connections made with these options live. Errors: `NATS_ERR_NULL_ARGUMENT` (opts).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_lame_duck_cb(
    opts: *mut nats_options,
    cb: nats_connection_callback,
    user_data: *mut c_void,
) -> nats_status {
    set_hook(opts, |h| h.lame_duck = cb.map(|f| hook(f, user_data)))
}

/// Called when the client learned cluster members not known before (listed by
/// `nats_server_info_discovered_servers`). The client learns them from the server's INFO
/// when it connects or reconnects; checked every 250 ms.
/// `cb` NULL removes the callback. `user_data` is passed back as is; it must stay valid
/// while connections made with these options live. Errors: `NATS_ERR_NULL_ARGUMENT` (opts).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_discovered_servers_cb(
    opts: *mut nats_options,
    cb: nats_connection_callback,
    user_data: *mut c_void,
) -> nats_status {
    set_hook(opts, |h| h.discovered_servers = cb.map(|f| hook(f, user_data)))
}

/// Sets the asynchronous error callback (slow consumer, permission violation, other server
/// errors, publishes lost at close); see `nats_error_callback`. `cb` NULL removes it.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (opts).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_error_cb(
    opts: *mut nats_options,
    cb: nats_error_callback,
    user_data: *mut c_void,
) -> nats_status {
    set_hook(opts, |h| h.error = cb.map(|f| hook(f, user_data)))
}

/// Sets a callback deciding the wait before each reconnect attempt (see
/// `nats_reconnect_delay_callback`); it replaces reconnect_wait and jitter. `cb` NULL removes
/// it. Errors: `NATS_ERR_NULL_ARGUMENT` (opts).
#[no_mangle]
pub unsafe extern "C" fn nats_options_set_reconnect_delay_cb(
    opts: *mut nats_options,
    cb: nats_reconnect_delay_callback,
    user_data: *mut c_void,
) -> nats_status {
    with_opts(opts, |o| {
        o.reconnect_delay = cb.map(|f| reconnect_delay(hook(f, user_data)));
        Ok(())
    })
}
