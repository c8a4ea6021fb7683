use serde_json::json;

use super::*;

#[test]
fn toml_and_json_give_the_same_spec() {
    let from_toml: ConnectorSpec = toml::from_str(
        "kind = \"dav\"\nurl = \"https://dav.example/\"\nusername = \"anna\"\npassword = { env = \"PW\" }\n[retry]\nmax_retries = 1",
    )
    .unwrap();
    let from_json = ConnectorSpec::from_json(json!({
        "kind": "dav", "url": "https://dav.example/", "username": "anna",
        "password": { "env": "PW" }, "retry": { "max_retries": 1 }
    }))
    .unwrap();
    assert_eq!(from_toml, from_json);
    assert_eq!(from_json.kind(), "dav");
    assert_eq!(from_json.requests_in_flight(), Some(4), "the DAV default concurrency");
    assert_eq!(ConnectorSpec::from_json(from_json.expose_json()).unwrap(), from_json);
}

// R-CFG-SPEC-1: the checks that the config file applies apply to JSON too.
#[test]
fn r_cfg_spec_1_unusable_dav_settings_name_their_key() {
    let cases = [
        (json!({"kind": "dav", "url": "ftp://dav.example/"}), "url"),
        (
            json!({"kind": "dav", "url": "https://anna:hunter2@dav.example/"}),
            "url",
        ),
        (
            json!({"kind": "dav", "url": "https://dav.example/", "username": "a", "password": "p", "bearer_token": "t"}),
            "bearer_token",
        ),
        (
            json!({"kind": "dav", "url": "https://dav.example/", "password": "hunter2"}),
            "username",
        ),
        (
            json!({"kind": "dav", "url": "https://dav.example/", "concurrency": 0}),
            "concurrency",
        ),
        (
            json!({"kind": "dav", "url": "https://dav.example/", "colour": "red"}),
            "colour",
        ),
        (
            json!({"kind": "vdir", "root": "/x", "url": "https://dav.example/"}),
            "url",
        ),
        (json!({"kind": "smtp"}), "kind"),
        (json!({"root": "/x"}), "kind"),
    ];
    for (settings, key) in cases {
        let err = ConnectorSpec::from_json(settings.clone()).unwrap_err();
        assert_eq!(err.key, key, "{settings}: {err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

#[test]
fn secret_keys_and_relative_roots_follow_the_kind() {
    assert_eq!(secret_keys("dav"), ["password", "bearer_token"]);
    assert!(secret_keys("vdir").is_empty());
    let mut vdir = ConnectorSpec::from_json(json!({"kind": "vdir", "root": "mail/anna"})).unwrap();
    vdir.resolve_paths(std::path::Path::new("/srv"));
    assert_eq!(vdir.expose_json(), json!({"kind": "vdir", "root": "/srv/mail/anna"}));
    assert_eq!(vdir.requests_in_flight(), None);
}

// R-CFG-SPEC-1, R-TRACK-4: an imap connector reads the same from TOML and
// JSON, is checked the same way, tracks mail only and keeps its secrets.
#[test]
fn r_cfg_spec_1_imap_settings_are_checked_and_open_the_mail_side_only() {
    let from_toml: ConnectorSpec = toml::from_str(
        "kind = \"imap\"\nhost = \"imap.example\"\nport = 143\ntls = \"starttls\"\nusername = \"anna\"\n\
         password = \"hunter2\"\ntracking = { folder = \"Sales\", replies = false }",
    )
    .unwrap();
    let from_json = ConnectorSpec::from_json(json!({
        "kind": "imap", "host": "imap.example", "port": 143, "tls": "starttls", "username": "anna",
        "password": "hunter2", "tracking": { "folder": "Sales", "replies": false }
    }))
    .unwrap();
    assert_eq!(from_toml, from_json);
    assert_eq!(secret_keys("imap"), ["password", "bearer_token"]);
    assert!(!format!("{from_json:?}").contains("hunter2"));
    assert!(
        from_json.open(crmsync_connector::OpenOptions::default()).is_err(),
        "no contacts, events or tasks over IMAP"
    );
    let (_, tracking) = from_json
        .open_mail(crmsync_connector::OpenOptions::default())
        .expect("imap tracks mail")
        .unwrap();
    assert_eq!(
        (tracking.folder.as_str(), tracking.keyword.as_str(), tracking.replies),
        ("Sales", "$CRM", false)
    );
    let dav = ConnectorSpec::from_json(json!({"kind": "dav", "url": "https://dav.example/"})).unwrap();
    assert!(dav.open_mail(crmsync_connector::OpenOptions::default()).is_none());

    let cases = [
        (
            json!({"kind": "imap", "host": "", "username": "a", "password": "hunter2"}),
            "host",
        ),
        (json!({"kind": "imap", "host": "h", "username": "a"}), "password"),
        (
            json!({"kind": "imap", "host": "h", "username": "a", "password": "hunter2", "bearer_token": "t"}),
            "password",
        ),
        (
            json!({"kind": "imap", "host": "h", "username": "a", "password": "p", "tls": "ssl"}),
            "connector",
        ),
        (
            json!({"kind": "imap", "host": "h", "username": "a", "password": "p", "tracking": {"keyword": "two words"}}),
            "tracking",
        ),
    ];
    for (settings, key) in cases {
        let err = ConnectorSpec::from_json(settings.clone()).unwrap_err();
        assert_eq!(err.key, key, "{settings}: {err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

// R-CFG-SPEC-1, R-GRAPH-1: a Graph profile reads the same from TOML and JSON,
// its secret is a sealed key, and unusable settings name their key.
#[test]
fn r_cfg_spec_1_graph_settings_are_checked_and_their_secret_is_sealed() {
    let from_toml: ConnectorSpec = toml::from_str(
        "kind = \"graph\"\ntenant = \"contoso.onmicrosoft.com\"\nmailbox = \"anna@contoso.com\"\nclient_id = \"app\"\nclient_secret = { env = \"GRAPH_SECRET\" }",
    )
    .unwrap();
    let from_json = ConnectorSpec::from_json(json!({
        "kind": "graph", "tenant": "contoso.onmicrosoft.com", "mailbox": "anna@contoso.com",
        "client_id": "app", "client_secret": { "env": "GRAPH_SECRET" }
    }))
    .unwrap();
    assert_eq!(from_toml, from_json);
    assert_eq!(from_json.kind(), "graph");
    assert_eq!(
        from_json.requests_in_flight(),
        Some(80),
        "4 batches (Exchange's limit per mailbox) of 20 creates, R-GRAPH-17"
    );
    assert_eq!(secret_keys("graph"), ["client_secret", "certificate"]);
    let base = json!({"kind": "graph", "tenant": "t", "mailbox": "anna@contoso.com", "client_id": "app", "client_secret": "hunter2"});
    for (change, key) in [
        (json!({"concurrency": 8}), "concurrency"),
        (json!({"base_url": "ftp://graph"}), "base_url"),
        (json!({"client_id": ""}), "client_id"),
        (json!({"mailbox": "a/b"}), "mailbox"),
        (json!({"subscription_minutes": 5000}), "subscription_minutes"),
        (json!({"auth": "certificate"}), "certificate"),
        (json!({"certificate": "-----BEGIN PRIVATE KEY-----"}), "certificate"),
    ] {
        let mut settings = base.clone();
        for (k, v) in change.as_object().unwrap() {
            settings[k] = v.clone();
        }
        let err = ConnectorSpec::from_json(settings.clone()).unwrap_err();
        assert_eq!(err.key, key, "{settings}: {err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
