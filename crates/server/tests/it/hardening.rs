//! Issue 12 (server side) and issue 18's server defects: input the store
//! cannot keep, names that forge log lines, one body limit, JSON for every
//! error, the webhook's rate limit, one body decoder and unique user names.
//! Where the store is involved the test runs on SQLite and PostgreSQL.

use crate::common;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine as _;
use common::service::{server_mode, server_mode_allowing};
use common::{Reply, World};
use crmsync_model::ContactFields;
use crmsync_model::contact::MAX_PHOTO_LEN;
use crmsync_testkit::{Dovecot, GraphServer};
use serde_json::{Value, json};

async fn contact_count(w: &World) -> usize {
    let r = w
        .call(Method::GET, "/api/v1/contacts?limit=500", Some(&w.admin.token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    r.json["items"].as_array().unwrap().len()
}

fn assert_json_error(r: &Reply, status: StatusCode, what: &str) {
    assert_eq!(r.status, status, "{what}: {:?}", r.json);
    assert!(
        r.json["error"]["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{what}: the error is JSON (R-API-1): {:?}",
        r.json
    );
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/json", "{what}");
}

// Issue 12 item 4: on PostgreSQL these answered 503 "retry later" (the
// database refused NUL), on SQLite they were stored or looked up.
on_both!(r_api_14_nul_is_refused_the_same_way_on_both_backends, |w| {
    let before = contact_count(&w).await;
    let token = w.admin.token.clone();
    let r = w.call(Method::GET, "/api/v1/contacts/%00", Some(&token), None).await;
    assert_json_error(&r, StatusCode::BAD_REQUEST, "NUL in a path id");
    let r = w
        .call(Method::GET, "/api/v1/contacts?owner_id=%00", Some(&token), None)
        .await;
    assert_json_error(&r, StatusCode::BAD_REQUEST, "NUL in a query value");
    assert_eq!(r.error_field(), Some("owner_id"));
    let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("1:\0");
    let r = w
        .call(
            Method::GET,
            &format!("/api/v1/contacts?cursor={cursor}"),
            Some(&token),
            None,
        )
        .await;
    assert_json_error(&r, StatusCode::BAD_REQUEST, "NUL inside a cursor");
    assert_eq!(r.error_field(), Some("cursor"));
    for (path, body, field) in [
        ("/api/v1/contacts", json!({"last_name": "Nul\u{0}"}), "last_name"),
        (
            "/api/v1/contacts",
            json!({"last_name": "Ok", "notes": "a\u{0}b"}),
            "notes",
        ),
        ("/api/v1/users", json!({"name": "nul\u{0}user"}), "name"),
        (
            "/api/v1/accounts",
            json!({"name": "Acme", "address": {"city": "x\u{0}"}}),
            "address.city",
        ),
    ] {
        let r = w.call(Method::POST, path, Some(&token), Some(body)).await;
        assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, path);
        assert_eq!(r.error_field(), Some(field), "{path}");
        assert_eq!(r.json["error"]["retryable"], false, "a client must not retry this");
    }
    let id = w.contacts.alice_own.clone();
    let r = w
        .call_with(
            Method::PUT,
            &format!("/api/v1/contacts/{id}"),
            Some(&token),
            Some(json!({"last_name": "Edit\u{0}ed"})),
            Some(1),
        )
        .await;
    assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "NUL in an update");
    assert_eq!(contact_count(&w).await, before, "nothing was stored");
    let r = w.read_back(common::routes::On::Contact, &id).await;
    assert_eq!(r.json["last_name"], "Alicecontact", "the update changed nothing");
});

// Issue 12 item 5: names are one line of visible text.
on_both!(r_api_14_user_names_with_control_characters_are_refused, |w| {
    for name in ["evil\nINFO forged log line", "nul\u{0}", "\u{202E}nimda", "bell\u{7}"] {
        let r = w
            .call(
                Method::POST,
                "/api/v1/users",
                Some(&w.admin.token),
                Some(json!({"name": name})),
            )
            .await;
        assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, name);
        assert_eq!(r.error_field(), Some("name"), "{name:?}");
    }
    let alice = w.alice.id.clone();
    let r = w
        .call_with(
            Method::PUT,
            &format!("/api/v1/users/{alice}"),
            Some(&w.alice.token),
            Some(json!({"name": "Alice\r\nAdmin"})),
            Some(1),
        )
        .await;
    assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "a rename");
    let r = w
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&w.admin.token),
            Some(json!({"name": "Zoë Ölund"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
});

on_both!(r_api_14_profile_names_with_control_characters_are_refused, |w| {
    server_mode(&mut w).await;
    let root = w._dir.path().join("mailboxes");
    for name in ["two\nlines", "\u{202E}reversed", "esc\u{1b}[31m"] {
        let r = w
            .call(
                Method::POST,
                "/api/v1/profiles",
                Some(&w.admin.token),
                Some(json!({"name": name, "connector": {"kind": "vdir", "root": root}})),
            )
            .await;
        assert_json_error(&r, StatusCode::BAD_REQUEST, name);
        assert_eq!(r.error_field(), Some("name"), "{name:?}");
    }
    // NUL is refused by the body decoder before the profile is looked at.
    let nul = json!({"name": "nul\u{0}", "connector": {"kind": "vdir", "root": root}});
    let r = w
        .call(Method::POST, "/api/v1/profiles", Some(&w.admin.token), Some(nul))
        .await;
    assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "NUL in a profile name");
    assert_eq!(r.error_field(), Some("name"));
    let r = w
        .call(Method::GET, "/api/v1/profiles/nul%00", Some(&w.admin.token), None)
        .await;
    assert_json_error(&r, StatusCode::BAD_REQUEST, "NUL in a profile path");
    let r = w
        .call(Method::GET, "/api/v1/profiles", Some(&w.admin.token), None)
        .await;
    assert_eq!(r.json.as_array().map(Vec::len), Some(0), "none was saved: {:?}", r.json);
});

