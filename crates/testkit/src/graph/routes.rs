//! HTTP of the Graph test server: the v1.0 routes crmsync uses, answered
//! from [`Store`] with the status codes and error bodies Microsoft documents
//! (https://learn.microsoft.com/en-us/graph/errors).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::Shared;
use super::delta::{self, Round};
use super::store::{Resource, WriteError};
use super::switches::GraphStats;

pub(crate) fn reply(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Graph's error body: https://learn.microsoft.com/en-us/graph/errors#json-representation
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    reply(status, json!({ "error": { "code": code, "message": message } }))
}

/// Client credentials token request, answered as in
/// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow#successful-response-1
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    if tenant != super::GraphServer::TENANT {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."}),
        );
    }
    let client_id = super::GraphServer::CLIENT_ID;
    if get("client_id") == Some(client_id) {
        match get("grant_type") {
            Some("urn:ietf:params:oauth:grant-type:device_code") => {
                return super::identity::device_code_grant(&shared, &form);
            }
            Some("refresh_token") => return super::identity::refresh_grant(&shared, &form),
            _ => {}
        }
    }
    let refused = |description: &str| {
        reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": description}),
        )
    };
    if get("grant_type") != Some("client_credentials") || get("client_id") != Some(client_id) {
        return refused("AADSTS700016: Application not found in the directory.");
    }
    // https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow#second-case-access-token-request-with-a-certificate
    if get("client_assertion_type") == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
        let token_url = format!("{}/{tenant}/oauth2/v2.0/token", shared.base);
        let assertion = get("client_assertion").unwrap_or_default();
        if let Err(why) = super::assertion::check(assertion, client_id, &token_url, shared.now()) {
            return refused(why);
        }
    } else if get("client_secret") != Some(super::GraphServer::CLIENT_SECRET) {
        return refused("AADSTS7000215: Invalid client secret provided.");
    }
    if get("scope") != Some("https://graph.microsoft.com/.default") {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_scope", "error_description": "AADSTS1002012: The provided value for scope is not valid."}),
        );
    }
    GraphStats::bump(&shared.stats.tokens_issued);
    let n = shared.stats.tokens_issued.load(std::sync::atomic::Ordering::SeqCst);
    let access = format!("eyJ0eXAiOiJKV1QiLCJub25jZSI6Im{n:08}");
    shared.tokens.lock().expect("lock").insert(access.clone());
    let lifetime = shared.switches.token_lifetime();
    reply(
        StatusCode::OK,
        json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": access}),
    )
}

/// Device authorization request of a delegated sign-in (`identity.rs`).
pub(crate) async fn device_code(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if tenant != super::GraphServer::TENANT {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."}),
        );
    }
    super::identity::device_code(&shared, &form)
}

/// Counts a request as in flight for as long as it lives.
struct InFlight<'a>(&'a GraphStats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

/// One HTTP request to `/v1.0` (a `$batch` is one, however many it holds).
pub(crate) async fn graph(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.stats.enter();
    let _in_flight = InFlight(&shared.stats);
    if method == Method::POST && uri.path() == "/v1.0/$batch" {
        GraphStats::bump(&shared.stats.batches);
    }
    let response = answer(shared.clone(), method, uri, headers, body).await;
    if shared.switches.take_lost_reply() {
        GraphStats::bump(&shared.stats.lost_replies);
        return lose(response);
    }
    response
}

/// `response` with its body cut off after the headers: the client sees the
/// connection end before the reply did, as when a reply is lost on the way.
/// Whatever the request did stays done.
fn lose(response: Response) -> Response {
    let (parts, _) = response.into_parts();
    let cut = futures_util::stream::once(async { Err::<Bytes, _>(std::io::Error::other("reply lost")) });
    Response::from_parts(parts, axum::body::Body::from_stream(cut))
}

