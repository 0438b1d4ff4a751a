//! passage-axum through `tower::ServiceExt::oneshot`, against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::get;
use axum::{Extension, Router};
use passage_axum::{MaybePassageUser, PassageLayer, PassageUser};
use passage_core::{AuthStrategy, Passage};
use passage_tests::adapter_fixtures::*;
use passage_tests::conformance::{Get, Harness, Reply, Routes};
use tower::ServiceExt;

async fn required(user: PassageUser) -> String {
    user.user_id().to_string()
}

async fn optional(MaybePassageUser(user): MaybePassageUser) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |u| u.user_id().to_string())
}

async fn option(user: Option<PassageUser>) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |u| u.user_id().to_string())
}

async fn extension(Extension(user): Extension<PassageUser>) -> String {
    user.user_id().to_string()
}

/// State-based routes plus a `/guarded` router behind the layer. `layer_passage` is the layer's
/// handle; the state's is `state_passage`.
fn app(state_passage: Passage, layer_passage: Passage) -> Router {
    let guarded = Router::new()
        .route("/me", get(required))
        .route("/maybe", get(optional))
        .route("/ext", get(extension))
        .layer(PassageLayer::new(layer_passage));
    Router::new()
        .route("/required", get(required))
        .route("/optional", get(optional))
        .route("/option", get(option))
        .nest("/guarded", guarded)
        .with_state(state_passage)
}

async fn get_path(
    app: &Router,
    path: &str,
    header: Option<(&'static str, String)>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::get(path);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
    (parts.status, parts.headers, body)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The conformance suite's harness: its routes on an axum `Router`, called with `oneshot`.
struct Axum;

impl Harness for Axum {
    const NAME: &'static str = "axum";
    const MIDDLEWARE: bool = true;

    async fn serve(&self, routes: Routes, requests: Vec<Get>) -> Vec<Reply> {
        let state = routes.state.expect("axum needs the handle in its state");
        let layer = routes.layer.unwrap_or_else(|| state.clone());
        let app = app(state, layer);
        let mut replies = Vec::new();
        for request in requests {
            let (status, headers, body) = get_path(&app, request.path, request.header).await;
            replies.push(Reply::new(status.as_u16(), &headers, body));
        }
        replies
    }
}

passage_tests::conformance_suite!(
    tokio::test,
    Axum,
    middleware_users_are_reused_only_for_the_same_handle
);

#[tokio::test]
async fn option_of_the_user_is_the_optional_extractor() {
    let fx = Fixture::start().await;
    let app = app(
        fx.passage(AuthStrategy::Header),
        fx.passage(AuthStrategy::Header),
    );
    let (status, _, body) = get_path(&app, "/option", None).await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, &b"anonymous"[..])
    );
    let (status, _, body) = get_path(
        &app,
        "/option",
        Some(token_header(AuthStrategy::Header, &fx.token)),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, fx.user_id.clone().into_bytes())
    );
    let (status, _, _) = get_path(
        &app,
        "/option",
        Some(token_header(AuthStrategy::Header, &fx.forged())),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// `Extension<PassageUser>` is the layer's own user, whatever handle the state names (the
/// extractors' reuse rule is in the conformance suite).
#[tokio::test]
async fn the_extension_is_the_layers_user() {
    let fx = Fixture::start().await;
    let app = app(
        unreachable_passage(AuthStrategy::Header),
        fx.passage(AuthStrategy::Header),
    );
    let (status, _, body) = get_path(
        &app,
        "/guarded/ext",
        Some(token_header(AuthStrategy::Header, &fx.token)),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, fx.user_id.clone().into_bytes())
    );
}

#[tokio::test]
async fn the_layer_alone_guards_a_stateless_router() {
    let fx = Fixture::start().await;
    let app: Router = Router::new()
        .route("/ext", get(extension))
        .layer(PassageLayer::new(fx.passage(AuthStrategy::Cookie)));
    let (status, _, body) = get_path(
        &app,
        "/ext",
        Some(token_header(AuthStrategy::Cookie, &fx.token)),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, fx.user_id.clone().into_bytes())
    );
    let (status, headers, _) = get_path(
        &app,
        "/ext",
        Some(token_header(AuthStrategy::Cookie, &fx.forged())),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&headers, "www-authenticate"),
        Some(
            format!(
                r#"Bearer realm="{}", error="invalid_token""#,
                fx.emu.app_id()
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn fetch_reads_the_user_through_the_management_api() {
    let fx = Fixture::start().await;
    async fn me(user: PassageUser) -> String {
        let fetched = user.fetch().await.unwrap();
        format!("{} {}", fetched.id, fetched.email)
    }
    let app = Router::new()
        .route("/me", get(me))
        .with_state(fx.passage(AuthStrategy::Header));
    let (status, _, body) = get_path(
        &app,
        "/me",
        Some(token_header(AuthStrategy::Header, &fx.token)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        format!("{} alice@example.com", fx.user_id)
    );
}
