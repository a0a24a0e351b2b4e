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
    let bad = |why: &str| Err(Error::new(ErrorKind::InvalidSubject, format!("{what} {subject:?} {why}")));
    if subject.is_empty() {
        return bad("is empty");
    }
    if subject.len() + CONTROL_LINE_OVERHEAD > MAX_CONTROL_LINE {
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
    // One pass over the tokens, without collecting them: this runs for every publish.
    let mut rest = subject;
    loop {
        let (token, more) = match rest.split_once('.') {
            Some((t, more)) => (t, Some(more)),
            None => (rest, None),
        };
        if token.is_empty() {
            return bad("has an empty token");
        }
        if (token == "*" || token == ">") && wildcards == Wildcards::Refused {
            return bad("contains a wildcard, which is not allowed here");
        }
        match more {
            Some(_) if token == ">" => return bad("has '>' before the last token"),
            Some(more) => rest = more,
            None => return Ok(()),
        }
    }
}

/// Whether `s` has whitespace or control characters (bytes for ASCII, the common case).
fn has_space_or_control(s: &str) -> bool {
    if s.is_ascii() {
        // ASCII whitespace and controls are exactly the bytes up to ' ' and DEL.
        s.bytes().any(|b| b <= b' ' || b == 0x7f)
    } else {
        s.chars().any(|c| c.is_whitespace() || c.is_control())
    }
}

/// Validates a queue group name: non-empty, no whitespace.
pub(crate) fn check_queue(queue: &str) -> Result<()> {
    if queue.len() + CONTROL_LINE_OVERHEAD > MAX_CONTROL_LINE {
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