/// A request to `/v1.0/...`, alone or inside a `$batch`.
pub(crate) async fn answer(shared: Arc<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    GraphStats::bump(&shared.stats.requests);
    shared.stats.log.lock().expect("lock").push(format!(
        "{method} {}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("")
    ));
    shared.switches.wait_while_held().await;

    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !header("prefer").contains("IdType=\"ImmutableId\"") {
        GraphStats::bump(&shared.stats.without_immutable_id);
    }
    let bearer = header("authorization").strip_prefix("Bearer ").unwrap_or("");
    if !shared.tokens.lock().expect("lock").contains(bearer) {
        return error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid.",
        );
    }
    if method == Method::POST && uri.path() == "/v1.0/$batch" {
        return Box::pin(super::batch::handle(&shared, &headers, &body)).await;
    }
    let response = route(&shared, &method, &uri, &headers, &body).await;
    if response.status().is_success() && shared.switches.take_failure_after_work() {
        GraphStats::bump(&shared.stats.failed_after_work);
        // What Graph answers when the backend failed midway; whether the
        // write happened is unknown to the client (here it did).
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "An internal server error occurred. The operation failed.",
        );
    }
    response
}

/// Answers a request that got past authentication.
async fn route(shared: &Arc<Shared>, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    // https://learn.microsoft.com/en-us/graph/throttling#sample-response
    if let Some((status, after)) = shared.switches.take_fault() {
        let (status, code, counter) = if status == 429 {
            (
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                &shared.stats.throttled,
            )
        } else {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                &shared.stats.unavailable,
            )
        };
        GraphStats::bump(counter);
        let mut response = error(status, code, "Please retry after");
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, after.to_string().parse().expect("digits"));
        return response;
    }

    let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    let param = |k: &str| query.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    if let ["v1.0", "subscriptions", rest @ ..] = segments.as_slice() {
        return super::subscriptions::handle(shared, method, rest, body).await;
    }
    let Some(["v1.0", "users", mailbox, rest @ ..]) = Some(segments.as_slice()) else {
        return error(
            StatusCode::NOT_FOUND,
            "BadRequest",
            "Resource not found for the segment.",
        );
    };
    if !mailbox.eq_ignore_ascii_case(super::GraphServer::MAILBOX) {
        return error(
            StatusCode::NOT_FOUND,
            "ErrorInvalidUser",
            &format!("The requested user '{mailbox}' is invalid."),
        );
    }
    let request = Request {
        shared,
        method,
        if_match: headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()),
        max_page: header("prefer")
            .split(',')
            .find_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
            .and_then(|n| n.parse().ok()),
        expand: param("$expand").unwrap_or(""),
        select: param("$select"),
        body,
        mailbox,
    };
    match rest {
        // Mail (R-GRAPH-29, messages.rs).
        ["mailFolders"] => request.folders(Resource::Messages),
        ["mailFolders", "inbox"] => super::messages::inbox(shared),
        ["mailFolders", f, "messages", "delta"] => request.delta(Resource::Messages, f, &query),
        ["messages", id, "$value"] => super::messages::mime(shared, id),
        ["messages", id] => {
            let folder = shared.store.lock().expect("lock").folder_of_message(id);
            request.item(folder.as_deref().unwrap_or("-"), id)
        }
        ["contactFolders"] => request.folders(Resource::Contacts),
        ["calendars"] => request.folders(Resource::Events),
        ["todo", "lists"] => request.folders(Resource::Tasks),
        ["contactFolders", f, "contacts", "delta"] => request.delta(Resource::Contacts, f, &query),
        ["calendars", f, "calendarView", "delta"] => request.delta(Resource::Events, f, &query),
        ["todo", "lists", f, "tasks", "delta"] => request.delta(Resource::Tasks, f, &query),
        ["contactFolders", f, "contacts"] => request.collection(Resource::Contacts, f, param("$filter")),
        ["calendars", f, "events"] => request.collection(Resource::Events, f, param("$filter")),
        ["todo", "lists", f, "tasks"] => request.collection(Resource::Tasks, f, param("$filter")),
        ["calendars", f, "events", id, "instances"] => {
            request.instances(f, id, param("startDateTime"), param("endDateTime"))
        }
        ["contactFolders", f, "contacts", id] | ["calendars", f, "events", id] | ["todo", "lists", f, "tasks", id] => {
            request.item(f, id)
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "BadRequest",
            "Resource not found for the segment.",
        ),
    }
}

