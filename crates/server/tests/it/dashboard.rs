//! The web dashboard mounted at `/` (issue #16), driven in-process through
//! the server's router like a browser without JavaScript would: sign-in
//! (R-WEB-1), CSRF (R-WEB-2), the pages (R-WEB-3..5) and their permissions
//! (R-WEB-6). The end-to-end test in a real Chromium is in the app crate.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::Utc;
use common::World;
use crmsync_server::{AppState, router};
use crmsync_service::ManualClock;
use tower::ServiceExt;

use crate::common;
use crate::sync_routes::{conflict_on, vdir_profiles};

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) html: String,
}

impl Page {
    fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The `Set-Cookie` header that sets `name`.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self
            .html
            .find("name=\"csrf\" value=\"")
            .expect("a form with a csrf field")
            + 19;
        self.html[at..].split('"').next().unwrap().to_string()
    }
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string()
}

/// Percent-encodes a form value (tokens are base64url, ids are UUIDs: enough).
pub(crate) fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.replace('%', "%25")
                    .replace('+', "%2B")
                    .replace('&', "%26")
                    .replace('=', "%3D")
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The world with alice's and bob's vdir profiles and a clock the test drives.
pub(crate) fn dashboard(mut w: World, secure: bool) -> (World, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let state = AppState::new(w.store.clone())
        .with_profiles(vdir_profiles(&w))
        .with_clock(clock.clone())
        .with_secure_cookies(secure);
    w.app = router(state);
    (w, clock)
}

