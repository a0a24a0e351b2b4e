//! Connection events: disconnected, reconnected, closed, errors, lame-duck mode, discovered
//! servers; and the hooks the application may set (reconnect delay, JWT signing).
//!
//! async-nats reports its events on a runtime task; they are forwarded, in order, through a
//! channel to the connection's event lane (its own thread, the shared pool or the
//! application's dispatcher: see [`crate::client::delivery`]), which hands them to the
//! application's [`EventSink`]. The sink thus never runs on runtime threads and may call
//! anything, including blocking functions and closing its own connection.

use crate::client::connection::Connection;
use crate::client::delivery::lane::{Lane, Progress, Work};
use crate::client::error::*;
use crate::client::subscription::Subscription;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
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
/// lane (never a runtime thread).
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

/// What the forwarder tells the event lane: async-nats' Connected is both "connected" and
/// "reconnected"; the lane tells them apart.
pub(crate) enum Raw {
    Connected,
    Other(Event),
}

/// Sends events to a connection's event lane. The lane is set up once the connection
/// exists; what is sent before waits in the channel.
#[derive(Clone)]
pub(crate) struct EventSender {
    tx: mpsc::Sender<Raw>,
    lane: Arc<OnceLock<Lane>>,
}

impl EventSender {
    pub(crate) fn send(&self, raw: Raw) -> std::result::Result<(), mpsc::SendError<Raw>> {
        self.tx.send(raw)?;
        if let Some(lane) = self.lane.get() {
            lane.notify();
        }
        Ok(())
    }
}

/// The receiving end, until the event lane takes it.
pub(crate) struct EventReceiver {
    rx: mpsc::Receiver<Raw>,
    lane: Arc<OnceLock<Lane>>,
}

pub(crate) fn channel() -> (EventSender, EventReceiver) {
    let (tx, rx) = mpsc::channel();
    let lane = Arc::new(OnceLock::new());
    (EventSender { tx, lane: lane.clone() }, EventReceiver { rx, lane })
}

/// An error event for the event lane.
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

/// Sets up the event lane of `conn` on its executor; it runs until the closed event was
/// delivered.
pub(crate) fn spawn(sink: Arc<dyn EventSink>, rx: EventReceiver, conn: Arc<Connection>) -> Result<()> {
    let work = Arc::new(EventWork { rx: Mutex::new((rx.rx, false)), sink, conn: conn.clone() });
    let lane = conn.executor.lane("nats-ffi-events", work)?;
    let _ = rx.lane.set(lane.clone());
    // For the events sent before the lane existed.
    lane.notify();
    Ok(())
}

/// A connection's event lane: hands its events to the sink, in order.
struct EventWork {
    /// The channel, and whether a connected event was delivered (the next is a reconnect).
    rx: Mutex<(mpsc::Receiver<Raw>, bool)>,
    sink: Arc<dyn EventSink>,
    conn: Arc<Connection>,
}

impl Work for EventWork {
    fn run(self: Arc<Self>, budget: usize) -> (usize, Progress) {
        let mut guard = self.rx.lock().unwrap_or_else(|p| p.into_inner());
        let (rx, connected_once) = &mut *guard;
        let mut ran = 0;
        while ran < budget {
            let raw = match rx.try_recv() {
                Ok(raw) => raw,
                Err(mpsc::TryRecvError::Empty) => return (ran, Progress::Idle),
                Err(mpsc::TryRecvError::Disconnected) => return (ran, Progress::Finished),
            };
            let event = match raw {
                Raw::Connected if std::mem::replace(connected_once, true) => Event::Reconnected,
                Raw::Connected => Event::Connected,
                Raw::Other(e) => e,
            };
            self.sink.on_event(&self.conn, &event);
            ran += 1;
            if matches!(event, Event::Closed) {
                return (ran, Progress::Finished);
            }
        }
        (ran, Progress::More)
    }

    fn abandon(&self) {}
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

/// The application's token source, asked before every connect attempt (rotating tokens);
/// `None`: no token to offer.
pub(crate) type TokenSource = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// Asks the application's token source on a short-lived thread of its own (never on the
/// runtime).
pub(crate) async fn token_on_thread(source: TokenSource) -> std::result::Result<String, async_nats::AuthError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new().name("nats-ffi-token".into()).spawn(move || {
        let _ = tx.send(source());
    });
    if spawned.is_err() {
        return Err(async_nats::AuthError::new("cannot start the token thread"));
    }
    match rx.await {
        Ok(Some(token)) => Ok(token),
        Ok(None) => Err(async_nats::AuthError::new("the token callback gave no token")),
        Err(_) => Err(async_nats::AuthError::new("the token callback panicked")),
    }
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
