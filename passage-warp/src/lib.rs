#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::fmt;

use http::HeaderMap;
use passage_core::{AuthError, AuthenticatedUser, Passage, Refusal};
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
pub struct PassageUser(pub AuthenticatedUser);

impl PassageUser {
    /// Takes out the core's [`AuthenticatedUser`] (the user ID and the handle that verified it).
    ///
    /// ```no_run
    /// fn id(user: passage_warp::PassageUser) -> passage_core::UserId { user.into_inner().into_user_id() }
    /// ```
    pub fn into_inner(self) -> AuthenticatedUser {
        self.0
    }
}

/// The user ID, the handle and [`AuthenticatedUser::fetch`] are reached through the core type.
impl std::ops::Deref for PassageUser {
    type Target = AuthenticatedUser;

    fn deref(&self) -> &AuthenticatedUser {
        &self.0
    }
}

impl From<AuthenticatedUser> for PassageUser {
    fn from(user: AuthenticatedUser) -> Self {
        Self(user)
    }
}

/// Extracts the signed-in user; rejects with [`PassageRejection`] when the request has no valid
/// token (401) or the signing keys are unavailable (503). Always pair it with
/// `.recover(`[`handle_rejection`]`)`: without it warp answers an unhandled rejection with a 500.
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
    with_headers(passage).and_then(|passage: Passage, headers: HeaderMap| async move {
        match passage.authenticate(&headers).await {
            Ok(user) => Ok(PassageUser::from(user)),
            Err(error) => Err(warp::reject::custom(PassageRejection(
                passage.refuse(error),
            ))),
        }
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
    with_headers(passage).and_then(|passage: Passage, headers: HeaderMap| async move {
        match passage.authenticate_optional(&headers).await {
            Ok(user) => Ok(user.map(PassageUser::from)),
            Err(error) => Err(warp::reject::custom(PassageRejection(
                passage.refuse(error),
            ))),
        }
    })
}

/// The handle and the request's headers, for the filters above.
fn with_headers(
    passage: Passage,
) -> impl Filter<Extract = (Passage, HeaderMap), Error = Infallible> + Clone {
    warp::any()
        .map(move || passage.clone())
        .and(warp::header::headers_cloned())
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
#[derive(Clone, PartialEq, Eq)]
pub struct PassageRejection(pub Refusal);

/// Terse on purpose: warp writes a rejection's `Debug` into the 500 it answers when no
/// `recover` handles it, so it must not tell a client why its token failed.
impl fmt::Debug for PassageRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PassageRejection")
            .field("status", &self.0.status())
            .finish()
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

impl Reject for PassageRejection {}

impl Reply for PassageRejection {
    fn into_response(self) -> Response {
        self.0.response().to_http()
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
