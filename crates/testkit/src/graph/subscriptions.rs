//! Change notification subscriptions of the test server, shaped after
//! https://learn.microsoft.com/en-us/graph/api/subscription-post-subscriptions
//! (create, with the validation handshake of
//! https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#notificationurl-validation),
//! https://learn.microsoft.com/en-us/graph/api/subscription-update (renew)
//! and https://learn.microsoft.com/en-us/graph/api/subscription-delete.
//! Every write to a subscribed folder (contacts, calendar, To Do list or
//! mail folder: a new message, one moved in or out, a category set, a
//! deletion) is POSTed to its `notificationUrl`
//! (basic change notifications without resource data,
//! https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#change-notification-example),
//! and a test sends lifecycle notifications
//! (https://learn.microsoft.com/en-us/graph/change-notifications-lifecycle-events).
//!
//! Simplifications: `http://` notification URLs are accepted (Graph wants
//! HTTPS), notifications are sent once and not retried, and the server's
//! "now" is the test's ([`GraphServer::set_now`](super::GraphServer::set_now)).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::Shared;
use super::routes::{error, reply};
use super::switches::GraphStats;

/// The longest lifetime of a subscription to contacts, events, To Do tasks
/// or a mail folder's messages (the one limit crmsync's lifetime keeps under).
pub(crate) const MAX_MINUTES: i64 = 4230;

/// The test server's application id, as `applicationId` shows it.
const APPLICATION_ID: &str = "24d3b144-21ae-4080-943f-7067b395b913";

#[derive(Debug, Clone)]
pub(crate) struct Sub {
    pub body: Map<String, Value>,
    /// The folder whose items it watches.
    pub folder: String,
    pub expires: DateTime<Utc>,
}

/// A notification the server sent: where, what, and the receiver's status.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub url: String,
    pub body: Value,
    /// The receiver's HTTP status, or `None` when it could not be reached.
    pub status: Option<u16>,
}

#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    pub subs: BTreeMap<String, Sub>,
    pub deliveries: Vec<Delivery>,
    /// Validation requests sent (one per URL of every create).
    pub validations: u64,
}

fn text(body: &Map<String, Value>, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_string)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

pub(crate) fn graph_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `users/{mailbox}/contactFolders/{id}/contacts` (and the calendar, To Do
/// and mail folder forms) → the folder id, if it names a folder of that kind.
fn watched_folder(shared: &Shared, resource: &str) -> Option<String> {
    let parts: Vec<&str> = resource.trim_matches('/').split('/').collect();
    let (mailbox, folder, kind) = match parts.as_slice() {
        ["users", m, "contactFolders", f, "contacts"] => (*m, *f, super::Resource::Contacts),
        ["users", m, "calendars", f, "events"] => (*m, *f, super::Resource::Events),
        ["users", m, "todo", "lists", f, "tasks"] => (*m, *f, super::Resource::Tasks),
        // https://learn.microsoft.com/en-us/graph/outlook-change-notifications-overview:
        // "changes to messages in a user's mailFolder" (R-GRAPH-46).
        ["users", m, "mailFolders", f, "messages"] => (*m, *f, super::Resource::Messages),
        _ => return None,
    };
    let known = mailbox.eq_ignore_ascii_case(super::GraphServer::MAILBOX)
        && shared.store.lock().expect("lock").folder(folder, kind).is_some();
    known.then(|| folder.to_string())
}

/// The expiry asked for, if the service accepts it.
fn expiry(shared: &Shared, body: &Map<String, Value>) -> Result<DateTime<Utc>, Box<Response>> {
    let now = shared.now();
    let Some(at) = text(body, "expirationDateTime").as_deref().and_then(parse_time) else {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "expirationDateTime is missing or not a date.",
        )));
    };
    if at <= now || at > now + chrono::Duration::minutes(MAX_MINUTES) {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            &format!("Subscription expiration can only be {MAX_MINUTES} minutes in the future."),
        )));
    }
    Ok(at)
}

