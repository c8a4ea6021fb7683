//! The one stylesheet, embedded in the binary (no build step, no CDN).

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
