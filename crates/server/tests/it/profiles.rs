//! `/api/v1/profiles`: stored profiles managed over the API, driven through
//! the router on a real SQLite store with a real security key.

use crate::common;
use axum::http::{Method, StatusCode};
use common::World;
use crmsync_model::UserFields;
use crmsync_server::{AppState, router};
use crmsync_service::{ProfileCatalog, ProfileDefinition, ProfileSource, SecretKey};
use serde_json::{Value, json};

const PASSWORD: &str = "hunter2-Sekrit-0xC0FFEE";

/// The harness's world serving the database's profiles, with a key.
async fn world() -> (World, ProfileCatalog) {
    let mut w = World::new().await;
    let catalog = ProfileCatalog::new(w.store.clone(), Some(SecretKey::generate()));
    w.app = router(AppState::new(w.store.clone()).with_catalog(catalog.clone()));
    (w, catalog)
}

fn dav(name: &str, url: &str) -> Value {
    json!({
        "name": name,
        "connector": {"kind": "dav", "url": url, "username": "alice", "password": PASSWORD},
        "rules": {"contacts": {"direction": "two-way"}, "calendar_past_days": 14},
        "pull_interval_secs": 600,
    })
}

fn assert_no_secret(what: &str, body: &Value) {
    let text = body.to_string();
    assert!(!text.contains(PASSWORD), "{what} shows the password: {text}");
}

