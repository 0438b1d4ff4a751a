//! Configuration: what a [`Passage`](crate::Passage) handle needs to know, built in code or from
//! `PASSAGE_*` environment variables, and validated once at construction.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use crate::clock::{Clock, SystemClock};

/// The default of [`ConfigBuilder::max_token_lifetime`]: 30 days.
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// The default origin of Passage's auth service (JWKS, tokens).
pub const DEFAULT_AUTH_ORIGIN: &str = "https://auth.passage.id";
/// The default origin of Passage's management API.
pub const DEFAULT_API_ORIGIN: &str = "https://api.passage.id";
/// The cookie the Passage login element sets, read by [`AuthStrategy::Cookie`].
pub const AUTH_COOKIE_NAME: &str = "psg_auth_token";

/// Where a request carries its Passage auth token. Exactly one source is read.
///
/// ```
/// use passage_core::AuthStrategy;
/// assert_eq!("header".parse::<AuthStrategy>().unwrap(), AuthStrategy::Header);
/// assert_eq!(AuthStrategy::default(), AuthStrategy::Cookie);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthStrategy {
    /// The `psg_auth_token` cookie (the default, as set by Passage's login element).
    #[default]
    Cookie,
    /// The `Authorization: Bearer <token>` header.
    Header,
}

impl FromStr for AuthStrategy {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cookie" => Ok(Self::Cookie),
            "header" => Ok(Self::Header),
            _ => Err(ConfigError::InvalidAuthStrategy(s.to_owned())),
        }
    }
}

impl fmt::Display for AuthStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cookie => "cookie",
            Self::Header => "header",
        })
    }
}

/// A secret string (the Passage API key). Its `Debug` and `Display` never show the value.
///
/// ```
/// use passage_core::Secret;
/// let key = Secret::new("sk_live_123");
/// assert_eq!(format!("{key:?}"), "Secret(\"[redacted]\")");
/// assert_eq!(key.expose(), "sk_live_123");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().into_boxed_str())
    }

    /// The secret value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"[redacted]\")")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A configuration that cannot work, reported when it is built rather than at the first request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The app ID is missing.
    #[error("the Passage app ID is required (set PASSAGE_APP_ID or call Config::builder)")]
    MissingAppId,
    /// The app ID has characters that cannot be part of an app ID.
    #[error("the Passage app ID {0:?} is invalid: use 1 to 64 ASCII letters, digits, '-' or '_'")]
    InvalidAppId(String),
    /// The API key is empty or has whitespace or control characters.
    #[error(
        "the Passage API key is invalid: it must be non-empty and have no whitespace or control characters"
    )]
    InvalidApiKey,
    /// The auth strategy is neither `cookie` nor `header`.
    #[error("the auth strategy {0:?} is invalid: use \"cookie\" or \"header\"")]
    InvalidAuthStrategy(String),
    /// An origin is not a valid `https` URL (or `http` on a loopback host) without path, query or
    /// fragment.
    #[error("the {name} {value:?} is invalid: {reason}")]
    InvalidOrigin {
        /// Which origin (`auth origin` or `API origin`).
        name: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A duration or size setting is out of its allowed range.
    #[error("the setting {name} is out of range: {reason}")]
    OutOfRange {
        /// The setting's name.
        name: &'static str,
        /// The allowed range.
        reason: &'static str,
    },
    /// An environment variable is not valid Unicode.
    #[error("the environment variable {0} is not valid UTF-8")]
    NotUnicode(&'static str),
    /// A JWKS document given in code (see [`Passage::with_jwks`](crate::Passage::with_jwks)) has
    /// no usable key or is not a key set.
    #[error("the JWKS document is unusable: {0}")]
    InvalidJwks(crate::error::KeysUnavailableReason),
    /// The HTTP client could not be built (TLS back-end initialisation failed).
    #[error("the HTTP client could not be built")]
    HttpClient(#[source] crate::management::TransportError),
}

/// Settings of the JWKS cache: how long keys are trusted and how often the auth origin may be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksSettings {
    /// How long a fetched key set is fresh when the response has no usable `Cache-Control: max-age`.
    pub default_ttl: Duration,
    /// The lower bound applied to `max-age`.
    pub min_ttl: Duration,
    /// The upper bound applied to `max-age`.
    pub max_ttl: Duration,
    /// How long past its freshness a key set may still be used while the JWKS cannot be fetched.
    pub max_stale: Duration,
    /// The least time between two refreshes caused by an unknown `kid`.
    pub refresh_cooldown: Duration,
    /// How long a `kid` that is still unknown after a refresh is answered as unknown without asking.
    pub negative_ttl: Duration,
    /// The most fetches of the JWKS in any one minute, whatever their cause.
    pub max_fetches_per_minute: u32,
    /// The first wait after a failed fetch; it doubles per failure (with jitter) up to `max_backoff`.
    pub initial_backoff: Duration,
    /// The longest wait between retries after failures.
    pub max_backoff: Duration,
    /// The time limit of one fetch, connection and body included.
    pub fetch_timeout: Duration,
    /// The largest JWKS body accepted, in bytes.
    pub max_response_bytes: usize,
    /// The most keys a JWKS may list.
    pub max_keys: usize,
}

impl Default for JwksSettings {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(600),
            min_ttl: Duration::from_secs(30),
            max_ttl: Duration::from_secs(24 * 3600),
            max_stale: Duration::from_secs(24 * 3600),
            refresh_cooldown: Duration::from_secs(30),
            negative_ttl: Duration::from_secs(300),
            max_fetches_per_minute: 12,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
            max_response_bytes: 256 * 1024,
            max_keys: 64,
        }
    }
}

