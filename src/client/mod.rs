#![forbid(unsafe_code)]

//! The client core: safe Rust, no raw pointers, no C names, no `extern "C"`. (Being moved
//! here from the per-type modules by the architecture issue.)

pub(crate) mod error;
pub(crate) mod publish;
pub(crate) mod runtime;
pub(crate) mod subject;
pub(crate) mod tls;
