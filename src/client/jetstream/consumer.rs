//! Consumers: create, update, delete, info, list; pull consumers (fetch, next, consume with
//! a handler); push and ordered subscriptions.

use crate::client::delivery::Callback;
use crate::client::error::*;
use crate::client::jetstream::context::{js_error, JetStream};
use crate::client::jetstream::stream::check_name;
use crate::client::message::Message;
use crate::client::subject::*;
use crate::client::subscription::{BoundConsumer, MsgStream, Source, Subscription};
use async_nats::jetstream::consumer::{self, pull, DeliverPolicy, ReplayPolicy};
use futures_util::{StreamExt, TryStreamExt};
use std::sync::Arc;
use std::time::Duration;

/// Checks a consumer (or durable) name, like a stream name.
pub(crate) fn check_consumer_name(name: &str, what: &str) -> Result<()> {
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\')) {
        return Err(Error::new(ErrorKind::InvalidArgument, format!("invalid {what} {name:?}")));
    }
    Ok(())
}

/// Checks what a consumer configuration names before it goes to the server.
fn check_config(c: &consumer::Config) -> Result<()> {
    if let Some(d) = &c.durable_name {
        check_consumer_name(d, "durable name")?;
    }
    if let Some(n) = &c.name {
        check_consumer_name(n, "consumer name")?;
    }
    if let Some(s) = &c.deliver_subject {
        check_subject(s, Wildcards::Refused, "deliver_subject")?;
    }
    if let Some(g) = &c.deliver_group {
        check_queue(g)?;
    }
    let line = [c.deliver_subject.as_deref().unwrap_or(""), c.deliver_group.as_deref().unwrap_or("")];
    check_control_line("deliver_subject", &line, 0)?;
    if !c.filter_subject.is_empty() {
        check_subject(&c.filter_subject, Wildcards::Allowed, "filter_subject")?;
    }
    check_deliver_policy(&c.deliver_policy)
}

/// A start position by sequence must name one.
pub(crate) fn check_deliver_policy(p: &DeliverPolicy) -> Result<()> {
    if let DeliverPolicy::ByStartSequence { start_sequence: 0 } = p {
        return Err(Error::new(ErrorKind::InvalidArgument, "NATS_DELIVER_BY_START_SEQUENCE needs opt_start_seq >= 1"));
    }
    Ok(())
}

/// What an ordered consumer takes from a consumer configuration.
#[derive(Clone, Debug)]
pub(crate) struct OrderedOptions {
    pub deliver_policy: DeliverPolicy,
    /// "" for the whole stream.
    pub filter_subject: String,
    pub replay_policy: ReplayPolicy,
    pub headers_only: bool,
}

/// How `JetStream::subscribe_subject` and `pull_subscribe` make their consumer.
#[derive(Debug, Default)]
pub(crate) struct SubjectSubscribe<'a> {
    /// The stream; `None`: the one that stores the subject.
    pub stream: Option<&'a str>,
    /// A durable consumer's name; `None`: ephemeral (or the queue group's name with one).
    pub durable: Option<&'a str>,
    /// Push: the deliver group shared by the queue's members.
    pub queue: Option<&'a str>,
    /// The rest of the configuration (its filter, deliver subject, group and durable name are
    /// set from the above).
    pub config: consumer::Config,
}

/// How long a pull waits for its batch.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FetchWait {
    /// Until the batch is full or this long has passed.
    UpTo(Duration),
    /// Only the messages available now.
    NoWait,
}

/// What one fetch asks for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FetchRequest {
    /// Most messages (at least 1).
    pub batch: usize,
    /// Most bytes in all; 0: no limit.
    pub max_bytes: usize,
    pub wait: FetchWait,
    /// The server sends a heartbeat this often while the pull waits; a missed one ends the
    /// fetch. Zero: none.
    pub heartbeat: Duration,
}

impl FetchRequest {
    pub(crate) fn new(batch: usize, wait: FetchWait) -> Self {
        FetchRequest { batch, max_bytes: 0, wait, heartbeat: Duration::ZERO }
    }
}

/// A bound pull consumer.
pub(crate) struct PullConsumer {
    js: Arc<JetStream>,
    consumer: consumer::PullConsumer,
}

