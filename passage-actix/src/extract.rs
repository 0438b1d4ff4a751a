//! The [`PassageUser`] and [`MaybePassageUser`] extractors, and [`RequestHeaders`], actix's
//! header map seen as a [`TokenSource`].

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures::future::LocalBoxFuture;
use passage_core::{AuthenticatedUser, TokenSource, UserId};

use crate::error::PassageError;
use crate::passage_from_app_data;

/// actix's header map as a [`TokenSource`], so [`Passage::authenticate_request`](passage_core::Passage::authenticate_request) can read it.
///
/// The extractors and the middleware use it; it is public for handlers that call the core
/// directly.
///
/// ```no_run
/// use actix_web::HttpRequest;
/// use passage_actix::RequestHeaders;
/// use passage_core::Passage;
///
/// async fn handler(request: HttpRequest, passage: actix_web::web::Data<Passage>) -> String {
///     match passage.authenticate_request(&RequestHeaders::new(request.headers())).await {
///         Ok(user_id) => format!("hello {user_id}"),
///         Err(error) => format!("refused: {}", error.status()),
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequestHeaders<'h>(&'h HeaderMap);

impl<'h> RequestHeaders<'h> {
    /// Wraps a request's headers.
    ///
    /// ```
    /// let headers = actix_web::http::header::HeaderMap::new();
    /// let _source = passage_actix::RequestHeaders::new(&headers);
    /// ```
    pub fn new(headers: &'h HeaderMap) -> Self {
        Self(headers)
    }
}

impl TokenSource for RequestHeaders<'_> {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        // The names the core asks for, as constants: a `&str` name is parsed on every lookup.
        let values = match name {
            "authorization" => self.0.get_all(header::AUTHORIZATION),
            "cookie" => self.0.get_all(header::COOKIE),
            other => self.0.get_all(other),
        };
        values.map(|value| value.as_bytes())
    }
}

/// The signed-in user: extracting it requires a valid Passage auth token.
///
/// Without a token the request is answered 401 with `WWW-Authenticate: Bearer`; with an invalid
/// one, 401 with `error="invalid_token"`; when the signing keys are unavailable, 503 with
/// `Retry-After`. The [`Passage`](passage_core::Passage) handle is read from app data (`web::Data<Passage>` or a plain
/// `Passage`); without one the answer is 500. Behind [`PassageAuth`](crate::PassageAuth) the user
/// the middleware verified is reused.
///
/// Use [`MaybePassageUser`] for optional authentication, not `Option<PassageUser>`: actix's
/// `Option` extractor turns every error into `None`, so an invalid token would pass as anonymous.
///
/// ```no_run
/// use passage_actix::PassageUser;
///
/// async fn me(user: PassageUser) -> String {
///     format!("signed in as {}", user.user_id())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct PassageUser(pub AuthenticatedUser);

impl PassageUser {
    /// Takes out the core's [`AuthenticatedUser`] (the user ID and the handle that verified it).
    ///
    /// ```no_run
    /// fn id(user: passage_actix::PassageUser) -> passage_core::UserId { user.into_inner().into_user_id() }
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

/// Authenticates a request, reusing the user the middleware verified when the middleware used
/// the same handle as the app data names (or the app data names none).
async fn authenticate(request: HttpRequest) -> Result<PassageUser, PassageError> {
    let passage = passage_from_app_data(&request);
    let verified = request.extensions().get::<PassageUser>().cloned();
    if let Some(user) = verified
        && passage
            .as_ref()
            .is_none_or(|passage| user.verified_by(passage))
    {
        return Ok(user);
    }
    let Some(passage) = passage else {
        return Err(PassageError::not_configured());
    };
    match passage
        .authenticate(&RequestHeaders(request.headers()))
        .await
    {
        Ok(user) => Ok(user.into()),
        Err(error) => Err(PassageError(passage.refuse(error))),
    }
}

impl FromRequest for PassageUser {
    type Error = PassageError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(request.clone()))
    }
}

/// The signed-in user if the request carries a token, or anonymous if it carries none.
///
/// A token that is present but invalid is still refused with 401, and unavailable keys with 503:
/// a forged token never passes as anonymous.
///
/// ```no_run
/// use passage_actix::MaybePassageUser;
///
/// async fn home(user: MaybePassageUser) -> String {
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
    /// async fn home(user: passage_actix::MaybePassageUser) -> String {
    ///     user.user().map(|u| u.user_id().to_string()).unwrap_or_default()
    /// }
    /// ```
    pub fn user(&self) -> Option<&PassageUser> {
        self.0.as_ref()
    }

    /// The user ID, if the request was authenticated.
    ///
    /// ```no_run
    /// async fn home(user: passage_actix::MaybePassageUser) -> String {
    ///     user.user_id().map(ToString::to_string).unwrap_or_default()
    /// }
    /// ```
    pub fn user_id(&self) -> Option<&UserId> {
        self.0.as_ref().map(|user| user.user_id())
    }

    /// Takes the user out.
    ///
    /// ```no_run
    /// async fn home(user: passage_actix::MaybePassageUser) -> String {
    ///     user.into_inner().map(|u| u.user_id().to_string()).unwrap_or_default()
    /// }
    /// ```
    pub fn into_inner(self) -> Option<PassageUser> {
        self.0
    }
}

impl FromRequest for MaybePassageUser {
    type Error = PassageError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            match authenticate(request).await {
                Ok(user) => Ok(Self(Some(user))),
                Err(error) if error.0.is_anonymous() => Ok(Self(None)),
                Err(error) => Err(error),
            }
        })
    }
}
