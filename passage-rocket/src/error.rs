//! [`PassageError`]: why a guard refused a request, and its [`Responder`].

use std::fmt;
use std::io::Cursor;

use passage_core::{AuthError, Passage, Refusal};
use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};

/// Why a request was refused: the core's [`Refusal`] (401 or 503, or 500 when Rocket manages no
/// [`Passage`](passage_core::Passage) handle).
///
/// It is the `Error` of the guards, and a [`Responder`]: handlers taking
/// `Result<PassageUser, PassageError>` can return it as is.
///
/// ```
/// use passage_core::{AuthError, Refusal};
/// use passage_rocket::PassageError;
/// use rocket::http::Status;
///
/// assert_eq!(PassageError::from(AuthError::MissingToken).status(), Status::Unauthorized);
/// assert_eq!(PassageError(Refusal::passage_not_configured()).status(), Status::InternalServerError);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassageError(pub Refusal);

impl PassageError {
    /// The status this error answers with.
    ///
    /// ```
    /// use passage_core::AuthError;
    /// let error = passage_rocket::PassageError::from(AuthError::MissingToken);
    /// assert_eq!(error.status().code, 401);
    /// ```
    pub fn status(&self) -> Status {
        Status::new(self.0.status())
    }

    /// Builds the error for a missing `Passage` handle, and logs how to fix it.
    pub(crate) fn not_configured() -> Self {
        tracing::error!(
            "passage-rocket: no Passage in managed state; attach `PassageFairing` or \
             `.manage(passage)` to the Rocket"
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

impl<'r> Responder<'r, 'static> for PassageError {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let answer = self.0.response();
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
            let refusal = match request.rocket().state::<Passage>() {
                Some(passage) => passage.refuse(AuthError::MissingToken),
                None => AuthError::MissingToken.into(),
            };
            return PassageError(refusal).respond_to(request);
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
