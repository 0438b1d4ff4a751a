//! [`PassageError`]: why an extractor or the middleware refused a request, as an actix
//! [`ResponseError`].

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use passage_core::{AuthError, ErrorResponse};

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

impl PassageError {
    /// The core's framework-neutral answer for this error.
    fn answer(&self) -> ErrorResponse {
        match self {
            Self::Auth(error) => error.response(),
            Self::PassageNotConfigured => ErrorResponse::passage_missing(),
        }
    }
}

impl ResponseError for PassageError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.answer().status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let answer = self.answer();
        let mut builder = HttpResponse::build(self.status_code());
        for header in answer.headers() {
            builder.insert_header(header);
        }
        builder.body(answer.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::WWW_AUTHENTICATE;

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
