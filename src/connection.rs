//! `nats_connect*`, `nats_publish*`, `nats_request`, `nats_connection_*`.

use crate::error::*;
use crate::ffi::*;
use crate::message::nats_msg;
use crate::options::{nats_options, parse_servers, redact_url};
use crate::runtime;
use async_nats::{ConnectErrorKind, Event};
use bytes::Bytes;
use std::ffi::{c_char, c_void};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::watch;

/// A connection to a NATS server (cluster). Created by `nats_connect` / `nats_connect_url`,
/// released with `nats_connection_free`. Thread safe: every function taking a connection may
/// be called from any number of threads at once, including from message callbacks.
pub struct nats_connection {
    pub(crate) client: async_nats::Client,
    pub(crate) handle: Handle,
    pub(crate) request_timeout: Duration,
    connection_timeout: Duration,
    /// Becomes true once the connection is closed (by the user, by drain, or by giving up after
    /// max_reconnects). Subscription pumps and the reconnect-delay hook watch it.
    pub(crate) closed: Arc<watch::Sender<bool>>,
    closing: AtomicBool,
}

/// Where a connection is in its life, from `nats_connection_status`.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nats_conn_status {
    /// Not connected yet (retry_on_initial_connect still trying).
    NATS_CONN_STATUS_CONNECTING = 0,
    /// Connected to a server.
    NATS_CONN_STATUS_CONNECTED = 1,
    /// The connection was lost and the client is trying to reconnect; publishes are queued.
    NATS_CONN_STATUS_RECONNECTING = 2,
    /// Being closed: subscriptions are drained and pending data flushed.
    NATS_CONN_STATUS_DRAINING = 3,
    /// Closed, by the user or after max_reconnects failed attempts. Terminal.
    NATS_CONN_STATUS_CLOSED = 4,
}

/// async-nats' default reconnect backoff (0, 2, 4, 8 ... ms up to 4 s), parked once the
/// connection is closed: async-nats offers no way to stop a reconnect loop, so a closed
/// connection's loop sleeps instead of dialing servers.
fn reconnect_delay(closed: &watch::Sender<bool>, attempts: usize) -> Duration {
    if *closed.borrow() {
        return Duration::from_secs(365 * 24 * 3600);
    }
    if attempts <= 1 {
        Duration::ZERO
    } else {
        let exp: u32 = (attempts - 1).try_into().unwrap_or(u32::MAX);
        Duration::from_millis(2_u64.saturating_pow(exp)).min(Duration::from_secs(4))
    }
}

