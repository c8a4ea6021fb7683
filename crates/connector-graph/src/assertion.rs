//! Certificate sign-in (R-GRAPH-1): instead of a secret, the app proves
//! itself with a JWT it signs with the private key of a certificate
//! registered for it, sent as `client_assertion` in the client credentials
//! request. Shape (header `alg` PS256, `typ`, `x5t#S256`; claims `aud`,
//! `exp`, `iss`, `jti`, `nbf`, `sub`, `iat`):
//! https://learn.microsoft.com/en-us/entra/identity-platform/certificate-credentials

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use crmsync_connector::Secret;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{RSA_PSS_SHA256, RsaKeyPair};
use serde_json::json;

use crate::GraphError;

/// How long an assertion is good for: it is used at once.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(600);

/// The private key and the certificate's SHA-256 thumbprint.
pub(crate) struct CertificateCredential {
    key: RsaKeyPair,
    /// `x5t#S256`: base64url of the SHA-256 of the certificate's DER.
    thumbprint: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for CertificateCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateCredential")
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

fn bad(reason: &str) -> GraphError {
    GraphError::InvalidSetting {
        key: "certificate",
        reason: reason.to_string(),
    }
}

/// The DER bytes of the first PEM block labelled `label`.
fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let text: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(text).ok()
}

impl CertificateCredential {
    /// Reads a PEM holding the RSA private key (`PRIVATE KEY`, PKCS#8) and
    /// the certificate (`CERTIFICATE`) registered for the app.
    pub(crate) fn from_pem(pem: &str) -> Result<Self, GraphError> {
        let key = pem_block(pem, "PRIVATE KEY").ok_or_else(|| {
            bad("holds no PKCS#8 `PRIVATE KEY` block (convert an RSA key with `openssl pkcs8 -topk8 -nocrypt`)")
        })?;
        let key =
            RsaKeyPair::from_pkcs8(&key).map_err(|e| bad(&format!("the private key is not a usable RSA key: {e}")))?;
        let cert = pem_block(pem, "CERTIFICATE").ok_or_else(|| bad("holds no `CERTIFICATE` block"))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, &cert);
        Ok(CertificateCredential {
            key,
            thumbprint: URL_SAFE_NO_PAD.encode(digest.as_ref()),
            rng: SystemRandom::new(),
        })
    }

    /// A signed assertion for `client_id` at the token endpoint `audience`.
    pub(crate) fn assertion(&self, client_id: &str, audience: &str, now: SystemTime) -> Result<Secret, GraphError> {
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut jti = [0u8; 16];
        self.rng
            .fill(&mut jti)
            .map_err(|_| GraphError::Token("no randomness for the assertion id".into()))?;
        let header = json!({ "alg": "PS256", "typ": "JWT", "x5t#S256": self.thumbprint });
        let claims = json!({
            "aud": audience,
            "exp": secs(now + ASSERTION_LIFETIME),
            "iss": client_id,
            "jti": jti.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "nbf": secs(now),
            "sub": client_id,
            "iat": secs(now),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PSS_SHA256, &self.rng, signing_input.as_bytes(), &mut signature)
            .map_err(|_| GraphError::Token("could not sign the client assertion".into()))?;
        Ok(Secret::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_without_a_key_or_certificate_names_what_is_missing() {
        let err = CertificateCredential::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
            .unwrap_err();
        assert!(err.to_string().contains("PRIVATE KEY"), "{err}");
        assert!(pem_block("nothing", "CERTIFICATE").is_none());
    }
}
