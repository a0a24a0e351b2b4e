//! `nats_subscribe*`, `nats_subscription_*`: subscriptions with callback or synchronous
//! delivery.

use crate::capi::args::*;
use crate::capi::callback::nats_user_data_free;
use crate::capi::connection::nats_connection;
use crate::capi::guard::*;
use crate::capi::handle::*;
use crate::capi::msg::{borrowed_msg, nats_msg, CMsg};
use crate::capi::status::*;
use crate::client::delivery::{Callback, MessageHandler};
use crate::client::message::Message;
use crate::client::subscription::{self, Delivery, Subscription};
use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

/// Message callback: `user_data` as given at subscribe time, the subscription (the same
/// pointer `nats_subscribe` wrote), and the message, borrowed until the callback returns
/// (`nats_msg_clone` keeps it). Runs on the subscription's delivery lane — its own thread (the
/// default), the shared pool (`nats_options_use_shared_delivery`) or the application's thread
/// in `nats_dispatcher_dispatch` (`nats_options_set_dispatcher`) — one message at a time, in
/// the order received. It may call any function of this library, including
/// publish, request, flush, unsubscribe and free of its own subscription.
/// Must not throw: a C++ exception (or any unwinding) escaping a callback cannot cross the
/// library and terminates the process; catch everything inside (see the header's notes).
pub type nats_msg_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, sub: *mut nats_subscription, msg: *const nats_msg)>;

type MsgFn = unsafe extern "C" fn(*mut c_void, *mut nats_subscription, *const nats_msg);

/// Default pending limit of a subscription in messages, as nats.c: 65536.
pub const NATS_DEFAULT_PENDING_MSGS: i64 = 65536;
/// Default pending limit of a subscription in bytes, as nats.c: 64 MiB.
pub const NATS_DEFAULT_PENDING_BYTES: i64 = 64 * 1024 * 1024;
const _: () = assert!(NATS_DEFAULT_PENDING_MSGS == subscription::DEFAULT_PENDING_MSGS);
const _: () = assert!(NATS_DEFAULT_PENDING_BYTES == subscription::DEFAULT_PENDING_BYTES);

/// A subscription. Created by `nats_subscribe` / `nats_queue_subscribe` / `nats_subscribe_ex`
/// (callback delivery) or `nats_subscribe_sync` / `nats_queue_subscribe_sync` (the caller
/// pulls with `nats_subscription_next_msg`), released with `nats_subscription_free`. Thread
/// safe: its functions may be called from any thread, including from its own callback.
///
/// Functions: `nats_pull_consumer_consume`, `nats_jetstream_subscribe`,
/// `nats_jetstream_subscribe_sync`, `nats_jetstream_subscribe_ordered`, `nats_subscribe`,
/// `nats_queue_subscribe`, `nats_subscribe_ex`, `nats_subscribe_sync`, `nats_queue_subscribe_sync`,
/// `nats_subscription_next_msg`, `nats_subscription_unsubscribe`,
/// `nats_subscription_auto_unsubscribe`, `nats_subscription_drain`,
/// `nats_subscription_set_pending_limits`, `nats_subscription_pending_limits`,
/// `nats_subscription_pending`, `nats_subscription_max_pending`,
/// `nats_subscription_clear_max_pending`, `nats_subscription_dropped`,
/// `nats_subscription_subject`, `nats_subscription_queue`, `nats_subscription_id`,
/// `nats_subscription_delivered`, `nats_subscription_is_valid`, `nats_jetstream_subscribe_subject`,
/// `nats_subscription_consumer_info`, `nats_subscription_free`.
pub struct nats_subscription {
    _private: [u8; 0],
}

// C shares a `nats_subscription`: C holds one strong reference (see capi::handle).
impl Castable for nats_subscription {
    type Rust = Subscription;
}
impl ArcHandle for nats_subscription {}

/// A `nats_msg_callback` with its `user_data` and release function, as a subscription's
/// handler. `OWNED` says whether the library owns `user_data`: from the subscription's
/// acceptance on (`MessageHandler::accepted` turns the caller's handler into an owned one),
/// dropping the handler — once its last message was delivered — runs `user_data_free`; a
/// subscribe that fails before leaves `user_data` to the caller. A type parameter rather than
/// a flag (as `CCallback` has) keeps it at 24 bytes: a 32-byte heap chunk instead of 48, and
/// every callback subscription holds one.
pub(crate) struct CMessageHandler<const OWNED: bool = false> {
    f: MsgFn,
    user_data: *mut c_void,
    free: nats_user_data_free,
}