impl JetStream {
    /// Creates a consumer on `stream` (fine when an identical one exists).
    pub(crate) fn create_consumer(&self, stream: &str, config: consumer::Config) -> Result<consumer::Info> {
        check_name(stream)?;
        check_config(&config)?;
        let fut = self.ctx.create_consumer_on_stream(config, stream);
        let c = self.call("nats_jetstream_consumer_create", fut)?.map_err(|e| js_error("create consumer", &e))?;
        Ok(c.cached_info().clone())
    }

    /// Updates an existing consumer (its durable name or name selects it).
    pub(crate) fn update_consumer(&self, stream: &str, config: consumer::Config) -> Result<consumer::Info> {
        check_name(stream)?;
        check_config(&config)?;
        if config.name.is_none() {
            return Err(Error::new(ErrorKind::InvalidArgument, "update needs cfg.durable_name or cfg.name"));
        }
        let fut = self.ctx.update_consumer_on_stream(config, stream);
        let c = self.call("nats_jetstream_consumer_update", fut)?.map_err(|e| js_error("update consumer", &e))?;
        Ok(c.cached_info().clone())
    }

    pub(crate) fn delete_consumer(&self, stream: &str, name: &str) -> Result<()> {
        check_name(stream)?;
        check_consumer_name(name, "consumer name")?;
        let fut = self.ctx.delete_consumer_from_stream(name, stream);
        self.call("nats_jetstream_consumer_delete", fut)?.map_err(|e| js_error("delete consumer", &e))?;
        Ok(())
    }

    pub(crate) fn consumer_info(&self, stream: &str, name: &str) -> Result<consumer::Info> {
        self.consumer_info_as("nats_jetstream_consumer_info", stream, name)
    }

    /// [`JetStream::consumer_info`] on behalf of `what`.
    fn consumer_info_as(&self, what: &str, stream: &str, name: &str) -> Result<consumer::Info> {
        check_name(stream)?;
        check_consumer_name(name, "consumer name")?;
        let fut = async {
            let st = self.ctx.get_stream_no_info(stream).await.map_err(|e| js_error("consumer info", &e))?;
            st.consumer_info(name).await.map_err(|e| js_error("consumer info", &e))
        };
        self.call(what, fut)?
    }

    pub(crate) fn consumer_names(&self, stream: &str) -> Result<Vec<String>> {
        check_name(stream)?;
        let fut = async {
            let st = self.ctx.get_stream_no_info(stream).await.map_err(|e| js_error("consumer names", &e))?;
            st.consumer_names().map_err(|e| js_error("consumer names", &e)).try_collect::<Vec<_>>().await
        };
        self.call("nats_jetstream_consumer_names", fut)?
    }

    /// Every consumer's info on `stream`, in one call (the API pages through them).
    pub(crate) fn consumer_infos(&self, stream: &str) -> Result<Vec<consumer::Info>> {
        check_name(stream)?;
        let fut = async {
            let st = self.ctx.get_stream_no_info(stream).await.map_err(|e| js_error("consumer infos", &e))?;
            st.consumers().map_err(|e| js_error("consumer infos", &e)).try_collect::<Vec<_>>().await
        };
        self.call("nats_jetstream_consumer_infos", fut)?
    }

    /// Pauses consumer `name` until `until`, or resumes it (`None`); whether it is paused now.
    pub(crate) fn pause_consumer(
        &self,
        stream: &str,
        name: &str,
        until: Option<async_nats::datetime::DateTime>,
    ) -> Result<bool> {
        check_name(stream)?;
        check_consumer_name(name, "consumer name")?;
        let what = if until.is_some() { "pause consumer" } else { "resume consumer" };
        let fut = async {
            let st = self.ctx.get_stream_no_info(stream).await.map_err(|e| js_error(what, &e))?;
            match until {
                Some(t) => st.pause_consumer(name, t).await,
                None => st.resume_consumer(name).await,
            }
            .map_err(|e| js_error(what, &e))
        };
        Ok(self.call("nats_jetstream_consumer_pause", fut)??.paused)
    }

