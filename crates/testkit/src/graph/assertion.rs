//! Certificate sign-in at the test server's token endpoint: the client
//! assertion is checked as Microsoft describes it
//! (https://learn.microsoft.com/en-us/entra/identity-platform/certificate-credentials):
//! header `alg` PS256 and `x5t#S256` naming the registered certificate, a
//! valid signature by its key, `aud` the token endpoint, `iss` = `sub` = the
//! client id, and now within `nbf`..`exp`. The registered certificate is the
//! test app's ([`TEST_APP_PEM`], made for these tests only).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use ring::signature::{RSA_PSS_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};
use serde_json::Value;

/// The test app's RSA private key (PKCS#8) and self-signed certificate.
pub const TEST_APP_PEM: &str = include_str!("test_app.pem");

fn pem_block(pem: &str, label: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).expect("block") + begin.len();
    let stop = start + pem[start..].find(&end).expect("end");
    let text: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(text).expect("base64")
}

/// Why an assertion is refused, as Entra ID's error description starts.
pub(crate) type Refusal = &'static str;

fn part(text: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).ok()?).ok()
}

/// Checks `jwt` for `client_id` at `token_url` at `now`.
pub(crate) fn check(jwt: &str, client_id: &str, token_url: &str, now: DateTime<Utc>) -> Result<(), Refusal> {
    let malformed = "AADSTS50027: JWT token is invalid or malformed.";
    let mut parts = jwt.split('.');
    let (Some(h), Some(c), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(malformed);
    };
    let (Some(header), Some(claims)) = (part(h), part(c)) else {
        return Err(malformed);
    };
    let cert = pem_block(TEST_APP_PEM, "CERTIFICATE");
    let thumbprint = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &cert));
    if header["alg"] != "PS256" || header["x5t#S256"] != thumbprint.as_str() {
        return Err(
            "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.",
        );
    }
    let key = RsaKeyPair::from_pkcs8(&pem_block(TEST_APP_PEM, "PRIVATE KEY")).expect("the test key");
    let signature = URL_SAFE_NO_PAD.decode(sig).map_err(|_| malformed)?;
    UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, key.public().as_ref())
        .verify(format!("{h}.{c}").as_bytes(), &signature)
        .map_err(|_| "AADSTS700027: Client assertion contains an invalid signature.")?;
    if claims["aud"] != token_url {
        return Err("AADSTS700016: The audience of the client assertion is not the token endpoint.");
    }
    if claims["iss"] != client_id || claims["sub"] != client_id {
        return Err("AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter.");
    }
    let at = |k: &str| claims[k].as_i64().unwrap_or(0);
    let now = now.timestamp();
    if now < at("nbf") - 300 || now >= at("exp") {
        return Err("AADSTS700024: Client assertion is not within its valid time range.");
    }
    Ok(())
}
