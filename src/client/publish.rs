//! The publish path: frames encoded on the caller's thread, handed to async-nats in batches.
//!
//! A publish encodes its protocol frame (`PUB` / `HPUB` with the payload) into one buffer per
//! connection, under a short lock, on the caller's thread: no allocation per message and no
//! wake-up per message. A forwarder task on the runtime hands the whole buffer to async-nats
//! at once (third_party patch 4: `Client::publish_frames`); it is woken only when the buffer
//! turns non-empty, and takes whatever accumulated while it was busy.
//!
//! While the connection is down the forwarder holds back: frames stay here, at most `limit`
//! bytes of publishes (payload, subject, reply and headers); beyond that a publish fails with
//! `NATS_ERR_BUFFER_FULL`. While connected, at most `QUEUED_WHILE_CONNECTED` bytes wait here
//! and `IN_FLIGHT` buffers are lent to async-nats; beyond that a publish waits for room (at
//! most request_timeout): a publisher faster than the socket gets its buffers back from the
//! pool instead of new memory. A subscribe's `SUB` goes into the same buffer (its subscription
//! registered with async-nats first, third_party patch 12), so it is in order with the
//! publishes around it, and so does its `UNSUB`; so does a blocking request's `PUB` (its
//! reply registered first, patch 14). Flush, async requests and close wait until everything
//! queued before them was handed over ("barriers"), so they stay in order after it.
//!
//! A publish after a pause skips the forwarder: when nothing is queued here and the
//! connection has nothing else to write, its frame is written to the socket on the caller's
//! thread (patch 13; see `Outbox::publish`). So does a stream of small messages, 32 KiB at a
//! time, waiting for the socket (patch 18; see `Outbox::write_ahead`), while the forwarder
//! only takes its end.

use crate::client::error::*;
use async_nats::HeaderMap;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify, OwnedSemaphorePermit, Semaphore};

/// A message to publish, borrowed from the caller for the time it takes to encode it.
#[derive(Clone, Copy)]
pub(crate) struct OutMsg<'a> {
    pub subject: &'a str,
    pub reply: Option<&'a str>,
    pub headers: Option<&'a HeaderMap>,
    pub payload: &'a [u8],
}

impl OutMsg<'_> {
    /// What the message counts against the buffer limit: payload, subject, reply, headers.
    fn size(&self, header_len: usize) -> usize {
        self.payload.len() + self.subject.len() + self.reply.map_or(0, str::len) + header_len
    }
}

/// The header block of an `HPUB` (`NATS/1.0`, one line per value, a blank line), as
/// async-nats writes it; empty for none.
#[inline]
pub(crate) fn header_block(headers: Option<&HeaderMap>) -> Vec<u8> {
    match headers.filter(|h| !h.is_empty()) {
        None => Vec::new(),
        Some(h) => encode_headers(h),
    }
}

