//! Streams: create, update, delete, info, purge, list, and reading stored messages.

use crate::client::error::*;
use crate::client::jetstream::context::{js_error, JetStream};
use crate::client::message::Message;
use crate::client::runtime;
use crate::client::subject::*;
use async_nats::jetstream::stream::{Config, Info};
use futures_util::StreamExt;
use std::time::Duration;

/// Checks a stream name: no whitespace, `.`, `*`, `>`, `/` or `\`.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\')) {
        return Err(Error::new(ErrorKind::InvalidArgument, format!("invalid stream name {name:?}")));
    }
    Ok(())
}

/// Checks what a stream configuration names before it goes to the server.
fn check_config(config: &Config) -> Result<()> {
    check_name(&config.name)?;
    for s in &config.subjects {
        check_subject(s, Wildcards::Allowed, "stream subject")?;
    }
    Ok(())
}

/// A message read from a stream, as a message.
fn stored_to_msg(m: async_nats::jetstream::message::StreamMessage) -> Message {
    let length = m.subject.len() + m.payload.len();
    Message::new(async_nats::Message {
        subject: m.subject,
        reply: None,
        payload: m.payload,
        headers: if m.headers.is_empty() { None } else { Some(m.headers) },
        status: None,
        description: None,
        length,
    })
}

impl JetStream {
    /// Runs a JetStream API call, bounded by the context's timeout.
    pub(crate) fn call<F: std::future::Future>(&self, what: &str, fut: F) -> Result<F::Output> {
        self.conn.check_open()?;
        runtime::block_on_timeout(&self.conn.handle, what, self.timeout + Duration::from_millis(50), fut)
    }

    /// Creates a stream (also fine when an identical one exists).
    pub(crate) fn create_stream(&self, config: Config) -> Result<Info> {
        check_config(&config)?;
        let s = self
            .call("nats_jetstream_stream_create", self.ctx.create_stream(config))?
            .map_err(|e| js_error("create stream", &e))?;
        Ok(s.cached_info().clone())
    }

    /// Updates a stream's configuration (its name selects it).
    pub(crate) fn update_stream(&self, config: Config) -> Result<Info> {
        check_config(&config)?;
        self.call("nats_jetstream_stream_update", self.ctx.update_stream(config))?
            .map_err(|e| js_error("update stream", &e))
    }

    pub(crate) fn delete_stream(&self, name: &str) -> Result<()> {
        check_name(name)?;
        self.call("nats_jetstream_stream_delete", self.ctx.delete_stream(name))?
            .map_err(|e| js_error("delete stream", &e))?;
        Ok(())
    }

    pub(crate) fn stream_info(&self, name: &str) -> Result<Info> {
        check_name(name)?;
        let fut = async {
            let s = self.ctx.get_stream_no_info(name).await.map_err(|e| js_error("stream info", &e))?;
            s.get_info().await.map_err(|e| js_error("stream info", &e))
        };
        self.call("nats_jetstream_stream_info", fut)?
    }

    /// Removes all messages, or those on `subject` (wildcards allowed); how many were removed.
    pub(crate) fn purge_stream(&self, name: &str, subject: Option<&str>) -> Result<u64> {
        check_name(name)?;
        if let Some(s) = subject {
            check_subject(s, Wildcards::Allowed, "subject")?;
        }
        let fut = async {
            let s = self.ctx.get_stream_no_info(name).await.map_err(|e| js_error("purge stream", &e))?;
            let r = match subject {
                Some(f) => s.purge().filter(f).await,
                None => s.purge().await,
            };
            r.map_err(|e| js_error("purge stream", &e))
        };
        Ok(self.call("nats_jetstream_stream_purge", fut)??.purged)
    }

    pub(crate) fn stream_names(&self) -> Result<Vec<String>> {
        let fut = async {
            let mut list = Vec::new();
            let mut it = self.ctx.stream_names();
            while let Some(n) = it.next().await {
                list.push(n.map_err(|e| js_error("stream names", &e))?);
            }
            Ok::<_, Error>(list)
        };
        self.call("nats_jetstream_stream_names", fut)?
    }

    /// The message stored at `seq`.
    pub(crate) fn stream_get_msg(&self, name: &str, seq: u64) -> Result<Message> {
        check_name(name)?;
        let fut = async {
            let s = self.ctx.get_stream_no_info(name).await.map_err(|e| js_error("get message", &e))?;
            s.get_raw_message(seq).await.map_err(|e| js_error(&format!("get message {seq}"), &e))
        };
        Ok(stored_to_msg(self.call("nats_jetstream_stream_get_msg", fut)??))
    }

    /// The last message stored on `subject`.
    pub(crate) fn stream_get_last_msg(&self, name: &str, subject: &str) -> Result<Message> {
        check_name(name)?;
        check_subject(subject, Wildcards::Refused, "subject")?;
        let fut = async {
            let s = self.ctx.get_stream_no_info(name).await.map_err(|e| js_error("get last message", &e))?;
            s.get_last_raw_message_by_subject(subject)
                .await
                .map_err(|e| js_error(&format!("last message on {subject:?}"), &e))
        };
        Ok(stored_to_msg(self.call("nats_jetstream_stream_get_last_msg", fut)??))
    }
}
