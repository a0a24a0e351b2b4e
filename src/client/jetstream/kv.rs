//! Key-value buckets: create, bind, delete; put, create, update, get, delete, purge, keys,
//! history, and watching keys with a handler on a thread of its own.

use crate::client::delivery::jobs::JobQueue;
use crate::client::delivery::Marker;
use crate::client::error::*;
use crate::client::events::error_event;
use crate::client::jetstream::context::{js_error, JetStream};
use crate::client::subject::*;
use async_nats::jetstream::kv::{self, Operation};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A bucket.
pub(crate) struct Kv {
    js: Arc<JetStream>,
    store: kv::Store,
    /// The bucket's and its stream's names, each followed by a NUL, for C to borrow.
    names: (Box<[u8]>, Box<[u8]>),
}

impl Kv {
    fn new(js: Arc<JetStream>, store: kv::Store) -> Kv {
        let names = (nul_terminated(&store.name), nul_terminated(&store.stream_name));
        Kv { js, store, names }
    }

    /// The bucket's and its stream's names, each followed by a NUL.
    pub(crate) fn names_nul(&self) -> (&[u8], &[u8]) {
        (&self.names.0, &self.names.1)
    }
}

/// One value of a key, or a delete/purge marker.
pub(crate) type Entry = kv::Entry;

/// What a watch delivers first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WatchFrom {
    /// The current entry of every matching key, then each change.
    Current,
    /// Only changes made after the watch started.
    UpdatesOnly,
    /// Every kept entry (the whole history), then each change.
    History,
}

/// What a watch (or a key listing) reads.
#[derive(Clone, Debug)]
pub(crate) struct WatchSpec {
    /// Keys or patterns (`*`, `>`); empty: every key.
    pub patterns: Vec<String>,
    pub from: WatchFrom,
    /// Skip delete and purge markers.
    pub ignore_deletes: bool,
    /// Entries without their values (the server sends headers only).
    pub meta_only: bool,
}

impl WatchSpec {
    pub(crate) fn new(patterns: Vec<String>, from: WatchFrom) -> Self {
        WatchSpec { patterns, from, ignore_deletes: false, meta_only: false }
    }
}

/// A bucket's state (`nats_kv_status`).
#[derive(Clone, Debug)]
pub(crate) struct KvStatus {
    pub values: u64,
    pub bytes: u64,
    pub history: i64,
    pub ttl: Duration,
    pub replicas: usize,
    pub compressed: bool,
    pub memory: bool,
}

/// What a watch does with each entry (a key-value entry, or an object's info), on the
/// watcher's lane.
pub(crate) trait WatchHandler<T = Entry>: Send + 'static {
    /// The watch exists and its lane is set up: from here on the handler owns what it holds.
    fn accepted(&mut self);

    /// One entry, in the order they were stored.
    fn on_entry(&mut self, entry: T);
}

pub(crate) fn check_bucket(b: &str) -> Result<()> {
    if b.is_empty() || !b.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("invalid bucket name {b:?}: use letters, digits, '-' and '_'"),
        ));
    }
    Ok(())
}

fn check_key(k: &str, wildcards: Wildcards) -> Result<()> {
    let ok = !k.is_empty()
        && !k.starts_with('.')
        && !k.ends_with('.')
        && !k.contains("..")
        && k.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '/' | '\\' | '=' | '.')
                || (wildcards == Wildcards::Allowed && matches!(c, '*' | '>'))
        });
    if !ok {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "invalid key {k:?}: letters, digits and - _ / \\ = . (not at the ends){}",
                if wildcards == Wildcards::Allowed { ", wildcards * >" } else { "" }
            ),
        ));
    }
    Ok(())
}