/// How the management client retries idempotent calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySettings {
    /// Retries after the first attempt (0 disables retries).
    pub max_retries: u32,
    /// The first backoff; it doubles per retry, with jitter.
    pub initial_backoff: Duration,
    /// The longest single wait, also the cap on a server's `Retry-After`.
    pub max_backoff: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// The configuration of a [`Passage`](crate::Passage) handle.
///
/// ```
/// use passage_core::{AuthStrategy, Config};
/// let config = Config::builder("my-app-id")
///     .api_key("my-api-key")
///     .auth_strategy(AuthStrategy::Header)
///     .build()?;
/// assert_eq!(config.app_id(), "my-app-id");
/// # Ok::<(), passage_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    app_id: String,
    api_key: Option<Secret>,
    auth_strategy: AuthStrategy,
    auth_origin: Url,
    api_origin: Url,
    leeway: Duration,
    connect_timeout: Duration,
    request_timeout: Duration,
    token_cache_entries: usize,
    max_token_lifetime: Duration,
    jwks: JwksSettings,
    retry: RetrySettings,
    clock: Arc<dyn Clock>,
}

impl Config {
    /// Starts a builder for the given app ID.
    pub fn builder(app_id: impl Into<String>) -> ConfigBuilder {
        ConfigBuilder::new(app_id)
    }

