#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod api;
mod auth;
mod controls;
mod error;
mod faults;
mod filters;
mod keys;
mod models;
mod state;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use error::EmulatorError;
pub use models::InboxMessage;

use crate::error::ApiError;
use crate::keys::SigningKey;
use crate::state::{AppConfig, Shared, State as Store};

/// Largest request body the emulator accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Default session length (`exp - iat` of auth tokens).
pub const DEFAULT_SESSION_LENGTH: Duration = Duration::from_secs(3600);
/// Default app auth origin.
pub const DEFAULT_AUTH_ORIGIN: &str = "http://127.0.0.1:8080";

/// Options for [`Emulator::mint_token_with`].
#[derive(Clone, Debug, Default)]
pub struct TokenOptions {
    /// Token lifetime in seconds (`exp - iat`); negative for an already-expired token.
    /// `None` uses the app's session length.
    pub ttl: Option<i64>,
    /// Claims merged over the standard ones (e.g. a wrong `aud` for negative tests).
    pub claims: Option<Map<String, Value>>,
}

/// Configures and starts an [`Emulator`]. Every setting is optional. Its `Debug` never shows
/// the API key.
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
            .finish()
    }
}

impl EmulatorBuilder {
    /// The app ID (default: random, 24 alphanumeric characters).
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// The management API key (default: random).
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The app's auth origin, the first `aud` of tokens (default `http://127.0.0.1:8080`, where the example apps listen).
    pub fn auth_origin(mut self, auth_origin: impl Into<String>) -> Self {
        self.auth_origin = Some(auth_origin.into());
        self
    }

    /// Where the login page sends users after sign-in (default: auth origin + `/`).
    pub fn redirect_url(mut self, redirect_url: impl Into<String>) -> Self {
        self.redirect_url = Some(redirect_url.into());
        self
    }

    /// The app name shown by the login page and `GET /v1/apps/{app_id}`.
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// Session length: `exp - iat` of minted tokens (default one hour).
    pub fn session_length(mut self, length: Duration) -> Self {
        self.session_length = Some(length);
        self
    }

    /// Address to bind (default `127.0.0.1`).
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = Some(host);
        self
    }

    /// Port to bind (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Persist state in this JSON file (loaded at start if it exists, rewritten atomically after
    /// every change). Explicit builder settings override the app settings stored in the file.
    pub fn data_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.data_file = Some(path.into());
        self
    }

    /// Binds the listener, spawns the server task on the current tokio runtime and returns the
    /// handle.
    ///
    /// # Errors
    /// Binding fails, the data file cannot be read or written, or key generation fails.
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
            Some(path) => Store::load(path)?,
            None => None,
        };
        let mut store = match loaded {
            Some(store) => store,
            None => {
                let auth_origin = DEFAULT_AUTH_ORIGIN.to_string();
                let app = AppConfig {
                    id: models::random_id(),
                    name: "Passage Emulator App".into(),
                    api_key: models::random_string(48),
                    redirect_url: format!("{auth_origin}/"),
                    auth_origin,
                    session_length: DEFAULT_SESSION_LENGTH.as_secs() as i64,
                    created_at: models::now(),
                };
                let key = tokio::task::spawn_blocking(SigningKey::generate)
                    .await
                    .map_err(|e| EmulatorError::Crypto(e.to_string()))??;
                Store::new(app, key)
            }
        };
        let app = &mut store.app;
        if let Some(v) = self.app_id {
            app.id = v;
        }
        if let Some(v) = self.api_key {
            app.api_key = v;
        }
        if let Some(v) = self.auth_origin {
            app.auth_origin = v.trim_end_matches('/').to_string();
            if self.redirect_url.is_none() {
                app.redirect_url = format!("{}/", app.auth_origin);
            }
        }
        if let Some(v) = self.redirect_url {
            app.redirect_url = v;
        }
        if let Some(v) = self.app_name {
            app.name = v;
        }
        if let Some(v) = self.session_length {
            // Capped at ten years so `iat + session length` can never overflow.
            app.session_length = i64::try_from(v.as_secs())
                .unwrap_or(i64::MAX)
                .min(315_360_000);
        }
        if let Some(path) = &self.data_file {
            store.save(path)?;
        }
        let app_id = store.app.id.clone();
        let api_key = store.app.api_key.clone();
        let shared = Arc::new(Shared::new(store, origin.clone(), self.data_file));

        let app = router(Arc::clone(&shared));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "emulator server stopped with an error");
            }
        });
        tracing::info!(%origin, %app_id, "passage emulator listening");
        Ok(Emulator {
            shared,
            addr,
            app_id,
            api_key,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let r = Router::new();
    let r = api::route(r, "/v1/apps/{app_id}/.well-known/jwks.json", get(jwks));
    let r = api::routes(r);
    let r = auth::routes(r);
    let r = controls::routes(r);
    r.fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            faults::middleware,
        ))
        .with_state(shared)
}

