//! Object store buckets: create, bind, delete; objects put from a buffer or a file and read
//! back into a buffer or a file, chunk by chunk (memory bounded by the chunk size and the
//! consumer's flow control, not by the object), their digest checked; info, list, delete,
//! metadata updates, and the bucket's status.

use crate::client::error::*;
use crate::client::events::error_event;
use crate::client::jetstream::context::{js_error, JetStream};
use crate::client::jetstream::kv::{callback_watch, check_bucket, WatchHandler, Watcher};
use crate::client::runtime;
use crate::client::subject::nul_terminated;
use async_nats::jetstream::object_store::{self, ObjectInfo, ObjectMetadata, UpdateMetadata};
use async_nats::jetstream::stream;
use futures_util::{StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// A bucket.
pub(crate) struct ObjectStore {
    js: Arc<JetStream>,
    store: object_store::ObjectStore,
    bucket: String,
    /// The bucket's name followed by a NUL, for C to borrow.
    bucket_nul: Box<[u8]>,
}

/// A bucket's state (`nats_object_store_status`).
#[derive(Clone, Debug)]
pub(crate) struct ObjectStoreStatus {
    pub ttl: Duration,
    pub memory: bool,
    pub replicas: usize,
    pub sealed: bool,
    /// Bytes stored (chunks and metadata).
    pub size: u64,
    pub compressed: bool,
}

/// A file (or any reader or writer, such as the caller's callbacks) used with blocking calls
/// inside a future: puts and gets run on the caller's thread (`block_on`), which waits for
/// them anyway, so no runtime thread blocks.
struct OnCallerThread<T>(T);

impl<T: std::io::Read + Unpin> tokio::io::AsyncRead for OnCallerThread<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        // Fill the buffer (a chunk) rather than hand over each short read (pipes, sockets,
        // callbacks): the put makes one chunk of whatever one read gives.
        while buf.remaining() > 0 {
            match self.0.read(buf.initialize_unfilled()) {
                Ok(0) => break,
                Ok(n) => buf.advance(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // What was read goes first; the error comes again on the next read.
                Err(_) if !buf.filled().is_empty() => break,
                Err(e) => return std::task::Poll::Ready(Err(e)),
            }
        }
        std::task::Poll::Ready(Ok(()))
    }
}

impl<T: std::io::Write + Unpin> tokio::io::AsyncWrite for OnCallerThread<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(self.0.write(data))
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(self.0.flush())
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// Longest a put or a get may take in all: chunks are acknowledged (put) or must keep
/// arriving (get) within the context's timeout each, so only that bounds them.
const NO_OVERALL_LIMIT: Duration = Duration::from_secs(365 * 24 * 3600);

fn check_object_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains(['\r', '\n', '\0']) {
        return Err(Error::new(ErrorKind::InvalidArgument, format!("invalid object name {name:?}")));
    }
    Ok(())
}