    /// Reads `PASSAGE_APP_ID` (required), `PASSAGE_API_KEY`, `PASSAGE_AUTH_STRATEGY`
    /// (`cookie`|`header`), `PASSAGE_AUTH_ORIGIN`, `PASSAGE_API_ORIGIN` and
    /// `PASSAGE_TOKEN_CACHE_ENTRIES` (a whole number, 0 turns the token cache off).
    ///
    /// ```no_run
    /// let config = passage_core::Config::from_env()?;
    /// # Ok::<(), passage_core::ConfigError>(())
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::builder_from_env()?.build()
    }

    /// Like [`Config::from_env`], but returns the builder so code can adjust more settings.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let config = passage_core::Config::builder_from_env()?
    ///     .leeway(Duration::from_secs(5))
    ///     .build()?;
    /// # Ok::<(), passage_core::ConfigError>(())
    /// ```
    pub fn builder_from_env() -> Result<ConfigBuilder, ConfigError> {
        Self::builder_from_lookup(|name| match std::env::var(name) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::NotUnicode(name)),
        })
    }

    /// Builds from any variable lookup (the environment, a map in tests).
    fn builder_from_lookup(
        lookup: impl Fn(&'static str) -> Result<Option<String>, ConfigError>,
    ) -> Result<ConfigBuilder, ConfigError> {
        let present = |name| lookup(name).map(|v| v.filter(|v| !v.trim().is_empty()));
        let app_id = present("PASSAGE_APP_ID")?.ok_or(ConfigError::MissingAppId)?;
        let mut builder = ConfigBuilder::new(app_id.trim());
        if let Some(key) = present("PASSAGE_API_KEY")? {
            builder = builder.api_key(key.trim());
        }
        if let Some(strategy) = present("PASSAGE_AUTH_STRATEGY")? {
            builder = builder.auth_strategy(strategy.parse()?);
        }
        if let Some(origin) = present("PASSAGE_AUTH_ORIGIN")? {
            builder = builder.auth_origin(origin.trim());
        }
        if let Some(origin) = present("PASSAGE_API_ORIGIN")? {
            builder = builder.api_origin(origin.trim());
        }
        if let Some(entries) = present("PASSAGE_TOKEN_CACHE_ENTRIES")? {
            let entries = entries
                .trim()
                .parse()
                .map_err(|_| ConfigError::OutOfRange {
                    name: "PASSAGE_TOKEN_CACHE_ENTRIES",
                    reason: TOKEN_CACHE_RANGE,
                })?;
            builder = builder.token_cache_entries(entries);
        }
        Ok(builder)
    }

    /// The Passage app ID.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The API key, if one was configured (needed by the management client only).
    pub fn api_key(&self) -> Option<&Secret> {
        self.api_key.as_ref()
    }

    /// Where tokens are read from.
    pub fn auth_strategy(&self) -> AuthStrategy {
        self.auth_strategy
    }

    /// The auth origin (JWKS and token issuer), without a trailing slash.
    pub fn auth_origin(&self) -> &str {
        self.auth_origin.as_str().trim_end_matches('/')
    }

    /// The management API origin, without a trailing slash.
    pub fn api_origin(&self) -> &str {
        self.api_origin.as_str().trim_end_matches('/')
    }

    /// The token issuer this app's tokens must carry: `<auth origin>/v1/apps/<app id>`.
    pub fn issuer(&self) -> String {
        format!("{}/v1/apps/{}", self.auth_origin(), self.app_id)
    }

    /// The JWKS URL: `<auth origin>/v1/apps/<app id>/.well-known/jwks.json`.
    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.issuer())
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// The connect timeout of every HTTP call.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The total time limit of one management API attempt.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// How many verified tokens are cached (0 turns the cache off).
    pub fn token_cache_entries(&self) -> usize {
        self.token_cache_entries
    }

    /// The longest a token may still be valid for: a token whose `exp` is further ahead is
    /// refused.
    pub fn max_token_lifetime(&self) -> Duration {
        self.max_token_lifetime
    }

    /// The clock the verifier and the key cache read.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The JWKS cache settings.
    pub fn jwks(&self) -> &JwksSettings {
        &self.jwks
    }

    /// The management client's retry settings.
    pub fn retry(&self) -> &RetrySettings {
        &self.retry
    }
}

/// Builds a [`Config`]; every setting but the app ID has a default. Its `Debug` never shows the
/// API key.
///
/// ```
/// let builder = passage_core::Config::builder("app").api_key("sk_live_123");
/// assert!(!format!("{builder:?}").contains("sk_live_123"));
/// ```
#[derive(Clone)]
#[must_use]
pub struct ConfigBuilder {
    app_id: String,
    api_key: Option<String>,
    auth_strategy: AuthStrategy,
    auth_origin: String,
    api_origin: String,
    leeway: Duration,
    connect_timeout: Duration,
    request_timeout: Duration,
    token_cache_entries: usize,
    max_token_lifetime: Duration,
    jwks: JwksSettings,
    retry: RetrySettings,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("app_id", &self.app_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("auth_strategy", &self.auth_strategy)
            .field("auth_origin", &self.auth_origin)
            .field("api_origin", &self.api_origin)
            .field("leeway", &self.leeway)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("token_cache_entries", &self.token_cache_entries)
            .field("max_token_lifetime", &self.max_token_lifetime)
            .field("jwks", &self.jwks)
            .field("retry", &self.retry)
            .field("clock", &self.clock)
            .finish()
    }
}

