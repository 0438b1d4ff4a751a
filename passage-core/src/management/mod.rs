//! The management client: app info, users, devices and magic links, over one connection pool
//! shared with the JWKS cache. Reached through [`Passage`]:
//! [`Passage::get_app`], [`Passage::user`] and [`Passage::create_magic_link`].
//!
//! Every call sends `Authorization: Bearer <API key>` (never logged), a `User-Agent` and
//! `Passage-Version: passage-rs <version>`. Idempotent calls (GET, DELETE, activate,
//! deactivate) are retried on 429/502/503/504 and connection failures with exponential backoff
//! and jitter, honouring `Retry-After`; creates, updates and magic links never are.

mod error;
mod models;
mod requests;

use std::time::Duration;

use futures::{Stream, TryStreamExt as _};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

pub use error::{ErrorCode, ManagementError, TransportError};
pub use models::{
    AppInfo, Device, DeviceIcons, EventAction, EventStatus, Language, Link, MagicLink,
    MagicLinkChannel, MagicLinkType, PageLinks, RecentEvent, SocialConnection, SocialConnections,
    SocialLoginType, User, UserListItem, UserPage, UserStatus, WebAuthnType,
};
pub use requests::{CreateUser, Filter, ListUsers, MagicLinkRequest, Order, UpdateUser};

use crate::Passage;
use crate::config::Config;

/// The `Passage-Version` header value.
const PASSAGE_VERSION: &str = concat!("passage-rs ", env!("CARGO_PKG_VERSION"));
/// The largest management response read.
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Safe to repeat: retried on transient failures.
    Idempotent,
    /// Never repeated (it could act twice).
    Never,
}

/// One management API call, described once and sent by [`Passage::call`].
struct Call<'a> {
    method: Method,
    /// For logs: the route with placeholders, never IDs.
    template: &'static str,
    segments: &'a [&'a str],
    query: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    retry: Retry,
    needs_key: bool,
}

impl<'a> Call<'a> {
    fn new(method: Method, template: &'static str, segments: &'a [&'a str]) -> Self {
        let retry = if method == Method::GET || method == Method::DELETE {
            Retry::Idempotent
        } else {
            Retry::Never
        };
        Self {
            method,
            template,
            segments,
            query: Vec::new(),
            body: None,
            retry,
            needs_key: true,
        }
    }

    fn json(mut self, body: &impl Serialize) -> Result<Self, ManagementError> {
        let body = serde_json::to_vec(body)
            .map_err(|_| ManagementError::InvalidArgument("the request body cannot be encoded"))?;
        self.body = Some(body);
        Ok(self)
    }

    fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }
}

/// Whether `id` can be a Passage ID (of a user, device or app): 1 to 128 ASCII letters, digits,
/// `-` or `_`. Anything else (empty, `.`, `..`, `/`, `%2F`, whitespace) could change which
/// endpoint a URL names, so it never reaches one.
fn is_passage_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn require_id(id: &str, what: &'static str) -> Result<(), ManagementError> {
    if is_passage_id(id) {
        Ok(())
    } else {
        Err(ManagementError::InvalidArgument(what))
    }
}

fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ManagementError> {
    serde_json::from_slice(body).map_err(|e| ManagementError::Decode {
        status,
        detail: e.to_string(),
    })
}

/// The wait a `Retry-After` header asks for (delta-seconds form).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

impl Passage {
    fn endpoint(config: &Config, segments: &[&str]) -> Result<Url, ManagementError> {
        // Every segment, IDs and fixed names alike, is checked here too, so no call can send a
        // path segment that resolves to another endpoint.
        if !segments.iter().all(|segment| is_passage_id(segment)) {
            return Err(ManagementError::InvalidArgument(
                "an ID has characters Passage IDs never have",
            ));
        }
        let mut url = Url::parse(config.api_origin())
            .map_err(|_| ManagementError::InvalidArgument("the API origin is not a URL"))?;
        url.path_segments_mut()
            .map_err(|()| ManagementError::InvalidArgument("the API origin cannot have a path"))?
            .clear()
            .extend(["v1", "apps", config.app_id()])
            .extend(segments);
        Ok(url)
    }

