//! Connection settings: one field per kumo.nats.connect option, their defaults, and the
//! async-nats options they make. Checked when set (the C setters call the checks here), so
//! a bad URL or an unreadable file fails the setter, not a later connect.

use crate::client::error::*;
use crate::client::events::{EventSink, NonceSigner, ReconnectDelay, TokenSource};
use crate::client::tls::Pem;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Capacity of async-nats' channel between the socket reader and a subscription's pump.
const SUBSCRIPTION_TRANSIT_CAPACITY: usize = 1 << 20;

/// The default server when none is set: `nats://127.0.0.1:4222`.
pub(crate) const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

/// Connection settings, copied by `Connection::connect` (they may change or go afterwards).
#[derive(Clone)]
pub(crate) struct Options {
    pub(crate) servers: Vec<String>,
    pub(crate) user_password: Option<(String, String)>,
    pub(crate) token: Option<String>,
    /// NKey user: the seed (`SU...`).
    pub(crate) nkey_seed: Option<String>,
    /// Decentralized auth: the contents of a `.creds` file (user JWT and seed).
    pub(crate) creds: Option<String>,
    /// Decentralized auth with a key kept elsewhere: the user JWT and the signing callback.
    pub(crate) jwt_signer: Option<(String, NonceSigner)>,
    /// Token authentication with a token asked for before every connect attempt.
    pub(crate) token_source: Option<TokenSource>,
    pub(crate) name: Option<String>,
    pub(crate) no_echo: bool,
    pub(crate) max_reconnects: u32,
    /// False: a lost connection closes instead of reconnecting.
    pub(crate) allow_reconnect: bool,
    /// Requests waiting for a reply fail as soon as the connection is lost.
    pub(crate) fail_requests_on_disconnect: bool,
    pub(crate) connection_timeout: Duration,
    pub(crate) tls_required: bool,
    pub(crate) tls_first: bool,
    pub(crate) ca: Option<Pem>,
    pub(crate) client_cert: Option<(Pem, Pem)>,
    /// The name the server certificate must carry, instead of the URL's host.
    pub(crate) tls_server_name: Option<String>,
    /// Accept any server certificate (set only through the loudly named setter).
    pub(crate) tls_skip_verify: bool,
    pub(crate) ping_interval: Duration,
    pub(crate) sender_capacity: usize,
    pub(crate) inbox_prefix: String,
    pub(crate) request_timeout: Duration,
    pub(crate) retry_on_initial_connect: bool,
    pub(crate) ignore_discovered_servers: bool,
    pub(crate) retain_servers_order: bool,
    /// Where the connection's events go; none: no event lane.
    pub(crate) events: Option<Arc<dyn EventSink>>,
    /// Which threads run the connection's callbacks.
    pub(crate) executor: crate::client::delivery::Executor,
    /// The application's reconnect delay, replacing reconnect_wait and jitter.
    pub(crate) reconnect_delay: Option<ReconnectDelay>,
    pub(crate) reconnect_wait: Option<Duration>,
    pub(crate) reconnect_jitter: Duration,
    pub(crate) reconnect_jitter_tls: Duration,
    pub(crate) max_pings_out: u32,
    pub(crate) reconnect_buffer_size: usize,
}

/// async-nats' built-in limit of unanswered PINGs.
pub(crate) const BUILTIN_MAX_PINGS_OUT: u32 = 2;

impl Default for Options {
    fn default() -> Self {
        Options {
            servers: vec![DEFAULT_URL.to_string()],
            user_password: None,
            token: None,
            nkey_seed: None,
            creds: None,
            jwt_signer: None,
            token_source: None,
            name: None,
            no_echo: false,
            max_reconnects: 0,
            allow_reconnect: true,
            fail_requests_on_disconnect: false,
            connection_timeout: Duration::from_secs(5),
            tls_required: false,
            tls_first: false,
            ca: None,
            client_cert: None,
            tls_server_name: None,
            tls_skip_verify: false,
            ping_interval: Duration::from_secs(60),
            sender_capacity: 128,
            inbox_prefix: "_INBOX".to_string(),
            request_timeout: Duration::from_secs(10),
            retry_on_initial_connect: false,
            ignore_discovered_servers: false,
            retain_servers_order: false,
            events: None,
            executor: Default::default(),
            reconnect_delay: None,
            reconnect_wait: None,
            reconnect_jitter: Duration::from_millis(100),
            reconnect_jitter_tls: Duration::from_secs(1),
            max_pings_out: BUILTIN_MAX_PINGS_OUT,
            reconnect_buffer_size: 8 * 1024 * 1024,
        }
    }
}