    /// The stream a subscription by subject reads: the one given, or the one storing `subject`.
    fn stream_for(&self, what: &str, subject: &str, given: Option<&str>) -> Result<String> {
        check_subject(subject, Wildcards::Allowed, "subject")?;
        if let Some(s) = given {
            check_name(s)?;
            return Ok(s.to_string());
        }
        self.call(what, self.ctx.stream_by_subject(subject))?
            .map_err(|e| js_error(&format!("no stream stores {subject:?}"), &e))
    }

    /// The consumer a subscription by subject makes: filtered on `subject`, durable or not.
    fn subject_config(subject: &str, o: SubjectSubscribe) -> consumer::Config {
        let mut config = o.config;
        if config.filter_subject.is_empty() && config.filter_subjects.is_empty() {
            config.filter_subject = subject.to_string();
        }
        if let Some(d) = o.durable.or(o.queue) {
            config.durable_name = Some(d.to_string());
            config.name = Some(d.to_string());
        }
        config.deliver_group = o.queue.map(str::to_string);
        config
    }

    /// Creates a push consumer on the stream storing `subject` (nats.c's `js_Subscribe`) and
    /// subscribes to it: to `cb`, or synchronous delivery without one. The deliver subject is
    /// subscribed before the consumer exists, so nothing is pushed before anyone listens.
    pub(crate) fn subscribe_subject(
        self: &Arc<Self>,
        subject: &str,
        o: SubjectSubscribe,
        cb: Option<Callback>,
    ) -> Result<Arc<Subscription>> {
        let what = "nats_jetstream_subscribe_subject";
        let stream = self.stream_for(what, subject, o.stream)?;
        if let Some(q) = o.queue {
            check_queue(q)?;
        }
        let mut config = Self::subject_config(subject, o);
        // A durable consumer that exists (another queue member made it) is bound as it is.
        let durable = config.durable_name.clone();
        if let Some(name) = &durable {
            match self.consumer_info_as(what, &stream, name) {
                Ok(info) => return self.subscribe_push_of(&stream, &info, cb),
                Err(e) if e.kind != ErrorKind::NotFound => return Err(e),
                Err(_) => {}
            }
        }
        let deliver = config.deliver_subject.clone().unwrap_or_else(|| self.conn.client.new_inbox());
        config.deliver_subject = Some(deliver.clone());
        check_config(&config)?;
        let conn = self.conn.clone();
        let queue = config.deliver_group.clone();
        let fut = async {
            match &queue {
                Some(q) => conn.client.queue_subscribe(deliver.clone(), q.clone()).await,
                None => conn.client.subscribe(deliver.clone()).await,
            }
        };
        let subscriber = self.call(what, fut)?.map_err(|e| conn.closed_error("subscribe", e))?;
        // The subscriber is dropped (unsubscribed) if the consumer cannot be made; a durable
        // one another member made meanwhile is bound instead.
        let info = match (self.create_consumer(&stream, config), &durable) {
            (Ok(info), _) => info,
            (Err(e), Some(name)) => match self.consumer_info_as(what, &stream, name) {
                Ok(info) => return self.subscribe_push_of(&stream, &info, cb),
                Err(_) => return Err(e),
            },
            (Err(e), None) => return Err(e),
        };
        let bound = BoundConsumer { js: self.clone(), stream, name: info.name };
        Subscription::start(conn, Source::Core(subscriber), cb, Some(bound), (&deliver, queue.as_deref()))
    }

    /// Creates a pull consumer on the stream storing `subject` (nats.c's `js_PullSubscribe`)
    /// and binds to it.
    pub(crate) fn pull_subscribe(self: &Arc<Self>, subject: &str, o: SubjectSubscribe) -> Result<PullConsumer> {
        let stream = self.stream_for("nats_jetstream_pull_subscribe", subject, o.stream)?;
        if o.queue.is_some() {
            return Err(Error::new(ErrorKind::InvalidArgument, "a pull consumer takes no queue group"));
        }
        let config = Self::subject_config(subject, o);
        if config.deliver_subject.is_some() {
            return Err(Error::new(ErrorKind::InvalidArgument, "a pull consumer takes no deliver subject"));
        }
        let info = self.create_consumer(&stream, config)?;
        self.pull_consumer_of(info)
    }

