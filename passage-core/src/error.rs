//! Authentication errors, and the one mapping from them to an HTTP answer that every adapter uses.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::challenge::{BearerError, Challenge};

/// Why a request could not be authenticated.
///
/// Adapters answer [`AuthError::MissingToken`] and [`AuthError::InvalidToken`] with 401 and
/// [`AuthError::KeysUnavailable`] with 503; [`AuthError::response`] builds that answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The request carries no token in the configured source.
    #[error("no Passage auth token in the request")]
    MissingToken,
    /// A token was sent but is not valid. The reason is for logs, never for response bodies.
    #[error("invalid Passage auth token: {0}")]
    InvalidToken(InvalidTokenReason),
    /// The signing keys could not be had, so no token can be checked now.
    #[error("Passage signing keys are unavailable: {0}")]
    KeysUnavailable(KeysUnavailableReason),
}

/// The kind of defect of an invalid token (for logs and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidTokenReason {
    /// Not a compact JWS: wrong segment count, bad base64url, bad JSON, bad characters.
    Malformed,
    /// Longer than [`MAX_TOKEN_BYTES`](crate::MAX_TOKEN_BYTES).
    TooLarge,
    /// `alg` is not `RS256`.
    UnsupportedAlgorithm,
    /// The header has no usable `kid`.
    MissingKeyId,
    /// The `kid` is not in the JWKS (even after a refresh, when one was allowed).
    UnknownKeyId,
    /// The header carries `crit`, `jku`, `x5u`, `x5c` or an embedded `jwk`.
    ForbiddenHeader,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is in the past.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
    /// `iat` is in the future.
    IssuedInFuture,
    /// `exp` is further ahead than the configured maximum token lifetime.
    ExpiryTooFar,
    /// `exp` is missing.
    MissingExpiry,
    /// `iss` is not this app's issuer.
    WrongIssuer,
    /// `aud` does not contain this app's ID.
    WrongAudience,
    /// `sub` is missing, empty or not a string.
    MissingSubject,
    /// A time claim is not a number within ±2^53, or the claims are not a JSON object.
    InvalidClaims,
}

impl fmt::Display for InvalidTokenReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed token",
            Self::TooLarge => "token too large",
            Self::UnsupportedAlgorithm => "unsupported algorithm",
            Self::MissingKeyId => "kid missing in jwt header",
            Self::UnknownKeyId => "kid not found in JWKS",
            Self::ForbiddenHeader => "forbidden header parameter",
            Self::BadSignature => "signature does not verify",
            Self::Expired => "token expired",
            Self::NotYetValid => "token not yet valid",
            Self::IssuedInFuture => "token issued in the future",
            Self::ExpiryTooFar => "exp too far in the future",
            Self::MissingExpiry => "exp missing in jwt claims",
            Self::WrongIssuer => "wrong issuer",
            Self::WrongAudience => "wrong audience",
            Self::MissingSubject => "sub missing in jwt claims",
            Self::InvalidClaims => "invalid claims",
        })
    }
}

/// Why the JWKS could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeysUnavailableReason {
    /// The fetch did not complete within the timeout.
    Timeout,
    /// Connection or protocol failure.
    Transport,
    /// The server answered with a non-success status (redirects included).
    Status(u16),
    /// The HTTP client followed a redirect (only a client the application built does; the
    /// SDK never takes keys from where a response points).
    Redirected,
    /// The body was larger than the configured limit.
    TooLarge,
    /// The body is not a JWKS.
    InvalidJwks,
    /// The set lists more keys than allowed.
    TooManyKeys,
    /// The set has no key this verifier may use.
    NoUsableKeys,
    /// No Tokio runtime is running on this thread, so the JWKS cannot be fetched.
    NoRuntime,
    /// Earlier fetches failed and the next attempt is not due yet (backoff or fetch ceiling).
    Backoff {
        /// How long until the next attempt may be made.
        retry_after: Duration,
    },
}