fn encode_headers(h: &HeaderMap) -> Vec<u8> {
    let mut buf = b"NATS/1.0\r\n".to_vec();
    for (name, values) in h.iter() {
        for v in values {
            buf.extend_from_slice(AsRef::<str>::as_ref(name).as_bytes());
            buf.extend_from_slice(b": ");
            buf.extend_from_slice(v.as_str().as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
    }
    buf.extend_from_slice(b"\r\n");
    buf
}

/// The size at which the buffer being filled is closed and handed over whole, and the most
/// a buffer grows to by doubling (see `make_room`).
const BUFFER_STEP: usize = 256 * 1024;

/// Below this many bytes, the forwarder copies the frames it hands over rather than taking
/// their buffer (see `Outbox::take_frames`): a copy of 16 KiB costs about a microsecond.
const COPY_OUT_BELOW: usize = 16 * 1024;

/// Appends `n` in decimal.
fn put_decimal(buf: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// The least a fresh frame buffer starts with.
const FIRST_BUFFER: usize = 4 * 1024;

/// Makes room for a frame of at most `need` bytes at the end of `buf`.
fn make_room(buf: &mut Vec<u8>, need: usize) {
    if buf.capacity() - buf.len() < need {
        // Doubling, up to `BUFFER_STEP`: room for many frames at once (growing by one frame
        // at a time would copy the buffer over and over), yet a fresh buffer that carries a
        // few frames is not 256 KiB. Buffers come back through the pool at their size.
        let room = (buf.capacity() * 2).clamp(FIRST_BUFFER, BUFFER_STEP).max(buf.len() + need);
        buf.reserve_exact(room - buf.len());
    }
}

/// The most bytes `encode` writes for `m` with this header block.
fn frame_len(m: &OutMsg, headers: &[u8]) -> usize {
    b"HPUB ".len() + m.subject.len() + m.reply.map_or(0, |r| r.len() + 1) + 48 + headers.len() + m.payload.len()
}

/// Encodes `m` as a protocol frame at the end of `buf`.
fn encode(buf: &mut Vec<u8>, m: &OutMsg, headers: &[u8]) {
    let verb: &[u8] = if headers.is_empty() { b"PUB " } else { b"HPUB " };
    make_room(buf, frame_len(m, headers));
    buf.extend_from_slice(verb);
    buf.extend_from_slice(m.subject.as_bytes());
    buf.push(b' ');
    if let Some(r) = m.reply {
        buf.extend_from_slice(r.as_bytes());
        buf.push(b' ');
    }
    if !headers.is_empty() {
        put_decimal(buf, headers.len() as u64);
        buf.push(b' ');
    }
    put_decimal(buf, (headers.len() + m.payload.len()) as u64);
    buf.extend_from_slice(b"\r\n");
    buf.extend_from_slice(headers);
    buf.extend_from_slice(m.payload);
    buf.extend_from_slice(b"\r\n");
}

/// `m` as one protocol frame of its own, for a caller that hands it to async-nats itself.
pub(crate) fn frame(m: &OutMsg) -> Vec<u8> {
    let headers = header_block(m.headers);
    let mut buf = Vec::with_capacity(frame_len(m, &headers));
    encode(&mut buf, m, &headers);
    buf
}

/// Encodes `SUB <subject> [<queue>] <sid>` at the end of `buf`.
fn encode_sub(buf: &mut Vec<u8>, subject: &str, queue: Option<&str>, sid: u64) {
    make_room(buf, subject.len() + queue.map_or(0, |q| q.len() + 1) + 32);
    buf.extend_from_slice(b"SUB ");
    buf.extend_from_slice(subject.as_bytes());
    buf.push(b' ');
    if let Some(q) = queue {
        buf.extend_from_slice(q.as_bytes());
        buf.push(b' ');
    }
    put_decimal(buf, sid);
    buf.extend_from_slice(b"\r\n");
}

/// Encodes `UNSUB <sid> [<max>]` at the end of `buf`.
fn encode_unsub(buf: &mut Vec<u8>, sid: u64, max: Option<u64>) {
    make_room(buf, 64);
    buf.extend_from_slice(b"UNSUB ");
    put_decimal(buf, sid);
    if let Some(max) = max {
        buf.push(b' ');
        put_decimal(buf, max);
    }
    buf.extend_from_slice(b"\r\n");
}

/// How many frame buffers may be lent to async-nats at once (written or waiting in its
/// command channel). Without a bound, a publisher faster than the socket had up to
/// `sender_capacity` (128) buffers in flight, about 32 MiB, each a fresh allocation whose pages
/// fault in as frames are copied into it.
const IN_FLIGHT: usize = 4;

/// While connected, how many bytes of publishes may wait here to be handed over before a
/// publish waits for room: with `IN_FLIGHT`, every buffer of a burst comes from the pool.
const QUEUED_WHILE_CONNECTED: usize = 4 * BUFFER_STEP;

/// Frame buffers come back here once async-nats has written them, so that the next batches
/// reuse memory whose pages are already there (a fresh buffer per batch costs page faults).
#[derive(Default)]
struct Pool(Mutex<Vec<Vec<u8>>>);

impl Pool {
    /// How many buffers are kept, and how large one may be to be kept: enough for a burst
    /// (those in flight, those queued and the one being filled), and at most 5 MiB stays with
    /// a connection after it (it lives for months in a daemon).
    const KEEP: usize = IN_FLIGHT + QUEUED_WHILE_CONNECTED / BUFFER_STEP + 2;
    const KEEP_CAPACITY: usize = 2 * BUFFER_STEP;

    fn take(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default()
    }

    fn give_back(&self, mut buf: Vec<u8>) {
        // Not the frames copied out of a buffer (see `Outbox::take_frames`): they are too
        // small to be worth filling.
        if buf.capacity() > Self::KEEP_CAPACITY || buf.capacity() < COPY_OUT_BELOW {
            return;
        }
        buf.clear();
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < Self::KEEP {
            kept.push(buf);
        }
    }
}

/// A batch of frames lent to async-nats; its buffer returns to the pool when dropped, and
/// its permit lets the forwarder lend another.
struct Lent {
    buf: Vec<u8>,
    pool: Arc<Pool>,
    _permit: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.buf));
    }
}