fn kv_error(what: &str, e: &(dyn std::error::Error + 'static)) -> Error {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("wrong last sequence")
        || lower.contains("already exists")
        || lower.contains("wrong last revision")
    {
        return Error::new(ErrorKind::ExpectationFailed, format!("{what}: revision conflict ({text})"));
    }
    js_error(what, e)
}

/// The operation a stored KV message records: its `KV-Operation` header, or the reason of a
/// server-made marker (per-key TTL, limits).
fn operation_of(m: &async_nats::Message) -> Operation {
    let Some(h) = m.headers.as_ref() else { return Operation::Put };
    match (h.get("KV-Operation").map(|v| v.as_str()), h.get("Nats-Marker-Reason").map(|v| v.as_str())) {
        (Some("DEL"), _) | (None, Some("Remove")) => Operation::Delete,
        (Some("PURGE"), _) | (None, Some("MaxAge" | "Purge")) => Operation::Purge,
        _ => Operation::Put,
    }
}

/// A message of the bucket's stream as an entry; `None` for one that is not (no metadata, or
/// a subject outside the bucket).
fn entry_of(store: &kv::Store, m: &async_nats::jetstream::Message) -> Option<Entry> {
    let info = m.info().ok()?;
    let key = m.message.subject.strip_prefix(store.prefix.as_str())?.to_string();
    Some(Entry {
        bucket: store.name.clone(),
        key,
        value: m.message.payload.clone(),
        revision: info.stream_sequence,
        delta: info.pending,
        created: info.published,
        operation: operation_of(&m.message),
        seen_current: false,
    })
}

/// An ordered consumer over the bucket's stream as `spec` says, and how many messages it
/// had to deliver when it was made.
async fn open_feed(
    store: &kv::Store,
    spec: &WatchSpec,
    inbox: String,
) -> std::result::Result<(async_nats::jetstream::consumer::push::Ordered, u64), String> {
    use async_nats::jetstream::consumer::{push::OrderedConfig, DeliverPolicy, ReplayPolicy};
    let subjects: Vec<String> = if spec.patterns.is_empty() {
        vec![format!("{}>", store.prefix)]
    } else {
        spec.patterns.iter().map(|p| format!("{}{p}", store.prefix)).collect()
    };
    let config = OrderedConfig {
        deliver_subject: inbox,
        description: Some("nats-ffi kv feed".to_string()),
        filter_subjects: subjects,
        headers_only: spec.meta_only,
        replay_policy: ReplayPolicy::Instant,
        deliver_policy: match spec.from {
            WatchFrom::Current => DeliverPolicy::LastPerSubject,
            WatchFrom::UpdatesOnly => DeliverPolicy::New,
            WatchFrom::History => DeliverPolicy::All,
        },
        ..Default::default()
    };
    let consumer = store.stream.create_consumer(config).await.map_err(|e| e.to_string())?;
    let pending = consumer.cached_info().num_pending;
    let messages = consumer.messages().await.map_err(|e| e.to_string())?;
    Ok((messages, pending))
}

/// The last entry of every key `spec` selects (its `from` is ignored), as they are now.
async fn latest_entries(store: &kv::Store, spec: &WatchSpec, inbox: String) -> std::result::Result<Vec<Entry>, String> {
    let spec = WatchSpec { from: WatchFrom::Current, ..spec.clone() };
    let (mut feed, mut left) = open_feed(store, &spec, inbox).await?;
    let mut out = Vec::new();
    while left > 0 {
        let Some(m) = feed.next().await else { break };
        let m = m.map_err(|e| e.to_string())?;
        if let Some(e) = entry_of(store, &m) {
            left = e.delta;
            out.push(e);
        }
    }
    Ok(out)
}

impl JetStream {
    /// Creates a bucket (fine when an identical one exists).
    pub(crate) fn kv_create(self: &Arc<Self>, config: kv::Config) -> Result<Kv> {
        check_bucket(&config.bucket)?;
        if !(1..=64).contains(&config.history) {
            return Err(Error::new(ErrorKind::InvalidArgument, "history must be between 1 and 64"));
        }
        let store = self
            .call("nats_jetstream_kv_create", self.ctx.create_key_value(config))?
            .map_err(|e| kv_error("create bucket", &e))?;
        Ok(Kv::new(self.clone(), store))
    }

    /// Binds to an existing bucket.
    pub(crate) fn kv_bind(self: &Arc<Self>, bucket: &str) -> Result<Kv> {
        check_bucket(bucket)?;
        let store = self.call("nats_jetstream_kv_bind", self.ctx.get_key_value(bucket))?.map_err(|e| {
            let err = kv_error("bind bucket", &e);
            if err.kind == ErrorKind::NotFound || e.to_string().to_ascii_lowercase().contains("not found") {
                Error::new(ErrorKind::NotFound, format!("bucket {bucket:?} does not exist"))
            } else {
                err
            }
        })?;
        Ok(Kv::new(self.clone(), store))
    }

    /// The names of the account's buckets.
    pub(crate) fn kv_names(&self) -> Result<Vec<String>> {
        Ok(self.stream_names()?.into_iter().filter_map(|s| s.strip_prefix("KV_").map(str::to_string)).collect())
    }

    pub(crate) fn kv_delete(&self, bucket: &str) -> Result<()> {
        check_bucket(bucket)?;
        self.call("nats_jetstream_kv_delete", self.ctx.delete_key_value(bucket))?
            .map_err(|e| kv_error("delete bucket", &e))?;
        Ok(())
    }
}

impl Kv {
    /// Checks a key or key pattern: valid characters, and short enough that its subject
    /// (`$KV.<bucket>.<key>`, or the bucket's put prefix) fits a protocol line with the reply
    /// subject of a request.
    pub(crate) fn check_key(&self, key: &str, wildcards: Wildcards) -> Result<()> {
        check_key(key, wildcards)?;
        let put_prefix = self.store.put_prefix.as_deref().unwrap_or("");
        let prefix = std::cmp::max_by_key(put_prefix, self.store.prefix.as_str(), |p| p.len());
        check_control_line("key", &[prefix, key], self.js.conn.request_reply_len)
    }

    /// Stores `value` under `key`; the new revision.
    pub(crate) fn put(&self, key: &str, value: &[u8]) -> Result<u64> {
        self.check_key(key, Wildcards::Refused)?;
        let v = Bytes::copy_from_slice(value);
        self.js.call("nats_kv_put", self.store.put(key, v))?.map_err(|e| kv_error("put", &e))
    }

    /// Stores `value` only if `key` has none, expiring after `ttl` if given (at least 1 s).
    pub(crate) fn create(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<u64> {
        if ttl.is_some_and(|t| t < Duration::from_secs(1)) {
            return Err(Error::new(ErrorKind::InvalidArgument, "a per-key TTL must be at least 1000 ms"));
        }
        self.check_key(key, Wildcards::Refused)?;
        let v = Bytes::copy_from_slice(value);
        let fut = async {
            match ttl {
                Some(t) => self.store.create_with_ttl(key, v, t).await,
                None => self.store.create(key, v).await,
            }
        };
        self.js.call("nats_kv_create", fut)?.map_err(|e| match e.kind() {
            kv::CreateErrorKind::AlreadyExists => {
                Error::new(ErrorKind::ExpectationFailed, format!("create: key {key:?} already has a value"))
            }
            _ => kv_error("create", &e),
        })
    }

    /// Stores `value` only if the key's latest revision is `last_revision`.
    pub(crate) fn update(&self, key: &str, value: &[u8], last_revision: u64) -> Result<u64> {
        self.check_key(key, Wildcards::Refused)?;
        let v = Bytes::copy_from_slice(value);
        self.js.call("nats_kv_update", self.store.update(key, v, last_revision))?.map_err(|e| match e.kind() {
            kv::UpdateErrorKind::WrongLastRevision => Error::new(
                ErrorKind::ExpectationFailed,
                format!("update: revision {last_revision} of {key:?} is not the latest"),
            ),
            _ => kv_error("update", &e),
        })
    }

    /// As [`Kv::update`], and the new value expires after `ttl` (at least 1 s; the bucket
    /// needs per-key TTLs, `limit_marker_ttl`).
    pub(crate) fn update_with_ttl(&self, key: &str, value: &[u8], last_revision: u64, ttl: Duration) -> Result<u64> {
        if ttl < Duration::from_secs(1) {
            return Err(Error::new(ErrorKind::InvalidArgument, "a per-key TTL must be at least 1000 ms"));
        }
        self.check_key(key, Wildcards::Refused)?;
        if self.store.use_jetstream_prefix {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "update with a TTL: not supported for a bucket bound across JetStream domains",
            ));
        }
        let subject = format!("{}{key}", self.store.put_prefix.as_deref().unwrap_or(&self.store.prefix));
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_TTL, ttl.as_secs().to_string().as_str());
        let o = crate::client::jetstream::context::PublishOptions {
            expected_last_subject_sequence: Some(last_revision),
            ..Default::default()
        };
        let out = crate::client::jetstream::context::build(
            &self.js,
            &subject,
            Some(headers),
            Bytes::copy_from_slice(value),
            &o,
        )?;
        match self.js.publish(out) {
            Ok(ack) => Ok(ack.sequence),
            Err(e) if e.kind == ErrorKind::ExpectationFailed => Err(Error::new(
                ErrorKind::ExpectationFailed,
                format!("update: revision {last_revision} of {key:?} is not the latest"),
            )),
            Err(e) => Err(e),
        }
    }

    /// The latest value of `key`, or the one it had at `revision`; `NotFound` for none or a
    /// delete/purge marker.
    pub(crate) fn get(&self, key: &str, revision: Option<u64>) -> Result<Entry> {
        self.check_key(key, Wildcards::Refused)?;
        let fut = async {
            match revision {
                Some(r) => self.store.entry_for_revision(key, r).await,
                None => self.store.entry(key).await,
            }
        };
        match self.js.call("nats_kv_get", fut)?.map_err(|e| kv_error("get", &e))? {
            Some(e) if e.operation == Operation::Put => Ok(e),
            Some(_) => Err(Error::new(ErrorKind::NotFound, format!("key {key:?} was deleted"))),
            None => Err(Error::new(ErrorKind::NotFound, format!("key {key:?} not found"))),
        }
    }

    /// Deletes `key` (a delete marker; history kept).
    pub(crate) fn delete(&self, key: &str) -> Result<()> {
        self.check_key(key, Wildcards::Refused)?;
        self.js.call("nats_kv_delete", self.store.delete(key))?.map_err(|e| kv_error("delete", &e))
    }

    /// Purges `key` (a purge marker; history removed).
    pub(crate) fn purge(&self, key: &str) -> Result<()> {
        self.check_key(key, Wildcards::Refused)?;
        self.js.call("nats_kv_purge", self.store.purge(key))?.map_err(|e| kv_error("purge", &e))
    }

    /// The keys that currently have a value.
    pub(crate) fn keys(&self) -> Result<Vec<String>> {
        let fut = async {
            let keys = self.store.keys().await.map_err(|e| kv_error("keys", &e))?;
            keys.map_err(|e| kv_error("keys", &e)).try_collect::<Vec<_>>().await
        };
        self.js.call("nats_kv_keys", fut)?
    }

    /// Every kept entry of `key`, oldest first; `NotFound` when there is none.
    pub(crate) fn history(&self, key: &str) -> Result<Vec<Entry>> {
        self.check_key(key, Wildcards::Refused)?;
        let fut = async {
            let entries = self.store.history(key).await.map_err(|e| kv_error("history", &e))?;
            entries.map_err(|e| kv_error("history", &e)).try_collect::<Vec<_>>().await
        };
        let list = self.js.call("nats_kv_history", fut)??;
        if list.is_empty() {
            return Err(Error::new(ErrorKind::NotFound, format!("key {key:?} has no history")));
        }
        Ok(list)
    }

    /// Checks a watch's patterns.
    fn check_spec(&self, spec: &WatchSpec) -> Result<()> {
        for p in &spec.patterns {
            self.check_key(p, Wildcards::Allowed)?;
        }
        Ok(())
    }

    /// Starts the feed of a watch: an ordered consumer over the bucket's stream, read by a
    /// task that hands each entry (markers skipped when asked) to `deliver`, and reports
    /// errors to the connection's events. The task ends when `deliver` returns false.
    fn start_feed(
        &self,
        spec: &WatchSpec,
        what: &str,
        mut deliver: impl FnMut(Entry) -> bool + Send + 'static,
    ) -> Result<tokio::task::AbortHandle> {
        self.check_spec(spec)?;
        let store = self.store.clone();
        let for_open = (store.clone(), spec.clone(), self.js.conn.client.new_inbox());
        let fut = async move { open_feed(&for_open.0, &for_open.1, for_open.2).await };
        let (mut feed, _) = self.js.call(what, fut)?.map_err(|e| kv_error("watch", &std::io::Error::other(e)))?;
        let (conn, ignore_deletes) = (self.js.conn.clone(), spec.ignore_deletes);
        let task = self.js.conn.handle.spawn(async move {
            while let Some(m) = feed.next().await {
                let entry = match m {
                    Ok(m) => entry_of(&store, &m),
                    Err(e) => {
                        conn.send_event(error_event(None, ErrorKind::JetStream, format!("kv watch: {e}")));
                        None
                    }
                };
                let wanted = entry.filter(|e| !ignore_deletes || e.operation == Operation::Put);
                if wanted.is_some_and(|e| !deliver(e)) {
                    break;
                }
            }
        });
        Ok(task.abort_handle())
    }

    /// Watches as `spec` says, handing each entry to `handler` on the watch's lane (see
    /// `delivery`); errors of the watch go to the connection's events.
    pub(crate) fn watch(&self, spec: WatchSpec, handler: Box<dyn WatchHandler>) -> Result<Watcher> {
        callback_watch(&self.js.conn.executor, "nats-ffi-kv-watch", handler, |deliver| {
            self.start_feed(&spec, "nats_kv_watch", deliver)
        })
    }

    /// Watches as `spec` says, keeping the entries for [`Watcher::next`].
    pub(crate) fn watch_sync(&self, spec: WatchSpec) -> Result<Watcher> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let task = self.start_feed(&spec, "nats_kv_watch_sync", move |e| tx.send(e).is_ok())?;
        let delivery =
            WatchDelivery::Sync { entries: tokio::sync::Mutex::new(rx), handle: self.js.conn.handle.clone() };
        Ok(Watcher { task, delivery })
    }

    /// The latest entry (headers only) of every key matching `patterns` (all when empty),
    /// on behalf of `what` (`label` in errors).
    fn latest(&self, what: &str, label: &str, patterns: &[String]) -> Result<Vec<Entry>> {
        let spec = WatchSpec { meta_only: true, ..WatchSpec::new(patterns.to_vec(), WatchFrom::Current) };
        self.check_spec(&spec)?;
        let (store, inbox) = (self.store.clone(), self.js.conn.client.new_inbox());
        self.js
            .call(what, async move { latest_entries(&store, &spec, inbox).await })?
            .map_err(|e| kv_error(label, &std::io::Error::other(e)))
    }

    /// The keys (matching `patterns`; all when empty) that currently have a value.
    pub(crate) fn keys_matching(&self, patterns: &[String]) -> Result<Vec<String>> {
        let list = self.latest("nats_kv_keys_filtered", "keys", patterns)?;
        Ok(list.into_iter().filter(|e| e.operation == Operation::Put).map(|e| e.key).collect())
    }

    /// Removes the delete and purge markers of the bucket, and the history behind them:
    /// markers older than `keep_younger_than` go entirely, younger ones stay as the key's
    /// only entry (so a watcher that missed the delete still sees it). How many keys.
    pub(crate) fn purge_deletes(&self, keep_younger_than: Duration) -> Result<usize> {
        let markers: Vec<Entry> = self
            .latest("nats_kv_purge_deletes", "purge deletes", &[])?
            .into_iter()
            .filter(|e| e.operation != Operation::Put)
            .collect();
        let now = async_nats::datetime::now();
        for m in &markers {
            let young = now - m.created < keep_younger_than;
            let subject = format!("{}{}", self.store.prefix, m.key);
            let opts = crate::client::jetstream::stream::PurgeOptions {
                subject: Some(&subject),
                keep: u64::from(young),
                ..Default::default()
            };
            self.js.purge_stream_with(&self.store.stream_name, &opts)?;
        }
        Ok(markers.len())
    }

    /// The bucket's state.
    pub(crate) fn status(&self) -> Result<KvStatus> {
        // Fresh: async-nats' `Store::status` returns the info cached when the bucket was bound.
        let info = self.js.stream_info(&self.store.stream_name)?;
        let c = &info.config;
        Ok(KvStatus {
            values: info.state.messages,
            bytes: info.state.bytes,
            history: c.max_messages_per_subject,
            ttl: c.max_age,
            replicas: c.num_replicas,
            compressed: c.compression.as_ref().is_some_and(|k| *k != async_nats::jetstream::stream::Compression::None),
            memory: c.storage == async_nats::jetstream::stream::StorageType::Memory,
        })
    }
}

