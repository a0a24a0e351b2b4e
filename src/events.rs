//! Connection events (`nats_options_set_*_cb`): disconnected, reconnected, closed, errors,
//! lame-duck mode, discovered servers, and the custom reconnect delay.
//!
//! async-nats reports its events on a runtime task; they are forwarded, in order, through a
//! channel to one event thread per connection, which calls the C callbacks. Callbacks thus
//! never run on runtime threads and may call any function of the library, including blocking
//! ones and `nats_connection_close`/`_free` on their own connection.

use crate::capi::callback::CCallback;
use crate::capi::handle::arc_ptr;
use crate::capi::status::*;
use crate::client::error::*;
use crate::connection::nats_connection;
use crate::subscription::nats_subscription;
use std::ffi::{c_char, c_void, CString};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// Connection event callback: `user_data` as given to the setter, and the connection (the
/// same handle `nats_connect` returned; valid during the call). Runs on the connection's event
/// thread, never on a runtime thread; may call any function of the library.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_connection_callback = Option<unsafe extern "C" fn(user_data: *mut c_void, conn: *mut nats_connection)>;

/// Asynchronous error callback: `user_data`, the connection, the subscription concerned or
/// NULL (a slow consumer names its subscription), a status (`NATS_ERR_SLOW_CONSUMER`,
/// `NATS_ERR_PERMISSION`, `NATS_ERR_AUTH`, `NATS_ERR_CONNECTION_CLOSED` for publishes lost at
/// close, `NATS_ERR_INTERNAL` for other server errors) and a description, borrowed for the
/// call. Runs on the connection's event thread, like `nats_connection_callback`.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_error_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        conn: *mut nats_connection,
        sub: *mut nats_subscription,
        status: nats_status,
        text: *const c_char,
    ),
>;

/// Custom reconnect delay: given `user_data` and the number of consecutive failed attempts
/// (1 for the first reconnect attempt), returns how many milliseconds to wait before the next
/// attempt. Called on a short-lived thread of its own (never a runtime thread) before every
/// attempt; it should return promptly.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_reconnect_delay_callback = Option<unsafe extern "C" fn(user_data: *mut c_void, attempts: u32) -> u64>;

/// A C function pointer with its user data.
/// A callback set by the user whose `user_data` the library never releases, shared by the
/// options and every connection made with them.
pub(crate) type Hook<F> = Arc<CCallback<F>>;

/// Wraps a C function and its `user_data` as a [`Hook`].
pub(crate) fn hook<F: Copy>(f: F, user_data: *mut c_void) -> Hook<F> {
    Arc::new(CCallback::lent(f, user_data))
}

pub(crate) type ConnFn = unsafe extern "C" fn(*mut c_void, *mut nats_connection);
pub(crate) type ErrFn =
    unsafe extern "C" fn(*mut c_void, *mut nats_connection, *mut nats_subscription, nats_status, *const c_char);
pub(crate) type DelayFn = unsafe extern "C" fn(*mut c_void, u32) -> u64;

/// The callbacks set on options.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hooks {
    pub connected: Option<Hook<ConnFn>>,
    pub disconnected: Option<Hook<ConnFn>>,
    pub reconnected: Option<Hook<ConnFn>>,
    pub closed: Option<Hook<ConnFn>>,
    pub lame_duck: Option<Hook<ConnFn>>,
    pub discovered_servers: Option<Hook<ConnFn>>,
    pub error: Option<Hook<ErrFn>>,
    pub reconnect_delay: Option<Hook<DelayFn>>,
}

impl Hooks {
    /// True when any event callback is set (the event thread is needed).
    pub fn any(&self) -> bool {
        self.connected.is_some()
            || self.disconnected.is_some()
            || self.reconnected.is_some()
            || self.closed.is_some()
            || self.lame_duck.is_some()
            || self.discovered_servers.is_some()
            || self.error.is_some()
    }
}

/// What the event thread is told.
pub(crate) enum Event {
    /// async-nats connected (the first time) or reconnected (later times).
    Connected,
    Disconnected,
    LameDuck,
    DiscoveredServers,
    Error {
        sub: Option<Arc<nats_subscription>>,
        status: ErrorKind,
        text: String,
    },
    Closed,
}