/// True when a rustls error is anywhere in `e`'s source chain (async-nats reports most TLS
/// failures as IO errors wrapping one).
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<async_nats::rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.get_ref().is_some_and(|inner| inner.downcast_ref::<async_nats::rustls::Error>().is_some()) {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

fn connect_error(e: async_nats::ConnectError, servers: &[String]) -> Error {
    let status = match e.kind() {
        _ if is_tls_failure(&e) => NATS_ERR_TLS,
        ConnectErrorKind::ServerParse => NATS_ERR_INVALID_ARGUMENT,
        ConnectErrorKind::Authentication | ConnectErrorKind::AuthorizationViolation => NATS_ERR_AUTH,
        ConnectErrorKind::TimedOut => NATS_ERR_TIMEOUT,
        ConnectErrorKind::Tls => NATS_ERR_TLS,
        ConnectErrorKind::Dns | ConnectErrorKind::Io | ConnectErrorKind::MaxReconnects => {
            NATS_ERR_CONNECTION_FAILED
        }
    };
    let list: Vec<String> = servers.iter().map(|s| redact_url(s)).collect();
    Error::new(status, format!("{e} (servers: {})", list.join(", ")))
}

impl nats_connection {
    pub(crate) fn connect(opts: &nats_options) -> Result<Arc<nats_connection>> {
        runtime::refuse_on_runtime("nats_connect")?;
        let handle = runtime::handle()?;
        let closed = Arc::new(watch::channel(false).0);
        let addrs = opts
            .servers
            .iter()
            .map(|s| async_nats::ServerAddr::from_str(s))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::new(NATS_ERR_INVALID_ARGUMENT, format!("bad server URL: {e}")))?;
        let mut base = opts.to_connect_options();
        if opts.user_password.is_none() && opts.token.is_none() {
            base = apply_url_credentials(base, &addrs);
        }
        let on_event = closed.clone();
        let on_delay = closed.clone();
        let co = base
            .reconnect_delay_callback(move |attempts| reconnect_delay(&on_delay, attempts))
            .event_callback(move |event| {
                let closed = on_event.clone();
                async move {
                    if let Event::Closed | Event::ClientError(async_nats::ClientError::MaxReconnects) = event {
                        closed.send_replace(true);
                    }
                }
            });
        let client = runtime::block_on(&handle, "nats_connect", co.connect(addrs))?
            .map_err(|e| connect_error(e, &opts.servers))?;
        Ok(Arc::new(nats_connection {
            client,
            handle,
            request_timeout: opts.request_timeout,
            connection_timeout: opts.connection_timeout,
            closed,
            closing: AtomicBool::new(false),
        }))
    }

    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.borrow() || self.closing.load(Ordering::Acquire)
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            return Err(Error::new(NATS_ERR_CONNECTION_CLOSED, "the connection is closed"));
        }
        Ok(())
    }

    pub(crate) fn status(&self) -> nats_conn_status {
        use nats_conn_status::*;
        if *self.closed.borrow() {
            return NATS_CONN_STATUS_CLOSED;
        }
        if self.closing.load(Ordering::Acquire) {
            return NATS_CONN_STATUS_DRAINING;
        }
        match self.client.connection_state() {
            async_nats::connection::State::Connected => NATS_CONN_STATUS_CONNECTED,
            async_nats::connection::State::Pending => NATS_CONN_STATUS_CONNECTING,
            async_nats::connection::State::Disconnected => NATS_CONN_STATUS_RECONNECTING,
        }
    }

    fn closed_error(&self, what: &str, e: impl std::fmt::Display) -> Error {
        if self.is_closed() {
            Error::new(NATS_ERR_CONNECTION_CLOSED, format!("{what}: the connection is closed"))
        } else {
            Error::new(NATS_ERR_INTERNAL, format!("{what}: {e}"))
        }
    }

    pub(crate) fn publish(&self, subject: &str, reply: Option<&str>, data: &[u8]) -> Result<()> {
        self.check_open()?;
        check_subject(subject, false, "subject")?;
        if let Some(r) = reply {
            check_subject(r, false, "reply subject")?;
        }
        let payload = Bytes::copy_from_slice(data);
        let subject = async_nats::Subject::from(subject);
        let res = runtime::block_on_timeout(&self.handle, "nats_publish", self.request_timeout, async {
            match reply {
                Some(r) => self.client.publish_with_reply(subject, async_nats::Subject::from(r), payload).await,
                None => self.client.publish(subject, payload).await,
            }
        })?;
        res.map_err(|e| match e.kind() {
            async_nats::client::PublishErrorKind::MaxPayloadExceeded => {
                Error::new(NATS_ERR_MAX_PAYLOAD, format!("{e} ({} bytes)", data.len()))
            }
            async_nats::client::PublishErrorKind::InvalidSubject => Error::new(NATS_ERR_INVALID_SUBJECT, e.to_string()),
            async_nats::client::PublishErrorKind::Send => self.closed_error("publish", e),
        })
    }

    /// Writes out everything queued, then makes a round trip through the server: async-nats'
    /// own flush only empties the socket buffer, while callers need to know the server has
    /// processed earlier SUBs and PUBs. The probe is a request to a fresh subject under the
    /// inbox prefix; the server's "no responders" status comes back only after it processed
    /// everything sent before it (this works with no_echo too).
    pub(crate) fn flush(&self, timeout: Duration) -> Result<()> {
        use async_nats::RequestErrorKind as K;
        self.check_open()?;
        let probe = format!("{}.flush", self.client.new_inbox());
        let round_trip = async {
            self.client.flush().await.map_err(|e| self.closed_error("flush", e))?;
            match self.client.send_request(probe, async_nats::Request::new().timeout(None)).await {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == K::NoResponders => Ok(()),
                Err(e) => Err(self.closed_error("flush", e)),
            }
        };
        runtime::block_on_timeout(&self.handle, "nats_connection_flush", timeout, round_trip)?
    }

    pub(crate) fn request(&self, subject: &str, data: &[u8], timeout: Duration) -> Result<nats_msg> {
        use async_nats::RequestErrorKind as K;
        self.check_open()?;
        check_subject(subject, false, "subject")?;
        let req = async_nats::Request::new().payload(Bytes::copy_from_slice(data)).timeout(Some(timeout));
        // The outer bound covers a send queue that stays full (e.g. while reconnecting).
        let limit = timeout + Duration::from_millis(50);
        let res = runtime::block_on_timeout(&self.handle, "nats_request", limit, self.client.send_request(subject.to_string(), req))?;
        match res {
            Ok(m) => Ok(nats_msg::new(m)),
            Err(e) => Err(match e.kind() {
                K::TimedOut => Error::new(
                    NATS_ERR_TIMEOUT,
                    format!("no reply on {subject:?} within {} ms", timeout.as_millis()),
                ),
                K::NoResponders => Error::new(NATS_ERR_NO_RESPONDERS, format!("no subscriber on {subject:?}")),
                K::InvalidSubject => Error::new(NATS_ERR_INVALID_SUBJECT, e.to_string()),
                K::MaxPayloadExceeded => Error::new(NATS_ERR_MAX_PAYLOAD, e.to_string()),
                K::Other => self.closed_error("request", e),
            }),
        }
    }

    /// Closes: drains subscriptions, flushes what was published, closes the socket and stops
    /// reconnecting. Waits up to connection_timeout for the server to see it (when connected
    /// and called from a thread that may block). Idempotent.
    pub(crate) fn close(&self) {
        // Only the first call drains; later ones (or a connection that gave up after
        // max_reconnects) have nothing to do.
        if self.closing.swap(true, Ordering::AcqRel) || *self.closed.borrow() {
            return;
        }
        let connected = self.client.connection_state() == async_nats::connection::State::Connected;
        let client = self.client.clone();
        let mut closed_rx = self.closed.subscribe();
        let drain = async move {
            if client.drain().await.is_ok() {
                wait_closed(&mut closed_rx).await;
            }
        };
        if connected && !runtime::on_runtime_thread() {
            let _ = runtime::block_on_timeout(&self.handle, "nats_connection_close", self.connection_timeout, drain);
        } else {
            self.handle.spawn(drain);
        }
        self.closed.send_replace(true);
    }
}

