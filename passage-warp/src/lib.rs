//! Passage authentication for [warp](https://docs.rs/warp): filters that extract the signed-in
//! user, a rejection type, and a `recover` handler that answers as RFC 6750 says.
//!
//! Token extraction and verification happen in [`passage_core`]; this crate only adapts them to
//! warp's filters and rejections.
//!
//! ```no_run
//! use passage_core::Passage;
//! use passage_warp::{PassageUser, handle_rejection, optional_user, user};
//! use warp::Filter;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let passage = Passage::from_env()?;
//!     let me = warp::path!("me")
//!         .and(user(passage.clone()))
//!         .map(|user: PassageUser| format!("hello {}", user.user_id()));
//!     let home = warp::path::end().and(optional_user(passage)).map(|user: Option<PassageUser>| {
//!         match user {
//!             Some(user) => format!("hello {}", user.user_id()),
//!             None => "hello stranger".to_owned(),
//!         }
//!     });
//!     let routes = me.or(home).recover(handle_rejection);
//!     warp::serve(routes).run(([127, 0, 0, 1], 8080)).await;
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::fmt;

use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use passage_core::management::{ManagementError, User};
use passage_core::{AuthError, ErrorResponse, Passage, UserId};
use warp::Filter;
use warp::reject::{Reject, Rejection};
use warp::reply::{Reply, Response};

/// The signed-in user, extracted by [`user`] or [`optional_user`].
///
/// ```no_run
/// use passage_warp::PassageUser;
/// fn greet(user: PassageUser) -> String {
///     format!("signed in as {}", user.user_id())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct PassageUser {
    user_id: UserId,
    passage: Passage,
}

impl PassageUser {
    /// The Passage user ID (the token's `sub`).
    ///
    /// ```no_run
    /// fn id(user: &passage_warp::PassageUser) -> String {
    ///     user.user_id().to_string()
    /// }
    /// ```
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// Takes the user ID out.
    ///
    /// ```no_run
    /// fn id(user: passage_warp::PassageUser) -> passage_core::UserId {
    ///     user.into_user_id()
    /// }
    /// ```
    pub fn into_user_id(self) -> UserId {
        self.user_id
    }

    /// Fetches the full user from the management API (needs an API key in the config).
    ///
    /// ```no_run
    /// async fn me(user: passage_warp::PassageUser) -> String {
    ///     match user.fetch().await {
    ///         Ok(user) => format!("{} <{}>", user.id, user.email),
    ///         Err(error) => format!("management API failed: {error}"),
    ///     }
    /// }
    /// ```
    pub async fn fetch(&self) -> Result<User, ManagementError> {
        self.passage.user().get(&self.user_id).await
    }

    /// The `Passage` handle that verified the token (for management calls).
    ///
    /// ```no_run
    /// fn app_id(user: &passage_warp::PassageUser) -> &str {
    ///     user.passage().config().app_id()
    /// }
    /// ```
    pub fn passage(&self) -> &Passage {
        &self.passage
    }
}

/// Extracts the signed-in user; rejects with [`PassageRejection`] when the request has no valid
/// token (401) or the signing keys are unavailable (503). Pair it with
/// `.recover(`[`handle_rejection`]`)` to answer those rejections properly.
///
/// ```no_run
/// use passage_warp::{PassageUser, user};
/// use warp::Filter;
/// # fn routes(passage: passage_core::Passage) {
/// let me = warp::path!("me")
///     .and(user(passage))
///     .map(|user: PassageUser| user.user_id().to_string());
/// # }
/// ```
pub fn user(passage: Passage) -> impl Filter<Extract = (PassageUser,), Error = Rejection> + Clone {
    authenticate(passage).and_then(|result: Result<PassageUser, AuthError>| async move {
        result.map_err(|error| warp::reject::custom(PassageRejection(error)))
    })
}

/// Extracts the signed-in user if the request carries a token, `None` if it carries none.
///
/// A token that is present but invalid is still rejected (401), and unavailable keys too (503):
/// a forged token never passes as anonymous.
///
/// ```no_run
/// use passage_warp::{PassageUser, optional_user};
/// use warp::Filter;
/// # fn routes(passage: passage_core::Passage) {
/// let home = warp::path::end().and(optional_user(passage)).map(|user: Option<PassageUser>| {
///     user.map_or_else(|| "anonymous".to_owned(), |user| user.user_id().to_string())
/// });
/// # }
/// ```
pub fn optional_user(
    passage: Passage,
) -> impl Filter<Extract = (Option<PassageUser>,), Error = Rejection> + Clone {
    authenticate(passage).and_then(|result: Result<PassageUser, AuthError>| async move {
        match result {
            Ok(user) => Ok(Some(user)),
            Err(AuthError::MissingToken) => Ok(None),
            Err(error) => Err(warp::reject::custom(PassageRejection(error))),
        }
    })
}

/// Verifies the request's token; never rejects, the callers decide.
fn authenticate(
    passage: Passage,
) -> impl Filter<Extract = (Result<PassageUser, AuthError>,), Error = Infallible> + Clone {
    warp::header::headers_cloned().and_then(move |headers: HeaderMap| {
        let passage = passage.clone();
        async move {
            let result = passage.authenticate_request(&headers).await;
            Ok::<_, Infallible>(result.map(|user_id| PassageUser { user_id, passage }))
        }
    })
}

/// The rejection of [`user`] and [`optional_user`]: the request could not be authenticated.
///
/// [`handle_rejection`] turns it into the core's answer; a custom `recover` can find it with
/// `rejection.find::<PassageRejection>()`.
///
/// ```
/// use passage_core::AuthError;
/// use passage_warp::PassageRejection;
/// use warp::Reply;
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
    /// use passage_core::AuthError;
    /// use passage_warp::PassageRejection;
    /// assert_eq!(PassageRejection::from(AuthError::MissingToken).auth_error(), &AuthError::MissingToken);
    /// ```
    pub fn auth_error(&self) -> &AuthError {
        &self.0
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

impl Reject for PassageRejection {}

impl Reply for PassageRejection {
    fn into_response(self) -> Response {
        render(&self.0.response())
    }
}

/// A `recover` handler: answers [`PassageRejection`]s with the core's response (status,
/// `WWW-Authenticate`, `Retry-After`, JSON body) and passes every other rejection on.
///
/// ```no_run
/// use passage_warp::{handle_rejection, user};
/// use warp::Filter;
/// # fn routes(passage: passage_core::Passage) {
/// let routes = warp::path!("me")
///     .and(user(passage))
///     .map(|user: passage_warp::PassageUser| user.user_id().to_string())
///     .recover(handle_rejection);
/// # }
/// ```
pub async fn handle_rejection(rejection: Rejection) -> Result<Response, Rejection> {
    match rejection.find::<PassageRejection>() {
        Some(passage_rejection) => Ok(passage_rejection.clone().into_response()),
        None => Err(rejection),
    }
}

/// Translates the core's answer into a warp response.
fn render(answer: &ErrorResponse) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = answer.body.into_response();
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(ErrorResponse::CONTENT_TYPE),
    );
    if let Some(challenge) = answer.www_authenticate {
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    if let Some(seconds) = answer.retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
