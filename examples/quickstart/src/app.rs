//! The web app: routes, the auth guard and the pages.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use passage_axum::{PassageRejection, PassageUser};
use passage_core::management::{Device, User, UserStatus};
use passage_core::{AuthError, InvalidTokenReason, Passage};

use crate::html::{Nav, datetime, escape, page};
use crate::setup::{EmulatorLink, SignIn};

/// Everything the handlers share.
pub struct AppState {
    /// The Passage SDK handle (verifier and management client).
    pub passage: Passage,
    /// How the sign-in link works.
    pub sign_in: SignIn,
    /// The in-process emulator, if one runs (for the home page's note).
    pub emulator: Option<EmulatorLink>,
    /// The app's own origin, e.g. `http://localhost:8080`.
    pub origin: String,
}

/// The router state: cheap to clone, and the source of the `Passage` handle for
/// `passage-axum`'s extractors.
#[derive(Clone)]
struct Shared(Arc<AppState>);

impl std::ops::Deref for Shared {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.0
    }
}

impl FromRef<Shared> for Passage {
    fn from_ref(state: &Shared) -> Passage {
        state.passage.clone()
    }
}

/// The answer to a guarded page's request that is not signed in: this app's HTML pages instead of
/// the adapter's JSON. Handlers take `Result<PassageUser, PassageRejection>` and `?` it into this
/// (the `From` impl below), so `passage-axum`'s own extractor does the verifying.
struct SignInRequired(PassageRejection);

impl From<PassageRejection> for SignInRequired {
    fn from(rejection: PassageRejection) -> Self {
        Self(rejection)
    }
}

impl IntoResponse for SignInRequired {
    fn into_response(self) -> Response {
        refused(&self.0)
    }
}

/// The app's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in))
        .route("/profile", get(profile))
        .route("/devices", get(devices))
        .route("/devices/{device_id}/remove", post(remove_device))
        .route("/sign-out", post(sign_out))
        .fallback(not_found)
        .layer(middleware::from_fn(security_headers))
        .with_state(Shared(Arc::new(state)))
}

/// Headers every page gets: no caching of personal pages, no framing, no sniffing, no
/// referrer to other sites (`same-origin` keeps the `Origin` header the sign-out check reads).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// The `Set-Cookie` value that deletes the auth cookie the login page set.
const CLEAR_COOKIE: &str = "psg_auth_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax";

fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

/// Set by sign-out for the home page that follows, which confirms it and clears the cookie.
const SIGNED_OUT_COOKIE: &str =
    "quickstart_signed_out=1; Path=/; Max-Age=60; HttpOnly; SameSite=Lax";
/// Clears [`SIGNED_OUT_COOKIE`].
const CLEAR_SIGNED_OUT_COOKIE: &str =
    "quickstart_signed_out=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax";

/// Whether the request carries the sign-out confirmation cookie.
fn just_signed_out(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| pair.trim() == "quickstart_signed_out=1")
}

fn with_cleared_cookie(mut response: Response) -> Response {
    response
        .headers_mut()
        .append(header::SET_COOKIE, HeaderValue::from_static(CLEAR_COOKIE));
    response
}

/// A state-changing request must come from one of this app's own pages: a browser sends
/// `Origin`, which must match the `Host` the request was sent to (a cross-site form post is
/// refused even though `SameSite=Lax` already keeps the cookie out of it).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    origin
        .to_str()
        .is_ok_and(|origin| origin == format!("http://{host}"))
}

fn forbidden() -> Response {
    let body = "<div class=\"card\"><h1>Request refused</h1>\
<p>This form must be submitted from the quickstart's own pages.</p>\
<p><a class=\"button\" href=\"/\">Home</a></p></div>";
    html(
        StatusCode::FORBIDDEN,
        page("Request refused", Nav::SignedOut, body),
    )
}

