//! [`PassageRejection`]: why the extractors or the layer refused a request.

use std::fmt;

use axum::response::{IntoResponse, Response};
use passage_core::AuthError;

/// Why a request was refused; as a response it is [`AuthError::response`] (401, or 503 with
/// `Retry-After` when the signing keys are unavailable).
///
/// ```
/// use axum::response::IntoResponse;
/// use passage_axum::PassageRejection;
/// use passage_core::AuthError;
///
/// let response = PassageRejection::from(AuthError::MissingToken).into_response();
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["www-authenticate"], "Bearer");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassageRejection(AuthError);

impl PassageRejection {
    /// The core error (for logs; never show its reason to the client).
    ///
    /// ```
    /// use passage_axum::PassageRejection;
    /// use passage_core::AuthError;
    /// let rejection = PassageRejection::from(AuthError::MissingToken);
    /// assert_eq!(rejection.auth_error(), &AuthError::MissingToken);
    /// ```
    pub fn auth_error(&self) -> &AuthError {
        &self.0
    }

    /// Takes the core error out.
    ///
    /// ```
    /// use passage_axum::PassageRejection;
    /// use passage_core::AuthError;
    /// assert_eq!(PassageRejection::from(AuthError::MissingToken).into_inner(), AuthError::MissingToken);
    /// ```
    pub fn into_inner(self) -> AuthError {
        self.0
    }
}

impl From<AuthError> for PassageRejection {
    fn from(error: AuthError) -> Self {
        Self(error)
    }
}

impl fmt::Display for PassageRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for PassageRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl IntoResponse for PassageRejection {
    fn into_response(self) -> Response {
        self.0.response().to_http()
    }
}
