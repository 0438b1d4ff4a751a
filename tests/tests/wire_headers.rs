//! What the SDK puts on the wire, seen by a server that records every request: a `User-Agent`
//! on every call, the API key only as a Bearer token on management calls (never on the JWKS),
//! and `Passage-Version` on management calls.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use passage_core::{Config, Passage};
use passage_tests::{APP_ID, TestKey, issuer, token};
use serde_json::json;

type Seen = Arc<Mutex<Vec<(String, HeaderMap)>>>;

async fn record(
    State((seen, jwks)): State<(Seen, serde_json::Value)>,
    request: Request,
) -> Response {
    let path = request.uri().path().to_owned();
    seen.lock()
        .unwrap()
        .push((path.clone(), request.headers().clone()));
    if path.ends_with("/.well-known/jwks.json") {
        axum::Json(jwks).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"code": "user_not_found", "error": "User not found"})),
        )
            .into_response()
    }
}

#[tokio::test]
async fn every_call_identifies_itself_and_the_key_goes_only_where_it_belongs() {
    let key = TestKey::generate("k1");
    let seen: Seen = Arc::default();
    let app = Router::new()
        .fallback(record)
        .with_state((Arc::clone(&seen), json!({"keys": [key.jwk()]})));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let config = Config::builder(APP_ID)
        .origin(&origin)
        .api_key("secret-api-key")
        .build()
        .unwrap();
    let passage = Passage::new(config).unwrap();
    assert!(
        passage
            .validate_jwt(&token(&key, &issuer(&origin), APP_ID, "u"))
            .await
            .is_ok()
    );
    let error = passage.user().get("some-user").await.unwrap_err();
    assert!(error.is_not_found());

    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.len(),
        2,
        "{:?}",
        seen.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    let (jwks_path, jwks_headers) = &seen[0];
    assert_eq!(
        jwks_path,
        &format!("/v1/apps/{APP_ID}/.well-known/jwks.json")
    );
    assert!(
        jwks_headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("passage-rs/")
    );
    assert!(
        jwks_headers.get("authorization").is_none(),
        "the API key never goes to the JWKS"
    );
    let (api_path, api_headers) = &seen[1];
    assert_eq!(api_path, &format!("/v1/apps/{APP_ID}/users/some-user"));
    assert_eq!(api_headers["authorization"], "Bearer secret-api-key");
    assert!(
        api_headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("passage-rs/")
    );
    assert!(
        api_headers["passage-version"]
            .to_str()
            .unwrap()
            .starts_with("passage-rs ")
    );
}
