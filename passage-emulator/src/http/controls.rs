//! Emulator-only controls under `/emulator/v1/apps/{app_id}` (no API key: a loopback dev tool;
//! the guard in front refuses other sites' pages).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{AppId, JsonBody, group};
use super::wire::{
    DeviceBody, DeviceEnvelope, DeviceInfo, Empty, EventBody, EventEnvelope, EventInfo, FaultBody,
    FaultsAnswer, InboxAnswer, RotateAnswer, RotateBody, StatsAnswer, TokenAnswer, TokenBody,
};
use crate::context::Context;
use crate::faults::Fault;
use crate::ops::events::NewEvent;
use crate::ops::{OpError, devices, events, keys, links, tokens, users, validate};
use crate::store::records::{DeviceKind, EventAction, EventStatus, SocialLoginType};

type Ctx = State<Arc<Context>>;
type ApiResult<T> = Result<T, ApiError>;

pub(crate) fn routes(ctx: &Arc<Context>) -> Router<Arc<Context>> {
    group::<AppId>(
        ctx,
        vec![
            ("/tokens", post(mint)),
            ("/keys/rotate", post(rotate)),
            ("/users/{user_id}/devices", post(add_device)),
            ("/users/{user_id}/events", post(add_event)),
            ("/reset", post(reset)),
            ("/inbox", get(inbox)),
            ("/stats", get(stats)),
            (
                "/faults",
                get(faults_get).post(faults_post).delete(faults_delete),
            ),
            ("/magic-links/{link_id}/expire", post(expire_link)),
        ],
    )
}

#[derive(Deserialize)]
struct UserPath {
    user_id: String,
}

#[derive(Deserialize)]
struct LinkPath {
    link_id: String,
}

async fn mint(
    State(ctx): Ctx,
    JsonBody(body): JsonBody<TokenBody>,
) -> ApiResult<Json<TokenAnswer>> {
    let user_id = body.user_id.unwrap_or_default();
    let minted = tokens::mint(
        &ctx.store,
        &ctx.origin,
        &user_id,
        body.ttl_seconds,
        body.claims.as_ref(),
    )?;
    // Only a token whose user had to be created waits for a save.
    if minted.created_user {
        ctx.store.flush().await?;
    }
    Ok(Json(TokenAnswer {
        auth_token: minted.token,
    }))
}

async fn rotate(
    State(ctx): Ctx,
    JsonBody(body): JsonBody<RotateBody>,
) -> ApiResult<Json<RotateAnswer>> {
    let store = Arc::clone(&ctx.store);
    let rotated = tokio::task::spawn_blocking(move || keys::rotate(&store, body.grace_seconds))
        .await
        .map_err(|_| ApiError::internal("key rotation failed"))??;
    ctx.store.flush().await?;
    Ok(Json(RotateAnswer {
        kid: rotated.kid,
        previous_kid: rotated.previous_kid,
    }))
}

/// Parses one of the documented values of a field, or says which they are.
fn one_of<T: Copy>(
    field: &str,
    given: Option<&str>,
    default: T,
    values: &[(&str, T)],
    errors: &mut Vec<String>,
) -> T {
    let Some(given) = given else {
        return default;
    };
    if let Some((_, v)) = values.iter().find(|(name, _)| *name == given) {
        return *v;
    }
    let names: Vec<&str> = values.iter().map(|(name, _)| *name).collect();
    errors.push(format!("{field}: must be one of {}", names.join(", ")));
    default
}

async fn add_device(
    State(ctx): Ctx,
    Path(p): Path<UserPath>,
    JsonBody(body): JsonBody<DeviceBody>,
) -> ApiResult<(StatusCode, Json<DeviceEnvelope>)> {
    let mut errors = Vec::new();
    let kind = one_of(
        "type",
        body.kind.as_deref(),
        DeviceKind::Passkey,
        &[
            ("passkey", DeviceKind::Passkey),
            ("security_key", DeviceKind::SecurityKey),
            ("platform", DeviceKind::Platform),
        ],
        &mut errors,
    );
    validate::finish(&errors)?;
    let device = devices::add(&ctx.store, &p.user_id, kind, body.friendly_name)?;
    ctx.store.flush().await?;
    Ok((
        StatusCode::CREATED,
        Json(DeviceEnvelope {
            device: DeviceInfo::from(&device),
        }),
    ))
}

