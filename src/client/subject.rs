//! The protocol's rules for subjects, queue groups and control lines.

use crate::client::error::*;

/// The server's default `max_control_line`: the longest protocol line (`PUB`, `HPUB`, `SUB`
/// with their arguments) it accepts. A longer line makes it drop the connection, and a SUB is
/// sent again on every reconnect, so such a line must never leave the library.
pub(crate) const MAX_CONTROL_LINE: usize = 4096;

/// What a protocol line holds besides its subjects: the verb, separators, a sid or two sizes
/// of up to 20 digits each, and CRLF (`HPUB ` + 3 spaces + 40 digits + CRLF = 50).
const CONTROL_LINE_OVERHEAD: usize = 64;

/// Refuses a protocol line whose subjects (subject, reply or queue) would make it longer than
/// [`MAX_CONTROL_LINE`]; `extra` counts subjects the library adds (a request's inbox reply).
pub(crate) fn check_control_line(what: &str, parts: &[&str], extra: usize) -> Result<()> {
    let line = parts.iter().map(|p| p.len()).sum::<usize>() + extra + CONTROL_LINE_OVERHEAD;
    if line > MAX_CONTROL_LINE {
        return Err(Error::new(
            ErrorKind::InvalidSubject,
            format!("{what}: its subjects make a protocol line of about {line} bytes, over the server's limit of {MAX_CONTROL_LINE}"),
        ));
    }
    Ok(())
}

/// Whether a single name (subject, reply or queue group) of `len` bytes fits in a protocol line
/// at all.
fn fits_a_control_line(len: usize) -> bool {
    len + CONTROL_LINE_OVERHEAD <= MAX_CONTROL_LINE
}

/// Whether a subject may contain the wildcards `*` (a whole token) and `>` (the last token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wildcards {
    /// Subscriptions, filters, stream subjects.
    Allowed,
    /// A literal subject: publishing, reply subjects.
    Refused,
}

/// Validates a subject. Tokens are separated by `.`, none may be empty, no whitespace;
/// wildcards only where `wildcards` allows them.
pub(crate) fn check_subject(subject: &str, wildcards: Wildcards, what: &str) -> Result<()> {
    // This runs for every publish: the common subject takes one pass over its bytes, and
    // anything unusual (an error, a wildcard, non-ASCII) the thorough check below.
    if fits_a_control_line(subject.len()) && is_plain_ascii_subject(subject.as_bytes()) {
        return Ok(());
    }
    check_subject_thoroughly(subject, wildcards, what)
}

/// Whether `bytes` is a valid subject of printable ASCII tokens, none of them a wildcard
/// (valid with or without wildcards allowed): one pass, no searcher. False says only that
/// the thorough check must decide.
fn is_plain_ascii_subject(bytes: &[u8]) -> bool {
    let mut token_len = 0usize;
    let mut token_first = 0u8;
    let wildcard_alone = |len: usize, first: u8| len == 1 && (first == b'*' || first == b'>');
    for &b in bytes {
        if b == b'.' {
            if token_len == 0 || wildcard_alone(token_len, token_first) {
                return false;
            }
            token_len = 0;
            continue;
        }
        // ASCII whitespace and controls are the bytes up to ' ' and DEL; above DEL, non-ASCII.
        if b <= b' ' || b >= 0x7f {
            return false;
        }
        if token_len == 0 {
            token_first = b;
        }
        token_len += 1;
    }
    token_len > 0 && !wildcard_alone(token_len, token_first)
}

/// [`check_subject`] for every subject, with the reason for a refusal.
fn check_subject_thoroughly(subject: &str, wildcards: Wildcards, what: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::new(ErrorKind::InvalidSubject, format!("{what} {subject:?} {why}")));
    if subject.is_empty() {
        return bad("is empty");
    }
    if !fits_a_control_line(subject.len()) {
        return Err(Error::new(
            ErrorKind::InvalidSubject,
            format!(
                "{what} is {} bytes long: no protocol line can carry it (the server's limit is {MAX_CONTROL_LINE})",
                subject.len()
            ),
        ));
    }
    if has_space_or_control(subject) {
        return bad("contains whitespace or control characters");
    }
    // A '.' is never part of a multi-byte UTF-8 character, so bytes split correctly.
    let bytes = subject.as_bytes();
    let mut start = 0;
    loop {
        let end = bytes[start..].iter().position(|&b| b == b'.').map_or(bytes.len(), |i| start + i);
        let last = end == bytes.len();
        match (&bytes[start..end], wildcards) {
            ([], _) => return bad("has an empty token"),
            ([b'*'] | [b'>'], Wildcards::Refused) => return bad("contains a wildcard, which is not allowed here"),
            ([b'>'], Wildcards::Allowed) if !last => return bad("has '>' before the last token"),
            _ if last => return Ok(()),
            _ => start = end + 1,
        }
    }
}

