//! [`PassageRejection`]: why the extractors or the layer refused a request.

use std::fmt;

use axum::response::{IntoResponse, Response};
use passage_core::{AuthError, Refusal};

/// Why a request was refused: the core's [`Refusal`], whose answer it sends (401 with the app's
/// `WWW-Authenticate` challenge, or 503 with `Retry-After` when the signing keys are unavailable).
///
/// To answer in your own format (an HTML page, a redirect to the login page), take the user
/// through your own rejection type with a `From<PassageRejection>` impl, for example with
/// `axum_extra::extract::WithRejection<PassageUser, MyRejection>`, or match on the `Result`:
///
/// ```
/// use axum::http::StatusCode;
/// use axum::response::{Html, IntoResponse, Response};
/// use passage_axum::{PassageRejection, PassageUser};
///
/// async fn page(user: Result<PassageUser, PassageRejection>) -> Response {
///     match user {
///         Ok(user) => Html(format!("<p>Hello {}</p>", user.user_id())).into_response(),
///         Err(rejection) if rejection.status() == StatusCode::UNAUTHORIZED => {
///             (StatusCode::UNAUTHORIZED, Html("<a href=\"/login\">Sign in</a>")).into_response()
///         }
///         Err(rejection) => rejection.into_response(),
///     }
/// }
/// ```
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
pub struct PassageRejection(pub Refusal);

impl PassageRejection {
    /// The status this rejection answers with (401 or 503), like axum's own rejections.
    ///
    /// ```
    /// use passage_axum::PassageRejection;
    /// use passage_core::AuthError;
    /// let rejection = PassageRejection::from(AuthError::MissingToken);
    /// assert_eq!(rejection.status(), axum::http::StatusCode::UNAUTHORIZED);
    /// ```
    pub fn status(&self) -> axum::http::StatusCode {
        axum::http::StatusCode::from_u16(self.0.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The body this rejection answers with: a terse JSON text that says nothing about why a
    /// token was refused.
    ///
    /// ```
    /// use passage_axum::PassageRejection;
    /// use passage_core::AuthError;
    /// let body = PassageRejection::from(AuthError::MissingToken).body_text();
    /// assert!(body.contains("unauthorized"));
    /// ```
    pub fn body_text(&self) -> String {
        self.0.response().body.to_owned()
    }
}

impl From<Refusal> for PassageRejection {
    fn from(refusal: Refusal) -> Self {
        Self(refusal)
    }
}

impl From<AuthError> for PassageRejection {
    fn from(error: AuthError) -> Self {
        Self(error.into())
    }
}

impl fmt::Display for PassageRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for PassageRejection {
    // The display is the refusal's own, so the chain goes on with the refusal's cause (naming the
    // refusal again would print its message twice in `{:#}` reports).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

impl IntoResponse for PassageRejection {
    fn into_response(self) -> Response {
        self.0.response().to_http()
    }
}