// Issue 18 item 2: profiles find their user by name.
on_both!(r_api_16_a_duplicate_user_name_is_409, |w| {
    for twin in ["Bob", "bob", "  BOB"] {
        let r = w
            .call(
                Method::POST,
                "/api/v1/users",
                Some(&w.admin.token),
                Some(json!({"name": twin})),
            )
            .await;
        assert_json_error(&r, StatusCode::CONFLICT, twin);
        assert!(
            r.json["error"]["message"].as_str().unwrap().contains("exists already"),
            "{:?}",
            r.json
        );
    }
    let r = w.call(Method::GET, "/api/v1/users", Some(&w.admin.token), None).await;
    let bobs = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["name"].as_str().unwrap().trim().eq_ignore_ascii_case("bob"))
        .count();
    assert_eq!(bobs, 1);
});

/// Alice's vdir profile `alice`, made by the admin; its push token.
async fn alice_vdir_profile(w: &World) -> String {
    let root = w._dir.path().join("mailboxes").join("alice");
    std::fs::create_dir_all(&root).unwrap();
    let body = json!({"name": "alice", "user_id": w.alice.id, "connector": {"kind": "vdir", "root": root}});
    let r = w
        .call(Method::POST, "/api/v1/profiles", Some(&w.admin.token), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    r.json["push_token"].as_str().unwrap().to_string()
}

// Issue 18 item 1: `[]` ran the sync and `[true]` set its first field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_api_11_non_object_bodies_are_refused_on_every_route() {
    let mut w = World::new().await;
    server_mode(&mut w).await;
    alice_vdir_profile(&w).await;
    let token = w.admin.token.clone();
    let contact = w.contacts.alice_own.clone();
    let routes = [
        (Method::POST, "/api/v1/sync/profiles/alice/run".to_string()),
        (Method::POST, "/api/v1/sync/profiles/alice/reset".to_string()),
        (Method::POST, "/api/v1/profiles".to_string()),
        (Method::PUT, "/api/v1/profiles/alice".to_string()),
        (Method::POST, "/api/v1/users".to_string()),
        (Method::POST, "/api/v1/contacts".to_string()),
        (Method::PUT, format!("/api/v1/contacts/{contact}")),
        (Method::POST, format!("/api/v1/contacts/{contact}/journal")),
        (
            Method::PUT,
            format!("/api/v1/activities/{}/participants", w.activities.alice_own),
        ),
    ];
    for (method, path) in &routes {
        for body in ["[]", "[true]", "true", "\"x\"", "7", "null"] {
            let r = w
                .call_raw(
                    method.clone(),
                    path,
                    &token,
                    "application/json",
                    body.as_bytes().to_vec(),
                )
                .await;
            assert_json_error(&r, StatusCode::BAD_REQUEST, &format!("{method} {path} {body}"));
            assert!(
                r.json["error"]["message"].as_str().unwrap().contains("JSON object"),
                "{:?}",
                r.json
            );
        }
    }
    let status = w.call(Method::GET, "/api/v1/sync/status", Some(&token), None).await;
    let last = &status.json[0]["last_run"];
    assert!(last.is_null(), "no run happened: {:?}", status.json);
}

