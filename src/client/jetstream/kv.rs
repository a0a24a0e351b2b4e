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
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A bucket.
pub(crate) struct Kv {
    js: Arc<JetStream>,
    store: kv::Store,
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

/// What a watch does with each entry, on the watcher's thread.
pub(crate) trait WatchHandler: Send + 'static {
    /// The watch exists and its lane is set up: from here on the handler owns what it holds.
    fn accepted(&mut self);

    /// One entry, in revision order.
    fn on_entry(&mut self, entry: Entry);
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
        Ok(Kv { js: self.clone(), store })
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
        Ok(Kv { js: self.clone(), store })
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
            let mut it = self.store.keys().await.map_err(|e| kv_error("keys", &e))?;
            let mut list = Vec::new();
            while let Some(key) = it.next().await {
                list.push(key.map_err(|e| kv_error("keys", &e))?);
            }
            Ok::<_, Error>(list)
        };
        self.js.call("nats_kv_keys", fut)?
    }

    /// Every kept entry of `key`, oldest first; `NotFound` when there is none.
    pub(crate) fn history(&self, key: &str) -> Result<Vec<Entry>> {
        self.check_key(key, Wildcards::Refused)?;
        let fut = async {
            let mut it = self.store.history(key).await.map_err(|e| kv_error("history", &e))?;
            let mut list = Vec::new();
            while let Some(e) = it.next().await {
                list.push(e.map_err(|e| kv_error("history", &e))?);
            }
            Ok::<_, Error>(list)
        };
        let list = self.js.call("nats_kv_history", fut)??;
        if list.is_empty() {
            return Err(Error::new(ErrorKind::NotFound, format!("key {key:?} has no history")));
        }
        Ok(list)
    }

    /// Watches the keys matching `pattern` (`None`: all), handing each entry to `handler` on
    /// the watch's lane (see `delivery`); errors of the watch go to the connection's events.
    pub(crate) fn watch(
        &self,
        pattern: Option<&str>,
        from: WatchFrom,
        handler: Box<dyn WatchHandler>,
    ) -> Result<Watcher> {
        let pattern = pattern.unwrap_or(">");
        self.check_key(pattern, Wildcards::Allowed)?;
        let store = self.store.clone();
        let p = pattern.to_string();
        let fut = async move {
            match from {
                WatchFrom::UpdatesOnly => store.watch(p).await,
                WatchFrom::History => store.watch_from_revision(p, 1).await,
                WatchFrom::Current => store.watch_with_history(p).await,
            }
        };
        let mut watch = self.js.call("nats_kv_watch", fut)?.map_err(|e| kv_error("watch", &e))?;
        let queue = JobQueue::start(&self.js.conn.executor, "nats-ffi-kv-watch")?;
        // The watcher owns the handler from here; it is dropped (releasing what it holds)
        // once the watch stopped, after its last call.
        let mut handler = handler;
        handler.accepted();
        let shared = Arc::new(WatchState { handler: Mutex::new(Some(handler)), ..Default::default() });
        let (sender, for_task) = (queue.sender(), shared.clone());
        let conn = self.js.conn.clone();
        let task = self.js.conn.handle.spawn(async move {
            while let Some(e) = watch.next().await {
                match e {
                    Ok(e) => {
                        let shared = for_task.clone();
                        if !sender.send(Box::new(move || shared.deliver(e))) {
                            break;
                        }
                    }
                    Err(e) => conn.send_event(error_event(None, ErrorKind::JetStream, format!("kv watch: {e}"))),
                }
            }
        });
        Ok(Watcher { state: shared, task: task.abort_handle(), _queue: queue })
    }
}

/// A running watch.
pub(crate) struct Watcher {
    state: Arc<WatchState>,
    task: tokio::task::AbortHandle,
    /// The watch's lane; dropping it lets the lane finish.
    _queue: JobQueue,
}

/// Shared by a watcher and its entries' jobs: a job holds `calling` while it checks
/// `stopped` and runs the handler, so `stop` (setting the flag, then taking the lock) returns
/// only once no handler call is running or can start.
#[derive(Default)]
struct WatchState {
    stopped: AtomicBool,
    calling: Mutex<()>,
    handler: Mutex<Option<Box<dyn WatchHandler>>>,
}

thread_local! {
    /// While a watch handler runs: its state.
    static WATCHING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl WatchState {
    /// Hands `e` to the handler, unless the watch stopped; drops the handler once it did.
    fn deliver(self: &Arc<Self>, e: Entry) {
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

impl Watcher {
    /// Stops the watch: waits for a running handler call (unless called from it); none
    /// starts after this returns, and the handler is released after its last call.
    pub(crate) fn stop(&self) {
        self.state.stopped.store(true, Ordering::Release);
        self.task.abort();
        if WATCHING.with(|w| w.get()) != Arc::as_ptr(&self.state).addr() {
            drop(self.state.calling.lock().unwrap_or_else(|p| p.into_inner()));
            self.state.release_handler();
        }
    }
}