/// Parses a comma-separated or single URL list, checking each with async-nats' parser.
pub(crate) fn parse_servers<'a>(urls: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>> {
    let (mut out, mut websockets) = (Vec::new(), Vec::new());
    for url in urls {
        let url = url.trim();
        if url.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "empty server URL"));
        }
        let addr = async_nats::ServerAddr::from_str(url).map_err(|e| {
            Error::new(ErrorKind::InvalidArgument, format!("bad server URL {:?}: {e}", redact_url(url)))
        })?;
        websockets.push(addr.is_websocket());
        out.push(url.to_string());
    }
    if out.is_empty() {
        return Err(Error::new(ErrorKind::InvalidArgument, "no server URL given"));
    }
    // A reconnect may go to any server of the list: a websocket client cannot take a plain
    // one's place, nor the other way round.
    if websockets.iter().any(|&w| w) && !websockets.iter().all(|&w| w) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "server URLs mix ws:// / wss:// with nats:// / tls://: use one kind",
        ));
    }
    Ok(out)
}

/// Hides credentials embedded in a URL (`nats://user:pass@host` -> `nats://***@host`).
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        (None, Some(at)) => format!("***{}", &url[at..]),
        _ => url.to_string(),
    }
}

/// Reads a secret from a file: contents with one trailing newline (LF or CRLF) removed.
/// The error names the path, never the contents.
pub(crate) fn read_secret(path: &str, what: &str) -> Result<String> {
    let data =
        std::fs::read(path).map_err(|e| Error::new(ErrorKind::Io, format!("cannot read {what} file {path:?}: {e}")))?;
    let mut text = String::from_utf8(data)
        .map_err(|_| Error::new(ErrorKind::InvalidUtf8, format!("{what} file {path:?} is not UTF-8")))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(Error::new(ErrorKind::Io, format!("{what} file {path:?} is empty")));
    }
    Ok(text)
}

/// Checks `.creds` text (a user JWT and an NKey seed, as `nsc` writes them); `source` names
/// where it came from. The error never contains the text.
pub(crate) fn check_credentials(text: &str, source: &str) -> Result<()> {
    async_nats::ConnectOptions::with_credentials(text).map(drop).map_err(|_| {
        Error::new(ErrorKind::InvalidArgument, format!("{source}: not credentials (a user JWT and an NKey seed)"))
    })
}

/// `.creds` text made of a user JWT found in `jwt_text` (alone, or inside a `.creds` file) and
/// the user seed found in `seed_text` (an `nk` seed file or a `.creds` file).
pub(crate) fn creds_from_parts(jwt_text: &str, seed_text: &str) -> Result<String> {
    // A JWT's header is base64url JSON: it starts with "ey" ('{"').
    let jwt = jwt_text.lines().map(str::trim).find(|l| l.starts_with("ey") && l.split('.').count() == 3);
    let seed = seed_text.lines().map(str::trim).find(|l| l.starts_with("SU"));
    let (Some(jwt), Some(seed)) = (jwt, seed) else {
        return Err(Error::new(ErrorKind::InvalidArgument, "no user JWT, or no user NKey seed (\"SU...\"), found"));
    };
    Ok(format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
    ))
}

pub(crate) fn readable_file(path: &str, what: &str) -> Result<PathBuf> {
    std::fs::File::open(path).map_err(|e| Error::new(ErrorKind::Io, format!("cannot read {what} {path:?}: {e}")))?;
    Ok(PathBuf::from(path))
}

pub(crate) fn positive_ms(ms: u64, what: &str) -> Result<Duration> {
    if ms == 0 {
        return Err(Error::new(ErrorKind::InvalidArgument, format!("{what} must be greater than 0 ms")));
    }
    Ok(Duration::from_millis(ms))
}

impl Options {
    /// One authentication scheme at a time: setting one replaces the others.
    pub(crate) fn clear_auth(&mut self) {
        self.user_password = None;
        self.token = None;
        self.nkey_seed = None;
        self.creds = None;
        self.jwt_signer = None;
        self.token_source = None;
    }
}

pub(crate) fn check_seed(seed: &str) -> Result<()> {
    nkeys::KeyPair::from_seed(seed)
        .map(drop)
        .map_err(|_| Error::new(ErrorKind::InvalidArgument, "not a valid NKey user seed (expected \"SU...\")"))
}

/// Signs `data` with the NKey seed `seed` (any NKey seed: user, account, operator, server):
/// the 64-byte Ed25519 signature, as a server checks a nonce's.
pub(crate) fn sign(seed: &str, data: &[u8]) -> Result<[u8; 64]> {
    let bad_seed = || Error::new(ErrorKind::InvalidArgument, "not a valid NKey seed (expected \"S...\")");
    let key = nkeys::KeyPair::from_seed(seed).map_err(|_| bad_seed())?;
    let sig = key.sign(data).map_err(|e| Error::new(ErrorKind::Internal, format!("signing failed: {e}")))?;
    sig.try_into().map_err(|_| Error::new(ErrorKind::Internal, "signature is not 64 bytes"))
}

