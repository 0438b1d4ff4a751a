//! The [`Passage`] handle: configuration, the verifier and the management client, shared.

use std::sync::Arc;

use crate::authenticated_user::AuthenticatedUser;
use crate::config::{Config, ConfigError};
use crate::error::AuthError;
use crate::refusal::Refusal;
use crate::token_source::{TokenSource, find_token};
use crate::user_id::UserId;
use crate::verifier::{VerifiedToken, Verifier};

/// The entry point: verifies auth tokens and reaches the management API.
///
/// Cheap to clone (an `Arc`), `Send + Sync`; build one per app and share it. Building does no
/// network I/O: the JWKS is fetched on first use (or by [`Passage::warm_up`]).
///
/// ```no_run
/// use passage_core::{Config, Passage};
/// # async fn run(headers: http::HeaderMap) -> Result<(), Box<dyn std::error::Error>> {
/// let passage = Passage::new(Config::builder("my-app-id").build()?)?;
/// let user_id = passage.authenticate_request(&headers).await?;
/// println!("signed in as {user_id}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Passage {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    /// The app ID, as the realm of refusals' challenges (shared, not copied per refusal).
    realm: Arc<str>,
    http: reqwest::Client,
    verifier: Verifier,
}

impl std::fmt::Debug for Passage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passage")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Passage {
    /// Builds a handle from a validated [`Config`]. No request is made.
    ///
    /// ```
    /// let passage = passage_core::Passage::new(passage_core::Config::builder("app").build()?)?;
    /// assert_eq!(passage.config().app_id(), "app");
    /// # Ok::<(), passage_core::ConfigError>(())
    /// ```
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        let http = Self::http_client(&config)?;
        let verifier = Verifier::new(&config, http.clone());
        Ok(Self::from_parts(config, http, verifier))
    }

    /// Builds a handle that sends its requests (JWKS and management) through `http`, a client
    /// the application built: for a proxy, a private CA, or a client the app already shares.
    ///
    /// The SDK's rules hold with it: every request carries the SDK's `User-Agent` and the
    /// configured timeouts (the JWKS fetch timeout and the request timeout each bound a whole
    /// request, connection included), and an answer that comes from anywhere but the URL asked
    /// is refused ([`KeysUnavailableReason::Redirected`](crate::KeysUnavailableReason::Redirected),
    /// [`ManagementError::Redirected`](crate::management::ManagementError::Redirected)). Build
    /// the client with `redirect::Policy::none()`, as the SDK's own is, so that no redirected
    /// request is sent in the first place. [`ConfigBuilder::connect_timeout`](crate::ConfigBuilder::connect_timeout)
    /// applies only to the SDK's own client: set yours on your client.
    ///
    /// ```
    /// use passage_core::{Config, Passage};
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use passage_core::reqwest;
    /// let http = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .connect_timeout(std::time::Duration::from_secs(2))
    ///     // .proxy(reqwest::Proxy::https("http://proxy.internal:3128")?)
    ///     .build()?;
    /// let passage = Passage::with_http_client(Config::builder("my-app-id").build()?, http);
    /// # let _ = passage;
    /// # Ok(()) }
    /// # run().unwrap();
    /// ```
    pub fn with_http_client(config: Config, http: reqwest::Client) -> Self {
        let verifier = Verifier::new(&config, http.clone());
        Self::from_parts(config, http, verifier)
    }

    /// Builds a handle that verifies tokens against a JWKS document in hand instead of fetching
    /// one: for offline and air-gapped deployments, and for tests without a server. The keys
    /// never expire and are never refreshed; a token with any other `kid` is refused. The
    /// management client still talks to the configured API origin.
    ///
    /// ```
    /// # fn run(jwks_json: &[u8]) -> Result<(), passage_core::ConfigError> {
    /// let config = passage_core::Config::builder("my-app-id").build()?;
    /// let passage = passage_core::Passage::with_jwks(config, jwks_json)?;
    /// # Ok(()) }
    /// let config = passage_core::Config::builder("app").build()?;
    /// assert!(passage_core::Passage::with_jwks(config, br#"{"keys":[]}"#).is_err());
    /// # Ok::<(), passage_core::ConfigError>(())
    /// ```
    pub fn with_jwks(config: Config, document: &[u8]) -> Result<Self, ConfigError> {
        let keys = crate::jwks::static_keys(document, config.jwks().max_keys)
            .map_err(ConfigError::InvalidJwks)?;
        let http = Self::http_client(&config)?;
        let verifier = Verifier::with_jwks(&config, crate::jwks::Jwks::Static(keys));
        Ok(Self::from_parts(config, http, verifier))
    }

    fn http_client(config: &Config) -> Result<reqwest::Client, ConfigError> {
        reqwest::Client::builder()
            .user_agent(crate::transport::USER_AGENT)
            .connect_timeout(config.connect_timeout())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::HttpClient(crate::management::TransportError::new(e)))
    }

    fn from_parts(config: Config, http: reqwest::Client, verifier: Verifier) -> Self {
        Self {
            inner: Arc::new(Inner {
                realm: Arc::from(config.app_id()),
                config,
                http,
                verifier,
            }),
        }
    }

    /// Builds a handle from the `PASSAGE_*` environment variables (see [`Config::from_env`]).
    ///
    /// ```no_run
    /// let passage = passage_core::Passage::from_env()?;
    /// # Ok::<(), passage_core::ConfigError>(())
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(Config::from_env()?)
    }

    /// Whether `self` and `other` are the same handle (clones of one `Passage::new`), and so
    /// share one configuration, key cache and token cache.
    ///
    /// ```
    /// use passage_core::{Config, Passage};
    /// let a = Passage::new(Config::builder("app").build()?)?;
    /// let b = Passage::new(Config::builder("app").build()?)?;
    /// assert!(a.same_handle(&a.clone()));
    /// assert!(!a.same_handle(&b));
    /// # Ok::<(), passage_core::ConfigError>(())
    /// ```
    pub fn same_handle(&self, other: &Passage) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The configuration this handle was built with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The refusal an adapter answers `error` with: the core's status, body and headers, with
    /// the app ID as the realm of the `WWW-Authenticate` challenge.
    ///
    /// ```
    /// use passage_core::{AuthError, Config, Passage};
    /// # fn run() -> Result<(), passage_core::ConfigError> {
    /// let passage = Passage::new(Config::builder("app42").build()?)?;
    /// let refusal = passage.refuse(AuthError::MissingToken);
    /// let challenge = refusal.response().challenge.expect("a 401 has a challenge");
    /// assert_eq!(challenge.to_string(), r#"Bearer realm="app42""#);
    /// # Ok(()) }
    /// # run().unwrap();
    /// ```
    pub fn refuse(&self, error: AuthError) -> Refusal {
        Refusal::from(error).with_realm(Arc::clone(&self.inner.realm))
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Reads the token from the request by the configured [`AuthStrategy`](crate::AuthStrategy)
    /// and verifies it; returns the user ID (the seed API's `authenticateRequest`).
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage, headers: http::HeaderMap) {
    /// match passage.authenticate_request(&headers).await {
    ///     Ok(user_id) => println!("user {user_id}"),
    ///     Err(error) => println!("answer {}", error.status()),
    /// }
    /// # }
    /// ```
    pub async fn authenticate_request<S: TokenSource + ?Sized>(
        &self,
        request: &S,
    ) -> Result<UserId, AuthError> {
        Ok(self.authenticate(request).await?.into_user_id())
    }

    /// Like [`Passage::authenticate_request`], returning the user with this handle attached (what
    /// adapters hand to request handlers).
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage, headers: http::HeaderMap) {
    /// if let Ok(user) = passage.authenticate(&headers).await {
    ///     println!("user {}", user.user_id());
    /// }
    /// # }
    /// ```
    pub async fn authenticate<S: TokenSource + ?Sized>(
        &self,
        request: &S,
    ) -> Result<AuthenticatedUser, AuthError> {
        let outcome = match find_token(self.inner.config.auth_strategy(), request) {
            Ok(token) => self.verify(token).await,
            Err(error) => Err(error),
        };
        crate::telemetry::verification(&outcome);
        Ok(AuthenticatedUser::new(outcome?, self.clone()))
    }

    /// Optional authentication: `Ok(None)` when the request carries no token, the user when it
    /// carries a valid one, and an error when it carries an invalid one (a forged token is never
    /// treated as anonymous) or the keys are unavailable.
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage, headers: http::HeaderMap) -> Result<(), passage_core::AuthError> {
    /// match passage.authenticate_optional(&headers).await? {
    ///     Some(user) => println!("hello {}", user.user_id()),
    ///     None => println!("hello stranger"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn authenticate_optional<S: TokenSource + ?Sized>(
        &self,
        request: &S,
    ) -> Result<Option<AuthenticatedUser>, AuthError> {
        AuthError::optional(self.authenticate(request).await)
    }

    /// Verifies a token and returns its user ID (the seed API's `validAuthToken`).
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage, token: &str) {
    /// if let Ok(user_id) = passage.validate_jwt(token).await {
    ///     println!("valid token for {user_id}");
    /// }
    /// # }
    /// ```
    pub async fn validate_jwt(&self, token: &str) -> Result<UserId, AuthError> {
        let outcome = self.verify(token).await;
        crate::telemetry::verification(&outcome);
        Ok(outcome?.user_id.clone())
    }

    async fn verify(&self, token: &str) -> Result<Arc<VerifiedToken>, AuthError> {
        let result = self.inner.verifier.verify(token).await;
        if let Err(error) = &result {
            tracing::debug!(%error, "token refused");
        }
        result
    }

    /// Fetches the JWKS now if no fresh set is cached, so the first request does not pay for it.
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage) {
    /// if let Err(error) = passage.warm_up().await {
    ///     eprintln!("Passage keys not reachable yet: {error}");
    /// }
    /// # }
    /// ```
    pub async fn warm_up(&self) -> Result<(), AuthError> {
        self.inner
            .verifier
            .jwks()
            .warm_up()
            .await
            .map_err(AuthError::KeysUnavailable)
    }

    /// How many JWKS fetches this handle has started (for diagnostics and tests).
    ///
    /// ```
    /// let passage = passage_core::Passage::new(passage_core::Config::builder("app").build()?)?;
    /// assert_eq!(passage.jwks_fetch_count(), 0);
    /// # Ok::<(), passage_core::ConfigError>(())
    /// ```
    pub fn jwks_fetch_count(&self) -> u64 {
        self.inner.verifier.jwks().fetch_count()
    }
}
