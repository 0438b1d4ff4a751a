//! Extractors: the app in the path, the API key, and JSON bodies read the API's way.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::from_extractor_with_state;
use axum::routing::MethodRouter;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::context::Context;

/// A group of routes, each of which runs the extractor `X` (e.g. [`ApiKey`]) before its handler.
///
/// Applied per method router, not with `Router::route_layer`: that also wraps a route's
/// "method not allowed" answer, which must stay 405 whatever the credentials.
pub(crate) fn group<X>(
    ctx: &Arc<Context>,
    routes: Vec<(&str, MethodRouter<Arc<Context>>)>,
) -> Router<Arc<Context>>
where
    X: FromRequestParts<Arc<Context>> + Send + 'static,
{
    routes
        .into_iter()
        .fold(Router::new(), |router, (path, route)| {
            router.route(
                path,
                route.route_layer(from_extractor_with_state::<X, _>(Arc::clone(ctx))),
            )
        })
}

/// The `{app_id}` of the path names this emulator's app (else 404 `app_not_found`).
#[derive(Debug)]
pub(crate) struct AppId;

impl FromRequestParts<Arc<Context>> for AppId {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &Arc<Context>,
    ) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, ctx)
            .await
            .map_err(|_| ApiError::app_not_found())?;
        let given = params
            .iter()
            .find(|(name, _)| *name == "app_id")
            .map(|(_, value)| value);
        let ours = given.is_some_and(|id| ctx.store.read(|s| s.app.id == id));
        if ours {
            Ok(Self)
        } else {
            Err(ApiError::app_not_found())
        }
    }
}

/// [`AppId`], then `Authorization: Bearer <API key>` (compared in constant time; else 401).
#[derive(Debug)]
pub(crate) struct ApiKey;

impl FromRequestParts<Arc<Context>> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &Arc<Context>,
    ) -> Result<Self, Self::Rejection> {
        AppId::from_request_parts(parts, ctx).await?;
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .unwrap_or("");
        let ok = !given.is_empty()
            && ctx.store.read(|s| {
                aws_lc_rs::constant_time::verify_slices_are_equal(
                    given.as_bytes(),
                    s.app.api_key.as_bytes(),
                )
                .is_ok()
            });
        if ok {
            Ok(Self)
        } else {
            Err(ApiError::unauthorized())
        }
    }
}

/// A JSON object body, sent as `application/json`; an empty body counts as `{}`. Errors are 400
/// `invalid_request` that name the API's fields, never Rust types.
///
/// The content type is required because a page on another site can send a body without a
/// preflight only as `text/plain`, a form or multipart: so none of those reaches an operation.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        RawJson::from_request(req, state).await?.parse().map(Self)
    }
}

/// A JSON body read and checked for its content type, not yet parsed: for a handler that must
/// check something else first (an unknown user is a 404 whatever the body).
#[derive(Debug)]
pub(crate) struct RawJson(Bytes);

impl<S: Send + Sync> FromRequest<S> for RawJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(req.headers());
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            let message = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                "Request body too large"
            } else {
                "Invalid request body"
            };
            ApiError::new(e.status(), "invalid_request", message)
        })?;
        let blank = body.iter().all(u8::is_ascii_whitespace);
        if !blank && !json {
            return Err(ApiError::bad_request(
                "The request body must be JSON, sent with Content-Type: application/json",
            ));
        }
        Ok(Self(body))
    }
}

impl RawJson {
    /// Parses the body (blank counts as `{}`).
    pub(crate) fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        parse(&self.0)
    }
}

/// Whether the request says its body is JSON (`application/json` or `+json`).
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        })
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    // Passage's bodies are JSON objects: an array or a scalar is refused even where serde would
    // read it as a struct's fields in order.
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| ApiError::bad_request("invalid request body: not valid JSON."))?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "invalid request body: expected a JSON object.",
        ));
    }
    T::deserialize(value).map_err(|e| {
        ApiError::bad_request(format!(
            "invalid request body: {}.",
            api_words(&e.to_string())
        ))
    })
}

/// A serde message in the API's words: field names stay, Rust type names go.
fn api_words(message: &str) -> String {
    let mut text = message.trim_end_matches('.').to_owned();
    for (rust, api) in [
        ("expected u8", "expected a non-negative integer"),
        ("expected u16", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected i32", "expected an integer"),
        ("expected i64", "expected an integer"),
        ("expected f64", "expected a number"),
        ("expected a map", "expected an object"),
        ("expected a sequence", "expected an array"),
    ] {
        text = text.replace(rust, api);
    }
    // "expected struct Foo" / "expected enum Foo" name our types: say what the API expects.
    for kind in ["struct", "enum"] {
        let marker = format!("expected {kind} ");
        if let Some(at) = text.find(&marker) {
            text.truncate(at);
            text.push_str(if kind == "struct" {
                "expected an object"
            } else {
                "expected one of the documented values"
            });
        }
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        let with = |value: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!is_json(&axum::http::HeaderMap::new()));
    }
}
