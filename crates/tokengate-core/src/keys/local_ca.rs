//! A local certificate authority for `tokengate dev`: MSAL refuses plain HTTP, so the dev issuer
//! serves HTTPS with a server certificate (SAN 127.0.0.1, localhost) signed by a CA whose PEM the
//! user (or a test) trusts.

use super::signing_key::{unix_to_offset, KeyError};
use crate::UnixTime;

pub struct LocalCa {
    pub ca_cert_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
}

pub fn generate_local_ca(now: UnixTime) -> Result<LocalCa, KeyError> {
    let err = |e: rcgen::Error| KeyError::Certificate(e.to_string());
    let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "tokengate dev local CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    ca_params.not_before = unix_to_offset(now - 86_400)?;
    ca_params.not_after = unix_to_offset(now + 10 * 365 * 86_400)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;

    let server_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).map_err(err)?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = unix_to_offset(now - 86_400)?;
    // Browsers and Python's ssl cap leaf validity; 397 days keeps every client happy.
    params.not_after = unix_to_offset(now + 397 * 86_400)?;
    let server_cert = params.signed_by(&server_key, &ca_cert, &ca_key).map_err(err)?;

    Ok(LocalCa {
        ca_cert_pem: ca_cert.pem(),
        server_cert_pem: server_cert.pem(),
        server_key_pem: server_key.serialize_pem(),
    })
}
