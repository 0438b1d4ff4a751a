//! The [`PassageUser`] and [`MaybePassageUser`] request guards, and [`RequestHeaders`], Rocket's
//! header map seen as a [`TokenSource`].

use passage_core::{AuthenticatedUser, Passage, Refusal, TokenSource, UserId};
use rocket::http::{HeaderMap, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};

use crate::error::PassageError;

/// Rocket's header map as a [`TokenSource`], so [`Passage::authenticate_request`](passage_core::Passage::authenticate_request) can read it.
///
/// ```no_run
/// use passage_rocket::RequestHeaders;
/// # async fn run(passage: passage_core::Passage, request: &rocket::Request<'_>) {
/// let user_id = passage.authenticate_request(&RequestHeaders::new(request.headers())).await;
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequestHeaders<'a, 'r>(&'a HeaderMap<'r>);

impl<'a, 'r> RequestHeaders<'a, 'r> {
    /// Wraps a request's headers.
    ///
    /// ```
    /// let headers = rocket::http::HeaderMap::new();
    /// let _source = passage_rocket::RequestHeaders::new(&headers);
    /// ```
    pub fn new(headers: &'a HeaderMap<'r>) -> Self {
        Self(headers)
    }
}

impl TokenSource for RequestHeaders<'_, '_> {
    fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s [u8]> + 's {
        self.0.get(name).map(str::as_bytes)
    }
}

/// The signed-in user: the guard requires a valid Passage auth token.
///
/// The [`Passage`] handle is read from managed state (see
/// [`PassageFairing`](crate::PassageFairing)). The outcome is cached per request, so several
/// guards on one route verify once. On failure the guard answers
/// `Outcome::Error((status, PassageError))`: 401 without a valid token, 503 when the keys are
/// unavailable, 500 without a managed `Passage`; register [`catchers`](crate::catchers) so those
/// answers carry their headers and JSON body.
///
/// For optional authentication use [`MaybePassageUser`], not `Option<PassageUser>`: Rocket's
/// `Option` guard turns every failure into `None`, so an invalid token would pass as anonymous.
///
/// Known limitation: Rocket drops header values that are not valid UTF-8 before any guard runs,
/// so such a token is seen as absent (anonymous on optional routes, 401 on required ones), where
/// the other adapters answer 401 `invalid_token`. It never grants access.
///
/// ```no_run
/// use passage_rocket::PassageUser;
///
/// #[rocket::get("/me")]
/// fn me(user: PassageUser) -> String {
///     format!("signed in as {}", user.user_id())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct PassageUser(pub AuthenticatedUser);

impl PassageUser {
    /// Takes out the core's [`AuthenticatedUser`] (the user ID and the handle that verified it).
    ///
    /// ```no_run
    /// fn id(user: passage_rocket::PassageUser) -> passage_core::UserId { user.into_inner().into_user_id() }
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

/// The request-local cache entry: the outcome of authenticating this request, once computed.
struct Cached(Option<Result<PassageUser, PassageError>>);

/// Authenticates the request once; later calls return the cached outcome.
async fn authenticate<'r>(request: &'r Request<'_>) -> &'r Result<PassageUser, PassageError> {
    let cached = request
        .local_cache_async(async {
            let Some(passage) = request.rocket().state::<Passage>() else {
                return Cached(Some(Err(PassageError::not_configured())));
            };
            let result = passage
                .authenticate(&RequestHeaders(request.headers()))
                .await
                .map(PassageUser::from)
                .map_err(|error| PassageError(passage.refuse(error)));
            Cached(Some(result))
        })
        .await;
    match &cached.0 {
        Some(result) => result,
        // Only a catcher inserts an empty entry, and catchers run after every guard.
        None => &NOT_RUN,
    }
}

static NOT_RUN: Result<PassageUser, PassageError> =
    Err(PassageError(Refusal::passage_not_configured()));

/// The error a Passage guard cached for this request, for the catcher of `status`: only an
/// error of that very status, so a handler's own 500 or 503 on a route whose optional guard saw
/// no token is not turned into that guard's 401.
pub(crate) fn cached_error(request: &Request<'_>, status: Status) -> Option<PassageError> {
    match &request.local_cache(|| Cached(None)).0 {
        Some(Err(error)) if error.status() == status => Some(error.clone()),
        _ => None,
    }
}

/// A route guarded by `PassageUser` cannot work without a managed [`Passage`] (attach
/// [`PassageFairing`](crate::PassageFairing), or `.manage()` one): launch is aborted with a clear
/// message instead of answering 500 on every request.
impl rocket::Sentinel for PassageUser {
    fn abort(rocket: &rocket::Rocket<rocket::Ignite>) -> bool {
        missing_passage(rocket)
    }
}

/// Like [`PassageUser`]'s sentinel: an optional guard needs the handle too.
impl rocket::Sentinel for MaybePassageUser {
    fn abort(rocket: &rocket::Rocket<rocket::Ignite>) -> bool {
        missing_passage(rocket)
    }
}

fn missing_passage(rocket: &rocket::Rocket<rocket::Ignite>) -> bool {
    let missing = rocket.state::<Passage>().is_none();
    if missing {
        tracing::error!(
            "a route takes a Passage guard but no Passage is managed: attach PassageFairing"
        );
    }
    missing
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PassageUser {
    type Error = PassageError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        match authenticate(request).await {
            Ok(user) => Outcome::Success(user.clone()),
            Err(error) => Outcome::Error((error.status(), error.clone())),
        }
    }
}

/// The signed-in user if the request carries a token, or anonymous if it carries none.
///
/// A token that is present but invalid is still refused with 401, and unavailable keys with 503:
/// a forged token never passes as anonymous. (Rocket's own `Option<PassageUser>` guard would
/// turn every failure into `None`; use this type instead.)
///
/// ```no_run
/// use passage_rocket::MaybePassageUser;
///
/// #[rocket::get("/")]
/// fn home(user: MaybePassageUser) -> String {
///     match user.user() {
///         Some(user) => format!("hello {}", user.user_id()),
///         None => "hello stranger".to_owned(),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct MaybePassageUser(pub Option<PassageUser>);

impl MaybePassageUser {
    /// The user, if the request was authenticated.
    ///
    /// ```no_run
    /// #[rocket::get("/")]
    /// fn home(user: passage_rocket::MaybePassageUser) -> String {
    ///     user.user().map(|u| u.user_id().to_string()).unwrap_or_default()
    /// }
    /// ```
    pub fn user(&self) -> Option<&PassageUser> {
        self.0.as_ref()
    }

    /// The user ID, if the request was authenticated.
    ///
    /// ```no_run
    /// #[rocket::get("/")]
    /// fn home(user: passage_rocket::MaybePassageUser) -> String {
    ///     user.user_id().map(ToString::to_string).unwrap_or_default()
    /// }
    /// ```
    pub fn user_id(&self) -> Option<&UserId> {
        self.0.as_ref().map(|user| user.user_id())
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MaybePassageUser {
    type Error = PassageError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        match authenticate(request).await {
            Ok(user) => Outcome::Success(Self(Some(user.clone()))),
            Err(error) if error.0.is_anonymous() => Outcome::Success(Self(None)),
            Err(error) => Outcome::Error((error.status(), error.clone())),
        }
    }
}
