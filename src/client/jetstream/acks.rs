//! Acknowledgements of async JetStream publishes, through the context's own inbox.
//!
//! An async publish goes out like any publish (encoded into the connection's frame buffer,
//! see `client::publish`) with a reply subject `<inbox>.<token>`; one wildcard subscription
//! per context receives every acknowledgement and finds its publish by the token. The
//! subscription hands its messages over on async-nats' connection task (patch 6, no channel
//! and no task of its own), which settles each read's acknowledgements together: one lock
//! of the table and one job for the ack lane per read, not per acknowledgement. Timeouts
//! are checked by a sweep; retries send the same frame again with the same token.

use crate::client::error::*;
use crate::client::jetstream::context::{code_error, no_stream_answered, AckHandler, Outgoing, PublishAck};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Known outcomes, each with its publish's handler, in the order they were settled.
pub(crate) type Outcomes = Vec<(AckHandler, Result<PublishAck>)>;

/// Where outcomes go once known (the context's ack lane, as one job).
pub(crate) type Deliver = Box<dyn Fn(Outcomes) + Send + Sync>;

/// Sends a publish's frame (again), without waiting for room in the connection's buffer
/// (`ErrorKind::WouldBlockRuntime` when there is none); errors when it could not be queued.
pub(crate) type Resend = Box<dyn Fn(&Outgoing, &str) -> Result<()> + Send + Sync>;

/// Waits until a publish's frame would fit in the connection's buffer (refused on the
/// runtime's threads).
pub(crate) type WaitForRoom = Box<dyn Fn(&Outgoing, &str) -> Result<()> + Send + Sync>;

/// How soon a retry finding no room in the connection's buffer tries again.
const ROOM_RETRY: Duration = Duration::from_millis(5);

/// A publish waiting for its acknowledgement.
struct InFlight {
    out: Outgoing,
    handler: AckHandler,
    deadline: Instant,
    limit: Duration,
    retries_left: u32,
    /// Under way again after a transient failure: not expired by the sweep meanwhile.
    retrying: bool,
}

pub(crate) struct AckRouter {
    /// `<inbox>.`: a publish's reply subject is this and its token.
    prefix: String,
    next: AtomicU64,
    pending: Mutex<HashMap<u64, InFlight>>,
    deliver: Deliver,
    resend: Resend,
    wait_for_room: WaitForRoom,
}

