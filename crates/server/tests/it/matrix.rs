//! The route × failure matrix: every authenticated route is driven through
//! each way a request can be refused, from the table in `common/routes.rs`.

use crate::common;
use axum::http::{Method, StatusCode, header};
use common::routes::{On, authenticated_routes};
use common::{TEST_MAX_BODY, World};
use serde_json::json;

// R-PERM-2: every API call is authenticated.
#[tokio::test]
async fn every_route_refuses_a_missing_or_unknown_token_with_401() {
    let w = World::new().await;
    for route in authenticated_routes() {
        let path = route.path_for(&w.alice_own(route.on));
        for token in [None, Some("crm_not-a-real-token"), Some("")] {
            let r = w
                .call(route.method.clone(), &path, token, route.valid.map(|b| b()))
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{} with token {token:?}",
                route.name()
            );
            let challenge = r
                .headers
                .get(header::WWW_AUTHENTICATE)
                .expect("WWW-Authenticate")
                .to_str()
                .unwrap();
            assert!(challenge.starts_with("Bearer"), "{}: {challenge}", route.name());
            assert_eq!(r.error_code(), "unauthorized");
        }
    }
}

// R-PERM-2 + R-API-2: another user's private record answers exactly like a missing one.
#[tokio::test]
async fn every_record_route_hides_another_users_private_record_as_404() {
    let w = World::new().await;
    let mut checked = 0;
    for route in authenticated_routes() {
        let Some(private) = w.bob_private(route.on) else {
            continue;
        };
        let body = route.valid.map(|b| b());
        let hidden = w
            .call_with(
                route.method.clone(),
                &route.path_for(&private),
                Some(&w.alice.token),
                body.clone(),
                Some(1),
            )
            .await;
        let missing = w
            .call_with(
                route.method.clone(),
                &route.path_for("no-such-id"),
                Some(&w.alice.token),
                body,
                Some(1),
            )
            .await;
        assert_eq!(
            hidden.status,
            StatusCode::NOT_FOUND,
            "{}: {:?}",
            route.name(),
            hidden.json
        );
        assert_eq!(
            hidden.json,
            missing.json,
            "{}: a private record must look like a missing one",
            route.name()
        );
        checked += 1;
    }
    assert!(checked >= 20, "the table lost its record routes ({checked})");
    // Nothing of bob's changed: his private contact still has version 1.
    let r = w
        .call(
            Method::GET,
            &format!("/api/v1/contacts/{}", w.contacts.bob_private),
            Some(&w.bob.token),
            None,
        )
        .await;
    assert_eq!(r.json["version"], 1);
}

// R-PERM-2: a user changes only what they own; readable is not writable.
#[tokio::test]
async fn every_write_to_a_readable_record_of_someone_else_is_403_and_reads_are_200() {
    let w = World::new().await;
    for route in authenticated_routes() {
        let Some(theirs) = w.bob_readable(route.on) else {
            continue;
        };
        let before = w.read_back(route.on, &theirs).await;
        let version = before.json["version"].as_i64().unwrap();
        let r = w
            .call_with(
                route.method.clone(),
                &route.path_for(&theirs),
                Some(&w.alice.token),
                route.valid.map(|b| b()),
                Some(version),
            )
            .await;
        if route.writes {
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{}: {:?}", route.name(), r.json);
            assert_eq!(r.error_code(), "forbidden");
        } else {
            assert!(r.status.is_success(), "{}: {} {:?}", route.name(), r.status, r.json);
        }
        let after = w.read_back(route.on, &theirs).await;
        if route.writes {
            assert_eq!(
                before.json,
                after.json,
                "{}: a refused write changed the record",
                route.name()
            );
        }
    }
}

#[tokio::test]
async fn every_body_route_names_the_field_of_a_wrongly_typed_value_with_400() {
    let w = World::new().await;
    let mut checked = 0;
    for route in authenticated_routes() {
        let Some((bad, field)) = route.bad else { continue };
        // The admin may call every route, so only the body can be at fault.
        let path = route.path_for(&w.alice_own(route.on));
        let r = w
            .call_with(route.method.clone(), &path, Some(&w.admin.token), Some(bad()), Some(1))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}: {:?}", route.name(), r.json);
        assert_eq!(r.error_field(), Some(field), "{}: {:?}", route.name(), r.json);
        assert_eq!(r.json["error"]["retryable"], false);

        let r = w
            .call_raw(
                route.method.clone(),
                &path,
                &w.admin.token,
                "application/json",
                b"{\"name\": ".to_vec(),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{} with broken JSON", route.name());
        assert_eq!(r.error_field(), None, "a syntax error has no field");
        checked += 1;
    }
    assert!(checked >= 12, "the table lost its body routes ({checked})");
}