/// Decodes `%XX` escapes of URL user info.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Credentials embedded in the first URL that has any: `user:pass@` gives user/password,
/// a lone `token@` gives a token (as nats.c and nats.go do). Explicit setters win.
fn apply_url_credentials(co: async_nats::ConnectOptions, addrs: &[async_nats::ServerAddr]) -> async_nats::ConnectOptions {
    for a in addrs {
        match (a.username(), a.password()) {
            (Some(u), Some(p)) => return co.user_and_password(percent_decode(u), percent_decode(p)),
            (Some(t), None) => return co.token(percent_decode(t)),
            _ => {}
        }
    }
    co
}

/// Resolves once the connection is closed (or its handle is gone).
pub(crate) async fn wait_closed(rx: &mut watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Wraps a new connection as a raw handle for C.
fn into_handle(conn: Arc<nats_connection>) -> *mut nats_connection {
    Arc::into_raw(conn).cast_mut()
}

/// Borrows the `Arc` behind a handle without consuming the caller's reference.
///
/// # Safety
/// `c` must be a live handle from [`into_handle`].
pub(crate) unsafe fn arc_from_handle(c: *const nats_connection) -> Arc<nats_connection> {
    Arc::increment_strong_count(c);
    Arc::from_raw(c)
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
        let o = handle_arg(opts, "opts")?;
        out_arg(out, "out")?;
        let conn = nats_connection::connect(o)?;
        write_out(out, into_handle(conn));
        Ok(())
    })
}

/// Connects with default options to `urls`: one URL or a comma-separated list
/// (`"nats://a:4222,nats://b:4222"`). Otherwise as `nats_connect`; additionally
/// `NATS_ERR_INVALID_ARGUMENT` for an empty or unparsable URL.
#[no_mangle]
pub unsafe extern "C" fn nats_connect_url(urls: *const c_char, out: *mut *mut nats_connection) -> nats_status {
    guard(|| {
        let urls = str_arg(urls, "urls")?;
        out_arg(out, "out")?;
        let opts = nats_options { servers: parse_servers(urls.split(','))?, ..Default::default() };
        let conn = nats_connection::connect(&opts)?;
        write_out(out, into_handle(conn));
        Ok(())
    })
}

