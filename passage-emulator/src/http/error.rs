//! Passage-style error answers: a status and `{"code": "...", "error": "..."}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::wire::ErrorBody;
use crate::ops::OpError;
use crate::store::SaveFailed;

/// An error answer.
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

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Resource not found")
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            message,
        )
    }
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> Self {
        let status = match &e {
            OpError::Invalid(_) => StatusCode::BAD_REQUEST,
            OpError::UserNotFound | OpError::DeviceNotFound | OpError::MagicLinkNotFound => {
                StatusCode::NOT_FOUND
            }
            OpError::MagicLinkUsed | OpError::IdentifierTaken | OpError::CredentialTaken => {
                StatusCode::CONFLICT
            }
            OpError::CeremonyMissing(_) | OpError::PasskeysUnavailable => StatusCode::BAD_REQUEST,
            OpError::PasskeyRefused(_) | OpError::PasskeyUnknown => StatusCode::UNAUTHORIZED,
            OpError::MagicLinkExpired => StatusCode::GONE,
            OpError::UserNotActive => StatusCode::FORBIDDEN,
            OpError::LoginPageFull(_) | OpError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            OpError::Internal(inner) => {
                tracing::error!(error = %inner, "internal error");
                return Self::internal("internal error");
            }
        };
        let mut out = Self::new(status, e.code(), e.to_string());
        if let OpError::RateLimited(wait) = e {
            // Rounded up: a client that waits as told is let in.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            out.retry_after = Some(secs.max(1));
        }
        out
    }
}

impl From<SaveFailed> for ApiError {
    fn from(_: SaveFailed) -> Self {
        Self::internal("failed to persist state")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            error: &self.message,
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