impl ConfigBuilder {
    fn new(app_id: impl Into<String>) -> Self {
        Self {
            app_id: app_id.into(),
            api_key: None,
            auth_strategy: AuthStrategy::default(),
            auth_origin: DEFAULT_AUTH_ORIGIN.to_owned(),
            api_origin: DEFAULT_API_ORIGIN.to_owned(),
            leeway: Duration::ZERO,
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            token_cache_entries: 10_000,
            max_token_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
            jwks: JwksSettings::default(),
            retry: RetrySettings::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The API key for the management API.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// Where tokens are read from (default: the `psg_auth_token` cookie).
    pub fn auth_strategy(mut self, strategy: AuthStrategy) -> Self {
        self.auth_strategy = strategy;
        self
    }

    /// The auth origin (default `https://auth.passage.id`).
    pub fn auth_origin(mut self, origin: impl Into<String>) -> Self {
        self.auth_origin = origin.into();
        self
    }

    /// The management API origin (default `https://api.passage.id`).
    pub fn api_origin(mut self, origin: impl Into<String>) -> Self {
        self.api_origin = origin.into();
        self
    }

    /// Points both origins at one server, such as a local emulator.
    pub fn origin(self, origin: impl Into<String>) -> Self {
        let origin = origin.into();
        self.auth_origin(origin.clone()).api_origin(origin)
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 0, like Passage's SDKs; at most 5 min).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The connect timeout of every HTTP call (default 3 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The total time limit of one management API attempt (default 10 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How many verified tokens to cache (default 10 000; 0 turns the cache off; at most
    /// 10 000 000). Each entry holds the token and its claims' JSON, about 1.2 KB for a Passage
    /// token.
    ///
    /// ```
    /// let config = passage_core::Config::builder("app").token_cache_entries(50_000).build()?;
    /// assert_eq!(config.token_cache_entries(), 50_000);
    /// # Ok::<(), passage_core::ConfigError>(())
    /// ```
    pub fn token_cache_entries(mut self, entries: usize) -> Self {
        self.token_cache_entries = entries;
        self
    }

    /// The longest lifetime a token may have left (default 30 days; 1 minute to 366 days).
    /// Passage sets `exp = iat + session_timeout_length`, so a token valid for longer than any
    /// session is forged or broken.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = passage_core::Config::builder("app")
    ///     .max_token_lifetime(Duration::from_secs(7 * 24 * 3600))
    ///     .build()?;
    /// assert_eq!(config.max_token_lifetime().as_secs(), 604_800);
    /// # Ok::<(), passage_core::ConfigError>(())
    /// ```
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_token_lifetime = lifetime;
        self
    }

    /// The clock to read (default: the system clock). Tests pass a
    /// [`ManualClock`](crate::clock::ManualClock) to control expiry and cache time.
    ///
    /// ```
    /// use passage_core::clock::ManualClock;
    /// let clock = ManualClock::new();
    /// let config = passage_core::Config::builder("app").clock(clock.clone()).build()?;
    /// # Ok::<(), passage_core::ConfigError>(())
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The JWKS cache settings.
    pub fn jwks(mut self, settings: JwksSettings) -> Self {
        self.jwks = settings;
        self
    }

    /// The management client's retry settings.
    pub fn retry(mut self, settings: RetrySettings) -> Self {
        self.retry = settings;
        self
    }

    /// Validates everything and builds the [`Config`].
    pub fn build(self) -> Result<Config, ConfigError> {
        validate_app_id(&self.app_id)?;
        let api_key = match self.api_key {
            None => None,
            Some(key) => {
                if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(ConfigError::InvalidApiKey);
                }
                Some(Secret::new(key))
            }
        };
        let auth_origin = parse_origin("auth origin", &self.auth_origin)?;
        let api_origin = parse_origin("API origin", &self.api_origin)?;
        check_range(
            "leeway",
            self.leeway <= Duration::from_secs(300),
            "at most 300 s",
        )?;
        for (name, value) in [
            ("connect_timeout", self.connect_timeout),
            ("request_timeout", self.request_timeout),
            ("jwks.fetch_timeout", self.jwks.fetch_timeout),
        ] {
            check_range(
                name,
                value >= Duration::from_millis(1) && value <= Duration::from_secs(300),
                "between 1 ms and 300 s",
            )?;
        }
        let jwks = &self.jwks;
        // Bounded so that adding any of them to an `Instant` can never overflow.
        let month = Duration::from_secs(30 * 24 * 3600);
        for (name, value) in [
            ("jwks.default_ttl", jwks.default_ttl),
            ("jwks.max_ttl", jwks.max_ttl),
            ("jwks.max_stale", jwks.max_stale),
            ("jwks.refresh_cooldown", jwks.refresh_cooldown),
            ("jwks.negative_ttl", jwks.negative_ttl),
            ("jwks.max_backoff", jwks.max_backoff),
            ("retry.max_backoff", self.retry.max_backoff),
        ] {
            check_range(name, value <= month, "at most 30 days")?;
        }
        check_range(
            "jwks ttl bounds",
            jwks.min_ttl <= jwks.max_ttl && !jwks.max_ttl.is_zero(),
            "min_ttl <= max_ttl and max_ttl > 0",
        )?;
        check_range(
            "jwks.max_fetches_per_minute",
            jwks.max_fetches_per_minute >= 1,
            "at least 1",
        )?;
        check_range(
            "jwks.max_response_bytes",
            (1024..=16 * 1024 * 1024).contains(&jwks.max_response_bytes),
            "between 1 KiB and 16 MiB",
        )?;
        check_range(
            "jwks.max_keys",
            (1..=1024).contains(&jwks.max_keys),
            "between 1 and 1024",
        )?;
        check_range(
            "jwks backoff",
            jwks.initial_backoff <= jwks.max_backoff,
            "initial_backoff <= max_backoff",
        )?;
        check_range(
            "token_cache_entries",
            self.token_cache_entries <= MAX_TOKEN_CACHE_ENTRIES,
            TOKEN_CACHE_RANGE,
        )?;
        check_range(
            "max_token_lifetime",
            self.max_token_lifetime >= Duration::from_secs(60)
                && self.max_token_lifetime <= Duration::from_secs(366 * 24 * 3600),
            "between 1 minute and 366 days",
        )?;
        check_range(
            "retry backoff",
            self.retry.initial_backoff <= self.retry.max_backoff && self.retry.max_retries <= 10,
            "initial_backoff <= max_backoff and at most 10 retries",
        )?;
        Ok(Config {
            app_id: self.app_id,
            api_key,
            auth_strategy: self.auth_strategy,
            auth_origin,
            api_origin,
            leeway: self.leeway,
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            token_cache_entries: self.token_cache_entries,
            max_token_lifetime: self.max_token_lifetime,
            jwks: self.jwks,
            retry: self.retry,
            clock: self.clock,
        })
    }
}

/// The most token-cache entries a configuration may ask for (about 20 GB of tokens).
const MAX_TOKEN_CACHE_ENTRIES: usize = 10_000_000;
const TOKEN_CACHE_RANGE: &str = "a whole number from 0 to 10000000";

fn check_range(name: &'static str, ok: bool, reason: &'static str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange { name, reason })
    }
}

