//! `nats_subscribe*`, `nats_subscription_*`: subscriptions with callback delivery.
//!
//! Each subscription has a pump task on the runtime, which moves messages from async-nats into
//! the subscription's pending queue, and a dedicated delivery thread, which takes them from
//! the queue in order and calls the C callback. Callbacks therefore never run on runtime
//! threads and may call any blocking API function.

use crate::connection::{arc_from_handle, nats_connection, wait_closed};
use crate::error::*;
use crate::ffi::*;
use crate::message::nats_msg;
use crate::runtime;
use futures_util::{FutureExt, StreamExt};
use std::collections::VecDeque;
use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Message callback: `user_data` as given at subscribe time, the subscription (the same
/// pointer `nats_subscribe` wrote), and the message, borrowed until the callback returns
/// (`nats_msg_clone` keeps it). Runs on the subscription's own delivery thread, one message at
/// a time, in the order received. It may call any function of this library, including
/// publish, request, flush, unsubscribe and free of its own subscription.
pub type nats_msg_callback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, sub: *mut nats_subscription, msg: *const nats_msg),
>;

/// Called exactly once with `user_data` after the last callback of a subscription has
/// returned (after unsubscribe/free, or once the connection closed and queued messages were
/// delivered). Frees whatever `user_data` holds.
pub type nats_user_data_free = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// Messages waiting for the delivery thread.
#[derive(Default)]
struct Pending {
    state: Mutex<PendingState>,
    ready: Condvar,
}

