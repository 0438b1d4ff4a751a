//! Magic links (creation and exchange) and the login page standing in for Passage's element.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde::Deserialize;
use serde_json::json;
use time::Duration;

use crate::api::{
    check_app, join_errors, parse_json, query_pairs, route, validate_email, validate_phone,
};
use crate::error::ApiError;
use crate::models::{Event, MagicLinkRecord, is_e164, now, random_id, random_string};
use crate::state::{AppConfig, Shared};

type AppState = Arc<Shared>;

/// Default magic link lifetime in minutes.
const DEFAULT_TTL_MINUTES: i64 = 15;
/// The longest magic link lifetime accepted: one year, in minutes.
const MAX_TTL_MINUTES: i64 = 525_600;
const LANGUAGES: &[&str] = &["de", "en", "es", "it", "pl", "pt", "zh"];

pub(crate) fn routes(router: Router<AppState>) -> Router<AppState> {
    let r = route(
        router,
        "/v1/apps/{app_id}/magic-link/activate",
        patch(activate_magic_link),
    );
    r.route("/", get(login_page))
        .route("/login", post(login_submit))
        .route("/login/", post(login_submit))
}

/// The `CreateMagicLinkRequest` body.
#[derive(Default, Deserialize)]
pub(crate) struct MagicLinkParams {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub user_id: Option<String>,
    pub channel: Option<String>,
    pub send: Option<bool>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub language: Option<String>,
    pub magic_link_path: Option<String>,
    pub redirect_url: Option<String>,
    pub ttl: Option<i64>,
}

fn non_blank(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

/// Creates a magic link (and the user, if missing); `send` puts it in the dev inbox.
pub(crate) fn create_magic_link(
    shared: &Shared,
    p: MagicLinkParams,
) -> Result<MagicLinkRecord, ApiError> {
    let mut errors = Vec::new();
    let channel = match non_blank(p.channel.as_deref()) {
        None => None,
        Some(c @ ("email" | "phone")) => Some(c.to_string()),
        Some(_) => {
            errors.push("channel: must be a valid value".to_string());
            None
        }
    };
    let send = p.send.unwrap_or(false);
    if send && channel.is_none() && errors.is_empty() {
        errors.push("channel: cannot be blank".into());
    }
    let kind = match non_blank(p.kind.as_deref()) {
        None => "login".to_string(),
        Some(k @ ("login" | "verify_identifier")) => k.to_string(),
        Some(_) => {
            errors.push("type: must be a valid value".into());
            String::new()
        }
    };
    let language = non_blank(p.language.as_deref()).unwrap_or("").to_string();
    if !language.is_empty() && !LANGUAGES.contains(&language.as_str()) {
        errors.push("language: must be a valid value".into());
    }
    let path = non_blank(p.magic_link_path.as_deref()).map(str::to_string);
    if let Some(path) = &path {
        let relative = path.starts_with('/')
            && !path.starts_with("//")
            && !path.contains('\\')
            && !path.chars().any(char::is_control);
        if !relative {
            errors.push("magic_link_path: must be a relative url".into());
        }
    }
    let ttl = p.ttl.unwrap_or(DEFAULT_TTL_MINUTES);
    if ttl < 1 {
        errors.push("ttl: must be no less than 1".into());
    } else if ttl > MAX_TTL_MINUTES {
        errors.push(format!("ttl: must be no greater than {MAX_TTL_MINUTES}"));
    }
    let email = validate_email(p.email.as_deref(), &mut errors);
    let phone = validate_phone(p.phone.as_deref(), &mut errors);
    let user_id = non_blank(p.user_id.as_deref()).map(str::to_string);
    if email.is_empty() && phone.is_empty() && user_id.is_none() && errors.is_empty() {
        errors.push("email: cannot be blank".into());
        errors.push("phone: cannot be blank".into());
        errors.push("user_id: cannot be blank".into());
    }
    if !errors.is_empty() {
        return Err(ApiError::bad_request(join_errors(&errors)));
    }
    let redirect_url = non_blank(p.redirect_url.as_deref()).map(str::to_string);

    shared.mutate(|s| {
        // Resolve (or create) the user and the identifier the link goes to.
        let (uid, channel, identifier) = if let Some(uid) = &user_id {
            let u = s.user(uid).ok_or_else(ApiError::user_not_found)?;
            let channel = channel
                .clone()
                .unwrap_or_else(|| if u.email.is_empty() { "phone" } else { "email" }.into());
            let identifier = if channel == "email" {
                u.email.clone()
            } else {
                u.phone.clone()
            };
            if identifier.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "{channel}: the user has no {channel} identifier."
                )));
            }
            (uid.clone(), channel, identifier)
        } else {
            let channel = channel
                .clone()
                .unwrap_or_else(|| if email.is_empty() { "phone" } else { "email" }.into());
            let identifier = if channel == "email" {
                email.clone()
            } else {
                phone.clone()
            };
            if identifier.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "{channel}: cannot be blank."
                )));
            }
            let existing = if channel == "email" {
                s.user_by_email(&identifier)
            } else {
                s.user_by_phone(&identifier)
            };
            let uid = match existing {
                Some(u) => u.id.clone(),
                None => s
                    .insert_user(None, email.clone(), phone.clone(), None)?
                    .id
                    .clone(),
            };
            (uid, channel, identifier)
        };
        let secret = random_string(32);
        let url = match &path {
            Some(path) => {
                // The secret goes in the query, before any fragment (which never reaches a server).
                let (path, fragment) = path
                    .split_once('#')
                    .map_or((path.as_str(), ""), |(p, f)| (p, f));
                let sep = if path.contains('?') { '&' } else { '?' };
                let fragment = if fragment.is_empty() {
                    String::new()
                } else {
                    format!("#{fragment}")
                };
                format!(
                    "{}{path}{sep}psg_magic_link={secret}{fragment}",
                    s.app.auth_origin.trim_end_matches('/')
                )
            }
            None => format!("{}/?psg_magic_link={secret}", shared.origin),
        };
        let created_at = now();
        let link = MagicLinkRecord {
            id: random_id(),
            secret,
            user_id: uid,
            identifier,
            channel,
            kind: kind.clone(),
            redirect_url: redirect_url
                .clone()
                .unwrap_or_else(|| s.app.redirect_url.clone()),
            url,
            ttl_minutes: ttl,
            language: language.clone(),
            created_at,
            expires_at: created_at + Duration::minutes(ttl),
            activated: false,
        };
        s.links.push(link.clone());
        if send {
            s.deliver(&link);
        }
        Ok(link)
    })
}

