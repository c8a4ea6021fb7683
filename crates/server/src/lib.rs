//! crmsync's HTTP/JSON API: CRUD over the CRM store with bearer-token
//! authentication, the permissions of R-PERM-2, optimistic concurrency
//! (`ETag`/`If-Match`), and an OpenAPI 3 document generated from the code.
//!
//! ```no_run
//! # async fn run(store: crmsync_store::Store) -> std::io::Result<()> {
//! let state = crmsync_server::AppState::new(store);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! crmsync_server::serve(listener, state, std::future::pending()).await
//! # }
//! ```

pub mod auth;
pub mod body;
pub mod error;
pub mod openapi;
mod openapi_contract;
pub mod paging;
pub mod precondition;
pub mod push_limit;
mod request_guard;
pub mod routes;
mod service_error;
pub mod state;
mod store_error;
/// The operator views moved to `crmsync-ops`; the routes keep reaching them as `crate::sync`.
pub use crmsync_ops as sync;
mod text_guard;

use std::future::Future;

pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use routes::{router, routes_and_document};
pub use state::{AppState, DEFAULT_MAX_BODY_BYTES};

/// Serves the API on `listener` until `shutdown` completes, then lets
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
