#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

// Layers, imported one way only: `http` → `ops` → `store`. `context`, `faults`, `limits`,
// `relying_party`, `aaguids`, `random` and `error` are leaves the layers share.
mod aaguids;
mod context;
mod error;
mod faults;
mod http;
mod limits;
mod ops;
mod random;
mod relying_party;
mod store;

use std::future::IntoFuture as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use error::EmulatorError;
pub use faults::{Fault, FaultMode, FaultTarget, FaultsRemaining};
pub use http::MAX_BODY_BYTES;
pub use store::records::InboxMessage;

use crate::context::{Context, Counters};
use crate::limits::{Limits, RateLimiter};
use crate::ops::{devices, events, keys, links, tokens, users, validate};
use crate::store::keys::SigningKey;
use crate::store::records::{DeviceKind, EventAction, EventStatus};
use crate::store::{AppConfig, State, Store};

/// Where the login page lives unless told: on the app's host when that is an IP address (the
/// sign-in cookie is per host name, so the app must get it; magic links only there), else on
/// `localhost`, where passkeys work.
fn default_login_origin(auth_origin: &str, served: SocketAddr, own_origin: &str) -> String {
    let ip = webauthn_rs::prelude::Url::parse(auth_origin)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .and_then(|host| host.trim_matches(['[', ']']).parse::<IpAddr>().ok());
    match ip {
        // Only an address the emulator answers on: otherwise its own origin (links must work).
        Some(ip) if served.ip() == ip || served.ip().is_unspecified() => {
            format!("http://{}", SocketAddr::new(ip, served.port()))
        }
        Some(_) => own_origin.to_owned(),
        None => format!("http://localhost:{}", served.port()),
    }
}

/// The host of a login origin, the passkeys' RP ID.
fn login_host(origin: &str) -> Result<String, EmulatorError> {
    webauthn_rs::prelude::Url::parse(origin)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .and_then(|url| url.host_str().map(str::to_owned))
        .ok_or_else(|| {
            EmulatorError::Config(format!(
                "login origin {origin:?} is not an http(s) origin such as http://localhost:8090"
            ))
        })
}

/// Default session length (`exp - iat` of auth tokens).
///
/// ```
/// assert_eq!(passage_emulator::DEFAULT_SESSION_LENGTH.as_secs(), 3600);
/// ```
pub const DEFAULT_SESSION_LENGTH: Duration = Duration::from_secs(3600);
/// Default app auth origin.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
/// let emulator = passage_emulator::Emulator::builder().start().await?;
/// let token = emulator.mint_token("user-1")?;
/// # let _ = token;
/// // Tokens name it as their first audience unless `auth_origin` says otherwise.
/// assert_eq!(passage_emulator::DEFAULT_AUTH_ORIGIN, "http://localhost:8080");
/// # Ok(()) }
/// ```
pub const DEFAULT_AUTH_ORIGIN: &str = "http://localhost:8080";

/// Options for [`Emulator::mint_token_with`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
/// let emulator = passage_emulator::Emulator::builder().start().await?;
/// let expired = emulator.mint_token_with(
///     "user-1",
///     passage_emulator::TokenOptions { ttl: Some(-60), claims: None },
/// )?;
/// assert_eq!(expired.split('.').count(), 3);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct TokenOptions {
    /// Token lifetime in seconds (`exp - iat`); negative for an already-expired token.
    /// `None` uses the app's session length.
    pub ttl: Option<i64>,
    /// Claims merged over the standard ones (e.g. a wrong `aud` for negative tests).
    pub claims: Option<Map<String, Value>>,
}

/// Requests served and what the store holds.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
/// let emulator = passage_emulator::Emulator::builder().start().await?;
/// emulator.create_user("ada@example.com")?;
/// assert_eq!(emulator.stats().users, 1);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// JWKS requests served (including fault-injected ones).
    pub jwks_requests: u64,
    /// Other `/v1/...` requests served (including fault-injected ones).
    pub api_requests: u64,
    /// Users in the store.
    pub users: usize,
    /// Magic links kept (live ones, and the most recent used or expired ones).
    pub magic_links: usize,
    /// Messages in the dev inbox.
    pub inbox_messages: usize,
    /// Writes of the data file since start-up: changes that come close together share one.
    pub data_file_writes: u64,
    /// Passkey ceremonies in progress (started, not yet finished or dropped; at most 1000).
    pub passkey_ceremonies: usize,
}

