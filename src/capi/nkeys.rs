//! NKey signing for applications that answer a nonce themselves (nats.c's `nats_Sign`).

use crate::capi::args::*;
use crate::capi::guard::*;
use crate::capi::status::nats_status;
use crate::client::options::sign;
use std::ffi::{c_char, c_void};

/// Length of an NKey (Ed25519) signature written by `nats_sign`.
pub const NATS_NKEY_SIGNATURE_LEN: usize = 64;

/// Signs `len` bytes at `data` with the NKey seed `seed` (`SU...` for a user; any NKey seed
/// works) and writes the 64-byte Ed25519 signature to `sig` (`NATS_NKEY_SIGNATURE_LEN` bytes,
/// written only on success), as a server verifies a nonce's signature — for an application
/// that signs with `nats_options_set_user_jwt`'s callback from a seed it holds. The seed is
/// not kept and never appears in an error. `data` may be NULL when `len` is 0. Thread safe.
/// Errors: `NATS_ERR_NULL_ARGUMENT` (seed, data with `len` > 0, sig), `NATS_ERR_INVALID_UTF8`,
/// `NATS_ERR_INVALID_ARGUMENT` (not an NKey seed).
#[no_mangle]
pub unsafe extern "C" fn nats_sign(seed: *const c_char, data: *const c_void, len: usize, sig: *mut u8) -> nats_status {
    guard(|| {
        let seed = str_arg(seed, "seed")?;
        let data = bytes_arg(data, len, "data")?;
        out_arg(sig, "sig")?;
        let signature: [u8; NATS_NKEY_SIGNATURE_LEN] = sign(seed, data)?;
        // C's contract: `sig` has room for NATS_NKEY_SIGNATURE_LEN bytes (alignment 1).
        write_out(sig.cast::<[u8; NATS_NKEY_SIGNATURE_LEN]>(), signature);
        Ok(())
    })
}
