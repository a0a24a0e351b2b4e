//! `nats_connect*`, `nats_publish*`, `nats_request*`, `nats_connection_*`.

use crate::capi::args::*;
use crate::capi::events::hook;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::msg::{borrowed_msg, nats_msg, CMsg};
use crate::capi::options::nats_options;
use crate::capi::server_info::{nats_server_info, CServerInfo};
use crate::capi::status::*;
use crate::client::connection::{Connection, ReplyHandler, State, Statistics};
use crate::client::error::*;
use crate::client::options::{parse_servers, Options};
use crate::client::runtime;
use bytes::Bytes;
use std::ffi::{c_char, c_void, CString};
use std::time::Duration;

/// A connection to a NATS server (cluster). Created by `nats_connect` / `nats_connect_url`,
/// released with `nats_connection_free`. Thread safe: every function taking a connection may
/// be called from any number of threads at once, including from message and event callbacks.
///
/// Functions: `nats_connect`, `nats_connect_url`, `nats_publish`, `nats_publish_with_reply`,
/// `nats_publish_msg`, `nats_connection_flush`, `nats_request`, `nats_request_msg`,
/// `nats_request_async`, `nats_msg_respond`, `nats_connection_status`, `nats_connection_name`,
/// `nats_connection_sign`, `nats_connection_local_address`,
/// `nats_connection_is_closed`,
/// `nats_connection_stats`, `nats_connection_rtt`, `nats_connection_reconnect`,
/// `nats_connection_new_inbox`, `nats_connection_max_payload`, `nats_connection_buffered`,
/// `nats_connection_drain`, `nats_connection_close`, `nats_connection_free`, `nats_jetstream_new`,
/// `nats_connection_server_info`, `nats_subscribe`, `nats_queue_subscribe`, `nats_subscribe_ex`,
/// `nats_subscribe_sync`, `nats_queue_subscribe_sync`, `nats_service_add`.
pub struct nats_connection {
    _private: [u8; 0],
}

// C shares a `nats_connection`: C holds one strong reference (see capi::handle).
impl Castable for nats_connection {
    type Rust = Connection;
}
impl ArcHandle for nats_connection {}

/// Where a connection is in its life, from `nats_connection_status`.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nats_conn_status {
    /// Not connected yet (retry_on_initial_connect still trying).
    NATS_CONN_STATUS_CONNECTING = 0,
    /// Connected to a server.
    NATS_CONN_STATUS_CONNECTED = 1,
    /// The connection was lost and the client is trying to reconnect; publishes are buffered.
    NATS_CONN_STATUS_RECONNECTING = 2,
    /// Being closed: subscriptions are drained and pending data flushed.
    NATS_CONN_STATUS_DRAINING = 3,
    /// Closed, by the user or after max_reconnects failed attempts. Terminal.
    NATS_CONN_STATUS_CLOSED = 4,
}

/// Statistics of a connection, from `nats_connection_stats`. Counts are exact: every message
/// published (including requests and replies sent) and every message received (by
/// subscriptions, including those later dropped as slow consumer, and replies to requests).
/// Bytes are payload bytes. Internal traffic (PING, flush and RTT probes) is not counted.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct nats_statistics {
    /// Messages received.
    pub in_msgs: u64,
    /// Payload bytes received.
    pub in_bytes: u64,
    /// Messages published.
    pub out_msgs: u64,
    /// Payload bytes published.
    pub out_bytes: u64,
    /// Times the connection was re-established after a loss.
    pub reconnects: u64,
}

/// Reply callback of `nats_request_async`: `user_data`, `NATS_OK` with the reply, or an error
/// status (`NATS_ERR_TIMEOUT`, `NATS_ERR_NO_RESPONDERS`, `NATS_ERR_CONNECTION_CLOSED`,
/// `NATS_ERR_DISCONNECTED` with `nats_options_set_fail_requests_on_disconnect`, ...)
/// with `reply` NULL; `nats_last_error()` explains it inside the callback. `reply` is
/// borrowed until the callback returns (`nats_msg_clone` keeps it). Runs on the connection's
/// reply lane (a thread of its own, the shared pool or the dispatcher: see `nats_dispatcher`),
/// one call at a time; it may call
/// any function of the library.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_reply_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, status: nats_status, reply: *const nats_msg)>;