// R-SVC-API-1, R-SVC-7: create, read, list, replace, delete; no response
// ever holds the password, only `has_credentials`.
#[tokio::test]
async fn r_svc_api_1_crud_round_trip_never_shows_the_password() {
    let (w, catalog) = world().await;
    let alice = Some(w.alice.token.as_str());

    let created = w
        .call(
            Method::POST,
            "/api/v1/profiles",
            alice,
            Some(dav("alice-dav", "https://dav.example.org/")),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json);
    assert_no_secret("create", &created.json);
    assert_eq!(created.etag(), Some("\"1\""));
    let p = &created.json["profile"];
    assert_eq!(p["user_id"], w.alice.id.as_str(), "the caller by default");
    assert_eq!(p["source"], "api");
    assert_eq!(p["has_credentials"], true);
    assert_eq!(p["connector"]["url"], "https://dav.example.org/");
    assert!(p["connector"].get("password").is_none());
    assert_eq!(p["rules"]["calendar_past_days"], 14);
    assert_eq!(p["pull_interval_secs"], 600);
    let token = created.json["push_token"].as_str().unwrap();
    assert_eq!(created.json["push_path"], format!("/api/v1/push/{token}"));

    let again = w
        .call(
            Method::POST,
            "/api/v1/profiles",
            alice,
            Some(dav("alice-dav", "https://other.example.org/")),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.json);
    assert!(again.json["error"]["message"].as_str().unwrap().contains("exists"));

    let got = w.call(Method::GET, "/api/v1/profiles/alice-dav", alice, None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.etag(), Some("\"1\""));
    assert_no_secret("get", &got.json);
    let listed = w.call(Method::GET, "/api/v1/profiles", alice, None).await;
    assert_eq!(listed.json.as_array().unwrap().len(), 1);
    assert_no_secret("list", &listed.json);

    // R-SVC-API-3: a PUT without the password keeps the stored one.
    let mut body = dav("alice-dav", "https://dav.example.org/");
    body["connector"].as_object_mut().unwrap().remove("password");
    body["pull_interval_secs"] = json!(1200);
    let put = w
        .call_with(
            Method::PUT,
            "/api/v1/profiles/alice-dav",
            alice,
            Some(body.clone()),
            Some(1),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.json);
    assert_eq!(put.etag(), Some("\"2\""));
    assert_eq!(put.json["has_credentials"], true);
    assert_eq!(put.json["pull_interval_secs"], 1200);
    let row = w.store.catalog().profile_row("alice-dav").await.unwrap().unwrap();
    let def = catalog.definition_of(&row).unwrap();
    match &def.connector {
        crmsync_service::ConnectorSpec::Dav(dav) => assert!(
            dav.password.as_ref().is_some_and(|p| p.is_value()),
            "the stored password is kept"
        ),
        other => panic!("expected a dav connector, got {other:?}"),
    }
    let connector = format!("{:?}", def.connector);
    assert!(!connector.contains(PASSWORD), "Debug hides it: {connector}");

    // ...but not when the URL changes: the password could go to another server.
    let mut moved = body.clone();
    moved["connector"]["url"] = json!("https://evil.example.net/");
    let r = w
        .call_with(Method::PUT, "/api/v1/profiles/alice-dav", alice, Some(moved), Some(2))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.json);
    assert_eq!(r.error_field(), Some("connector.password"));

    // R-API-4 as for records: no version 428, a stale one 409.
    let r = w
        .call(Method::PUT, "/api/v1/profiles/alice-dav", alice, Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);
    let r = w
        .call_with(Method::PUT, "/api/v1/profiles/alice-dav", alice, Some(body), Some(1))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "version_conflict");

    let r = w.call(Method::DELETE, "/api/v1/profiles/alice-dav", alice, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = w.call(Method::GET, "/api/v1/profiles/alice-dav", alice, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

// R-PERM-2 / R-OPS-2 / R-SVC-API-2: bob can neither see nor change alice's
// profile, and its name answers exactly like a missing one.
#[tokio::test]
async fn r_perm_2_another_users_profile_is_invisible_and_untouchable() {
    let (w, _) = world().await;
    let created = w
        .call(
            Method::POST,
            "/api/v1/profiles",
            Some(&w.alice.token),
            Some(dav("alice-dav", "https://dav.example.org/")),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let bob = Some(w.bob.token.as_str());

    let listed = w.call(Method::GET, "/api/v1/profiles", bob, None).await;
    assert_eq!(listed.json, json!([]));
    let status = w.call(Method::GET, "/api/v1/sync/status", bob, None).await;
    assert_eq!(status.json, json!([]), "nor in the sync status");

    let put_body = dav("alice-dav", "https://dav.example.org/");
    for (method, suffix, body) in [
        (Method::GET, "", None),
        (Method::PUT, "", Some(put_body.clone())),
        (Method::DELETE, "", None),
        (Method::POST, "/push", None),
        (Method::POST, "/push-token", None),
    ] {
        let theirs = w
            .call_with(
                method.clone(),
                &format!("/api/v1/profiles/alice-dav{suffix}"),
                bob,
                body.clone(),
                Some(1),
            )
            .await;
        let missing = w
            .call_with(
                method.clone(),
                &format!("/api/v1/profiles/no-such{suffix}"),
                bob,
                body.map(|mut b| {
                    b["name"] = json!("no-such");
                    b
                }),
                Some(1),
            )
            .await;
        assert_eq!(
            theirs.status,
            StatusCode::NOT_FOUND,
            "{method} {suffix}: {:?}",
            theirs.json
        );
        assert_eq!(theirs.json, missing.json, "{method} {suffix}: the name leaks");
    }
    let r = w
        .call(Method::GET, "/api/v1/profiles/alice-dav", Some(&w.alice.token), None)
        .await;
    assert_eq!(r.json["version"], 1, "nothing of alice's changed");

    // Bob may not set up a profile for alice, a vdir folder, or a secret from the server's files.
    let mut for_alice = dav("bob-dav", "https://dav.example.org/");
    for_alice["user_id"] = json!(w.alice.id);
    let mut vdir = dav("bob-vdir", "");
    vdir["connector"] = json!({"kind": "vdir", "root": "/etc"});
    let mut file_secret = dav("bob-file", "https://dav.example.org/");
    file_secret["connector"]["password"] = json!({"file": "/etc/shadow"});
    for body in [for_alice, vdir, file_secret] {
        let r = w.call(Method::POST, "/api/v1/profiles", bob, Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{body}: {:?}", r.json);
    }
    // The admin may do all of that, and sees every profile.
    let mut for_alice = dav("admin-made", "https://dav.example.org/");
    for_alice["user_id"] = json!(w.alice.id);
    let r = w
        .call(Method::POST, "/api/v1/profiles", Some(&w.admin.token), Some(for_alice))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let all = w
        .call(Method::GET, "/api/v1/profiles", Some(&w.admin.token), None)
        .await;
    assert_eq!(all.json.as_array().unwrap().len(), 2);
}

// R-PERM-1: a CRM-writing direction the user has no rights for is refused,
// and the message names the rule.
#[tokio::test]
async fn r_perm_1_a_crm_writing_direction_without_rights_is_refused() {
    let (w, _) = world().await;
    let mut narrowed = dav("narrow", "https://dav.example.org/");
    narrowed["rules"] = json!({"contacts": {"direction": "two-way", "rights": {"create": false, "update": true}}});
    let r = w
        .call(
            Method::POST,
            "/api/v1/profiles",
            Some(&w.alice.token),
            Some(narrowed.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.json);
    let message = r.json["error"]["message"].as_str().unwrap();
    assert!(message.contains("R-PERM-1") && message.contains("create"), "{message}");

    // One way into the groupware needs no CRM rights.
    narrowed["rules"]["contacts"]["direction"] = json!("crm-to-groupware");
    let r = w
        .call(Method::POST, "/api/v1/profiles", Some(&w.alice.token), Some(narrowed))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);

    // A deactivated user has no rights at all (R-SVC-9): two-way for them is refused.
    let (carol, _) = w
        .store
        .records()
        .create_user(common::user_fields("Carol"))
        .await
        .unwrap();
    w.store
        .records()
        .update::<UserFields>(
            &carol.meta.id,
            carol.meta.version,
            UserFields {
                active: false,
                ..carol.fields.clone()
            },
        )
        .await
        .unwrap();
    let mut for_carol = dav("carol", "https://dav.example.org/");
    for_carol["user_id"] = json!(carol.meta.id);
    let r = w
        .call(Method::POST, "/api/v1/profiles", Some(&w.admin.token), Some(for_carol))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.json);
    assert!(r.json["error"]["message"].as_str().unwrap().contains("R-PERM-1"));
    assert!(w.store.catalog().profile_row("carol").await.unwrap().is_none());
}

// R-SVC-API-2: a bad request is 400 naming the field.
#[tokio::test]
async fn r_svc_api_2_an_unusable_value_is_400_naming_the_field() {
    let (w, _) = world().await;
    let base = dav("p", "https://dav.example.org/");
    let cases: Vec<(Value, &str)> = vec![
        (json!({"connector": base["connector"]}), "name"),
        (
            {
                let mut b = base.clone();
                b["connector"] = json!({"url": "x"});
                b
            },
            "connector.kind",
        ),
        (
            {
                let mut b = base.clone();
                b["connector"]["kind"] = json!("imap4");
                b
            },
            "connector.kind",
        ),
        (
            {
                let mut b = base.clone();
                b["connector"]["colour"] = json!("red");
                b
            },
            "connector.colour",
        ),
        (
            {
                let mut b = base.clone();
                b["pull_interval_secs"] = json!(10);
                b
            },
            "pull_interval_secs",
        ),
        (
            {
                let mut b = base.clone();
                b["rules"] = json!([1]);
                b
            },
            "rules",
        ),
        (
            {
                let mut b = base.clone();
                b["rules"] = json!({"contacts": {"direction": "sideways"}});
                b
            },
            "rules",
        ),
        (
            {
                let mut b = base.clone();
                b["user_id"] = json!("nobody");
                b
            },
            "user_id",
        ),
        (
            {
                let mut b = base.clone();
                b["name"] = json!(" p");
                b
            },
            "name",
        ),
    ];
    for (body, field) in cases {
        let r = w
            .call(
                Method::POST,
                "/api/v1/profiles",
                Some(&w.admin.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.json);
        assert_eq!(r.error_field(), Some(field), "{body}: {:?}", r.json);
        assert_no_secret("an error", &r.json);
    }
    assert_eq!(w.store.catalog().profile_rows(None).await.unwrap().len(), 0);
}

// R-SVC-API-4: profiles of the config file are changed in the file only.
#[tokio::test]
async fn r_svc_api_4_config_file_profiles_are_read_only_over_the_api() {
    let (w, catalog) = world().await;
    let def = ProfileDefinition {
        name: "from-file".into(),
        user_id: w.alice.id.clone(),
        connector: crmsync_service::ConnectorSpec::from_json(json!({"kind": "vdir", "root": "/srv/mail/alice"}))
            .unwrap(),
        mail: None,
        rules: json!({}),
        pull_interval: std::time::Duration::from_secs(900),
        push: true,
        enabled: true,
    };
    catalog
        .save(&def, ProfileSource::Config, chrono::Utc::now())
        .await
        .unwrap();
    let alice = Some(w.alice.token.as_str());
    let r = w.call(Method::GET, "/api/v1/profiles/from-file", alice, None).await;
    assert_eq!(r.json["source"], "config");
    let r = w
        .call_with(
            Method::PUT,
            "/api/v1/profiles/from-file",
            alice,
            Some(dav("from-file", "https://dav.example.org/")),
            Some(1),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("configuration file")
    );
    let r = w.call(Method::DELETE, "/api/v1/profiles/from-file", alice, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Its push token is no part of the file: it can be issued.
    let r = w
        .call(Method::POST, "/api/v1/profiles/from-file/push-token", alice, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert!(r.json["push_token"].as_str().unwrap().len() > 40);
    assert!(w.store.catalog().profile_row("from-file").await.unwrap().is_some());
}

// R-CFG-SPEC-1: the API checks a connector exactly as the config file does
// (the same `validate()` of the connector's own config), so settings that
// could only fail at run time are 400 naming the field, and nothing is stored.
#[tokio::test]
async fn r_cfg_spec_1_the_api_refuses_what_the_config_file_refuses() {
    let (w, _) = world().await;
    let cases = [
        (dav("p", "ftp://dav.example.org/"), "connector.url"),
        (
            dav("p", &format!("https://alice:{PASSWORD}@dav.example.org/")),
            "connector.url",
        ),
        (
            {
                let mut b = dav("p", "https://dav.example.org/");
                b["connector"]["bearer_token"] = json!("a-token");
                b
            },
            "connector.bearer_token",
        ),
        // R-COL-1, R-LIMIT-1: the collection choice and the field limits too.
        (
            {
                let mut b = dav("p", "https://dav.example.org/");
                b["connector"]["collections"] = json!({"contacts": " "});
                b
            },
            "connector.collections.contacts",
        ),
        (
            {
                let mut b = dav("p", "https://dav.example.org/");
                b["connector"]["field_limits"] = json!({"contacts": {"company": 0}});
                b
            },
            "connector.field_limits.contacts.company",
        ),
    ];
    for (body, field) in cases {
        let r = w
            .call(
                Method::POST,
                "/api/v1/profiles",
                Some(&w.alice.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.json);
        assert_eq!(r.error_field(), Some(field), "{body}: {:?}", r.json);
        assert_no_secret("the refusal", &r.json);
        assert!(w.store.catalog().profile_row("p").await.unwrap().is_none());
    }
}

// R-COL-1: a stored profile keeps the collections it names and the limits
// its connector declares; a misspelt key in them is refused naming it.
#[tokio::test]
async fn r_col_1_a_stored_profile_names_collections_and_limits() {
    let (w, _) = world().await;
    let mut body = dav("p", "https://dav.example.org/");
    body["connector"]["collections"] = json!({"contacts": "addressbook", "calendar": "Work"});
    body["connector"]["field_limits"] = json!({"contacts": {"company": 256}});
    let r = w
        .call(
            Method::POST,
            "/api/v1/profiles",
            Some(&w.alice.token),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let r = w
        .call(Method::GET, "/api/v1/profiles/p", Some(&w.alice.token), None)
        .await;
    assert_eq!(
        r.json["connector"]["collections"],
        json!({"contacts": "addressbook", "calendar": "Work"})
    );
    assert_eq!(
        r.json["connector"]["field_limits"],
        json!({"contacts": {"company": 256}})
    );

    let mut typo = dav("q", "https://dav.example.org/");
    typo["connector"]["collections"] = json!({"contact": "addressbook"});
    let r = w
        .call(Method::POST, "/api/v1/profiles", Some(&w.alice.token), Some(typo))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.json);
    assert!(r.json.to_string().contains("contact"), "{:?}", r.json);
    assert!(w.store.catalog().profile_row("q").await.unwrap().is_none());
}

// R-CFG-RULES-1: a misspelt key in `rules` is refused over the API as in the
// file, naming the key; nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_cfg_rules_1_the_api_refuses_a_misspelt_rules_key() {
    let (w, _) = world().await;
    let mut body = dav("p", "https://dav.example.org/");
    body["rules"] = json!({ "contacts": { "conflcit": "manual" } });
    let r = w
        .call(
            Method::POST,
            "/api/v1/profiles",
            Some(&w.alice.token),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.json);
    assert_eq!(r.error_field(), Some("rules"), "{:?}", r.json);
    let message = r.json["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("unknown field `conflcit`"), "{:?}", r.json);
    assert!(w.store.catalog().profile_row("p").await.unwrap().is_none());
}

// R-PERM-1 on the API's run path (`POST /sync/profiles/{name}/run`): the
// profile is built by the one factory, so a user who lost the right to create
// (deactivated) gets nothing created in the CRM, even when an admin runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_perm_1_an_api_run_never_creates_for_a_user_without_rights() {
    let mut w = World::new().await;
    let _mode = common::service::server_mode(&mut w).await;
    let root = w._dir.path().join("mailboxes").join("alice");
    std::fs::create_dir_all(root.join("contacts")).unwrap();
    let body = json!({
        "name": "alice-box",
        "user_id": w.alice.id,
        "connector": {"kind": "vdir", "root": root},
        "rules": {},
        "pull_interval_secs": 900,
    });
    let r = w
        .call(Method::POST, "/api/v1/profiles", Some(&w.admin.token), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    std::fs::write(
        root.join("contacts").join("r-perm-1.vcf"),
        "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:r-perm-1\r\nFN:Zed Permless\r\nN:Permless;Zed;;;\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let alice = w.store.records().get::<UserFields>(&w.alice.id).await.unwrap();
    w.store
        .records()
        .update::<UserFields>(
            &alice.meta.id,
            alice.meta.version,
            UserFields {
                active: false,
                ..alice.fields.clone()
            },
        )
        .await
        .unwrap();

    let r = w
        .call(
            Method::POST,
            "/api/v1/sync/profiles/alice-box/run",
            Some(&w.admin.token),
            Some(json!({})),
        )
        .await;
    assert!(!r.status.is_success(), "the run is refused: {:?}", r.json);
    assert!(r.json.to_string().contains("right"), "{:?}", r.json);
    let contacts = w
        .store
        .records()
        .list::<crmsync_model::ContactFields>(&crmsync_store::ListQuery::default())
        .await
        .unwrap();
    assert!(
        contacts
            .items
            .iter()
            .all(|c| c.fields.last_name.as_deref() != Some("Permless")),
        "nothing was created in the CRM"
    );
}

// R-PROFILE-MAIL-1 over the API: `mail` beside the connector is accepted
// and checked as in the config file, shown without its password, and
// described in the OpenAPI document.
#[tokio::test]
async fn r_profile_mail_1_the_api_takes_a_mail_connector_beside_the_connector() {
    let (w, _) = world().await;
    let alice = Some(w.alice.token.as_str());
    let mut body = dav("alice-both", "https://dav.example.org/");
    body["mail"] = json!({"kind": "imap", "host": "imap.example.org", "tls": "tls", "username": "alice",
        "password": PASSWORD, "tracking": {"folder": "Tracked", "known_contacts": true}});
    let created = w
        .call(Method::POST, "/api/v1/profiles", alice, Some(body.clone()))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json);
    assert_no_secret("create with mail", &created.json);
    let mail = &created.json["profile"]["connector"]["mail"];
    assert_eq!(mail["host"], "imap.example.org", "{mail}");
    assert_eq!(mail["tracking"]["folder"], "Tracked");

    // Refused as the config file refuses it, naming the key.
    body["name"] = json!("alice-bad");
    body["mail"]["tracking"]["never_track"] = json!(["not an address"]);
    let r = w
        .call(Method::POST, "/api/v1/profiles", alice, Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.json);
    assert_eq!(r.json["error"]["field"], "mail.tracking", "{:?}", r.json);
    body["mail"] = json!({"kind": "dav", "url": "https://dav.example.org/", "username": "alice", "password": "x"});
    let r = w.call(Method::POST, "/api/v1/profiles", alice, Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.json);
    assert_eq!(r.json["error"]["field"], "mail", "{:?}", r.json);

    let doc = w.call(Method::GET, "/api/v1/openapi.json", None, None).await.json;
    let described = &doc["components"]["schemas"]["ProfileBody"]["properties"]["mail"];
    assert!(
        described["description"].as_str().is_some_and(|d| d.contains("imap")),
        "{described}"
    );
}