pub(crate) type EventSender = mpsc::Sender<Event>;

pub(crate) fn channel() -> (EventSender, mpsc::Receiver<Event>) {
    mpsc::channel()
}

/// Maps an async-nats event to ours (None: not reported).
pub(crate) fn from_async_nats(e: &async_nats::Event) -> Option<Event> {
    use async_nats::{ClientError, Event as E, ServerError};
    Some(match e {
        E::Connected => Event::Connected,
        E::Disconnected => Event::Disconnected,
        E::LameDuckMode => Event::LameDuck,
        // The closed event comes from the connection's publish forwarder once it has reported
        // any loss (see `nats_connection::connect`).
        E::Closed | E::ClientError(ClientError::MaxReconnects) => return None,
        E::SlowConsumer(sid) => Event::Error {
            sub: None,
            status: ErrorKind::SlowConsumer,
            text: format!("slow consumer: the client's buffer for subscription {sid} was full; messages dropped"),
        },
        E::ServerError(ServerError::AuthorizationViolation) => {
            Event::Error { sub: None, status: ErrorKind::Auth, text: "server: authorization violation".into() }
        }
        E::ServerError(err) => {
            let text = format!("server: {err}");
            let status = if text.to_ascii_lowercase().contains("permissions violation") {
                ErrorKind::Permission
            } else {
                ErrorKind::Internal
            };
            Event::Error { sub: None, status, text }
        }
        E::Draining | E::ClientError(_) => return None,
    })
}

/// Starts the event thread of `conn`; it runs until the closed event was delivered.
pub(crate) fn spawn(hooks: Hooks, rx: mpsc::Receiver<Event>, conn: Arc<nats_connection>) -> Result<()> {
    std::thread::Builder::new()
        .name("nats-ffi-events".into())
        .spawn(move || run(hooks, rx, conn))
        .map(|_| ())
        .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start the event thread: {e}")))
}

fn run(hooks: Hooks, rx: mpsc::Receiver<Event>, conn: Arc<nats_connection>) {
    let handle: *mut nats_connection = arc_ptr(&conn);
    let call = |h: &Option<Hook<ConnFn>>| {
        if let Some(h) = h {
            // SAFETY: the user's callback with the user's pointer; `handle` is kept alive by
            // `conn`, held by this thread.
            unsafe { (h.f())(h.user_data(), handle) }
        }
    };
    let mut connected_once = false;
    for ev in rx {
        match ev {
            Event::Connected => {
                if std::mem::replace(&mut connected_once, true) {
                    call(&hooks.reconnected)
                } else {
                    call(&hooks.connected)
                }
            }
            Event::Disconnected => call(&hooks.disconnected),
            Event::LameDuck => call(&hooks.lame_duck),
            Event::DiscoveredServers => call(&hooks.discovered_servers),
            Event::Error { sub, status, text } => {
                if let Some(h) = &hooks.error {
                    let text = CString::new(text.replace('\0', " ")).unwrap_or_default();
                    let sub_ptr = sub.as_ref().map_or(std::ptr::null_mut(), arc_ptr);
                    // SAFETY: as above; `sub` (if any) is held until the call returns.
                    unsafe { (h.f())(h.user_data(), handle, sub_ptr, nats_status::from(status), text.as_ptr()) }
                }
            }
            Event::Closed => {
                call(&hooks.closed);
                break;
            }
        }
    }
}

/// Runs the user's reconnect delay callback on a thread of its own (this is called from a
/// runtime task, where C code must not run), moving the runtime's other work elsewhere while
/// waiting.
pub(crate) fn custom_delay(h: Hook<DelayFn>, attempts: usize) -> Duration {
    let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
    let ask = move || {
        let h = h;
        // SAFETY: the user's callback with the user's pointer.
        unsafe { (h.f())(h.user_data(), attempts) }
    };
    let wait = || std::thread::Builder::new().name("nats-ffi-delay".into()).spawn(ask).ok().and_then(|t| t.join().ok());
    let ms = if tokio::runtime::Handle::try_current().is_ok() { tokio::task::block_in_place(wait) } else { wait() };
    Duration::from_millis(ms.unwrap_or(2000))
}