pub(crate) async fn send(w: &World, method: Method, path: &str, cookies: &[String], body: Option<String>) -> Page {
    let mut req = Request::builder().method(method).uri(path);
    if !cookies.is_empty() {
        req = req.header(header::COOKIE, cookies.join("; "));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(b)),
        None => req.body(Body::empty()),
    };
    let resp = w.app.clone().oneshot(req.unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    Page {
        status,
        headers,
        html: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A signed-in browser: its session cookie and its CSRF token.
pub(crate) struct Session {
    cookie: String,
    pub(crate) csrf: String,
    set_cookie: String,
}

impl Session {
    pub(crate) fn cookies(&self) -> Vec<String> {
        vec![format!("{}={}", crmsync_web::SESSION_COOKIE, self.cookie)]
    }
}

pub(crate) async fn sign_in(w: &World, token: &str) -> Session {
    let form_page = send(w, Method::GET, "/sign-in", &[], None).await;
    assert_eq!(form_page.status, StatusCode::OK);
    let sign_in_cookie = cookie_value(&form_page.set_cookie(crmsync_web::SIGN_IN_COOKIE).unwrap());
    let done = send(
        w,
        Method::POST,
        "/sign-in",
        &[format!("{}={sign_in_cookie}", crmsync_web::SIGN_IN_COOKIE)],
        Some(form(&[("csrf", &form_page.csrf()), ("token", token)])),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    assert_eq!(done.location(), Some("/"));
    let set_cookie = done.set_cookie(crmsync_web::SESSION_COOKIE).expect("a session cookie");
    let cookie = cookie_value(&set_cookie);
    let home = send(
        w,
        Method::GET,
        "/",
        &[format!("{}={cookie}", crmsync_web::SESSION_COOKIE)],
        None,
    )
    .await;
    assert_eq!(home.status, StatusCode::OK);
    Session {
        cookie,
        csrf: home.csrf(),
        set_cookie,
    }
}

pub(crate) async fn get(w: &World, s: &Session, path: &str) -> Page {
    send(w, Method::GET, path, &s.cookies(), None).await
}

pub(crate) async fn post(w: &World, s: &Session, path: &str, fields: &[(&str, &str)]) -> Page {
    send(w, Method::POST, path, &s.cookies(), Some(form(fields))).await
}

// R-WEB-1: signing in with the API token opens a server-side session whose
// cookie script cannot read and other sites cannot send; signing out ends it.
on_both!(r_web_1_sign_in_with_the_api_token_and_sign_out, |w| {
    let (w, _clock) = dashboard(w, false);
    // Without a session every page sends the browser to the sign-in form.
    for path in ["/", "/conflicts", "/record"] {
        let page = send(&w, Method::GET, path, &[], None).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location(), Some("/sign-in"), "{path}");
    }
    // A wrong token is refused with the form again.
    let form_page = send(&w, Method::GET, "/sign-in", &[], None).await;
    let sign_in_cookie = form_page.set_cookie(crmsync_web::SIGN_IN_COOKIE).unwrap();
    assert!(sign_in_cookie.contains("HttpOnly") && sign_in_cookie.contains("SameSite=Strict"));
    let wrong = send(
        &w,
        Method::POST,
        "/sign-in",
        &[format!(
            "{}={}",
            crmsync_web::SIGN_IN_COOKIE,
            cookie_value(&sign_in_cookie)
        )],
        Some(form(&[("csrf", &form_page.csrf()), ("token", "crm_not-a-token")])),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("not valid"), "{}", wrong.html);
    assert!(wrong.set_cookie(crmsync_web::SESSION_COOKIE).is_none());

    let s = sign_in(&w, &w.alice.token).await;
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(s.set_cookie.contains(attribute), "{attribute}: {}", s.set_cookie);
    }
    assert!(!s.set_cookie.contains("Secure"), "{}", s.set_cookie);
    let home = get(&w, &s, "/").await;
    assert!(home.html.contains("Signed in as Alice"), "{}", home.html);

    let out = post(&w, &s, "/sign-out", &[("csrf", &s.csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.set_cookie(crmsync_web::SESSION_COOKIE)
            .unwrap()
            .contains("Max-Age=0")
    );
    // The old cookie no longer opens anything: the session is gone server-side.
    let after = get(&w, &s, "/").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), Some("/sign-in"));
});

// R-WEB-1: the session ends at its expiry on the server's clock, and when
// the token it was opened with is rotated.
on_both!(
    r_web_1_sessions_expire_on_the_server_clock_and_with_a_rotated_token,
    |w| {
        let (w, clock) = dashboard(w, false);
        let s = sign_in(&w, &w.alice.token).await;
        clock.advance(crmsync_web::DEFAULT_SESSION_TTL - chrono::Duration::minutes(1));
        assert_eq!(get(&w, &s, "/").await.status, StatusCode::OK);
        clock.advance(chrono::Duration::minutes(2));
        let expired = get(&w, &s, "/").await;
        assert_eq!(expired.status, StatusCode::SEE_OTHER);
        assert_eq!(expired.location(), Some("/sign-in"));

        let s = sign_in(&w, &w.bob.token).await;
        w.store.records().rotate_token(&w.bob.id).await.unwrap();
        assert_eq!(get(&w, &s, "/").await.status, StatusCode::SEE_OTHER);
    }
);

// R-WEB-1: behind TLS the cookie is `Secure`.
#[tokio::test]
async fn r_web_1_cookies_are_secure_when_configured() {
    let (w, _clock) = dashboard(World::new().await, true);
    let s = sign_in(&w, &w.alice.token).await;
    assert!(s.set_cookie.contains("; Secure"), "{}", s.set_cookie);
}

// R-WEB-2: every form without the session's CSRF token is refused with a
// page that says so, and nothing is done.
on_both!(r_web_2_forms_without_the_csrf_token_are_refused, |w| {
    let (w, _clock) = dashboard(w, false);
    let s = sign_in(&w, &w.alice.token).await;
    assert_eq!(
        post(&w, &s, "/profiles/alice/run", &[("csrf", &s.csrf)]).await.status,
        StatusCode::OK
    );
    let pair = w.store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    w.store.sync_state().add_conflict(&conflict_on(&pair)).await.unwrap();
    let runs_before = w.store.sync_state().runs("alice", 50).await.unwrap().len();

    let forms: [(&str, Vec<(&str, &str)>); 4] = [
        ("/profiles/alice/run", vec![]),
        ("/profiles/alice/reset", vec![("collection", "contacts")]),
        ("/conflicts/conflict-1/resolve", vec![("take", "crm")]),
        ("/sign-out", vec![]),
    ];
    for (path, fields) in &forms {
        for csrf in [None, Some("forged"), Some("")] {
            let mut fields = fields.clone();
            if let Some(c) = csrf {
                fields.push(("csrf", c));
            }
            let page = post(&w, &s, path, &fields).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} {csrf:?}");
            assert!(page.html.contains("nothing was done"), "{}", page.html);
        }
    }
    // Another session's token is no better.
    let other = sign_in(&w, &w.alice.token).await;
    let page = post(
        &w,
        &s,
        "/conflicts/conflict-1/resolve",
        &[("take", "crm"), ("csrf", &other.csrf)],
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // Nothing happened: no run, the conflict open, the pairs kept, still signed in.
    assert_eq!(w.store.sync_state().runs("alice", 50).await.unwrap().len(), runs_before);
    assert_eq!(
        w.store.sync_state().open_conflicts(Some("alice")).await.unwrap().len(),
        1
    );
    assert!(
        !w.store
            .sync_state()
            .pairs("alice", "contacts")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(get(&w, &s, "/").await.status, StatusCode::OK);

    // The sign-in form needs its own token too (no login CSRF).
    let page = send(
        &w,
        Method::POST,
        "/sign-in",
        &[],
        Some(form(&[("token", &w.alice.token)])),
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.set_cookie(crmsync_web::SESSION_COOKIE).is_none());
});

// R-WEB-6: bob opens and posts nothing of alice's: every page and form
// answers as if it did not exist; an admin sees both.
on_both!(r_web_6_bob_cannot_open_alices_pages_or_post_her_forms, |w| {
    let (w, _clock) = dashboard(w, false);
    let alice = sign_in(&w, &w.alice.token).await;
    assert_eq!(
        post(&w, &alice, "/profiles/alice/run", &[("csrf", &alice.csrf)])
            .await
            .status,
        StatusCode::OK
    );
    let pair = w.store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    w.store.sync_state().add_conflict(&conflict_on(&pair)).await.unwrap();

    let bob = sign_in(&w, &w.bob.token).await;
    let home = get(&w, &bob, "/").await;
    assert!(
        home.html.contains("profile-bob") && !home.html.contains("profile-alice"),
        "{}",
        home.html
    );
    let conflicts = get(&w, &bob, "/conflicts").await;
    assert!(!conflicts.html.contains("conflict-1"), "{}", conflicts.html);
    let record = get(&w, &bob, &format!("/record?profile=alice&id={}", pair.crm_id)).await;
    assert_eq!(record.status, StatusCode::NOT_FOUND);
    // Bob's own profile, alice's record: as unknown as a missing one.
    let record = get(&w, &bob, &format!("/record?profile=bob&id={}", w.contacts.alice_own)).await;
    assert_eq!(record.status, StatusCode::NOT_FOUND);
    for (path, fields) in [
        ("/profiles/alice/run", vec![("csrf", bob.csrf.as_str())]),
        (
            "/profiles/alice/run",
            vec![("csrf", bob.csrf.as_str()), ("confirm_mass_delete", "true")],
        ),
        (
            "/profiles/alice/reset",
            vec![("csrf", bob.csrf.as_str()), ("collection", "contacts")],
        ),
        (
            "/conflicts/conflict-1/resolve",
            vec![("csrf", bob.csrf.as_str()), ("take", "groupware")],
        ),
    ] {
        let page = post(&w, &bob, path, &fields).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.html);
    }
    assert_eq!(
        w.store.sync_state().open_conflicts(Some("alice")).await.unwrap().len(),
        1
    );
    assert!(
        !w.store
            .sync_state()
            .pairs("alice", "contacts")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(w.store.sync_state().runs("alice", 50).await.unwrap().len(), 1);

    // alice sees her own; the admin sees both profiles and the conflict.
    let record = get(&w, &alice, &format!("/record?profile=alice&id={}", pair.crm_id)).await;
    assert_eq!(record.status, StatusCode::OK, "{}", record.html);
    let admin = sign_in(&w, &w.admin.token).await;
    let home = get(&w, &admin, "/").await;
    assert!(home.html.contains("profile-alice") && home.html.contains("profile-bob"));
    assert!(get(&w, &admin, "/conflicts").await.html.contains("conflict-1"));
});

// R-WEB-3: the home page says each profile's state; a failing one names the
// cause and offers the run that checks the fix.
#[tokio::test]
async fn r_web_3_home_shows_state_cause_and_fix() {
    let (w, _clock) = dashboard(World::new().await, false);
    let alice = sign_in(&w, &w.alice.token).await;
    let home = get(&w, &alice, "/").await;
    assert!(home.html.contains("data-state=\"not run yet\""), "{}", home.html);
    // A file stands where alice's contacts folder must be created.
    let contacts = w._dir.path().join("mailboxes/alice/contacts");
    std::fs::write(&contacts, b"not a folder").unwrap();
    let run = post(&w, &alice, "/profiles/alice/run", &[("csrf", &alice.csrf)]).await;
    assert!(run.status.is_server_error(), "{}", run.html);
    let home = get(&w, &alice, "/").await;
    assert!(home.html.contains("data-state=\"failing\""), "{}", home.html);
    assert!(home.html.contains("Cause: "), "{}", home.html);
    assert!(home.html.contains("Run now"), "{}", home.html);

    std::fs::remove_file(&contacts).unwrap();
    let run = post(&w, &alice, "/profiles/alice/run", &[("csrf", &alice.csrf)]).await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.html);
    assert!(run.html.contains("data-outcome=\"ok\""), "{}", run.html);
    let home = get(&w, &alice, "/").await;
    assert!(home.html.contains("data-state=\"ok\""), "{}", home.html);
    assert!(!home.html.contains("Cause: "), "{}", home.html);
}

// R-WEB-4: a conflict shows base, CRM and groupware per field; taking a
// side resolves it for the next run.
#[tokio::test]
async fn r_web_4_conflicts_side_by_side_and_take_a_side() {
    let (w, _clock) = dashboard(World::new().await, false);
    let alice = sign_in(&w, &w.alice.token).await;
    post(&w, &alice, "/profiles/alice/run", &[("csrf", &alice.csrf)]).await;
    let pair = w.store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    w.store.sync_state().add_conflict(&conflict_on(&pair)).await.unwrap();
    let home = get(&w, &alice, "/").await;
    assert!(home.html.contains("/conflicts?profile=alice#in-alice"), "{}", home.html);
    let page = get(&w, &alice, "/conflicts").await;
    for cell in [
        "<th scope=\"row\">last_name</th>",
        "<td>Old</td>",
        "<td class=\"crm\">Crm</td>",
        "<td class=\"groupware\">Groupware</td>",
    ] {
        assert!(page.html.contains(cell), "{cell}: {}", page.html);
    }
    let done = post(
        &w,
        &alice,
        "/conflicts/conflict-1/resolve",
        &[("csrf", &alice.csrf), ("take", "crm")],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("next run writes"), "{}", done.html);
    let pair = w.store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    assert_eq!(
        pair.base.get("last_name"),
        Some("Groupware"),
        "the base moved so the CRM's value wins"
    );
    let again = post(
        &w,
        &alice,
        "/conflicts/conflict-1/resolve",
        &[("csrf", &alice.csrf), ("take", "crm")],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(get(&w, &alice, "/conflicts").await.html.contains("No conflict waits"));
}

// R-WEB-4 with R-EDIT-3-THIRD: the per-field form has an "edit" choice with
// a text box (no script); the typed value lands in the CRM at once and on the
// groupware after the next run.
#[tokio::test]
async fn r_web_4_edit_and_take_writes_a_value_of_ones_own_to_both_sides() {
    use crmsync_model::ContactFields;
    let (w, _clock) = dashboard(World::new().await, false);
    let alice = sign_in(&w, &w.alice.token).await;
    post(&w, &alice, "/profiles/alice/run", &[("csrf", &alice.csrf)]).await;
    let pair = w.store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    let record = w.store.records().get::<ContactFields>(&pair.crm_id).await.unwrap();
    let name = record.fields.last_name.clone().unwrap();
    let fields = serde_json::json!([{"key": "last_name", "base": name, "crm": name, "groupware": "Byron"}]);
    let conflict = crmsync_store::status::ConflictRow {
        fields: fields.to_string(),
        ..conflict_on(&pair)
    };
    w.store.sync_state().add_conflict(&conflict).await.unwrap();
    let page = get(&w, &alice, "/conflicts").await;
    for part in [
        "id=\"conflict-conflict-1-0-edit\" name=\"field.last_name\" value=\"edit\"",
        "name=\"edit.last_name\"",
    ] {
        assert!(page.html.contains(part), "{part}: {}", page.html);
    }
    let form = [
        ("take", "fields"),
        ("field.last_name", "edit"),
        ("edit.last_name", "King"),
    ];
    // Without the CSRF token nothing happens.
    let forged = post(&w, &alice, "/conflicts/conflict-1/resolve", &form).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.html);
    let mut with_csrf = vec![("csrf", alice.csrf.as_str())];
    with_csrf.extend(form);
    let done = post(&w, &alice, "/conflicts/conflict-1/resolve", &with_csrf).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    let now = w.store.records().get::<ContactFields>(&pair.crm_id).await.unwrap();
    assert_eq!(now.fields.last_name.as_deref(), Some("King"), "in the CRM at once");
    post(&w, &alice, "/profiles/alice/run", &[("csrf", &alice.csrf)]).await;
    let contacts = w._dir.path().join("mailboxes/alice/contacts");
    let card = std::fs::read_dir(contacts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "vcf"))
        .unwrap();
    let text = std::fs::read_to_string(card).unwrap();
    assert!(text.contains("King"), "on the groupware after the run: {text}");
}

