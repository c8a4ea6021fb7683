//! Credentials at rest: sealed with XChaCha20-Poly1305 (an AEAD: a changed
//! byte or a wrong key fails to open rather than yielding garbage).
//!
//! Sealed text is `v1.` + base64(24-byte random nonce ‖ ciphertext+tag). The
//! nonce is random per seal (XChaCha's 192 bits make collisions negligible),
//! and the profile name is bound as associated data, so a sealed secret copied
//! into another profile's row does not open there.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

use crate::error::ServiceError;

const VERSION_PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;

/// The 32-byte key from `[security] key` / `CRMSYNC_SECURITY_KEY`.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// Opening failed: wrong key, altered text or another profile's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsealable;

impl SecretKey {
    /// Reads base64 (standard alphabet, padded) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<SecretKey, ServiceError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| ServiceError::BadSecurityKey {
            reason: "it is not base64".into(),
        })?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| ServiceError::BadSecurityKey {
            reason: format!("it holds {} bytes, not 32", bytes.len()),
        })?;
        Ok(SecretKey(key))
    }

    /// A fresh random key (tests, and printing one for an operator).
    pub fn generate() -> SecretKey {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        SecretKey(bytes)
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// Seals `plaintext` for the record named `context` (the profile name).
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            // Only inputs over ~256 GiB fail: not a secret's size.
            .expect("sealing a secret cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{VERSION_PREFIX}{}", STANDARD.encode(out))
    }

    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, Unsealable> {
        let body = sealed.strip_prefix(VERSION_PREFIX).ok_or(Unsealable)?;
        let bytes = STANDARD.decode(body).map_err(|_| Unsealable)?;
        if bytes.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Unsealable)?;
        self.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_only_with_its_key_and_profile() {
        let key = SecretKey::generate();
        let sealed = key.seal("anna-dav", b"hunter2");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(key.open("anna-dav", &sealed).unwrap(), b"hunter2");
        assert_eq!(
            key.open("bob-dav", &sealed),
            Err(Unsealable),
            "bound to the profile name"
        );
        assert_eq!(SecretKey::generate().open("anna-dav", &sealed), Err(Unsealable));
        let mut tampered = sealed.clone();
        tampered.replace_range(sealed.len() - 3..sealed.len() - 2, "A");
        if tampered != sealed {
            assert_eq!(key.open("anna-dav", &tampered), Err(Unsealable));
        }
        assert_ne!(key.seal("anna-dav", b"hunter2"), sealed, "a fresh nonce per seal");
    }

    #[test]
    fn key_must_be_32_bytes_of_base64_and_never_shows_in_debug() {
        let key = SecretKey::generate();
        let text = key.to_base64();
        let again = SecretKey::from_base64(&text).unwrap();
        assert_eq!(again.open("p", &key.seal("p", b"x")).unwrap(), b"x");
        assert!(!format!("{again:?}").contains(&text));
        assert!(matches!(
            SecretKey::from_base64("c2hvcnQ="),
            Err(ServiceError::BadSecurityKey { .. })
        ));
        assert!(matches!(
            SecretKey::from_base64("not base64!"),
            Err(ServiceError::BadSecurityKey { .. })
        ));
    }
}