#[derive(Default)]
struct PendingState {
    msgs: VecDeque<async_nats::Message>,
    closed: bool,
    waiting: bool,
}

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, PendingState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, batch: &mut Vec<async_nats::Message>) {
        let mut s = self.lock();
        if s.closed {
            batch.clear();
            return;
        }
        s.msgs.extend(batch.drain(..));
        if std::mem::take(&mut s.waiting) {
            drop(s);
            self.ready.notify_one();
        }
    }

    /// Moves every queued message into `out`, waiting for one if none; false once closed and
    /// empty.
    fn take_all(&self, out: &mut VecDeque<async_nats::Message>) -> bool {
        let mut s = self.lock();
        loop {
            if !s.msgs.is_empty() {
                std::mem::swap(&mut s.msgs, out);
                return true;
            }
            if s.closed {
                return false;
            }
            s.waiting = true;
            s = self.ready.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// No more messages will come; with `discard`, those queued are dropped.
    fn close(&self, discard: bool) {
        let mut s = self.lock();
        s.closed = true;
        if discard {
            s.msgs.clear();
        }
        drop(s);
        self.ready.notify_all();
    }
}

enum Control {
    /// Send UNSUB now; the sender is told once it is queued.
    Unsubscribe(oneshot::Sender<()>),
}

/// A subscription. Created by `nats_subscribe` / `nats_queue_subscribe` / `nats_subscribe_ex`,
/// released with `nats_subscription_free`. Thread safe: its functions may be called from any
/// thread, including from its own callback.
pub struct nats_subscription {
    conn: Arc<nats_connection>,
    pending: Pending,
    active: AtomicBool,
    control: mpsc::UnboundedSender<Control>,
    delivered: AtomicU64,
}

struct UserData(*mut c_void);
// SAFETY: the pointer is only handed back to the user's own callbacks; the user's contract
// (stated in the header) is that user_data may be used from the delivery thread.
unsafe impl Send for UserData {}

impl nats_subscription {
    fn subscribe(
        conn: Arc<nats_connection>,
        subject: &str,
        queue: Option<&str>,
        cb: unsafe extern "C" fn(*mut c_void, *mut nats_subscription, *const nats_msg),
        user_data: *mut c_void,
        user_data_free: nats_user_data_free,
    ) -> Result<Arc<nats_subscription>> {
        conn.check_open()?;
        check_subject(subject, true, "subject")?;
        if let Some(q) = queue {
            check_queue(q)?;
        }
        let fut = async {
            match queue {
                Some(q) => conn.client.queue_subscribe(subject.to_string(), q.to_string()).await,
                None => conn.client.subscribe(subject.to_string()).await,
            }
        };
        let subscriber = runtime::block_on_timeout(&conn.handle, "nats_subscribe", conn.request_timeout, fut)?
            .map_err(|e| match e.kind() {
                async_nats::client::SubscribeErrorKind::InvalidSubject
                | async_nats::client::SubscribeErrorKind::InvalidQueueName => {
                    Error::new(NATS_ERR_INVALID_SUBJECT, e.to_string())
                }
                _ if conn.is_closed() => Error::new(NATS_ERR_CONNECTION_CLOSED, "the connection is closed"),
                _ => Error::new(NATS_ERR_INTERNAL, format!("subscribe: {e}")),
            })?;
        let (control, control_rx) = mpsc::unbounded_channel();
        let sub = Arc::new(nats_subscription {
            conn: conn.clone(),
            pending: Pending::default(),
            active: AtomicBool::new(true),
            control,
            delivered: AtomicU64::new(0),
        });
        let user = UserData(user_data);
        let for_thread = sub.clone();
        std::thread::Builder::new()
            .name("nats-ffi-sub".into())
            .spawn(move || {
                let user = user;
                deliver(for_thread, cb, user.0);
                if let Some(free) = user_data_free {
                    // SAFETY: the user's own function with the user's own pointer, once.
                    unsafe { free(user.0) };
                }
            })
            .map_err(|e| Error::new(NATS_ERR_INTERNAL, format!("cannot start a delivery thread: {e}")))?;
        conn.handle.spawn(pump(subscriber, sub.clone(), control_rx));
        Ok(sub)
    }

    fn unsubscribe(&self) -> Result<()> {
        if !self.active.swap(false, Ordering::AcqRel) {
            return Err(Error::new(NATS_ERR_INVALID_SUBSCRIPTION, "already unsubscribed"));
        }
        self.pending.close(true);
        let (tx, rx) = oneshot::channel();
        if self.control.send(Control::Unsubscribe(tx)).is_ok() && !runtime::on_runtime_thread() {
            // Wait until the UNSUB is queued, so a flush after this call covers it.
            let _ = runtime::block_on_timeout(&self.conn.handle, "nats_subscription_unsubscribe", Duration::from_secs(5), rx);
        }
        if self.conn.is_closed() {
            return Err(Error::new(NATS_ERR_CONNECTION_CLOSED, "the connection is closed"));
        }
        Ok(())
    }
}

/// Moves messages from async-nats into the pending queue, in batches, until unsubscribed, the
/// connection closes or the server side ends.
async fn pump(
    mut subscriber: async_nats::Subscriber,
    sub: Arc<nats_subscription>,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let mut closed = sub.conn.closed.subscribe();
    let mut batch = Vec::with_capacity(256);
    loop {
        tokio::select! {
            biased;
            c = control.recv() => {
                let _ = subscriber.unsubscribe().await;
                if let Some(Control::Unsubscribe(ack)) = c {
                    let _ = ack.send(());
                }
                break;
            }
            _ = wait_closed(&mut closed) => break,
            m = subscriber.next() => match m {
                Some(m) => {
                    batch.push(m);
                    while batch.len() < 256 {
                        match subscriber.next().now_or_never() {
                            Some(Some(m)) => batch.push(m),
                            _ => break,
                        }
                    }
                    sub.pending.push(&mut batch);
                }
                None => break,
            },
        }
    }
    // Deliver what is already queued (unless unsubscribed, which discarded it), then stop.
    sub.pending.close(false);
}

/// The delivery thread's loop.
fn deliver(
    sub: Arc<nats_subscription>,
    cb: unsafe extern "C" fn(*mut c_void, *mut nats_subscription, *const nats_msg),
    user_data: *mut c_void,
) {
    let handle = Arc::as_ptr(&sub).cast_mut();
    let mut batch = VecDeque::new();
    while sub.pending.take_all(&mut batch) {
        while let Some(m) = batch.pop_front() {
            if !sub.active.load(Ordering::Acquire) {
                return;
            }
            let msg = nats_msg::new(m);
            sub.delivered.fetch_add(1, Ordering::Relaxed);
            // SAFETY: the user's callback with the user's pointer; `handle` stays valid while
            // this thread holds `sub`, `msg` while the call lasts.
            unsafe { cb(user_data, handle, &msg) };
        }
    }
}

fn into_handle(sub: Arc<nats_subscription>) -> *mut nats_subscription {
    Arc::into_raw(sub).cast_mut()
}

unsafe fn subscribe_common(
    conn: *mut nats_connection,
    subject: *const c_char,
    queue: Option<*const c_char>,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    user_data_free: nats_user_data_free,
    out: *mut *mut nats_subscription,
) -> nats_status {
    guard(|| {
        handle_arg(conn, "conn")?;
        let subject = str_arg(subject, "subject")?;
        let queue = match queue {
            Some(q) => Some(str_arg(q, "queue")?),
            None => None,
        };
        let cb = cb.ok_or_else(|| null("cb"))?;
        out_arg(out, "out")?;
        let sub = nats_subscription::subscribe(arc_from_handle(conn), subject, queue, cb, user_data, user_data_free)?;
        write_out(out, into_handle(sub));
        Ok(())
    })
}

/// Subscribes to `subject` (wildcards `*` and a final `>` allowed) and calls `cb(user_data,
/// sub, msg)` for each message, on a dedicated thread, in order. On success writes the
/// subscription to `*out`; release it with `nats_subscription_free`. The SUB is queued when
/// this returns; `nats_connection_flush` makes sure the server has it.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (conn, subject, cb, out), `NATS_ERR_INVALID_UTF8`,
/// `NATS_ERR_INVALID_SUBJECT`, `NATS_ERR_CONNECTION_CLOSED`, `NATS_ERR_WOULD_BLOCK_RUNTIME`.
#[no_mangle]
pub unsafe extern "C" fn nats_subscribe(
    conn: *mut nats_connection,
    subject: *const c_char,
    cb: nats_msg_callback,
    user_data: *mut c_void,
    out: *mut *mut nats_subscription,
) -> nats_status {
    subscribe_common(conn, subject, None, cb, user_data, None, out)
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
    subscribe_common(conn, subject, Some(queue), cb, user_data, None, out)
}

/// The full form: `queue` may be NULL (plain subscription); `user_data_free`, if not NULL, is
/// called exactly once with `user_data` after the last callback has returned, on the delivery
/// thread. Errors: as `nats_queue_subscribe`.
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
    subscribe_common(conn, subject, queue, cb, user_data, user_data_free, out)
}