const _: () = assert!(std::mem::size_of::<CMessageHandler>() <= 24, "a C message handler outgrew its 32-byte chunk");

// SAFETY: as `CCallback`'s: the pointer is only ever handed back to the user's own functions,
// and the header states that callbacks run on library threads.
unsafe impl<const OWNED: bool> Send for CMessageHandler<OWNED> {}

impl CMessageHandler {
    pub(crate) fn new(f: MsgFn, user_data: *mut c_void, free: nats_user_data_free) -> Self {
        CMessageHandler { f, user_data, free }
    }

    pub(crate) fn boxed(f: MsgFn, user_data: *mut c_void, free: nats_user_data_free) -> Callback {
        Box::new(Self::new(f, user_data, free))
    }
}

impl<const OWNED: bool> CMessageHandler<OWNED> {
    /// The same callback, whose `user_data` the library owns from now on.
    pub(crate) fn into_owned(self) -> CMessageHandler<true> {
        let owned = CMessageHandler { f: self.f, user_data: self.user_data, free: self.free };
        // Released by `owned` now, not by this one.
        std::mem::forget(self);
        owned
    }

    /// Runs the user's callback on `msg`.
    pub(crate) fn call(&mut self, sub: &Arc<Subscription>, msg: &CMsg) {
        // SAFETY: the user's callback with the user's pointer; the subscription's handle
        // stays valid while the delivery lane holds `sub`, the message while the call lasts.
        unsafe { (self.f)(self.user_data, arc_ptr(sub), borrowed_msg(msg)) };
    }
}

impl<const OWNED: bool> Drop for CMessageHandler<OWNED> {
    fn drop(&mut self) {
        if let (true, Some(free)) = (OWNED, self.free) {
            // SAFETY: the user's release function with the user's pointer, once (an owned
            // handler is dropped once, and `into_owned` forgets the one it replaces), after
            // the last call: every call borrows this handler.
            unsafe { free(self.user_data) }
        }
    }
}

impl<const OWNED: bool> MessageHandler for CMessageHandler<OWNED> {
    fn accepted(self: Box<Self>) -> Callback {
        Box::new((*self).into_owned())
    }

    fn on_message(&mut self, sub: &Arc<Subscription>, msg: Message) {
        self.call(sub, &CMsg::from(msg));
    }
}

/// Hands a new subscription to C through `out`, then lets its callbacks run: a callback may
/// free the handle it is given, so none may run before the caller holds it.
///
/// Relies on C's contract (see `capi`): `out` must be valid for a write.
pub(crate) fn sub_out(out: *mut *mut nats_subscription, sub: Arc<Subscription>) {
    arc_out(out, sub.clone());
    sub.start_callbacks();
}

#[allow(clippy::too_many_arguments)]
fn subscribe_common(
    conn: *mut nats_connection,
    subject: *const c_char,
    queue: Option<*const c_char>,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
    delivery: Delivery,
    out: *mut *mut nats_subscription,
) -> nats_status {
    guard(|| {
        borrow(conn, "conn")?;
        let subject = str_arg(subject, "subject")?;
        let queue = match queue {
            Some(q) => Some(str_arg(q, "queue")?),
            None => None,
        };
        let cb = match delivery {
            Delivery::Synchronous => None,
            Delivery::Callback => {
                Some(CMessageHandler::boxed(cb.ok_or_else(|| null("cb"))?, user_data, user_data_free))
            }
        };
        out_arg(out, "out")?;
        let sub = Subscription::subscribe(clone_arc(conn, "conn")?, subject, queue, cb)?;
        sub_out(out, sub);
        Ok(())
    })
}

