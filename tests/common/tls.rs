//! A throwaway PKI generated per test: a CA, a server certificate for 127.0.0.1/localhost and
//! a client certificate, written as PEM files into a temp dir.
#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
    /// A second, unrelated CA (for "wrong CA" tests).
    pub other_ca: String,
}

fn ca(name: &str) -> (CertificateParams, KeyPair, String) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let pem = p.self_signed(&key).unwrap().pem();
    (p, key, pem)
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let (ca_params, ca_key, ca_pem) = ca("nats-ffi test CA");
        let issuer = Issuer::new(ca_params, ca_key);

        let skey = KeyPair::generate().unwrap();
        let mut sp = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        sp.distinguished_name.push(DnType::CommonName, "nats-server");
        sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let scert = sp.signed_by(&skey, &issuer).unwrap();

        let ckey = KeyPair::generate().unwrap();
        let mut cp = CertificateParams::new(vec!["client.example".to_string()]).unwrap();
        cp.distinguished_name.push(DnType::CommonName, "mailer");
        cp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let ccert = cp.signed_by(&ckey, &issuer).unwrap();

        let (_, _, other) = ca("some other CA");
        let w = |name: &str, s: &str| super::write_file(dir.path(), name, s);
        Pki {
            ca: w("ca.pem", &ca_pem),
            server_cert: w("server.pem", &scert.pem()),
            server_key: w("server-key.pem", &skey.serialize_pem()),
            client_cert: w("client.pem", &ccert.pem()),
            client_key: w("client-key.pem", &ckey.serialize_pem()),
            other_ca: w("other-ca.pem", &other),
            dir,
        }
    }

    /// A nats-server `tls { }` block for this PKI, with extra lines inside it.
    pub fn server_block(&self, extra: &str) -> String {
        format!(
            "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  timeout: 2\n  {extra}\n}}\n",
            self.server_cert, self.server_key, self.ca
        )
    }
}
