//! [`AuthenticatedUser`]: the outcome of a successful authentication, shared by every adapter's
//! user type.

use std::sync::Arc;

use crate::management::{ManagementError, User};
use crate::passage::Passage;
use crate::user_id::UserId;
use crate::verifier::VerifiedToken;

/// A request's verified user: the user ID and claims from the token, and the [`Passage`] handle
/// that verified it, for management calls. Adapters' `PassageUser` types dereference to it.
///
/// ```no_run
/// # async fn run(passage: passage_core::Passage, headers: http::HeaderMap) -> Result<(), Box<dyn std::error::Error>> {
/// let user = passage.authenticate(&headers).await?;
/// println!("signed in as {}", user.user_id());
/// let profile = user.fetch().await?;
/// println!("email {}", profile.email);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuthenticatedUser {
    token: Arc<VerifiedToken>,
    passage: Passage,
}

impl AuthenticatedUser {
    pub(crate) fn new(token: Arc<VerifiedToken>, passage: Passage) -> Self {
        Self { token, passage }
    }

    /// The token's `exp`: when the session ends, in seconds since the Unix epoch.
    ///
    /// ```no_run
    /// fn session_ends(user: &passage_core::AuthenticatedUser) -> String {
    ///     let ends = time::OffsetDateTime::from_unix_timestamp(user.exp()).ok();
    ///     format!("session ends at {ends:?}")
    /// }
    /// ```
    pub fn exp(&self) -> i64 {
        self.token.exp
    }

    /// The token's `iat` (seconds since the Unix epoch), when it has one.
    ///
    /// ```no_run
    /// fn issued(user: &passage_core::AuthenticatedUser) -> Option<i64> {
    ///     user.iat()
    /// }
    /// ```
    pub fn iat(&self) -> Option<i64> {
        self.token.iat
    }

    /// Every claim of the verified token, as JSON.
    ///
    /// ```no_run
    /// fn issuer(user: &passage_core::AuthenticatedUser) -> Option<&str> {
    ///     user.claims_map().get("iss").and_then(|iss| iss.as_str())
    /// }
    /// ```
    pub fn claims_map(&self) -> &serde_json::Map<String, serde_json::Value> {
        self.token.claims()
    }

    /// The claims decoded into an app's own type (fields the type does not name are ignored,
    /// unless it says otherwise).
    ///
    /// ```no_run
    /// #[derive(serde::Deserialize)]
    /// struct Claims {
    ///     sub: String,
    ///     exp: i64,
    /// }
    /// fn claims(user: &passage_core::AuthenticatedUser) -> Result<Claims, serde_json::Error> {
    ///     user.claims::<Claims>()
    /// }
    /// ```
    pub fn claims<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(serde_json::Value::Object(self.token.claims().clone()))
    }

    /// The Passage user ID (the token's `sub`).
    ///
    /// ```no_run
    /// fn id(user: &passage_core::AuthenticatedUser) -> &str {
    ///     user.user_id().as_str()
    /// }
    /// ```
    pub fn user_id(&self) -> &UserId {
        &self.token.user_id
    }

    /// Takes the user ID out.
    ///
    /// ```no_run
    /// fn id(user: passage_core::AuthenticatedUser) -> passage_core::UserId {
    ///     user.into_user_id()
    /// }
    /// ```
    pub fn into_user_id(self) -> UserId {
        self.token.user_id.clone()
    }

    /// The handle that verified the token (for further management calls).
    ///
    /// ```no_run
    /// fn app_id(user: &passage_core::AuthenticatedUser) -> &str {
    ///     user.passage().config().app_id()
    /// }
    /// ```
    pub fn passage(&self) -> &Passage {
        &self.passage
    }

    /// Whether this user was verified by `passage` (the same handle, see
    /// [`Passage::same_handle`]). Adapters reuse a user found in a request's extensions only
    /// when it was verified by the handle the extractor would use; a user verified for app A is
    /// never taken as a user of app B.
    ///
    /// ```no_run
    /// fn reusable(user: &passage_core::AuthenticatedUser, passage: &passage_core::Passage) -> bool {
    ///     user.verified_by(passage)
    /// }
    /// ```
    pub fn verified_by(&self, passage: &Passage) -> bool {
        self.passage.same_handle(passage)
    }

    /// Fetches the full user from the management API (needs an API key in the config).
    ///
    /// ```no_run
    /// # async fn run(user: passage_core::AuthenticatedUser) {
    /// match user.fetch().await {
    ///     Ok(profile) => println!("{} <{}>", profile.id, profile.email),
    ///     Err(error) => eprintln!("management API failed: {error}"),
    /// }
    /// # }
    /// ```
    pub async fn fetch(&self) -> Result<User, ManagementError> {
        self.passage.user().get(&self.token.user_id).await
    }
}
