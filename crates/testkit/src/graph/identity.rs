//! The delegated sign-in side of the test server's Microsoft identity
//! platform: the device authorization endpoint and the `device_code` and
//! `refresh_token` grants of the token endpoint, shaped as Entra documents
//! them. A test decides what the user does ([`DeviceUser`]) and can make the
//! server ask for slower polling or revoke every refresh token.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::Shared;
use super::routes::reply;
use super::switches::GraphStats;

/// What the user at the other device does with the code shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceUser {
    /// Signs in after the client polled this many times (pending until then).
    ApprovesAfter(u32),
    /// Refuses the sign-in after that many polls.
    DeclinesAfter(u32),
    /// Never comes: the code expires after that many polls.
    LeavesAfter(u32),
}

#[derive(Debug)]
struct Flow {
    polls: u32,
}

/// Device codes handed out and refresh tokens issued (`true`: still valid).
#[derive(Debug)]
pub(crate) struct Identity {
    user: DeviceUser,
    /// Polls still to answer `slow_down` before the user's answer.
    slow_downs: u32,
    flows: HashMap<String, Flow>,
    refresh_tokens: HashMap<String, bool>,
    issued: u64,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            user: DeviceUser::ApprovesAfter(0),
            slow_downs: 0,
            flows: HashMap::new(),
            refresh_tokens: HashMap::new(),
            issued: 0,
        }
    }
}

impl Identity {
    pub(crate) fn set_user(&mut self, user: DeviceUser) {
        self.user = user;
    }

    pub(crate) fn slow_down_next(&mut self, polls: u32) {
        self.slow_downs = polls;
    }

    /// Every refresh token issued so far stops working (an admin revoked
    /// the user's sessions, or the password changed).
    pub(crate) fn revoke_all(&mut self) {
        for valid in self.refresh_tokens.values_mut() {
            *valid = false;
        }
    }

    pub(crate) fn valid_refresh_tokens(&self) -> Vec<String> {
        self.refresh_tokens
            .iter()
            .filter(|(_, valid)| **valid)
            .map(|(t, _)| t.clone())
            .collect()
    }

    pub(crate) fn issued_refresh_tokens(&self) -> Vec<String> {
        self.refresh_tokens.keys().cloned().collect()
    }
}

/// An error of the token endpoint, as in
/// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#error-response-1
fn token_error(status: StatusCode, error: &str, description: &str, code: u32) -> Response {
    reply(
        status,
        json!({
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": "2026-12-07 00:00:00Z",
            "trace_id": "0000aaaa-11bb-cccc-dd22-eeeeee333333",
            "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd"
        }),
    )
}

