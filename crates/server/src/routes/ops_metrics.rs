//! `/metrics` (Prometheus text format) and `/readyz` (the database answers),
//! outside `/api/v1` and without authentication, as scrapers and load
//! balancers expect. Served beside the API by [`serve_with_ops`].

use std::future::Future;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use crmsync_service::{Metrics, readiness};
use crmsync_store::Store;

use crate::state::AppState;

#[derive(Clone)]
struct OpsState {
    store: Store,
    metrics: Metrics,
}

async fn render_metrics(State(ops): State<OpsState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        ops.metrics.render(),
    )
}

async fn readyz(State(ops): State<OpsState>) -> impl IntoResponse {
    match readiness(&ops.store).await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            // The detail goes to the log only (R-API-13).
            tracing::warn!(error = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the database does not answer\n",
            )
        }
    }
}

/// The two routes, with their own state.
pub fn ops_routes(store: Store, metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .route("/readyz", get(readyz))
        .with_state(OpsState { store, metrics })
}

/// As [`crate::serve`], plus `/metrics` and `/readyz`.
pub async fn serve_with_ops(
    listener: tokio::net::TcpListener,
    state: AppState,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let ops = ops_routes(state.store.clone(), metrics);
    // The peer address keys the push webhook's per-client limit (R-API-15).
    let app = crate::router(state).merge(ops);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