/// Subscribes to `subject` (wildcards `*` and a final `>` allowed) and calls `cb(user_data,
/// sub, msg)` for each message, on a dedicated thread, in order. On success writes the
/// subscription to `*out`; release it with `nats_subscription_free`. The SUB is queued when
/// this returns, in the connection's outgoing buffer after every message this connection
/// published before the call (so it never receives those); `nats_connection_flush` makes
/// sure the server has it. Never waits: a burst of subscribes goes out in a few writes, and
/// while reconnecting the SUB waits for the connection like a buffered publish (it does not
/// count against the reconnect buffer). No callback runs before `*out` is written, so a
/// callback may free `sub` from its first call.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (conn, subject, cb, out), `NATS_ERR_INVALID_UTF8`,
/// `NATS_ERR_INVALID_SUBJECT` (also when subject and queue would make a protocol line longer
/// than `NATS_MAX_CONTROL_LINE`), `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_subscribe(
    conn: *mut nats_connection,
    subject: *const c_char,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    out: *mut *mut nats_subscription,
) -> nats_status {
    subscribe_common(conn, subject, None, cb, user_data, None, Delivery::Callback, out)
}

/// As `nats_subscribe`, as a member of queue group `queue`: each message is delivered to one
/// member of the group only. Errors: as `nats_subscribe`; `NATS_ERR_INVALID_SUBJECT` also for
/// an empty queue name or one with whitespace.
#[no_mangle]
pub unsafe extern "C" fn nats_queue_subscribe(
    conn: *mut nats_connection,
    subject: *const c_char,
    queue: *const c_char,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    out: *mut *mut nats_subscription,
) -> nats_status {
    subscribe_common(conn, subject, Some(queue), cb, user_data, None, Delivery::Callback, out)
}

/// The full form: `queue` may be NULL (plain subscription); `user_data_free`, if not NULL, is
/// called exactly once with `user_data` after the last callback has returned, on the delivery
/// thread. When the call fails it is not called: `user_data` stays the caller's.
/// Errors: as `nats_queue_subscribe`.
#[no_mangle]
pub unsafe extern "C" fn nats_subscribe_ex(
    conn: *mut nats_connection,
    subject: *const c_char,
    queue: *const c_char,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
    out: *mut *mut nats_subscription,
) -> nats_status {
    let queue = if queue.is_null() { None } else { Some(queue) };
    subscribe_common(conn, subject, queue, cb, user_data, user_data_free, Delivery::Callback, out)
}

/// Subscribes to `subject` for synchronous delivery: messages queue up (within the pending
/// limits) until taken with `nats_subscription_next_msg`. Release with
/// `nats_subscription_free`. Errors: as `nats_subscribe` (no `cb`).
#[no_mangle]
pub unsafe extern "C" fn nats_subscribe_sync(
    conn: *mut nats_connection,
    subject: *const c_char,
    out: *mut *mut nats_subscription,
) -> nats_status {
    subscribe_common(conn, subject, None, None, std::ptr::null_mut(), None, Delivery::Synchronous, out)
}

/// As `nats_subscribe_sync`, as a member of queue group `queue`.
#[no_mangle]
pub unsafe extern "C" fn nats_queue_subscribe_sync(
    conn: *mut nats_connection,
    subject: *const c_char,
    queue: *const c_char,
    out: *mut *mut nats_subscription,
) -> nats_status {
    subscribe_common(conn, subject, Some(queue), None, std::ptr::null_mut(), None, Delivery::Synchronous, out)
}

/// Takes the next message of a synchronous subscription, waiting at most `timeout_ms`
/// (0: do not wait, only take one already there). On success writes it to `*msg`, owned by
/// the caller (`nats_msg_free`). Messages that arrived before the subscription ended
/// (auto-unsubscribe, drain, connection closed) are still returned; after them, the end is
/// reported. Errors: `NATS_ERR_TIMEOUT` (none arrived in time), `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_ARGUMENT` (a callback subscription), `NATS_ERR_INVALID_SUBSCRIPTION`
/// (unsubscribed, or ended and empty), `NATS_ERR_CONNECTION_CLOSED` (closed and empty),
/// `NATS_ERR_WOULD_BLOCK_RUNTIME`. Several threads may wait on one subscription; each message
/// goes to one of them.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_next_msg(
    sub: *mut nats_subscription,
    timeout_ms: u64,
    msg: *mut *mut nats_msg,
) -> nats_status {
    guard(|| {
        let s = borrow(sub, "sub")?;
        out_arg(msg, "msg")?;
        let m = s.next_msg(Duration::from_millis(timeout_ms))?;
        box_out(msg, CMsg::from(m));
        Ok(())
    })
}

