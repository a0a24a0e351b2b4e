#![deny(unsafe_op_in_unsafe_fn)]

//! The C boundary's shared machinery. (The C functions themselves still live in one module
//! per C type at the crate root while the architecture issue moves them here.)

pub(crate) mod args;
pub(crate) mod callback;
pub(crate) mod guard;
pub(crate) mod handle;
pub(crate) mod status;
pub(crate) mod strings;