#[derive(Default)]
struct State {
    /// Frames encoded and not yet taken by the forwarder, in publish order: full buffers,
    /// then the one being filled. A buffer is closed at `BUFFER_STEP` bytes rather than
    /// grown, so a frame is copied once.
    full: VecDeque<Vec<u8>>,
    frames: Vec<u8>,
    /// Messages in `frames`, and their payload bytes (for async-nats' statistics).
    msgs: u64,
    payload: u64,
    /// Every message accepted so far, and its payload bytes (the connection's statistics):
    /// counted here, under the lock the frame is written under, so a message is counted
    /// before the forwarder can send it, with no atomic operation of its own.
    accepted_msgs: u64,
    accepted_bytes: u64,
    /// What the messages in `frames` and in the batch being handed over count against the
    /// limit (see `OutMsg::size`).
    size: usize,
    /// Waiters told once everything published before them was handed over.
    barriers: Vec<oneshot::Sender<()>>,
    /// True from the first frame until the forwarder has handed over the last one.
    active: bool,
    /// Publishers waiting for room (see `Outbox::room`).
    room_waiters: usize,
    /// When the outbox last turned idle or a publish was written directly (see
    /// `Outbox::publish`); `None` before either.
    quiet_since: Option<Instant>,
    closed: bool,
    /// The forwarder took frames and has not handed them all over yet.
    handing: bool,
    /// A publisher is writing frames to the socket itself (see `Outbox::write_ahead`).
    writing: bool,
    /// Buffers publishers wrote themselves so far: while this grows, the forwarder leaves
    /// the writing to them (see `Outbox::forward_until_closed`).
    written_ahead: u64,
    /// The forwarder waits for a publisher's write to end.
    after_write: bool,
}

/// How a publisher's frames may be written to the socket on its own thread (third_party
/// patches 13 and 18).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DirectWrite {
    /// If the socket takes them now, without waiting (a publish after a pause).
    Now,
    /// Waiting for the socket to take them, at most this long (a full buffer of a stream).
    Waiting(Duration),
}

/// Whether the calling thread may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Blocking {
    Allowed,
    /// An async runtime's thread: waiting there would stall or deadlock it.
    Refused,
    /// Refused if the calling thread turns out to be a runtime's: asked only when the
    /// message does not fit (the question costs a thread-local lookup, per publish
    /// otherwise).
    UnlessOnRuntime,
}

impl Blocking {
    fn refused(self) -> bool {
        match self {
            Blocking::Allowed => false,
            Blocking::Refused => true,
            Blocking::UnlessOnRuntime => crate::client::runtime::on_runtime_thread(),
        }
    }
}