/// Starts a watch whose entries go to `handler` on a lane of its own: `start` gets the
/// function that queues an entry for the handler (false once the lane is gone) and starts
/// the feed. The handler is in place before the feed starts (its first entries may be
/// delivered before `start` returns) and is accepted once it did.
pub(crate) fn callback_watch<T: Send + 'static>(
    executor: &crate::client::delivery::Executor,
    lane_name: &str,
    handler: Box<dyn WatchHandler<T>>,
    start: impl FnOnce(Box<dyn FnMut(T) -> bool + Send>) -> Result<tokio::task::AbortHandle>,
) -> Result<Watcher<T>> {
    let queue = JobQueue::start(executor, lane_name)?;
    let shared = Arc::new(WatchState::with(handler));
    let (sender, for_task) = (queue.sender(), shared.clone());
    let task = start(Box::new(move |e| {
        let shared = for_task.clone();
        sender.send(Box::new(move || shared.deliver(e)))
    }))?;
    // The watcher owns the handler from here (on failure it was dropped unaccepted, leaving
    // what it holds to the caller); it is dropped, releasing what it holds, once the watch
    // stopped, after its last call.
    if let Some(h) = shared.handler.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        h.accepted();
    }
    Ok(Watcher { task, delivery: WatchDelivery::Callback { state: shared, _queue: queue } })
}

