//! The login page's passkey endpoints (same origin as the page, JSON in and out) and its script.
//!
//! - `POST /passkeys/sign-in/start` `{identifier?}`: without an identifier, a discoverable
//!   ceremony; with one, that user's passkeys, or what to do instead (`register`, `magic_link`).
//! - `POST /passkeys/sign-in/finish` `{ceremony, credential}`: signs in (sets the
//!   `psg_auth_token` cookie) and says where to go.
//! - `POST /passkeys/register/start` `{identifier}` (a new user) or `{ticket}` (the offer after a
//!   magic-link sign-in), then `POST /passkeys/register/finish` `{ceremony, credential}`.
//! - `GET /passkeys.js`: the page's script (the pages allow scripts from their own origin only).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::error::ApiError;
use super::extract::JsonBody;
use super::login::{auth_cookie, client};
use super::wire::{
    CeremonyDone, CeremonyFinish, CeremonyStart, Next, RegisterStartBody, SignInStartBody,
};
use crate::context::Context;
use crate::ops::passkeys::{self, Finished, SignInStart};
use crate::ops::validate;

type Ctx = State<Arc<Context>>;

/// The page's script.
const SCRIPT: &str = include_str!("passkeys.js");

/// The passkey routes and the script.
pub(crate) fn routes() -> Router<Arc<Context>> {
    Router::new()
        .route("/passkeys.js", get(script))
        .route("/passkeys/sign-in/start", post(sign_in_start))
        .route("/passkeys/sign-in/finish", post(sign_in_finish))
        .route("/passkeys/register/start", post(register_start))
        .route("/passkeys/register/finish", post(register_finish))
}

async fn script() -> Response {
    let mut resp = SCRIPT.into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

async fn sign_in_start(
    State(ctx): Ctx,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<SignInStartBody>,
) -> Result<Response, ApiError> {
    let started =
        passkeys::start_sign_in(&ctx, addr.ip(), body.identifier.as_deref(), Instant::now())?;
    let answer = match started {
        SignInStart::Passkey { ceremony, options } => CeremonyStart {
            next: Next::Passkey,
            ceremony: Some(ceremony),
            options: Some(options),
        },
        SignInStart::Register => CeremonyStart {
            next: Next::Register,
            ceremony: None,
            options: None,
        },
        SignInStart::MagicLink => CeremonyStart {
            next: Next::MagicLink,
            ceremony: None,
            options: None,
        },
    };
    Ok(no_store(Json(answer).into_response()))
}

async fn sign_in_finish(
    State(ctx): Ctx,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CeremonyFinish<PublicKeyCredential>>,
) -> Result<Response, ApiError> {
    let done = passkeys::finish_sign_in(
        &ctx,
        &body.ceremony,
        &body.credential,
        &client(addr, &headers),
        Instant::now(),
    )?;
    ctx.store.flush().await?;
    Ok(finished(done))
}

async fn register_start(
    State(ctx): Ctx,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<RegisterStartBody>,
) -> Result<Response, ApiError> {
    let now = Instant::now();
    let started = match (
        validate::non_blank(body.ticket.as_deref()),
        body.identifier.as_deref(),
    ) {
        (Some(ticket), _) => passkeys::start_add(&ctx, addr.ip(), ticket, now)?,
        (None, Some(identifier)) => passkeys::start_sign_up(&ctx, addr.ip(), identifier, now)?,
        (None, None) => {
            return Err(ApiError::bad_request(
                "identifier: cannot be blank (or send the ticket of a passkey offer).",
            ));
        }
    };
    // The first change to the store (a user's handle) is saved before the answer.
    ctx.store.flush().await?;
    Ok(no_store(
        Json(CeremonyStart {
            next: Next::Passkey,
            ceremony: Some(started.ceremony),
            options: Some(started.options),
        })
        .into_response(),
    ))
}

async fn register_finish(
    State(ctx): Ctx,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CeremonyFinish<RegisterPublicKeyCredential>>,
) -> Result<Response, ApiError> {
    let done = passkeys::finish_registration(
        &ctx,
        &body.ceremony,
        &body.credential,
        &client(addr, &headers),
        Instant::now(),
    )?;
    ctx.store.flush().await?;
    Ok(finished(done))
}

/// A finished ceremony's answer: where to go, and the auth cookie if a token was minted.
fn finished(done: Finished) -> Response {
    let mut resp = Json(CeremonyDone {
        redirect_url: done.redirect_url,
    })
    .into_response();
    if let Some(cookie) = done.token.as_deref().and_then(auth_cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    no_store(resp)
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
