//! The language bindings against real servers: the Python package's pytest suite (over the
//! library built here), and that it pip-installs from the repository; the LuaJIT module's
//! test script.

mod common;
use common::*;
use std::process::Command;

fn lib_path() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("debug/libnats_ffi.so")
}

fn output(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn python_binding_tests() {
    let (plain, js) = (Server::start(), js::js_server());
    let python = root().join(".venv/bin/python");
    let text = output(
        Command::new(&python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(root().join("bindings/python/tests"))
            .env("PYTHONPATH", root().join("bindings/python"))
            .env("NATS_FFI_LIB", lib_path())
            .env("NATS_URL", plain.url())
            .env("NATS_JS_URL", js.url()),
    );
    println!("{text}");
    assert!(text.contains(" passed") && !text.contains("failed"), "{text}");
}

/// `pip install bindings/python` (into a target directory), then import it from there, outside
/// the tree.
#[test]
fn python_binding_pip_installs() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    // From a copy, so that the build leaves nothing in the source tree.
    let package = dir.path().join("package");
    std::fs::create_dir_all(package.join("nats_ffi")).unwrap();
    for file in ["pyproject.toml", "nats_ffi/__init__.py", "nats_ffi/nats_ffi_cdef.h"] {
        std::fs::copy(root().join("bindings/python").join(file), package.join(file)).unwrap();
    }
    output(
        Command::new(root().join(".venv/bin/pip"))
            .args(["install", "-q", "--no-build-isolation", "--no-deps", "--target"])
            .arg(&site)
            .arg(&package),
    );
    let said = output(
        Command::new(root().join(".venv/bin/python"))
            .args(["-c", "import nats_ffi; print(nats_ffi.__file__, nats_ffi.lib.NATS_MAX_CONTROL_LINE)"])
            .current_dir(dir.path())
            .env("PYTHONPATH", &site)
            .env("NATS_FFI_LIB", lib_path()),
    );
    assert!(said.contains(site.to_str().unwrap()) && said.contains("4096"), "{said}");
}

#[test]
fn lua_binding_tests() {
    let server = Server::start();
    let text = output(
        Command::new("luajit")
            .arg(root().join("bindings/lua/tests/test_nats_ffi.lua"))
            .arg(root().join("bindings/lua"))
            .env("NATS_FFI_LIB", lib_path())
            .env("NATS_FFI_CDEF", root().join("include/nats_ffi_cdef.h"))
            .env("NATS_URL", server.url()),
    );
    println!("{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
}
