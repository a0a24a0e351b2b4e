//! nats-ffi: a NATS client for C, on async-nats and tokio.
//!
//! Two layers, dependencies running one way (`capi` → `client` → async-nats):
//! - `client`: the client core in safe Rust (connections, subscriptions, JetStream, ...),
//!   with no C types;
//! - `capi`: the C boundary, one file per C type, each `extern "C"` function reading its
//!   arguments, calling the client and writing its results.
//!
//! The C API is re-exported here, flat as in `include/nats_ffi.h`. See README.md.
#![deny(unsafe_op_in_unsafe_fn)]

pub(crate) mod capi;
pub(crate) mod client;

// The C API, flat as in the header: every `nats_*` type and function and `NATS_*` constant.
pub use capi::account::*;
pub use capi::args::{NATS_MAX_CONTROL_LINE, NATS_MAX_QUEUE_CAPACITY};
pub use capi::callback::nats_user_data_free;
pub use capi::connection::*;
pub use capi::consumer::*;
pub use capi::delivery::*;
pub use capi::events::{
    nats_connection_callback, nats_error_callback, nats_reconnect_delay_callback, nats_token_callback,
};
pub use capi::jetstream::*;
pub use capi::kv::*;
pub use capi::lifecycle::*;
pub use capi::msg::*;
pub use capi::nkeys::*;
pub use capi::object_store::*;
pub use capi::options::*;
pub use capi::pub_ack::*;
pub use capi::server_info::*;
pub use capi::service::*;
pub use capi::status::{nats_last_error, nats_status, nats_status::*, nats_status_is_retryable, nats_status_str};
pub use capi::stream::*;
pub use capi::strings::{nats_string_free, nats_strings_free};
pub use capi::subscription::*;
pub use capi::version::*;

/// Internals the tests need to force what no input can reach (a panic inside the library).
#[doc(hidden)]
pub mod test_support {
    pub use crate::capi::guard::guard;
    pub use crate::client::runtime::handle as runtime_handle;
}
