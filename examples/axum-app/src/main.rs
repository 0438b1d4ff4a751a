//! The axum example: the contract routes, plus `/admin/...` routes (behind `PassageLayer`) that
//! show the management API: create, update, activate/deactivate and delete users, list and
//! revoke devices, revoke sessions, and create magic links.
//!
//! It also shows `passage-core`'s `metrics` feature: `GET /metrics` answers the SDK's counters
//! and histograms in Prometheus' text format. (A real app would serve them on an internal port.)
//!
//! ```text
//! PASSAGE_APP_ID=... PASSAGE_API_KEY=... PORT=8080 cargo run -p axum-app
//! ```

mod support;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use passage_axum::{MaybePassageUser, PassageLayer, PassageUser};
use passage_core::Passage;
use passage_core::management::{
    CreateUser, MagicLinkChannel, MagicLinkRequest, ManagementError, UpdateUser,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use support::{management_failure, user_id_body};

/// An administrator: a signed-in user whose Passage `user_metadata` has `"role": "admin"`.
/// Every `/admin` handler takes one, so a signed-in user who is not an administrator gets 403.
struct Admin;

impl FromRequestParts<Passage> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, passage: &Passage) -> Result<Self, Response> {
        let user = PassageUser::from_request_parts(parts, passage)
            .await
            .map_err(IntoResponse::into_response)?;
        let profile = user.fetch().await.map_err(|error| failure(&error))?;
        let role = profile.user_metadata.as_ref().and_then(|m| m.get("role"));
        if role.and_then(|r| r.as_str()) == Some("admin") {
            Ok(Admin)
        } else {
            let body = json!({ "code": "forbidden", "error": "administrators only" });
            Err((StatusCode::FORBIDDEN, Json(body)).into_response())
        }
    }
}

fn main() {
    support::init_tracing();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = support::workers_or_exit() {
        runtime.worker_threads(workers);
    }
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(serve()),
        Err(error) => support::exit_misconfigured(format_args!("cannot start Tokio: {error}")),
    }
}

async fn serve() {
    let prometheus = match metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()
    {
        Ok(handle) => handle,
        Err(error) => support::exit_misconfigured(format_args!("cannot record metrics: {error}")),
    };
    let passage = support::passage_or_exit();
    let addr = support::listen_addr_or_exit();

    // Every admin route requires a signed-in user (the layer answers 401 before routing) who is
    // an administrator (each handler's `Admin` extractor answers 403 otherwise).
    let admin = Router::new()
        .route("/users", post(create_user))
        .route(
            "/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/users/{id}/activate", post(activate_user))
        .route("/users/{id}/deactivate", post(deactivate_user))
        .route("/users/{id}/devices", get(list_devices))
        .route("/users/{id}/devices/{device_id}", delete(revoke_device))
        .route("/users/{id}/revoke-sessions", post(revoke_sessions))
        .route("/magic-links", post(create_magic_link))
        .layer(PassageLayer::new(passage.clone()));

    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/control", get(control))
        .route(
            "/metrics",
            get(move || {
                let text = prometheus.render();
                async move { ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text) }
            }),
        )
        .route("/authenticated", get(authenticated))
        .route("/optional", get(optional))
        .route("/me", get(me))
        .nest("/admin", admin)
        .with_state(passage);

    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => support::exit_misconfigured(format_args!("cannot listen on {addr}: {error}")),
    };
    tracing::info!(%addr, "axum example listening");
    if let Err(error) = axum::serve(listener, app).await {
        eprintln!("error: server failed: {error}");
        std::process::exit(1);
    }
}

/// Unguarded, with the shape of `/authenticated`'s answer: the load benchmark's baseline.
async fn control() -> Json<serde_json::Value> {
    Json(user_id_body(Some(support::CONTROL_USER_ID)))
}

async fn authenticated(user: PassageUser) -> Json<serde_json::Value> {
    Json(user_id_body(Some(user.user_id())))
}

async fn optional(MaybePassageUser(user): MaybePassageUser) -> Json<serde_json::Value> {
    Json(user_id_body(user.as_ref().map(|u| u.user_id().as_str())))
}

async fn me(user: PassageUser) -> Response {
    respond(user.fetch().await)
}

/// 200 with the value as JSON, or the failure's answer.
fn respond<T: Serialize>(result: Result<T, ManagementError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(error) => failure(&error),
    }
}

fn failure(error: &ManagementError) -> Response {
    let (status, body) = management_failure(error);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
        Json(body),
    )
        .into_response()
}

#[derive(Deserialize)]
struct NewUser {
    email: String,
}

async fn create_user(
    _: Admin,
    State(passage): State<Passage>,
    Json(new): Json<NewUser>,
) -> Response {
    match passage.user().create(CreateUser::email(new.email)).await {
        Ok(user) => (StatusCode::CREATED, Json(user)).into_response(),
        Err(error) => failure(&error),
    }
}

async fn get_user(_: Admin, State(passage): State<Passage>, Path(id): Path<String>) -> Response {
    respond(passage.user().get(&id).await)
}

#[derive(Deserialize)]
struct Changes {
    email: Option<String>,
    phone: Option<String>,
}

async fn update_user(
    _: Admin,
    State(passage): State<Passage>,
    Path(id): Path<String>,
    Json(changes): Json<Changes>,
) -> Response {
    let mut update = UpdateUser::new();
    if let Some(email) = changes.email {
        update = update.email(email);
    }
    if let Some(phone) = changes.phone {
        update = update.phone(phone);
    }
    respond(passage.user().update(&id, update).await)
}

async fn delete_user(_: Admin, State(passage): State<Passage>, Path(id): Path<String>) -> Response {
    match passage.user().delete(&id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => failure(&error),
    }
}

async fn activate_user(
    _: Admin,
    State(passage): State<Passage>,
    Path(id): Path<String>,
) -> Response {
    respond(passage.user().activate(&id).await)
}

async fn deactivate_user(
    _: Admin,
    State(passage): State<Passage>,
    Path(id): Path<String>,
) -> Response {
    respond(passage.user().deactivate(&id).await)
}

async fn list_devices(
    _: Admin,
    State(passage): State<Passage>,
    Path(id): Path<String>,
) -> Response {
    respond(
        passage
            .user()
            .list_devices(&id)
            .await
            .map(|devices| json!({ "devices": devices })),
    )
}

async fn revoke_device(
    _: Admin,
    State(passage): State<Passage>,
    Path((id, device_id)): Path<(String, String)>,
) -> Response {
    match passage.user().revoke_device(&id, &device_id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => failure(&error),
    }
}

async fn revoke_sessions(
    _: Admin,
    State(passage): State<Passage>,
    Path(id): Path<String>,
) -> Response {
    match passage.user().revoke_refresh_tokens(&id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => failure(&error),
    }
}

#[derive(Deserialize)]
struct LinkFor {
    email: String,
    #[serde(default)]
    send: bool,
}

async fn create_magic_link(
    _: Admin,
    State(passage): State<Passage>,
    Json(link): Json<LinkFor>,
) -> Response {
    let mut request = MagicLinkRequest::email(link.email);
    if link.send {
        request = request.send(MagicLinkChannel::Email);
    }
    match passage.create_magic_link(request).await {
        Ok(link) => (StatusCode::CREATED, Json(link)).into_response(),
        Err(error) => failure(&error),
    }
}