// R-WEB-6 with R-API-1 and R-API-14: the dashboard refuses the request
// lines the API refuses, before any page or the store sees them: a control
// character in the path or NUL in the query is 400, an overlong URI 414.
on_both!(
    r_web_6_control_characters_and_overlong_uris_are_refused_like_the_api,
    |w| {
        let (w, _clock) = dashboard(w, false);
        let s = sign_in(&w, &w.alice.token).await;
        for path in ["/record?profile=alice&id=a%00b", "/record?profile=al%00ice&id=x"] {
            assert_eq!(get(&w, &s, path).await.status, StatusCode::BAD_REQUEST, "{path}");
        }
        for path in ["/conflicts/c%00d/resolve", "/profiles/al%0Aice/run"] {
            let page = post(&w, &s, path, &[("csrf", &s.csrf), ("take", "crm")]).await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}: {}", page.html);
        }
        let long = format!("/record?profile=alice&q={}", "a".repeat(9 * 1024));
        assert_eq!(get(&w, &s, &long).await.status, StatusCode::URI_TOO_LONG);
        // An ordinary page still opens.
        assert_eq!(get(&w, &s, "/record?profile=alice&q=x").await.status, StatusCode::OK);
    }
);

// R-WEB-5, R-WEB-6: the record page finds records by name among those the
// user may read, and links each to its explanation.
on_both!(r_web_5_find_a_record_by_name_among_the_readable_ones, |w| {
    let (w, _clock) = dashboard(w, false);
    let alice = sign_in(&w, &w.alice.token).await;
    let found = get(&w, &alice, "/record?profile=alice&q=alicecontact").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.html);
    assert!(
        found.html.contains(&format!("id={}", w.contacts.alice_own)),
        "{}",
        found.html
    );
    // Bob's shared contact is readable, his private one is not.
    let found = get(&w, &alice, "/record?profile=alice&q=bobs").await;
    assert!(found.html.contains(&w.contacts.bob_readable), "{}", found.html);
    assert!(!found.html.contains(&w.contacts.bob_private), "{}", found.html);
    assert!(!found.html.contains("Bobsecret"), "{}", found.html);
    let found = get(&w, &alice, "/record?profile=alice&q=Alice%27s%20task").await;
    assert!(found.html.contains(&w.activities.alice_own), "{}", found.html);
    let bob = sign_in(&w, &w.bob.token).await;
    let found = get(&w, &bob, "/record?profile=bob&q=alicecontact").await;
    assert!(found.html.contains("No record you may read matches"), "{}", found.html);
});

