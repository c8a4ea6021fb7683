//! Dashboard pages (issue #16, R-BENCH-9): the server time of the home
//! page with 1,000 profiles and of the conflicts page with 500 open
//! conflicts, p99 over repeated requests, and the bytes each page sends.
//!
//! The router is the one `crmsync serve` mounts (API + dashboard), called
//! in-process with a signed-in admin's session cookie, on a SQLite database
//! holding the profiles, one finished run each and the conflicts. Server
//! time is from the request entering the router to the last body byte,
//! without a network in between: the page's own cost, which is what the
//! 50 ms target is about.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use chrono::Utc;
use crmsync_model::{Role, UserFields};
use crmsync_server::{AppState, router};
use crmsync_service::{ProfileCatalog, ProfileSource};
use crmsync_store::Store;
use crmsync_store::status::{ConflictRow, RunState};
use crmsync_testkit::{Backend, TestDatabase};
use serde_json::json;
use tower::ServiceExt as _;

use crate::data;
use crate::error::BenchError;
use crate::latency::percentile;
use crate::report::{Report, Standing};

const SECTION: &str = "dashboard";
const TARGET: &str = "<= 50 ms p99";

/// The page sizes of issue #16.
pub struct Sizes {
    pub profiles: usize,
    pub conflicts: usize,
    /// Requests timed per page.
    pub requests: usize,
}

/// Seeds the database, signs an admin in and times both pages.
pub async fn run(sizes: &Sizes, report: &mut Report) -> Result<(), BenchError> {
    let db = TestDatabase::create(Backend::Sqlite, "crmsync_bench_pages").await;
    let store = Store::connect(db.url()).await?;
    store.migrate().await?;
    let root = tempfile::tempdir().map_err(BenchError::io("creating a temp folder"))?;
    let token = seed(&store, root.path(), sizes).await?;
    let app = router(AppState::new(store.clone()).with_catalog(ProfileCatalog::new(store.clone(), None)));
    let cookie = sign_in(&app, &token).await?;
    for (path, what) in [
        ("/", format!("home page, {} profiles", sizes.profiles)),
        ("/conflicts", format!("conflicts page, {} conflicts", sizes.conflicts)),
    ] {
        let (times, bytes) = time_page(&app, &cookie, path, sizes.requests).await?;
        let (Some(p99), Some(p50)) = (percentile(&times, 99.0), percentile(&times, 50.0)) else {
            return Err(BenchError::Unexpected(format!("no request of {path} was timed")));
        };
        report.add(
            SECTION,
            format!("{what}: server time p99 (p50)"),
            format!("{:.1} ms ({:.1} ms)", ms(p99), ms(p50)),
            TARGET,
            Standing::of(p99 <= Duration::from_millis(50)),
        );
        report.add(
            SECTION,
            format!("{what}: bytes sent"),
            format!("{:.0} KiB", bytes as f64 / 1024.0),
            "(context)",
            Standing::Info,
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// An admin owning `profiles` vdir profiles, each with one finished run,
/// and `conflicts` open conflicts spread over the first profiles. Returns
/// the admin's API token.
async fn seed(store: &Store, root: &std::path::Path, sizes: &Sizes) -> Result<String, BenchError> {
    let (admin, token) = store
        .records()
        .create_user(UserFields {
            role: Role::Admin,
            ..UserFields::active_user("Admin", "admin@example.com")
        })
        .await?;
    let catalog = ProfileCatalog::new(store.clone(), None);
    let tomorrow = Utc::now() + chrono::Duration::days(1);
    let summary = json!({"contacts": {"groupware create": 3, "status pair": 3}}).to_string();
    for p in 0..sizes.profiles {
        let name = format!("profile-{p:04}");
        let definition = data::vdir_profile(&name, &admin.meta.id, &root.join(&name))?;
        catalog.save(&definition, ProfileSource::Api, tomorrow).await?;
        let run = store.sync_state().begin_run(&name).await?;
        store
            .sync_state()
            .finish_run(&run.id, RunState::Ok, Some(&summary), None)
            .await?;
    }
    let fields = json!([
        {"key": "last_name", "base": "Old", "crm": "Crm", "groupware": "Groupware"},
        {"key": "job_title", "base": "Analyst", "crm": "Lead", "groupware": "Director"},
    ])
    .to_string();
    for c in 0..sizes.conflicts {
        let profile = format!("profile-{:04}", c % sizes.profiles.max(1));
        store
            .sync_state()
            .add_conflict(&ConflictRow {
                id: format!("conflict-{c:04}"),
                profile,
                collection: "contacts".into(),
                pair_id: format!("pair-{c}"),
                crm_id: format!("record-{c}"),
                href: format!("item-{c}.vcf"),
                fields: fields.clone(),
                created_at: Utc::now(),
                resolved_at: None,
                resolution: None,
            })
            .await?;
    }
    Ok(token)
}

/// The value `Set-Cookie` gives cookie `name`.
fn cookie_of(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Signs in through the dashboard's form; returns the `Cookie` header value.
async fn sign_in(app: &axum::Router, token: &str) -> Result<String, BenchError> {
    let form = app
        .clone()
        .oneshot(Request::get("/sign-in").body(Body::empty()).unwrap())
        .await
        .map_err(|e| BenchError::Api(e.to_string()))?;
    let pre = cookie_of(form.headers(), crmsync_web::SIGN_IN_COOKIE)
        .ok_or_else(|| BenchError::Api("the sign-in form set no cookie".into()))?;
    let html = body_text(form.into_body()).await?;
    let at = html
        .find("name=\"csrf\" value=\"")
        .ok_or_else(|| BenchError::Api("the sign-in form has no CSRF field".into()))?
        + 19;
    let csrf = html[at..].split('"').next().unwrap_or_default();
    let done = app
        .clone()
        .oneshot(
            Request::post("/sign-in")
                .header(header::COOKIE, format!("{}={pre}", crmsync_web::SIGN_IN_COOKIE))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf={csrf}&token={token}")))
                .unwrap(),
        )
        .await
        .map_err(|e| BenchError::Api(e.to_string()))?;
    let session = cookie_of(done.headers(), crmsync_web::SESSION_COOKIE)
        .ok_or_else(|| BenchError::Api(format!("sign-in answered {} without a session", done.status())))?;
    Ok(format!("{}={session}", crmsync_web::SESSION_COOKIE))
}

async fn body_text(body: Body) -> Result<String, BenchError> {
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| BenchError::Api(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `requests` timed GETs of `path` (after one untimed warm-up); returns
/// the times and the size of the last body.
async fn time_page(
    app: &axum::Router,
    cookie: &str,
    path: &str,
    requests: usize,
) -> Result<(Vec<Duration>, usize), BenchError> {
    let mut times = Vec::with_capacity(requests);
    let mut bytes = 0;
    for i in 0..=requests {
        let request = Request::get(path)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        let started = Instant::now();
        let reply = app
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| BenchError::Api(e.to_string()))?;
        if !reply.status().is_success() {
            return Err(BenchError::Api(format!("GET {path} answered {}", reply.status())));
        }
        let body = axum::body::to_bytes(reply.into_body(), usize::MAX)
            .await
            .map_err(|e| BenchError::Api(e.to_string()))?;
        let took = started.elapsed();
        bytes = body.len();
        if i > 0 {
            times.push(took);
        }
    }
    Ok((times, bytes))
}