/// A running watch.
pub(crate) struct Watcher<T = Entry> {
    task: tokio::task::AbortHandle,
    delivery: WatchDelivery<T>,
}

/// Where a watch's entries go.
enum WatchDelivery<T> {
    /// To a handler, on the watch's lane; dropping the queue lets the lane finish.
    Callback { state: Arc<WatchState<T>>, _queue: JobQueue },
    /// Into a queue the user reads with [`Watcher::next`].
    Sync {
        entries: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<T>>,
        handle: crate::client::runtime::RtHandle,
    },
}

/// Shared by a watcher and its entries' jobs: a job holds `calling` while it checks
/// `stopped` and runs the handler, so `stop` (setting the flag, then taking the lock) returns
/// only once no handler call is running or can start.
struct WatchState<T> {
    stopped: AtomicBool,
    calling: Mutex<()>,
    handler: Mutex<Option<Box<dyn WatchHandler<T>>>>,
}

thread_local! {
    /// While a watch handler runs: its state.
    static WATCHING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl<T: 'static> WatchState<T> {
    fn with(handler: Box<dyn WatchHandler<T>>) -> Self {
        WatchState { stopped: AtomicBool::new(false), calling: Mutex::new(()), handler: Mutex::new(Some(handler)) }
    }

    /// Hands `e` to the handler, unless the watch stopped; drops the handler once it did.
    fn deliver(self: &Arc<Self>, e: T) {
        let _calling = self.calling.lock().unwrap_or_else(|p| p.into_inner());
        if !self.stopped.load(Ordering::Acquire) {
            let mut handler = self.handler.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(h) = handler.as_mut() {
                let _marker = Marker::set(&WATCHING, Arc::as_ptr(self).addr());
                h.on_entry(e);
            }
        }
        if self.stopped.load(Ordering::Acquire) {
            self.release_handler();
        }
    }

    fn release_handler(&self) {
        let handler = self.handler.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(handler);
    }
}