impl AckRouter {
    /// Subscribes `<inbox>.*` (acknowledgements go to an [`AckSink`]) and starts the task
    /// that expires publishes that got none in time.
    pub(crate) fn start(
        client: &async_nats::Client,
        handle: &crate::client::runtime::RtHandle,
        deliver: Deliver,
        (resend, wait_for_room): (Resend, WaitForRoom),
    ) -> Result<Arc<AckRouter>> {
        let prefix = format!("{}.", client.new_inbox());
        let router = Arc::new(AckRouter {
            prefix,
            next: AtomicU64::new(1),
            pending: Mutex::default(),
            deliver,
            resend,
            wait_for_room,
        });
        let subject = format!("{}*", router.prefix);
        let sink = Arc::new(AckSink { subject, router: Arc::downgrade(&router) });
        let subscribe = client.subscribe_with_handler(sink);
        crate::client::runtime::block_on(handle, "nats_jetstream_publish_async", subscribe)?.map_err(|e| {
            Error::new(ErrorKind::ConnectionClosed, format!("cannot subscribe for acknowledgements: {e}"))
        })?;
        let weak = Arc::downgrade(&router);
        handle.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            loop {
                tick.tick().await;
                let Some(r) = weak.upgrade() else { return };
                r.expire(Instant::now());
            }
        });
        Ok(router)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, InFlight>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `out` with a reply subject of its own and waits for its acknowledgement (at
    /// most `limit` per attempt), which goes to `handler`. Sent while the table is locked,
    /// so its acknowledgement cannot be routed before it is registered; but room in the
    /// connection's buffer is waited for with the table unlocked: the runtime tasks that
    /// route acknowledgements and expire publishes take it, and blocked there they stopped
    /// the runtime that makes the room.
    pub(crate) fn send(&self, out: Outgoing, handler: AckHandler, limit: Duration) -> Result<()> {
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        let reply = self.reply(token);
        loop {
            let mut pending = self.lock();
            match (self.resend)(&out, &reply) {
                Ok(()) => {
                    let retries_left = out.retry.attempts;
                    let deadline = Instant::now() + limit;
                    pending.insert(token, InFlight { out, handler, deadline, limit, retries_left, retrying: false });
                    return Ok(());
                }
                Err(e) if e.kind == ErrorKind::WouldBlockRuntime => {
                    drop(pending);
                    (self.wait_for_room)(&out, &reply)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The reply subject of `token`.
    fn reply(&self, token: u64) -> String {
        format!("{}{token}", self.prefix)
    }

    /// The outcome an acknowledgement message carries.
    pub(crate) fn outcome(m: &async_nats::Message) -> Result<PublishAck> {
        if m.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
            return Err(no_stream_answered());
        }
        match serde_json::from_slice::<async_nats::jetstream::response::Response<PublishAck>>(&m.payload) {
            Ok(async_nats::jetstream::response::Response::Ok(ack)) => Ok(ack),
            Ok(async_nats::jetstream::response::Response::Err { error }) => Err(code_error("publish", &error)),
            Err(e) => Err(Error::new(ErrorKind::JetStream, format!("publish: unreadable acknowledgement: {e}"))),
        }
    }

    /// The token an acknowledgement's subject names, with the outcome it carries.
    fn read(&self, m: &async_nats::Message) -> Option<(u64, Result<PublishAck>)> {
        let token = m.subject.as_str().strip_prefix(&self.prefix)?.parse::<u64>().ok()?;
        Some((token, Self::outcome(m)))
    }

    /// Attempts ended with these results: each is retried when transient and attempts
    /// remain, else delivered (all together, after the table is unlocked).
    fn settle_all(self: &Arc<Self>, results: impl IntoIterator<Item = (u64, Result<PublishAck>)>) {
        let mut outcomes = Vec::new();
        let mut retries = Vec::new();
        let mut pending = self.lock();
        for (token, result) in results {
            let Some(flight) = pending.get_mut(&token) else { continue };
            if let Err(e) = &result {
                if flight.retries_left > 0 && flight.out.retry.applies_to(e.kind) {
                    flight.retries_left -= 1;
                    flight.retrying = true;
                    retries.push((token, flight.out.retry.wait));
                    continue;
                }
            }
            let Some(flight) = pending.remove(&token) else { continue };
            let result = match result {
                Err(e) if flight.out.retry.attempts > 0 => {
                    let tried = flight.out.retry.attempts - flight.retries_left + 1;
                    Err(Error::new(e.kind, format!("{} (after {tried} attempt(s))", e.detail)))
                }
                other => other,
            };
            outcomes.push((flight.handler, result));
        }
        drop(pending);
        for (token, wait) in retries {
            self.retry_after(token, wait);
        }
        if !outcomes.is_empty() {
            (self.deliver)(outcomes);
        }
    }

    /// Sends `token`'s frame again after `wait` (on the runtime; the sweep leaves it alone
    /// meanwhile).
    fn retry_after(self: &Arc<Self>, token: u64, wait: Duration) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            if let Some(r) = me.upgrade() {
                r.resend_now(token);
            }
        });
    }

    fn resend_now(self: &Arc<Self>, token: u64) {
        let reply = self.reply(token);
        let sent = {
            let mut pending = self.lock();
            match pending.get_mut(&token) {
                Some(f) => match (self.resend)(&f.out, &reply) {
                    // No room in the connection's buffer (this runs on the runtime, which
                    // must not wait): still retrying, a moment later.
                    Err(e) if e.kind == ErrorKind::WouldBlockRuntime => {
                        drop(pending);
                        return self.retry_after(token, ROOM_RETRY);
                    }
                    sent => {
                        f.deadline = Instant::now() + f.limit;
                        f.retrying = false;
                        Some(sent)
                    }
                },
                None => None,
            }
        };
        if let Some(Err(e)) = sent {
            self.settle_final(token, Err(e));
        }
    }

    /// Delivers `result` for `token` without any further retry.
    fn settle_final(&self, token: u64, result: Result<PublishAck>) {
        let flight = self.lock().remove(&token);
        if let Some(flight) = flight {
            (self.deliver)(vec![(flight.handler, result)]);
        }
    }

    /// Publishes whose acknowledgement did not come in time: retried (with a msg_id) or
    /// failed with a timeout.
    fn expire(self: &Arc<Self>, now: Instant) {
        let late: Vec<(u64, Duration)> =
            self.lock().iter().filter(|(_, f)| !f.retrying && f.deadline <= now).map(|(t, f)| (*t, f.limit)).collect();
        self.settle_all(late.into_iter().map(|(token, limit)| {
            (token, Err(Error::new(ErrorKind::Timeout, format!("no acknowledgement within {} ms", limit.as_millis()))))
        }));
    }

    /// Every publish still waiting fails with `e` (the connection closed).
    fn fail_all(&self, e: Error) {
        let failed: Outcomes = self.lock().drain().map(|(_, f)| (f.handler, Err(e.clone()))).collect();
        if !failed.is_empty() {
            (self.deliver)(failed);
        }
    }
}

/// Takes a context's acknowledgements on async-nats' connection task (patch 6) and settles
/// each run of them together (patch 17). When the subscription ends (the connection closed),
/// every publish still waiting fails.
struct AckSink {
    /// `<prefix>*`: every acknowledgement's reply subject.
    subject: String,
    router: Weak<AckRouter>,
}

impl async_nats::SubscriptionHandler for AckSink {
    fn subject(&self) -> &str {
        &self.subject
    }

    fn on_messages(self: Arc<Self>, messages: &mut Vec<async_nats::Message>) -> bool {
        let Some(router) = self.router.upgrade() else { return false };
        // This runs on async-nats' connection task: a panic must not take it down. (What a
        // panic leaves unsettled fails by the sweep, after its timeout.)
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            router.settle_all(messages.iter().filter_map(|m| router.read(m)))
        }));
        true
    }

    fn ended(self: Arc<Self>) {
        if let Some(r) = self.router.upgrade() {
            let closed = Error::new(ErrorKind::ConnectionClosed, "the connection closed before the acknowledgement");
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.fail_all(closed)));
        }
    }
}