    /// Sends a call, retrying as its policy allows; returns the success status and body.
    async fn call(&self, call: Call<'_>) -> Result<(u16, Vec<u8>), ManagementError> {
        let config = self.config();
        let key = match (call.needs_key, config.api_key()) {
            (true, None) => return Err(ManagementError::MissingApiKey),
            (_, key) => key,
        };
        let url = Self::endpoint(config, call.segments)?;
        let span = tracing::info_span!(
            "passage.management",
            method = %call.method,
            path = call.template,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        async {
            let retry = config.retry();
            let mut attempt = 0u32;
            loop {
                attempt += 1;
                let mut request =
                    crate::transport::request(self.http(), call.method.clone(), url.clone())
                        .timeout(config.request_timeout())
                        .header("Passage-Version", PASSAGE_VERSION)
                        .header(reqwest::header::ACCEPT, "application/json");
                if let Some(key) = key {
                    request = request.bearer_auth(key.expose());
                }
                if !call.query.is_empty() {
                    request = request.query(&call.query);
                }
                if let Some(body) = &call.body {
                    request = request
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body.clone());
                }
                let may_retry = call.retry == Retry::Idempotent && attempt <= retry.max_retries;
                let backoff =
                    crate::transport::backoff(retry.initial_backoff, retry.max_backoff, attempt);
                let timer = std::time::Instant::now();
                let sent = request.send().await;
                let redirected =
                    matches!(&sent, Ok(response) if crate::transport::redirected(response, &url));
                let answered = match &sent {
                    Ok(_) if redirected => Err("redirected"),
                    Ok(response) => Ok(response.status().as_u16()),
                    Err(error) if error.is_timeout() => Err("timeout"),
                    Err(_) => Err("transport"),
                };
                crate::telemetry::management_call(
                    &call.method,
                    call.template,
                    answered,
                    timer.elapsed(),
                );
                let response = match sent {
                    Ok(_) if redirected => return Err(ManagementError::Redirected),
                    Ok(response) => response,
                    Err(error) if error.is_timeout() => return Err(ManagementError::Timeout),
                    Err(error) => {
                        if may_retry && error.is_connect() {
                            tracing::debug!(attempt, "connection failed; retrying");
                            tokio::time::sleep(backoff).await;
                            continue;
                        }
                        return Err(ManagementError::Transport(TransportError::new(error)));
                    }
                };
                let status = response.status();
                tracing::Span::current().record("status", status.as_u16());
                tracing::Span::current().record("attempts", attempt);
                let transient = matches!(
                    status,
                    StatusCode::TOO_MANY_REQUESTS
                        | StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::GATEWAY_TIMEOUT
                );
                if transient && may_retry {
                    let wait = retry_after(response.headers()).unwrap_or(backoff);
                    if wait <= retry.max_backoff {
                        tracing::debug!(
                            attempt,
                            status = status.as_u16(),
                            "transient failure; retrying"
                        );
                        drop(response);
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                }
                let body = crate::transport::read_limited(response, MAX_RESPONSE_BYTES)
                    .await
                    .map_err(|error| match error {
                        crate::transport::ReadError::TooLarge => ManagementError::Decode {
                            status: status.as_u16(),
                            detail: "response too large".into(),
                        },
                        crate::transport::ReadError::Transport(e) if e.is_timeout() => {
                            ManagementError::Timeout
                        }
                        crate::transport::ReadError::Transport(e) => {
                            ManagementError::Transport(TransportError::new(e))
                        }
                    })?;
                if status.is_success() {
                    return Ok((status.as_u16(), body));
                }
                return Err(ManagementError::from_body(status.as_u16(), &body));
            }
        }
        .instrument(span)
        .await
    }

    async fn call_json<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, ManagementError> {
        let (status, body) = self.call(call).await?;
        decode(status, &body)
    }

    /// The app's public settings. Works without an API key.
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// let app = passage.get_app().await?;
    /// println!("{} signs users in at {}", app.name, app.auth_origin);
    /// # Ok(()) }
    /// ```
    pub async fn get_app(&self) -> Result<AppInfo, ManagementError> {
        #[derive(serde::Deserialize)]
        struct Envelope {
            app: AppInfo,
        }
        let mut call = Call::new(Method::GET, "/v1/apps/{app_id}", &[]);
        call.needs_key = false;
        Ok(self.call_json::<Envelope>(call).await?.app)
    }

    /// User management: get, list, create, update, delete, activate, deactivate, devices and
    /// sign-out.
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// let user = passage.user().get("user-id").await?;
    /// println!("{}", user.email);
    /// # Ok(()) }
    /// ```
    pub fn user(&self) -> Users<'_> {
        Users { passage: self }
    }

    /// Creates a magic link (and the user, if missing). Never retried.
    ///
    /// ```no_run
    /// use passage_core::management::{MagicLinkChannel, MagicLinkRequest};
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// let link = passage
    ///     .create_magic_link(MagicLinkRequest::email("ada@example.com").send(MagicLinkChannel::Email))
    ///     .await?;
    /// println!("sent {} to {}", link.id, link.identifier);
    /// # Ok(()) }
    /// ```
    pub async fn create_magic_link(
        &self,
        request: MagicLinkRequest,
    ) -> Result<MagicLink, ManagementError> {
        #[derive(serde::Deserialize)]
        struct Envelope {
            magic_link: MagicLink,
        }
        request.validate()?;
        let call = Call::new(
            Method::POST,
            "/v1/apps/{app_id}/magic-links",
            &["magic-links"],
        )
        .json(&request)?;
        Ok(self.call_json::<Envelope>(call).await?.magic_link)
    }
}