/// A chunk that cannot be read: the object is truncated (or the stream is gone).
fn truncated(name: &str, e: &(dyn std::error::Error + 'static)) -> Error {
    let err = obj_error(&format!("get {name:?}"), e);
    if err.kind == ErrorKind::NotFound {
        return Error::new(
            ErrorKind::JetStream,
            format!("get {name:?}: the data does not match the object's digest (corrupted or truncated): a chunk is missing"),
        );
    }
    err
}

/// A failure of an object call: not found, or the error's own words.
fn obj_error(what: &str, e: &(dyn std::error::Error + 'static)) -> Error {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("digest") {
        return Error::new(
            ErrorKind::JetStream,
            format!("{what}: the data does not match the object's digest (corrupted or truncated): {text}"),
        );
    }
    if lower.contains("not found") || lower.contains("does not exist") {
        return Error::new(ErrorKind::NotFound, format!("{what}: {text}"));
    }
    js_error(what, e)
}

/// The stream of an object store bucket, as async-nats' `create_object_store` makes it, with
/// `metadata`.
fn object_stream_config(c: object_store::Config, metadata: HashMap<String, String>) -> stream::Config {
    stream::Config {
        name: format!("OBJ_{}", c.bucket),
        description: c.description,
        subjects: vec![format!("$O.{}.C.>", c.bucket), format!("$O.{}.M.>", c.bucket)],
        max_age: c.max_age,
        max_bytes: c.max_bytes,
        storage: c.storage,
        num_replicas: c.num_replicas,
        discard: stream::DiscardPolicy::New,
        allow_rollup: true,
        allow_direct: true,
        compression: c.compression.then_some(stream::Compression::S2),
        placement: c.placement,
        metadata,
        ..Default::default()
    }
}

impl JetStream {
    /// Creates a bucket (fine when an identical one exists), with `metadata` on its stream:
    /// the stream async-nats' `create_object_store` makes, whose config has no metadata.
    pub(crate) fn object_store_create(
        self: &Arc<Self>,
        config: object_store::Config,
        metadata: HashMap<String, String>,
    ) -> Result<ObjectStore> {
        check_bucket(&config.bucket)?;
        let bucket = config.bucket.clone();
        let stream = object_stream_config(config, metadata);
        let store = self.call("nats_jetstream_object_store_create", async {
            self.ctx.create_stream(stream).await.map_err(|e| obj_error("create object store", &e))?;
            self.ctx.get_object_store(&bucket).await.map_err(|e| obj_error("create object store", &e))
        })??;
        Ok(ObjectStore::new(self.clone(), store, bucket))
    }

    /// Binds to an existing bucket.
    pub(crate) fn object_store_bind(self: &Arc<Self>, bucket: &str) -> Result<ObjectStore> {
        check_bucket(bucket)?;
        let store = self
            .call("nats_jetstream_object_store_bind", self.ctx.get_object_store(bucket))?
            .map_err(|e| obj_error(&format!("object store {bucket:?}"), &e))?;
        Ok(ObjectStore::new(self.clone(), store, bucket.to_string()))
    }

    pub(crate) fn object_store_delete(&self, bucket: &str) -> Result<()> {
        check_bucket(bucket)?;
        self.call("nats_jetstream_object_store_delete", self.ctx.delete_object_store(bucket))?
            .map_err(|e| obj_error(&format!("delete object store {bucket:?}"), &e))?;
        Ok(())
    }
}

impl ObjectStore {
    fn new(js: Arc<JetStream>, store: object_store::ObjectStore, bucket: String) -> Self {
        let bucket_nul = nul_terminated(&bucket);
        ObjectStore { js, store, bucket, bucket_nul }
    }

    /// The bucket's name followed by a NUL.
    pub(crate) fn bucket_nul(&self) -> &[u8] {
        &self.bucket_nul
    }

    /// Runs an object call with no overall limit (see [`NO_OVERALL_LIMIT`]).
    fn run<F: std::future::Future>(&self, what: &str, fut: F) -> Result<F::Output> {
        self.js.conn.check_open()?;
        runtime::block_on_timeout(&self.js.conn.handle, what, NO_OVERALL_LIMIT, fut)
    }

    /// Stores what `reader` yields under `meta.name`, chunk by chunk; replaces an object of
    /// that name.
    pub(crate) fn put(
        &self,
        what: &str,
        meta: ObjectMetadata,
        mut reader: impl tokio::io::AsyncRead + Unpin,
    ) -> Result<ObjectInfo> {
        check_object_name(&meta.name)?;
        let max = self.js.conn.client.server_info().max_payload;
        if let Some(size) = meta.chunk_size.filter(|&s| s == 0 || s > max) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("chunk size {size}: a chunk is one message, 1 to the server's max payload ({max} bytes)"),
            ));
        }
        let name = meta.name.clone();
        self.run(what, self.store.put(meta, &mut reader))?.map_err(|e| match e.kind() {
            // The data's source failed (a file, a pipe, the caller's callback).
            object_store::PutErrorKind::ReadChunks => Error::new(ErrorKind::Io, format!("put {name:?}: reading: {e}")),
            _ => obj_error(&format!("put {name:?}"), &e),
        })
    }

    pub(crate) fn put_bytes(&self, meta: ObjectMetadata, data: &[u8]) -> Result<ObjectInfo> {
        self.put("nats_object_store_put", meta, data)
    }

    /// Stores what `source` yields (read on the caller's thread, a chunk at a time).
    pub(crate) fn put_from(
        &self,
        what: &str,
        meta: ObjectMetadata,
        source: impl std::io::Read + Unpin,
    ) -> Result<ObjectInfo> {
        self.put(what, meta, OnCallerThread(source))
    }

    /// Reads object `name` into `writer` one chunk at a time (one stored message per request,
    /// each within the context's timeout: memory holds one chunk, whatever the object's size),
    /// following a link to another object; checks size and SHA-256 digest at the end.
    pub(crate) fn get_into(
        &self,
        what: &str,
        name: &str,
        mut writer: impl tokio::io::AsyncWrite + Unpin,
    ) -> Result<ObjectInfo> {
        check_object_name(name)?;
        let info = self.readable_info(name)?;
        let fut = async {
            let stream = self
                .js
                .ctx
                .get_stream_no_info(format!("OBJ_{}", info.bucket))
                .await
                .map_err(|e| obj_error(&format!("get {name:?}"), &e))?;
            let subject = format!("$O.{}.C.{}", info.bucket, info.nuid);
            let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
            let (mut next_seq, mut size) = (1u64, 0usize);
            for _ in 0..info.chunks {
                let chunk = tokio::time::timeout(
                    self.js.timeout,
                    stream.raw_message_builder().sequence(next_seq).next_by_subject(subject.clone()).send(),
                )
                .await
                .map_err(|_| Error::new(ErrorKind::Timeout, format!("get {name:?}: a chunk did not come in time")))?
                .map_err(|e| truncated(name, &e))?;
                digest.update(&chunk.payload);
                size += chunk.payload.len();
                next_seq = chunk.sequence + 1;
                writer
                    .write_all(&chunk.payload)
                    .await
                    .map_err(|e| Error::new(ErrorKind::Io, format!("get {name:?}: writing: {e}")))?;
            }
            writer.flush().await.map_err(|e| Error::new(ErrorKind::Io, format!("get {name:?}: writing: {e}")))?;
            let got = format!(
                "SHA-256={}",
                base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE, digest.finish())
            );
            if size != info.size || info.digest.as_deref().is_some_and(|d| d != got) {
                return Err(Error::new(
                    ErrorKind::JetStream,
                    format!(
                        "get {name:?}: the data does not match the object's digest (corrupted or truncated): \
                         {size} bytes, {got}; its info says {} bytes, {}",
                        info.size,
                        info.digest.as_deref().unwrap_or("no digest")
                    ),
                ));
            }
            Ok::<_, Error>(info.clone())
        };
        self.run(what, fut)?
    }

    /// The info of the object to read for `name`: itself, or the object it links to; a
    /// deleted object is not found.
    fn readable_info(&self, name: &str) -> Result<ObjectInfo> {
        let mut info = self.info(name)?;
        if let Some(link) = info.options.as_ref().and_then(|o| o.link.clone()) {
            let Some(target) = link.name else {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("{name:?} links to a bucket, not an object"),
                ));
            };
            let other = if link.bucket == self.bucket { None } else { Some(self.js.object_store_bind(&link.bucket)?) };
            info = other.as_ref().unwrap_or(self).info(&target)?;
        }
        if info.deleted {
            return Err(Error::new(ErrorKind::NotFound, format!("object {name:?} was deleted")));
        }
        Ok(info)
    }

    pub(crate) fn get_bytes(&self, name: &str) -> Result<(Vec<u8>, ObjectInfo)> {
        let mut data = Vec::new();
        let info = self.get_into("nats_object_store_get", name, &mut data)?;
        Ok((data, info))
    }

    /// Reads object `name` into `sink` (written on the caller's thread, a chunk at a time).
    pub(crate) fn get_to(&self, what: &str, name: &str, sink: impl std::io::Write + Unpin) -> Result<ObjectInfo> {
        self.get_into(what, name, OnCallerThread(sink))
    }

    /// Adds `name`, a link to object `target` of this bucket (read through the link).
    pub(crate) fn add_link(&self, name: &str, target: &str) -> Result<ObjectInfo> {
        check_object_name(name)?;
        let target_info = self.info(target)?;
        self.js
            .call("nats_object_store_add_link", self.store.add_link(name, &target_info))?
            .map_err(|e| obj_error(&format!("link {name:?}"), &e))
    }

    /// Adds `name`, a link to bucket `bucket`.
    pub(crate) fn add_bucket_link(&self, name: &str, bucket: &str) -> Result<ObjectInfo> {
        check_object_name(name)?;
        check_bucket(bucket)?;
        self.js
            .call("nats_object_store_add_bucket_link", self.store.add_bucket_link(name, bucket))?
            .map_err(|e| obj_error(&format!("link {name:?}"), &e))
    }

    /// The object's info (also of a deleted one, which is marked so).
    pub(crate) fn info(&self, name: &str) -> Result<ObjectInfo> {
        check_object_name(name)?;
        let err = match self.js.call("nats_object_store_info", self.store.info(name))? {
            Ok(info) => return Ok(info),
            Err(e) => obj_error(&format!("info {name:?}"), &e),
        };
        // Infos are read with direct gets, which nothing answers once the bucket is gone.
        match self.js.stream_info(&format!("OBJ_{}", self.bucket)) {
            Err(gone) if err.kind == ErrorKind::NoResponders && gone.kind == ErrorKind::NotFound => {
                Err(Error::new(ErrorKind::NotFound, format!("object store {:?} does not exist", self.bucket)))
            }
            _ => Err(err),
        }
    }

    /// Every object's info (deleted ones left out).
    pub(crate) fn list(&self) -> Result<Vec<ObjectInfo>> {
        let fut = async {
            let infos = self.store.list().await.map_err(|e| obj_error("list", &e))?;
            infos.map_err(|e| obj_error("list", &e)).try_collect::<Vec<_>>().await
        };
        self.js.call("nats_object_store_list", fut)?
    }

    pub(crate) fn delete(&self, name: &str) -> Result<()> {
        check_object_name(name)?;
        self.js
            .call("nats_object_store_delete", self.store.delete(name))?
            .map_err(|e| obj_error(&format!("delete {name:?}"), &e))
    }

    /// Renames the object and replaces its description and metadata.
    pub(crate) fn update_meta(&self, name: &str, meta: UpdateMetadata) -> Result<ObjectInfo> {
        check_object_name(name)?;
        check_object_name(&meta.name)?;
        self.js
            .call("nats_object_store_update_meta", self.store.update_metadata(name, meta))?
            .map_err(|e| obj_error(&format!("update {name:?}"), &e))
    }

    /// Watches the bucket: each object's info as it is put, updated or deleted, to `handler`
    /// on a lane of its own; with `history`, first the current info of every object.
    /// Errors of the watch go to the connection's events.
    pub(crate) fn watch(
        &self,
        history: bool,
        handler: Box<dyn WatchHandler<ObjectInfo>>,
    ) -> Result<Watcher<ObjectInfo>> {
        callback_watch(&self.js.conn.executor, "nats-ffi-object-watch", handler, |mut deliver| {
            let store = self.store.clone();
            let fut = async move {
                match history {
                    true => store.watch_with_history().await,
                    false => store.watch().await,
                }
            };
            let mut watch = self.js.call("nats_object_store_watch", fut)?.map_err(|e| obj_error("watch", &e))?;
            let conn = self.js.conn.clone();
            let task = self.js.conn.handle.spawn(async move {
                while let Some(item) = watch.next().await {
                    match item {
                        Ok(info) => {
                            if !deliver(info) {
                                break;
                            }
                        }
                        Err(e) => {
                            conn.send_event(error_event(None, ErrorKind::JetStream, format!("object watch: {e}")))
                        }
                    }
                }
            });
            Ok(task.abort_handle())
        })
    }

    /// The bucket's state, fresh.
    pub(crate) fn status(&self) -> Result<ObjectStoreStatus> {
        let info = self.js.stream_info(&format!("OBJ_{}", self.bucket))?;
        let c = &info.config;
        Ok(ObjectStoreStatus {
            ttl: c.max_age,
            memory: c.storage == async_nats::jetstream::stream::StorageType::Memory,
            replicas: c.num_replicas,
            sealed: c.sealed,
            size: info.state.bytes,
            compressed: c.compression.as_ref().is_some_and(|k| *k != async_nats::jetstream::stream::Compression::None),
        })
    }
}
