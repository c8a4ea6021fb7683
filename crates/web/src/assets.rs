//! The stylesheet and the home page's live-update script, embedded in the
//! binary (no build step, no CDN).

use axum::http::header;
use axum::response::IntoResponse;

const STYLE: &str = include_str!("style.css");

pub async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
}

const LIVE: &str = include_str!("live.js");

/// The home page's live updates (R-WEB-12); every page works without it.
pub async fn live() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        LIVE,
    )
}
