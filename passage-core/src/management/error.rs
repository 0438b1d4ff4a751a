//! Errors of the management client.

use serde::Deserialize;

/// A Passage API error code (the `code` of `{"code", "error"}` bodies).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 400 `invalid_request`.
    InvalidRequest,
    /// 401 `invalid_access_token`: the API key is wrong.
    InvalidAccessToken,
    /// 403 `operation_not_allowed`.
    OperationNotAllowed,
    /// 404 `app_not_found`.
    AppNotFound,
    /// 404 `user_not_found`.
    UserNotFound,
    /// 404 `device_not_found`.
    DeviceNotFound,
    /// 500 `internal_server_error`.
    InternalServerError,
    /// Any other code, as sent (empty when the body had none).
    Other(String),
}

impl ErrorCode {
    fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_access_token" => Self::InvalidAccessToken,
            "operation_not_allowed" => Self::OperationNotAllowed,
            "app_not_found" => Self::AppNotFound,
            "user_not_found" => Self::UserNotFound,
            "device_not_found" => Self::DeviceNotFound,
            "internal_server_error" => Self::InternalServerError,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidAccessToken => "invalid_access_token",
            Self::OperationNotAllowed => "operation_not_allowed",
            Self::AppNotFound => "app_not_found",
            Self::UserNotFound => "user_not_found",
            Self::DeviceNotFound => "device_not_found",
            Self::InternalServerError => "internal_server_error",
            Self::Other(other) => other,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a management call failed.
///
/// ```
/// use passage_core::management::{ErrorCode, ManagementError};
/// # fn check(error: ManagementError) {
/// match error {
///     ManagementError::Api { code: ErrorCode::UserNotFound, .. } => println!("no such user"),
///     ManagementError::Api { status, message, .. } => println!("HTTP {status}: {message}"),
///     other => println!("{other}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManagementError {
    /// The call needs an API key and none is configured; no request was made.
    #[error("this call needs a Passage API key: set PASSAGE_API_KEY or ConfigBuilder::api_key")]
    MissingApiKey,
    /// An argument was refused before any request (empty ID, missing field).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// Passage answered with an error.
    #[error("Passage API error (HTTP {status}, {code}): {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The error code.
        code: ErrorCode,
        /// The message.
        message: String,
    },
    /// The call did not complete within the request timeout.
    #[error("the Passage API did not answer in time")]
    Timeout,
    /// The HTTP client followed a redirect, so the answer is not the Passage API's. Only a
    /// client the application built follows redirects; the SDK's own never does.
    #[error("the Passage API call was redirected; redirects are not followed")]
    Redirected,
    /// Connection or protocol failure; the underlying error is the [`source`](std::error::Error::source).
    #[error("could not reach the Passage API")]
    Transport(#[source] TransportError),
    /// A success status with a body that does not match the API's schema.
    #[error("unexpected response from the Passage API (HTTP {status}): {detail}")]
    Decode {
        /// The HTTP status.
        status: u16,
        /// What did not match.
        detail: String,
    },
}

impl ManagementError {
    /// The HTTP status Passage answered with, if it answered.
    ///
    /// ```
    /// use passage_core::management::ManagementError;
    /// assert_eq!(ManagementError::Timeout.status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The Passage error code, if Passage answered with one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the user or device asked about does not exist (`user_not_found`,
    /// `device_not_found`). Any other 404, such as `app_not_found` or a wrong API origin, is a
    /// misconfiguration and answers `false`.
    ///
    /// ```
    /// use passage_core::management::{ErrorCode, ManagementError};
    /// let error = ManagementError::Api { status: 404, code: ErrorCode::UserNotFound, message: "User not found".into() };
    /// assert!(error.is_not_found());
    /// let misrouted = ManagementError::Api { status: 404, code: ErrorCode::AppNotFound, message: "App not found".into() };
    /// assert!(!misrouted.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::Api {
                status: 404,
                code: ErrorCode::UserNotFound | ErrorCode::DeviceNotFound,
                ..
            }
        )
    }

    pub(crate) fn user_not_found() -> Self {
        Self::Api {
            status: 404,
            code: ErrorCode::UserNotFound,
            message: "User not found".into(),
        }
    }

    /// Builds the error for a non-success response body.
    pub(crate) fn from_body(status: u16, body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Body {
            #[serde(default)]
            code: String,
            #[serde(default)]
            error: String,
        }
        match serde_json::from_slice::<Body>(body) {
            Ok(body) => Self::Api {
                status,
                code: ErrorCode::parse(&body.code),
                message: body.error,
            },
            Err(_) => Self::Api {
                status,
                code: ErrorCode::Other(String::new()),
                message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            },
        }
    }
}

/// A connection or protocol failure of the HTTP client, kept whole (with the URL, which may
/// name the API origin, removed) so that `{:#}` and `anyhow` reports say why.
///
/// ```no_run
/// # async fn run(passage: passage_core::Passage) {
/// if let Err(error @ passage_core::management::ManagementError::Transport(_)) =
///     passage.user().get("user-id").await
/// {
///     let cause = std::error::Error::source(&error).map(|c| c.to_string());
///     eprintln!("{error}: {cause:?}");
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TransportError(std::sync::Arc<reqwest::Error>);

impl TransportError {
    pub(crate) fn new(error: reqwest::Error) -> Self {
        Self(std::sync::Arc::new(error.without_url()))
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::transport::error_chain(&*self.0))
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// Two transport errors are equal when they say the same thing.
impl PartialEq for TransportError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for TransportError {}
