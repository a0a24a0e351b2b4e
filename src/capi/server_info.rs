//! `nats_server_info_*`: what the server said about itself and about this client.

use crate::capi::args::*;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::status::*;
use crate::client::connection::ServerSnapshot;
use crate::client::error::*;
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
    _private: [u8; 0],
}

// C owns a `nats_server_info` with one owner: created and freed through a Box (see capi::handle).
impl Castable for nats_server_info {
    type Rust = CServerInfo;
}
impl BoxHandle for nats_server_info {}

/// A server snapshot with its strings NUL-terminated for C.
pub(crate) struct CServerInfo {
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

// SAFETY: the raw pointers point into CStrings owned by the same immutable snapshot.
unsafe impl Send for CServerInfo {}
unsafe impl Sync for CServerInfo {}

fn cs(s: impl Into<Vec<u8>>) -> CString {
    let mut v: Vec<u8> = s.into();
    v.retain(|b| *b != 0);
    CString::new(v).unwrap_or_default()
}

impl From<ServerSnapshot> for CServerInfo {
    fn from(s: ServerSnapshot) -> Self {
        let info = s.info;
        let servers: Vec<CString> = s.servers.into_iter().map(cs).collect();
        let discovered: Vec<CString> = s.discovered.into_iter().map(cs).collect();
        CServerInfo {
            id: cs(info.server_id),
            name: cs(info.server_name),
            version: cs(info.version),
            host: cs(info.host),
            port: info.port,
            max_payload: info.max_payload as u64,
            client_id: info.client_id,
            client_ip: cs(info.client_ip),
            connected_url: cs(s.connected_url),
            jetstream: info.jetstream,
            headers: info.headers,
            lame_duck: info.lame_duck_mode,
            cluster: cs(info.cluster.unwrap_or_default()),
            discovered_ptrs: discovered.iter().map(|c| c.as_ptr()).collect(),
            discovered,
            servers_ptrs: servers.iter().map(|c| c.as_ptr()).collect(),
            servers,
        }
    }
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
    read_or(info, c"".as_ptr(), |i| i.id.as_ptr())
}

/// The server's name (its id unless configured).
/// Borrowed from the snapshot; "" for NULL or when the server did not say.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_name(info: *const nats_server_info) -> *const c_char {
    read_or(info, c"".as_ptr(), |i| i.name.as_ptr())
}

/// The nats-server version, e.g. "2.10.22".
/// Borrowed from the snapshot; "" for NULL or when the server did not say.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_version(info: *const nats_server_info) -> *const c_char {
    read_or(info, c"".as_ptr(), |i| i.version.as_ptr())
}

/// The host the server listens on, as it reports it (may be "0.0.0.0").
/// Borrowed from the snapshot; "" for NULL or when the server did not say.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_host(info: *const nats_server_info) -> *const c_char {
    read_or(info, c"".as_ptr(), |i| i.host.as_ptr())
}

/// The URL of the server this connection is on, e.g. "nats://127.0.0.1:4222".
/// Borrowed from the snapshot; "" for NULL or when the server did not say.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_connected_url(info: *const nats_server_info) -> *const c_char {
    read_or(info, c"".as_ptr(), |i| i.connected_url.as_ptr())
}

/// This client's IP address as the server sees it.
/// Borrowed from the snapshot; "" for NULL or when the server did not say.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_client_ip(info: *const nats_server_info) -> *const c_char {
    read_or(info, c"".as_ptr(), |i| i.client_ip.as_ptr())
}

/// The server's cluster name; "" when not clustered.
/// Borrowed from the snapshot; "" for NULL or when the server did not say.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_cluster(info: *const nats_server_info) -> *const c_char {
    read_or(info, c"".as_ptr(), |i| i.cluster.as_ptr())
}

/// The port the server listens on; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_port(info: *const nats_server_info) -> u16 {
    read(info, |i| i.port)
}

/// The largest payload the server accepts; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_max_payload(info: *const nats_server_info) -> u64 {
    read(info, |i| i.max_payload)
}

/// The id the server gave this client connection; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_client_id(info: *const nats_server_info) -> u64 {
    read(info, |i| i.client_id)
}

/// True when the server has JetStream enabled.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_jetstream(info: *const nats_server_info) -> bool {
    read(info, |i| i.jetstream)
}

/// True when the server supports headers (every server since 2.2).
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_headers(info: *const nats_server_info) -> bool {
    read(info, |i| i.headers)
}

/// True when the server announced lame-duck mode.
#[no_mangle]
pub unsafe extern "C" fn nats_server_info_lame_duck(info: *const nats_server_info) -> bool {
    read(info, |i| i.lame_duck)
}

fn list_out(list: &[*const c_char], urls: *mut *const *const c_char, count: *mut usize) -> Result<()> {
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
