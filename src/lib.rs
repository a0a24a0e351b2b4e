//! nats-ffi: a NATS client for C, on async-nats and tokio.
//!
//! The C API lives in one module per C type: `nats_options_*` in [`options`],
//! `nats_connect*` / `nats_publish*` / `nats_request` / `nats_connection_*` in [`connection`],
//! `nats_subscribe*` / `nats_subscription_*` in [`subscription`], `nats_msg_*` in [`message`],
//! status codes in [`error`]. See README.md and `include/nats_ffi.h`.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub(crate) mod capi;
pub mod connection;
pub mod consumer;
pub mod error;
pub mod events;
pub mod ffi;
pub mod jetstream;
pub mod kv;
pub mod message;
pub mod options;
pub(crate) mod outbox;
pub mod runtime;
pub mod server_info;
pub mod stream;
pub mod subscription;
pub(crate) mod tls;
pub mod version;