/// Stops the subscription: messages still queued for it are discarded, no callback starts
/// after this returns (one already running on the delivery thread finishes), and the UNSUB
/// is queued to the server. The handle stays valid until `nats_subscription_free`.
/// Errors: `NATS_ERR_NULL_ARGUMENT`, `NATS_ERR_INVALID_SUBSCRIPTION` (already unsubscribed),
/// `NATS_ERR_CONNECTION_CLOSED` (its connection is closed; the subscription is stopped anyway).
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_unsubscribe(sub: *mut nats_subscription) -> nats_status {
    guard(|| handle_arg(sub, "sub")?.unsubscribe())
}

/// Number of messages handed to the callback so far; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_delivered(sub: *const nats_subscription) -> u64 {
    guard_value(0, || sub.as_ref().map_or(0, |s| s.delivered.load(Ordering::Relaxed)))
}

/// Unsubscribes (if still active) and releases the caller's handle. NULL is a no-op. Safe to
/// call from the subscription's own callback (the message and `sub` stay valid until that
/// callback returns). `user_data_free` runs once the delivery thread has finished.
#[no_mangle]
pub unsafe extern "C" fn nats_subscription_free(sub: *mut nats_subscription) {
    guard_void(|| {
        if !sub.is_null() {
            let s = Arc::from_raw(sub.cast_const());
            if s.active.load(Ordering::Acquire) {
                let _ = s.unsubscribe();
            }
        }
    })
}
