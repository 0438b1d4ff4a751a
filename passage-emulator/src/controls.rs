//! Emulator-only controls under `/emulator/v1/apps/{app_id}` (no API key: a loopback dev tool).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::api::{check_app, parse_json, route};
use crate::error::ApiError;
use crate::faults::FaultSpec;
use crate::keys::SigningKey;
use crate::models::{Device, Event, now, random_id, random_string};
use crate::state::Shared;

type AppState = Arc<Shared>;
type ApiResult = Result<Response, ApiError>;

pub(crate) fn routes(router: Router<AppState>) -> Router<AppState> {
    let base = "/emulator/v1/apps/{app_id}";
    let r = route(router, &format!("{base}/tokens"), post(tokens));
    let r = route(r, &format!("{base}/keys/rotate"), post(rotate));
    let r = route(
        r,
        &format!("{base}/users/{{user_id}}/devices"),
        post(seed_device),
    );
    let r = route(
        r,
        &format!("{base}/users/{{user_id}}/events"),
        post(seed_event),
    );
    let r = route(r, &format!("{base}/reset"), post(reset));
    let r = route(r, &format!("{base}/inbox"), get(inbox));
    let r = route(r, &format!("{base}/stats"), get(stats));
    let r = route(
        r,
        &format!("{base}/faults"),
        get(faults_get).post(faults_post).delete(faults_delete),
    );
    route(
        r,
        &format!("{base}/magic-links/{{link_id}}/expire"),
        post(expire_link),
    )
}

/// The largest token lifetime (either way) the controls accept: ten years.
const MAX_TOKEN_TTL_SECONDS: i64 = 10 * 365 * 24 * 3600;

/// Mints a token for `user_id`, creating the user (with that ID) if missing.
pub(crate) fn mint_for(
    shared: &Shared,
    user_id: &str,
    ttl: Option<i64>,
    claims: Option<&Map<String, Value>>,
) -> Result<String, ApiError> {
    if user_id.trim().is_empty() {
        return Err(ApiError::bad_request("user_id: cannot be blank."));
    }
    if ttl.is_some_and(|ttl| ttl.abs() > MAX_TOKEN_TTL_SECONDS) {
        return Err(ApiError::bad_request(
            "ttl_seconds: must be between -315360000 and 315360000.",
        ));
    }
    let created = shared.read(|s| s.user(user_id).is_none());
    if created {
        shared.mutate(|s| {
            if s.user(user_id).is_none() {
                s.insert_user(
                    Some(user_id.to_string()),
                    String::new(),
                    String::new(),
                    None,
                )?;
            }
            Ok(())
        })?;
    }
    Ok(shared.read(|s| s.mint(&shared.origin, user_id, ttl, claims))?)
}

/// Rotates the signing key; the previous one stays published for `grace_seconds`.
/// Returns `(new kid, previous kid)`.
pub(crate) fn rotate_key(
    shared: &Shared,
    grace_seconds: Option<i64>,
) -> Result<(String, String), ApiError> {
    let key = SigningKey::generate()?;
    shared.mutate(|s| {
        let t = time::OffsetDateTime::now_utc().unix_timestamp();
        let grace = grace_seconds.unwrap_or(s.app.session_length).max(0);
        s.keys.retain(|k| k.retire_at.is_none_or(|r| r > t));
        let previous = s.keys.last().map(|k| k.kid.clone()).unwrap_or_default();
        for k in &mut s.keys {
            if k.retire_at.is_none() {
                k.retire_at = Some(t.saturating_add(grace));
            }
        }
        if grace == 0 {
            s.keys.clear();
        }
        let kid = key.kid.clone();
        s.keys.push(key);
        Ok((kid, previous))
    })
}

#[derive(Deserialize)]
struct TokenBody {
    user_id: Option<String>,
    ttl_seconds: Option<i64>,
    claims: Option<Map<String, Value>>,
}

