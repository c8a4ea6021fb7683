//! R-WEB-13: the admin's workers-and-leases and metrics pages, read from
//! the database the workers share; other users get 404 as for a missing page.

use axum::http::StatusCode;
use chrono::Duration;
use common::World;
use common::service::{server_mode, settle};
use crmsync_service::Clock as _;
use crmsync_store::status::RunState;

use crate::common;
use crate::dashboard::{get, sign_in};
use crate::dashboard_live::vdir_profile;
use crate::push::person;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_web_13_workers_leases_and_metrics_for_admins_only() {
    let mut w = World::new().await;
    let mode = server_mode(&mut w).await;
    let mut rx = mode.scheduler.subscribe();
    let carol = person(&w, "Carol").await;
    vdir_profile(&w, "carol", &carol).await;
    vdir_profile(&w, "carol-2", &carol).await;
    let ended = settle(&mode.scheduler, &mut rx).await;
    assert_eq!(ended.len(), 2, "{ended:?}");
    // One more run that failed, as another worker would have recorded it.
    let runs = w.store.sync_state();
    let failed = runs.begin_run("carol").await.unwrap();
    runs.finish_run(&failed.id, RunState::Failed, None, Some("down"))
        .await
        .unwrap();
    // Another worker holds carol-2's lease now.
    let now = mode.clock.now();
    mode.scheduler.notify(&["carol-2".to_string()]).await.unwrap();
    let claimed = w
        .store
        .catalog()
        .claim_due_profiles("worker-elsewhere", now, now + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    let admin = sign_in(&w, &w.admin.token).await;
    let workers = get(&w, &admin, "/admin/workers").await;
    assert_eq!(workers.status, StatusCode::OK, "{}", workers.html);
    assert!(
        workers.html.contains("test-worker"),
        "this server's scheduler: {}",
        workers.html
    );
    let row = workers
        .html
        .split("data-profile=\"carol-2\"")
        .nth(1)
        .expect("carol-2's lease");
    let row = row.split("</tr>").next().unwrap();
    assert!(row.contains("worker-elsewhere") && row.contains("live"), "{row}");

    let metrics = get(&w, &admin, "/admin/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK, "{}", metrics.html);
    assert!(metrics.html.contains("3 runs, 1 failed"), "{}", metrics.html);
    for chart in ["runs-per-minute", "failed-runs", "p99-run-time"] {
        assert!(metrics.html.contains(&format!("<figure id=\"{chart}\"")), "{chart}");
    }
    assert!(metrics.html.contains("<svg"), "{}", metrics.html);
    // A day later those runs are out of the window.
    mode.clock.advance(Duration::hours(25));
    // (The session has expired meanwhile: sign in again.)
    let admin = sign_in(&w, &w.admin.token).await;
    let later = get(&w, &admin, "/admin/metrics").await;
    assert!(later.html.contains("0 runs, 0 failed"), "{}", later.html);

    let user = sign_in(&w, &carol.token).await;
    for path in ["/admin/workers", "/admin/metrics"] {
        assert_eq!(get(&w, &user, path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(
        !get(&w, &user, "/").await.html.contains("/admin/"),
        "no admin links for users"
    );
}