/// Publishes `len` bytes at `data` (NULL allowed when len is 0; copied before return) to
/// `subject`. Returns once the message is queued for sending, normally without blocking; it
/// waits only while the outgoing queue (sender_capacity) is full, at most request_timeout.
/// Use `nats_connection_flush` to know the server has it.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_UTF8`, `NATS_ERR_INVALID_SUBJECT`
/// (empty, whitespace, empty token, wildcard), `NATS_ERR_MAX_PAYLOAD`,
/// `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_TIMEOUT`, `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_publish(
    conn: *mut nats_connection,
    subject: *const c_char,
    data: *const c_void,
    len: usize,
) -> nats_status {
    guard(|| {
        let c = handle_arg(conn, "conn")?;
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
        let c = handle_arg(conn, "conn")?;
        let s = str_arg(subject, "subject")?;
        let r = str_arg(reply, "reply")?;
        c.publish(s, Some(r), bytes_arg(data, len, "data")?)
    })
}

/// Sends everything queued so far and waits for the server's PONG: when it returns OK, the
/// server has processed every earlier publish and subscribe from this connection.
/// `timeout_ms` 0 means request_timeout. Errors: `NATS_ERR_TIMEOUT`,
/// `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_flush(conn: *mut nats_connection, timeout_ms: u64) -> nats_status {
    guard(|| {
        let c = handle_arg(conn, "conn")?;
        let t = if timeout_ms == 0 { c.request_timeout } else { Duration::from_millis(timeout_ms) };
        c.flush(t)
    })
}

/// Sends a request and waits for the first reply. `timeout_ms` 0 means the connection's
/// request_timeout (default 10000 ms). On success writes the reply to `*reply`, owned by the
/// caller (`nats_msg_free`). Blocks the calling thread (allowed in message callbacks).
/// Errors: `NATS_ERR_TIMEOUT`, `NATS_ERR_NO_RESPONDERS` (nobody subscribed to `subject`),
/// `NATS_ERR_INVALID_SUBJECT`, `NATS_ERR_MAX_PAYLOAD`, `NATS_ERR_CONNECTION_CLOSED`,
/// `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_WOULD_BLOCK_RUNTIME`.
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
        let c = handle_arg(conn, "conn")?;
        let s = str_arg(subject, "subject")?;
        let d = bytes_arg(data, len, "data")?;
        out_arg(reply, "reply")?;
        let t = if timeout_ms == 0 { c.request_timeout } else { Duration::from_millis(timeout_ms) };
        let m = c.request(s, d, t)?;
        write_out(reply, Box::into_raw(Box::new(m)));
        Ok(())
    })
}

/// Publishes `len` bytes at `data` to the reply subject of `request`.
/// Errors: `NATS_ERR_NO_REPLY_SUBJECT` when the message has none, else as `nats_publish`.
#[no_mangle]
pub unsafe extern "C" fn nats_msg_respond(
    conn: *mut nats_connection,
    request: *const nats_msg,
    data: *const c_void,
    len: usize,
) -> nats_status {
    guard(|| {
        let c = handle_arg(conn, "conn")?;
        let m = handle_arg(request, "request")?;
        let d = bytes_arg(data, len, "data")?;
        let reply = m
            .reply_str()
            .ok_or_else(|| Error::new(NATS_ERR_NO_REPLY_SUBJECT, "the request has no reply subject"))?;
        c.publish(reply, None, d)
    })
}

/// The connection's current status; `NATS_CONN_STATUS_CLOSED` for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_connection_status(conn: *const nats_connection) -> nats_conn_status {
    guard_value(nats_conn_status::NATS_CONN_STATUS_CLOSED, || match conn.as_ref() {
        Some(c) => c.status(),
        None => nats_conn_status::NATS_CONN_STATUS_CLOSED,
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
        if let Some(c) = conn.as_ref() {
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
        if !conn.is_null() {
            let c = Arc::from_raw(conn.cast_const());
            c.close();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_user_info() {
        assert_eq!(percent_decode("p%40ss%3Aw"), "p@ss:w");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%é%"), "%zz%é%");
        assert_eq!(percent_decode("plain"), "plain");
    }
}
