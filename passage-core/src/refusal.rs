//! [`Refusal`]: why an adapter refused a request, and the answer it sends. The one error type
//! every adapter wraps (each in a thin newtype, as the orphan rule forces) so that the rules for
//! status, challenge and body live here once.

use std::fmt;
use std::sync::Arc;

use crate::error::{AuthError, ErrorResponse};

/// Why a request was refused: it could not be authenticated ([`Refusal::auth_error`]; 401, or 503
/// when the keys are unavailable), or the framework holds no `Passage` handle (500, a server
/// misconfiguration).
///
/// [`Passage::refuse`](crate::Passage::refuse) makes one that names the app as the challenge's
/// realm; `From<AuthError>` makes one without a realm.
///
/// ```
/// use passage_core::{AuthError, Refusal};
///
/// let refusal = Refusal::from(AuthError::MissingToken).with_realm("app42");
/// assert_eq!(refusal.status(), 401);
/// assert!(refusal.is_anonymous());
/// assert_eq!(refusal.response().challenge.unwrap().to_string(), r#"Bearer realm="app42""#);
/// assert_eq!(Refusal::passage_not_configured().status(), 500);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    cause: Cause,
    realm: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Cause {
    Auth(AuthError),
    PassageNotConfigured,
}

impl Refusal {
    /// The refusal of an adapter that found no `Passage` handle in its framework's state. The
    /// adapter logs how to fix it; the client learns nothing but a 500.
    ///
    /// ```
    /// let refusal = passage_core::Refusal::passage_not_configured();
    /// assert!(refusal.auth_error().is_none());
    /// ```
    pub const fn passage_not_configured() -> Self {
        Self {
            cause: Cause::PassageNotConfigured,
            realm: None,
        }
    }

    /// Names the protection space of the 401 challenge.
    ///
    /// ```
    /// use passage_core::{AuthError, Refusal};
    /// let refusal = Refusal::from(AuthError::MissingToken).with_realm("app42");
    /// assert_eq!(refusal.realm(), Some("app42"));
    /// ```
    pub fn with_realm(mut self, realm: impl Into<Arc<str>>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// The realm the challenge names, if any.
    ///
    /// ```
    /// assert_eq!(passage_core::Refusal::passage_not_configured().realm(), None);
    /// ```
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// The authentication error, when the request itself was refused (for logs; never show its
    /// reason to the client).
    ///
    /// ```
    /// use passage_core::{AuthError, Refusal};
    /// let refusal = Refusal::from(AuthError::MissingToken);
    /// assert_eq!(refusal.auth_error(), Some(&AuthError::MissingToken));
    /// ```
    pub fn auth_error(&self) -> Option<&AuthError> {
        match &self.cause {
            Cause::Auth(error) => Some(error),
            Cause::PassageNotConfigured => None,
        }
    }

    /// Takes the authentication error out, when there is one.
    ///
    /// ```
    /// use passage_core::{AuthError, Refusal};
    /// assert_eq!(Refusal::from(AuthError::MissingToken).into_auth_error(), Some(AuthError::MissingToken));
    /// ```
    pub fn into_auth_error(self) -> Option<AuthError> {
        match self.cause {
            Cause::Auth(error) => Some(error),
            Cause::PassageNotConfigured => None,
        }
    }

    /// Whether the request simply carried no token ([`AuthError::is_anonymous`]): what optional
    /// authentication answers as "no user".
    ///
    /// ```
    /// assert!(!passage_core::Refusal::passage_not_configured().is_anonymous());
    /// ```
    pub fn is_anonymous(&self) -> bool {
        self.auth_error().is_some_and(AuthError::is_anonymous)
    }

    /// Applies optional authentication to an outcome: `Ok(None)` when the refusal is
    /// [anonymous](Refusal::is_anonymous), the user when there is one, the refusal otherwise.
    ///
    /// ```
    /// use passage_core::{AuthError, Refusal};
    /// assert_eq!(Refusal::optional::<u8>(Err(AuthError::MissingToken.into())), Ok(None));
    /// assert_eq!(Refusal::optional(Ok(7)), Ok(Some(7)));
    /// ```
    pub fn optional<T>(outcome: Result<T, Refusal>) -> Result<Option<T>, Refusal> {
        match outcome {
            Ok(user) => Ok(Some(user)),
            Err(refusal) if refusal.is_anonymous() => Ok(None),
            Err(refusal) => Err(refusal),
        }
    }

    /// The status to answer with: 401, 503 when the keys are unavailable, 500 without a handle.
    ///
    /// ```
    /// use passage_core::{AuthError, Refusal};
    /// assert_eq!(Refusal::from(AuthError::MissingToken).status(), 401);
    /// ```
    pub fn status(&self) -> u16 {
        match &self.cause {
            Cause::Auth(error) => error.status(),
            Cause::PassageNotConfigured => ErrorResponse::passage_missing().status,
        }
    }

    /// The whole answer: status, challenge (with the realm), `Retry-After` and a terse body.
    ///
    /// ```
    /// use passage_core::{AuthError, Refusal};
    /// let response = Refusal::from(AuthError::MissingToken).response();
    /// assert_eq!(response.status, 401);
    /// ```
    pub fn response(&self) -> ErrorResponse {
        match &self.cause {
            Cause::Auth(error) => error.response_in(self.realm.as_ref()),
            Cause::PassageNotConfigured => ErrorResponse::passage_missing(),
        }
    }
}

impl From<AuthError> for Refusal {
    fn from(error: AuthError) -> Self {
        Self {
            cause: Cause::Auth(error),
            realm: None,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Cause::Auth(error) => fmt::Display::fmt(error, f),
            Cause::PassageNotConfigured => {
                f.write_str("no Passage handle in the framework's state")
            }
        }
    }
}

impl std::error::Error for Refusal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Cause::Auth(error) => error.source(),
            Cause::PassageNotConfigured => None,
        }
    }
}
