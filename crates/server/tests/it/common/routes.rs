//! The table of every authenticated route, shared by the matrix tests and
//! the OpenAPI test. Adding a route to the router without adding it here
//! fails `openapi_lists_exactly_the_served_routes`.

use axum::http::Method;
use serde_json::{Value, json};

/// What the `{id}` of a route names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum On {
    /// No id: a collection or a singleton (`/me`, `/changes`).
    Nothing,
    User,
    Account,
    Contact,
    Lead,
    Activity,
    Opportunity,
    Case,
}

impl On {
    /// The route that reads the record back.
    pub fn read_path(self, id: &str) -> Option<String> {
        let collection = match self {
            On::Nothing => return None,
            On::User => "users",
            On::Account => "accounts",
            On::Contact => "contacts",
            On::Lead => "leads",
            On::Activity => "activities",
            On::Opportunity => "opportunities",
            On::Case => "cases",
        };
        Some(format!("/api/v1/{collection}/{id}"))
    }
}

/// A body with a value of the wrong type, and the field the 400 must name.
pub type BadBody = (fn() -> Value, &'static str);

pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub on: On,
    /// A body the route accepts (None: the route takes no body).
    pub valid: Option<fn() -> Value>,
    /// A body with a value of the wrong type, and the field the 400 must name.
    pub bad: Option<BadBody>,
    /// Needs the version read (If-Match / `version`): 428 without, 409 when stale.
    pub versioned: bool,
    /// Changes the record named by `{id}`: 403 for a readable record of someone else.
    pub writes: bool,
}