/// Configures and starts an [`Emulator`]. Every setting is optional. Its `Debug` never shows
/// the API key.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
/// let emulator = passage_emulator::Emulator::builder()
///     .app_id("my-app")
///     .api_key("test-key")
///     .app_name("My App")
///     .start()
///     .await?;
/// assert_eq!(emulator.app_id(), "my-app");
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct EmulatorBuilder {
    app_id: Option<String>,
    api_key: Option<String>,
    auth_origin: Option<String>,
    redirect_url: Option<String>,
    app_name: Option<String>,
    session_length: Option<Duration>,
    host: Option<IpAddr>,
    port: Option<u16>,
    data_file: Option<PathBuf>,
    allowed_hosts: Vec<String>,
    login_origin: Option<String>,
    limits: Limits,
}

impl std::fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("app_id", &self.app_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("auth_origin", &self.auth_origin)
            .field("redirect_url", &self.redirect_url)
            .field("app_name", &self.app_name)
            .field("session_length", &self.session_length)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("data_file", &self.data_file)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("login_origin", &self.login_origin)
            .field("limits", &self.limits)
            .finish()
    }
}

impl EmulatorBuilder {
    /// The app ID (default: random, 24 alphanumeric characters).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().app_id("my-app").start().await?;
    /// assert_eq!(emulator.app_id(), "my-app");
    /// # Ok(()) }
    /// ```
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// The management API key (default: random).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().api_key("test-key").start().await?;
    /// assert_eq!(emulator.api_key(), "test-key");
    /// # Ok(()) }
    /// ```
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The app's auth origin, the first `aud` of tokens (default `http://localhost:8080`, where
    /// the example apps listen).
    ///
    /// ```
    /// let builder = passage_emulator::Emulator::builder().auth_origin("http://localhost:3000");
    /// # let _ = builder;
    /// ```
    pub fn auth_origin(mut self, auth_origin: impl Into<String>) -> Self {
        self.auth_origin = Some(auth_origin.into());
        self
    }

    /// Where the login page sends users after sign-in (default: auth origin + `/`).
    ///
    /// ```
    /// let builder = passage_emulator::Emulator::builder()
    ///     .auth_origin("http://localhost:3000")
    ///     .redirect_url("http://localhost:3000/dashboard");
    /// # let _ = builder;
    /// ```
    pub fn redirect_url(mut self, redirect_url: impl Into<String>) -> Self {
        self.redirect_url = Some(redirect_url.into());
        self
    }

    /// The app name shown by the login page and `GET /v1/apps/{app_id}`.
    ///
    /// ```
    /// let builder = passage_emulator::Emulator::builder().app_name("Acme");
    /// # let _ = builder;
    /// ```
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// Session length: `exp - iat` of minted tokens (default one hour).
    ///
    /// ```
    /// let builder = passage_emulator::Emulator::builder()
    ///     .session_length(std::time::Duration::from_secs(15 * 60));
    /// # let _ = builder;
    /// ```
    pub fn session_length(mut self, length: Duration) -> Self {
        self.session_length = Some(length);
        self
    }

