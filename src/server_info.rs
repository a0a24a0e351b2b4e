//! `nats_server_info_*`: what the server said about itself and about this client.

use crate::capi::args::*;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::status::*;
use crate::client::error::*;
use crate::client::runtime;
use crate::connection::nats_connection;
use std::ffi::{c_char, CString};

/// A snapshot of the server's INFO and of the server pool, taken by
/// `nats_connection_server_info`; freed with `nats_server_info_free`. Immutable: safe to read
/// from any thread. Strings returned by its accessors live as long as the snapshot.
///
/// Functions: `nats_connection_server_info`, `nats_server_info_free`, `nats_server_info_id`,
/// `nats_server_info_name`, `nats_server_info_version`, `nats_server_info_host`,
/// `nats_server_info_connected_url`, `nats_server_info_client_ip`, `nats_server_info_cluster`,
/// `nats_server_info_port`, `nats_server_info_max_payload`, `nats_server_info_client_id`,
/// `nats_server_info_jetstream`, `nats_server_info_headers`, `nats_server_info_lame_duck`,
/// `nats_server_info_discovered_servers`, `nats_server_info_servers`.
pub struct nats_server_info {
    id: CString,
    name: CString,
    version: CString,
    host: CString,
    port: u16,
    max_payload: u64,
    client_id: u64,
    client_ip: CString,
    connected_url: CString,
    jetstream: bool,
    headers: bool,
    lame_duck: bool,
    cluster: CString,
    /// Owns the strings `discovered_ptrs` points to.
    #[allow(dead_code)]
    discovered: Vec<CString>,
    discovered_ptrs: Vec<*const c_char>,
    /// Owns the strings `servers_ptrs` points to.
    #[allow(dead_code)]
    servers: Vec<CString>,
    servers_ptrs: Vec<*const c_char>,
}

// C owns a `nats_server_info` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_server_info {
    type Rust = nats_server_info;
}
impl BoxHandle for nats_server_info {}
// SAFETY: the raw pointers point into CStrings owned by the same immutable snapshot.
unsafe impl Send for nats_server_info {}
unsafe impl Sync for nats_server_info {}

fn cs(s: impl Into<Vec<u8>>) -> CString {
    let mut v: Vec<u8> = s.into();
    v.retain(|b| *b != 0);
    CString::new(v).unwrap_or_default()
}

impl nats_server_info {
    fn take(conn: &nats_connection) -> Result<Self> {
        conn.check_open()?;
        let info = conn.client.server_info();
        let pool = runtime::block_on_timeout(
            &conn.handle,
            "nats_connection_server_info",
            conn.request_timeout,
            conn.client.server_pool(),
        )?
        .map_err(|e| Error::new(ErrorKind::ConnectionClosed, format!("server pool: {e}")))?;
        let url = |s: &async_nats::Server| -> String {
            let a = &s.addr;
            let scheme = if a.tls_required() { "tls" } else { "nats" };
            format!("{scheme}://{}:{}", a.host(), a.port())
        };
        // The server we are on: the pool entry we connected to whose port is the one the
        // server reports (async-nats does not expose the current address directly).
        let connected = pool
            .iter()
            .filter(|s| s.did_connect && s.failed_attempts == 0)
            .find(|s| s.addr.port() == info.port)
            .map(url)
            .unwrap_or_else(
                || if info.port == 0 { String::new() } else { format!("nats://{}:{}", info.host, info.port) },
            );
        let servers: Vec<CString> = pool.iter().map(|s| cs(url(s))).collect();
        let discovered: Vec<CString> = pool.iter().filter(|s| s.is_discovered).map(|s| cs(url(s))).collect();
        Ok(nats_server_info {
            id: cs(info.server_id),
            name: cs(info.server_name),
            version: cs(info.version),
            host: cs(info.host),
            port: info.port,
            max_payload: info.max_payload as u64,
            client_id: info.client_id,
            client_ip: cs(info.client_ip),
            connected_url: cs(connected),
            jetstream: info.jetstream,
            headers: info.headers,
            lame_duck: info.lame_duck_mode,
            cluster: cs(info.cluster.unwrap_or_default()),
            discovered_ptrs: discovered.iter().map(|c| c.as_ptr()).collect(),
            discovered,
            servers_ptrs: servers.iter().map(|c| c.as_ptr()).collect(),
            servers,
        })
    }
}

/// Takes a snapshot of what the current server announced (id, name, version, JetStream, ...)
/// and of the known servers, and writes it to `*info` (free with `nats_server_info_free`).
/// Blocks briefly (at most request_timeout). Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_TIMEOUT`, `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_server_info(
    conn: *mut nats_connection,
    info: *mut *mut nats_server_info,
) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        out_arg(info, "info")?;
        let snap = nats_server_info::take(c)?;
        box_out(info, snap);
        Ok(())
    })
}

