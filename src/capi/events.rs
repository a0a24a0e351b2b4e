//! The C event callbacks (`nats_options_set_*_cb`): their types, and the sink that calls
//! them on the connection's event lane.

use crate::capi::callback::CCallback;
use crate::capi::connection::nats_connection;
use crate::capi::handle::arc_ptr;
use crate::capi::status::*;
use crate::capi::strings::c_string;
use crate::capi::subscription::nats_subscription;
use crate::client::connection::Connection;
use crate::client::events::{Event, EventSink, NonceSigner, ReconnectDelay, TokenSource};
use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

/// Connection event callback: `user_data` as given to the setter, and the connection (the
/// same handle `nats_connect` returned; valid during the call). Runs on the connection's event
/// lane (a thread of its own, the shared pool or the dispatcher: see `nats_dispatcher`), one
/// event at a time and in order, never on a runtime thread; may call any function of the
/// library.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_connection_callback = Option<unsafe extern "C" fn(user_data: *mut c_void, conn: *mut nats_connection)>;

/// Asynchronous error callback: `user_data`, the connection, the subscription concerned or
/// NULL (a slow consumer names its subscription), a status (`NATS_ERR_SLOW_CONSUMER`,
/// `NATS_ERR_PERMISSION`, `NATS_ERR_AUTH`, `NATS_ERR_CONNECTION_CLOSED` for publishes lost at
/// close, `NATS_ERR_INTERNAL` for other server errors) and a description, borrowed for the
/// call. Runs where `nats_connection_callback` runs, in order with it.
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

/// Token callback (`nats_options_set_token_handler`): returns the token to present on the
/// next connect attempt, NUL-terminated and valid until the callback returns again (the
/// library copies it at once), or NULL to offer none (the attempt then fails to
/// authenticate). Called on a short-lived thread of its own (never a runtime thread) before
/// every connect and reconnect attempt, so a rotating token is always current; it should
/// return promptly.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_token_callback = Option<unsafe extern "C" fn(user_data: *mut c_void) -> *const c_char>;

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
pub(crate) type SignFn = unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut u8) -> nats_status;
pub(crate) type TokenFn = unsafe extern "C" fn(*mut c_void) -> *const c_char;

/// The event callbacks set on options.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hooks {
    pub connected: Option<Hook<ConnFn>>,
    pub disconnected: Option<Hook<ConnFn>>,
    pub reconnected: Option<Hook<ConnFn>>,
    pub closed: Option<Hook<ConnFn>>,
    pub lame_duck: Option<Hook<ConnFn>>,
    pub discovered_servers: Option<Hook<ConnFn>>,
    pub error: Option<Hook<ErrFn>>,
}

impl Hooks {
    /// The sink for a connection: none when no callback is set (no event thread is needed).
    pub(crate) fn sink(&self) -> Option<Arc<dyn EventSink>> {
        let any = [&self.connected, &self.disconnected, &self.reconnected, &self.closed, &self.lame_duck]
            .iter()
            .any(|h| h.is_some())
            || self.discovered_servers.is_some()
            || self.error.is_some();
        any.then(|| Arc::new(self.clone()) as Arc<dyn EventSink>)
    }
}

impl EventSink for Hooks {
    fn on_event(&self, conn: &Arc<Connection>, event: &Event) {
        let handle: *mut nats_connection = arc_ptr(conn);
        let call = |h: &Option<Hook<ConnFn>>| {
            if let Some(h) = h {
                // SAFETY: the user's callback with the user's pointer; `handle` is kept alive
                // by `conn`, held by the event lane during the call.
                unsafe { (h.f())(h.user_data(), handle) }
            }
        };
        match event {
            Event::Connected => call(&self.connected),
            Event::Reconnected => call(&self.reconnected),
            Event::Disconnected => call(&self.disconnected),
            Event::LameDuck => call(&self.lame_duck),
            Event::DiscoveredServers => call(&self.discovered_servers),
            Event::Closed => call(&self.closed),
            Event::Error { sub, error } => {
                if let Some(h) = &self.error {
                    let text = c_string(&error.detail);
                    let sub_ptr = sub.as_ref().map_or(std::ptr::null_mut(), arc_ptr);
                    let status = nats_status::from(error.kind);
                    // SAFETY: as above; `sub` (if any) is held by the event until the call
                    // returns, `text` lives until then.
                    unsafe { (h.f())(h.user_data(), handle, sub_ptr, status, text.as_ptr()) }
                }
            }
        }
    }

    fn wants_discovered_servers(&self) -> bool {
        self.discovered_servers.is_some()
    }
}

/// The client's reconnect delay for a C callback.
pub(crate) fn reconnect_delay(h: Hook<DelayFn>) -> ReconnectDelay {
    Arc::new(move |attempts| {
        // SAFETY: the user's callback with the user's pointer.
        Duration::from_millis(unsafe { (h.f())(h.user_data(), attempts) })
    })
}

/// The client's token source for a C callback: the returned string copied at once.
pub(crate) fn token_source(h: Hook<TokenFn>) -> TokenSource {
    Arc::new(move || {
        // SAFETY: the user's callback with the user's pointer.
        let p = unsafe { (h.f())(h.user_data()) };
        // SAFETY: as documented for `nats_token_callback`, NULL or a NUL-terminated string
        // valid until the callback is called again (it is read before that).
        let token = (!p.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(p) });
        token.and_then(|t| t.to_str().ok()).map(str::to_string)
    })
}

/// The client's nonce signer for a C callback: a 64-byte buffer for the signature.
pub(crate) fn nonce_signer(h: Hook<SignFn>) -> NonceSigner {
    Arc::new(move |nonce: &[u8]| {
        let mut sig = vec![0u8; 64];
        // SAFETY: the user's callback with the user's pointer, a valid nonce and a 64-byte
        // buffer, as documented for `nats_sign_callback`.
        let st = unsafe { (h.f())(h.user_data(), nonce.as_ptr(), nonce.len(), sig.as_mut_ptr()) };
        match st {
            NATS_OK => Ok(sig),
            st => Err(format!("the signing callback failed with status {st:?}")),
        }
    })
}