    /// Address to bind (default `127.0.0.1`).
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv6Addr};
    /// let builder = passage_emulator::Emulator::builder().host(IpAddr::V6(Ipv6Addr::LOCALHOST));
    /// # let _ = builder;
    /// ```
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = Some(host);
        self
    }

    /// Port to bind (default 0: any free port).
    ///
    /// ```
    /// let builder = passage_emulator::Emulator::builder().port(8788);
    /// # let _ = builder;
    /// ```
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Persist state in this JSON file (loaded at start if it exists). Every change answered
    /// over HTTP is on disk before the answer; changes made through this handle are on disk
    /// after [`Emulator::flush`] or [`Emulator::shutdown`]. Explicit builder settings override
    /// the app settings stored in the file.
    ///
    /// ```
    /// let builder = passage_emulator::Emulator::builder().data_file("emulator-state.json");
    /// # let _ = builder;
    /// ```
    pub fn data_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.data_file = Some(path.into());
        self
    }

    /// Serves requests that name this host too (a name such as a container's service name, or an
    /// IP address), and takes it as an origin of the controls and the login form. Loopback
    /// names and the hosts of the emulator's, the auth origin's and the redirect URL's are
    /// always served; any other `Host` gets 403 (a defence against DNS rebinding).
    ///
    /// ```
    /// // Reached as http://passage-emulator:8788 from other containers.
    /// let builder = passage_emulator::Emulator::builder()
    ///     .host([0, 0, 0, 0].into())
    ///     .allowed_host("passage-emulator");
    /// # let _ = builder;
    /// ```
    pub fn allowed_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_hosts.push(host.into());
        self
    }

    /// Messages the dev inbox keeps, the newest (default 100).
    ///
    /// ```
    /// let builder = passage_emulator::Emulator::builder().inbox_capacity(1_000);
    /// # let _ = builder;
    /// ```
    pub fn inbox_capacity(mut self, messages: usize) -> Self {
        self.limits.inbox_messages = messages;
        self
    }

    /// Users the keyless login page may create (default 1000); beyond, it answers 429 until
    /// users are deleted or the emulator is reset. Users created with the API key are not
    /// counted.
    ///
    /// ```
    /// let builder = passage_emulator::Emulator::builder().login_page_user_limit(50);
    /// # let _ = builder;
    /// ```
    pub fn login_page_user_limit(mut self, users: usize) -> Self {
        self.limits.login_page_users = users;
        self
    }

    /// The login form's rate limit per client IP: `burst` requests at once, then one more per
    /// `per` (default 10, then one per 6 seconds). Beyond, `POST /login` answers 429 with
    /// `Retry-After`.
    ///
    /// ```
    /// use std::time::Duration;
    /// // Five sign-ins at once, then one a minute, per client.
    /// let builder = passage_emulator::Emulator::builder().login_rate_limit(5, Duration::from_secs(60));
    /// # let _ = builder;
    /// ```
    pub fn login_rate_limit(mut self, burst: u32, per: Duration) -> Self {
        self.limits.login_burst = burst;
        self.limits.login_refill = per;
        self
    }

    /// The origin the login page is opened at: magic links point there, and passkeys are made
    /// for it, with its host as their relying-party ID. Default: `http://localhost:PORT` (the
    /// emulator's port), or, when the app's auth origin is on an IP address, that address (the
    /// sign-in cookie is per host name, so it lands where the app reads it; passkeys are then
    /// off, since an IP address cannot be an RP ID). A browser allows WebAuthn over plain HTTP
    /// only on `localhost`. Set it when the browser reaches the emulator by another address,
    /// e.g. through a port mapping or a proxy. Its host is served like an
    /// [`allowed_host`](Self::allowed_host).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder()
    ///     .login_origin("http://localhost:9000")
    ///     .start()
    ///     .await?;
    /// assert_eq!(emulator.login_url(), "http://localhost:9000/");
    /// # Ok(()) }
    /// ```
    pub fn login_origin(mut self, origin: impl Into<String>) -> Self {
        self.login_origin = Some(origin.into());
        self
    }

    /// How long a passkey ceremony may take between its start and its finish (default 5
    /// minutes); a later finish is refused and the page starts again. Ceremonies in progress
    /// are kept in memory, at most 1000 (the oldest is dropped beyond).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = passage_emulator::Emulator::builder().passkey_timeout(Duration::from_secs(60));
    /// # let _ = builder;
    /// ```
    pub fn passkey_timeout(mut self, timeout: Duration) -> Self {
        self.limits.ceremony_ttl = timeout;
        self
    }

    /// Binds the listener, spawns the server task on the current tokio runtime and returns the
    /// handle.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// assert!(emulator.addr().port() > 0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Binding fails, the data file cannot be read or written, key generation fails, or a
    /// setting is unusable ([`EmulatorError::Config`]: a passkey timeout over an hour, a login
    /// origin that is not an http(s) origin).
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        let host = self.host.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::new(host, self.port.unwrap_or(0))).await?;
        let addr = listener.local_addr()?;
        let origin_ip = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let origin = format!("http://{}", SocketAddr::new(origin_ip, addr.port()));
        let loaded = match &self.data_file {
            Some(path) => store::file::load(path)?,
            None => None,
        };
        let mut state = match loaded {
            Some(state) => state,
            None => {
                let auth_origin = DEFAULT_AUTH_ORIGIN.to_string();
                let app = AppConfig {
                    id: random::random_id(),
                    name: "Passage Emulator App".into(),
                    api_key: random::random_string(48),
                    redirect_url: format!("{auth_origin}/"),
                    auth_origin,
                    session_length: i64::try_from(DEFAULT_SESSION_LENGTH.as_secs()).unwrap_or(3600),
                    created_at: store::records::now(),
                };
                let key = tokio::task::spawn_blocking(SigningKey::generate)
                    .await
                    .map_err(|e| EmulatorError::Crypto(e.to_string()))??;
                State::new(app, key)
            }
        };
        self.apply_settings(&mut state.app);
        let app_id = state.app.id.clone();
        let api_key = state.app.api_key.clone();
        let login_origin = match &self.login_origin {
            Some(o) => o.trim_end_matches('/').to_owned(),
            None => default_login_origin(&state.app.auth_origin, addr, &origin),
        };
        // WebAuthn needs a domain as RP ID: on an IP address the page offers magic links only.
        let login_host = login_host(&login_origin)?;
        let relying_party = if login_host.parse::<IpAddr>().is_ok() || login_host.starts_with('[') {
            tracing::warn!(
                %login_origin,
                "login page on an IP address: passkeys are off (serve the app on localhost, or \
                 set the login origin to a host name)"
            );
            None
        } else {
            Some(relying_party::RelyingParty::new(
                &login_host,
                &state.app.name,
                &login_origin,
                &[state.app.auth_origin.as_str()],
                self.limits.ceremony_ttl,
                self.limits.ceremonies,
            )?)
        };
        let allowed = http::AllowedHosts::of([
            origin.as_str(),
            login_origin.as_str(),
            state.app.auth_origin.as_str(),
            state.app.redirect_url.as_str(),
        ])
        .with_hosts(self.allowed_hosts.iter().map(String::as_str));
        let faults = Arc::new(faults::Faults::default());
        let store = Store::open(state, self.data_file, Arc::clone(&faults)).await?;
        let writer = tokio::spawn(Arc::clone(&store).write_changes());
        let ctx = Arc::new(Context {
            store,
            origin: origin.clone(),
            login_origin,
            relying_party,
            faults,
            counters: Counters::default(),
            limits: self.limits,
            login_limiter: RateLimiter::new(self.limits.login_burst, self.limits.login_refill),
        });

        let service = http::service(Arc::clone(&ctx), allowed);
        // Browsers may try `localhost` as ::1 first: serve the same port there too, when the
        // login page is on localhost and the emulator on 127.0.0.1 (best effort).
        let ipv6 = if login_host == "localhost" && addr.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST) {
            tokio::net::TcpListener::bind(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::LOCALHOST),
                addr.port(),
            ))
            .await
            .inspect_err(|e| tracing::debug!(error = %e, "not serving [::1] too"))
            .ok()
        } else {
            None
        };
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let make =
                axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                    SocketAddr,
                >(service);
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let stopped = |mut stop: tokio::sync::watch::Receiver<bool>| async move {
                let _ = stop.wait_for(|stop| *stop).await;
            };
            let relay = async move {
                let _ = rx.await;
                let _ = stop_tx.send(true);
            };
            let main = axum::serve(listener, make.clone())
                .with_graceful_shutdown(stopped(stop_rx.clone()))
                .into_future();
            let second = async move {
                match ipv6 {
                    Some(listener) => {
                        axum::serve(listener, make)
                            .with_graceful_shutdown(stopped(stop_rx))
                            .await
                    }
                    None => Ok(()),
                }
            };
            let (served, served_ipv6, ()) = tokio::join!(main, second, relay);
            for result in [served, served_ipv6] {
                if let Err(e) = result {
                    tracing::error!(error = %e, "emulator server stopped with an error");
                }
            }
        });
        tracing::info!(%origin, %app_id, "passage emulator listening");
        Ok(Emulator {
            ctx,
            addr,
            app_id,
            api_key,
            shutdown: Some(tx),
            task: Some(task),
            writer: Some(writer),
        })
    }

    /// Lays the explicit settings over the app's (new or loaded).
    fn apply_settings(&self, app: &mut AppConfig) {
        if let Some(v) = &self.app_id {
            app.id.clone_from(v);
        }
        if let Some(v) = &self.api_key {
            app.api_key.clone_from(v);
        }
        if let Some(v) = &self.auth_origin {
            app.auth_origin = v.trim_end_matches('/').to_string();
            if self.redirect_url.is_none() {
                app.redirect_url = format!("{}/", app.auth_origin);
            }
        }
        if let Some(v) = &self.redirect_url {
            app.redirect_url.clone_from(v);
        }
        if let Some(v) = &self.app_name {
            app.name.clone_from(v);
        }
        if let Some(v) = self.session_length {
            // Capped at ten years so `iat + session length` can never overflow.
            app.session_length = i64::try_from(v.as_secs())
                .unwrap_or(i64::MAX)
                .min(tokens::MAX_TTL_SECONDS);
        }
    }
}