impl From<State> for nats_conn_status {
    fn from(state: State) -> Self {
        use nats_conn_status::*;
        match state {
            State::Connecting => NATS_CONN_STATUS_CONNECTING,
            State::Connected => NATS_CONN_STATUS_CONNECTED,
            State::Reconnecting => NATS_CONN_STATUS_RECONNECTING,
            State::Draining => NATS_CONN_STATUS_DRAINING,
            State::Closed => NATS_CONN_STATUS_CLOSED,
        }
    }
}

impl Fallback for nats_conn_status {
    fn fallback() -> Self {
        nats_conn_status::NATS_CONN_STATUS_CLOSED
    }
}

impl From<Statistics> for nats_statistics {
    fn from(s: Statistics) -> Self {
        nats_statistics {
            in_msgs: s.in_msgs,
            in_bytes: s.in_bytes,
            out_msgs: s.out_msgs,
            out_bytes: s.out_bytes,
            reconnects: s.reconnects,
        }
    }
}

type ReplyFn = unsafe extern "C" fn(*mut c_void, nats_status, *const nats_msg);

/// The reply handler calling a `nats_reply_callback`.
fn reply_handler(f: ReplyFn, user_data: *mut c_void) -> ReplyHandler {
    let hook = hook(f, user_data);
    Box::new(move |result| {
        let reply = result.map(CMsg::from);
        let (status, msg) = match &reply {
            Ok(m) => (NATS_OK, borrowed_msg(m)),
            Err(e) => (record(e.clone()), std::ptr::null()),
        };
        // SAFETY: the user's callback with the user's pointer; `msg` lives until `reply` is
        // dropped after the call.
        unsafe { (hook.f())(hook.user_data(), status, msg) };
    })
}

/// Connects using `opts` (copied: the options may be freed right after). Blocks the calling
/// thread until connected or failed, at most about connection_timeout per server tried
/// (unless retry_on_initial_connect is set, in which case it returns at once).
/// On success writes a new handle to `*out`, released with `nats_connection_free`.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_CONNECTION_FAILED` (refused / unreachable /
/// DNS), `NATS_ERR_TIMEOUT` (no handshake within connection_timeout), `NATS_ERR_AUTH`,
/// `NATS_ERR_TLS`, `NATS_ERR_WOULD_BLOCK_RUNTIME`. `nats_last_error()` names the servers
/// tried (credentials redacted) and the cause.
#[no_mangle]
pub unsafe extern "C" fn nats_connect(opts: *const nats_options, out: *mut *mut nats_connection) -> nats_status {
    guard(|| {
        let o = borrow(opts, "opts")?;
        out_arg(out, "out")?;
        let conn = Connection::connect(&o.settings)?;
        arc_out(out, conn);
        Ok(())
    })
}

/// Connects with default options to `urls`: one URL or a comma-separated list
/// (`"nats://a:4222,nats://b:4222"`). Otherwise as `nats_connect`; additionally
/// `NATS_ERR_INVALID_ARGUMENT` for an empty or unparsable URL, `NATS_ERR_INVALID_UTF8`.
#[no_mangle]
pub unsafe extern "C" fn nats_connect_url(urls: *const c_char, out: *mut *mut nats_connection) -> nats_status {
    guard(|| {
        let urls = str_arg(urls, "urls")?;
        out_arg(out, "out")?;
        let opts = Options { servers: parse_servers(urls.split(','))?, ..Default::default() };
        let conn = Connection::connect(&opts)?;
        arc_out(out, conn);
        Ok(())
    })
}

