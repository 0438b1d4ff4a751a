//! [`PassageError`]: why an extractor or the middleware refused a request, as an actix
//! [`ResponseError`].

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};
use passage_core::{AuthError, ErrorResponse};

/// The body of the 500 answered when no [`Passage`](passage_core::Passage) handle is configured.
const NOT_CONFIGURED_BODY: &str = r#"{"code":"passage_not_configured","error":"authentication is not configured on this server"}"#;

/// Why a request was refused: the answer is [`AuthError::response`] (401 or 503), or 500 when the
/// app has no [`Passage`](passage_core::Passage) handle.
///
/// Handlers rarely see it: it is the `Error` of the extractors, and actix renders it.
///
/// ```
/// use actix_web::ResponseError;
/// use passage_actix::PassageError;
/// use passage_core::AuthError;
///
/// let error = PassageError::Auth(AuthError::MissingToken);
/// assert_eq!(error.status_code(), 401);
/// assert_eq!(PassageError::PassageNotConfigured.status_code(), 500);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PassageError {
    /// The request could not be authenticated (401, or 503 when the keys are unavailable).
    Auth(AuthError),
    /// No `Passage` handle in app data (`web::Data<Passage>` or `Passage`): a server bug.
    PassageNotConfigured,
}

impl PassageError {
    /// The core error, when the request itself was refused.
    ///
    /// ```
    /// use passage_actix::PassageError;
    /// use passage_core::AuthError;
    /// assert_eq!(PassageError::Auth(AuthError::MissingToken).auth_error(), Some(&AuthError::MissingToken));
    /// ```
    pub fn auth_error(&self) -> Option<&AuthError> {
        match self {
            Self::Auth(error) => Some(error),
            Self::PassageNotConfigured => None,
        }
    }

    /// Builds the error for a missing `Passage` handle, and logs it.
    pub(crate) fn not_configured() -> Self {
        tracing::error!(
            "passage-actix: no Passage handle in app data; add `.app_data(web::Data::new(passage))` \
             to the App or use `PassageAuth::new(passage)`"
        );
        Self::PassageNotConfigured
    }
}

impl From<AuthError> for PassageError {
    fn from(error: AuthError) -> Self {
        Self::Auth(error)
    }
}

impl fmt::Display for PassageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auth(error) => fmt::Display::fmt(error, f),
            Self::PassageNotConfigured => f.write_str("no Passage handle in the actix app data"),
        }
    }
}

impl std::error::Error for PassageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Auth(error) => Some(error),
            Self::PassageNotConfigured => None,
        }
    }
}

impl ResponseError for PassageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Auth(error) => {
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::PassageNotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Auth(error) => render(&error.response()),
            Self::PassageNotConfigured => HttpResponse::InternalServerError()
                .insert_header((CONTENT_TYPE, ErrorResponse::CONTENT_TYPE))
                .body(NOT_CONFIGURED_BODY),
        }
    }
}

/// Translates the core's answer into an actix response.
fn render(response: &ErrorResponse) -> HttpResponse {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    builder.insert_header((CONTENT_TYPE, ErrorResponse::CONTENT_TYPE));
    if let Some(challenge) = response.www_authenticate {
        builder.insert_header((WWW_AUTHENTICATE, challenge));
    }
    if let Some(seconds) = response.retry_after {
        builder.insert_header((RETRY_AFTER, seconds.to_string()));
    }
    builder.body(response.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_token_carries_the_challenge() {
        let error = PassageError::Auth(AuthError::InvalidToken(
            passage_core::InvalidTokenReason::BadSignature,
        ));
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok()),
            Some(r#"Bearer error="invalid_token""#)
        );
    }
}
