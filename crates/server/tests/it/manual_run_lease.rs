//! `POST /sync/profiles/{name}/run` holds the profile's lease like a
//! scheduled run (R-SCHED-3, R-SVC-13): refused with 409 and `Retry-After`
//! while another worker runs the profile, the lease given back after.

use crate::common;
use axum::http::{Method, StatusCode, header};
use common::World;
use common::service::server_mode;
use crmsync_service::Clock as _;
use crmsync_store::LeaseTake;
use serde_json::json;

// R-SVC-13, R-SCHED-3
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_svc_13_run_route_is_409_while_another_worker_holds_the_lease() {
    let mut w = World::new().await;
    let mode = server_mode(&mut w).await;
    let admin = Some(w.admin.token.clone());
    let root = w._dir.path().join("mailboxes").join("alice");
    std::fs::create_dir_all(&root).unwrap();
    let created = w
        .call(
            Method::POST,
            "/api/v1/profiles",
            admin.as_deref(),
            Some(json!({"name": "alice-box", "user_id": w.alice.id, "connector": {"kind": "vdir", "root": root}, "pull_interval_secs": 3600})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json);

    // A worker elsewhere is running the profile.
    let now = mode.clock.now();
    let taken = w
        .store
        .catalog()
        .take_lease("alice-box", "worker-b", now, now + chrono::Duration::seconds(45))
        .await
        .unwrap();
    assert!(matches!(taken, LeaseTake::Taken { .. }), "{taken:?}");
    let path = "/api/v1/sync/profiles/alice-box/run";
    let refused = w.call(Method::POST, path, admin.as_deref(), Some(json!({}))).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.json);
    assert_eq!(refused.headers[header::RETRY_AFTER], "45");
    let message = refused.json["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("worker-b") && message.contains("try again"),
        "{}",
        refused.json
    );
    assert!(
        w.store.sync_state().runs("alice-box", 10).await.unwrap().is_empty(),
        "nothing ran"
    );
    // A dry-run writes nothing and is answered even now.
    let dry = w
        .call(Method::POST, path, admin.as_deref(), Some(json!({"dry_run": true})))
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{:?}", dry.json);

    // That run ends: the manual run goes ahead and gives the lease back.
    assert!(w.store.catalog().return_lease("alice-box", "worker-b").await.unwrap());
    let ran = w.call(Method::POST, path, admin.as_deref(), Some(json!({}))).await;
    assert_eq!(ran.status, StatusCode::OK, "{:?}", ran.json);
    let status = w
        .store
        .catalog()
        .profile_row("alice-box")
        .await
        .unwrap()
        .unwrap()
        .status;
    assert_eq!((status.lease_owner, status.lease_until), (None, None));
    assert_eq!(w.store.sync_state().runs("alice-box", 10).await.unwrap().len(), 1);
}
