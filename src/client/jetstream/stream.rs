//! Streams: create, update, delete, info, purge, list, and reading stored messages.

use crate::client::error::*;
use crate::client::jetstream::context::{code_error, js_error, JetStream};
use crate::client::message::{Message, StoredAt};
use crate::client::runtime;
use crate::client::subject::*;
use async_nats::jetstream::account::Account;
use async_nats::jetstream::response::Response;
use async_nats::jetstream::stream::{Config, Info};
use futures_util::TryStreamExt;
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
    let at = StoredAt { seq: m.sequence, time_ns: i64::try_from(m.time.unix_timestamp_nanos()).unwrap_or(0) };
    Message::new(async_nats::Message {
        subject: m.subject,
        reply: None,
        payload: m.payload,
        headers: if m.headers.is_empty() { None } else { Some(m.headers) },
        status: None,
        description: None,
        length,
    })
    .stored_at(at)
}

/// Which messages a purge removes (`PurgeOptions::default()`: all of them).
#[derive(Default, Debug)]
pub(crate) struct PurgeOptions<'a> {
    /// Only those on this subject (wildcards allowed).
    pub subject: Option<&'a str>,
    /// Those below this sequence (0: not set).
    pub below_seq: u64,
    /// All but this many of the newest (0: not set).
    pub keep: u64,
}

/// Which message a direct get reads.
#[derive(Debug)]
pub(crate) enum DirectGet<'a> {
    /// The message at this sequence.
    Sequence(u64),
    /// The last message on this subject.
    LastBySubject(&'a str),
    /// The first message on this subject (wildcards allowed) at or after this sequence.
    NextBySubject(&'a str, u64),
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

    pub(crate) fn stream_names(&self) -> Result<Vec<String>> {
        let fut =
            async { self.ctx.stream_names().map_err(|e| js_error("stream names", &e)).try_collect::<Vec<_>>().await };
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

    /// Removes one message: `erase` overwrites its data on disk first.
    pub(crate) fn delete_msg(&self, name: &str, seq: u64, erase: bool) -> Result<()> {
        check_name(name)?;
        let what = if erase { "erase message" } else { "delete message" };
        let body = serde_json::json!({ "seq": seq, "no_erase": !erase });
        let fut = self.ctx.request::<_, _, Response<serde_json::Value>>(format!("STREAM.MSG.DELETE.{name}"), &body);
        match self.call("nats_jetstream_stream_delete_msg", fut)?.map_err(|e| js_error(what, &e))? {
            Response::Ok(_) => Ok(()),
            Response::Err { error } => Err(code_error(&format!("{what} {seq}"), &error)),
        }
    }

    /// Removes the messages `opts` selects; how many were removed.
    pub(crate) fn purge_stream_with(&self, name: &str, opts: &PurgeOptions) -> Result<u64> {
        check_name(name)?;
        if let Some(s) = opts.subject {
            check_subject(s, Wildcards::Allowed, "subject")?;
        }
        if opts.below_seq != 0 && opts.keep != 0 {
            return Err(Error::new(ErrorKind::InvalidArgument, "purge: set `sequence` or `keep`, not both"));
        }
        let fut = async {
            let s = self.ctx.get_stream_no_info(name).await.map_err(|e| js_error("purge stream", &e))?;
            let base = match opts.subject {
                Some(f) => s.purge().filter(f),
                None => s.purge(),
            };
            let r = match (opts.below_seq, opts.keep) {
                (0, 0) => base.await,
                (seq, 0) => base.sequence(seq).await,
                (_, keep) => base.keep(keep).await,
            };
            r.map_err(|e| js_error("purge stream", &e))
        };
        Ok(self.call("nats_jetstream_stream_purge", fut)??.purged)
    }

    /// Reads a message from any replica (or mirror) of a stream with `allow_direct`.
    pub(crate) fn direct_get(&self, name: &str, which: DirectGet) -> Result<Message> {
        check_name(name)?;
        match which {
            DirectGet::Sequence(_) => {}
            DirectGet::LastBySubject(s) => check_subject(s, Wildcards::Refused, "last_by_subject")?,
            DirectGet::NextBySubject(s, _) => check_subject(s, Wildcards::Allowed, "next_by_subject")?,
        }
        let fut = async {
            let s = self.ctx.get_stream_no_info(name).await.map_err(|e| js_error("direct get", &e))?;
            let b = s.direct_get_builder();
            let b = match which {
                DirectGet::Sequence(seq) => b.sequence(seq),
                DirectGet::LastBySubject(subject) => b.last_by_subject(subject),
                DirectGet::NextBySubject(subject, 0) => b.next_by_subject(subject),
                DirectGet::NextBySubject(subject, seq) => b.next_by_subject(subject).sequence(seq),
            };
            b.send().await.map_err(|e| js_error("direct get", &e))
        };
        match self.call("nats_jetstream_stream_direct_get", fut)? {
            Ok(m) => Ok(stored_to_msg(m)),
            Err(e) if matches!(e.kind, ErrorKind::NoResponders | ErrorKind::Timeout) => {
                Err(self.why_no_direct_get(name, e))
            }
            Err(e) => Err(e),
        }
    }

    /// Why a direct get had no answer: the stream does not exist or does not allow direct
    /// gets (the server then lets the request time out), else the error as it was.
    fn why_no_direct_get(&self, name: &str, e: Error) -> Error {
        match self.stream_info(name) {
            Ok(info) if !info.config.allow_direct => Error::new(
                ErrorKind::InvalidArgument,
                format!("direct get: stream {name:?} does not allow direct gets (`allow_direct` is not set)"),
            ),
            Err(not_found) if not_found.kind == ErrorKind::NotFound => not_found,
            _ => e,
        }
    }

    /// Every stream's info, in one call (the API pages through them).
    pub(crate) fn stream_infos(&self) -> Result<Vec<Info>> {
        let fut = async { self.ctx.streams().map_err(|e| js_error("stream infos", &e)).try_collect::<Vec<_>>().await };
        self.call("nats_jetstream_stream_infos", fut)?
    }

    /// The account's JetStream usage and limits.
    pub(crate) fn account_info(&self) -> Result<Account> {
        self.call("nats_jetstream_account_info", self.ctx.query_account())?.map_err(|e| js_error("account info", &e))
    }
}