/// Publishes `len` bytes at `data` (NULL allowed when len is 0; copied before return) to
/// `subject`. Returns once the message is queued for sending, normally without blocking.
/// While the connection is down, messages are kept in the reconnect buffer (default 8 MiB)
/// and sent in order once it is back; when that is full, `NATS_ERR_BUFFER_FULL`. While
/// connected, a publish waits only when 1 MiB of publishes already waits to be sent (the
/// socket is slower than the publisher), at most request_timeout. Use
/// `nats_connection_flush` to know the server has it. A message published after a pause,
/// when nothing else waits to be sent, is written to the socket on the calling thread (one
/// non-blocking send, as nats.c's SendAsap; plain TCP only, not TLS): the lowest latency for
/// replies and occasional events. Messages in quick succession are batched and written by
/// the library's I/O thread; a stream of small messages (frames under 640 bytes on average)
/// faster than that is written by the publishing thread itself, 32 KiB at a time, waiting
/// for the socket (at most 100 ms, then the I/O thread takes over), as nats.c's publisher
/// does: one thread instead of hand-overs between three.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_SUBJECT`
/// (empty, whitespace, empty token, wildcard), `NATS_ERR_MAX_PAYLOAD`, `NATS_ERR_BUFFER_FULL`,
/// `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_TIMEOUT`, `NATS_ERR_WOULD_BLOCK_RUNTIME` (only
/// when it would have to wait).
#[no_mangle]
pub unsafe extern "C" fn nats_publish(
    conn: *mut nats_connection,
    subject: *const c_char,
    data: *const c_void,
    len: usize,
) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        c.publish(str_arg(subject, "subject")?, None, bytes_arg(data, len, "data")?)
    })
}

/// As `nats_publish`, with a reply subject for the receiver to answer to.
/// Errors: as `nats_publish`; `NATS_ERR_INVALID_SUBJECT` also for a bad `reply`.
#[no_mangle]
pub unsafe extern "C" fn nats_publish_with_reply(
    conn: *mut nats_connection,
    subject: *const c_char,
    reply: *const c_char,
    data: *const c_void,
    len: usize,
) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        let s = str_arg(subject, "subject")?;
        let r = str_arg(reply, "reply")?;
        c.publish(s, Some(r), bytes_arg(data, len, "data")?)
    })
}

/// Publishes a message built with `nats_msg_new` (subject, optional reply, headers, payload)
/// or received (re-published as is). `msg` stays owned by the caller and unchanged.
/// Errors: as `nats_publish`.
#[no_mangle]
pub unsafe extern "C" fn nats_publish_msg(conn: *mut nats_connection, msg: *const nats_msg) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        c.publish_msg(&borrow(msg, "msg")?.msg)
    })
}

/// Sends everything queued so far and waits for the server's answer: when it returns OK, the
/// server has processed every earlier publish and subscribe from this connection.
/// `timeout_ms` 0 means request_timeout. Errors: `NATS_ERR_TIMEOUT`,
/// `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_flush(conn: *mut nats_connection, timeout_ms: u64) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        c.flush(ms_or_default(timeout_ms, c.request_timeout))
    })
}

/// Sends a request and waits for the first reply. `timeout_ms` 0 means the connection's
/// request_timeout (default 10000 ms). On success writes the reply to `*reply`, owned by the
/// caller (`nats_msg_free`). Blocks the calling thread (allowed in message callbacks).
/// Errors: `NATS_ERR_TIMEOUT`, `NATS_ERR_NO_RESPONDERS` (nobody subscribed to `subject`),
/// `NATS_ERR_INVALID_SUBJECT`, `NATS_ERR_MAX_PAYLOAD`, `NATS_ERR_CONNECTION_CLOSED`,
/// `NATS_ERR_DISCONNECTED` (the connection was lost while waiting, with
/// `nats_options_set_fail_requests_on_disconnect`), `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_UTF8`, `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_request(
    conn: *mut nats_connection,
    subject: *const c_char,
    data: *const c_void,
    len: usize,
    timeout_ms: u64,
    reply: *mut *mut nats_msg,
) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        let s = str_arg(subject, "subject")?;
        let d = bytes_arg(data, len, "data")?;
        out_arg(reply, "reply")?;
        let m = c.request(s, None, Bytes::copy_from_slice(d), ms_or_default(timeout_ms, c.request_timeout))?;
        box_out(reply, CMsg::from(m));
        Ok(())
    })
}

/// As `nats_request`, sending `msg` (built with `nats_msg_new`): its subject, headers and
/// payload (its reply subject is ignored: the library uses its own inbox). Errors: as
/// `nats_request`.
#[no_mangle]
pub unsafe extern "C" fn nats_request_msg(
    conn: *mut nats_connection,
    msg: *const nats_msg,
    timeout_ms: u64,
    reply: *mut *mut nats_msg,
) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        let m = borrow(msg, "msg")?;
        out_arg(reply, "reply")?;
        let i = &m.msg.inner;
        let r = c.request(
            i.subject.as_str(),
            i.headers.clone(),
            i.payload.clone(),
            ms_or_default(timeout_ms, c.request_timeout),
        )?;
        box_out(reply, CMsg::from(r));
        Ok(())
    })
}