/// The delegated scopes a client asked for, minus the ones Entra never
/// puts in a token's `scope` (openid, profile, offline_access).
fn granted(scope: &str) -> String {
    scope
        .split(' ')
        .filter(|s| !s.is_empty() && !matches!(*s, "openid" | "profile" | "offline_access"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`: the device authorization
/// response of
/// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#device-authorization-response
pub(crate) fn device_code(shared: &Shared, form: &[(String, String)]) -> Response {
    let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    if get("client_id") != Some(super::GraphServer::CLIENT_ID) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "AADSTS700016: Application not found in the directory.",
            700016,
        );
    }
    if !get("scope")
        .unwrap_or_default()
        .split(' ')
        .any(|s| s == "offline_access")
    {
        // Not an Entra error: without offline_access no refresh token comes,
        // and this server only plays clients that want one.
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS70011: The provided value for the input parameter 'scope' isn't valid.",
            70011,
        );
    }
    let mut identity = shared.identity.lock().expect("lock");
    identity.issued += 1;
    let n = identity.issued;
    let device_code = format!("DAQABAAEAAAD--DLA3VO7QrddgJg7WevrAgAAAAAAAAA{n:06}");
    let user_code = format!("FJ{n:07}");
    identity.flows.insert(device_code.clone(), Flow { polls: 0 });
    reply(
        StatusCode::OK,
        json!({
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900,
            "interval": 5,
            "message": format!("To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code {user_code} to authenticate.")
        }),
    )
}

/// The `device_code` grant: pending, slow down, declined, expired or the
/// tokens, as in
/// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#authenticating-the-user
pub(crate) fn device_code_grant(shared: &Shared, form: &[(String, String)]) -> Response {
    let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    GraphStats::bump(&shared.stats.device_polls);
    let mut identity = shared.identity.lock().expect("lock");
    let user = identity.user;
    if identity.slow_downs > 0 {
        identity.slow_downs -= 1;
        if let Some(flow) = get("device_code").and_then(|c| identity.flows.get_mut(c)) {
            flow.polls += 1;
        }
        // RFC 8628 §3.5; Entra lists it among the polling errors.
        return token_error(
            StatusCode::BAD_REQUEST,
            "slow_down",
            "AADSTS70023: The client is polling too fast.",
            70023,
        );
    }
    let Some(flow) = get("device_code").and_then(|c| identity.flows.get_mut(c)) else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "bad_verification_code",
            "AADSTS70019: The device_code sent to the /token endpoint wasn't recognized.",
            70019,
        );
    };
    flow.polls += 1;
    let polls = flow.polls;
    let (limit, outcome) = match user {
        DeviceUser::ApprovesAfter(n) => (n, "approve"),
        DeviceUser::DeclinesAfter(n) => (n, "decline"),
        DeviceUser::LeavesAfter(n) => (n, "expire"),
    };
    if polls <= limit {
        return token_error(
            StatusCode::BAD_REQUEST,
            "authorization_pending",
            "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            70016,
        );
    }
    let code = get("device_code").unwrap_or_default().to_string();
    match outcome {
        "decline" => {
            identity.flows.remove(&code);
            token_error(
                StatusCode::BAD_REQUEST,
                "authorization_declined",
                "AADSTS70000: The end user denied the authorization request.",
                70000,
            )
        }
        "expire" => {
            identity.flows.remove(&code);
            token_error(
                StatusCode::BAD_REQUEST,
                "expired_token",
                "AADSTS70020: The provided value for the input parameter 'device_code' isn't valid. Device codes expire after 15 minutes.",
                70020,
            )
        }
        _ => {
            identity.flows.remove(&code);
            drop(identity);
            tokens(shared, get("scope").unwrap_or_default())
        }
    }
}

/// The `refresh_token` grant: a new access token and a new refresh token;
/// the one used stops working. A revoked or used token is `invalid_grant`
/// (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token).
pub(crate) fn refresh_grant(shared: &Shared, form: &[(String, String)]) -> Response {
    let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    if form.iter().any(|(k, _)| k == "client_secret") {
        // A public client has no secret (AADSTS700025).
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
            700025,
        );
    }
    let used = get("refresh_token").unwrap_or_default();
    {
        let mut identity = shared.identity.lock().expect("lock");
        match identity.refresh_tokens.get_mut(used) {
            Some(valid) if *valid => *valid = false,
            _ => {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed.",
                    50173,
                );
            }
        }
    }
    tokens(shared, get("scope").unwrap_or_default())
}

/// The successful response of both grants: an access token the Graph
/// routes accept and a new refresh token
/// (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#successful-response-2).
fn tokens(shared: &Shared, scope: &str) -> Response {
    GraphStats::bump(&shared.stats.tokens_issued);
    let n = shared.stats.tokens_issued.load(Ordering::SeqCst);
    let access = format!("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsIm{n:08}");
    let refresh = format!("1.AQwA-delegated-refresh-{n:08}");
    shared.tokens.lock().expect("lock").insert(access.clone());
    shared
        .identity
        .lock()
        .expect("lock")
        .refresh_tokens
        .insert(refresh.clone(), true);
    let lifetime = shared.switches.token_lifetime();
    reply(
        StatusCode::OK,
        json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": granted(scope),
            "refresh_token": refresh,
            "id_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJhdWQiOiI2NzMxZGU3NiJ9."
        }),
    )
}
