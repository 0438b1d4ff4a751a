//! passage-axum through `tower::ServiceExt::oneshot`, against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::get;
use axum::{Extension, Router};
use passage_axum::{MaybePassageUser, PassageLayer, PassageUser};
use passage_core::{AuthStrategy, Passage};
use passage_tests::adapter_fixtures::*;
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

#[tokio::test]
async fn valid_tokens_pass_in_both_strategies() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let app = app(fx.passage(strategy), fx.passage(strategy));
        for path in [
            "/required",
            "/optional",
            "/option",
            "/guarded/me",
            "/guarded/maybe",
            "/guarded/ext",
        ] {
            let (status, _, body) =
                get_path(&app, path, Some(token_header(strategy, &fx.token))).await;
            assert_eq!(status, StatusCode::OK, "{strategy} {path}");
            assert_eq!(body, fx.user_id.as_bytes(), "{strategy} {path}");
        }
    }
}

#[tokio::test]
async fn absent_token_is_401_with_a_bare_challenge() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let app = app(fx.passage(strategy), fx.passage(strategy));
        for path in ["/required", "/guarded/me", "/guarded/maybe"] {
            let (status, headers, body) = get_path(&app, path, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(header(&headers, "www-authenticate"), Some("Bearer"));
            assert_eq!(header(&headers, "content-type"), Some("application/json"));
            assert_terse(&body);
        }
        let other = match strategy {
            AuthStrategy::Cookie => AuthStrategy::Header,
            _ => AuthStrategy::Cookie,
        };
        let (status, _, _) =
            get_path(&app, "/required", Some(token_header(other, &fx.token))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn expired_and_forged_tokens_are_401_invalid_token_everywhere() {
    let fx = Fixture::start().await;
    let stranger = Fixture::start().await;
    let stranger_token = stranger.emu.mint_token(&fx.user_id).unwrap();
    for strategy in BOTH {
        let app = app(fx.passage(strategy), fx.passage(strategy));
        for token in [
            fx.expired(),
            fx.forged(),
            stranger_token.clone(),
            "not-a-jwt".to_owned(),
        ] {
            for path in [
                "/required",
                "/optional",
                "/option",
                "/guarded/me",
                "/guarded/maybe",
            ] {
                let (status, headers, body) =
                    get_path(&app, path, Some(token_header(strategy, &token))).await;
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{strategy} {path} {token}"
                );
                assert_eq!(
                    header(&headers, "www-authenticate"),
                    Some(r#"Bearer error="invalid_token""#)
                );
                assert_terse(&body);
            }
        }
    }
}

#[tokio::test]
async fn optional_routes_are_anonymous_without_a_token() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let app = app(fx.passage(strategy), fx.passage(strategy));
        for path in ["/optional", "/option"] {
            let (status, _, body) = get_path(&app, path, None).await;
            assert_eq!(
                (status, body.as_slice()),
                (StatusCode::OK, &b"anonymous"[..]),
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn unavailable_keys_are_503_with_retry_after_even_on_optional_routes() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let app = app(unreachable_passage(strategy), unreachable_passage(strategy));
        for path in ["/required", "/optional", "/option", "/guarded/me"] {
            let (status, headers, body) =
                get_path(&app, path, Some(token_header(strategy, &fx.token))).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
            let retry: u64 = header(&headers, "retry-after").unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry));
            assert!(headers.get("www-authenticate").is_none());
            assert_terse(&body);
        }
    }
}

#[tokio::test]
async fn extractors_behind_the_layer_reuse_its_user_only_for_the_same_handle() {
    let fx = Fixture::start().await;
    // The layer and the state share one handle: the extractors take the layer's user.
    let passage = fx.passage(AuthStrategy::Header);
    let shared = app(passage.clone(), passage);
    for path in ["/guarded/me", "/guarded/maybe", "/guarded/ext"] {
        let (status, _, body) = get_path(
            &shared,
            path,
            Some(token_header(AuthStrategy::Header, &fx.token)),
        )
        .await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, fx.user_id.clone().into_bytes()),
            "{path}"
        );
    }
    // The state names another handle (here one that cannot reach any keys): a user the layer
    // verified is not taken for a user of that handle; the extractors verify again (503).
    let app = app(
        unreachable_passage(AuthStrategy::Header),
        fx.passage(AuthStrategy::Header),
    );
    for path in ["/guarded/me", "/guarded/maybe", "/required"] {
        let (status, _, _) = get_path(
            &app,
            path,
            Some(token_header(AuthStrategy::Header, &fx.token)),
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }
    // `Extension<PassageUser>` is the layer's own user, whatever the state.
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
        Some(r#"Bearer error="invalid_token""#)
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
