//! Connection events: disconnected, reconnected, closed, errors, lame-duck mode, discovered
//! servers; and the hooks the application may set (reconnect delay, JWT signing).
//!
//! async-nats reports its events on a runtime task; they are forwarded, in order, through a
//! channel to one event thread per connection, which hands them to the application's
//! [`EventSink`]. The sink thus never runs on runtime threads and may call anything,
//! including blocking functions and closing its own connection.

use crate::client::connection::Connection;
use crate::client::error::*;
use crate::client::subscription::Subscription;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// What happened to a connection, as its [`EventSink`] is told.
pub(crate) enum Event {
    /// Connected for the first time.
    Connected,
    /// Connected again after a loss.
    Reconnected,
    Disconnected,
    /// The server is about to shut down.
    LameDuck,
    /// The server pool gained servers the cluster advertised.
    DiscoveredServers,
    /// An asynchronous failure: a slow consumer (naming its subscription), a server error,
    /// publishes lost at close, a subscription stopped by an internal error.
    Error {
        sub: Option<Arc<Subscription>>,
        error: Error,
    },
    /// Closed for good: the last event of a connection.
    Closed,
}

/// Receives a connection's events, one at a time and in order, on the connection's event
/// thread (never a runtime thread).
pub(crate) trait EventSink: Send + Sync {
    fn on_event(&self, conn: &Arc<Connection>, event: &Event);

    /// Whether [`Event::DiscoveredServers`] is wanted (watching the pool costs a timer).
    fn wants_discovered_servers(&self) -> bool;
}

/// Decides the wait before reconnect attempt `attempts` (1 = the first after a loss).
pub(crate) type ReconnectDelay = Arc<dyn Fn(u32) -> Duration + Send + Sync>;

/// Signs the server's nonce with the user's NKey (JWT auth with the key kept by the
/// application): the 64-byte signature, or why not.
pub(crate) type NonceSigner = Arc<dyn Fn(&[u8]) -> std::result::Result<Vec<u8>, String> + Send + Sync>;

/// What the forwarder tells the event thread: async-nats' Connected is both "connected" and
/// "reconnected"; the thread tells them apart.
pub(crate) enum Raw {
    Connected,
    Other(Event),
}

pub(crate) type EventSender = mpsc::Sender<Raw>;

pub(crate) fn channel() -> (EventSender, mpsc::Receiver<Raw>) {
    mpsc::channel()
}

/// An error event for the event thread.
pub(crate) fn error_event(sub: Option<Arc<Subscription>>, kind: ErrorKind, text: impl Into<String>) -> Raw {
    Raw::Other(Event::Error { sub, error: Error::new(kind, text) })
}

/// Maps an async-nats event to ours (None: not reported).
pub(crate) fn from_async_nats(e: &async_nats::Event) -> Option<Raw> {
    use async_nats::{ClientError, Event as E, ServerError};
    Some(match e {
        E::Connected => Raw::Connected,
        E::Disconnected => Raw::Other(Event::Disconnected),
        E::LameDuckMode => Raw::Other(Event::LameDuck),
        // The closed event comes from the connection's publish forwarder once it has reported
        // any loss (see `Connection::connect`).
        E::Closed | E::ClientError(ClientError::MaxReconnects) => return None,
        E::SlowConsumer(sid) => error_event(
            None,
            ErrorKind::SlowConsumer,
            format!("slow consumer: the client's buffer for subscription {sid} was full; messages dropped"),
        ),
        E::ServerError(ServerError::AuthorizationViolation) => {
            error_event(None, ErrorKind::Auth, "server: authorization violation")
        }
        E::ServerError(err) => {
            let text = format!("server: {err}");
            let kind = if text.to_ascii_lowercase().contains("permissions violation") {
                ErrorKind::Permission
            } else {
                ErrorKind::Internal
            };
            error_event(None, kind, text)
        }
        E::Draining | E::ClientError(_) => return None,
    })
}

/// Starts the event thread of `conn`; it runs until the closed event was delivered.
pub(crate) fn spawn(sink: Arc<dyn EventSink>, rx: mpsc::Receiver<Raw>, conn: Arc<Connection>) -> Result<()> {
    std::thread::Builder::new()
        .name("nats-ffi-events".into())
        .spawn(move || run(sink, rx, conn))
        .map(|_| ())
        .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start the event thread: {e}")))
}

fn run(sink: Arc<dyn EventSink>, rx: mpsc::Receiver<Raw>, conn: Arc<Connection>) {
    let mut connected_once = false;
    for raw in rx {
        let event = match raw {
            Raw::Connected if std::mem::replace(&mut connected_once, true) => Event::Reconnected,
            Raw::Connected => Event::Connected,
            Raw::Other(e) => e,
        };
        sink.on_event(&conn, &event);
        if matches!(event, Event::Closed) {
            break;
        }
    }
}

/// Asks the application's reconnect delay on a thread of its own (this is called from a
/// runtime task, where application code must not run), moving the runtime's other work
/// elsewhere while waiting. 2 s if that thread cannot run or panics.
pub(crate) fn custom_delay(delay: ReconnectDelay, attempts: usize) -> Duration {
    let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
    let ask = move || delay(attempts);
    let wait = || std::thread::Builder::new().name("nats-ffi-delay".into()).spawn(ask).ok().and_then(|t| t.join().ok());
    let d = if tokio::runtime::Handle::try_current().is_ok() { tokio::task::block_in_place(wait) } else { wait() };
    d.unwrap_or(Duration::from_secs(2))
}

/// Runs the application's signer on its own short-lived thread (never on the runtime).
pub(crate) async fn sign_on_thread(
    signer: NonceSigner,
    nonce: Vec<u8>,
) -> std::result::Result<Vec<u8>, async_nats::AuthError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new().name("nats-ffi-sign".into()).spawn(move || {
        let _ = tx.send(signer(&nonce));
    });
    if spawned.is_err() {
        return Err(async_nats::AuthError::new("cannot start the signing thread"));
    }
    match rx.await {
        Ok(Ok(sig)) => Ok(sig),
        Ok(Err(why)) => Err(async_nats::AuthError::new(why)),
        Err(_) => Err(async_nats::AuthError::new("the signing callback panicked")),
    }
}
