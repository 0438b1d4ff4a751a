//! The login page standing in for Passage's element, and magic link sign-in: the page's form
//! sends a magic link to the dev inbox; following it (or `PATCH .../magic-link/activate`)
//! exchanges it for an auth token.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};

use super::error::ApiError;
use super::extract::{AppId, JsonBody, group};
use super::wire::{ActivateBody, AuthResult, AuthResultEnvelope, LoginForm, LoginQuery};
use crate::context::Context;
use crate::ops::events::Client;
use crate::ops::validate;
use crate::ops::{links, passkeys};

type Ctx = State<Arc<Context>>;

/// `GET /` (the page, or a link's landing) and `POST /login` (the form).
pub(crate) fn page_routes() -> Router<Arc<Context>> {
    Router::new()
        .route("/", get(login_page))
        .route("/login", post(login_submit))
}

/// `PATCH /v1/apps/{app_id}/magic-link/activate`, open without the key as in Passage.
pub(crate) fn activate_route(ctx: &Arc<Context>) -> Router<Arc<Context>> {
    group::<AppId>(
        ctx,
        vec![("/magic-link/activate", patch(activate_magic_link))],
    )
}

/// Who is on the other end, for the user's recent events.
pub(crate) fn client(addr: SocketAddr, headers: &HeaderMap) -> Client {
    Client {
        ip: addr.ip().to_string(),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
    }
}

async fn activate_magic_link(
    State(ctx): Ctx,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ActivateBody>,
) -> Result<Json<AuthResultEnvelope>, ApiError> {
    let secret = validate::non_blank(body.magic_link.as_deref())
        .ok_or_else(|| ApiError::bad_request("magic_link: cannot be blank."))?;
    let done = links::exchange(&ctx, secret, &client(addr, &headers))?;
    ctx.store.flush().await?;
    Ok(Json(AuthResultEnvelope {
        auth_result: AuthResult {
            auth_token: done.token,
            redirect_url: done.redirect_url,
            refresh_token: "",
            refresh_token_expiration: 0,
        },
    }))
}