struct Request<'a> {
    shared: &'a Arc<Shared>,
    method: &'a Method,
    if_match: Option<&'a str>,
    max_page: Option<usize>,
    expand: &'a str,
    select: Option<&'a str>,
    body: &'a [u8],
    mailbox: &'a str,
}

impl Request<'_> {
    fn json_body(&self) -> Result<Map<String, Value>, Box<Response>> {
        serde_json::from_slice(self.body).map_err(|e| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                "RequestBodyRead",
                &format!("Invalid JSON body: {e}"),
            ))
        })
    }

    /// Extended properties and open extensions appear only when `$expand`ed,
    /// as in https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-get
    fn shown(&self, mut item: Value) -> Value {
        if let Some(obj) = item.as_object_mut() {
            for key in ["singleValueExtendedProperties", "extensions"] {
                if !self.expand.contains(key) {
                    obj.remove(key);
                }
            }
        }
        item
    }

    /// A series master's `cancelledOccurrences` appear only when `$select`ed
    /// and its `exceptionOccurrences` only when `$expand`ed; a `$select`
    /// keeps the properties it names (and `id`, `@odata.etag`), as
    /// https://learn.microsoft.com/en-us/graph/api/resources/event documents.
    fn selected(&self, mut item: Value) -> Value {
        let Some(obj) = item.as_object_mut() else { return item };
        let named = |list: Option<&str>, key: &str| list.is_some_and(|l| l.split(',').any(|k| k.trim() == key));
        if !named(self.select, "cancelledOccurrences") {
            obj.remove("cancelledOccurrences");
        }
        if !named(Some(self.expand), "exceptionOccurrences") {
            obj.remove("exceptionOccurrences");
        }
        if let Some(select) = self.select {
            obj.retain(|k, _| k == "id" || k == "@odata.etag" || k == "exceptionOccurrences" || named(Some(select), k));
        }
        item
    }

    /// `GET /events/{id}/instances?startDateTime&endDateTime`
    /// (https://learn.microsoft.com/en-us/graph/api/event-list-instances): both
    /// bounds are required; one page holds every instance.
    fn instances(&self, folder: &str, id: &str, from: Option<&str>, to: Option<&str>) -> Response {
        let day = |s: Option<&str>| {
            s.and_then(|s| s.get(..10))
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        };
        let (Some(from), Some(to)) = (day(from), day(to)) else {
            return error(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidParameter",
                "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
            );
        };
        if *self.method != Method::GET {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "ErrorInvalidRequest",
                "Method not allowed.",
            );
        }
        let mut store = self.shared.store.lock().expect("lock");
        match store.instances(folder, id, from, to) {
            Ok(rows) => {
                if let Some(patch) = self.shared.switches.take_instance_edit() {
                    for row in &rows {
                        let id = row["id"].as_str().unwrap_or_default();
                        // Cannot fail: the instance was just listed.
                        let _ = store.update(folder, id, None, patch.clone());
                    }
                }
                reply(StatusCode::OK, json!({ "value": rows }))
            }
            Err(WriteError::Unsupported) => unsupported_series(),
            Err(_) => error(
                StatusCode::NOT_FOUND,
                "ErrorItemNotFound",
                "The specified object was not found in the store.",
            ),
        }
    }

    fn folders(&self, resource: Resource) -> Response {
        let mut store = self.shared.store.lock().expect("lock");
        match *self.method {
            Method::GET => reply(StatusCode::OK, json!({ "value": store.folders_of(resource) })),
            Method::POST => {
                let body = match self.json_body() {
                    Ok(b) => b,
                    Err(r) => return *r,
                };
                let Some(name) = body.get(resource.name_key()).and_then(Value::as_str) else {
                    return error(StatusCode::BAD_REQUEST, "ErrorInvalidRequest", "A folder needs a name.");
                };
                reply(StatusCode::CREATED, store.create_folder(resource, name))
            }
            _ => error(
                StatusCode::METHOD_NOT_ALLOWED,
                "ErrorInvalidRequest",
                "Method not allowed.",
            ),
        }
    }

    fn collection(&self, resource: Resource, folder: &str, filter: Option<&str>) -> Response {
        let mut store = self.shared.store.lock().expect("lock");
        let Some(f) = store.folder(folder, resource) else {
            return error(
                StatusCode::NOT_FOUND,
                "ErrorItemNotFound",
                "The specified object was not found in the store.",
            );
        };
        match *self.method {
            Method::GET => {
                let rows: Vec<Value> = match filter.map(property_filter) {
                    Some(Some((prop, value))) => store.find_by_property(folder, &prop, &value),
                    Some(None) => {
                        return error(
                            StatusCode::BAD_REQUEST,
                            "ErrorInvalidUrlQueryFilter",
                            "Unsupported filter.",
                        );
                    }
                    None => f
                        .items
                        .values()
                        .filter(|i| !i.removed)
                        .map(|i| Value::Object(i.body.clone()))
                        .collect(),
                };
                let rows: Vec<Value> = rows.into_iter().map(|r| self.shown(r)).collect();
                reply(StatusCode::OK, json!({ "value": rows }))
            }
            Method::POST => {
                let body = match self.json_body() {
                    Ok(b) => b,
                    Err(r) => return *r,
                };
                match store.create(folder, body) {
                    Some(item) => {
                        Shared::announce(self.shared, folder, item["id"].as_str().unwrap_or_default(), "created");
                        reply(StatusCode::CREATED, item)
                    }
                    None => error(StatusCode::NOT_FOUND, "ErrorItemNotFound", "The folder was not found."),
                }
            }
            _ => error(
                StatusCode::METHOD_NOT_ALLOWED,
                "ErrorInvalidRequest",
                "Method not allowed.",
            ),
        }
    }

    fn item(&self, folder: &str, id: &str) -> Response {
        let mut store = self.shared.store.lock().expect("lock");
        let outcome = match *self.method {
            Method::GET => match store.with_occurrences(folder, id) {
                Some(item) => return reply(StatusCode::OK, self.selected(self.shown(item))),
                None => Err(WriteError::NotFound),
            },
            Method::PATCH => match self.json_body() {
                Ok(patch) => store.update(folder, id, self.if_match, patch).map(|item| {
                    Shared::announce(self.shared, folder, id, "updated");
                    reply(StatusCode::OK, self.shown(item))
                }),
                Err(r) => return *r,
            },
            Method::DELETE => store.delete(folder, id, self.if_match).map(|()| {
                Shared::announce(self.shared, folder, id, "deleted");
                StatusCode::NO_CONTENT.into_response()
            }),
            _ => {
                return error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "ErrorInvalidRequest",
                    "Method not allowed.",
                );
            }
        };
        match outcome {
            Ok(response) => response,
            Err(WriteError::NotFound) => error(
                StatusCode::NOT_FOUND,
                "ErrorItemNotFound",
                "The specified object was not found in the store.",
            ),
            Err(WriteError::Unsupported) => unsupported_series(),
            Err(WriteError::Conflict) => {
                GraphStats::bump(&self.shared.stats.precondition_failed);
                error(
                    StatusCode::PRECONDITION_FAILED,
                    "ErrorIrresolvableConflict",
                    "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
                )
            }
        }
    }

    fn delta(&self, resource: Resource, folder: &str, query: &[(String, String)]) -> Response {
        let param = |k: &str| query.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let store = self.shared.store.lock().expect("lock");
        let Some(f) = store.folder(folder, resource) else {
            return error(
                StatusCode::NOT_FOUND,
                "ErrorItemNotFound",
                "The specified object was not found in the store.",
            );
        };
        let generation = self.shared.switches.generation();
        let round = match param("$skiptoken").or_else(|| param("$deltatoken")) {
            Some(token) => match Round::parse(token, store.seq) {
                Some(r) if r.generation == generation => r,
                Some(_) => {
                    // https://learn.microsoft.com/en-us/graph/delta-query-overview#synchronization-reset
                    GraphStats::bump(&self.shared.stats.gone);
                    return error(
                        StatusCode::GONE,
                        self.shared.switches.gone_code(),
                        "The sync state generation is not found.",
                    );
                }
                None => return error(StatusCode::BAD_REQUEST, "badRequest", "Invalid state token."),
            },
            None => {
                let window = match resource {
                    Resource::Events => {
                        let at = |k| param(k).and_then(delta::parse_graph_time);
                        match (at("startDateTime"), at("endDateTime")) {
                            (Some(a), Some(b)) => Some((a, b)),
                            _ => {
                                return error(
                                    StatusCode::BAD_REQUEST,
                                    "ErrorInvalidParameter",
                                    "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
                                );
                            }
                        }
                    }
                    _ => None,
                };
                Round {
                    generation,
                    since: 0,
                    until: store.seq,
                    after: None,
                    window,
                    empty_next: self.shared.switches.empty_pages(),
                }
            }
        };
        let path = match resource {
            Resource::Contacts => format!("contactFolders/{folder}/contacts/delta"),
            Resource::Events => format!("calendars/{folder}/calendarView/delta"),
            Resource::Tasks => format!("todo/lists/{folder}/tasks/delta"),
            Resource::Messages => format!("mailFolders/{folder}/messages/delta"),
        };
        let link = |kind: &str, token: String| {
            format!(
                "{}/v1.0/users/{}/{path}?${kind}={token}",
                self.shared.base, self.mailbox
            )
        };
        let (rows, next) = if round.empty_next {
            (Vec::new(), Some(round.after.clone()))
        } else {
            let size = self.shared.switches.rows_per_page(self.max_page);
            let (rows, next) = delta::page(f, &round, size);
            (rows, next.map(Some))
        };
        let rows: Vec<Value> = rows.into_iter().map(|r| self.shown(r)).collect();
        let entity = resource.odata_type().trim_start_matches("#microsoft.graph.");
        let mut page = json!({
            "@odata.context": format!("{}/v1.0/$metadata#Collection({entity})", self.shared.base),
            "value": rows,
        });
        match next {
            Some(after) => {
                let next = Round {
                    after,
                    empty_next: !round.empty_next && self.shared.switches.empty_pages(),
                    ..round
                };
                page["@odata.nextLink"] = json!(link("skiptoken", next.skip_token()));
            }
            None => page["@odata.deltaLink"] = json!(link("deltatoken", round.delta_token())),
        }
        reply(StatusCode::OK, page)
    }
}