    /// Binds to the existing pull consumer `name` of `stream`.
    pub(crate) fn pull_consumer(self: &Arc<Self>, stream: &str, name: &str) -> Result<PullConsumer> {
        let i = self.consumer_info_as("nats_jetstream_pull_consumer", stream, name)?;
        self.pull_consumer_of(i)
    }

    /// Binds to the pull consumer `i` describes.
    fn pull_consumer_of(self: &Arc<Self>, i: consumer::Info) -> Result<PullConsumer> {
        let name = &i.name;
        if i.config.deliver_subject.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "consumer {name:?} is a push consumer (it has a deliver subject); use nats_jetstream_subscribe"
                ),
            ));
        }
        let cfg = <pull::Config as consumer::FromConsumer>::try_from_consumer_config(i.config.clone())
            .map_err(|e| Error::new(ErrorKind::JetStream, format!("consumer {name:?}: {e}")))?;
        let consumer = consumer::Consumer::new(cfg, i, self.ctx.clone());
        Ok(PullConsumer { js: self.clone(), consumer })
    }

    /// Subscribes to the existing push consumer `name` of `stream`: to `cb`, or synchronous
    /// delivery without one.
    pub(crate) fn subscribe_push(
        self: &Arc<Self>,
        stream: &str,
        name: &str,
        cb: Option<Callback>,
    ) -> Result<Arc<Subscription>> {
        let i = self.consumer_info_as("nats_jetstream_subscribe", stream, name)?;
        self.subscribe_push_of(stream, &i, cb)
    }

    /// Subscribes to the push consumer `i` describes.
    fn subscribe_push_of(
        self: &Arc<Self>,
        stream: &str,
        i: &consumer::Info,
        cb: Option<Callback>,
    ) -> Result<Arc<Subscription>> {
        let name = &i.name;
        let Some(subject) = i.config.deliver_subject.clone() else {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("consumer {name:?} is a pull consumer (no deliver subject); use nats_jetstream_pull_consumer"),
            ));
        };
        let conn = self.conn.clone();
        let queue = i.config.deliver_group.clone();
        let fut = async {
            match &queue {
                Some(q) => conn.client.queue_subscribe(subject.clone(), q.clone()).await,
                None => conn.client.subscribe(subject.clone()).await,
            }
        };
        let subscriber = self.call("nats_jetstream_subscribe", fut)?.map_err(|e| conn.closed_error("subscribe", e))?;
        let bound = BoundConsumer { js: self.clone(), stream: stream.to_string(), name: name.to_string() };
        Subscription::start(conn, Source::Core(subscriber), cb, Some(bound), (&subject, queue.as_deref()))
    }

    /// An ordered consumer on `stream`, delivering to `cb`.
    pub(crate) fn subscribe_ordered(&self, stream: &str, o: OrderedOptions, cb: Callback) -> Result<Arc<Subscription>> {
        check_name(stream)?;
        check_deliver_policy(&o.deliver_policy)?;
        if !o.filter_subject.is_empty() {
            check_subject(&o.filter_subject, Wildcards::Allowed, "filter_subject")?;
        }
        let conn = self.conn.clone();
        let deliver_subject = conn.client.new_inbox();
        let config = consumer::push::OrderedConfig {
            deliver_subject: deliver_subject.clone(),
            filter_subject: o.filter_subject,
            deliver_policy: o.deliver_policy,
            replay_policy: o.replay_policy,
            headers_only: o.headers_only,
            ..Default::default()
        };
        let fut = async {
            let st = self.ctx.get_stream_no_info(stream).await.map_err(|e| js_error("ordered consumer", &e))?;
            let consumer = st.create_consumer(config).await.map_err(|e| js_error("ordered consumer", &e))?;
            consumer.messages().await.map_err(|e| js_error("ordered consumer", &e))
        };
        let messages = self.call("nats_jetstream_subscribe_ordered", fut)??;
        let messages: MsgStream =
            Box::pin(messages.map(|r| r.map(|m| m.message).map_err(|e| format!("ordered consumer: {e}"))));
        // An ordered consumer is recreated under a new name on every gap: no stable info.
        Subscription::start(conn, Source::Stream(messages), Some(cb), None, (&deliver_subject, None))
    }
}