impl Options {
    /// The user's NKey seed: the one set, or the one in the credentials.
    pub(crate) fn signing_seed(&self) -> Option<String> {
        let from_creds = || {
            let creds = self.creds.as_deref()?;
            creds.lines().map(str::trim).find(|l| l.starts_with("SU")).map(str::to_string)
        };
        self.nkey_seed.clone().or_else(from_creds)
    }

    /// The async-nats options for these settings (without callbacks, added by the connection).
    pub(crate) fn to_connect_options(&self) -> Result<async_nats::ConnectOptions> {
        let base = match &self.token_source {
            Some(source) => {
                let source = source.clone();
                async_nats::ConnectOptions::with_auth_callback(move |_nonce| {
                    let source = source.clone();
                    async move {
                        let mut auth = async_nats::Auth::new();
                        auth.token = Some(crate::client::events::token_on_thread(source).await?);
                        Ok(auth)
                    }
                })
            }
            None => async_nats::ConnectOptions::new(),
        };
        let mut co = base
            .max_reconnects(self.max_reconnects as usize)
            .connection_timeout(self.connection_timeout)
            .require_tls(self.tls_required)
            .ping_interval(if self.max_pings_out == BUILTIN_MAX_PINGS_OUT {
                self.ping_interval
            } else {
                // Our own pinger (in the connection) enforces max_pings_out.
                Duration::from_secs(365 * 24 * 3600)
            })
            .client_capacity(self.sender_capacity)
            // async-nats' per-subscription channel only carries messages to our pump, which
            // applies the user's pending limits (and reports slow consumers) itself; sized so
            // that a briefly starved pump never makes async-nats drop messages first.
            .subscription_capacity(SUBSCRIPTION_TRANSIT_CAPACITY)
            .custom_inbox_prefix(&self.inbox_prefix)
            .request_timeout(Some(self.request_timeout));
        if let Some((u, p)) = &self.user_password {
            co = co.user_and_password(u.clone(), p.clone());
        }
        if let Some(t) = &self.token {
            co = co.token(t.clone());
        }
        if let Some(seed) = &self.nkey_seed {
            co = co.nkey(seed.clone());
        }
        if let Some(creds) = &self.creds {
            // Checked when set.
            if let Ok(with) = co.clone().credentials(creds) {
                co = with;
            }
        }
        if let Some((jwt, signer)) = &self.jwt_signer {
            let signer = signer.clone();
            co = co.jwt(jwt.clone(), move |nonce| crate::client::events::sign_on_thread(signer.clone(), nonce));
        }
        if let Some(n) = &self.name {
            co = co.name(n);
        }
        if self.no_echo {
            co = co.no_echo();
        }
        if self.tls_first {
            co = co.tls_first();
        }
        let pem_text = self.ca.as_ref().is_some_and(Pem::is_text)
            || self.client_cert.as_ref().is_some_and(|(c, k)| c.is_text() || k.is_text());
        if self.tls_server_name.is_some() || self.tls_skip_verify || pem_text {
            let config = crate::client::tls::client_config(
                self.ca.as_ref(),
                self.client_cert.as_ref(),
                self.tls_server_name.as_deref(),
                self.tls_skip_verify,
            )?;
            co = co.tls_client_config(config);
        } else {
            if let Some(Pem::File(ca)) = &self.ca {
                co = co.add_root_certificates(ca.clone());
            }
            if let Some((Pem::File(c), Pem::File(k))) = &self.client_cert {
                co = co.add_client_certificate(c.clone(), k.clone());
            }
        }
        if self.retry_on_initial_connect {
            co = co.retry_on_initial_connect();
        }
        if self.ignore_discovered_servers {
            co = co.ignore_discovered_servers();
        }
        if self.retain_servers_order {
            co = co.retain_servers_order();
        }
        Ok(co)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts() {
        assert_eq!(redact_url("nats://u:p@h:1"), "nats://***@h:1");
        assert_eq!(redact_url("tok@h"), "***@h");
        assert_eq!(redact_url("nats://h:1"), "nats://h:1");
    }

    #[test]
    fn parses_lists() {
        assert_eq!(parse_servers(["nats://a:1", " b:2 "]).unwrap(), vec!["nats://a:1", "b:2"]);
        assert_eq!(parse_servers([""]).unwrap_err().kind, ErrorKind::InvalidArgument);
        assert_eq!(parse_servers([]).unwrap_err().kind, ErrorKind::InvalidArgument);
        assert_eq!(parse_servers(["nats://host:notaport"]).unwrap_err().kind, ErrorKind::InvalidArgument);
        assert_eq!(parse_servers(["ws://a:1", "wss://b:2"]).unwrap(), vec!["ws://a:1", "wss://b:2"]);
        assert_eq!(parse_servers(["ws://a:1", "nats://b:2"]).unwrap_err().kind, ErrorKind::InvalidArgument);
    }
}