pub(crate) struct Outbox {
    state: Mutex<State>,
    pool: Arc<Pool>,
    /// `IN_FLIGHT` permits, one per buffer lent to async-nats.
    lendable: Arc<Semaphore>,
    room: Condvar,
    wake: Notify,
    limit: usize,
}

impl Outbox {
    pub fn new(limit: usize) -> Self {
        Outbox {
            state: Mutex::default(),
            pool: Arc::default(),
            lendable: Arc::new(Semaphore::new(IN_FLIGHT)),
            room: Condvar::new(),
            wake: Notify::new(),
            limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Encodes `m` for sending. `max_payload` is the server's (0: not known yet); `connected`
    /// says whether the connection is up now; `wait` bounds the time spent waiting for room
    /// while connected; with `Blocking::Refused`, waiting becomes
    /// `ErrorKind::WouldBlockRuntime`.
    ///
    /// A message published after a pause (nothing queued, nothing published for `QUIET`) is
    /// offered to `write_now` (frames, messages, payload bytes; true once written), which
    /// writes it to the socket on this thread when the connection has nothing else to write
    /// (third_party patch 13): a reply or an occasional event then costs one system call
    /// here instead of waking the forwarder and the connection task, two thread hops. A
    /// message following closely on another is queued, so a stream of publishes is still
    /// written in batches.
    ///
    /// A stream of publishes faster than the hand-overs writes its own frames: once
    /// `WRITE_AHEAD` bytes wait and nothing else is being handed over or written, they are
    /// offered to `write_now` with `DirectWrite::Waiting`, which writes them on this thread,
    /// waiting for the socket as nats.c's publisher does (see `Outbox::write_ahead`).
    pub fn publish(
        &self,
        m: &OutMsg,
        max_payload: usize,
        connected: impl Fn() -> bool,
        wait: Duration,
        blocking: Blocking,
        write_now: impl Fn(&[u8], u64, u64, DirectWrite) -> bool,
    ) -> Result<()> {
        let headers = header_block(m.headers);
        let total = headers.len() + m.payload.len();
        if max_payload > 0 && total > max_payload {
            return Err(Error::new(
                ErrorKind::MaxPayload,
                format!("payload of {total} bytes (with headers) exceeds the server's max_payload of {max_payload}"),
            ));
        }
        let size = m.size(headers.len());
        let mut st = self.room(size, &connected, wait, blocking)?;
        // `frames` is empty while the outbox is idle.
        let idle = !st.active;
        encode(&mut st.frames, m, &headers);
        st.accepted_msgs += 1;
        st.accepted_bytes += m.payload.len() as u64;
        let after_pause = idle && after_pause(&mut st);
        if after_pause && write_now(&st.frames, 1, m.payload.len() as u64, DirectWrite::Now) {
            st.frames.clear();
            return Ok(());
        }
        st.msgs += 1;
        st.payload += m.payload.len() as u64;
        st.size += size;
        if !after_pause && may_write_ahead(&st) && !blocking.refused() {
            self.write_ahead(st, wait, write_now);
        } else {
            self.queued(st);
        }
        Ok(())
    }

    /// Writes the frames waiting on this thread through `write`, waiting at most `wait` (and
    /// `WRITE_AHEAD_WAIT`) for the socket to take them; queues them if `write` refuses.
    ///
    /// Why: a stream of publishes faster than the socket otherwise hands buffer after
    /// buffer to the forwarder and the connection task, waking two runtime threads and the
    /// publisher (waiting for room) about 3 000 times per 2 M messages of 256 B on a 2-core
    /// machine, where the server competes for the same cores. Writing on the publisher's
    /// thread as nats.c does makes the stream one thread that blocks only when the socket is
    /// full (publish 256 B: 3.8-4.3 -> 4.4-4.8 M/s on one server, nats.c 4.0-4.9).
    ///
    /// The lock is not held while writing: other publishers go on queueing behind (the
    /// forwarder waits for the write to end before it hands anything over, `writing`).
    fn write_ahead(
        &self,
        mut st: MutexGuard<'_, State>,
        wait: Duration,
        write: impl FnOnce(&[u8], u64, u64, DirectWrite) -> bool,
    ) {
        let frames = std::mem::replace(&mut st.frames, self.pool.take());
        let (msgs, payload, size) = (std::mem::take(&mut st.msgs), std::mem::take(&mut st.payload), st.size);
        st.writing = true;
        drop(st);
        let written = write(&frames, msgs, payload, DirectWrite::Waiting(wait.min(WRITE_AHEAD_WAIT)));
        let mut st = self.lock();
        st.writing = false;
        let forwarder_waits = std::mem::take(&mut st.after_write);
        if written {
            // (A close meanwhile emptied the outbox.)
            st.size = st.size.saturating_sub(size);
            st.written_ahead += 1;
            self.pool.give_back(frames);
        } else {
            // In front of whatever was queued meanwhile.
            st.full.push_front(frames);
            st.msgs += msgs;
            st.payload += payload;
        }
        let anyone_waits = st.room_waiters > 0;
        let wake = forwarder_waits || (!written && !std::mem::replace(&mut st.active, true));
        drop(st);
        if anyone_waits {
            self.room.notify_all();
        }
        if wake {
            self.wake.notify_one();
        }
    }

    /// Queues the `SUB` of a subscription registered with async-nats
    /// (`Client::register_subscription`), in order with the publishes around it. It counts
    /// against no limit and never waits: a subscribe may come from any thread.
    pub fn subscribe(&self, subject: &str, queue: Option<&str>, sid: u64) -> Result<()> {
        self.control(|frames| encode_sub(frames, subject, queue, sid))
    }

    /// Queues the `UNSUB` of a subscription whose `SUB` went through [`Outbox::subscribe`]
    /// (after `max` messages in all, or now), so it follows that `SUB` without waiting for it
    /// to be handed over.
    pub fn unsubscribe(&self, sid: u64, max: Option<u64>) -> Result<()> {
        self.control(|frames| encode_unsub(frames, sid, max))
    }

    /// Queues a control frame (`SUB`, `UNSUB`) that `encode` writes; no limit, no waiting.
    fn control(&self, encode: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        let mut st = self.lock();
        if st.closed {
            return Err(Error::new(ErrorKind::ConnectionClosed, "the connection is closed"));
        }
        encode(&mut st.frames);
        self.queued(st);
        Ok(())
    }

    /// After a frame was added: closes a full buffer, and wakes the forwarder if it was idle.
    fn queued(&self, mut st: MutexGuard<'_, State>) {
        if st.frames.len() >= BUFFER_STEP {
            let next = self.pool.take();
            let full = std::mem::replace(&mut st.frames, next);
            st.full.push_back(full);
        }
        if !std::mem::replace(&mut st.active, true) {
            drop(st);
            self.wake.notify_one();
        }
    }

    /// Waits (at most `wait`) until `m` would fit, without queueing it: for a caller that
    /// must not wait inside `publish` because it holds a lock runtime tasks take (waiting
    /// there could stop the very threads that make room), and publishes with
    /// `Blocking::Refused` under that lock.
    pub fn wait_for_room(&self, m: &OutMsg, connected: impl Fn() -> bool, wait: Duration) -> Result<()> {
        let size = m.size(header_block(m.headers).len());
        self.room(size, &connected, wait, Blocking::Allowed).map(drop)
    }

    /// The state, locked, once a message counting `size` fits (see `fits`).
    fn room(
        &self,
        size: usize,
        connected: &impl Fn() -> bool,
        wait: Duration,
        blocking: Blocking,
    ) -> Result<MutexGuard<'_, State>> {
        let mut st = self.lock();
        let mut deadline = None;
        loop {
            if st.closed {
                return Err(Error::new(ErrorKind::ConnectionClosed, "the connection is closed"));
            }
            if fits(&st, size, self.limit, connected) {
                return Ok(st);
            }
            if !connected() {
                return Err(Error::new(
                    ErrorKind::BufferFull,
                    format!("not connected and the reconnect buffer ({} bytes) is full", self.limit),
                ));
            }
            if blocking.refused() {
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
            st.room_waiters += 1;
            st = self
                .room
                .wait_timeout(st, (d - now).min(Duration::from_millis(100)))
                .unwrap_or_else(|p| p.into_inner())
                .0;
            st.room_waiters -= 1;
        }
    }

    /// A receiver that resolves once everything published before this call was handed to
    /// async-nats; `None` when nothing waits.
    pub fn barrier(&self) -> Option<oneshot::Receiver<()>> {
        let mut st = self.lock();
        if !st.active {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        st.barriers.push(tx);
        drop(st);
        // A forwarder leaving a stream to its publisher (see `forward_until_closed`) stops
        // waiting.
        self.wake.notify_one();
        Some(rx)
    }

    /// Waits (async) for a barrier, if anything waits to be handed over.
    pub async fn drained(&self) {
        if let Some(rx) = self.barrier() {
            let _ = rx.await;
        }
    }

    /// Messages accepted since the connection was made, and their payload bytes.
    pub fn accepted(&self) -> (u64, u64) {
        let st = self.lock();
        (st.accepted_msgs, st.accepted_bytes)
    }

    /// Bytes of publishes accepted and not yet handed over (see `OutMsg::size`).
    pub fn buffered(&self) -> usize {
        self.lock().size
    }

    /// Refuses new messages; what is still here is dropped by the forwarder.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
        self.room.notify_all();
    }

    /// Wakes the forwarder (the connection came back).
    pub fn nudge(&self) {
        self.wake.notify_one();
    }

    /// The forwarder: runs on the runtime for the connection's life; `on_exit` runs last, once
    /// the connection closed and every loss was reported. `on_lost` is told how many
    /// accepted messages were dropped (the connection closed with them still here).
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
        let connected = || client.connection_state() == async_nats::connection::State::Connected;
        let mut written_ahead = 0;
        loop {
            tokio::select! {
                _ = self.wake.notified() => {}
                // While disconnected, look again now and then (the reconnect also nudges).
                _ = tokio::time::sleep(Duration::from_millis(50)), if self.lock().active => {}
                _ = crate::client::connection::wait_closed(closed) => self.close(),
            }
            loop {
                let taken = {
                    let mut st = self.lock();
                    if st.writing && !st.closed {
                        // Woken once the publisher's write ends; what it wrote goes first.
                        st.after_write = true;
                        break;
                    }
                    if st.closed {
                        let dropped = std::mem::take(&mut st.msgs);
                        st.frames.clear();
                        st.full.clear();
                        st.size = 0;
                        st.active = false;
                        let barriers = std::mem::take(&mut st.barriers);
                        drop(st);
                        self.room.notify_all();
                        drop(barriers);
                        if dropped > 0 {
                            on_lost(dropped);
                        }
                        return;
                    }
                    if st.frames.is_empty() && st.full.is_empty() {
                        st.active = false;
                        st.quiet_since = Some(Instant::now());
                        let barriers = std::mem::take(&mut st.barriers);
                        drop(st);
                        release(barriers);
                        break;
                    }
                    if !connected() {
                        // Frames stay here, within the limit, until the connection is back.
                        break;
                    }
                    if st.written_ahead != written_ahead && st.barriers.is_empty() {
                        // The publisher writes its own frames: leave the stream to it and
                        // take only its end, after a pause (cut short by a barrier).
                        written_ahead = st.written_ahead;
                        None
                    } else {
                        Some(self.take_all(&mut st))
                    }
                };
                let Some((batch, msgs, payload, size, barriers)) = taken else {
                    tokio::select! {
                        _ = tokio::time::sleep(STREAM_PAUSE) => {}
                        _ = self.wake.notified() => {}
                        _ = crate::client::connection::wait_closed(closed) => self.close(),
                    }
                    continue;
                };
                let handed_over = tokio::select! {
                    r = self.hand_over(&client, batch, msgs, payload) => r,
                    _ = crate::client::connection::wait_closed(closed) => false,
                };
                let anyone_waits = {
                    let mut st = self.lock();
                    st.size -= size;
                    st.handing = false;
                    st.room_waiters > 0
                };
                // std's condvar makes a system call to notify even when nobody waits: here
                // once per hand-over of a stream of publishes.
                if anyone_waits {
                    self.room.notify_all();
                }
                release(barriers);
                if !handed_over {
                    on_lost(msgs);
                }
            }
        }
    }
}

/// What the forwarder takes to hand over: buffers of frames, their messages and payload
/// bytes, what they count against the limit, and the barriers waiting for them.
type Taken = (VecDeque<Vec<u8>>, u64, u64, usize, Vec<oneshot::Sender<()>>);

impl Outbox {
    /// Takes everything queued for handing over.
    fn take_all(&self, st: &mut State) -> Taken {
        st.handing = true;
        let mut buffers = std::mem::take(&mut st.full);
        if !st.frames.is_empty() {
            buffers.push_back(self.take_frames(&mut st.frames));
        }
        (
            buffers,
            std::mem::take(&mut st.msgs),
            std::mem::take(&mut st.payload),
            st.size,
            std::mem::take(&mut st.barriers),
        )
    }