fn validate_app_id(app_id: &str) -> Result<(), ConfigError> {
    if app_id.is_empty() {
        return Err(ConfigError::MissingAppId);
    }
    let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if app_id.len() > 64 || !app_id.chars().all(valid_char) {
        return Err(ConfigError::InvalidAppId(app_id.to_owned()));
    }
    Ok(())
}

fn parse_origin(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let invalid = |reason| ConfigError::InvalidOrigin {
        name,
        value: value.to_owned(),
        reason,
    };
    let url = Url::parse(value).map_err(|_| invalid("not an absolute URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials are not allowed in an origin"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("an origin has no path, query or fragment"));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err(invalid("an origin needs a host")),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(invalid(
            "plain http is allowed only on loopback hosts; use https",
        )),
        _ => Err(invalid(
            "the scheme must be https (or http on a loopback host)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from_map(vars: &[(&'static str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        Config::builder_from_lookup(|name| Ok(map.get(name).cloned()))?.build()
    }

    #[test]
    fn defaults() {
        let config = Config::builder("app123").build().unwrap();
        assert_eq!(config.auth_origin(), "https://auth.passage.id");
        assert_eq!(config.api_origin(), "https://api.passage.id");
        assert_eq!(config.auth_strategy(), AuthStrategy::Cookie);
        assert_eq!(config.leeway(), Duration::ZERO);
        assert_eq!(config.issuer(), "https://auth.passage.id/v1/apps/app123");
        assert_eq!(
            config.jwks_url(),
            "https://auth.passage.id/v1/apps/app123/.well-known/jwks.json"
        );
        assert!(config.api_key().is_none());
    }

    #[test]
    fn app_id_is_validated() {
        assert_eq!(
            Config::builder("").build().unwrap_err(),
            ConfigError::MissingAppId
        );
        for bad in ["../x", "a b", "a/b", "a?b", "é", &"a".repeat(65)] {
            assert!(
                matches!(
                    Config::builder(bad).build(),
                    Err(ConfigError::InvalidAppId(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn origins_must_be_https_except_loopback() {
        let ok = |o: &str| Config::builder("app").origin(o).build().is_ok();
        assert!(ok("https://auth.example.com"));
        assert!(ok("http://localhost:8788"));
        assert!(ok("http://127.0.0.1:1234/"));
        assert!(ok("http://127.8.9.10"));
        assert!(ok("http://[::1]:80"));
        assert!(!ok("http://example.com"));
        assert!(!ok("http://10.0.0.1"));
        assert!(!ok("ftp://localhost"));
        assert!(!ok("https://example.com/path"));
        assert!(!ok("https://user:pw@example.com"));
        assert!(!ok("https://example.com?x=1"));
        assert!(!ok("not a url"));
        assert!(!ok("http://localhost.evil.com"));
    }

    #[test]
    fn api_key_is_redacted() {
        let config = Config::builder("app")
            .api_key("super-secret")
            .build()
            .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("super-secret"), "{debug}");
        assert_eq!(config.api_key().unwrap().expose(), "super-secret");
        assert!(matches!(
            Config::builder("app").api_key("bad key").build(),
            Err(ConfigError::InvalidApiKey)
        ));
    }

    #[test]
    fn from_env_variables() {
        let config = from_map(&[
            ("PASSAGE_APP_ID", "app42"),
            ("PASSAGE_API_KEY", "key"),
            ("PASSAGE_AUTH_STRATEGY", "HEADER"),
            ("PASSAGE_AUTH_ORIGIN", "http://127.0.0.1:9"),
            ("PASSAGE_API_ORIGIN", "http://localhost:10"),
        ])
        .unwrap();
        assert_eq!(config.app_id(), "app42");
        assert_eq!(config.auth_strategy(), AuthStrategy::Header);
        assert_eq!(config.auth_origin(), "http://127.0.0.1:9");
        assert_eq!(config.api_origin(), "http://localhost:10");
        assert_eq!(from_map(&[]).unwrap_err(), ConfigError::MissingAppId);
        assert!(matches!(
            from_map(&[("PASSAGE_APP_ID", "a"), ("PASSAGE_AUTH_STRATEGY", "both")]),
            Err(ConfigError::InvalidAuthStrategy(_))
        ));
        let entries = |value| {
            from_map(&[
                ("PASSAGE_APP_ID", "a"),
                ("PASSAGE_TOKEN_CACHE_ENTRIES", value),
            ])
            .map(|config| config.token_cache_entries())
        };
        assert_eq!(entries(" 250 "), Ok(250));
        assert_eq!(entries("0"), Ok(0));
        for bad in ["-1", "ten", "1e3", "10000001"] {
            assert!(
                matches!(entries(bad), Err(ConfigError::OutOfRange { .. })),
                "{bad}"
            );
        }
        // An empty optional variable means "unset".
        assert!(from_map(&[("PASSAGE_APP_ID", "a"), ("PASSAGE_API_KEY", "")]).is_ok());
    }

    #[test]
    fn ranges_are_checked() {
        assert!(
            Config::builder("a")
                .leeway(Duration::from_secs(301))
                .build()
                .is_err()
        );
        assert!(
            Config::builder("a")
                .request_timeout(Duration::ZERO)
                .build()
                .is_err()
        );
        let jwks = JwksSettings {
            max_keys: 0,
            ..JwksSettings::default()
        };
        assert!(Config::builder("a").jwks(jwks).build().is_err());
        let jwks = JwksSettings {
            max_stale: Duration::MAX,
            ..JwksSettings::default()
        };
        assert!(Config::builder("a").jwks(jwks).build().is_err());
    }
}
