//! A `reqwest::Client` the application hands over (`Passage::with_http_client`): it carries the
//! SDK's requests, and the SDK's rules still hold (its `User-Agent`, no answer taken from where a
//! redirect points).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use passage_core::management::ManagementError;
use passage_core::{AuthError, Config, KeysUnavailableReason, Passage};
use passage_tests::{APP_ID, TestKey, issuer, token};
use serde_json::json;

type Seen = Arc<Mutex<Vec<(String, HeaderMap)>>>;

#[derive(Clone)]
struct Server {
    seen: Seen,
    jwks: serde_json::Value,
    /// Whether the app's JWKS and user URLs redirect to `/elsewhere/...`.
    redirect: bool,
}

async fn answer(State(server): State<Server>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    server
        .seen
        .lock()
        .unwrap()
        .push((path.clone(), request.headers().clone()));
    let app = format!("/v1/apps/{APP_ID}");
    if server.redirect && path.starts_with(&app) {
        let target = path.replacen(&app, "/elsewhere", 1);
        return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]).into_response();
    }
    if path == format!("{app}/.well-known/jwks.json") {
        return axum::Json(server.jwks).into_response();
    }
    if path.starts_with("/elsewhere/") {
        // What a redirect leads to: a success the SDK must not take.
        return axum::Json(json!({"keys": [], "user": {}})).into_response();
    }
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"code": "user_not_found", "error": "User not found"})),
    )
        .into_response()
}

/// Serves `answer` on loopback; returns the origin and the requests seen.
async fn serve(key: &TestKey, redirect: bool) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new().fallback(answer).with_state(Server {
        seen: Arc::clone(&seen),
        jwks: json!({"keys": [key.jwk()]}),
        redirect,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (origin, seen)
}

fn config(origin: &str) -> Config {
    Config::builder(APP_ID)
        .origin(origin)
        .api_key("secret-api-key")
        .build()
        .unwrap()
}

/// The app's client, told apart on the wire by a default header of its own.
fn app_client(redirects: reqwest::redirect::Policy) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-app-client", "yes".parse().unwrap());
    reqwest::Client::builder()
        .user_agent("the-app/1.0")
        .default_headers(headers)
        .redirect(redirects)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_apps_client_carries_every_call_with_the_sdks_user_agent() {
    let key = TestKey::generate("k1");
    let (origin, seen) = serve(&key, false).await;
    let passage = Passage::with_http_client(
        config(&origin),
        app_client(reqwest::redirect::Policy::none()),
    );

    let user = passage
        .validate_jwt(&token(&key, &issuer(&origin), APP_ID, "u1"))
        .await
        .unwrap();
    assert_eq!(user.as_str(), "u1");
    assert!(passage.user().get("u2").await.unwrap_err().is_not_found());

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "one JWKS fetch and one user call");
    for (path, headers) in seen.iter() {
        assert_eq!(
            headers["x-app-client"], "yes",
            "{path} went through the app's client"
        );
        let agent = headers["user-agent"].to_str().unwrap();
        assert!(agent.starts_with("passage-rs/"), "{path}: {agent}");
    }
}

#[tokio::test]
async fn answers_from_a_redirect_the_apps_client_followed_are_refused() {
    let key = TestKey::generate("k1");
    let (origin, seen) = serve(&key, true).await;
    let passage = Passage::with_http_client(
        config(&origin),
        app_client(reqwest::redirect::Policy::limited(5)),
    );

    let refused = passage
        .validate_jwt(&token(&key, &issuer(&origin), APP_ID, "u1"))
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        AuthError::KeysUnavailable(KeysUnavailableReason::Redirected)
    );
    assert_eq!(refused.status(), 503);
    let refused = passage.user().get("u1").await.unwrap_err();
    assert!(
        matches!(refused, ManagementError::Redirected),
        "{refused:?}"
    );

    // The client did follow (this is what the SDK refuses to take an answer from).
    let paths: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(p, _)| p.clone())
        .collect();
    assert!(
        paths.iter().any(|p| p.starts_with("/elsewhere/")),
        "{paths:?}"
    );
}

#[tokio::test]
async fn the_sdks_own_client_never_follows_a_redirect() {
    let key = TestKey::generate("k1");
    let (origin, seen) = serve(&key, true).await;
    let passage = Passage::new(config(&origin)).unwrap();

    let refused = passage
        .validate_jwt(&token(&key, &issuer(&origin), APP_ID, "u1"))
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        AuthError::KeysUnavailable(KeysUnavailableReason::Status(307))
    );
    assert!(passage.user().get("u1").await.is_err());

    let seen = seen.lock().unwrap();
    assert!(
        seen.iter().all(|(p, _)| !p.starts_with("/elsewhere/")),
        "{:?}",
        seen.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
}
