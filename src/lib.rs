//! nats-ffi: a NATS client for C, on async-nats and tokio.
//!
//! The C API is the crate root, flat as in `include/nats_ffi.h`; its functions live in one
//! module per C type (`nats_options_*` in `options`, `nats_connect*` / `nats_publish*` /
//! `nats_connection_*` in `connection`, ...), the boundary's machinery in `capi`. See
//! README.md.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub(crate) mod capi;
pub(crate) mod client;
mod connection;
mod consumer;
mod events;
mod jetstream;
mod kv;
mod message;
mod options;
mod server_info;
mod stream;
mod subscription;
mod version;

// The C API, flat as in the header: every `nats_*` type and function and `NATS_*` constant.
pub use capi::args::{NATS_MAX_CONTROL_LINE, NATS_MAX_QUEUE_CAPACITY};
pub use capi::status::{nats_last_error, nats_status, nats_status::*, nats_status_is_retryable, nats_status_str};
pub use capi::strings::{nats_string_free, nats_strings_free};
pub use connection::*;
pub use consumer::*;
pub use events::{nats_connection_callback, nats_error_callback, nats_reconnect_delay_callback};
pub use jetstream::*;
pub use kv::*;
pub use message::*;
pub use options::*;
pub use server_info::*;
pub use stream::*;
pub use subscription::*;
pub use version::*;

/// Internals the tests need to force what no input can reach (a panic inside the library).
#[doc(hidden)]
pub mod test_support {
    pub use crate::capi::guard::guard;
    pub use crate::client::runtime::handle as runtime_handle;
}
