//! `POST /api/v1/push/{token}`: the webhook a groupware server calls when a
//! collection changed (R-SCHED-2), e.g. a WebDAV-Push subscription
//! (draft-bitfire-webdav-push) whose push resource is this URL. No bearer
//! token: the path's unguessable per-profile token is the credential. The
//! body (a WebDAV-Push `push-message` XML, JSON, or nothing) is advisory and
//! not parsed: whatever changed, the profile's next run asks the server.
//!
//! Microsoft Graph checks a notification URL before it creates a
//! subscription: it POSTs `?validationToken=…` and wants the token back as
//! `text/plain` with 200 within 10 seconds
//! (https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#notificationurl-validation).
//! That request is answered so and runs nothing (R-GRAPH-10).
//!
//! The same route serves the change notification subscriptions the
//! scheduler holds (R-SCHED-2): each has its own token, and what arrives
//! counts only with that subscription's id and clientState
//! (`ProfileCatalog::receive_notifications`); anything else is answered 202
//! so the sender does not retry, runs nothing, and is counted.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Extension, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use crmsync_service::PushTarget;
use crmsync_store::status::PushSubscriptionRow;

use crate::error::{ApiError, ErrorBody};
use crate::routes::profiles::PushAccepted;
use crate::service_error::from_service;
use crate::state::AppState;

/// Marks the profile due now: through this process's scheduler when it has
/// one, else in the database for whichever worker runs. True when it was
/// marked (push on, enabled).
pub async fn trigger(state: &AppState, name: &str) -> Result<bool, ApiError> {
    let names = [name.to_string()];
    let svc = &state.service;
    let n = match &svc.scheduler {
        Some(s) => s.notify(&names).await.map_err(from_service)?,
        None => svc
            .catalog
            .store()
            .catalog()
            .trigger_profiles(&names, svc.clock.now())
            .await
            .map_err(|e| from_service(e.into()))?,
    };
    Ok(n > 0)
}

/// The longest validation token echoed: Graph's are a few hundred bytes.
const MAX_VALIDATION_TOKEN: usize = 4096;

/// The URL-decoded `validationToken` of a query string, if there is one.
fn validation_token(query: Option<&str>) -> Option<String> {
    let raw = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("validationToken="))?
        .replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&raw).decode_utf8().ok()?;
    Some(decoded.into_owned())
}

/// A groupware notification for the profile whose push token is `token`.
/// 202 `triggered: true` when the profile will run now; 202 `triggered:
/// false` when it has push off or is disabled (the subscription stays valid,
/// the profile keeps its interval); 404 for an unknown token. With
/// `validationToken` in the query (Graph's handshake), 200 with that token
/// as `text/plain`, and nothing runs. For the URL of a change notification
/// subscription the scheduler holds, the body is the server's notification
/// collection, checked against that subscription (R-GRAPH-12).
#[utoipa::path(post, path = "/api/v1/push/{token}", operation_id = "pushWebhook", tag = "profiles",
    params(("token" = String, Path, description = "The profile's push token"),
        ("validationToken" = Option<String>, Query, description = "Microsoft Graph's subscription handshake: echoed as text/plain, nothing runs")),
    // Any bytes: a WebDAV-Push push-message is XML, but nothing is parsed.
    request_body(content = Vec<u8>, description = "Any body, e.g. a WebDAV-Push push-message (XML), not parsed; \
        for the URL of a change notification subscription crmsync holds, the server's notification collection \
        (Microsoft Graph JSON), whose subscriptionId and clientState must match",
        content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "The validationToken, echoed (Graph's handshake)", body = String, content_type = "text/plain"),
        (status = 202, body = PushAccepted),
        (status = 400, description = "The token holds a control character, the validationToken is too long, or a subscription's notification body does not read", body = ErrorBody),
        (status = 404, description = "No profile has this token", body = ErrorBody),
        (status = 413, description = "Body larger than the server's limit", body = ErrorBody),
        (status = 429, description = "Too many notifications for this token or from this client (R-API-15); retry after `Retry-After` seconds",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds until the next notification is taken"))),
        (status = 503, description = "Store unavailable; retry", body = ErrorBody),
    ))]