async fn tokens(
    State(shared): State<AppState>,
    Path(app_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    check_app(&shared, &app_id)?;
    let body: TokenBody = parse_json(&body)?;
    let user_id = body.user_id.unwrap_or_default();
    let token = mint_for(&shared, &user_id, body.ttl_seconds, body.claims.as_ref())?;
    Ok(Json(json!({ "auth_token": token })).into_response())
}

#[derive(Deserialize)]
struct RotateBody {
    grace_seconds: Option<i64>,
}

async fn rotate(
    State(shared): State<AppState>,
    Path(app_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    check_app(&shared, &app_id)?;
    let body: RotateBody = parse_json(&body)?;
    let shared2 = Arc::clone(&shared);
    let (kid, previous) =
        tokio::task::spawn_blocking(move || rotate_key(&shared2, body.grace_seconds))
            .await
            .map_err(|_| ApiError::internal("key rotation failed"))??;
    Ok(Json(json!({ "kid": kid, "previous_kid": previous })).into_response())
}

#[derive(Deserialize)]
struct DeviceBody {
    friendly_name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

async fn seed_device(
    State(shared): State<AppState>,
    Path((app_id, user_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    check_app(&shared, &app_id)?;
    let body: DeviceBody = parse_json(&body)?;
    let kind = body.kind.unwrap_or_else(|| "passkey".into());
    if !["passkey", "security_key", "platform"].contains(&kind.as_str()) {
        return Err(ApiError::bad_request(
            "type: must be one of passkey, security_key, platform.",
        ));
    }
    let device = shared.mutate(|s| {
        let u = s.user_mut(&user_id).ok_or_else(ApiError::user_not_found)?;
        let t = now();
        let device = Device {
            id: random_id(),
            cred_id: random_string(43),
            friendly_name: body
                .friendly_name
                .unwrap_or_else(|| format!("Emulated {kind}")),
            kind,
            created_at: t,
            updated_at: t,
            last_login_at: None,
            usage_count: 0,
            icon_light: None,
            icon_dark: None,
        };
        u.devices.push(device.clone());
        u.updated_at = t;
        Ok(device.json())
    })?;
    Ok((StatusCode::CREATED, Json(json!({ "device": device }))).into_response())
}

#[derive(Deserialize)]
struct EventBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    action: Option<String>,
    status: Option<String>,
    ip_addr: Option<String>,
    user_agent: Option<String>,
    social_login_type: Option<String>,
}

async fn seed_event(
    State(shared): State<AppState>,
    Path((app_id, user_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    check_app(&shared, &app_id)?;
    let b: EventBody = parse_json(&body)?;
    let action = b.action.unwrap_or_else(|| "login".into());
    let status = b.status.unwrap_or_else(|| "complete".into());
    let mut errors = Vec::new();
    if !["register", "login", "other"].contains(&action.as_str()) {
        errors.push("action: must be one of register, login, other".to_string());
    }
    if !["complete", "incomplete"].contains(&status.as_str()) {
        errors.push("status: must be one of complete, incomplete".to_string());
    }
    if let Some(s) = &b.social_login_type
        && !["apple", "github", "google"].contains(&s.as_str())
    {
        errors.push("social_login_type: must be one of apple, github, google".to_string());
    }
    if !errors.is_empty() {
        return Err(ApiError::bad_request(crate::api::join_errors(&errors)));
    }
    let event = shared.mutate(|s| {
        let u = s.user_mut(&user_id).ok_or_else(ApiError::user_not_found)?;
        let t = now();
        let ua = b.user_agent.unwrap_or_else(|| "passage-emulator".into());
        let event = Event {
            id: random_id(),
            kind: b.kind.unwrap_or_else(|| "passkey_login".into()),
            created_at: t,
            completed_at: (status == "complete").then_some(t),
            ip_addr: b.ip_addr.unwrap_or_else(|| "127.0.0.1".into()),
            status,
            user_agent_display: ua.clone(),
            user_agent: ua,
            action,
            social_login_type: b.social_login_type,
        };
        u.events.push(event.clone());
        Ok(event.json())
    })?;
    Ok((StatusCode::CREATED, Json(json!({ "event": event }))).into_response())
}

async fn reset(State(shared): State<AppState>, Path(app_id): Path<String>) -> ApiResult {
    check_app(&shared, &app_id)?;
    shared.mutate(|s| {
        s.users.clear();
        s.links.clear();
        s.inbox.clear();
        Ok(())
    })?;
    Ok(Json(json!({})).into_response())
}

async fn inbox(State(shared): State<AppState>, Path(app_id): Path<String>) -> ApiResult {
    check_app(&shared, &app_id)?;
    let messages = shared.read(|s| s.inbox.clone());
    Ok(Json(json!({ "messages": messages })).into_response())
}

async fn stats(State(shared): State<AppState>, Path(app_id): Path<String>) -> ApiResult {
    check_app(&shared, &app_id)?;
    Ok(Json(json!({
        "jwks_requests": shared.jwks_requests.load(Ordering::Relaxed),
        "api_requests": shared.api_requests.load(Ordering::Relaxed),
    }))
    .into_response())
}

fn faults_json(shared: &Shared) -> Value {
    let (jwks, api) = shared
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remaining();
    json!({ "remaining": { "jwks": jwks, "api": api } })
}

async fn faults_get(State(shared): State<AppState>, Path(app_id): Path<String>) -> ApiResult {
    check_app(&shared, &app_id)?;
    Ok(Json(faults_json(&shared)).into_response())
}

async fn faults_post(
    State(shared): State<AppState>,
    Path(app_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    check_app(&shared, &app_id)?;
    let spec: FaultSpec = parse_json(&body)?;
    if spec.status.is_some_and(|s| !(400..=599).contains(&s)) {
        return Err(ApiError::bad_request(
            "status: must be an error status (400 to 599).",
        ));
    }
    shared
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .arm(spec);
    Ok(Json(faults_json(&shared)).into_response())
}

async fn faults_delete(State(shared): State<AppState>, Path(app_id): Path<String>) -> ApiResult {
    check_app(&shared, &app_id)?;
    shared
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    Ok(Json(faults_json(&shared)).into_response())
}

async fn expire_link(
    State(shared): State<AppState>,
    Path((app_id, link_id)): Path<(String, String)>,
) -> ApiResult {
    check_app(&shared, &app_id)?;
    shared.mutate(|s| {
        let link = s
            .links
            .iter_mut()
            .find(|l| l.id == link_id)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "magic_link_not_found",
                    "Magic link not found",
                )
            })?;
        link.expires_at = now() - time::Duration::seconds(1);
        Ok(())
    })?;
    Ok(Json(json!({})).into_response())
}