/// Client details recorded in the user's recent events.
pub(crate) struct Client {
    pub ip: String,
    pub user_agent: String,
}

impl Client {
    fn from_request(addr: SocketAddr, headers: &HeaderMap) -> Self {
        Self {
            ip: addr.ip().to_string(),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string(),
        }
    }
}

/// Exchanges a magic link secret (once, before expiry) for an auth token.
/// Returns the token and the link's redirect URL.
pub(crate) fn exchange(
    shared: &Shared,
    secret: &str,
    client: &Client,
) -> Result<(String, String), ApiError> {
    shared.mutate(|s| {
        let t = now();
        let idx = s
            .links
            .iter()
            .position(|l| {
                aws_lc_rs::constant_time::verify_slices_are_equal(
                    l.secret.as_bytes(),
                    secret.as_bytes(),
                )
                .is_ok()
            })
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "magic_link_not_found",
                    "Magic link not found",
                )
            })?;
        let link = s.links[idx].clone();
        if link.activated {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "magic_link_already_used",
                "Magic link has already been used",
            ));
        }
        if t >= link.expires_at {
            return Err(ApiError::new(
                StatusCode::GONE,
                "magic_link_expired",
                "Magic link has expired",
            ));
        }
        let user = s
            .user_mut(&link.user_id)
            .ok_or_else(ApiError::user_not_found)?;
        if user.status == "inactive" {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "user_not_active",
                "User is not active",
            ));
        }
        if link.channel == "email" && user.email == link.identifier {
            user.email_verified = true;
        }
        if link.channel == "phone" && user.phone == link.identifier {
            user.phone_verified = true;
        }
        user.status = "active".into();
        user.login_count = user.login_count.saturating_add(1);
        user.last_login_at = Some(t);
        user.updated_at = t;
        user.events.push(Event {
            id: random_id(),
            kind: "magic_link_login".into(),
            created_at: t,
            completed_at: Some(t),
            ip_addr: client.ip.clone(),
            status: "complete".into(),
            user_agent: client.user_agent.clone(),
            user_agent_display: display_agent(&client.user_agent),
            action: "login".into(),
            social_login_type: None,
        });
        s.links[idx].activated = true;
        let token = s.mint(&shared.origin, &link.user_id, None, None)?;
        Ok((token, link.redirect_url))
    })
}

