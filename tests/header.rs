//! The committed header must be exactly what cbindgen generates from the sources, and must
//! compile cleanly as C99 and C++17 with warnings as errors.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generate() -> String {
    let config = cbindgen::Config::from_file(root().join("cbindgen.toml")).expect("cbindgen.toml");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root())
        .with_config(config)
        .generate()
        .expect("cbindgen failed")
        .write(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn header_is_fresh() {
    let path = root().join("include/nats_ffi.h");
    let fresh = generate();
    if std::env::var_os("NATS_FFI_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/nats_ffi.h is stale: regenerate it with `NATS_FFI_BLESS=1 cargo test --test header` and commit it"
    );
}

fn compile(compiler: &str, args: &[&str], src: &Path) {
    let out = std::env::temp_dir().join(format!("nats_ffi_header_{}_{}.o", compiler.replace('+', "x"), std::process::id()));
    let status = Command::new(compiler)
        .args(args)
        .arg("-I")
        .arg(root().join("include"))
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    let _ = std::fs::remove_file(&out);
    assert!(status.success(), "{compiler} {args:?} rejected the header");
}

#[test]
fn header_compiles_as_c99_and_cxx17() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("h.c");
    std::fs::write(&c, "#include <nats_ffi.h>\nint main(void) { return nats_status_str(NATS_OK) == 0; }\n").unwrap();
    compile("cc", &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"], &c);
    let cc = dir.path().join("h.cpp");
    std::fs::write(&cc, "#include <nats_ffi.h>\nint main() { return nats_status_str(NATS_OK) == nullptr; }\n").unwrap();
    compile("c++", &["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"], &cc);
}
