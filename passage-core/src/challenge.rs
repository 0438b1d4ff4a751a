//! [`Challenge`]: the typed `WWW-Authenticate` value of a 401 (RFC 6750, section 3).

use std::fmt;
use std::sync::Arc;

/// The `error` parameter of a Bearer challenge (RFC 6750, section 3.1).
///
/// ```
/// use passage_core::BearerError;
/// assert_eq!(BearerError::InvalidToken.as_str(), "invalid_token");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BearerError {
    /// The request is malformed (a missing or repeated parameter).
    InvalidRequest,
    /// The token is expired, revoked, malformed or otherwise invalid.
    InvalidToken,
    /// The token is valid but does not grant what the resource needs.
    InsufficientScope,
}

impl BearerError {
    /// The parameter's value as it goes on the wire.
    ///
    /// ```
    /// assert_eq!(passage_core::BearerError::InsufficientScope.as_str(), "insufficient_scope");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
        }
    }
}

impl fmt::Display for BearerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Bearer challenge: the scheme, the protection space (`realm`) and, when a token was sent
/// and refused, the `error`. Its `Display` is the header value.
///
/// A request without credentials gets no `error` (RFC 6750, section 3.1: the client did not
/// try, so nothing went wrong); the adapters name the app ID as the realm.
///
/// ```
/// use passage_core::{BearerError, Challenge};
///
/// assert_eq!(Challenge::bearer().to_string(), "Bearer");
/// let challenge = Challenge::bearer().with_realm("app42").with_error(BearerError::InvalidToken);
/// assert_eq!(challenge.to_string(), r#"Bearer realm="app42", error="invalid_token""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Challenge {
    realm: Option<Arc<str>>,
    error: Option<BearerError>,
}

impl Challenge {
    /// A bare `Bearer` challenge.
    ///
    /// ```
    /// assert_eq!(passage_core::Challenge::bearer().realm(), None);
    /// ```
    pub fn bearer() -> Self {
        Self::default()
    }

    /// Names the protection space. Quotes and backslashes are escaped and control characters
    /// dropped when the challenge is written, so any realm gives a valid header value.
    ///
    /// ```
    /// let challenge = passage_core::Challenge::bearer().with_realm("app42");
    /// assert_eq!(challenge.realm(), Some("app42"));
    /// ```
    pub fn with_realm(mut self, realm: impl Into<Arc<str>>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Sets the `error` parameter.
    ///
    /// ```
    /// use passage_core::{BearerError, Challenge};
    /// let challenge = Challenge::bearer().with_error(BearerError::InvalidToken);
    /// assert_eq!(challenge.error(), Some(BearerError::InvalidToken));
    /// ```
    pub fn with_error(mut self, error: BearerError) -> Self {
        self.error = Some(error);
        self
    }

    /// The realm, if any.
    ///
    /// ```
    /// assert_eq!(passage_core::Challenge::bearer().with_realm("a").realm(), Some("a"));
    /// ```
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// The `error` parameter, if any.
    ///
    /// ```
    /// assert_eq!(passage_core::Challenge::bearer().error(), None);
    /// ```
    pub fn error(&self) -> Option<BearerError> {
        self.error
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer")?;
        let mut separator = " ";
        if let Some(realm) = &self.realm {
            write!(f, "{separator}realm=\"")?;
            for c in realm.chars().filter(|c| !c.is_control()) {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\"")?;
            separator = ", ";
        }
        if let Some(error) = self.error {
            write!(f, "{separator}error=\"{error}\"")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendering() {
        assert_eq!(
            Challenge::bearer()
                .with_error(BearerError::InvalidToken)
                .to_string(),
            r#"Bearer error="invalid_token""#
        );
        assert_eq!(
            Challenge::bearer().with_realm("app").to_string(),
            r#"Bearer realm="app""#
        );
        assert_eq!(
            Challenge::bearer()
                .with_realm("a \"b\" \\c\r\nd")
                .to_string(),
            r#"Bearer realm="a \"b\" \\cd""#
        );
    }
}