// R-WEB-4-PAGE: the conflicts page shows 50 conflicts per page with the
// count of all on top, optionally one profile's only (as the home page
// links them); another user's profile there is 404.
#[tokio::test]
async fn r_web_4_page_conflicts_fifty_per_page_and_by_profile() {
    let (w, _clock) = dashboard(World::new().await, false);
    let alice = sign_in(&w, &w.alice.token).await;
    post(&w, &alice, "/profiles/alice/run", &[("csrf", &alice.csrf)]).await;
    let pair = w.store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    for i in 0..51 {
        let row = crmsync_store::status::ConflictRow {
            id: format!("conflict-{i:02}"),
            // One open conflict per pair: the page reads conflicts only.
            pair_id: format!("{}-{i}", pair.id),
            created_at: Utc::now() + chrono::Duration::seconds(i),
            ..conflict_on(&pair)
        };
        w.store.sync_state().add_conflict(&row).await.unwrap();
    }
    let sections = |html: &str| html.matches("<section class=\"conflict\"").count();
    let first = get(&w, &alice, "/conflicts").await;
    assert_eq!(sections(&first.html), 50);
    assert!(first.html.contains("51 open."), "{}", first.html);
    assert!(first.html.contains("href=\"/conflicts?page=2\""), "{}", first.html);
    let second = get(&w, &alice, "/conflicts?page=2").await;
    assert_eq!(sections(&second.html), 1);
    assert!(second.html.contains("id=\"conflict-conflict-50\""), "{}", second.html);
    let hers = get(&w, &alice, "/conflicts?profile=alice").await;
    assert!(hers.html.contains("51 open in alice."), "{}", hers.html);
    assert!(
        hers.html.contains("href=\"/conflicts?profile=alice&amp;page=2\""),
        "{}",
        hers.html
    );
    assert_eq!(
        get(&w, &alice, "/conflicts?page=3").await.status,
        StatusCode::BAD_REQUEST
    );
    let bob = sign_in(&w, &w.bob.token).await;
    assert_eq!(
        get(&w, &bob, "/conflicts?profile=alice").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(sections(&get(&w, &bob, "/conflicts").await.html), 0);
}

/// A stand-in for single sign-on: one pass phrase that proves alice (it
/// opens her session through her API token, which the test holds).
#[derive(Debug)]
struct PassPhrase {
    alice_token: String,
}

impl crmsync_web::Authenticator for PassPhrase {
    fn prompt(&self) -> crmsync_web::Prompt {
        crmsync_web::Prompt {
            label: "Your pass phrase",
            hint: "The one the test knows.",
        }
    }

    fn open_session<'a>(
        &'a self,
        store: &'a crmsync_store::Store,
        credential: &'a str,
        now: chrono::DateTime<Utc>,
        expires_at: chrono::DateTime<Utc>,
    ) -> futures_util::future::BoxFuture<'a, Result<Option<crmsync_store::NewWebSession>, crmsync_store::StoreError>>
    {
        Box::pin(async move {
            if credential != "open sesame" {
                return Ok(None);
            }
            store
                .records()
                .open_web_session(&self.alice_token, now, expires_at)
                .await
        })
    }
}