/// A running emulator. Dropping it stops the server; [`Emulator::shutdown`] stops it gracefully,
/// saves what is left to save, and waits.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
/// let emulator = passage_emulator::Emulator::builder().start().await?;
/// assert!(emulator.origin().starts_with("http://127.0.0.1:"));
/// emulator.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Emulator {
    ctx: Arc<Context>,
    addr: SocketAddr,
    app_id: String,
    api_key: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key is deliberately left out: handles end up in logs.
        f.debug_struct("Emulator")
            .field("origin", &self.ctx.origin)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// A builder with every setting at its default.
    ///
    /// ```
    /// let builder = passage_emulator::Emulator::builder().port(0);
    /// # let _ = builder;
    /// ```
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// The base URL serving everything, e.g. `http://127.0.0.1:41234` (both the auth and the API
    /// origin).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// assert_eq!(emulator.origin(), format!("http://{}", emulator.addr()));
    /// # Ok(()) }
    /// ```
    pub fn origin(&self) -> &str {
        &self.ctx.origin
    }

    /// The login page's URL for a browser: on `localhost` by default (see
    /// [`EmulatorBuilder::login_origin`]), where passkeys work. Magic links point there too.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// assert_eq!(emulator.login_url(), format!("http://localhost:{}/", emulator.addr().port()));
    /// # Ok(()) }
    /// ```
    pub fn login_url(&self) -> String {
        format!("{}/", self.ctx.login_origin)
    }

    /// The bound socket address.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// assert!(emulator.addr().ip().is_loopback());
    /// # Ok(()) }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The app ID.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// assert_eq!(emulator.app_id().len(), 24);
    /// # Ok(()) }
    /// ```
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The management API key (`Authorization: Bearer <key>`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().api_key("k").start().await?;
    /// assert_eq!(emulator.api_key(), "k");
    /// # Ok(()) }
    /// ```
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The JWKS URL of the app.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// assert!(emulator.jwks_url().ends_with("/.well-known/jwks.json"));
    /// # Ok(()) }
    /// ```
    pub fn jwks_url(&self) -> String {
        format!(
            "{}/v1/apps/{}/.well-known/jwks.json",
            self.origin(),
            self.app_id
        )
    }

    /// Mints a valid auth token for `user_id` (creating the user with that ID if missing).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// let token = emulator.mint_token("user-1")?;
    /// assert_eq!(token.split('.').count(), 3);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A blank user ID, or a signing failure.
    pub fn mint_token(&self, user_id: &str) -> Result<String, EmulatorError> {
        self.mint_token_with(user_id, TokenOptions::default())
    }

    /// Mints a token with a custom lifetime and/or extra claims (for negative tests); see
    /// [`TokenOptions`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// use passage_emulator::TokenOptions;
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// let claims = serde_json::json!({"aud": "someone-else"}).as_object().cloned();
    /// let wrong_audience = emulator.mint_token_with("user-1", TokenOptions { ttl: None, claims })?;
    /// assert_eq!(wrong_audience.split('.').count(), 3);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A blank user ID, a lifetime beyond ten years either way, or a signing failure.
    pub fn mint_token_with(
        &self,
        user_id: &str,
        options: TokenOptions,
    ) -> Result<String, EmulatorError> {
        let minted = tokens::mint(
            &self.ctx.store,
            &self.ctx.origin,
            user_id,
            options.ttl,
            options.claims.as_ref(),
        )?;
        Ok(minted.token)
    }

    /// Creates a user with this email (lowercased) and returns its ID.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// let id = emulator.create_user("Ada@Example.com")?;
    /// assert_eq!(id.len(), 24);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// An invalid or already registered email.
    pub fn create_user(&self, email: &str) -> Result<String, EmulatorError> {
        let email = validate::normalize_email(email).ok_or_else(|| EmulatorError::Rejected {
            code: "invalid_request".into(),
            message: "email: must be a valid email address.".into(),
        })?;
        let fields = users::UserFields {
            email: Some(email),
            ..users::UserFields::default()
        };
        Ok(users::create(&self.ctx.store, fields)?.id)
    }

    /// Registers an emulated passkey to a user and returns the device ID (it shows in the
    /// user's `webauthn_devices`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// let user = emulator.create_user("ada@example.com")?;
    /// let device = emulator.add_device(&user, "Ada's laptop")?;
    /// assert_eq!(device.len(), 24);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// An unknown user (`user_not_found`).
    pub fn add_device(&self, user_id: &str, friendly_name: &str) -> Result<String, EmulatorError> {
        let device = devices::add(
            &self.ctx.store,
            user_id,
            DeviceKind::Passkey,
            Some(friendly_name.to_string()),
        )?;
        Ok(device.id)
    }

    /// Adds a completed login event of `kind` (e.g. `passkey_login`) to a user's recent events
    /// and returns its ID.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// let user = emulator.create_user("ada@example.com")?;
    /// emulator.add_login_event(&user, "passkey_login")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// An unknown user (`user_not_found`).
    pub fn add_login_event(&self, user_id: &str, kind: &str) -> Result<String, EmulatorError> {
        let new = events::NewEvent {
            kind: kind.to_string(),
            action: EventAction::Login,
            status: EventStatus::Complete,
            ip_addr: "127.0.0.1".into(),
            user_agent: "passage-emulator".into(),
            social_login_type: None,
        };
        Ok(events::add(&self.ctx.store, user_id, new, self.ctx.limits.recent_events)?.id)
    }

    /// Rotates the signing key and returns the new key ID; the previous key stays in the JWKS
    /// for `grace`. Blocks for the key generation (tens of milliseconds).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// let kid = emulator.rotate_key(std::time::Duration::from_secs(60))?;
    /// assert_eq!(kid.len(), 24);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Key generation failed.
    pub fn rotate_key(&self, grace: Duration) -> Result<String, EmulatorError> {
        let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
        Ok(keys::rotate(&self.ctx.store, Some(grace))?.kid)
    }

    /// Makes a magic link expired now (its ID is in the inbox message or the API's answer): its
    /// next use answers 410 `magic_link_expired`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// assert!(emulator.expire_magic_link("no-such-link").is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// An unknown link (`magic_link_not_found`).
    pub fn expire_magic_link(&self, link_id: &str) -> Result<(), EmulatorError> {
        Ok(links::expire(&self.ctx.store, link_id)?)
    }

    /// Arms a fault: the next requests (or saves) of its target fail as it says.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// use passage_emulator::{Fault, FaultMode, FaultTarget};
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// emulator.inject_fault(Fault::new(FaultTarget::Jwks, FaultMode::Status(503)).count(2))?;
    /// assert_eq!(emulator.faults().jwks, 2);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A status that is not an error status, or a garbage or huge save fault.
    pub fn inject_fault(&self, fault: Fault) -> Result<(), EmulatorError> {
        if let Some(problem) = fault.problem() {
            return Err(EmulatorError::Rejected {
                code: "invalid_request".into(),
                message: problem.into(),
            });
        }
        self.ctx.faults.arm(fault);
        Ok(())
    }

    /// Disarms every fault and ends the hangs in progress.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// # use passage_emulator::{Fault, FaultMode, FaultTarget};
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// emulator.inject_fault(Fault::new(FaultTarget::Api, FaultMode::Garbage))?;
    /// emulator.clear_faults();
    /// assert_eq!(emulator.faults(), Default::default());
    /// # Ok(()) }
    /// ```
    pub fn clear_faults(&self) {
        self.ctx.faults.clear();
    }

    /// Uses left of the armed faults.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// assert_eq!(emulator.faults().api, 0);
    /// # Ok(()) }
    /// ```
    pub fn faults(&self) -> FaultsRemaining {
        self.ctx.faults.remaining()
    }

    /// Forgets every user, magic link and inbox message; the app and its keys stay.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// emulator.create_user("ada@example.com")?;
    /// emulator.reset();
    /// assert_eq!(emulator.stats().users, 0);
    /// # Ok(()) }
    /// ```
    pub fn reset(&self) {
        users::reset(&self.ctx.store);
    }

    /// Requests served and what the store holds.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// assert_eq!(emulator.stats().jwks_requests, 0);
    /// # Ok(()) }
    /// ```
    pub fn stats(&self) -> Stats {
        let (users, magic_links, inbox_messages) = self
            .ctx
            .store
            .read(|s| (s.users.len(), s.links.len(), s.inbox.len()));
        Stats {
            jwks_requests: self.jwks_requests(),
            api_requests: self.api_requests(),
            users,
            magic_links,
            inbox_messages,
            data_file_writes: self.ctx.store.writes(),
            passkey_ceremonies: self
                .ctx
                .relying_party
                .as_ref()
                .map_or(0, relying_party::RelyingParty::in_progress),
        }
    }

    /// JWKS requests served so far (including fault-injected ones).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// assert_eq!(emulator.jwks_requests(), 0);
    /// # Ok(()) }
    /// ```
    pub fn jwks_requests(&self) -> u64 {
        self.ctx.counters.jwks_requests.load(Ordering::Relaxed)
    }

    /// Other `/v1/...` requests served so far (including fault-injected ones).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// assert_eq!(emulator.api_requests(), 0);
    /// # Ok(()) }
    /// ```
    pub fn api_requests(&self) -> u64 {
        self.ctx.counters.api_requests.load(Ordering::Relaxed)
    }

    /// The dev inbox: magic links "sent" by email or SMS, oldest first (the newest 100 by
    /// default; see [`EmulatorBuilder::inbox_capacity`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// assert!(emulator.inbox().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn inbox(&self) -> Vec<InboxMessage> {
        links::inbox(&self.ctx.store)
    }

    /// Waits until every change made so far is in the data file (at once without one).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let dir = std::env::temp_dir().join(format!("emulator-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let emulator = passage_emulator::Emulator::builder()
    ///     .data_file(dir.join("state.json"))
    ///     .start()
    ///     .await?;
    /// emulator.create_user("ada@example.com")?;
    /// emulator.flush().await?; // now it survives a crash
    /// # emulator.shutdown().await;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The data file could not be written.
    pub async fn flush(&self) -> Result<(), EmulatorError> {
        self.ctx
            .store
            .flush()
            .await
            .map_err(|e| EmulatorError::Persistence(e.to_string()))
    }

    /// Stops accepting connections, lets in-flight requests finish (up to 5 seconds), saves what
    /// is left to save and waits for the server task.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
    /// let emulator = passage_emulator::Emulator::builder().start().await?;
    /// let origin = emulator.origin().to_string();
    /// emulator.shutdown().await;
    /// assert!(std::net::TcpStream::connect(origin.trim_start_matches("http://")).is_err());
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
        // A hanging save fault must not hold the shutdown; a failed save gets its retries.
        self.ctx.faults.clear();
        let settled = tokio::time::timeout(Duration::from_secs(10), self.ctx.store.settle()).await;
        if !matches!(settled, Ok(Ok(()))) {
            tracing::error!("changes made before shutdown could not be saved");
        }
        if let Some(writer) = self.writer.take() {
            writer.abort();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            // Connections still open (e.g. a hanging fault) must not keep the server alive.
            task.abort();
        }
        if let Some(writer) = self.writer.take() {
            writer.abort();
        }
    }
}
