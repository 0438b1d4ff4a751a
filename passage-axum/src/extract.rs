//! The [`PassageUser`] and [`MaybePassageUser`] extractors.

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use passage_core::{AuthenticatedUser, Passage, Refusal, UserId};

use crate::rejection::PassageRejection;

/// The signed-in user: extracting it requires a valid Passage auth token.
///
/// The [`Passage`] handle comes from the router state (any state `S` with
/// `Passage: FromRef<S>`, such as `Passage` itself or a struct deriving
/// [`FromRef`](axum::extract::FromRef)). Behind a [`PassageLayer`](crate::PassageLayer) the user
/// the layer verified is reused, so the token is checked once.
///
/// Without a token the request is answered 401 with `WWW-Authenticate: Bearer`; with an invalid
/// one, 401 with `error="invalid_token"`; when the signing keys are unavailable, 503 with
/// `Retry-After`.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use passage_axum::PassageUser;
/// use passage_core::Passage;
///
/// async fn me(user: PassageUser) -> String {
///     format!("signed in as {}", user.user_id())
/// }
///
/// # fn app(passage: Passage) -> Router {
/// Router::new().route("/me", get(me)).with_state(passage)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PassageUser(pub AuthenticatedUser);

impl PassageUser {
    /// Takes out the core's [`AuthenticatedUser`] (the user ID and the handle that verified it).
    ///
    /// ```no_run
    /// fn id(user: passage_axum::PassageUser) -> passage_core::UserId { user.into_inner().into_user_id() }
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

/// Verifies the request's token, unless a layer with the same handle already did.
async fn authenticate(parts: &Parts, passage: Passage) -> Result<PassageUser, Refusal> {
    if let Some(user) = parts.extensions.get::<PassageUser>()
        && user.verified_by(&passage)
    {
        return Ok(user.clone());
    }
    match passage.authenticate(parts).await {
        Ok(user) => Ok(user.into()),
        Err(error) => Err(passage.refuse(error)),
    }
}

impl<S> FromRequestParts<S> for PassageUser
where
    S: Send + Sync,
    Passage: FromRef<S>,
{
    type Rejection = PassageRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(authenticate(parts, Passage::from_ref(state)).await?)
    }
}

/// `Option<PassageUser>`: `None` without a token; an invalid token is still refused with 401 and
/// unavailable keys with 503, so a forged token never passes as anonymous.
impl<S> OptionalFromRequestParts<S> for PassageUser
where
    S: Send + Sync,
    Passage: FromRef<S>,
{
    type Rejection = PassageRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(Refusal::optional(
            authenticate(parts, Passage::from_ref(state)).await,
        )?)
    }
}

/// The signed-in user if the request carries a token, or anonymous if it carries none; the same
/// as `Option<PassageUser>`, as a named type.
///
/// A token that is present but invalid is still refused with 401, and unavailable keys with 503.
///
/// ```no_run
/// use passage_axum::MaybePassageUser;
///
/// async fn home(MaybePassageUser(user): MaybePassageUser) -> String {
///     match user {
///         Some(user) => format!("hello {}", user.user_id()),
///         None => "hello stranger".to_owned(),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct MaybePassageUser(pub Option<PassageUser>);

impl MaybePassageUser {
    /// The user ID, if the request was authenticated.
    ///
    /// ```no_run
    /// async fn home(user: passage_axum::MaybePassageUser) -> String {
    ///     user.user_id().map(ToString::to_string).unwrap_or_default()
    /// }
    /// ```
    pub fn user_id(&self) -> Option<&UserId> {
        self.0.as_ref().map(|user| user.user_id())
    }
}

impl<S> FromRequestParts<S> for MaybePassageUser
where
    S: Send + Sync,
    Passage: FromRef<S>,
{
    type Rejection = PassageRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        <PassageUser as OptionalFromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(Self)
    }
}