/// Frees a snapshot. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_free(info: *mut nats_server_info) {
    guard_void(|| {
        free_box(info);
    })
}

/// The server's unique id.
/// Borrowed from the snapshot; "" for NULL or when the server did not say.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_id(info: *const nats_server_info) -> *const c_char {
    guard_value(c"".as_ptr(), || info.as_ref().map_or(c"".as_ptr(), |i| i.id.as_ptr()))
}

/// The server's name (its id unless configured).
/// Borrowed from the snapshot; "" for NULL or when the server did not say.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_name(info: *const nats_server_info) -> *const c_char {
    guard_value(c"".as_ptr(), || info.as_ref().map_or(c"".as_ptr(), |i| i.name.as_ptr()))
}

/// The nats-server version, e.g. "2.10.22".
/// Borrowed from the snapshot; "" for NULL or when the server did not say.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_version(info: *const nats_server_info) -> *const c_char {
    guard_value(c"".as_ptr(), || info.as_ref().map_or(c"".as_ptr(), |i| i.version.as_ptr()))
}

/// The host the server listens on, as it reports it (may be "0.0.0.0").
/// Borrowed from the snapshot; "" for NULL or when the server did not say.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_host(info: *const nats_server_info) -> *const c_char {
    guard_value(c"".as_ptr(), || info.as_ref().map_or(c"".as_ptr(), |i| i.host.as_ptr()))
}

/// The URL of the server this connection is on, e.g. "nats://127.0.0.1:4222".
/// Borrowed from the snapshot; "" for NULL or when the server did not say.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_connected_url(info: *const nats_server_info) -> *const c_char {
    guard_value(c"".as_ptr(), || info.as_ref().map_or(c"".as_ptr(), |i| i.connected_url.as_ptr()))
}

/// This client's IP address as the server sees it.
/// Borrowed from the snapshot; "" for NULL or when the server did not say.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_client_ip(info: *const nats_server_info) -> *const c_char {
    guard_value(c"".as_ptr(), || info.as_ref().map_or(c"".as_ptr(), |i| i.client_ip.as_ptr()))
}

/// The server's cluster name; "" when not clustered.
/// Borrowed from the snapshot; "" for NULL or when the server did not say.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_cluster(info: *const nats_server_info) -> *const c_char {
    guard_value(c"".as_ptr(), || info.as_ref().map_or(c"".as_ptr(), |i| i.cluster.as_ptr()))
}

/// The port the server listens on; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_port(info: *const nats_server_info) -> u16 {
    guard_value(Default::default(), || info.as_ref().map_or(Default::default(), |i| i.port))
}

/// The largest payload the server accepts; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_max_payload(info: *const nats_server_info) -> u64 {
    guard_value(Default::default(), || info.as_ref().map_or(Default::default(), |i| i.max_payload))
}

/// The id the server gave this client connection; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_client_id(info: *const nats_server_info) -> u64 {
    guard_value(Default::default(), || info.as_ref().map_or(Default::default(), |i| i.client_id))
}

/// True when the server has JetStream enabled.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_jetstream(info: *const nats_server_info) -> bool {
    guard_value(Default::default(), || info.as_ref().map_or(Default::default(), |i| i.jetstream))
}

/// True when the server supports headers (every server since 2.2).
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_headers(info: *const nats_server_info) -> bool {
    guard_value(Default::default(), || info.as_ref().map_or(Default::default(), |i| i.headers))
}

/// True when the server announced lame-duck mode.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_lame_duck(info: *const nats_server_info) -> bool {
    guard_value(Default::default(), || info.as_ref().map_or(Default::default(), |i| i.lame_duck))
}

unsafe fn list_out(list: &[*const c_char], urls: *mut *const *const c_char, count: *mut usize) -> Result<()> {
    out_arg(urls, "urls")?;
    out_arg(count, "count")?;
    write_out(urls, if list.is_empty() { std::ptr::null() } else { list.as_ptr() });
    write_out(count, list.len());
    Ok(())
}

/// Writes the servers the client learned from the cluster (not given in the options) to
/// `*urls` (an array of `*count` URLs borrowed from the snapshot; NULL and 0 when none).
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_discovered_servers(
    info: *const nats_server_info,
    urls: *mut *const *const c_char,
    count: *mut usize,
) -> nats_status {
    guard(|| list_out(&borrow(info, "info")?.discovered_ptrs, urls, count))
}

/// Like `nats_server_info_discovered_servers`, for every server in the pool: those given in
/// the options and those discovered.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_servers(
    info: *const nats_server_info,
    urls: *mut *const *const c_char,
    count: *mut usize,
) -> nats_status {
    guard(|| list_out(&borrow(info, "info")?.servers_ptrs, urls, count))
}
