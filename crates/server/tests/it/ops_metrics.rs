//! `/metrics` and `/readyz` (crmsync-service's metrics and readiness).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use crmsync_server::routes::ops_metrics::ops_routes;
use crmsync_service::Metrics;
use crmsync_store::Store;
use tower::ServiceExt as _;

async fn get(app: axum::Router, path: &str) -> (StatusCode, String, String) {
    let response = app
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, content_type, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_readyz_follows_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("crm.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let app = ops_routes(store.clone(), Metrics::new());

    let (status, content_type, body) = get(app.clone(), "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    assert!(body.contains("# TYPE crmsync_run_duration_seconds histogram"), "{body}");
    assert!(body.contains("crmsync_conflicts_total 0"), "{body}");

    assert_eq!(get(app.clone(), "/readyz").await.0, StatusCode::OK);
    store.close().await;
    let (status, _, body) = get(app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!body.contains("sqlite"), "no internals in the answer: {body}");
}
