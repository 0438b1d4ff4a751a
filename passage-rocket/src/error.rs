//! [`PassageError`]: why a guard refused a request, and its [`Responder`].

use std::fmt;
use std::io::Cursor;

use passage_core::{AuthError, ErrorResponse};
use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};

/// Why a request was refused: the answer is [`AuthError::response`] (401 or 503), or 500 when
/// Rocket manages no [`Passage`](passage_core::Passage) handle.
///
/// It is the `Error` of the guards, and a [`Responder`]: handlers taking
/// `Result<PassageUser, PassageError>` can return it as is.
///
/// ```
/// use passage_core::AuthError;
/// use passage_rocket::PassageError;
/// use rocket::http::Status;
///
/// assert_eq!(PassageError::Auth(AuthError::MissingToken).status(), Status::Unauthorized);
/// assert_eq!(PassageError::PassageNotConfigured.status(), Status::InternalServerError);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PassageError {
    /// The request could not be authenticated (401, or 503 when the keys are unavailable).
    Auth(AuthError),
    /// No `Passage` handle in managed state: attach [`PassageFairing`](crate::PassageFairing)
    /// or `.manage(passage)`.
    PassageNotConfigured,
}

impl PassageError {
    /// The status this error answers with.
    ///
    /// ```
    /// use passage_core::AuthError;
    /// let error = passage_rocket::PassageError::Auth(AuthError::MissingToken);
    /// assert_eq!(error.status().code, 401);
    /// ```
    pub fn status(&self) -> Status {
        match self {
            Self::Auth(error) => Status::new(error.status()),
            Self::PassageNotConfigured => Status::InternalServerError,
        }
    }

    /// The core error, when the request itself was refused.
    ///
    /// ```
    /// use passage_core::AuthError;
    /// let error = passage_rocket::PassageError::Auth(AuthError::MissingToken);
    /// assert_eq!(error.auth_error(), Some(&AuthError::MissingToken));
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
            "passage-rocket: no Passage in managed state; attach `PassageFairing` or \
             `.manage(passage)` to the Rocket"
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
            Self::PassageNotConfigured => {
                f.write_str("no Passage handle in Rocket's managed state")
            }
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

impl<'r> Responder<'r, 'static> for PassageError {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let answer = match &self {
            Self::Auth(error) => error.response(),
            Self::PassageNotConfigured => ErrorResponse::passage_missing(),
        };
        let mut builder = Response::build();
        builder
            .status(Status::new(answer.status))
            .sized_body(answer.body.len(), Cursor::new(answer.body));
        for (name, value) in answer.headers() {
            builder.header(Header::new(name, value));
        }
        Ok(builder.finalize())
    }
}

/// The catchers' answer to a 401/503/500 that no Passage guard caused.
#[derive(Debug)]
pub(crate) struct Fallback(pub(crate) Status);

impl<'r> Responder<'r, 'static> for Fallback {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        if self.0 == Status::Unauthorized {
            // Some other guard refused: still tell the client how to authenticate.
            return PassageError::Auth(AuthError::MissingToken).respond_to(request);
        }
        let body = format!(
            r#"{{"code":"{}","error":"{}"}}"#,
            self.0.code,
            self.0.reason().unwrap_or("error").to_ascii_lowercase()
        );
        Ok(Response::build()
            .status(self.0)
            .header(ContentType::JSON)
            .sized_body(body.len(), Cursor::new(body))
            .finalize())
    }
}