impl fmt::Display for KeysUnavailableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("JWKS fetch timed out"),
            Self::Transport => f.write_str("JWKS fetch failed to connect"),
            Self::Status(status) => write!(f, "JWKS endpoint answered HTTP {status}"),
            Self::Redirected => f.write_str("JWKS request was redirected (never followed)"),
            Self::TooLarge => f.write_str("JWKS response too large"),
            Self::InvalidJwks => f.write_str("JWKS response is not a valid key set"),
            Self::TooManyKeys => f.write_str("JWKS lists too many keys"),
            Self::NoUsableKeys => f.write_str("JWKS has no usable RS256 key"),
            Self::NoRuntime => f.write_str("no Tokio runtime to fetch the JWKS on"),
            Self::Backoff { retry_after } => {
                write!(
                    f,
                    "JWKS fetch failed recently; next try in {} ms",
                    retry_after.as_millis()
                )
            }
        }
    }
}

/// An HTTP answer for an [`AuthError`], framework-neutral so each adapter only translates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// 401 or 503.
    pub status: u16,
    /// The `WWW-Authenticate` challenge (RFC 6750) on 401.
    pub challenge: Option<Challenge>,
    /// Seconds for `Retry-After` on 503.
    pub retry_after: Option<u64>,
    /// A terse JSON body that reveals nothing about why verification failed.
    pub body: &'static str,
}

impl ErrorResponse {
    /// The `Content-Type` of [`ErrorResponse::body`].
    pub const CONTENT_TYPE: &'static str = "application/json";

    /// The answer when an adapter finds no `Passage` handle in its framework's state: a server
    /// misconfiguration, so 500 (the details go to the log, not to the client).
    ///
    /// ```
    /// let response = passage_core::ErrorResponse::passage_missing();
    /// assert_eq!(response.status, 500);
    /// ```
    pub const fn passage_missing() -> Self {
        Self {
            status: 500,
            challenge: None,
            retry_after: None,
            body: r#"{"code":"passage_not_configured","error":"authentication is not configured on this server"}"#,
        }
    }

    /// The headers to send: `Content-Type`, and `WWW-Authenticate` or `Retry-After` when set.
    ///
    /// ```
    /// use passage_core::AuthError;
    /// let headers: Vec<_> = AuthError::MissingToken.response().headers().collect();
    /// assert!(headers.contains(&("www-authenticate", "Bearer".to_owned())));
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        [
            Some(("content-type", Self::CONTENT_TYPE.to_owned())),
            self.challenge
                .as_ref()
                .map(|c| ("www-authenticate", c.to_string())),
            self.retry_after.map(|s| ("retry-after", s.to_string())),
        ]
        .into_iter()
        .flatten()
    }

    /// The answer as an `http::Response` (for frameworks built on the `http` crate: axum, warp).
    ///
    /// ```
    /// use passage_core::AuthError;
    /// let response: http::Response<String> = AuthError::MissingToken.response().to_http();
    /// assert_eq!(response.status(), 401);
    /// assert_eq!(response.headers()["www-authenticate"], "Bearer");
    /// ```
    pub fn to_http<B: From<&'static str>>(&self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.body));
        *response.status_mut() = http::StatusCode::from_u16(self.status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        // The same headers as `headers()`, without copying them: refusals are the answer to
        // floods of forged tokens, so they should cost as little as the request.
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(Self::CONTENT_TYPE),
        );
        if let Some(value) = self
            .challenge
            .as_ref()
            .map(ToString::to_string)
            // ASCII only, as `HeaderValue::from_str` required before (a realm set in code could
            // hold anything).
            .filter(|value| value.is_ascii())
            .and_then(|value| http::HeaderValue::try_from(value).ok())
        {
            headers.insert(http::header::WWW_AUTHENTICATE, value);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
        }
        response
    }
}