pub async fn webhook(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    // Absent when the router is driven without a socket (in-process tests):
    // those share one client bucket.
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    // Read (and bounded by the body limit) but not interpreted.
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(ApiError::PayloadTooLarge {
                limit: state.max_body_bytes,
            });
        }
        Err(rejection) => {
            return Err(ApiError::bad_request(
                None,
                format!("could not read the request body: {rejection}"),
            ));
        }
    };
    // Before the token is looked up, so guessing tokens is limited too.
    let client = peer.map_or_else(
        || "unknown".to_owned(),
        |Extension(ConnectInfo(addr))| addr.ip().to_string(),
    );
    if let Err(retry_after_secs) = state.service.push_limit.admit(&token, &client) {
        tracing::debug!(%client, retry_after_secs, "push notification over the rate limit");
        return Err(ApiError::TooManyRequests { retry_after_secs });
    }
    let target = state
        .service
        .catalog
        .push_target(&token)
        .await
        .map_err(from_service)?
        .ok_or(ApiError::NotFound("push subscription"))?;
    if let Some(validation) = validation_token(query.as_deref()) {
        if validation.len() > MAX_VALIDATION_TOKEN {
            return Err(ApiError::bad_request(
                None,
                format!("validationToken longer than {MAX_VALIDATION_TOKEN} bytes"),
            ));
        }
        tracing::info!("answered a Microsoft Graph subscription handshake");
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            validation,
        )
            .into_response());
    }
    let triggered = match target {
        PushTarget::Trigger(name) => {
            let triggered = trigger(&state, &name).await?;
            tracing::info!(profile = %name, triggered, "groupware push");
            triggered
        }
        PushTarget::Ignored(name) => {
            tracing::debug!(profile = %name, "groupware push for a profile with push off or disabled");
            false
        }
        PushTarget::Subscription(sub) => from_subscription(&state, &sub, &body).await?,
    };
    Ok((StatusCode::ACCEPTED, Json(PushAccepted { triggered })).into_response())
}

/// A delivery to the URL of subscription `sub`: checked, lifecycle events
/// handed to the scheduler, the profile run when a change was announced.
/// True when the profile was marked due.
async fn from_subscription(state: &AppState, sub: &PushSubscriptionRow, body: &[u8]) -> Result<bool, ApiError> {
    let svc = &state.service;
    let received = svc
        .catalog
        .receive_notifications(sub, body)
        .await
        .map_err(from_service)?;
    if received.rejected > 0 {
        // Never the clientState itself: it is the secret being checked.
        tracing::warn!(profile = %sub.profile, rejected = received.rejected,
            "change notifications with a wrong subscription id or clientState: ignored");
        if let Some(s) = &svc.scheduler {
            s.metrics().notifications_rejected(received.rejected);
        }
    }
    if received.resubscribe {
        // Without a scheduler here, the worker that has one finds the
        // stored request at its next pass.
        if let Some(s) = &svc.scheduler {
            s.wake_subscriptions();
        }
    }
    if !received.run {
        return Ok(false);
    }
    let triggered = trigger(state, &sub.profile).await?;
    tracing::info!(profile = %sub.profile, triggered, "change notification");
    Ok(triggered)
}

#[cfg(test)]
mod tests {
    use super::validation_token;

    #[test]
    fn the_validation_token_is_url_decoded() {
        assert_eq!(
            validation_token(Some("a=1&validationToken=Validation%3A+Testing%20client")).as_deref(),
            Some("Validation: Testing client")
        );
        assert_eq!(validation_token(Some("a=1")), None);
        assert_eq!(validation_token(None), None);
    }
}