/// The `psg_auth_token` cookie of a sign-in on the login page (host-only, so the app on the
/// same host name reads it whatever its port).
pub(crate) fn auth_cookie(token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "psg_auth_token={token}; Path=/; HttpOnly; SameSite=Lax"
    ))
    .ok()
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
footer{margin-top:1.5rem;color:#999;font-size:.75rem;text-align:center}\
button.secondary,a.secondary{display:block;box-sizing:border-box;text-align:center;text-decoration:none;\
background:#fff;color:#121212;border:1px solid #121212}button.secondary:hover,a.secondary:hover{background:#eee}\
a.secondary{margin-top:1rem;width:100%;padding:.65rem;border-radius:5px;font-size:1rem}\
.or{display:flex;align-items:center;gap:.75rem;color:#888;font-size:.8rem;margin:1.25rem 0 .75rem}\
.or:before,.or:after{content:'';flex:1;border-top:1px solid #ddd}.note{font-size:.9rem;color:#444}\
[hidden]{display:none!important}";

/// Where passkeys work (the script offers them only there), or "" when they are off.
fn passkey_origin(ctx: &Context) -> &str {
    if ctx.relying_party.is_some() {
        &ctx.login_origin
    } else {
        ""
    }
}

/// A whole page. `login_origin` is where passkeys work ("" when off): the script offers them
/// only there.
fn page(login_origin: &str, app_name: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>Sign in to {name}</title><style>{STYLE}</style></head>\
<body data-passkey-origin=\"{origin}\"><main>\
<h1>Sign in to {name}</h1><p class=\"sub\">Passage emulator: no email or SMS is sent.</p>\
{body}<footer>passage-emulator</footer></main>\
<script src=\"/passkeys.js\"></script></body></html>",
        name = escape(app_name),
        origin = escape(login_origin),
    )
}

/// The sign-in form: a passkey first (no identifier needed), then identifier first. Without a
/// script, the form sends a magic link.
fn form(error: Option<&str>, value: &str) -> String {
    let (error, hidden) = match error {
        Some(e) => (escape(e), ""),
        None => (String::new(), " hidden"),
    };
    format!(
        "<div class=\"error\" id=\"error\" role=\"alert\"{hidden}>{error}</div>\
<div id=\"sign-in\"><button type=\"button\" id=\"passkey-sign-in\" hidden>Sign in with a passkey</button>\
<p class=\"note\" id=\"passkey-elsewhere\" hidden>Passkeys work on <a id=\"passkey-origin-link\" href=\"/\"></a> \
(a domain name is needed): open this page there to use one.</p>\
<div class=\"or\" id=\"or\" hidden>or</div>\
<form method=\"post\" action=\"/login\" id=\"identifier-form\">\
<label for=\"identifier\">Email or phone number</label>\
<input id=\"identifier\" name=\"identifier\" type=\"text\" autocomplete=\"username webauthn\" \
placeholder=\"you@example.com or +15555550123\" value=\"{}\" required autofocus>\
<button type=\"submit\" id=\"continue\">Send magic link</button>\
<button type=\"button\" class=\"secondary\" id=\"magic-link-fallback\" hidden>Send me a magic link instead</button>\
</form></div>\
<div id=\"new-user\" hidden><p class=\"note\">No account for <strong id=\"new-identifier\"></strong> \
yet. Create one with a passkey, or get a magic link.</p>\
<button type=\"button\" id=\"register-passkey\">Create a passkey</button>\
<button type=\"button\" class=\"secondary\" id=\"send-magic-link\">Send me a magic link instead</button></div>",
        escape(value)
    )
}

/// The offer, right after a magic-link sign-in, to add a passkey; "Not now" goes on.
fn offer(ticket: &str, target: &str) -> String {
    format!(
        "<div class=\"error\" id=\"error\" role=\"alert\" hidden></div>\
<div id=\"passkey-offer\" data-ticket=\"{ticket}\"><p class=\"note\">You are signed in. Create a \
passkey to sign in next time with your fingerprint, face or screen lock, without a magic link.</p>\
<button type=\"button\" id=\"create-passkey\">Create a passkey</button>\
<p class=\"note\" id=\"passkey-elsewhere\" hidden>Passkeys work on <a id=\"passkey-origin-link\" \
href=\"/\"></a>: sign in there to create one.</p>\
<a class=\"secondary\" id=\"skip-passkey\" href=\"{target}\">Not now</a></div>",
        ticket = escape(ticket),
        target = escape(target),
    )
}

fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

async fn login_page(
    State(ctx): Ctx,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Response {
    let app = ctx.store.read(|s| s.app.clone());
    let secret = query.ok().and_then(|Query(q)| q.psg_magic_link);
    let Some(secret) = secret else {
        return html(
            StatusCode::OK,
            page(passkey_origin(&ctx), &app.name, &form(None, "")),
        );
    };
    let exchanged = match links::exchange(&ctx, &secret, &client(addr, &headers)) {
        Ok(done) => ctx
            .store
            .flush()
            .await
            .map(|()| done)
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::from(e)),
    };
    match exchanged {
        Ok(done) => {
            let target = app.safe_redirect(&done.redirect_url);
            let cookie = auth_cookie(&done.token);
            // A browser that opened the link is offered a passkey first, if the user has none.
            let navigated = headers
                .get("sec-fetch-dest")
                .is_some_and(|dest| dest.as_bytes() == b"document");
            let ticket = navigated
                .then(|| passkeys::offer(&ctx, &done.user_id, &target, Instant::now()))
                .flatten();
            let mut resp = match ticket {
                Some(ticket) => {
                    let mut resp = html(
                        StatusCode::OK,
                        page(passkey_origin(&ctx), &app.name, &offer(&ticket, &target)),
                    );
                    resp.headers_mut()
                        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                    resp
                }
                None => {
                    let location = HeaderValue::from_str(&target)
                        .or_else(|_| HeaderValue::from_str(&app.redirect_url))
                        .unwrap_or_else(|_| HeaderValue::from_static("/"));
                    let mut resp = StatusCode::SEE_OTHER.into_response();
                    resp.headers_mut().insert(header::LOCATION, location);
                    resp
                }
            };
            if let Some(cookie) = cookie {
                resp.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            resp
        }
        Err(e) => error_page(
            passkey_origin(&ctx),
            &app.name,
            &e,
            &format!("Sign-in failed: {}.", e.message),
            "",
        ),
    }
}

/// An error as the page shows it: the form again, with the message, a 4xx status and any
/// `Retry-After`.
fn error_page(
    login_origin: &str,
    app_name: &str,
    e: &ApiError,
    message: &str,
    value: &str,
) -> Response {
    let status = if e.status.is_client_error() {
        e.status
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut resp = html(
        status,
        page(login_origin, app_name, &form(Some(message), value)),
    );
    if let Some(secs) = e.retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

async fn login_submit(
    State(ctx): Ctx,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    form_body: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let app_name = ctx.store.read(|s| s.app.name.clone());
    let identifier = match form_body {
        Ok(Form(f)) => f.identifier,
        Err(_) => {
            let e = ApiError::bad_request("Send the form as application/x-www-form-urlencoded.");
            return error_page(passkey_origin(&ctx), &app_name, &e, &e.message, "");
        }
    };
    let created =
        links::login(&ctx, addr.ip(), &identifier, Instant::now()).map_err(ApiError::from);
    let created = match created {
        Ok(link) => ctx
            .store
            .flush()
            .await
            .map(|()| link)
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match created {
        Ok(link) => {
            let body = format!(
                "<div class=\"inbox\"><p>A magic link was sent to <strong>{to}</strong> \
(dev inbox, expires in {ttl} minutes):</p><p><a id=\"magic-link\" href=\"{url}\">Sign in as {to}</a></p></div>",
                to = escape(&link.identifier),
                ttl = link.ttl_minutes,
                url = escape(&link.url),
            );
            html(StatusCode::OK, page(passkey_origin(&ctx), &app_name, &body))
        }
        Err(e) => error_page(
            passkey_origin(&ctx),
            &app_name,
            &e,
            &e.message,
            identifier.trim(),
        ),
    }
}