async fn add_event(
    State(ctx): Ctx,
    Path(p): Path<UserPath>,
    JsonBody(b): JsonBody<EventBody>,
) -> ApiResult<(StatusCode, Json<EventEnvelope>)> {
    let mut errors = Vec::new();
    let action = one_of(
        "action",
        b.action.as_deref(),
        EventAction::Login,
        &[
            ("register", EventAction::Register),
            ("login", EventAction::Login),
            ("other", EventAction::Other),
        ],
        &mut errors,
    );
    let status = one_of(
        "status",
        b.status.as_deref(),
        EventStatus::Complete,
        &[
            ("complete", EventStatus::Complete),
            ("incomplete", EventStatus::Incomplete),
        ],
        &mut errors,
    );
    let social = b.social_login_type.as_deref().map(|given| {
        one_of(
            "social_login_type",
            Some(given),
            SocialLoginType::Apple,
            &[
                ("apple", SocialLoginType::Apple),
                ("github", SocialLoginType::Github),
                ("google", SocialLoginType::Google),
            ],
            &mut errors,
        )
    });
    validate::finish(&errors)?;
    let new = NewEvent {
        kind: b.kind.unwrap_or_else(|| "passkey_login".into()),
        action,
        status,
        ip_addr: b.ip_addr.unwrap_or_else(|| "127.0.0.1".into()),
        user_agent: b.user_agent.unwrap_or_else(|| "passage-emulator".into()),
        social_login_type: social,
    };
    let event = events::add(&ctx.store, &p.user_id, new, ctx.limits.recent_events)?;
    ctx.store.flush().await?;
    Ok((
        StatusCode::CREATED,
        Json(EventEnvelope {
            event: EventInfo::from(&event),
        }),
    ))
}

/// A body that must be empty or `{}` (JSON, like every control's).
#[derive(Deserialize)]
struct NoFields {}

async fn reset(State(ctx): Ctx, _: JsonBody<NoFields>) -> ApiResult<Json<Empty>> {
    users::reset(&ctx.store);
    ctx.store.flush().await?;
    Ok(Json(Empty {}))
}

async fn inbox(State(ctx): Ctx) -> Json<InboxAnswer> {
    Json(InboxAnswer {
        messages: links::inbox(&ctx.store),
    })
}

async fn stats(State(ctx): Ctx) -> Json<StatsAnswer> {
    Json(StatsAnswer {
        jwks_requests: ctx.counters.jwks_requests.load(Ordering::Relaxed),
        api_requests: ctx.counters.api_requests.load(Ordering::Relaxed),
    })
}

async fn faults_get(State(ctx): Ctx) -> Json<FaultsAnswer> {
    Json(ctx.faults.remaining().into())
}

async fn faults_post(
    State(ctx): Ctx,
    JsonBody(body): JsonBody<FaultBody>,
) -> ApiResult<Json<FaultsAnswer>> {
    if body.status.is_some_and(|s| !(400..=599).contains(&s)) {
        return Err(OpError::invalid("status: must be an error status (400 to 599).").into());
    }
    let fault = Fault::from(body);
    if let Some(problem) = fault.problem() {
        return Err(OpError::invalid(problem).into());
    }
    ctx.faults.arm(fault);
    Ok(Json(ctx.faults.remaining().into()))
}

async fn faults_delete(State(ctx): Ctx) -> Json<FaultsAnswer> {
    ctx.faults.clear();
    Json(ctx.faults.remaining().into())
}

async fn expire_link(
    State(ctx): Ctx,
    Path(p): Path<LinkPath>,
    _: JsonBody<NoFields>,
) -> ApiResult<Json<Empty>> {
    links::expire(&ctx.store, &p.link_id)?;
    ctx.store.flush().await?;
    Ok(Json(Empty {}))
}
