//! Delegated access tokens (R-GRAPH-32): each comes from the refresh token
//! a device-code sign-in stored (`grant_type=refresh_token`,
//! https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token).
//! Entra may answer with a new refresh token; it replaces the stored one
//! only if that is still the one this refresh used, so of two workers
//! refreshing at once neither overwrites the newer token with an older one.

use std::time::SystemTime;

use crmsync_connector::{Secret, TokenVault, VaultError};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{AuthType, ClientId, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl};

use crate::GraphError;
use crate::config::DELEGATED_SCOPES;
use crate::token::Cached;

/// The command that (re)stores a profile's sign-in.
fn sign_in_command(profile: Option<&str>) -> String {
    format!("crmsync graph sign-in {}", profile.unwrap_or("<profile>"))
}

/// A device-code profile with no stored sign-in.
pub(crate) fn not_signed_in(profile: Option<&str>) -> GraphError {
    GraphError::SignIn(format!(
        "not signed in to Microsoft Graph; run `{}`",
        sign_in_command(profile)
    ))
}

/// A vault that failed: the database may be back at the next run, but a
/// stored sign-in that cannot be opened stays so until someone acts (the
/// right key, or a new sign-in), so that is a sign-in error (permanent,
/// R-GRAPH-33), not a transient one.
fn vault_error(error: VaultError, profile: &str) -> GraphError {
    match error {
        VaultError::Unavailable(detail) => GraphError::Vault(detail),
        VaultError::Unusable(detail) => GraphError::SignIn(format!(
            "{detail}: if this process has another `[security] key` than the workers that signed in, give it theirs; \
             if the key was changed on purpose, sign in again: `{}`",
            sign_in_command(Some(profile))
        )),
    }
}

/// A fresh access token from the vault's refresh token; a rotated refresh
/// token is stored back. A token the endpoint refuses (`invalid_grant`:
/// revoked, expired, or used by another worker that stored its successor
/// meanwhile) is tried again only if the vault now holds a newer one.
pub(crate) async fn refresh(
    vault: &dyn TokenVault,
    client_id: &str,
    token_url: TokenUrl,
    http: &reqwest::Client,
    now: SystemTime,
) -> Result<Cached, GraphError> {
    let client = BasicClient::new(ClientId::new(client_id.to_string()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(token_url);
    let mut refused: Option<i64> = None;
    loop {
        let stored = vault
            .load()
            .await
            .map_err(|e| vault_error(e, vault.profile()))?
            .ok_or_else(|| not_signed_in(Some(vault.profile())))?;
        if let Some(version) = refused
            && version == stored.version
        {
            return Err(GraphError::SignIn(format!(
                "the Microsoft Graph sign-in is no longer valid (revoked or expired); sign in again: {}",
                sign_in_command(Some(vault.profile()))
            )));
        }
        let token = RefreshToken::new(stored.token.expose().to_string());
        let reply = client
            .exchange_refresh_token(&token)
            .add_scopes(DELEGATED_SCOPES.iter().map(|s| Scope::new(s.to_string())))
            .request_async(http)
            .await;
        let reply = match reply {
            Ok(reply) => reply,
            Err(RequestTokenError::ServerResponse(r)) if *r.error() == BasicErrorResponseType::InvalidGrant => {
                tracing::debug!(profile = vault.profile(), "the stored refresh token was refused");
                refused = Some(stored.version);
                continue;
            }
            Err(RequestTokenError::ServerResponse(r)) => return Err(GraphError::Token(r.to_string())),
            Err(RequestTokenError::Request(e)) => {
                return Err(GraphError::Token(format!("token request failed: {e}")));
            }
            Err(other) => return Err(GraphError::Token(format!("unreadable token reply: {other}"))),
        };
        if let Some(next) = reply.refresh_token()
            && next.secret() != stored.token.expose()
        {
            let next = Secret::new(next.secret().clone());
            match vault.replace(stored.version, &next).await {
                Ok(true) => {}
                // Another worker refreshed at the same time and stored its
                // token first: that one is kept, both are valid.
                Ok(false) => tracing::debug!(profile = vault.profile(), "a newer refresh token was stored meanwhile"),
                // The access token in hand is good: failing the run would
                // throw it away too. Entra keeps the stored token valid
                // beside the new one, so the next refresh still works.
                Err(e) => tracing::warn!(
                    profile = vault.profile(),
                    error = %e,
                    "the new refresh token could not be stored; the stored one is used next time"
                ),
            }
        }
        return Ok(Cached::new(
            Secret::new(reply.access_token().secret().clone()),
            reply.expires_in(),
            now,
        ));
    }
}