// Issue 12 item 8: R-API-1 for the errors axum answered itself.
#[tokio::test]
async fn r_api_1_every_error_is_json() {
    let w = World::new().await;
    let token = w.alice.token.clone();
    for method in [Method::PATCH, Method::TRACE] {
        let r = w.call(method.clone(), "/api/v1/contacts", Some(&token), None).await;
        assert_json_error(&r, StatusCode::METHOD_NOT_ALLOWED, method.as_str());
        assert_eq!(r.error_code(), "method_not_allowed");
        assert!(r.headers.get(header::ALLOW).is_some(), "Allow stays");
    }
    let r = w.call(Method::GET, "/api/v1/contacts/%FF%FE", Some(&token), None).await;
    assert_json_error(&r, StatusCode::BAD_REQUEST, "a path that is not UTF-8");
    let long = format!("/api/v1/contacts?owner_id={}", "x".repeat(10_000));
    let r = w.call(Method::GET, &long, Some(&token), None).await;
    assert_json_error(&r, StatusCode::URI_TOO_LONG, "an overlong URI");
    // R-API-6: a bad cursor is a bad query parameter, 400 (it was 422).
    let r = w
        .call(Method::GET, "/api/v1/contacts?cursor=not-a-cursor", Some(&token), None)
        .await;
    assert_json_error(&r, StatusCode::BAD_REQUEST, "a bad cursor");
    assert_eq!(r.error_field(), Some("cursor"));
    let r = w
        .call(Method::GET, "/api/v1/contacts?limit=%ZZ", Some(&token), None)
        .await;
    assert_json_error(&r, StatusCode::BAD_REQUEST, "broken percent-encoding");
}

// Issue 12 item 7: the configuration's default limit (it was 1 MiB) takes
// the largest contact the model allows, edited and sent back.
#[tokio::test]
async fn r_api_11_the_largest_contact_round_trips_under_the_default_limit() {
    let limit = crmsync_config::Config::default().server.max_body_bytes as usize;
    assert_eq!(limit, crmsync_server::DEFAULT_MAX_BODY_BYTES, "one limit, one place");
    let w = World::with_limit(limit).await;
    let token = w.alice.token.clone();
    let big = ContactFields {
        first_name: Some("Photo".into()),
        last_name: Some("Portrait".into()),
        notes: Some("n".repeat(16 * 1024)),
        photo: Some("A".repeat(MAX_PHOTO_LEN)),
        ..Default::default()
    };
    let r = w
        .call(
            Method::POST,
            "/api/v1/contacts",
            Some(&token),
            Some(serde_json::to_value(&big).unwrap()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json["error"]);
    let id = r.json["id"].as_str().unwrap().to_string();
    let r = w
        .call(Method::GET, &format!("/api/v1/contacts/{id}"), Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let mut edited: Value = r.json.clone();
    edited["last_name"] = json!("Portrait-Edited");
    let version = edited["version"].as_i64().unwrap();
    let r = w
        .call_with(
            Method::PUT,
            &format!("/api/v1/contacts/{id}"),
            Some(&token),
            Some(edited),
            Some(version),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json["error"]);
    assert_eq!(r.json["last_name"], "Portrait-Edited");
    assert_eq!(r.json["photo"].as_str().map(str::len), Some(MAX_PHOTO_LEN));
}

/// The webhook from a given client address.
async fn push_from(w: &World, token: &str, client: [u8; 4]) -> Reply {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/push/{token}"))
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((client, 40000))));
    w.send(req).await
}

// Issue 12 item 9: per token and per client, on the injected clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_api_15_the_push_webhook_is_rate_limited_per_token_and_client() {
    let mut w = World::new().await;
    let mode = server_mode(&mut w).await;
    let token = alice_vdir_profile(&w).await;
    let groupware = [192, 0, 2, 10];
    let burst = crmsync_server::push_limit::PER_TOKEN.burst;
    for i in 0..burst {
        let r = push_from(&w, &token, groupware).await;
        assert_eq!(
            r.status,
            StatusCode::ACCEPTED,
            "notification {i} is taken at once: {:?}",
            r.json
        );
    }
    let r = push_from(&w, &token, [198, 51, 100, 7]).await;
    assert_json_error(
        &r,
        StatusCode::TOO_MANY_REQUESTS,
        "past the token's burst, from anywhere",
    );
    let wait: i64 = r.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(wait >= 1, "Retry-After {wait}");
    assert_eq!(r.json["error"]["retryable"], true);
    mode.clock.advance(chrono::Duration::seconds(wait));
    let r = push_from(&w, &token, groupware).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "after Retry-After it is taken again");

    // One client guessing tokens is held after its burst; another is not.
    let guesser = [203, 0, 113, 66];
    for i in 0..crmsync_server::push_limit::PER_CLIENT.burst {
        let r = push_from(&w, &format!("guess-{i}"), guesser).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "guess {i}");
    }
    let r = push_from(&w, "guess-next", guesser).await;
    assert_json_error(&r, StatusCode::TOO_MANY_REQUESTS, "the guesser");
    let r = push_from(&w, "guess-next", [203, 0, 113, 67]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another client is not held");
}

