//! The dashboard's profile settings (R-WEB-10): create, edit and disable
//! through the API's catalog calls, with the API's rights, kept secrets
//! and versions; the connection test against a real Radicale names the
//! step that failed and lists the collections to choose from.

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::Utc;
use common::World;
use crmsync_server::{AppState, router};
use crmsync_service::{ManualClock, ProfileCatalog, ProfileView, SecretKey};
use crmsync_testkit::{PASSWORD, Peer, PeerKind, USER, free_port};

use crate::common;
use crate::dashboard::{Session, get, post, sign_in};

/// The world serving the database's profiles (with a key) on the dashboard.
fn settings(mut w: World) -> (World, ProfileCatalog) {
    let catalog = ProfileCatalog::new(w.store.clone(), Some(SecretKey::generate()));
    let clock = Arc::new(ManualClock::new(Utc::now()));
    w.app = router(
        AppState::new(w.store.clone())
            .with_catalog(catalog.clone())
            .with_clock(clock),
    );
    (w, catalog)
}

async fn view(catalog: &ProfileCatalog, name: &str) -> ProfileView {
    catalog.view(name).await.unwrap().expect("the profile exists")
}

/// Creates a dav profile over the dashboard's form.
async fn create_dav(w: &World, s: &Session, name: &str, url: &str, password: &str) -> StatusCode {
    let page = post(
        w,
        s,
        "/profiles",
        &[
            ("csrf", &s.csrf),
            ("name", name),
            ("kind", "dav"),
            ("url", url),
            ("username", USER),
            ("password", password),
            ("pull_interval_secs", "600"),
            ("push", "on"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert!(
        !page.html.contains(password),
        "no page shows the password: {}",
        page.html
    );
    page.status
}

// R-WEB-10 (with R-SVC-API-1, R-SVC-API-3, R-PERM-2): a user creates,
// edits and disables their own profile over the forms; a password left
// empty is kept only while the server stays; a stale form is refused.
on_both!(r_web_10_profile_settings_create_edit_disable_as_the_api, |w| {
    let (w, catalog) = settings(w);
    let alice = sign_in(&w, &w.alice.token).await;
    let new = get(&w, &alice, "/profiles/new").await;
    assert_eq!(new.status, StatusCode::OK);
    assert!(new.html.contains("name=\"password\""), "{}", new.html);
    assert!(!new.html.contains("value=\"vdir\""), "vdir is for admins: {}", new.html);

    let url = "https://dav.example.org/";
    assert_eq!(create_dav(&w, &alice, "alice-dav", url, PASSWORD).await, StatusCode::OK);
    let v = view(&catalog, "alice-dav").await;
    assert_eq!(v.user_id, w.alice.id, "the caller's");
    assert_eq!(v.source, "api");
    assert!(v.has_credentials && v.enabled && v.push);
    assert_eq!(v.connector["url"], url);
    assert_eq!(v.pull_interval_secs, 600);
    let list = get(&w, &alice, "/profiles").await;
    assert!(list.html.contains("id=\"settings-alice-dav\""), "{}", list.html);
    let edit = get(&w, &alice, "/profiles/alice-dav/edit").await;
    assert!(!edit.html.contains(PASSWORD), "{}", edit.html);

    // The same name again: the API's 409.
    assert_eq!(
        create_dav(&w, &alice, "alice-dav", url, PASSWORD).await,
        StatusCode::CONFLICT
    );
    // A vdir reads the crmsync host's files: admins only, as over the API.
    let vdir = post(
        &w,
        &alice,
        "/profiles",
        &[
            ("csrf", &alice.csrf),
            ("name", "alice-files"),
            ("kind", "vdir"),
            ("root", "/etc"),
        ],
    )
    .await;
    assert_eq!(vdir.status, StatusCode::FORBIDDEN, "{}", vdir.html);
    assert!(catalog.view("alice-files").await.unwrap().is_none());

    // Edit with the password left empty: kept, the rest changed.
    let edited = post(
        &w,
        &alice,
        "/profiles/alice-dav/edit",
        &[
            ("csrf", &alice.csrf),
            ("version", "1"),
            ("url", url),
            ("username", USER),
            ("password", ""),
            ("pull_interval_secs", "1200"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.html);
    let v = view(&catalog, "alice-dav").await;
    assert_eq!((v.version, v.pull_interval_secs, v.push), (2, 1200, false));
    let row = w.store.catalog().profile_row("alice-dav").await.unwrap().unwrap();
    match &catalog.definition_of(&row).unwrap().connector {
        crmsync_service::ConnectorSpec::Dav(dav) => assert!(
            dav.password.as_ref().is_some_and(|p| p.is_value()),
            "the stored password is kept"
        ),
        other => panic!("expected a dav connector, got {other:?}"),
    }
    // ...but not for another server: the password could go there (R-SVC-API-3).
    let moved = post(
        &w,
        &alice,
        "/profiles/alice-dav/edit",
        &[
            ("csrf", &alice.csrf),
            ("version", "2"),
            ("url", "https://evil.example.net/"),
            ("username", USER),
            ("password", ""),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(moved.status, StatusCode::BAD_REQUEST, "{}", moved.html);
    assert!(moved.html.contains("password"), "{}", moved.html);
    assert_eq!(view(&catalog, "alice-dav").await.connector["url"], url);

    // A stale form changes nothing.
    let stale = post(
        &w,
        &alice,
        "/profiles/alice-dav/enabled",
        &[("csrf", &alice.csrf), ("version", "1"), ("enabled", "false")],
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.html);
    assert!(view(&catalog, "alice-dav").await.enabled);
    let off = post(
        &w,
        &alice,
        "/profiles/alice-dav/enabled",
        &[("csrf", &alice.csrf), ("version", "2"), ("enabled", "false")],
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.html);
    let v = view(&catalog, "alice-dav").await;
    assert!(!v.enabled && v.has_credentials, "disabled, nothing else changed");
    assert_eq!(v.pull_interval_secs, 1200);
    assert!(
        get(&w, &alice, "/profiles")
            .await
            .html
            .contains("data-enabled=\"false\"")
    );
});

// R-WEB-10 with R-WEB-2 and R-WEB-6: bob neither sees nor changes alice's
// profile on any settings page or form, and no form works without the
// session's CSRF token.
on_both!(r_web_10_settings_are_the_owners_and_need_the_csrf_token, |w| {
    let (w, catalog) = settings(w);
    let alice = sign_in(&w, &w.alice.token).await;
    assert_eq!(
        create_dav(&w, &alice, "alice-dav", "https://dav.example.org/", PASSWORD).await,
        StatusCode::OK
    );
    let bob = sign_in(&w, &w.bob.token).await;
    assert!(!get(&w, &bob, "/profiles").await.html.contains("alice-dav"));
    for path in ["/profiles/alice-dav/edit", "/profiles/alice-dav/test"] {
        assert_eq!(get(&w, &bob, path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let forms: [(&str, Vec<(&str, &str)>); 3] = [
        (
            "/profiles/alice-dav/edit",
            vec![
                ("version", "1"),
                ("url", "https://dav.example.org/"),
                ("username", "bob"),
                ("enabled", "on"),
            ],
        ),
        (
            "/profiles/alice-dav/enabled",
            vec![("version", "1"), ("enabled", "false")],
        ),
        (
            "/profiles/alice-dav/collection",
            vec![("version", "1"), ("class", "contacts"), ("href", "/bob/x/")],
        ),
    ];
    for (path, fields) in &forms {
        let mut with_token = fields.clone();
        with_token.push(("csrf", &bob.csrf));
        let page = post(&w, &bob, path, &with_token).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "bob: {path}: {}", page.html);
        // Alice's own forms without her token: refused before anything else.
        for csrf in [None, Some("forged")] {
            let mut fields = fields.clone();
            if let Some(c) = csrf {
                fields.push(("csrf", c));
            }
            let page = post(&w, &alice, path, &fields).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} {csrf:?}");
            assert!(page.html.contains("nothing was done"), "{}", page.html);
        }
    }
    let page = post(
        &w,
        &alice,
        "/profiles",
        &[
            ("name", "alice-two"),
            ("kind", "dav"),
            ("url", "https://dav.example.org/"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(catalog.view("alice-two").await.unwrap().is_none());
    let v = view(&catalog, "alice-dav").await;
    assert_eq!((v.version, v.enabled), (1, true), "nothing changed: {v:?}");
    assert!(v.connector.get("collections").is_none());

    // The admin sees and manages everyone's.
    let admin = sign_in(&w, &w.admin.token).await;
    assert!(get(&w, &admin, "/profiles").await.html.contains("settings-alice-dav"));
    assert_eq!(get(&w, &admin, "/profiles/alice-dav/edit").await.status, StatusCode::OK);
});

/// The connection test page of `name`, with the step that failed (empty: none).
async fn tested(w: &World, s: &Session, name: &str) -> (String, String) {
    let page = get(w, s, &format!("/profiles/{name}/test")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let at = page.html.find("data-failed-step=\"").expect("a verdict") + 18;
    let step = page.html[at..].split('"').next().unwrap().to_string();
    (step, page.html)
}

// R-WEB-10 (with R-COL-3): the connection test names the step that failed
// (DNS, TCP, TLS, sign-in, a named collection missing) against a real
// Radicale, and lists the mailbox's collections with a button that makes
// the profile use one.
#[tokio::test]
async fn r_web_10_connection_test_names_the_failed_step_and_lists_collections() {
    let (w, catalog) = settings(World::new().await);
    let radicale = Peer::start(PeerKind::RadicaleWithPassword);
    // The admin's profiles reach loopback (R-SEC-1 is for non-admin users).
    let admin = sign_in(&w, &w.admin.token).await;
    let closed = format!("http://127.0.0.1:{}/", free_port());
    let tls = format!("https://127.0.0.1:{}/", radicale.port);
    let plain = radicale.url();
    for (name, url, password, step) in [
        ("dns", "http://no-such-host.invalid/", PASSWORD, "DNS"),
        ("tcp", closed.as_str(), PASSWORD, "TCP"),
        ("tls", tls.as_str(), PASSWORD, "TLS"),
        ("auth", plain.as_str(), "wrong-password", "sign-in"),
        ("good", plain.as_str(), PASSWORD, ""),
    ] {
        assert_eq!(create_dav(&w, &admin, name, url, password).await, StatusCode::OK);
        let (failed, html) = tested(&w, &admin, name).await;
        assert_eq!(failed, step, "{name}: {html}");
    }
    let (_, html) = tested(&w, &admin, "auth").await;
    assert!(html.contains("user name or password"), "{html}");

    // A collection made beside crmsync's: listed, with a button to use it.
    let href = format!("/{USER}/work/");
    let made = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(b"MKCOL").unwrap(),
            format!("{}{}", plain.trim_end_matches('/'), href),
        )
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", "application/xml")
        .body(
            "<?xml version=\"1.0\"?><D:mkcol xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:carddav\">\
             <D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>\
             <D:displayname>Work</D:displayname></D:prop></D:set></D:mkcol>",
        )
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success(), "{}", made.status());
    let (failed, html) = tested(&w, &admin, "good").await;
    assert_eq!(failed, "", "{html}");
    assert!(html.contains(&format!("data-href=\"{href}\"")), "{html}");
    assert!(html.contains("Use for contacts"), "{html}");
    let version = view(&catalog, "good").await.version.to_string();
    let chose = post(
        &w,
        &admin,
        "/profiles/good/collection",
        &[
            ("csrf", &admin.csrf),
            ("version", &version),
            ("class", "contacts"),
            ("href", &href),
        ],
    )
    .await;
    assert_eq!(chose.status, StatusCode::OK, "{}", chose.html);
    let v = view(&catalog, "good").await;
    assert_eq!(v.connector["collections"]["contacts"], href.as_str());
    assert!(v.has_credentials, "the password is kept");
    let (failed, html) = tested(&w, &admin, "good").await;
    assert_eq!(failed, "", "{html}");
    assert!(!html.contains("Use for contacts"), "in use now: {html}");

    // A named collection the mailbox lacks fails the last step.
    let version = v.version.to_string();
    let missing = post(
        &w,
        &admin,
        "/profiles/good/collection",
        &[
            ("csrf", &admin.csrf),
            ("version", &version),
            ("class", "contacts"),
            ("href", &format!("/{USER}/gone/")),
        ],
    )
    .await;
    assert_eq!(missing.status, StatusCode::OK, "{}", missing.html);
    let (failed, html) = tested(&w, &admin, "good").await;
    assert_eq!(failed, "collections", "{html}");

    // A non-admin's profile does not reach loopback, and the test says so
    // without connecting (R-SEC-1).
    let alice = sign_in(&w, &w.alice.token).await;
    assert_eq!(
        create_dav(&w, &alice, "alice-local", &plain, PASSWORD).await,
        StatusCode::OK
    );
    let (failed, html) = tested(&w, &alice, "alice-local").await;
    assert_eq!(failed, "DNS", "{html}");
    assert!(html.contains("R-SEC-1"), "{html}");
}

// R-WEB-3-PAGE: the home page shows 100 profiles per page, in name order,
// with the counts of all of them on top and links to the other pages.
#[tokio::test]
async fn r_web_3_page_home_lists_a_hundred_profiles_per_page_with_counts() {
    let (w, catalog) = settings(World::new().await);
    let carol = crate::push::person(&w, "Carol").await;
    for i in 0..101 {
        crate::dashboard_live::vdir_profile(&w, &format!("p-{i:03}"), &carol).await;
    }
    let admin = sign_in(&w, &w.admin.token).await;
    let version = view(&catalog, "p-100").await.version.to_string();
    let off = post(
        &w,
        &admin,
        "/profiles/p-100/enabled",
        &[("csrf", &admin.csrf), ("version", &version), ("enabled", "false")],
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.html);

    let sections = |html: &str| html.matches("<section class=\"profile\"").count();
    let first = get(&w, &admin, "/").await;
    assert_eq!(sections(&first.html), 100);
    assert!(
        first.html.contains("101 profiles: 0 failing, 1 paused."),
        "{}",
        first.html
    );
    assert!(first.html.contains("id=\"profile-p-099\"") && !first.html.contains("id=\"profile-p-100\""));
    assert!(first.html.contains("href=\"/?page=2\""), "{}", first.html);
    let second = get(&w, &admin, "/?page=2").await;
    assert_eq!(sections(&second.html), 1);
    assert!(second.html.contains("id=\"profile-p-100\""), "{}", second.html);
    assert!(second.html.contains("101 profiles: 0 failing, 1 paused."));
    assert!(second.html.contains("href=\"/?page=1\""), "{}", second.html);
    for bad in ["/?page=3", "/?page=0", "/?page=x"] {
        assert_eq!(get(&w, &admin, bad).await.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // A user's counts are their own profiles'.
    let bob = sign_in(&w, &w.bob.token).await;
    let home = get(&w, &bob, "/").await;
    assert_eq!(sections(&home.html), 0);
    assert!(!home.html.contains("profiles:"), "{}", home.html);
}
