//! The publish path between C threads and async-nats, with the reconnect buffer.
//!
//! A publish first tries to hand its message straight to async-nats' send queue (one poll, no
//! waiting). When that queue is full (a burst, or the connection is reconnecting) the message
//! goes into this outbox instead, and a forwarder task on the runtime moves it on in order.
//! While the outbox holds anything, every later publish queues behind it, so order is kept;
//! flush, request, subscribe and close wait for the outbox ahead of them ("barriers").
//! The outbox holds at most `limit` payload bytes: beyond that a publish waits for room while
//! connected (at most request_timeout) and fails with `NATS_ERR_BUFFER_FULL` while not.

use crate::client::error::*;
use async_nats::{HeaderMap, Subject};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

#[derive(Clone)]
pub(crate) struct OutMsg {
    pub subject: Subject,
    pub reply: Option<Subject>,
    pub headers: Option<HeaderMap>,
    pub payload: Bytes,
}

impl OutMsg {
    pub fn size(&self) -> usize {
        self.payload.len() + self.subject.len() + self.headers.as_ref().map_or(0, |h| h.len() * 16)
    }

    pub async fn send(self, client: &async_nats::Client) -> std::result::Result<(), async_nats::PublishError> {
        match (self.reply, self.headers) {
            (None, None) => client.publish(self.subject, self.payload).await,
            (Some(r), None) => client.publish_with_reply(self.subject, r, self.payload).await,
            (None, Some(h)) => client.publish_with_headers(self.subject, h, self.payload).await,
            (Some(r), Some(h)) => client.publish_with_reply_and_headers(self.subject, r, h, self.payload).await,
        }
    }
}

enum Item {
    Msg(OutMsg),
    Barrier(oneshot::Sender<()>),
}

#[derive(Default)]
struct State {
    queue: VecDeque<Item>,
    bytes: usize,
    /// True from the first queued item until the forwarder has sent the last one.
    active: bool,
    closed: bool,
    /// Messages accepted but never sent because the connection closed first.
    lost: u64,
}

/// Whether the calling thread may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Blocking {
    Allowed,
    /// An async runtime's thread: waiting there would stall or deadlock it.
    Refused,
}

pub(crate) struct Outbox {
    state: Mutex<State>,
    room: Condvar,
    wake: Notify,
    limit: usize,
}

/// What `Outbox::publish` needs to know about the connection.
#[allow(clippy::result_large_err)] // the message handed back is the point
pub(crate) trait Link {
    /// One non-waiting attempt to hand `m` to async-nats; gives it back if the queue is full.
    fn try_send(&self, m: OutMsg) -> std::result::Result<Result<()>, OutMsg>;
    fn connected(&self) -> bool;
}

impl Outbox {
    pub fn new(limit: usize) -> Self {
        Outbox { state: Mutex::default(), room: Condvar::new(), wake: Notify::new(), limit }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes `m`: straight to async-nats when possible, else queued here. `wait` bounds the
    /// time spent waiting for room while connected; on a thread that must not block,
    /// waiting becomes `ErrorKind::WouldBlockRuntime`.
    pub fn publish(&self, link: &impl Link, m: OutMsg, wait: Duration, blocking: Blocking) -> Result<()> {
        let mut st = self.lock();
        if st.closed {
            return Err(Error::new(ErrorKind::ConnectionClosed, "the connection is closed"));
        }
        let m = if st.active {
            m
        } else {
            match link.try_send(m) {
                Ok(r) => return r,
                Err(m) => m,
            }
        };
        let size = m.size();
        let mut deadline = None;
        loop {
            if st.closed {
                return Err(Error::new(ErrorKind::ConnectionClosed, "the connection is closed"));
            }
            let connected = link.connected();
            // While connected, one message always fits (however big), so nothing deadlocks.
            if st.bytes + size <= self.limit || (connected && st.queue.is_empty()) {
                st.bytes += size;
                st.queue.push_back(Item::Msg(m));
                if !std::mem::replace(&mut st.active, true) {
                    self.wake.notify_one();
                }
                return Ok(());
            }
            if !connected {
                return Err(Error::new(
                    ErrorKind::BufferFull,
                    format!("not connected and the reconnect buffer ({} bytes) is full", self.limit),
                ));
            }
            if blocking == Blocking::Refused {
                return Err(Error::new(
                    ErrorKind::WouldBlockRuntime,
                    "the publish buffer is full and waiting would block an async runtime thread",
                ));
            }
            let d = *deadline.get_or_insert_with(|| crate::client::runtime::deadline_after(wait));
            let now = Instant::now();
            if now >= d {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("the publish buffer stayed full for {} ms", wait.as_millis()),
                ));
            }
            st = self
                .room
                .wait_timeout(st, (d - now).min(Duration::from_millis(100)))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// A receiver that resolves once everything queued before this call was handed to
    /// async-nats; `None` when nothing is queued.
    pub fn barrier(&self) -> Option<oneshot::Receiver<()>> {
        let mut st = self.lock();
        if !st.active {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        st.queue.push_back(Item::Barrier(tx));
        Some(rx)
    }

    /// Waits (async) for a barrier, if there is anything queued.
    pub async fn drained(&self) {
        if let Some(rx) = self.barrier() {
            let _ = rx.await;
        }
    }

    /// Bytes currently queued.
    pub fn buffered(&self) -> usize {
        self.lock().bytes
    }

    /// Refuses new messages; queued ones are dropped by the forwarder.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
        self.room.notify_all();
    }

    /// The forwarder: runs on the runtime for the connection's life; `on_exit` runs last, once
    /// the connection closed and every loss was reported. `on_lost` is told how many
    /// accepted messages were dropped (the connection closed with them still queued).
    pub async fn forward(
        &self,
        client: async_nats::Client,
        mut closed: tokio::sync::watch::Receiver<bool>,
        on_lost: impl Fn(u64),
        on_exit: impl FnOnce(),
    ) {
        self.forward_until_closed(client, &mut closed, on_lost).await;
        on_exit();
    }

    async fn forward_until_closed(
        &self,
        client: async_nats::Client,
        closed: &mut tokio::sync::watch::Receiver<bool>,
        on_lost: impl Fn(u64),
    ) {
        let mut batch = VecDeque::new();
        loop {
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = crate::client::connection::wait_closed(closed) => self.close(),
            }
            loop {
                {
                    let mut st = self.lock();
                    if st.queue.is_empty() || st.closed {
                        let dropped = st.queue.drain(..).filter(|i| matches!(i, Item::Msg(_))).count() as u64;
                        st.lost += dropped;
                        st.bytes = 0;
                        st.active = false;
                        let closed_now = st.closed;
                        drop(st);
                        self.room.notify_all();
                        if dropped > 0 {
                            on_lost(dropped);
                        }
                        if closed_now {
                            return;
                        }
                        break;
                    }
                    std::mem::swap(&mut st.queue, &mut batch);
                }
                let mut sent = 0;
                let mut failed = 0u64;
                for item in batch.drain(..) {
                    match item {
                        Item::Msg(m) => {
                            sent += m.size();
                            let send = m.send(&client);
                            tokio::select! {
                                r = send => if r.is_err() { failed += 1 },
                                _ = crate::client::connection::wait_closed(closed) => failed += 1,
                            }
                        }
                        Item::Barrier(tx) => {
                            let _ = tx.send(());
                        }
                    }
                }
                let mut st = self.lock();
                st.bytes = st.bytes.saturating_sub(sent);
                st.lost += failed;
                drop(st);
                self.room.notify_all();
                if failed > 0 {
                    on_lost(failed);
                }
            }
        }
    }
}
