//! Access tokens, cached and fetched again before they expire: app-only
//! (OAuth 2 client credentials, via the `oauth2` crate, with a secret or a
//! certificate's signed assertion) or delegated (the refresh token of a
//! device-code sign-in, from the profile's [`TokenVault`], `delegated.rs`).
//! The token, the secret and the assertion are [`Secret`]s: no `Debug`, log
//! line or error shows them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crmsync_connector::{Reach, Secret, TokenVault};
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};
use tokio::sync::Mutex;

use crate::GraphError;
use crate::clock::Clock;
use crate::config::{Credential, GRAPH_DEFAULT_SCOPE, GraphConfig};

/// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow#second-case-access-token-request-with-a-certificate
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// When a reply gives no lifetime, assume Entra's usual hour.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// A token is replaced this long before it expires (at most a tenth of its life).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

pub(crate) struct Cached {
    pub(crate) token: Secret,
    pub(crate) refresh_at: SystemTime,
}

impl Cached {
    /// Kept until `min(5 min, a tenth of its life)` before it expires.
    pub(crate) fn new(token: Secret, lifetime: Option<Duration>, now: SystemTime) -> Cached {
        let lifetime = lifetime.unwrap_or(DEFAULT_LIFETIME);
        let margin = REFRESH_MARGIN.min(lifetime / 10);
        tracing::debug!(lifetime_secs = lifetime.as_secs(), "fetched a Graph access token");
        Cached {
            token,
            refresh_at: now + lifetime - margin,
        }
    }
}

pub(crate) struct TokenSource {
    client_id: String,
    credential: Credential,
    token_url: String,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    cached: Mutex<Option<Cached>>,
    /// Checked before every token request (R-SEC-1).
    reach: Reach,
    /// Delegated sign-in: where the user's refresh token is kept.
    vault: Option<Arc<dyn TokenVault>>,
}

impl TokenSource {
    pub(crate) fn new(
        config: &GraphConfig,
        credential: Credential,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        reach: Reach,
        vault: Option<Arc<dyn TokenVault>>,
    ) -> Self {
        TokenSource {
            vault,
            client_id: config.client_id.clone(),
            credential,
            token_url: config.token_url(),
            http,
            clock,
            cached: Mutex::new(None),
            reach,
        }
    }

    /// A token valid for a while yet; fetched when there is none or it is
    /// about to expire. Callers that hold it wait for one fetch, not many.
    pub(crate) async fn bearer(&self) -> Result<Secret, GraphError> {
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        if let Some(c) = cached.as_ref()
            && now < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch(now).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets the cached token (after a 401: it was revoked or the clock lied).
    pub(crate) async fn forget(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self, now: SystemTime) -> Result<Cached, GraphError> {
        // The secret goes nowhere the profile may not reach (R-SEC-1).
        crate::reach::check(&self.reach, &self.token_url).await?;
        let url = TokenUrl::new(self.token_url.clone()).map_err(|e| GraphError::InvalidSetting {
            key: "authority",
            reason: e.to_string(),
        })?;

        // Microsoft's examples send the secret in the form body
        // (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow#first-case-access-token-request-with-a-shared-secret).
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(url.clone());
        let (client, assertion) = match &self.credential {
            Credential::Secret(secret) => (
                client.set_client_secret(ClientSecret::new(secret.expose().to_string())),
                None,
            ),
            Credential::Certificate(cert) => (client, Some(cert.assertion(&self.client_id, &self.token_url, now)?)),
            Credential::Delegated => {
                let vault = self
                    .vault
                    .as_deref()
                    .ok_or_else(|| crate::delegated::not_signed_in(None))?;
                return crate::delegated::refresh(vault, &self.client_id, url, &self.http, now).await;
            }
        };
        let mut request = client
            .exchange_client_credentials()
            .add_scope(Scope::new(GRAPH_DEFAULT_SCOPE.to_string()));
        if let Some(assertion) = &assertion {
            request = request
                .add_extra_param("client_assertion_type", JWT_BEARER)
                .add_extra_param("client_assertion", assertion.expose().to_string());
        }
        let reply = request.request_async(&self.http).await.map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => GraphError::Token(format!(
                "{}{}",
                r.error(),
                r.error_description().map(|d| format!(": {d}")).unwrap_or_default()
            )),
            RequestTokenError::Request(e) => GraphError::Token(format!("token request failed: {e}")),
            other => GraphError::Token(format!("unreadable token reply: {other}")),
        })?;
        Ok(Cached::new(
            Secret::new(reply.access_token().secret().clone()),
            reply.expires_in(),
            now,
        ))
    }
}
