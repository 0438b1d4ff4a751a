//! Fault injection and request accounting (a middleware in front of every route).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::Shared;

/// Which requests a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Target {
    /// `GET /v1/apps/{app_id}/.well-known/jwks.json`.
    Jwks,
    /// Every other `/v1/...` request (the management and auth API).
    Api,
}

/// How a faulted request fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Mode {
    Status,
    Hang,
    Garbage,
    Huge,
}

/// A fault armed for the next `count` requests of a target.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct FaultSpec {
    pub target: Target,
    pub count: u32,
    pub mode: Mode,
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    pub hang_ms: Option<u64>,
}

/// The armed faults, one per target.
#[derive(Default)]
pub(crate) struct Faults {
    jwks: Option<FaultSpec>,
    api: Option<FaultSpec>,
}

impl Faults {
    pub(crate) fn arm(&mut self, spec: FaultSpec) {
        let slot = match spec.target {
            Target::Jwks => &mut self.jwks,
            Target::Api => &mut self.api,
        };
        *slot = (spec.count > 0).then_some(spec);
    }

    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }

    /// Takes one use of the fault armed for `target`, if any.
    fn take(&mut self, target: Target) -> Option<FaultSpec> {
        let slot = match target {
            Target::Jwks => &mut self.jwks,
            Target::Api => &mut self.api,
        };
        let spec = slot.as_mut()?;
        let out = spec.clone();
        spec.count = spec.count.saturating_sub(1);
        if spec.count == 0 {
            *slot = None;
        }
        Some(out)
    }

    /// Remaining uses per target (for `GET .../faults`).
    pub(crate) fn remaining(&self) -> (u32, u32) {
        (
            self.jwks.as_ref().map_or(0, |f| f.count),
            self.api.as_ref().map_or(0, |f| f.count),
        )
    }
}

fn classify(path: &str) -> Option<Target> {
    let path = path.trim_end_matches('/');
    if path.starts_with("/v1/apps/") && path.ends_with("/.well-known/jwks.json") {
        Some(Target::Jwks)
    } else if path.starts_with("/v1/") {
        Some(Target::Api)
    } else {
        None
    }
}

/// 10 MB of valid JSON, so a client has to enforce its own size limit to notice.
const HUGE_BODY_LEN: usize = 10 * 1024 * 1024;

fn error_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_request",
        401 => "invalid_access_token",
        403 => "operation_not_allowed",
        404 => "not_found",
        429 => "too_many_requests",
        _ => "internal_server_error",
    }
}

async fn fault_response(spec: &FaultSpec) -> Response {
    match spec.mode {
        Mode::Status => {
            let status = spec
                .status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut err = ApiError::new(
                status,
                error_code(status),
                status.canonical_reason().unwrap_or("Injected fault"),
            );
            err.retry_after = spec.retry_after;
            err.into_response()
        }
        Mode::Hang => {
            tokio::time::sleep(Duration::from_millis(spec.hang_ms.unwrap_or(30_000))).await;
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "internal_server_error",
                "Gateway Timeout",
            )
            .into_response()
        }
        Mode::Garbage => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("<html>\u{1}\u{2} this is not json }{"))
            .unwrap_or_default(),
        Mode::Huge => {
            let mut body = Vec::with_capacity(HUGE_BODY_LEN + 16);
            body.extend_from_slice(b"{\"pad\":\"");
            body.resize(HUGE_BODY_LEN, b'a');
            body.extend_from_slice(b"\"}");
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap_or_default()
        }
    }
}

/// Counts requests per target, applies armed faults, and turns axum's bare framework errors
/// (unknown route, wrong method, body too large) into Passage-style JSON errors.
pub(crate) async fn middleware(
    State(shared): State<Arc<Shared>>,
    req: Request,
    next: Next,
) -> Response {
    let target = classify(req.uri().path());
    if let Some(target) = target {
        let counter = match target {
            Target::Jwks => &shared.jwks_requests,
            Target::Api => &shared.api_requests,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let fault = shared
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(target);
        if let Some(spec) = fault {
            tracing::debug!(?target, mode = ?spec.mode, "injecting fault");
            return fault_response(&spec).await;
        }
    }
    let resp = next.run(req).await;
    jsonify_framework_errors(resp)
}

fn jsonify_framework_errors(resp: Response) -> Response {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_json || is_html {
        return resp;
    }
    let status = resp.status();
    let err = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::new(status, "invalid_request", "Method not allowed")
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(status, "invalid_request", "Request body too large")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::UNPROCESSABLE_ENTITY => {
            ApiError::bad_request("Invalid request body")
        }
        StatusCode::BAD_REQUEST => ApiError::bad_request("Invalid request"),
        _ => return resp,
    };
    let allow = resp.headers().get(header::ALLOW).cloned();
    let mut out = err.into_response();
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
}