/// Whether `s` has whitespace or control characters: one pass over the bytes, and a pass over
/// the characters only when there is a non-ASCII byte.
fn has_space_or_control(s: &str) -> bool {
    let mut ascii = true;
    for &b in s.as_bytes() {
        // ASCII whitespace and controls are exactly the bytes up to ' ' and DEL.
        if b <= b' ' || b == 0x7f {
            return true;
        }
        ascii &= b < 0x80;
    }
    !ascii && s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Validates a queue group name: non-empty, no whitespace.
pub(crate) fn check_queue(queue: &str) -> Result<()> {
    if !fits_a_control_line(queue.len()) {
        return Err(Error::new(
            ErrorKind::InvalidSubject,
            format!("queue group is {} bytes long, over the protocol's limit", queue.len()),
        ));
    }
    if queue.is_empty() || queue.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::new(
            ErrorKind::InvalidSubject,
            format!("queue group {queue:?} is empty or contains whitespace"),
        ));
    }
    Ok(())
}

/// `s` followed by a NUL (NULs inside dropped), for strings the C view lends out for as long
/// as their owner lives.
pub(crate) fn nul_terminated(s: &str) -> Box<[u8]> {
    s.bytes().filter(|b| *b != 0).chain(std::iter::once(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass check accepts only what the thorough one accepts, for either wildcard
    /// rule: every string of up to four bytes drawn from the characters that matter.
    #[test]
    fn one_pass_check_agrees_with_the_thorough_one() {
        let alphabet: &[u8] = b"a.*> \t\x7f\xc3\xa9";
        let mut strings = vec![Vec::new()];
        let mut longest = vec![Vec::new()];
        for _ in 0..4 {
            longest =
                longest.iter().flat_map(|s| alphabet.iter().map(move |&b| [s.as_slice(), &[b]].concat())).collect();
            strings.extend(longest.iter().cloned());
        }
        let mut accepted = 0;
        for bytes in &strings {
            let Ok(s) = std::str::from_utf8(bytes) else { continue };
            for wildcards in [Wildcards::Allowed, Wildcards::Refused] {
                let thorough = check_subject_thoroughly(s, wildcards, "s").is_ok();
                if is_plain_ascii_subject(bytes) {
                    assert!(thorough, "{s:?} passed the one-pass check only");
                    accepted += 1;
                }
                assert_eq!(check_subject(s, wildcards, "s").is_ok(), thorough, "{s:?}");
            }
        }
        assert!(accepted > 50, "the one-pass check accepted only {accepted}");
    }

    #[test]
    fn subjects() {
        for ok in ["a", "a.b", "foo.bar.baz", "_INBOX.x", "a-b_c:d", "é.ü"] {
            assert!(check_subject(ok, Wildcards::Refused, "s").is_ok(), "{ok}");
        }
        for ok in ["*", ">", "a.*", "a.>", "*.b.>", "a.*.c"] {
            assert!(check_subject(ok, Wildcards::Allowed, "s").is_ok(), "{ok}");
            assert_eq!(check_subject(ok, Wildcards::Refused, "s").unwrap_err().kind, ErrorKind::InvalidSubject);
        }
        for bad in
            ["", " ", "a b", "a..b", ".a", "a.", "a.>.b", "a\tb", "a\r\nb", ">.a", "a\u{7f}b", "a\u{2028}b", "é\u{85}"]
        {
            assert_eq!(
                check_subject(bad, Wildcards::Allowed, "s").unwrap_err().kind,
                ErrorKind::InvalidSubject,
                "{bad:?}"
            );
        }
        assert!(check_queue("workers").is_ok());
        assert!(check_queue("").is_err());
        assert!(check_queue("a b").is_err());
    }
}