impl<T: 'static> Watcher<T> {
    /// Stops the watch: waits for a running handler call (unless called from it); none
    /// starts after this returns, and the handler is released after its last call. A
    /// synchronous watcher's `next` returns what is queued, then fails.
    pub(crate) fn stop(&self) {
        self.task.abort();
        let WatchDelivery::Callback { state, .. } = &self.delivery else { return };
        state.stopped.store(true, Ordering::Release);
        if WATCHING.with(|w| w.get()) != Arc::as_ptr(state).addr() {
            drop(state.calling.lock().unwrap_or_else(|p| p.into_inner()));
            state.release_handler();
        }
    }

    /// The next entry of a synchronous watcher, waiting at most `limit`.
    pub(crate) fn next(&self, limit: Duration) -> Result<T> {
        let WatchDelivery::Sync { entries, handle } = &self.delivery else {
            return Err(Error::new(ErrorKind::InvalidArgument, "a watcher with a callback has no next entry to take"));
        };
        let fut = async {
            let mut rx = entries.lock().await;
            match rx.try_recv() {
                Ok(e) => Some(e),
                Err(_) if self.task.is_finished() => None,
                Err(_) => rx.recv().await,
            }
        };
        match crate::client::runtime::block_on_timeout(handle, "nats_kv_watcher_next", limit, fut) {
            Ok(Some(e)) => Ok(e),
            Ok(None) => Err(Error::new(ErrorKind::InvalidArgument, "the watcher was stopped")),
            Err(e) if e.kind == ErrorKind::Timeout => {
                Err(Error::new(ErrorKind::Timeout, format!("no entry within {} ms", limit.as_millis())))
            }
            Err(e) => Err(e),
        }
    }
}