/// The page for a request that is not (or no longer) signed in: 401 with a sign-in link, or 503
/// when the signing keys cannot be fetched. A cookie that fails verification is deleted.
fn refused(rejection: &PassageRejection) -> Response {
    let answer = rejection.0.response();
    let Some(error) = rejection.0.auth_error() else {
        // No handle in the state cannot happen here (the state always holds one); answer as the
        // adapter would.
        return rejection.clone().into_response();
    };
    if let AuthError::KeysUnavailable(reason) = error {
        tracing::warn!(%reason, "cannot verify sign-ins: Passage keys unavailable");
        let body = "<div class=\"card\"><h1>Sign-in is temporarily unavailable</h1>\
<p class=\"muted\">The app cannot reach Passage to check your sign-in. Try again in a few \
seconds.</p><p><a class=\"button\" href=\"\">Try again</a></p></div>";
        let mut response = html(
            StatusCode::SERVICE_UNAVAILABLE,
            page("Unavailable", Nav::SignedOut, body),
        );
        if let Some(seconds) = answer.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return response;
    }
    // An invalid token means a cookie was sent (no cookie is `MissingToken`): the session ended.
    let expired = matches!(error, AuthError::InvalidToken(_));
    let lead = if expired {
        "Your session has ended or is not valid here. Please sign in again."
    } else {
        "This page shows your Passage profile. Sign in to see it."
    };
    let body = format!(
        "<div class=\"card\" id=\"sign-in-required\"><h1>Please sign in</h1>\
<p class=\"muted\">{lead}</p><p><a class=\"button\" id=\"sign-in\" href=\"/sign-in\">Sign in</a></p></div>"
    );
    let response = html(
        StatusCode::UNAUTHORIZED,
        page("Please sign in", Nav::SignedOut, &body),
    );
    let mut response = if expired {
        with_cleared_cookie(response)
    } else {
        response
    };
    if let Some(challenge) = answer.challenge
        && let Ok(value) = HeaderValue::from_str(&challenge.to_string())
    {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// A management API failure, shown without any secret (the error carries none).
fn upstream_error(what: &str, error: &passage_core::management::ManagementError) -> Response {
    tracing::error!(%error, "{what} failed");
    let body = format!(
        "<div class=\"card\"><h1>Passage did not answer</h1><p class=\"muted\">{what} failed: {}</p>\
<p><a class=\"button\" href=\"\">Try again</a></p></div>",
        escape(&error.to_string())
    );
    html(
        StatusCode::BAD_GATEWAY,
        page("Passage error", Nav::SignedIn, &body),
    )
}

/// A user that the token names but the management API no longer knows: signed out.
fn user_gone(passage: &Passage) -> Response {
    refused(&PassageRejection(passage.refuse(AuthError::InvalidToken(
        InvalidTokenReason::MissingSubject,
    ))))
}

async fn home(
    State(state): State<Shared>,
    user: Result<PassageUser, PassageRejection>,
    headers: HeaderMap,
) -> Response {
    let signed_in = user.is_ok();
    let mut body = String::new();
    // Notices first, where they are seen.
    let expected_host = state.origin.trim_start_matches("http://");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or(expected_host);
    if host != expected_host {
        let _ = write!(
            body,
            "<div class=\"notice\">Open this app at <a href=\"{origin}\">{origin}</a>: the sign-in \
cookie is set for that host name.</div>",
            origin = escape(&state.origin)
        );
    }
    let signed_out = just_signed_out(&headers) && !signed_in;
    if signed_out {
        body.push_str(
            "<div class=\"notice\" id=\"signed-out\">You are signed out. Your sessions were ended \
and the sign-in cookie deleted.</div>",
        );
    }
    body.push_str(
        "<div class=\"card\"><h1>Passwordless sign-in, guarded in Rust</h1>\
<p>This app is a few axum handlers. Each protected page takes \
<code>passage_axum::PassageUser</code>, whose extractor verifies the \
<code>psg_auth_token</code> cookie against Passage's signing keys, then loads the user with the \
management client.</p>",
    );
    if signed_in {
        body.push_str(
            "<p>You are signed in.</p><p><a class=\"button\" id=\"profile-link\" \
href=\"/profile\">View your profile</a></p>",
        );
    } else {
        body.push_str("<p><a class=\"button\" id=\"sign-in\" href=\"/sign-in\">Sign in</a></p>");
    }
    body.push_str("</div>");
    if let Some(emulator) = &state.emulator {
        let _ = write!(
            body,
            "<div class=\"card\"><h2>Running against the local emulator</h2>\
<p class=\"muted\">No Passage account needed: sign-in goes through the emulator's login page at \
<code>{login}</code>, with a passkey (your browser's, or a security key) or a magic link it shows \
on screen instead of emailing it. Set <code>PASSAGE_APP_ID</code>, <code>PASSAGE_API_KEY</code> \
and <code>PASSAGE_AUTH_ORIGIN</code> to use another Passage-compatible server.</p></div>",
            login = escape(&emulator.login_url)
        );
    }
    let nav = if signed_in {
        Nav::SignedIn
    } else {
        Nav::SignedOut
    };
    let mut response = html(StatusCode::OK, page("Home", nav, &body));
    if just_signed_out(&headers) {
        response.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static(CLEAR_SIGNED_OUT_COOKIE),
        );
    }
    response
}

async fn sign_in(State(state): State<Shared>) -> Response {
    let SignIn(url) = &state.sign_in;
    Redirect::to(url).into_response()
}

fn status_badge(status: &UserStatus) -> String {
    let class = if *status == UserStatus::Active {
        "badge"
    } else {
        "badge off"
    };
    format!("<span class=\"{class}\">{}</span>", escape(status.as_str()))
}

fn profile_page(user: &User) -> String {
    let row = |out: &mut String, id: &str, name: &str, value: &str| {
        let _ = write!(out, "<dt>{name}</dt><dd id=\"{id}\">{value}</dd>");
    };
    let mut rows = String::new();
    let email = if user.email.is_empty() {
        "(none)"
    } else {
        user.email.as_str()
    };
    let verified = if user.email_verified {
        " <span class=\"badge\">verified</span>"
    } else {
        ""
    };
    row(
        &mut rows,
        "email",
        "Email",
        &format!("{}{verified}", escape(email)),
    );
    if !user.phone.is_empty() {
        row(&mut rows, "phone", "Phone", &escape(&user.phone));
    }
    row(
        &mut rows,
        "user-id",
        "User ID",
        &format!("<code>{}</code>", escape(&user.id)),
    );
    row(&mut rows, "status", "Status", &status_badge(&user.status));
    row(
        &mut rows,
        "created-at",
        "Created",
        &escape(&datetime(user.created_at)),
    );
    row(
        &mut rows,
        "login-count",
        "Sign-ins",
        &user.login_count.to_string(),
    );
    row(
        &mut rows,
        "last-login",
        "Last sign-in",
        &escape(&datetime(user.last_login_at)),
    );
    row(
        &mut rows,
        "passkeys",
        "Passkeys",
        &user.webauthn_devices.len().to_string(),
    );
    format!(
        "<div class=\"card\"><h1>Hello, {name}</h1>\
<p class=\"muted\">Your token was verified by the server; these details come from Passage's \
management API.</p></div><div class=\"card\"><h2>Profile</h2><dl>{rows}</dl></div>\
<div class=\"card actions\"><a class=\"button\" href=\"/devices\">Your devices</a>\
<form method=\"post\" action=\"/sign-out\"><button class=\"secondary\" id=\"sign-out\" \
type=\"submit\">Sign out</button></form></div>",
        name = escape(if user.email.is_empty() {
            &user.id
        } else {
            &user.email
        })
    )
}

async fn profile(user: Result<PassageUser, PassageRejection>) -> Result<Response, SignInRequired> {
    let user = user?;
    Ok(match user.fetch().await {
        Ok(user) => html(
            StatusCode::OK,
            page("Profile", Nav::SignedIn, &profile_page(&user)),
        ),
        Err(error) if error.is_not_found() => user_gone(user.passage()),
        Err(error) => upstream_error("Loading your profile", &error),
    })
}

/// Whether `device` made the user's latest sign-in (the emulator, like Passage, stamps both
/// with the same time).
fn signed_in_with(device: &Device, user: &User) -> bool {
    device.last_login_at.unix_timestamp() > 0 && device.last_login_at == user.last_login_at
}

fn devices_page(user: &User, removed: bool) -> String {
    let devices = &user.webauthn_devices;
    let mut body = String::new();
    if removed {
        body.push_str(
            "<div class=\"notice\" id=\"device-removed\">The passkey was removed: it can no \
longer sign you in.</div>",
        );
    }
    body.push_str("<div class=\"card\"><h1>Your passkeys</h1>");
    if devices.is_empty() {
        body.push_str(
            "<p class=\"muted\" id=\"no-devices\">No passkeys yet. Sign out, and sign in again with \
your email: the login page offers to create one.</p>",
        );
    } else {
        body.push_str(
            "<table id=\"devices\"><thead><tr><th>Name</th><th>Added</th><th>Last used</th>\
<th>Uses</th><th></th></tr></thead><tbody>",
        );
        for device in devices {
            let current = if signed_in_with(device, user) {
                " <span class=\"badge\" data-current=\"true\">signed you in</span>"
            } else {
                ""
            };
            let icon = device
                .icons
                .light
                .as_deref()
                .filter(|icon| icon.starts_with("data:image/"))
                .map(|icon| format!("<img class=\"icon\" alt=\"\" src=\"{}\"> ", escape(icon)))
                .unwrap_or_default();
            let _ = write!(
                body,
                "<tr data-device-id=\"{id}\" data-cred-id=\"{cred}\"><td>{icon}{name}{current}</td>\
<td>{added}</td><td>{used}</td><td class=\"uses\">{uses}</td><td><form method=\"post\" \
action=\"/devices/{id}/remove\"><button class=\"secondary small\" type=\"submit\">Remove</button>\
</form></td></tr>",
                id = escape(&device.id),
                cred = escape(&device.cred_id),
                name = escape(&device.friendly_name),
                added = escape(&datetime(device.created_at)),
                used = escape(&datetime(device.last_login_at)),
                uses = device.usage_count,
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</div>");
    body
}

async fn devices(
    State(state): State<Shared>,
    RawQuery(query): RawQuery,
    user: Result<PassageUser, PassageRejection>,
) -> Result<Response, SignInRequired> {
    let user = user?;
    let removed = query.as_deref() == Some("removed=1");
    Ok(match state.passage.user().get(user.user_id()).await {
        Ok(found) => {
            let body = devices_page(&found, removed);
            html(StatusCode::OK, page("Devices", Nav::SignedIn, &body))
        }
        Err(error) if error.is_not_found() => user_gone(user.passage()),
        Err(error) => upstream_error("Listing your devices", &error),
    })
}

/// Removes one of the user's passkeys (`revoke_device`): it can no longer sign in.
async fn remove_device(
    State(state): State<Shared>,
    Path(device_id): Path<String>,
    headers: HeaderMap,
    user: Result<PassageUser, PassageRejection>,
) -> Result<Response, SignInRequired> {
    let user = user?;
    if !same_origin(&headers) {
        return Ok(forbidden());
    }
    Ok(
        match state
            .passage
            .user()
            .revoke_device(user.user_id(), &device_id)
            .await
        {
            Ok(()) => {
                tracing::info!(user = %user.user_id(), device = %device_id, "passkey removed");
                Redirect::to("/devices?removed=1").into_response()
            }
            Err(error) if error.is_not_found() => {
                let body = "<div class=\"card\"><h1>No such passkey</h1><p class=\"muted\">It \
was removed already, or is not yours.</p><p><a class=\"button\" href=\"/devices\">Back to \
passkeys</a></p></div>";
                html(StatusCode::NOT_FOUND, page("Devices", Nav::SignedIn, body))
            }
            Err(error) => upstream_error("Removing the passkey", &error),
        },
    )
}

/// Revokes the user's refresh tokens (if the request is signed in), deletes the cookie and goes
/// home. Signing out always clears the cookie, even when Passage cannot be reached.
async fn sign_out(headers: HeaderMap, user: Result<PassageUser, PassageRejection>) -> Response {
    if !same_origin(&headers) {
        return forbidden();
    }
    if let Ok(user) = user {
        let user_id = user.user_id();
        match user.passage().user().revoke_refresh_tokens(user_id).await {
            Ok(()) => tracing::info!(user = %user_id, "signed out; refresh tokens revoked"),
            Err(error) => {
                tracing::warn!(user = %user_id, %error, "could not revoke refresh tokens")
            }
        }
    }
    let mut response = with_cleared_cookie(Redirect::to("/").into_response());
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(SIGNED_OUT_COOKIE),
    );
    response
}

async fn not_found() -> Response {
    let body = "<div class=\"card\"><h1>Page not found</h1><p><a class=\"button\" href=\"/\">Home</a></p></div>";
    html(
        StatusCode::NOT_FOUND,
        page("Not found", Nav::SignedOut, body),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_check() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("localhost:8080"));
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:8080"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&headers));
    }
}
