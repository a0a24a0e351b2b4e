#![forbid(unsafe_code)]

//! The client core: safe Rust, no raw pointers, no C types, no `extern "C"`. It knows nothing
//! of the C boundary above it: application code reaches it through handler traits and
//! closures ([`events::EventSink`], [`subscription::MessageHandler`],
//! [`jetstream::kv::WatchHandler`], reply and ack handlers), which the boundary implements
//! with the user's C callbacks.

pub(crate) mod connection;
pub(crate) mod delivery;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod jetstream;
pub(crate) mod lifecycle;
pub(crate) mod message;
pub(crate) mod options;
pub(crate) mod publish;
pub(crate) mod reconnect;
pub(crate) mod runtime;
pub(crate) mod service;
pub(crate) mod subject;
pub(crate) mod subscription;
pub(crate) mod tls;