    /// The frames of the buffer being filled, for handing over. A few frames (below
    /// `COPY_OUT_BELOW` bytes) are copied out into an allocation of their size and the buffer
    /// stays, its pages with it, to be filled again from the start; more take the buffer
    /// along and leave a pooled one in its place. Swapping every time made a burst of small
    /// handovers (10 000 subscribes: a few SUBs each time the forwarder woke) fill a fresh
    /// 256 KiB buffer per handover while the earlier ones were still lent, and the pool
    /// kept them all.
    fn take_frames(&self, frames: &mut Vec<u8>) -> Vec<u8> {
        if frames.len() < COPY_OUT_BELOW {
            let copy = frames.clone();
            frames.clear();
            copy
        } else {
            std::mem::replace(frames, self.pool.take())
        }
    }

    /// Hands buffers of frames to async-nats, in order (the counts go with the last one);
    /// false if the connection is gone.
    async fn hand_over(
        &self,
        client: &async_nats::Client,
        buffers: VecDeque<Vec<u8>>,
        msgs: u64,
        payload: u64,
    ) -> bool {
        let last = buffers.len().saturating_sub(1);
        for (i, buf) in buffers.into_iter().enumerate() {
            let (m, p) = if i == last { (msgs, payload) } else { (0, 0) };
            let Ok(permit) = self.lendable.clone().acquire_owned().await else { return false };
            let frames = Bytes::from_owner(Lent { buf, pool: self.pool.clone(), _permit: permit });
            if client.publish_frames(frames, m, p).await.is_err() {
                return false;
            }
        }
        true
    }
}

/// Whether a publish counting `size` may be queued now. While connected, at most
/// `QUEUED_WHILE_CONNECTED` bytes wait (more would only add buffers and page faults: the
/// socket is the bottleneck), and one message always fits (however big), so nothing
/// deadlocks. While disconnected, the reconnect buffer's `limit`.
fn fits(st: &State, size: usize, limit: usize, connected: impl Fn() -> bool) -> bool {
    let after = st.size + size;
    // Fits either way: no need to ask for the connection's state (a lock).
    if after <= limit.min(QUEUED_WHILE_CONNECTED) {
        return true;
    }
    if connected() {
        st.size == 0 || after <= QUEUED_WHILE_CONNECTED
    } else {
        after <= limit
    }
}

/// Whether a publisher may write the frames waiting itself (`Outbox::write_ahead`): a full
/// buffer of small messages, and nothing else waits (no full buffers, nothing taken by the
/// forwarder and not handed over yet), and no other publisher is writing. (A closed outbox
/// never gets here: `Outbox::room` refuses first, under the same lock.)
fn may_write_ahead(st: &State) -> bool {
    st.frames.len() >= WRITE_AHEAD
        && st.msgs as usize * SMALL_FRAME >= st.frames.len()
        && st.full.is_empty()
        && !st.handing
        && !st.writing
}

/// The largest average frame of a buffer a publisher writes itself. With larger messages
/// copying them dominates, and two threads copying (the publisher encoding, the connection
/// task writing) beat one doing both. On one server, handed over against written ahead:
/// 4 KiB 0.81-0.88 against 0.61-0.63 M/s, 1 KiB 2.6-2.9 against 2.2-2.5, 512 B 3.2-3.5
/// against 3.7-3.8, 256 B 3.7-4.3 against 4.5-4.8.
const SMALL_FRAME: usize = 640;

/// How many bytes of a stream of publishes a publisher writes itself at a time (nats.c's
/// buffer is 32 KiB too): enough to make the system call's cost small per message.
const WRITE_AHEAD: usize = 32 * 1024;

/// The longest a publisher waits for the socket to take what it writes itself; what the
/// socket has not taken by then is left to the connection task.
const WRITE_AHEAD_WAIT: Duration = Duration::from_millis(100);

/// While a publisher writes its own frames, how long the forwarder waits before it takes
/// what is left (nats.c's flusher waits 1 ms too). Not shorter: tokio's timer has a
/// resolution of 1 ms.
const STREAM_PAUSE: Duration = Duration::from_millis(1);

/// How long the outbox must have been idle for a publish to be written directly: longer than
/// the gaps in a stream of publishes, which are batched, shorter than a round trip, so a
/// reply or a request's publish goes at once.
const QUIET: Duration = Duration::from_micros(10);

/// Whether the idle outbox has been quiet for `QUIET` (a publish may then be written
/// directly); counts this publish as the end of the quiet. Reads the clock only on the idle
/// path, so at most once per batch of a stream of publishes.
fn after_pause(st: &mut State) -> bool {
    let now = Instant::now();
    let quiet = st.quiet_since.is_none_or(|since| now.duration_since(since) >= QUIET);
    st.quiet_since = Some(now);
    quiet
}

/// Tells barrier waiters that what was published before them was handed over.
fn release(barriers: Vec<oneshot::Sender<()>>) {
    for b in barriers {
        let _ = b.send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_pub_and_hpub_frames() {
        let m = OutMsg { subject: "a.b", reply: None, headers: None, payload: b"hello" };
        assert_eq!(frame(&m), b"PUB a.b 5\r\nhello\r\n");
        let m = OutMsg { subject: "a", reply: Some("_INBOX.1"), headers: None, payload: b"" };
        assert_eq!(frame(&m), b"PUB a _INBOX.1 0\r\n\r\n");
        let mut h = HeaderMap::new();
        h.insert("K", "v");
        let m = OutMsg { subject: "s", reply: Some("r"), headers: Some(&h), payload: b"xy" };
        assert_eq!(frame(&m), b"HPUB s r 18 20\r\nNATS/1.0\r\nK: v\r\n\r\nxy\r\n");
        let empty = HeaderMap::new();
        let m = OutMsg { subject: "s", reply: None, headers: Some(&empty), payload: b"1234567890" };
        assert_eq!(frame(&m), b"PUB s 10\r\n1234567890\r\n");
    }

    #[test]
    fn encodes_sub_and_unsub_frames() {
        let mut buf = Vec::new();
        encode_sub(&mut buf, "a.*", None, 7);
        encode_sub(&mut buf, "b.>", Some("workers"), 18_446_744_073_709_551_615);
        assert_eq!(buf, b"SUB a.* 7\r\nSUB b.> workers 18446744073709551615\r\n");
        buf.clear();
        encode_unsub(&mut buf, 7, None);
        encode_unsub(&mut buf, 8, Some(100));
        assert_eq!(buf, b"UNSUB 7\r\nUNSUB 8 100\r\n");
    }
}