/// Reads `singleValueExtendedProperties/Any(ep: ep/id eq 'ID' and ep/value eq 'VALUE')`
/// (https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-get#get-resource-instances-filtered-by-a-single-value-extended-property).
/// The test server's own limit (module `series`), never Graph's answer.
fn unsupported_series() -> Response {
    error(
        StatusCode::NOT_IMPLEMENTED,
        "TestServerUnsupported",
        "The test server expands daily, weekly and absolute monthly/yearly patterns only.",
    )
}

fn property_filter(filter: &str) -> Option<(String, String)> {
    let rest = filter.trim().strip_prefix("singleValueExtendedProperties/")?;
    let quoted: Vec<&str> = rest.split('\'').collect();
    match quoted.as_slice() {
        [_, id, _, value, _] => Some((id.to_string(), value.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_property_filter_is_read() {
        let f = "singleValueExtendedProperties/Any(ep: ep/id eq 'String {66f5a359-4659-4830-9070-00040ec6ac6e} Name Color' and ep/value eq 'Green')";
        assert_eq!(
            property_filter(f),
            Some((
                "String {66f5a359-4659-4830-9070-00040ec6ac6e} Name Color".into(),
                "Green".into()
            ))
        );
        assert_eq!(property_filter("displayName eq 'x'"), None);
    }
}
