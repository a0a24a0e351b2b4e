//! Link settings of the shared library: its SONAME (`libnats_ffi.so.<major>`; see the ABI
//! policy in README.md), so that programs record the ABI they were linked against.
//!
//! Programs linked against the build tree (the tests, the examples, the bench) then need a
//! `libnats_ffi.so.<major>` beside cargo's `libnats_ffi.so`: this script makes that symlink
//! in the profile's output directory (three levels above OUT_DIR), as an install would.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    let soname = format!("libnats_ffi.so.{major}");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Some(profile_dir) = out_dir.ancestors().nth(3) {
        let link = profile_dir.join(&soname);
        if std::fs::symlink_metadata(&link).is_err() {
            let _ = std::os::unix::fs::symlink("libnats_ffi.so", &link);
        }
    }
}