/// POSTs `?validationToken=…` to `url`; true if the token came back as
/// `text/plain` with 200 within 10 seconds.
async fn validate(shared: &Shared, url: &str) -> bool {
    let token = format!(
        "Validation: Testing client application reachability for subscription Request-Id: {}",
        uuid::Uuid::new_v4()
    );
    shared.subscriptions.lock().expect("lock").validations += 1;
    let Ok(mut target) = reqwest::Url::parse(url) else {
        return false;
    };
    target.query_pairs_mut().append_pair("validationToken", &token);
    let answer = shared
        .client
        .post(target)
        .header("content-type", "text/plain; charset=utf-8")
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let Ok(answer) = answer else { return false };
    let plain = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    answer.status() == reqwest::StatusCode::OK && plain && answer.text().await.is_ok_and(|t| t == token)
}

fn lapsed(shared: &Shared) {
    let now = shared.now();
    shared
        .subscriptions
        .lock()
        .expect("lock")
        .subs
        .retain(|_, s| s.expires > now);
}

/// `/v1.0/subscriptions[/{id}]`.
pub(crate) async fn handle(shared: &Arc<Shared>, method: &Method, rest: &[&str], body: &[u8]) -> Response {
    lapsed(shared);
    let parsed = || -> Result<Map<String, Value>, Box<Response>> {
        serde_json::from_slice(body).map_err(|e| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                "RequestBodyRead",
                &format!("Invalid JSON body: {e}"),
            ))
        })
    };
    match (method.clone(), rest) {
        (Method::GET, []) => {
            let subs = shared.subscriptions.lock().expect("lock");
            let value: Vec<Value> = subs.subs.values().map(|s| Value::Object(s.body.clone())).collect();
            reply(StatusCode::OK, json!({ "value": value }))
        }
        (Method::POST, []) => match parsed() {
            Ok(body) => create(shared, body).await,
            Err(r) => *r,
        },
        (Method::PATCH, [id]) => match parsed() {
            Ok(body) => renew(shared, id, &body),
            Err(r) => *r,
        },
        (Method::DELETE, [id]) => match shared.subscriptions.lock().expect("lock").subs.remove(*id) {
            Some(_) => StatusCode::NO_CONTENT.into_response(),
            None => not_found(id),
        },
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "ErrorInvalidRequest",
            "Method not allowed.",
        ),
    }
}

fn not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!("The object was not found: subscription {id}."),
    )
}

async fn create(shared: &Arc<Shared>, mut body: Map<String, Value>) -> Response {
    let expires = match expiry(shared, &body) {
        Ok(at) => at,
        Err(r) => return *r,
    };
    let (Some(change_type), Some(url), Some(resource)) = (
        text(&body, "changeType"),
        text(&body, "notificationUrl"),
        text(&body, "resource"),
    ) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "changeType, notificationUrl and resource are required.",
        );
    };
    if change_type
        .split(',')
        .any(|c| !matches!(c.trim(), "created" | "updated" | "deleted"))
    {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest", "Unsupported changeType.");
    }
    if text(&body, "clientState").is_some_and(|c| c.chars().count() > 128) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "clientState must be at most 128 characters.",
        );
    }
    let Some(folder) = watched_folder(shared, &resource) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            &format!("Resource '{resource}' is not supported or does not exist."),
        );
    };
    let mut urls = vec![url];
    if let Some(lifecycle) = text(&body, "lifecycleNotificationUrl").filter(|l| !urls.contains(l)) {
        urls.push(lifecycle);
    }
    for url in &urls {
        if !validate(shared, url).await {
            return error(
                StatusCode::BAD_REQUEST,
                "ValidationError",
                "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
            );
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    body.insert("id".into(), json!(id));
    body.insert("applicationId".into(), json!(APPLICATION_ID));
    body.insert("expirationDateTime".into(), json!(graph_time(expires)));
    body.insert("latestSupportedTlsVersion".into(), json!("v1_2"));
    body.insert("notificationContentType".into(), json!("application/json"));
    let mut shown = body.clone();
    shown.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#subscriptions/$entity", shared.base)),
    );
    shared
        .subscriptions
        .lock()
        .expect("lock")
        .subs
        .insert(id, Sub { body, folder, expires });
    reply(StatusCode::CREATED, Value::Object(shown))
}

