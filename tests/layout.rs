//! The architecture's rules, checked on the sources (README, "Contributing: where things
//! live"): the client core knows nothing of the C boundary, every `unsafe` says why, and
//! every C function lives in the file its name points to.

mod common;

use std::path::{Path, PathBuf};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn files_under(dir: &str) -> Vec<PathBuf> {
    let prefix = common::root().join(dir);
    common::source_files().into_iter().filter(|p| p.starts_with(&prefix)).collect()
}

/// The code of a line: what comes before a `//` comment.
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or("")
}

#[test]
fn the_client_core_knows_nothing_of_the_boundary() {
    let client = files_under("src/client");
    assert!(client.len() >= 10, "the client core is in src/client");
    for path in client {
        for (i, line) in read(&path).lines().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            assert!(!line.contains("capi"), "{at}: the client names the C boundary: {line}");
            let code = code(line);
            for banned in ["extern \"C\"", "*mut ", "*const ", "unsafe ", "c_char", "c_void", "CString", "CStr"] {
                assert!(!code.contains(banned), "{at}: `{banned}` in the client core: {line}");
            }
        }
    }
    assert!(read(&common::root().join("src/client/mod.rs")).contains("#![forbid(unsafe_code)]"));
    assert!(read(&common::root().join("src/lib.rs")).contains("#![deny(unsafe_op_in_unsafe_fn)]"));
}

#[test]
fn every_unsafe_block_says_why() {
    let mut missing = Vec::new();
    for path in common::source_files() {
        let text = read(&path);
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = code(line);
            if !(code.contains("unsafe {") || code.contains("unsafe impl")) {
                continue;
            }
            // The comment stands on one of the lines just above (a statement may span a few).
            let said = lines[i.saturating_sub(4)..=i].iter().any(|l| l.contains("// SAFETY:"));
            if !said {
                missing.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(missing.is_empty(), "unsafe without a SAFETY comment:\n{}", missing.join("\n"));
}

/// The file of `src/capi` where the README's rule puts a C function.
fn home_of(function: &str) -> &'static str {
    let name = function.strip_prefix("nats_").unwrap();
    let rules: &[(&str, &str)] = &[
        ("jetstream_options_", "jetstream"),
        ("jetstream_publish", "jetstream"),
        ("jetstream_new", "jetstream"),
        ("jetstream_free", "jetstream"),
        ("jetstream_stream_", "stream"),
        ("jetstream_account_", "account"),
        ("account_info_", "account"),
        ("jetstream_consumer_", "consumer"),
        ("jetstream_pull_consumer", "consumer"),
        ("jetstream_pull_subscribe", "consumer"),
        ("jetstream_subscribe", "consumer"),
        ("jetstream_kv_", "kv"),
        ("connect", "connection"),
        ("publish", "connection"),
        ("request", "connection"),
        ("subscribe", "subscription"),
        ("queue_subscribe", "subscription"),
        ("subscription_", "subscription"),
        ("msgs_", "msg"),
        ("msg_", "msg"),
        ("options_", "options"),
        ("pub_ack_", "pub_ack"),
        ("stream_", "stream"),
        ("consumer_", "consumer"),
        ("pull_consumer_", "consumer"),
        ("kv_", "kv"),
        ("server_info_", "server_info"),
        ("status_", "status"),
        ("last_error", "status"),
        ("string", "strings"),
        ("ffi_version", "version"),
        ("ffi_check_version", "version"),
        ("ffi_set_delivery", "delivery"),
        ("dispatcher_", "delivery"),
        ("sign", "nkeys"),
        ("ffi_shutdown", "lifecycle"),
        ("ffi_set_runtime", "lifecycle"),
    ];
    rules
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, file)| *file)
        .unwrap_or_else(|| panic!("no rule places {function}"))
}

#[test]
fn every_c_function_lives_where_its_name_says() {
    let mut found = 0;
    for path in common::source_files() {
        let text = read(&path);
        for line in text.lines() {
            let Some(rest) = line.split("extern \"C\" fn ").nth(1) else { continue };
            if !line.trim_start().starts_with("pub ") {
                continue;
            }
            let name = rest.split('(').next().unwrap();
            let want = common::root().join(format!("src/capi/{}.rs", home_of(name)));
            assert_eq!(path, want, "{name} lives in {}, its name says {}", path.display(), want.display());
            found += 1;
        }
    }
    assert!(found > 150, "found {found} exported functions");
}