/// Alice's (or the admin's) imap and graph profiles on the test peers.
fn mail_and_graph_profiles(owner: &str, dovecot: &Dovecot, graph: &GraphServer) -> [(String, Value); 2] {
    [
        (
            format!("{owner}-imap"),
            json!({"kind": "imap", "host": "127.0.0.1", "port": dovecot.port, "tls": "none",
                   "username": "anna", "password": "anna-pw"}),
        ),
        (
            format!("{owner}-graph"),
            json!({"kind": "graph", "tenant": GraphServer::TENANT, "mailbox": GraphServer::MAILBOX,
                   "client_id": GraphServer::CLIENT_ID, "client_secret": GraphServer::CLIENT_SECRET,
                   "base_url": graph.base_url(), "authority": graph.authority()}),
        ),
    ]
}

// Issue 12 item 2, R-SEC-1 for every kind: a user's imap and graph
// profiles pointing at an internal address (the peers on 127.0.0.1) are
// refused when run, permanently, naming the setting that allows them;
// nothing reaches the peers. An admin's profiles reach them, and so do the
// user's once the operator allows the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_sec_1_users_imap_and_graph_profiles_reach_no_internal_address() {
    let dovecot = Dovecot::start(&[("anna", "anna-pw")]);
    let graph = GraphServer::start().await.unwrap();
    let mut w = World::new().await;
    server_mode_allowing(&mut w, &[]).await;
    let alice = Some(w.alice.token.clone());
    let admin = Some(w.admin.token.clone());
    let run = |name: &str| format!("/api/v1/sync/profiles/{name}/run");

    for (name, connector) in mail_and_graph_profiles("alice", &dovecot, &graph) {
        let body = json!({"name": name, "connector": connector, "pull_interval_secs": 3600});
        let created = w
            .call(Method::POST, "/api/v1/profiles", alice.as_deref(), Some(body))
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{name}: {:?}", created.json);
        let refused = w
            .call(Method::POST, &run(&name), alice.as_deref(), Some(json!({})))
            .await;
        assert_json_error(&refused, StatusCode::BAD_GATEWAY, &name);
        let message = refused.json["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("R-SEC-1") && message.contains("[security] allowed_hosts"),
            "{name}: {message}"
        );
        assert_eq!(
            refused.json["error"]["retryable"], false,
            "{name}: a refusal is permanent"
        );
    }
    let seen = graph.stats();
    assert_eq!((seen.tokens_issued, seen.requests), (0, 0), "nothing reached Graph");

    // An admin's profiles reach any address.
    for (name, connector) in mail_and_graph_profiles("boss", &dovecot, &graph) {
        let body = json!({"name": name, "user_id": w.admin.id, "connector": connector, "pull_interval_secs": 3600});
        let created = w
            .call(Method::POST, "/api/v1/profiles", admin.as_deref(), Some(body))
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{name}: {:?}", created.json);
        let ran = w
            .call(Method::POST, &run(&name), admin.as_deref(), Some(json!({})))
            .await;
        assert_eq!(ran.status, StatusCode::OK, "{name}: {:?}", ran.json);
    }
    assert!(graph.stats().tokens_issued > 0, "the admin's profile signed in");

    // The operator allows the host: the user's profiles run. (A new server
    // mode has a new security key: the profiles are entered again.)
    server_mode_allowing(&mut w, &["127.0.0.1"]).await;
    for (name, connector) in mail_and_graph_profiles("alice-allowed", &dovecot, &graph) {
        let body = json!({"name": name, "connector": connector, "pull_interval_secs": 3600});
        let created = w
            .call(Method::POST, "/api/v1/profiles", alice.as_deref(), Some(body))
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{name}: {:?}", created.json);
        let ran = w
            .call(Method::POST, &run(&name), alice.as_deref(), Some(json!({})))
            .await;
        assert_eq!(ran.status, StatusCode::OK, "{name}: {:?}", ran.json);
    }
}