#[derive(serde::Deserialize)]
struct UserEnvelope {
    user: User,
}

/// User operations, from [`Passage::user`].
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    passage: &'a Passage,
}

impl Users<'_> {
    /// Gets a user by ID.
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// let user = passage.user().get("user-id").await?;
    /// assert_eq!(user.id, "user-id");
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, user_id: &str) -> Result<User, ManagementError> {
        require_id(user_id, "the user ID is not a Passage ID")?;
        let segments = ["users", user_id];
        let call = Call::new(Method::GET, "/v1/apps/{app_id}/users/{user_id}", &segments);
        Ok(self.passage.call_json::<UserEnvelope>(call).await?.user)
    }

    /// Gets a user by email or phone (emails are compared lowercased); a 404 `user_not_found`
    /// when there is none.
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// let user = passage.user().get_by_identifier("Ada@Example.com").await?;
    /// assert_eq!(user.email, "ada@example.com");
    /// # Ok(()) }
    /// ```
    pub async fn get_by_identifier(&self, identifier: &str) -> Result<User, ManagementError> {
        let identifier = identifier.trim().to_lowercase();
        if identifier.is_empty() {
            return Err(ManagementError::InvalidArgument("the identifier is empty"));
        }
        let page = self
            .list_page(
                ListUsers::new()
                    .limit(1)
                    .identifier(Filter::eq(identifier.as_str())),
            )
            .await?;
        // Only a user whose email or phone is the identifier: never one a server matched some
        // other way.
        let found = page.users.into_iter().find(|user| {
            user.email.to_lowercase() == identifier
                || (!user.phone.is_empty() && user.phone == identifier)
        });
        match found {
            Some(found) => self.get(&found.id).await,
            None => Err(ManagementError::user_not_found()),
        }
    }

    /// One page of users, with every filter, operator and ordering the API takes.
    ///
    /// ```no_run
    /// use passage_core::management::{Filter, ListUsers, Order};
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// let page = passage
    ///     .user()
    ///     .list_page(ListUsers::new().limit(50).status(Filter::eq("active")).order_by("created_at", Order::Desc))
    ///     .await?;
    /// println!("{} of {} users", page.users.len(), page.total_users);
    /// # Ok(()) }
    /// ```
    pub async fn list_page(&self, query: ListUsers) -> Result<UserPage, ManagementError> {
        query.validate()?;
        let mut call = Call::new(Method::GET, "/v1/apps/{app_id}/users", &["users"]);
        call.query = query.to_query();
        self.passage.call_json(call).await
    }

    /// Every user matching `query`, as a stream that walks the pages (anchored at the first
    /// page's `created_before`, so users created meanwhile do not shift pages).
    ///
    /// ```no_run
    /// use futures::TryStreamExt as _;
    /// use passage_core::management::ListUsers;
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// let users: Vec<_> = passage.user().list(ListUsers::new().limit(500)).try_collect().await?;
    /// println!("{} users", users.len());
    /// # Ok(()) }
    /// ```
    pub fn list(
        &self,
        query: ListUsers,
    ) -> impl Stream<Item = Result<UserListItem, ManagementError>> + Send + 'static {
        let passage = self.passage.clone();
        let first = query.page_number();
        let state = Some((query, first));
        futures::stream::try_unfold(state, move |state| {
            let passage = passage.clone();
            async move {
                let Some((query, page_number)) = state else {
                    return Ok(None);
                };
                let page = passage
                    .user()
                    .list_page(query.clone().page(page_number))
                    .await?;
                let seen = u64::from(page_number) * u64::from(page.limit.max(1));
                let done = page.users.is_empty() || seen >= page.total_users;
                let anchored = match query.anchor() {
                    Some(_) => query,
                    None => query.created_before(page.created_before),
                };
                let next = (!done).then(|| (anchored, page_number + 1));
                Ok(Some((
                    futures::stream::iter(page.users.into_iter().map(Ok)),
                    next,
                )))
            }
        })
        .try_flatten()
    }

    /// Creates a user with an email and/or phone. Never retried.
    ///
    /// ```no_run
    /// use passage_core::management::CreateUser;
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// let user = passage.user().create(CreateUser::email("ada@example.com")).await?;
    /// println!("created {}", user.id);
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, user: CreateUser) -> Result<User, ManagementError> {
        user.validate()?;
        let call = Call::new(Method::POST, "/v1/apps/{app_id}/users", &["users"]).json(&user)?;
        Ok(self.passage.call_json::<UserEnvelope>(call).await?.user)
    }

    /// Updates a user's email, phone or metadata. Never retried.
    ///
    /// ```no_run
    /// use passage_core::management::UpdateUser;
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// let user = passage.user().update("user-id", UpdateUser::new().email("new@example.com")).await?;
    /// assert_eq!(user.email, "new@example.com");
    /// # Ok(()) }
    /// ```
    pub async fn update(&self, user_id: &str, update: UpdateUser) -> Result<User, ManagementError> {
        require_id(user_id, "the user ID is not a Passage ID")?;
        update.validate()?;
        let segments = ["users", user_id];
        let call = Call::new(
            Method::PATCH,
            "/v1/apps/{app_id}/users/{user_id}",
            &segments,
        )
        .json(&update)?;
        Ok(self.passage.call_json::<UserEnvelope>(call).await?.user)
    }

    /// Deletes a user.
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// passage.user().delete("user-id").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, user_id: &str) -> Result<(), ManagementError> {
        require_id(user_id, "the user ID is not a Passage ID")?;
        let segments = ["users", user_id];
        let call = Call::new(
            Method::DELETE,
            "/v1/apps/{app_id}/users/{user_id}",
            &segments,
        );
        self.passage.call(call).await.map(drop)
    }

    /// Activates a user.
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// let user = passage.user().activate("user-id").await?;
    /// # Ok(()) }
    /// ```
    pub async fn activate(&self, user_id: &str) -> Result<User, ManagementError> {
        self.set_status(
            user_id,
            "activate",
            "/v1/apps/{app_id}/users/{user_id}/activate",
        )
        .await
    }

    /// Deactivates a user (they can no longer sign in).
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// let user = passage.user().deactivate("user-id").await?;
    /// # Ok(()) }
    /// ```
    pub async fn deactivate(&self, user_id: &str) -> Result<User, ManagementError> {
        self.set_status(
            user_id,
            "deactivate",
            "/v1/apps/{app_id}/users/{user_id}/deactivate",
        )
        .await
    }

    async fn set_status(
        &self,
        user_id: &str,
        action: &str,
        template: &'static str,
    ) -> Result<User, ManagementError> {
        require_id(user_id, "the user ID is not a Passage ID")?;
        let segments = ["users", user_id, action];
        let call = Call::new(Method::PATCH, template, &segments).retry(Retry::Idempotent);
        Ok(self.passage.call_json::<UserEnvelope>(call).await?.user)
    }

    /// Lists a user's WebAuthn devices.
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// for device in passage.user().list_devices("user-id").await? {
    ///     println!("{} used {} times", device.friendly_name, device.usage_count);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_devices(&self, user_id: &str) -> Result<Vec<Device>, ManagementError> {
        #[derive(serde::Deserialize)]
        struct Envelope {
            devices: Vec<Device>,
        }
        require_id(user_id, "the user ID is not a Passage ID")?;
        let segments = ["users", user_id, "devices"];
        let call = Call::new(
            Method::GET,
            "/v1/apps/{app_id}/users/{user_id}/devices",
            &segments,
        );
        Ok(self.passage.call_json::<Envelope>(call).await?.devices)
    }

    /// Revokes one of a user's devices.
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// passage.user().revoke_device("user-id", "device-id").await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_device(
        &self,
        user_id: &str,
        device_id: &str,
    ) -> Result<(), ManagementError> {
        require_id(user_id, "the user ID is not a Passage ID")?;
        require_id(device_id, "the device ID is not a Passage ID")?;
        let segments = ["users", user_id, "devices", device_id];
        let call = Call::new(
            Method::DELETE,
            "/v1/apps/{app_id}/users/{user_id}/devices/{device_id}",
            &segments,
        );
        self.passage.call(call).await.map(drop)
    }

    /// Revokes a user's refresh tokens: signs them out everywhere.
    ///
    /// ```no_run
    /// # async fn run(passage: passage_core::Passage) -> Result<(), passage_core::management::ManagementError> {
    /// passage.user().revoke_refresh_tokens("user-id").await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_refresh_tokens(&self, user_id: &str) -> Result<(), ManagementError> {
        require_id(user_id, "the user ID is not a Passage ID")?;
        let segments = ["users", user_id, "tokens"];
        let call = Call::new(
            Method::DELETE,
            "/v1/apps/{app_id}/users/{user_id}/tokens",
            &segments,
        );
        self.passage.call(call).await.map(drop)
    }
}
