//! Delegated sign-in with a device code (R-GRAPH-31): the user opens
//! Microsoft's page on any device and enters the code shown; this polls the
//! token endpoint until they did and hands back the refresh token, which
//! the caller stores sealed. The protocol is RFC 8628 as Entra documents it
//! (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code);
//! the `oauth2` crate does the polling, with the waits and the "now" of the
//! connector's [`Clock`], so tests wait no wall-clock time.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_connector::{Reach, Secret};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, DeviceAuthorizationResponse, DeviceAuthorizationUrl, ExtraDeviceAuthorizationFields,
    RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::GraphError;
use crate::clock::Clock;
use crate::config::{DELEGATED_SCOPES, GraphAuth, GraphConfig};

/// Entra's device authorization response adds `message`: the text to show
/// the user, naming the page and the code.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EntraMessage {
    #[serde(default)]
    message: Option<String>,
}

impl ExtraDeviceAuthorizationFields for EntraMessage {}

/// Signs `config`'s user in with a device code: `show` gets the text to
/// print (page and code), then this waits for the user at the interval the
/// server asks, longer after `slow_down`. The refresh token is the result;
/// the access token of the sign-in is dropped (the connector gets its own).
pub async fn sign_in(
    config: &GraphConfig,
    clock: Arc<dyn Clock>,
    reach: Reach,
    show: &mut (dyn FnMut(&str) + Send),
) -> Result<Secret, GraphError> {
    if config.auth != GraphAuth::DeviceCode {
        return Err(GraphError::InvalidSetting {
            key: "auth",
            reason: "sign-in is for auth = \"device-code\" profiles; app-only ones need none".into(),
        });
    }
    config.validate()?;
    let invalid = |key: &'static str| {
        move |e: oauth2::url::ParseError| GraphError::InvalidSetting {
            key,
            reason: e.to_string(),
        }
    };
    let device_url = DeviceAuthorizationUrl::new(config.device_code_url()).map_err(invalid("authority"))?;
    let token_url = TokenUrl::new(config.token_url()).map_err(invalid("authority"))?;
    crate::reach::check(&reach, &config.device_code_url()).await?;
    let builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(config.timeout_secs))
        .redirect(reqwest::redirect::Policy::none());
    let http = crate::reach::limit(builder, &reach).build()?;
    // A public client: the client id goes in the body, no secret at all.
    let client = BasicClient::new(ClientId::new(config.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_device_authorization_url(device_url)
        .set_token_uri(token_url);
    let details: DeviceAuthorizationResponse<EntraMessage> = client
        .exchange_device_code()
        .add_scopes(DELEGATED_SCOPES.iter().map(|s| Scope::new(s.to_string())))
        .request_async(&http)
        .await
        .map_err(|e| GraphError::SignIn(format!("the device code request failed: {}", describe(&e))))?;
    let text = details.extra_fields().message.clone().unwrap_or_else(|| {
        format!(
            "To sign in, open {} and enter the code {}",
            details.verification_uri().as_str(),
            details.user_code().secret()
        )
    });
    show(&text);
    let now_clock = clock.clone();
    let reply = client
        .exchange_device_access_token(&details)
        .set_time_fn(move || DateTime::<Utc>::from(now_clock.now()))
        .request_async(
            &http,
            move |wait| {
                let clock = clock.clone();
                async move { clock.sleep(wait).await }
            },
            None,
        )
        .await
        .map_err(|e| match &e {
            // Entra's own `authorization_declined` and `bad_verification_code`
            // are no variants of the crate's type: matched by name.
            RequestTokenError::ServerResponse(r) => GraphError::SignIn(match r.error().as_ref() {
                "authorization_declined" | "access_denied" => {
                    "the user declined the sign-in; nothing was stored".to_string()
                }
                "expired_token" => {
                    "the code expired before the user signed in (Entra allows 15 minutes); run the sign-in again"
                        .to_string()
                }
                "bad_verification_code" => {
                    "the server did not recognise the device code; run the sign-in again".to_string()
                }
                _ => format!("the sign-in failed: {}", describe(&e)),
            }),
            _ => GraphError::SignIn(format!("the sign-in failed: {}", describe(&e))),
        })?;
    let refresh = reply.refresh_token().ok_or_else(|| {
        GraphError::SignIn("the token endpoint gave no refresh token (is offline_access granted?)".into())
    })?;
    tracing::info!(mailbox = %config.mailbox, "signed in to Microsoft Graph with a device code");
    Ok(Secret::new(refresh.secret().clone()))
}

/// The endpoint's error code and description; never a token.
fn describe<RE: std::error::Error + 'static, T: oauth2::ErrorResponse + 'static>(
    e: &RequestTokenError<RE, T>,
) -> String {
    match e {
        RequestTokenError::ServerResponse(r) => r.to_string(),
        RequestTokenError::Request(e) => format!("request failed: {e}"),
        RequestTokenError::Parse(e, _) => format!("unreadable reply: {e}"),
        RequestTokenError::Other(e) => e.clone(),
    }
}
