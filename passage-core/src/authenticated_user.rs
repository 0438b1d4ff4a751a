//! [`AuthenticatedUser`]: the outcome of a successful authentication, shared by every adapter's
//! user type.

use crate::management::{ManagementError, User};
use crate::passage::Passage;
use crate::user_id::UserId;

/// A request's verified user: the user ID from the token, and the [`Passage`] handle that
/// verified it, for management calls. Adapters' `PassageUser` types dereference to it.
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
    user_id: UserId,
    passage: Passage,
}

impl AuthenticatedUser {
    pub(crate) fn new(user_id: UserId, passage: Passage) -> Self {
        Self { user_id, passage }
    }

    /// The Passage user ID (the token's `sub`).
    ///
    /// ```no_run
    /// fn id(user: &passage_core::AuthenticatedUser) -> &str {
    ///     user.user_id().as_str()
    /// }
    /// ```
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// Takes the user ID out.
    ///
    /// ```no_run
    /// fn id(user: passage_core::AuthenticatedUser) -> passage_core::UserId {
    ///     user.into_user_id()
    /// }
    /// ```
    pub fn into_user_id(self) -> UserId {
        self.user_id
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
        self.passage.user().get(&self.user_id).await
    }
}