impl Route {
    pub fn path_for(&self, id: &str) -> String {
        // The /sync routes name a profile and a record instead of `{id}`.
        self.path
            .replace("{id}", id)
            .replace("{name}", "alice")
            .replace("{record_id}", id)
    }
    pub fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

const fn read(path: &'static str, on: On) -> Route {
    Route {
        method: Method::GET,
        path,
        on,
        valid: None,
        bad: None,
        versioned: false,
        writes: false,
    }
}

fn entity_routes(
    out: &mut Vec<Route>,
    collection: &'static str,
    item: &'static str,
    on: On,
    valid: fn() -> Value,
    bad: BadBody,
) {
    out.push(read(collection, On::Nothing));
    out.push(Route {
        method: Method::POST,
        path: collection,
        on: On::Nothing,
        valid: Some(valid),
        bad: Some(bad),
        versioned: false,
        writes: false,
    });
    out.push(read(item, on));
    out.push(Route {
        method: Method::PUT,
        path: item,
        on,
        valid: Some(valid),
        bad: Some(bad),
        versioned: true,
        writes: true,
    });
    out.push(Route {
        method: Method::DELETE,
        path: item,
        on,
        valid: None,
        bad: None,
        versioned: true,
        writes: true,
    });
}

/// Every route behind the bearer token.
pub fn authenticated_routes() -> Vec<Route> {
    let mut r = vec![
        read("/api/v1/users", On::Nothing),
        Route {
            method: Method::POST,
            path: "/api/v1/users",
            on: On::Nothing,
            valid: Some(|| json!({"name": "Carol", "email": "carol@example.org"})),
            bad: Some((|| json!({"name": 5}), "name")),
            versioned: false,
            writes: false,
        },
        read("/api/v1/users/{id}", On::User),
        Route {
            method: Method::PUT,
            path: "/api/v1/users/{id}",
            on: On::User,
            valid: Some(|| json!({"name": "Renamed", "role": "user", "active": true})),
            bad: Some((|| json!({"name": "x", "role": "boss"}), "role")),
            versioned: true,
            writes: true,
        },
        Route {
            method: Method::DELETE,
            path: "/api/v1/users/{id}",
            on: On::User,
            valid: None,
            bad: None,
            versioned: true,
            writes: true,
        },
        Route {
            method: Method::POST,
            path: "/api/v1/users/{id}/token",
            on: On::User,
            valid: None,
            bad: None,
            versioned: false,
            writes: true,
        },
        read("/api/v1/me", On::Nothing),
        read("/api/v1/changes", On::Nothing),
    ];
    entity_routes(
        &mut r,
        "/api/v1/accounts",
        "/api/v1/accounts/{id}",
        On::Account,
        || json!({"name": "Acme"}),
        (|| json!({"name": "Acme", "shared": "yes"}), "shared"),
    );
    entity_routes(
        &mut r,
        "/api/v1/contacts",
        "/api/v1/contacts/{id}",
        On::Contact,
        || json!({"last_name": "Doe"}),
        (
            || json!({"last_name": "Doe", "business_address": {"city": 7}}),
            "business_address.city",
        ),
    );
    entity_routes(
        &mut r,
        "/api/v1/leads",
        "/api/v1/leads/{id}",
        On::Lead,
        || json!({"last_name": "Prospect"}),
        (|| json!({"last_name": "Prospect", "status": "hot"}), "status"),
    );
    entity_routes(
        &mut r,
        "/api/v1/activities",
        "/api/v1/activities/{id}",
        On::Activity,
        || json!({"kind": "task", "subject": "Call back"}),
        (
            || json!({"kind": "task", "subject": "Call back", "priority": "high"}),
            "priority",
        ),
    );
    entity_routes(
        &mut r,
        "/api/v1/opportunities",
        "/api/v1/opportunities/{id}",
        On::Opportunity,
        || json!({"title": "Renewal 2027", "estimated_value": 12000, "currency": "EUR"}),
        (|| json!({"title": "Renewal", "state": "pending"}), "state"),
    );
    entity_routes(
        &mut r,
        "/api/v1/cases",
        "/api/v1/cases/{id}",
        On::Case,
        || json!({"title": "Invoice wrong", "priority": "high"}),
        (|| json!({"title": "Invoice wrong", "priority": 3}), "priority"),
    );
    r.extend([
        read("/api/v1/activities/{id}/participants", On::Activity),
        Route {
            method: Method::PUT,
            path: "/api/v1/activities/{id}/participants",
            on: On::Activity,
            valid: Some(|| json!({"participants": []})),
            bad: Some((
                || json!({"participants": [{"party": {"kind": "robot"}}]}),
                "participants[0].party.kind",
            )),
            versioned: true,
            writes: true,
        },
        read("/api/v1/activities/{id}/journal", On::Activity),
        Route {
            method: Method::POST,
            path: "/api/v1/activities/{id}/journal",
            on: On::Activity,
            valid: Some(|| json!({"text": "Called, no answer"})),
            bad: Some((|| json!({"text": ["a"]}), "text")),
            versioned: false,
            writes: true,
        },
        // R-TRACK-3: changes the activity (its regarding), so it is a versioned write of it.
        Route {
            method: Method::POST,
            path: "/api/v1/activities/{id}/convert",
            on: On::Activity,
            valid: Some(|| json!({"to": "case"})),
            bad: Some((|| json!({"to": "deal"}), "to")),
            versioned: true,
            writes: true,
        },
        read("/api/v1/contacts/{id}/journal", On::Contact),
        Route {
            method: Method::POST,
            path: "/api/v1/contacts/{id}/journal",
            on: On::Contact,
            valid: Some(|| json!({"text": "Met at the fair"})),
            bad: Some((|| json!({"text": ["a"]}), "text")),
            versioned: false,
            writes: true,
        },
        // The flag is the caller's own: reading the contact is enough (not a write of it).
        Route {
            method: Method::PUT,
            path: "/api/v1/contacts/{id}/synchronize",
            on: On::Contact,
            valid: None,
            bad: None,
            versioned: false,
            writes: false,
        },
        Route {
            method: Method::DELETE,
            path: "/api/v1/contacts/{id}/synchronize",
            on: On::Contact,
            valid: None,
            bad: None,
            versioned: false,
            writes: false,
        },
    ]);
    // The operator surface of sync (R-OPS-1/2): profiles and conflicts, not records.
    let sync_post = |path: &'static str, valid: fn() -> Value| Route {
        method: Method::POST,
        path,
        on: On::Nothing,
        valid: Some(valid),
        bad: None,
        versioned: false,
        writes: false,
    };
    r.extend([
        read("/api/v1/sync/status", On::Nothing),
        read("/api/v1/sync/profiles/{name}/explain/{record_id}", On::Nothing),
        read("/api/v1/sync/profiles/{name}/duplicates", On::Nothing),
        read("/api/v1/sync/conflicts", On::Nothing),
        sync_post(
            "/api/v1/sync/profiles/{name}/reset",
            || json!({"collection": "contacts"}),
        ),
        sync_post("/api/v1/sync/profiles/{name}/run", || json!({"dry_run": true})),
        sync_post("/api/v1/sync/conflicts/{id}/resolve", || json!({"take": "crm"})),
        sync_post(
            "/api/v1/sync/profiles/{name}/duplicates/link",
            || json!({"collection": "contacts", "record_id": "some-id", "href": "x.vcf"}),
        ),
        sync_post(
            "/api/v1/sync/profiles/{name}/duplicates/keep-apart",
            || json!({"collection": "contacts", "member": "some-id"}),
        ),
        sync_post("/api/v1/sync/profiles/{name}/quarantine/retry", || json!({})),
        sync_post(
            "/api/v1/sync/profiles/{name}/untrack",
            || json!({"record_id": "some-id", "delete_in_crm": false}),
        ),
    ]);
    // Stored profiles (server mode): named, not records with versions of the table's kind.
    let profile_write = |method: Method, path: &'static str, body: bool| Route {
        method,
        path,
        on: On::Nothing,
        valid: body.then_some(profile_body as fn() -> Value),
        bad: body.then_some((bad_profile_body as fn() -> Value, "name")),
        versioned: false,
        writes: false,
    };
    r.extend([
        read("/api/v1/profiles", On::Nothing),
        profile_write(Method::POST, "/api/v1/profiles", true),
        read("/api/v1/profiles/{name}", On::Nothing),
        read("/api/v1/profiles/{name}/collections", On::Nothing),
        profile_write(Method::PUT, "/api/v1/profiles/{name}", true),
        profile_write(Method::DELETE, "/api/v1/profiles/{name}", false),
        profile_write(Method::POST, "/api/v1/profiles/{name}/push", false),
        profile_write(Method::POST, "/api/v1/profiles/{name}/push-token", false),
    ]);
    r
}

fn bad_profile_body() -> Value {
    json!({"name": 5, "connector": {"kind": "dav"}})
}

/// A profile body the API accepts (a DAV profile without credentials).
pub fn profile_body() -> Value {
    json!({
        "name": "alice",
        "connector": {"kind": "dav", "url": "https://dav.example.org/", "username": "alice"},
    })
}

/// Routes anyone may call.
pub fn public_routes() -> Vec<Route> {
    vec![
        read("/healthz", On::Nothing),
        read("/api/v1/openapi.json", On::Nothing),
        // The push token in the path is the credential.
        Route {
            method: Method::POST,
            path: "/api/v1/push/{token}",
            on: On::Nothing,
            valid: None,
            bad: None,
            versioned: false,
            writes: false,
        },
    ]
}