impl AuthError {
    /// Whether this refusal means the request carries no credentials at all, which optional
    /// authentication answers as anonymous. Only [`AuthError::MissingToken`]: an invalid token
    /// or unavailable keys are never anonymous, so a forged token never passes as a guest. Every
    /// adapter's optional extractor applies this one rule.
    ///
    /// ```
    /// use passage_core::{AuthError, InvalidTokenReason};
    /// assert!(AuthError::MissingToken.is_anonymous());
    /// assert!(!AuthError::InvalidToken(InvalidTokenReason::BadSignature).is_anonymous());
    /// ```
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Self::MissingToken)
    }

    /// Applies optional authentication to an outcome: `Ok(None)` when
    /// [anonymous](AuthError::is_anonymous), the user when verified, the error otherwise.
    ///
    /// ```
    /// use passage_core::AuthError;
    /// assert_eq!(AuthError::optional::<u8>(Err(AuthError::MissingToken)), Ok(None));
    /// assert_eq!(AuthError::optional(Ok(7)), Ok(Some(7)));
    /// ```
    pub fn optional<T>(outcome: Result<T, AuthError>) -> Result<Option<T>, AuthError> {
        match outcome {
            Ok(user) => Ok(Some(user)),
            Err(error) if error.is_anonymous() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The HTTP status an adapter answers with: 401, or 503 when keys are unavailable.
    ///
    /// ```
    /// use passage_core::AuthError;
    /// assert_eq!(AuthError::MissingToken.status(), 401);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingToken | Self::InvalidToken(_) => 401,
            Self::KeysUnavailable(_) => 503,
        }
    }

    /// The whole answer: status, RFC 6750 challenge, `Retry-After` and body. The challenge names
    /// no realm; a [`Refusal`](crate::Refusal) made by [`Passage::refuse`](crate::Passage::refuse)
    /// names the app's.
    ///
    /// ```
    /// use passage_core::{AuthError, BearerError, InvalidTokenReason};
    /// let response = AuthError::InvalidToken(InvalidTokenReason::Expired).response();
    /// assert_eq!(response.status, 401);
    /// assert_eq!(response.challenge.unwrap().error(), Some(BearerError::InvalidToken));
    /// assert!(!response.body.contains("expired"));
    /// ```
    pub fn response(&self) -> ErrorResponse {
        self.response_in(None)
    }

    /// The answer, with `realm` in the challenge of a 401.
    pub(crate) fn response_in(&self, realm: Option<&Arc<str>>) -> ErrorResponse {
        let challenge = |error: Option<BearerError>| {
            let mut challenge = Challenge::bearer();
            if let Some(realm) = realm {
                challenge = challenge.with_realm(Arc::clone(realm));
            }
            if let Some(error) = error {
                challenge = challenge.with_error(error);
            }
            Some(challenge)
        };
        match self {
            Self::MissingToken => ErrorResponse {
                status: 401,
                challenge: challenge(None),
                retry_after: None,
                body: r#"{"code":"unauthorized","error":"authentication required"}"#,
            },
            Self::InvalidToken(_) => ErrorResponse {
                status: 401,
                challenge: challenge(Some(BearerError::InvalidToken)),
                retry_after: None,
                body: r#"{"code":"invalid_token","error":"the auth token is not valid"}"#,
            },
            Self::KeysUnavailable(reason) => {
                let retry_after = match reason {
                    KeysUnavailableReason::Backoff { retry_after } => {
                        retry_after.as_secs().clamp(1, 60)
                    }
                    _ => 5,
                };
                ErrorResponse {
                    status: 503,
                    challenge: None,
                    retry_after: Some(retry_after),
                    body: r#"{"code":"auth_unavailable","error":"authentication is temporarily unavailable"}"#,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses() {
        let missing = AuthError::MissingToken.response();
        assert_eq!(
            (missing.status, missing.challenge),
            (401, Some(Challenge::bearer()))
        );
        let unavailable = AuthError::KeysUnavailable(KeysUnavailableReason::Backoff {
            retry_after: Duration::from_millis(200),
        })
        .response();
        assert_eq!(
            (unavailable.status, unavailable.retry_after),
            (503, Some(1))
        );
        assert!(unavailable.challenge.is_none());
        for body in [missing.body, unavailable.body] {
            assert!(serde_json::from_str::<serde_json::Value>(body).is_ok());
        }
    }

    #[test]
    fn http_responses_carry_the_listed_headers_and_status() {
        let realm: Arc<str> = Arc::from("app42");
        for error in [
            AuthError::MissingToken,
            AuthError::InvalidToken(InvalidTokenReason::BadSignature),
            AuthError::KeysUnavailable(KeysUnavailableReason::Backoff {
                retry_after: Duration::from_secs(3),
            }),
        ] {
            let response = error.response_in(Some(&realm));
            let http: http::Response<String> = response.to_http();
            assert_eq!(http.status().as_u16(), response.status);
            assert_eq!(
                crate::Refusal::from(error.clone()).status(),
                response.status
            );
            let listed: Vec<(String, String)> = response
                .headers()
                .map(|(name, value)| (name.to_owned(), value))
                .collect();
            let sent: Vec<(String, String)> = http
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        value.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            assert_eq!(sent, listed, "{error:?}");
        }
        assert_eq!(crate::Refusal::passage_not_configured().status(), 500);
    }
}