// R-WEB-15: the sign-in form asks for and checks what the server's
// authenticator says; with another one the API token no longer signs in.
#[tokio::test]
async fn r_web_15_sign_in_goes_through_the_servers_authenticator() {
    let mut w = World::new().await;
    let state = AppState::new(w.store.clone())
        .with_profiles(vdir_profiles(&w))
        .with_authenticator(Arc::new(PassPhrase {
            alice_token: w.alice.token.clone(),
        }));
    w.app = router(state);
    let form_page = send(&w, Method::GET, "/sign-in", &[], None).await;
    assert!(form_page.html.contains("Your pass phrase"), "{}", form_page.html);
    let sign_in_cookie = cookie_value(&form_page.set_cookie(crmsync_web::SIGN_IN_COOKIE).unwrap());
    let attempt = |credential: &'static str| {
        let w = &w;
        let csrf = form_page.csrf();
        let cookie = format!("{}={sign_in_cookie}", crmsync_web::SIGN_IN_COOKIE);
        async move {
            send(
                w,
                Method::POST,
                "/sign-in",
                &[cookie],
                Some(form(&[("csrf", &csrf), ("token", credential)])),
            )
            .await
        }
    };
    let token = w.alice.token.clone();
    let by_token = send(
        &w,
        Method::POST,
        "/sign-in",
        &[format!("{}={sign_in_cookie}", crmsync_web::SIGN_IN_COOKIE)],
        Some(form(&[("csrf", &form_page.csrf()), ("token", &token)])),
    )
    .await;
    assert_eq!(
        by_token.status,
        StatusCode::UNAUTHORIZED,
        "the API token is not this server's way in"
    );
    assert_eq!(attempt("open sesame?").await.status, StatusCode::UNAUTHORIZED);
    let done = attempt("open sesame").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let cookie = cookie_value(&done.set_cookie(crmsync_web::SESSION_COOKIE).unwrap());
    let home = send(
        &w,
        Method::GET,
        "/",
        &[format!("{}={cookie}", crmsync_web::SESSION_COOKIE)],
        None,
    )
    .await;
    assert!(home.html.contains("Signed in as Alice"), "{}", home.html);
}