/// Sends a request without waiting: `cb(user_data, status, reply)` is called once, with the
/// first reply or the failure (see `nats_reply_callback`), on the connection's reply lane.
/// Any number of requests may be in flight. `timeout_ms` 0 means request_timeout. The
/// request is published before this returns, in order with the caller's other publishes
/// (after a pause, on the calling thread, as `nats_publish`); when the publish buffer is
/// full it is sent from the library's I/O thread instead, as soon as there is room.
/// `user_data` must stay valid until the callback ran. Errors (returned, and then the
/// callback is not called): `NATS_ERR_NULL_ARGUMENT` (conn, subject, cb),
/// `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_SUBJECT`, `NATS_ERR_MAX_PAYLOAD`,
/// `NATS_ERR_CONNECTION_CLOSED`. Never blocks; may be called from any thread.
#[no_mangle]
pub unsafe extern "C" fn nats_request_async(
    conn: *mut nats_connection,
    subject: *const c_char,
    data: *const c_void,
    len: usize,
    timeout_ms: u64,
    cb: nats_reply_callback,
    user_data: *mut c_void,
) -> nats_status {
    guard(|| {
        borrow(conn, "conn")?;
        let s = str_arg(subject, "subject")?;
        let d = bytes_arg(data, len, "data")?;
        let f = cb.ok_or_else(|| null("cb"))?;
        let c = clone_arc(conn, "conn")?;
        let t = ms_or_default(timeout_ms, c.request_timeout);
        c.request_async(s, Bytes::copy_from_slice(d), t, reply_handler(f, user_data))
    })
}

/// The connection's current status; `NATS_CONN_STATUS_CLOSED` for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_status(conn: *const nats_connection) -> nats_conn_status {
    read(conn, |c| c.state().into())
}

/// True when the connection is closed or closing (drain started); true for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_is_closed(conn: *const nats_connection) -> bool {
    guard_value_or(true, || borrow_opt(conn).is_none_or(|c| c.is_closed()))
}

/// Writes the connection's statistics to `*stats` (see `nats_statistics`).
/// Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_stats(
    conn: *const nats_connection,
    stats: *mut nats_statistics,
) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        out_arg(stats, "stats")?;
        write_out(stats, c.statistics().into());
        Ok(())
    })
}

/// Measures a round trip to the server (a PING answered by its PONG), writing it in microseconds to
/// `*rtt_us`. Blocks at most request_timeout. Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_TIMEOUT`, `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_rtt(conn: *mut nats_connection, rtt_us: *mut u64) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        out_arg(rtt_us, "rtt_us")?;
        let d = c.rtt()?;
        write_out(rtt_us, d.as_micros().try_into().unwrap_or(u64::MAX));
        Ok(())
    })
}

/// Drops the current server connection and reconnects (to the next server of the pool), as
/// after a network failure: disconnected and reconnected events fire, subscriptions are
/// restored, publishes meanwhile are buffered. Returns at once.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_INVALID_ARGUMENT`
/// (reconnection is off: `nats_options_set_allow_reconnect`).
#[no_mangle]
pub unsafe extern "C" fn nats_connection_reconnect(conn: *mut nats_connection) -> nats_status {
    guard(|| borrow(conn, "conn")?.reconnect())
}

/// Signs `len` bytes at `data` with the NKey the connection authenticates with (its NKey
/// seed, or the seed in its credentials), writing the 64-byte Ed25519 signature to `sig`
/// (`NATS_NKEY_SIGNATURE_LEN` bytes; nats.c's `natsConnection_Sign`). Errors:
/// `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_ARGUMENT` (the connection has no NKey: user and
/// password, token or no authentication).
#[no_mangle]
pub unsafe extern "C" fn nats_connection_sign(
    conn: *mut nats_connection,
    data: *const c_void,
    len: usize,
    sig: *mut u8,
) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        let data = bytes_arg(data, len, "data")?;
        out_arg(sig, "sig")?;
        let signature = c.sign(data)?;
        // C's contract: `sig` has room for NATS_NKEY_SIGNATURE_LEN bytes (alignment 1).
        write_out(sig.cast::<[u8; 64]>(), signature);
        Ok(())
    })
}