async fn jwks(State(shared): State<Arc<Shared>>, Path(app_id): Path<String>) -> Response {
    if let Err(e) = api::check_app(&shared, &app_id) {
        return e.into_response();
    }
    let keys: Vec<Value> = shared.read(|s| s.published_keys().map(SigningKey::jwk).collect());
    Json(json!({ "keys": keys })).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "Resource not found",
    )
}

/// A running emulator. Dropping it stops the server; [`Emulator::shutdown`] stops it gracefully
/// and waits.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    app_id: String,
    api_key: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key is deliberately left out: handles end up in logs.
        f.debug_struct("Emulator")
            .field("origin", &self.shared.origin)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// A builder with every setting at its default.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// The base URL serving everything, e.g. `http://127.0.0.1:41234` (both the auth and the API
    /// origin).
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The app ID.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The management API key (`Authorization: Bearer <key>`).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The JWKS URL of the app.
    pub fn jwks_url(&self) -> String {
        format!(
            "{}/v1/apps/{}/.well-known/jwks.json",
            self.origin(),
            self.app_id
        )
    }

    /// Mints a valid auth token for `user_id` (creating the user with that ID if missing).
    ///
    /// # Errors
    /// A blank user ID, or a signing failure.
    pub fn mint_token(&self, user_id: &str) -> Result<String, EmulatorError> {
        self.mint_token_with(user_id, TokenOptions::default())
    }

    /// Mints a token with a custom lifetime and/or extra claims (for negative tests).
    ///
    /// # Errors
    /// A blank user ID, or a signing failure.
    pub fn mint_token_with(
        &self,
        user_id: &str,
        options: TokenOptions,
    ) -> Result<String, EmulatorError> {
        Ok(controls::mint_for(
            &self.shared,
            user_id,
            options.ttl,
            options.claims.as_ref(),
        )?)
    }

    /// Creates a user with this email (lowercased) and returns its ID.
    ///
    /// # Errors
    /// An invalid or already registered email.
    pub fn create_user(&self, email: &str) -> Result<String, EmulatorError> {
        let email = models::normalize_email(email).ok_or_else(|| EmulatorError::Rejected {
            code: "invalid_request".into(),
            message: "email: must be a valid email address.".into(),
        })?;
        Ok(self
            .shared
            .mutate(|s| Ok(s.insert_user(None, email, String::new(), None)?.id.clone()))?)
    }

    /// Rotates the signing key and returns the new key ID; the previous key stays in the JWKS
    /// for `grace`.
    ///
    /// # Errors
    /// Key generation or persistence failed.
    pub fn rotate_key(&self, grace: Duration) -> Result<String, EmulatorError> {
        let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
        Ok(controls::rotate_key(&self.shared, Some(grace))?.0)
    }

    /// JWKS requests served so far (including fault-injected ones).
    pub fn jwks_requests(&self) -> u64 {
        self.shared.jwks_requests.load(Ordering::Relaxed)
    }

    /// Other `/v1/...` requests served so far (including fault-injected ones).
    pub fn api_requests(&self) -> u64 {
        self.shared.api_requests.load(Ordering::Relaxed)
    }

    /// The dev inbox: magic links "sent" by email or SMS, oldest first.
    pub fn inbox(&self) -> Vec<InboxMessage> {
        self.shared.read(|s| s.inbox.clone())
    }

    /// Stops accepting connections, lets in-flight requests finish (up to 5 seconds) and waits
    /// for the server task.
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
    }
}