#[tokio::test]
async fn every_body_route_refuses_an_oversized_body_with_413_and_non_json_with_415() {
    let w = World::new().await;
    for route in authenticated_routes() {
        let Some(valid) = route.valid else { continue };
        let path = route.path_for(&w.alice_own(route.on));
        let mut big = valid();
        big["padding"] = json!("x".repeat(TEST_MAX_BODY));
        let r = w
            .call_raw(
                route.method.clone(),
                &path,
                &w.alice.token,
                "application/json",
                big.to_string().into_bytes(),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{}: {:?}",
            route.name(),
            r.json
        );
        assert_eq!(r.error_code(), "payload_too_large");

        let r = w
            .call_raw(
                route.method.clone(),
                &path,
                &w.alice.token,
                "text/plain",
                valid().to_string().into_bytes(),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", route.name());
    }
}

// R-API-4: a write based on a stale version changes nothing.
#[tokio::test]
async fn every_versioned_write_with_a_stale_version_is_409_and_changes_nothing() {
    let w = World::new().await;
    let mut checked = 0;
    for route in authenticated_routes().into_iter().filter(|r| r.versioned) {
        let id = w.alice_own(route.on);
        let read = w.read_back(route.on, &id).await;
        let stale = read.json["version"].as_i64().unwrap();
        w.bump(route.on, &id).await;
        let current = w.read_back(route.on, &id).await;

        let r = w
            .call_with(
                route.method.clone(),
                &route.path_for(&id),
                Some(&w.admin.token),
                route.valid.map(|b| b()),
                Some(stale),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}: {:?}", route.name(), r.json);
        assert_eq!(r.error_code(), "version_conflict");
        assert_eq!(
            w.read_back(route.on, &id).await.json,
            current.json,
            "{}: stale write changed the record",
            route.name()
        );

        // The same with the stale version in the body instead of If-Match.
        if let Some(valid) = route.valid {
            let mut body = valid();
            body["version"] = json!(stale);
            let r = w
                .call(
                    route.method.clone(),
                    &route.path_for(&id),
                    Some(&w.admin.token),
                    Some(body),
                )
                .await;
            assert_eq!(r.status, StatusCode::CONFLICT, "{} (body version)", route.name());
            assert_eq!(w.read_back(route.on, &id).await.json, current.json);
        }
        checked += 1;
    }
    assert!(checked >= 11, "the table lost its versioned routes ({checked})");
}

// R-API-4: a write without any version is refused, not applied blindly.
#[tokio::test]
async fn every_versioned_write_without_a_version_is_428_and_changes_nothing() {
    let w = World::new().await;
    for route in authenticated_routes().into_iter().filter(|r| r.versioned) {
        let id = w.alice_own(route.on);
        let before = w.read_back(route.on, &id).await;
        let r = w
            .call(
                route.method.clone(),
                &route.path_for(&id),
                Some(&w.admin.token),
                route.valid.map(|b| b()),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::PRECONDITION_REQUIRED,
            "{}: {:?}",
            route.name(),
            r.json
        );
        assert_eq!(w.read_back(route.on, &id).await.json, before.json);
    }
}

#[tokio::test]
async fn every_versioned_write_with_the_current_version_succeeds() {
    let w = World::new().await;
    for route in authenticated_routes().into_iter().filter(|r| r.versioned) {
        // A DELETE gets a fresh record, so later routes still find alice's
        // (and a user who owns nothing can be deleted).
        let id = match (route.on, route.method == Method::DELETE) {
            (On::User, true) => {
                w.store
                    .records()
                    .create_user(common::user_fields("Temp"))
                    .await
                    .unwrap()
                    .0
                    .meta
                    .id
            }
            (on, true) => {
                let collection = on.read_path("").unwrap();
                let body = authenticated_routes()
                    .into_iter()
                    .find(|r| r.method == Method::POST && format!("{}/", r.path) == collection)
                    .and_then(|r| r.valid)
                    .expect("a create route")();
                let created = w
                    .call(
                        Method::POST,
                        collection.trim_end_matches('/'),
                        Some(&w.alice.token),
                        Some(body),
                    )
                    .await;
                created.json["id"].as_str().expect("created").to_owned()
            }
            (on, false) => w.alice_own(on),
        };
        let read = w.read_back(route.on, &id).await;
        let version = read.json["version"]
            .as_i64()
            .unwrap_or_else(|| panic!("{}: {:?}", route.name(), read.json));
        let r = w
            .call_with(
                route.method.clone(),
                &route.path_for(&id),
                Some(&w.admin.token),
                route.valid.map(|b| b()),
                Some(version),
            )
            .await;
        assert!(r.status.is_success(), "{}: {} {:?}", route.name(), r.status, r.json);
        if route.method == Method::DELETE {
            assert_eq!(
                w.read_back(route.on, &id).await.status,
                StatusCode::NOT_FOUND,
                "{}",
                route.name()
            );
        } else {
            assert_eq!(
                r.etag(),
                Some(format!("\"{}\"", version + 1).as_str()),
                "{}",
                route.name()
            );
        }
    }
}
