//! The middleware in front of every route: counts requests, applies armed JWKS and API faults,
//! and turns axum's bare framework errors (wrong method, body too large) into Passage-style JSON.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::context::Context;
use crate::faults::{Fault, FaultMode, FaultTarget};

fn classify(path: &str) -> Option<FaultTarget> {
    if path.starts_with("/v1/apps/") && path.ends_with("/.well-known/jwks.json") {
        Some(FaultTarget::Jwks)
    } else if path.starts_with("/v1/") {
        Some(FaultTarget::Api)
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

fn json_body(body: impl Into<Body>) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap_or_default()
}

async fn fault_response(fault: Fault, cleared: crate::faults::Cleared) -> Response {
    match fault.mode {
        FaultMode::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut err = ApiError::new(
                status,
                error_code(status),
                status.canonical_reason().unwrap_or("Injected fault"),
            );
            err.retry_after = fault.retry_after;
            err.into_response()
        }
        FaultMode::Hang(duration) => {
            tokio::select! {
                () = tokio::time::sleep(duration) => {}
                () = cleared.wait() => {}
            }
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "internal_server_error",
                "Gateway Timeout",
            )
            .into_response()
        }
        FaultMode::Garbage => json_body("<html>\u{1}\u{2} this is not json }{"),
        FaultMode::Huge => {
            let mut body = Vec::with_capacity(HUGE_BODY_LEN + 16);
            body.extend_from_slice(b"{\"pad\":\"");
            body.resize(HUGE_BODY_LEN, b'a');
            body.extend_from_slice(b"\"}");
            json_body(body)
        }
    }
}

pub(crate) async fn middleware(
    State(ctx): State<Arc<Context>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(target) = classify(req.uri().path()) {
        let counter = match target {
            FaultTarget::Jwks => &ctx.counters.jwks_requests,
            _ => &ctx.counters.api_requests,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some((fault, cleared)) = ctx.faults.take(target) {
            tracing::debug!(?target, mode = ?fault.mode, "injecting fault");
            return fault_response(fault, cleared).await;
        }
    }
    let resp = next.run(req).await;
    jsonify_framework_errors(resp)
}

fn jsonify_framework_errors(resp: Response) -> Response {
    let typed = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
    });
    if typed {
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
