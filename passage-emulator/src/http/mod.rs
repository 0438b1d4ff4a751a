//! HTTP: routers that extract, call one operation and render its result.
//!
//! Layers, outermost first: trailing slashes trimmed (`/users/` is `/users`), the guard (hosts,
//! origins, content types, framing), request counting and fault injection, the body size limit;
//! then the routes, grouped so the app ID and the API key are each checked once per group.

mod controls;
mod error;
mod extract;
mod faults;
mod guard;
mod login;
mod management;
mod passkeys;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use tower_http::normalize_path::NormalizePath;

use crate::context::Context;
pub(crate) use guard::AllowedHosts;

/// Largest request body the emulator accepts (413 beyond).
///
/// ```
/// assert_eq!(passage_emulator::MAX_BODY_BYTES, 64 * 1024);
/// ```
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP service.
pub(crate) fn service(ctx: Arc<Context>, allowed: AllowedHosts) -> NormalizePath<Router> {
    let app_api = management::open(&ctx)
        .merge(login::activate_route(&ctx))
        .merge(management::keyed(&ctx));
    let router = Router::new()
        .nest("/v1/apps/{app_id}", app_api)
        .nest("/emulator/v1/apps/{app_id}", controls::routes(&ctx))
        .merge(login::page_routes())
        .merge(passkeys::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn_with_state(Arc::clone(&ctx), faults::middleware))
        .layer(from_fn_with_state(Arc::new(allowed), guard::middleware))
        .with_state(ctx);
    NormalizePath::trim_trailing_slash(router)
}

async fn not_found() -> error::ApiError {
    error::ApiError::not_found()
}