impl PullConsumer {
    fn wrap(&self, m: async_nats::jetstream::Message) -> Message {
        Message::new(m.message).with_acker(self.js.conn.clone())
    }

    /// Up to `batch` messages, as `wait` says: until the batch is full or a time passed, or
    /// only those available now. At least one: none is `Timeout` (waiting) or `NotFound`.
    pub(crate) fn fetch(&self, req: FetchRequest) -> Result<Vec<Message>> {
        let FetchRequest { batch, max_bytes, wait, heartbeat } = req;
        if batch == 0 {
            return Err(Error::new(ErrorKind::InvalidArgument, "batch must be at least 1"));
        }
        if let FetchWait::UpTo(limit) = wait {
            if limit < Duration::from_millis(10) {
                return Err(Error::new(ErrorKind::InvalidArgument, "timeout must be at least 10 ms"));
            }
            if heartbeat > limit / 2 {
                return Err(Error::new(ErrorKind::InvalidArgument, "heartbeat must be at most half the timeout"));
            }
        } else if !heartbeat.is_zero() {
            return Err(Error::new(ErrorKind::InvalidArgument, "a fetch that does not wait takes no heartbeat"));
        }
        self.js.conn.check_open()?;
        let fut = async {
            let mut out = Vec::new();
            let mut msgs = match wait {
                FetchWait::NoWait => self.consumer.fetch().max_messages(batch).max_bytes(max_bytes).messages().await,
                FetchWait::UpTo(limit) => {
                    self.consumer
                        .batch()
                        .max_messages(batch)
                        .max_bytes(max_bytes)
                        .expires(limit)
                        .heartbeat(heartbeat)
                        .messages()
                        .await
                }
            }
            .map_err(|e| js_error("fetch", &e))?;
            while let Some(m) = msgs.next().await {
                match m {
                    Ok(m) => out.push(self.wrap(m)),
                    Err(e) if out.is_empty() => return Err(js_error("fetch", &*e)),
                    Err(_) => break,
                }
            }
            Ok::<_, Error>(out)
        };
        let bound = match wait {
            FetchWait::NoWait => self.js.timeout,
            FetchWait::UpTo(limit) => limit + self.js.timeout,
        };
        let list =
            crate::client::runtime::block_on_timeout(&self.js.conn.handle, "nats_pull_consumer_fetch", bound, fut)??;
        if list.is_empty() {
            return Err(match wait {
                FetchWait::NoWait => Error::new(ErrorKind::NotFound, "no message available"),
                FetchWait::UpTo(limit) => {
                    Error::new(ErrorKind::Timeout, format!("no message within {} ms", limit.as_millis()))
                }
            });
        }
        Ok(list)
    }

    /// One message, waiting at most `limit`.
    pub(crate) fn next(&self, limit: Duration) -> Result<Message> {
        self.fetch(FetchRequest::new(1, FetchWait::UpTo(limit)))?
            .pop()
            .ok_or_else(|| Error::new(ErrorKind::Timeout, format!("no message within {} ms", limit.as_millis())))
    }

    /// Consumes continuously into a subscription delivering to `cb`.
    pub(crate) fn consume(&self, cb: Callback) -> Result<Arc<Subscription>> {
        self.js.conn.check_open()?;
        let consumer = self.consumer.clone();
        let fut = async move { consumer.messages().await };
        let messages = self.js.call("nats_pull_consumer_consume", fut)?.map_err(|e| js_error("consume", &e))?;
        let messages: MsgStream = Box::pin(messages.map(|r| r.map(|m| m.message).map_err(|e| format!("consume: {e}"))));
        let info = self.consumer.cached_info();
        let bound = BoundConsumer { js: self.js.clone(), stream: info.stream_name.clone(), name: info.name.clone() };
        Subscription::start(self.js.conn.clone(), Source::Stream(messages), Some(cb), Some(bound), ("", None))
    }

    pub(crate) fn info(&self) -> Result<consumer::Info> {
        self.js.call("nats_pull_consumer_info", self.consumer.get_info())?.map_err(|e| js_error("consumer info", &e))
    }
}
