//! [`PassageError`]: why an extractor or the middleware refused a request, as an actix
//! [`ResponseError`].

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use passage_core::{AuthError, Refusal};

/// Why a request was refused: the core's [`Refusal`] (401 or 503, or 500 when the app has no
/// [`Passage`](passage_core::Passage) handle), as an actix [`ResponseError`].
///
/// Handlers rarely see it: it is the `Error` of the extractors, and actix renders it.
///
/// ```
/// use actix_web::ResponseError;
/// use passage_actix::PassageError;
/// use passage_core::{AuthError, Refusal};
///
/// let error = PassageError::from(AuthError::MissingToken);
/// assert_eq!(error.status_code(), 401);
/// assert_eq!(PassageError(Refusal::passage_not_configured()).status_code(), 500);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassageError(pub Refusal);

impl PassageError {
    /// Builds the error for a missing `Passage` handle, and logs how to fix it.
    pub(crate) fn not_configured() -> Self {
        tracing::error!(
            "passage-actix: no Passage handle in app data; add `.app_data(web::Data::new(passage))` \
             to the App or use `PassageAuth::new(passage)`"
        );
        Self(Refusal::passage_not_configured())
    }
}

impl From<Refusal> for PassageError {
    fn from(refusal: Refusal) -> Self {
        Self(refusal)
    }
}

impl From<AuthError> for PassageError {
    fn from(error: AuthError) -> Self {
        Self(error.into())
    }
}

impl fmt::Display for PassageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for PassageError {
    // The display is the refusal's own, so the chain goes on with the refusal's cause (naming the
    // refusal again would print its message twice in `{:#}` reports).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

impl ResponseError for PassageError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let answer = self.0.response();
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
        let error = PassageError::from(AuthError::InvalidToken(
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
