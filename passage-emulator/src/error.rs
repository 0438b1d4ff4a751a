//! Errors: the public [`EmulatorError`] and Passage-style HTTP error bodies.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Errors of the emulator's library API.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// Binding the listener or reading/writing the data file failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A key could not be generated, loaded or used.
    #[error("crypto error: {0}")]
    Crypto(String),
    /// The data file is unreadable or inconsistent.
    #[error("persistence error: {0}")]
    Persistence(String),
    /// An operation was refused (for example an invalid email or an unknown user).
    #[error("{code}: {message}")]
    Rejected {
        /// Passage error code, e.g. `invalid_request`.
        code: String,
        /// Human-readable message.
        message: String,
    },
}

/// A Passage-style error response: `{"code": "...", "error": "..."}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_access_token",
            "Invalid access token",
        )
    }

    pub(crate) fn app_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "app_not_found", "App not found")
    }

    pub(crate) fn user_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "user_not_found", "User not found")
    }

    pub(crate) fn device_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "device_not_found",
            "Device not found",
        )
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            message,
        )
    }
}

impl From<EmulatorError> for ApiError {
    fn from(e: EmulatorError) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::internal("internal error")
    }
}

impl From<ApiError> for EmulatorError {
    fn from(e: ApiError) -> Self {
        Self::Rejected {
            code: e.code.to_string(),
            message: e.message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(json!({"code": self.code, "error": self.message})),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
