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
        ("jetstream_object_store_", "object_store"),
        ("object_store_", "object_store"),
        ("object_info", "object_store"),
        ("object_watcher_", "object_store"),
        ("bytes_free", "object_store"),
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
        ("service_", "service"),
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

/// The functions nats.c's public header declares (`NATS_EXTERN <type>\n<name>(...)`).
fn nats_c_functions(header: &str) -> Vec<String> {
    let mut names: Vec<String> = header
        .split("NATS_EXTERN")
        .skip(1)
        .filter_map(|decl| {
            let head = decl.split('(').next()?;
            if head.contains('#') || head.contains(';') {
                return None; // the macro's own definition, not a declaration
            }
            let name = head.rsplit(|c: char| !(c.is_alphanumeric() || c == '_')).find(|t| !t.is_empty())?;
            // `#define NATS_EXTERN __declspec(dllexport)` is not a declaration.
            (!name.starts_with('_')).then(|| name.to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The backticked names in a mapping row's first column, and its second column.
fn mapping_rows(section: &str) -> Vec<(Vec<String>, String)> {
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| nats.c") && !l.starts_with("|---"))
        .map(|l| {
            let cols: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let names = cols[0].split('`').skip(1).step_by(2).map(str::to_string).collect();
            (names, cols.get(1).copied().unwrap_or("").to_string())
        })
        .collect()
}

/// README's "Mapping from nats.c" is checked against Debian's `nats/nats.h` (nats.c 3.4.1,
/// package libnats-dev): every function it declares has a row — mapped to ours, left out
/// with a reason, or not applicable —, every name in the table exists in the header (newer
/// ones have a table of their own), and at least 95 % of the applicable functions are mapped.
#[test]
fn readme_maps_every_nats_c_function() {
    let header_path = Path::new("/usr/include/nats/nats.h");
    assert!(header_path.exists(), "nats.c's header is missing: apt-get install libnats-dev");
    let header = read(header_path);
    let functions = nats_c_functions(&header);
    assert!(functions.len() >= 300, "parsed {} functions from nats.h", functions.len());
    let words: std::collections::HashSet<&str> =
        header.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    let readme = read(&common::root().join("README.md"));
    let start = readme.find("## Mapping from nats.c").expect("the mapping section");
    let later = readme[start..].find("### Functions of later nats.c versions").map(|i| start + i).expect("later table");
    let end = readme[later..].find("\n## ").map_or(readme.len(), |i| later + i);
    let (main, newer) = (mapping_rows(&readme[start..later]), mapping_rows(&readme[later..end]));

    let (mut mapped, mut left_out, mut not_applicable, mut unknown) = (0, Vec::new(), 0, Vec::new());
    for f in &functions {
        let row = main.iter().find(|(names, _)| {
            names.iter().any(|n| n == f || n.strip_suffix('*').is_some_and(|prefix| f.starts_with(prefix)))
        });
        match row.map(|(_, ours)| ours.as_str()) {
            None => unknown.push(f.clone()),
            Some(ours) if ours.starts_with("not applicable") => not_applicable += 1,
            Some(ours) if ours.starts_with("left out") || ours.starts_with("not yet") => left_out.push(f.clone()),
            Some(_) => mapped += 1,
        }
    }
    assert!(unknown.is_empty(), "nats.h functions without a row in README's mapping: {unknown:?}");
    for (names, _) in &main {
        for n in names.iter().filter(|n| !n.ends_with('*') && n.chars().next().is_some_and(char::is_lowercase)) {
            // `jsOptions.Stream.Purge`: a field of a nats.c type.
            let ident = n.split('.').next().unwrap_or(n);
            assert!(words.contains(ident), "README maps {n}, which nats.c 3.4.1 does not have");
        }
    }
    for (names, _) in &newer {
        for n in names {
            assert!(!words.contains(n.as_str()), "{n} is in nats.c 3.4.1: its row belongs in the main table");
        }
    }
    let applicable = functions.len() - not_applicable;
    let coverage = mapped as f64 / applicable as f64;
    eprintln!(
        "nats.c 3.4.1: {} functions, {not_applicable} not applicable; {mapped} of {applicable} mapped ({:.1} %); left out: {left_out:?}",
        functions.len(),
        coverage * 100.0
    );
    assert!(
        coverage >= 0.95,
        "{mapped} of {applicable} applicable nats.c functions mapped ({:.1} %)",
        coverage * 100.0
    );
}