/// Writes the local IP address of the connection to the server to `*ip` (a string the caller
/// frees with `nats_string_free`) and its local port to `*port` (nats.c's
/// `natsConnection_GetLocalIPAndPort`): the client's side as the server's `/connz` shows it.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_DISCONNECTED`
/// (reconnecting), `NATS_ERR_NOT_FOUND` (a websocket connection: its socket is the websocket
/// library's).
#[no_mangle]
pub unsafe extern "C" fn nats_connection_local_address(
    conn: *const nats_connection,
    ip: *mut *mut c_char,
    port: *mut u16,
) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        out_arg(ip, "ip")?;
        out_arg(port, "port")?;
        let addr = c.local_address()?;
        write_out(ip, crate::capi::strings::c_string(&addr.ip().to_string()).into_raw());
        write_out(port, addr.port());
        Ok(())
    })
}

/// Writes a new unique inbox subject (`<inbox_prefix>.<unique id>`) to `*inbox`, a string the
/// caller frees with `nats_string_free`. Errors: `NATS_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_new_inbox(
    conn: *const nats_connection,
    inbox: *mut *mut c_char,
) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        out_arg(inbox, "inbox")?;
        let s = CString::new(c.new_inbox()).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
        write_out(inbox, s.into_raw());
        Ok(())
    })
}

/// The largest payload the server accepts (its max_payload, 1 MiB by default), in bytes;
/// 0 for NULL or before the first connection.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_max_payload(conn: *const nats_connection) -> u64 {
    read(conn, |c| c.max_payload() as u64)
}

/// Bytes of publishes accepted but not yet handed to the socket layer (the reconnect
/// buffer's fill; see `nats_options_set_reconnect_buffer_size`); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_buffered(conn: *const nats_connection) -> u64 {
    read(conn, |c| c.buffered() as u64)
}

/// Drains the connection: unsubscribes every subscription but delivers the messages already
/// sent to it to its callback, sends everything published, then closes the connection
/// (closed callback fires). Blocks until all of that is done, at most `timeout_ms` (0 means
/// 30000 ms). Called from one of this connection's own
/// callbacks, it starts the drain and returns without waiting for callbacks.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_CONNECTION_CLOSED` (already closed or
/// draining), `NATS_ERR_TIMEOUT` (not finished in time; the connection is closed anyway),
/// `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_drain(conn: *mut nats_connection, timeout_ms: u64) -> nats_status {
    guard(|| {
        let c = borrow(conn, "conn")?;
        runtime::refuse_on_runtime("nats_connection_drain")?;
        c.drain(ms_or_default(timeout_ms, Duration::from_secs(30)))
    })
}

/// Closes the connection: unsubscribes every subscription (their callbacks stop after any
/// message already queued to them), flushes pending publishes, closes the socket and stops
/// any reconnecting. Waits at most connection_timeout. The handle stays valid (calls on it
/// return `NATS_ERR_CONNECTION_CLOSED`) until `nats_connection_free`. NULL or an already
/// closed connection: no-op. May be called from any thread, including callbacks.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_close(conn: *mut nats_connection) {
    guard_void(|| {
        if let Some(c) = borrow_opt(conn) {
            c.close()
        }
    })
}

/// Closes the connection if open (see `nats_connection_close`) and releases the caller's
/// handle. NULL is a no-op. Subscriptions made on it remain valid handles until they are
/// freed themselves. Do not use `conn` afterwards.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_free(conn: *mut nats_connection) {
    guard_void(|| {
        if let Some(c) = free_arc(conn) {
            c.close();
        }
    })
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
        box_out(info, CServerInfo::from(c.server_info()?));
        Ok(())
    })
}

/// The name given with `nats_options_set_name`, NUL-terminated and owned by the connection
/// (valid until `nats_connection_free`); NULL when none was given, or for NULL. Thread safe.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_name(conn: *const nats_connection) -> *const c_char {
    read_or(conn, std::ptr::null(), |c| c.name_nul().map_or(std::ptr::null(), |n| n.as_ptr().cast()))
}