fn renew(shared: &Shared, id: &str, patch: &Map<String, Value>) -> Response {
    let expires = match expiry(shared, patch) {
        Ok(at) => at,
        Err(r) => return *r,
    };
    let mut subs = shared.subscriptions.lock().expect("lock");
    let Some(sub) = subs.subs.get_mut(id) else {
        return not_found(id);
    };
    sub.expires = expires;
    sub.body.insert("expirationDateTime".into(), json!(graph_time(expires)));
    reply(StatusCode::OK, Value::Object(sub.body.clone()))
}

/// Sends `body` to `url` and records the delivery.
pub(crate) async fn deliver(shared: &Shared, url: String, body: Value) -> Option<u16> {
    let status = shared
        .client
        .post(&url)
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16());
    GraphStats::bump(&shared.stats.notifications);
    shared
        .subscriptions
        .lock()
        .expect("lock")
        .deliveries
        .push(Delivery { url, body, status });
    status
}

/// The change notifications for a write to `item` of `folder`, one per
/// live subscription of that folder that asked for `change`.
pub(crate) fn notifications_for(shared: &Shared, folder: &str, item: &str, change: &str) -> Vec<(String, Value)> {
    let now = shared.now();
    let subs = shared.subscriptions.lock().expect("lock");
    subs.subs
        .values()
        .filter(|s| s.folder == folder && s.expires > now)
        .filter(|s| text(&s.body, "changeType").is_some_and(|c| c.split(',').any(|c| c.trim() == change)))
        .map(|s| {
            let resource = text(&s.body, "resource").unwrap_or_default();
            let (odata_type, changed) = if resource.ends_with("/contacts") {
                ("#Microsoft.Graph.Contact", format!("{resource}/{item}"))
            } else if resource.ends_with("/events") {
                ("#Microsoft.Graph.Event", format!("{resource}/{item}"))
            } else if resource.ends_with("/messages") {
                // A message is named under its mailbox, not its folder
                // (https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#change-notification-example:
                // `Users/{id}/Messages/{id}`; resourceData of an Outlook
                // resource, https://learn.microsoft.com/en-us/graph/api/resources/resourcedata).
                let user = resource.split('/').take(2).collect::<Vec<_>>().join("/");
                ("#Microsoft.Graph.Message", format!("{user}/messages/{item}"))
            } else {
                ("#Microsoft.Graph.TodoTask", format!("{resource}/{item}"))
            };
            let notification = json!({
                "subscriptionId": s.body["id"],
                "subscriptionExpirationDateTime": s.body["expirationDateTime"],
                "clientState": s.body.get("clientState").cloned().unwrap_or(Value::Null),
                "changeType": change,
                "resource": changed,
                "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
                "resourceData": {
                    "@odata.type": odata_type,
                    "@odata.id": changed,
                    "id": item,
                },
            });
            (
                text(&s.body, "notificationUrl").unwrap_or_default(),
                json!({ "value": [notification] }),
            )
        })
        .collect()
}

/// A lifecycle notification for subscription `id`, sent to its
/// `lifecycleNotificationUrl` (else its `notificationUrl`).
pub(crate) fn lifecycle_for(shared: &Shared, id: &str, event: &str) -> Option<(String, Value)> {
    let mut subs = shared.subscriptions.lock().expect("lock");
    let sub = subs.subs.get(id)?.clone();
    if event == "subscriptionRemoved" {
        subs.subs.remove(id);
    }
    let url = text(&sub.body, "lifecycleNotificationUrl").or_else(|| text(&sub.body, "notificationUrl"))?;
    let notification = json!({
        "subscriptionId": id,
        "subscriptionExpirationDateTime": sub.body["expirationDateTime"],
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "clientState": sub.body.get("clientState").cloned().unwrap_or(Value::Null),
        "lifecycleEvent": event,
    });
    Some((url, json!({ "value": [notification] })))
}