fn display_agent(ua: &str) -> String {
    for name in ["Firefox", "Edg", "Chrome", "Safari", "curl", "reqwest"] {
        if ua.contains(name) {
            return if name == "Edg" {
                "Edge".into()
            } else {
                name.into()
            };
        }
    }
    if ua.is_empty() {
        "Unknown".into()
    } else {
        ua.chars().take(40).collect()
    }
}

#[derive(Deserialize)]
struct ActivateBody {
    magic_link: Option<String>,
}

async fn activate_magic_link(
    State(shared): State<AppState>,
    Path(app_id): Path<String>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_app(&shared, &app_id)?;
    let body: ActivateBody = parse_json(&body)?;
    let secret = non_blank(body.magic_link.as_deref())
        .ok_or_else(|| ApiError::bad_request("magic_link: cannot be blank."))?;
    let client = Client::from_request(addr, &headers);
    let (token, redirect_url) = exchange(&shared, secret, &client)?;
    Ok(Json(json!({
        "auth_result": {
            "auth_token": token,
            "redirect_url": redirect_url,
            "refresh_token": "",
            "refresh_token_expiration": 0,
        }
    }))
    .into_response())
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where to send the browser after a login: the link's URL if it is on the app's auth origin or
/// is the app's redirect URL, else the app's redirect URL (no open redirects).
pub(crate) fn safe_redirect(app: &AppConfig, target: &str) -> String {
    if target.chars().any(char::is_control) {
        return app.redirect_url.clone();
    }
    let origin = app.auth_origin.trim_end_matches('/');
    if target == app.redirect_url {
        return target.to_string();
    }
    if target.starts_with('/') && !target.starts_with("//") && !target.contains('\\') {
        return format!("{origin}{target}");
    }
    let same_origin = target == origin
        || target
            .strip_prefix(origin)
            .is_some_and(|rest| rest.starts_with(['/', '?', '#']));
    if same_origin && !target.contains('\\') {
        target.to_string()
    } else {
        app.redirect_url.clone()
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;\
background:#f4f5f7;color:#222;margin:0;display:flex;min-height:100vh;align-items:center;\
justify-content:center}main{background:#fff;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08);\
padding:2rem 2.25rem;width:100%;max-width:380px}h1{font-size:1.3rem;margin:0 0 .25rem}\
p.sub{color:#666;margin:0 0 1.5rem;font-size:.9rem}label{display:block;font-size:.85rem;\
margin-bottom:.35rem}input{width:100%;box-sizing:border-box;padding:.6rem .7rem;border:1px solid #ccc;\
border-radius:5px;font-size:1rem}button{margin-top:1rem;width:100%;padding:.65rem;border:0;\
border-radius:5px;background:#121212;color:#f3f3f3;font-size:1rem;cursor:pointer}\
button:hover{background:#4d4d4d}.error{background:#fdecea;color:#8a1c12;padding:.6rem .8rem;\
border-radius:5px;margin-bottom:1rem;font-size:.9rem}.inbox{background:#eef6ee;padding:.8rem;\
border-radius:5px;font-size:.9rem;word-break:break-all}.inbox a{color:#0b5d1e}\
footer{margin-top:1.5rem;color:#999;font-size:.75rem;text-align:center}";

fn page(app_name: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>Sign in to {name}</title><style>{STYLE}</style></head><body><main>\
<h1>Sign in to {name}</h1><p class=\"sub\">Passage emulator: no email or SMS is sent.</p>\
{body}<footer>passage-emulator</footer></main></body></html>",
        name = escape(app_name)
    )
}

fn form(error: Option<&str>, value: &str) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!("<div class=\"error\" id=\"error\">{}</div>", escape(e))
    });
    format!(
        "{error}<form method=\"post\" action=\"/login\">\
<label for=\"identifier\">Email or phone number</label>\
<input id=\"identifier\" name=\"identifier\" type=\"text\" autocomplete=\"username\" \
placeholder=\"you@example.com or +15555550123\" value=\"{}\" required autofocus>\
<button type=\"submit\">Send magic link</button></form>",
        escape(value)
    )
}

fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

async fn login_page(
    State(shared): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let app_name = shared.read(|s| s.app.name.clone());
    let pairs = query_pairs(raw.as_deref());
    let Some((_, secret)) = pairs.iter().find(|(k, _)| k == "psg_magic_link") else {
        return html(StatusCode::OK, page(&app_name, &form(None, "")));
    };
    let client = Client::from_request(addr, &headers);
    match exchange(&shared, secret, &client) {
        Ok((token, redirect)) => {
            let app = shared.read(|s| s.app.clone());
            let target = safe_redirect(&app, &redirect);
            let location = HeaderValue::from_str(&target)
                .or_else(|_| HeaderValue::from_str(&app.redirect_url))
                .unwrap_or_else(|_| HeaderValue::from_static("/"));
            let cookie = HeaderValue::from_str(&format!(
                "psg_auth_token={token}; Path=/; HttpOnly; SameSite=Lax"
            ));
            let mut resp = StatusCode::SEE_OTHER.into_response();
            resp.headers_mut().insert(header::LOCATION, location);
            if let Ok(cookie) = cookie {
                resp.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            resp
        }
        Err(e) => {
            let status = if e.status.is_client_error() {
                e.status
            } else {
                StatusCode::BAD_REQUEST
            };
            html(
                status,
                page(
                    &app_name,
                    &form(Some(&format!("Sign-in failed: {}.", e.message)), ""),
                ),
            )
        }
    }
}

async fn login_submit(State(shared): State<AppState>, body: Bytes) -> Response {
    let app_name = shared.read(|s| s.app.name.clone());
    let text = String::from_utf8_lossy(&body);
    let pairs = query_pairs(Some(&text));
    let identifier = pairs
        .iter()
        .find(|(k, _)| k == "identifier")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let is_phone = identifier.starts_with('+')
        || (!identifier.is_empty() && identifier.bytes().all(|b| b.is_ascii_digit()));
    let params = if identifier.is_empty() {
        Err("Enter an email address or a phone number.")
    } else if is_phone {
        if is_e164(&identifier) {
            Ok(MagicLinkParams {
                phone: Some(identifier.clone()),
                channel: Some("phone".into()),
                ..Default::default()
            })
        } else {
            Err("Enter the phone number in E.164 form, e.g. +15555550123.")
        }
    } else if crate::models::normalize_email(&identifier).is_some() {
        Ok(MagicLinkParams {
            email: Some(identifier.clone()),
            channel: Some("email".into()),
            ..Default::default()
        })
    } else {
        Err("Enter a valid email address.")
    };
    let params = match params {
        Ok(p) => MagicLinkParams {
            send: Some(true),
            ..p
        },
        Err(msg) => {
            return html(
                StatusCode::BAD_REQUEST,
                page(&app_name, &form(Some(msg), &identifier)),
            );
        }
    };
    match create_magic_link(&shared, params) {
        Ok(link) => {
            let body = format!(
                "<div class=\"inbox\"><p>A magic link was sent to <strong>{to}</strong> \
(dev inbox, expires in {ttl} minutes):</p><p><a id=\"magic-link\" href=\"{url}\">Sign in as {to}</a></p></div>",
                to = escape(&link.identifier),
                ttl = link.ttl_minutes,
                url = escape(&link.url),
            );
            html(StatusCode::OK, page(&app_name, &body))
        }
        Err(e) => {
            let status = if e.status.is_client_error() {
                e.status
            } else {
                StatusCode::BAD_REQUEST
            };
            html(
                status,
                page(&app_name, &form(Some(&e.message), &identifier)),
            )
        }
    }
}