/// Stops the subscription: messages still queued for it are discarded, no callback starts
/// after this returns (one already running finishes), and the UNSUB
/// is queued to the server. The handle stays valid until `nats_subscription_free`.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_SUBSCRIPTION` (already unsubscribed,
/// or already ended by auto-unsubscribe or drain), `NATS_ERR_CONNECTION_CLOSED` (its
/// connection is closed; the subscription is stopped anyway).
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_unsubscribe(sub: *mut nats_subscription) -> nats_status {
    guard(|| clone_arc(sub, "sub")?.unsubscribe())
}

/// Unsubscribes automatically once `max` messages in total (counting those already
/// received) have arrived: exactly `max` are delivered, then the subscription ends (and
/// `user_data_free` runs). If `max` were already received, it ends at once. The UNSUB is
/// queued when this returns. Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_ARGUMENT`
/// (`max` 0), `NATS_ERR_INVALID_SUBSCRIPTION` (unsubscribed or ended),
/// `NATS_ERR_CONNECTION_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_auto_unsubscribe(sub: *mut nats_subscription, max: u64) -> nats_status {
    guard(|| clone_arc(sub, "sub")?.auto_unsubscribe(max))
}

/// Drains the subscription: the server is told to stop sending (UNSUB), and every message it
/// sent before that is still delivered (to the callback, or by `nats_subscription_next_msg`).
/// With `timeout_ms` > 0, waits until all of them were delivered (callback subscriptions: the
/// last callback returned; synchronous ones: the queue was emptied by the reader), at most
/// that long; 0 starts the drain and returns at once. Called from the subscription's own
/// callback, it never waits. Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_SUBSCRIPTION`
/// (unsubscribed or already ended), `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_TIMEOUT`.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_drain(sub: *mut nats_subscription, timeout_ms: u64) -> nats_status {
    guard(|| borrow(sub, "sub")?.drain(Duration::from_millis(timeout_ms)))
}

/// Sets the pending limits: how many messages and payload bytes may be pending (waiting for
/// the callback or being processed by it, or waiting for `next_msg`). Beyond them, new messages are dropped (counted by
/// `nats_subscription_dropped`) and the error callback gets `NATS_ERR_SLOW_CONSUMER` with
/// this subscription, once per episode (until the queue empties). A negative value means no
/// limit. Defaults: 65536 messages, 64 MiB. Errors: `NATS_ERR_NULL_ARGUMENT`,
/// `NATS_ERR_INVALID_ARGUMENT` (a limit of 0).
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_set_pending_limits(
    sub: *mut nats_subscription,
    msgs: i64,
    bytes: i64,
) -> nats_status {
    guard(|| borrow(sub, "sub")?.set_pending_limits(msgs, bytes))
}

/// Writes the pending limits (-1 = none) to `*msgs` and `*bytes`; either may be NULL.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (sub).
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_pending_limits(
    sub: *const nats_subscription,
    msgs: *mut i64,
    bytes: *mut i64,
) -> nats_status {
    guard(|| {
        write_pair(msgs, bytes, borrow(sub, "sub")?.pending_limits());
        Ok(())
    })
}

/// Writes a (messages, bytes) pair to the out-params C passed; either may be NULL.
fn write_pair(msgs: *mut i64, bytes: *mut i64, (m, b): (i64, i64)) {
    if !msgs.is_null() {
        write_out(msgs, m);
    }
    if !bytes.is_null() {
        write_out(bytes, b);
    }
}

/// Writes how many messages and payload bytes are pending to `*msgs` and `*bytes` (either may
/// be NULL): received and not yet delivered, counting the one a callback is processing (until
/// it returns) or, for synchronous subscriptions, those not yet taken. The pending limits
/// apply to these counts.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (sub).
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_pending(
    sub: *const nats_subscription,
    msgs: *mut i64,
    bytes: *mut i64,
) -> nats_status {
    guard(|| {
        write_pair(msgs, bytes, borrow(sub, "sub")?.pending());
        Ok(())
    })
}

