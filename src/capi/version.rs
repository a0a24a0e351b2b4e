//! Library version.

use crate::capi::guard::guard;
use crate::capi::status::nats_status;
use crate::client::error::{Error, ErrorKind};
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

/// Checks at run time that this library serves programs built against header version
/// `major.minor`: pass `NATS_FFI_VERSION_MAJOR, NATS_FFI_VERSION_MINOR` at startup. The ABI
/// policy: in 0.x the ABI may change between minor versions (each change is in the
/// CHANGELOG; the SONAME stays `libnats_ffi.so.0`), so the minor must match; from 1.0 the
/// major must match and the library's minor be at least the program's.
/// Errors: `NATS_ERR_INVALID_ARGUMENT` when incompatible (`nats_last_error()` names both).
#[no_mangle]
pub extern "C" fn nats_ffi_check_version(major: u32, minor: u32) -> nats_status {
    guard(|| {
        let compatible = major == NATS_FFI_VERSION_MAJOR
            && if major == 0 { minor == NATS_FFI_VERSION_MINOR } else { minor <= NATS_FFI_VERSION_MINOR };
        if compatible {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "this library is {NATS_FFI_VERSION_MAJOR}.{NATS_FFI_VERSION_MINOR}, the program was built for \
                 {major}.{minor} (0.x: the minor version must match; 1.x and later: same major, library minor at least the program's)"
            ),
        ))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_version_is_the_crate_version() {
        let want = format!(
            "{}.{}.{}",
            super::NATS_FFI_VERSION_MAJOR,
            super::NATS_FFI_VERSION_MINOR,
            super::NATS_FFI_VERSION_PATCH
        );
        assert_eq!(want, env!("CARGO_PKG_VERSION"));
    }
}
