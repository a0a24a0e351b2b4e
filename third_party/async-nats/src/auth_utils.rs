// Copyright 2020-2022 The NATS Authors
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

#[cfg(feature = "nkeys")]
use nkeys::KeyPair;
#[cfg(feature = "nkeys")]
use std::{io, path::Path};

/// Loads user credentials file with jwt and key. Return file contents.
/// Uses tokio non-blocking io
#[cfg(feature = "nkeys")]
pub(crate) async fn load_creds(path: &Path) -> io::Result<String> {
    tokio::fs::read_to_string(path).await.map_err(|err| {
        io::Error::other(format!("loading creds file '{}': {}", path.display(), err))
    })
}

/// Parses the string, expected to be formatted as credentials file
#[cfg(feature = "nkeys")]
pub(crate) fn parse_jwt_and_key_from_creds(contents: &str) -> io::Result<(&str, KeyPair)> {
    let jwt = parse_decorated_jwt(contents).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "cannot parse user JWT from the credentials file",
        )
    })?;

    let nkey = parse_decorated_nkey(contents).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "cannot parse nkey from the credentials file",
        )
    })?;

    let kp =
        KeyPair::from_seed(nkey).map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?;

    Ok((jwt, kp))
}

// Parses a credentials file.
//
// The credentials file is typically
// `~/.nkeys/creds/synadia/<account/<account>.creds` and looks like this:
//
// ```
// -----BEGIN NATS USER JWT-----
// eyJ0eXAiOiJqd3QiLCJhbGciOiJlZDI1NTE5...
// ------END NATS USER JWT------
//
// ************************* IMPORTANT *************************
// NKEY Seed printed below can be used sign and prove identity.
// NKEYs are sensitive and should be treated as secrets.
//
// -----BEGIN USER NKEY SEED-----
// SUAIO3FHUX5PNV2LQIIP7TZ3N4L7TX3W53MQGEIVYFIGA635OZCKEYHFLM
// ------END USER NKEY SEED------
// ```
// A block is a line holding two runs of at least three dashes, a line that is only the token
// (word characters, `-`, `.`, `=`), and another dashed line; the first block holds the JWT, the
// second the seed. (Written out by hand: it was the regex
// `\s*(?:(?:[-]{3,}.*[-]{3,}\r?\n)([\w\-.=]+)(?:\r?\n[-]{3,}.*[-]{3,}\r?\n))`, which also
// refused a file whose last line had no newline.)
#[cfg(feature = "nkeys")]
fn decorated_blocks(contents: &str) -> impl Iterator<Item = &str> {
    // Each line without its `\n` and a trailing `\r`, and whether a `\n` ended it.
    let lines: Vec<(&str, bool)> = contents
        .split_inclusive('\n')
        .map(|line| match line.strip_suffix('\n') {
            Some(line) => (line.strip_suffix('\r').unwrap_or(line), true),
            None => (line, false),
        })
        .collect();
    let mut blocks = Vec::new();
    let mut at = 0;
    while at + 2 < lines.len() {
        let (open, token, close) = (lines[at], lines[at + 1], lines[at + 2]);
        if open.1
            && is_dashed(open.0)
            && token.1
            && is_token(token.0)
            && is_dashed(close.0)
        {
            blocks.push(token.0);
            at += 3;
        } else {
            at += 1;
        }
    }
    blocks.into_iter()
}

/// Whether a line holds a run of three dashes followed, later, by another.
#[cfg(feature = "nkeys")]
fn is_dashed(line: &str) -> bool {
    line.find("---")
        .is_some_and(|first| line[first + 3..].contains("---"))
}

#[cfg(feature = "nkeys")]
fn is_token(line: &str) -> bool {
    !line.is_empty()
        && line
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.' || c == '=')
}

/// Parses a credentials file and returns its user JWT.
#[cfg(feature = "nkeys")]
fn parse_decorated_jwt(contents: &str) -> Option<&str> {
    decorated_blocks(contents).next()
}

/// Parses a credentials file and returns its nkey.
#[cfg(feature = "nkeys")]
fn parse_decorated_nkey(contents: &str) -> Option<&str> {
    decorated_blocks(contents).nth(1)
}
