//! Library version.

use std::ffi::c_char;

/// Major version of this header; compare with `nats_ffi_version()` at run time.
pub const NATS_FFI_VERSION_MAJOR: u32 = 0;
/// Minor version of this header.
pub const NATS_FFI_VERSION_MINOR: u32 = 1;
/// Patch version of this header.
pub const NATS_FFI_VERSION_PATCH: u32 = 0;

/// The library's version as a static string, e.g. "0.1.0 (async-nats 0.51)". Never NULL.
#[no_mangle]
pub extern "C" fn nats_ffi_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), " (async-nats 0.51)\0").as_ptr().cast()
}