/// Writes the highest pending counts seen so far (see `nats_subscription_pending`).
/// Errors: `NATS_ERR_NULL_ARGUMENT` (sub).
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_max_pending(
    sub: *const nats_subscription,
    msgs: *mut i64,
    bytes: *mut i64,
) -> nats_status {
    guard(|| {
        write_pair(msgs, bytes, borrow(sub, "sub")?.max_pending());
        Ok(())
    })
}

/// Forgets the highest pending counts seen so far: `nats_subscription_max_pending` reports
/// the highest from now on (nats.c's `natsSubscription_ClearMaxPending`).
/// Errors: `NATS_ERR_NULL_ARGUMENT` (sub).
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_clear_max_pending(sub: *mut nats_subscription) -> nats_status {
    guard(|| {
        borrow(sub, "sub")?.clear_max_pending();
        Ok(())
    })
}

/// The subject `sub` was made with, NUL-terminated and owned by the subscription (valid until
/// `nats_subscription_free`): for JetStream push subscriptions the consumer's deliver subject,
/// for an ordered consumer its deliver inbox, for `nats_pull_consumer_consume` the empty
/// string. NULL for NULL. Thread safe.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_subject(sub: *const nats_subscription) -> *const c_char {
    read_or(sub, std::ptr::null(), |s| s.subject_nul().as_ptr().cast())
}

/// The queue group `sub` belongs to (JetStream push: the consumer's deliver group),
/// NUL-terminated and owned by the subscription (valid until `nats_subscription_free`); NULL
/// when it belongs to none, or for NULL. Thread safe.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_queue(sub: *const nats_subscription) -> *const c_char {
    read_or(sub, std::ptr::null(), |s| s.queue_nul().map_or(std::ptr::null(), |q| q.as_ptr().cast()))
}

/// The subscription's protocol id on its connection (the `sid` in the server's connection
/// details, `/connz?subs=detail`), at least 1 for core subscriptions; 0 for JetStream
/// subscriptions (whose id the library does not track) and for NULL. Thread safe.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_id(sub: *const nats_subscription) -> u64 {
    read_or(sub, 0, Subscription::id)
}

/// Writes the current info of the JetStream consumer a subscription delivers from to `*info`
/// (→ `nats_consumer_info_free`; nats.c's `natsSubscription_GetConsumerInfo`): subscriptions
/// from `nats_jetstream_subscribe`, `_subscribe_sync` and `nats_pull_consumer_consume`.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_ARGUMENT` (a core subscription, or an
/// ordered one, whose consumer the library recreates under new names),
/// `NATS_ERR_NOT_FOUND` (the consumer was deleted), else as `nats_jetstream_consumer_info`.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_consumer_info(
    sub: *const nats_subscription,
    info: *mut *mut crate::capi::consumer::nats_consumer_info,
) -> nats_status {
    guard(|| {
        let s = borrow(sub, "sub")?;
        out_arg(info, "info")?;
        let i = s.consumer_info()?;
        box_out(info, crate::capi::consumer::CConsumerInfo::from(&i));
        Ok(())
    })
}

/// Number of messages dropped because the pending limits were reached; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_dropped(sub: *const nats_subscription) -> u64 {
    read(sub, Subscription::dropped)
}

/// Number of messages delivered so far: callbacks that returned, or messages taken with
/// `nats_subscription_next_msg`; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_delivered(sub: *const nats_subscription) -> u64 {
    read(sub, Subscription::delivered)
}

/// True while the subscription may still deliver messages: not unsubscribed, and not ended
/// with its queue empty. False for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_is_valid(sub: *const nats_subscription) -> bool {
    read(sub, Subscription::is_valid)
}

/// Unsubscribes (if still active) and releases the caller's handle. NULL is a no-op. Safe to
/// call from the subscription's own callback (the message and `sub` stay valid until that
/// callback returns). `user_data_free` runs once the delivery lane has finished (with a dispatcher: inside a
/// later `nats_dispatcher_dispatch`).
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_free(sub: *mut nats_subscription) {
    guard_void(|| {
        if let Some(s) = free_arc(sub) {
            s.release();
        }
    })
}
