//! The install command as a user runs it (`scripts/install.sh --prefix P`, issue 17): what it
//! installs (SONAME and links, separate debug info, size, only `nats_*` symbols global in the
//! `.so` and the `.a`), and programs built only from the installed tree — Make + pkg-config
//! (shared and static) and CMake `find_package` (shared and static) — run against a real
//! server. Builds the release library (several minutes the first time).

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// Global symbols an object file defines (`nm -g --defined-only`).
fn defined_globals(file: &Path, dynamic: bool) -> Vec<String> {
    let mut nm = Command::new("nm");
    nm.args(["-g", "--defined-only"]);
    if dynamic {
        nm.arg("-D");
    }
    run(nm.arg(file)).lines().filter_map(|l| l.split_whitespace().nth(2).map(str::to_string)).collect()
}

#[test]
fn install_then_build_and_run_consumers() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("usr");
    run(Command::new(root().join("scripts/install.sh")).arg("--prefix").arg(&prefix));
    let lib = prefix.join("lib");
    let so = lib.join("libnats_ffi.so.0.1.0");

    // The shared library: SONAME, links, stripped with its debug info beside it.
    let dynamic = run(Command::new("readelf").arg("-d").arg(&so));
    assert!(dynamic.contains("Library soname: [libnats_ffi.so.0]"), "{dynamic}");
    assert_eq!(std::fs::read_link(lib.join("libnats_ffi.so.0")).unwrap(), Path::new("libnats_ffi.so.0.1.0"));
    assert_eq!(std::fs::read_link(lib.join("libnats_ffi.so")).unwrap(), Path::new("libnats_ffi.so.0"));
    let sections = run(Command::new("readelf").arg("-S").arg(&so));
    assert!(sections.contains(".gnu_debuglink") && !sections.contains(".debug_info"), "{sections}");
    assert!(run(Command::new("readelf").arg("-S").arg(lib.join("libnats_ffi.so.0.1.0.debug"))).contains(".debug_info"));
    let size = std::fs::metadata(&so).unwrap().len();
    assert!(size <= 6_000_000, "the installed .so is {size} bytes");

    // Only the C API is global, in both libraries.
    let shared = defined_globals(&so, true);
    let archive = defined_globals(&lib.join("libnats_ffi.a"), false);
    for (what, list) in [("libnats_ffi.so", &shared), ("libnats_ffi.a", &archive)] {
        let foreign: Vec<_> = list.iter().filter(|s| !s.starts_with("nats_")).take(10).collect();
        assert!(foreign.is_empty(), "{what} exports non-API symbols: {foreign:?}");
    }
    assert_eq!(shared.len(), archive.len(), "the same API in both");
    let header = std::fs::read_to_string(prefix.join("include/nats_ffi.h")).unwrap();
    assert!(header.contains("nats_ffi_check_version"));
    assert!(prefix.join("include/nats_ffi_cdef.h").exists());
    assert!(prefix.join("share/doc/nats_ffi/LICENSE").exists());
    println!("installed: .so {size} bytes, {} global symbols in the .so and the .a", shared.len());

    // Consumers built from the installed tree only.
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let src = root().join("tests/install");
    run(Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(&src)
        .arg(format!("OUT={}", out.display()))
        .env("PKG_CONFIG_PATH", lib.join("pkgconfig")));
    let build = out.join("cmake");
    run(Command::new("cmake")
        .arg("-S")
        .arg(&src)
        .arg("-B")
        .arg(&build)
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display())));
    run(Command::new("cmake").arg("--build").arg(&build));
    // The C++ wrapper from the installed headers.
    let cflags = run(Command::new("pkg-config")
        .args(["--cflags", "--libs", "nats_ffi"])
        .env("PKG_CONFIG_PATH", lib.join("pkgconfig")));
    let mut cxx = Command::new("c++");
    cxx.args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg(root().join("examples-c/hello.cpp"))
        .args(cflags.split_whitespace())
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-o")
        .arg(out.join("hello_cpp"));
    run(&mut cxx);
    let needed = run(Command::new("readelf").arg("-d").arg(out.join("consumer_shared")));
    assert!(needed.contains("[libnats_ffi.so.0]"), "programs record the SONAME: {needed}");
    let static_needed = run(Command::new("readelf").arg("-d").arg(out.join("consumer_static")));
    assert!(!static_needed.contains("libnats_ffi"), "{static_needed}");

    let server = Server::start();
    for bin in [
        out.join("consumer_shared"),
        out.join("consumer_static"),
        build.join("consumer_cmake"),
        build.join("consumer_cmake_static"),
    ] {
        let said = run(Command::new(&bin).arg(server.url()));
        assert!(said.contains("consumer OK"), "{bin:?}: {said}");
    }
    let said = run(Command::new(out.join("hello_cpp")).arg(server.url()));
    assert!(said.contains("reply: hello, world"), "{said}");

    // The Python and LuaJIT bindings over the installed library and cdef header.
    let js = js::js_server();
    let installed_so = lib.join("libnats_ffi.so.0");
    let said = run(Command::new(root().join(".venv/bin/python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root().join("bindings/python/tests"))
        .env("PYTHONPATH", root().join("bindings/python"))
        .env("NATS_FFI_LIB", &installed_so)
        .env("NATS_URL", server.url())
        .env("NATS_JS_URL", js.url()));
    assert!(said.contains(" passed") && !said.contains("failed"), "{said}");
    let said = run(Command::new("luajit")
        .arg(root().join("bindings/lua/tests/test_nats_ffi.lua"))
        .arg(root().join("bindings/lua"))
        .env("NATS_FFI_LIB", &installed_so)
        .env("NATS_FFI_CDEF", prefix.join("include/nats_ffi_cdef.h"))
        .env("NATS_URL", server.url()));
    assert!(said.contains(" passed, 0 failed"), "{said}");

    // --destdir stages under another root, paths still naming the prefix.
    let stage = tmp.path().join("stage");
    run(Command::new(root().join("scripts/install.sh")).args(["--prefix", "/opt/nats"]).arg("--destdir").arg(&stage));
    let pc = std::fs::read_to_string(stage.join("opt/nats/lib/pkgconfig/nats_ffi.pc")).unwrap();
    assert!(pc.contains("prefix=/opt/nats") && pc.contains("libdir=/opt/nats/lib"), "{pc}");
}
