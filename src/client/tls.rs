//! A rustls client configuration for the TLS settings async-nats cannot express itself: a
//! server name to verify other than the URL's host, certificates and keys given as PEM text
//! instead of files, and (explicitly, loudly) no verification. Used only when one of those is
//! set; otherwise async-nats builds the configuration. Either way, certificate files are read
//! again at each handshake (each connect and reconnect), so rotated files are picked up.

use crate::client::error::*;
use async_nats::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use async_nats::rustls::client::ResolvesClientCert;
use async_nats::rustls::client::WebPkiServerVerifier;
use async_nats::rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use async_nats::rustls::pki_types::pem::PemObject;
use async_nats::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use async_nats::rustls::sign::CertifiedKey;
use async_nats::rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug)]
struct Verifier {
    roots: Roots,
    name: Option<ServerName<'static>>,
    skip: bool,
    provider: Arc<CryptoProvider>,
}

/// What a server certificate is checked against.
#[derive(Debug)]
enum Roots {
    /// Fixed roots: the system's, or CA certificates given as text.
    Fixed(Arc<WebPkiServerVerifier>),
    /// A CA file, read again at each handshake.
    File(Pem),
}

impl Verifier {
    fn inner(&self) -> std::result::Result<Arc<WebPkiServerVerifier>, async_nats::rustls::Error> {
        match &self.roots {
            Roots::Fixed(v) => Ok(v.clone()),
            Roots::File(pem) => {
                webpki_verifier(Some(pem), &self.provider).map_err(|e| async_nats::rustls::Error::General(e.detail))
            }
        }
    }
}

/// A verifier checking against `ca` (else the system's roots).
fn webpki_verifier(ca: Option<&Pem>, provider: &Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>> {
    let mut roots = RootCertStore::empty();
    match ca {
        Some(pem) => {
            for c in pem.certs("CA certificates")? {
                roots.add(c).map_err(|e| Error::new(ErrorKind::Tls, format!("CA certificate: {e}")))?;
            }
        }
        None => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS configuration: {e}")))
}

/// The client certificate and key, read again from their files at each handshake; the last
/// pair read successfully is used when a read fails (a file being rewritten).
#[derive(Debug)]
struct ClientCert {
    cert: Pem,
    key: Pem,
    provider: Arc<CryptoProvider>,
    last: std::sync::Mutex<Arc<CertifiedKey>>,
}

impl ClientCert {
    fn load(cert: &Pem, key: &Pem, provider: &CryptoProvider) -> Result<Arc<CertifiedKey>> {
        let chain = cert.certs("client certificate")?;
        let key = provider
            .key_provider
            .load_private_key(key.key("client key")?)
            .map_err(|e| Error::new(ErrorKind::Tls, format!("client key: {e}")))?;
        Ok(Arc::new(CertifiedKey::new(chain, key)))
    }
}

impl ResolvesClientCert for ClientCert {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Ok(fresh) = Self::load(&self.cert, &self.key, &self.provider) {
            *last = fresh;
        }
        Some(last.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, async_nats::rustls::Error> {
        if self.skip {
            return Ok(ServerCertVerified::assertion());
        }
        let name = self.name.as_ref().unwrap_or(server_name);
        self.inner()?.verify_server_cert(end_entity, intermediates, name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, async_nats::rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, async_nats::rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

fn io(what: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, format!("{what} {}: {e}", path.display()))
}

/// PEM material: a file (read when connecting) or the text itself.
#[derive(Clone, Debug)]
pub(crate) enum Pem {
    File(PathBuf),
    Text(String),
}

/// An error about PEM text, which never repeats the text (a key is a secret).
fn bad_text(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("{what} (PEM text): {e}"))
}

impl Pem {
    /// Every certificate in it; at least one.
    fn certs(&self, what: &str) -> Result<Vec<CertificateDer<'static>>> {
        let certs = match self {
            Pem::File(p) => CertificateDer::pem_file_iter(p)
                .map_err(|e| io(what, p, e))?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| io(what, p, e))?,
            Pem::Text(t) => CertificateDer::pem_slice_iter(t.as_bytes())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| bad_text(what, e))?,
        };
        if certs.is_empty() {
            // A file is read at connect, where an unusable certificate is a TLS failure.
            return Err(match self {
                Pem::File(p) => Error::new(ErrorKind::Tls, format!("{what} {}: no PEM certificate in it", p.display())),
                Pem::Text(_) => bad_text(what, "no PEM certificate in it"),
            });
        }
        Ok(certs)
    }

    /// Its private key.
    fn key(&self, what: &str) -> Result<PrivateKeyDer<'static>> {
        match self {
            Pem::File(p) => PrivateKeyDer::from_pem_file(p).map_err(|e| io(what, p, e)),
            Pem::Text(t) => {
                PrivateKeyDer::from_pem_slice(t.as_bytes()).map_err(|_| bad_text(what, "no PEM private key in it"))
            }
        }
    }

    pub(crate) fn is_text(&self) -> bool {
        matches!(self, Pem::Text(_))
    }
}

/// PEM text given for certificates (a CA, a client chain), checked now, not at connect.
pub(crate) fn certs_text(text: &str, what: &str) -> Result<Pem> {
    let pem = Pem::Text(text.to_string());
    pem.certs(what)?;
    Ok(pem)
}

/// PEM text given for a private key, checked now, not at connect.
pub(crate) fn key_text(text: &str, what: &str) -> Result<Pem> {
    let pem = Pem::Text(text.to_string());
    pem.key(what)?;
    Ok(pem)
}

/// The configuration: roots from `ca` (else the system's), the client certificate if any,
/// and the verifier checking `server_name` instead of the URL's host, or nothing.
pub(crate) fn client_config(
    ca: Option<&Pem>,
    client_cert: Option<&(Pem, Pem)>,
    server_name: Option<&str>,
    skip_verify: bool,
) -> Result<ClientConfig> {
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(async_nats::rustls::crypto::ring::default_provider()));
    // Read now, so that a bad file fails `nats_connect` with its reason.
    let fixed = webpki_verifier(ca, &provider)?;
    let roots = match ca {
        Some(pem @ Pem::File(_)) => Roots::File(pem.clone()),
        _ => Roots::Fixed(fixed),
    };
    let name = match server_name {
        Some(n) => Some(
            ServerName::try_from(n.to_string())
                .map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("invalid TLS server name {n:?}")))?,
        ),
        None => None,
    };
    let verifier = Arc::new(Verifier { roots, name, skip: skip_verify, provider: provider.clone() });
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match client_cert {
        Some((c, k)) => {
            let first = ClientCert::load(c, k, &provider)?;
            let resolver =
                ClientCert { cert: c.clone(), key: k.clone(), provider: provider.clone(), last: first.into() };
            Ok(without_resumption(builder.with_client_cert_resolver(Arc::new(resolver))))
        }
        None => Ok(without_resumption(builder.with_no_client_auth())),
    }
}

/// Every connect makes a full handshake, as with the configuration async-nats builds anew at
/// each connect: a resumed session would skip the (re-read) client certificate and the
/// server certificate's check against the (re-read) CA.
fn without_resumption(mut config: ClientConfig) -> ClientConfig {
    config.resumption = async_nats::rustls::client::Resumption::disabled();
    config
}
