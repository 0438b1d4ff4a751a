//! The management API under `/v1/apps/{app_id}`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, patch, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::auth::{MagicLinkParams, create_magic_link};
use crate::error::ApiError;
use crate::filters;
use crate::models::{is_e164, normalize_email, now};
use crate::state::{Shared, State as Store};

type AppState = Arc<Shared>;
type ApiResult = Result<Response, ApiError>;

/// Registers `path` and `path/` (trailing slashes are tolerated everywhere).
pub(crate) fn route(
    router: Router<AppState>,
    path: &str,
    method_router: MethodRouter<AppState>,
) -> Router<AppState> {
    router
        .route(path, method_router.clone())
        .route(&format!("{path}/"), method_router)
}

pub(crate) fn routes(router: Router<AppState>) -> Router<AppState> {
    let r = route(router, "/v1/apps/{app_id}", get(get_app));
    let r = route(
        r,
        "/v1/apps/{app_id}/users",
        get(list_users).post(create_user),
    );
    let r = route(
        r,
        "/v1/apps/{app_id}/users/{user_id}",
        get(get_user).patch(update_user).delete(delete_user),
    );
    let r = route(
        r,
        "/v1/apps/{app_id}/users/{user_id}/activate",
        patch(activate),
    );
    let r = route(
        r,
        "/v1/apps/{app_id}/users/{user_id}/deactivate",
        patch(deactivate),
    );
    let r = route(
        r,
        "/v1/apps/{app_id}/users/{user_id}/devices",
        get(list_devices),
    );
    let r = route(
        r,
        "/v1/apps/{app_id}/users/{user_id}/devices/{device_id}",
        axum::routing::delete(revoke_device),
    );
    let r = route(
        r,
        "/v1/apps/{app_id}/users/{user_id}/tokens",
        axum::routing::delete(revoke_tokens),
    );
    route(r, "/v1/apps/{app_id}/magic-links", post(magic_link))
}

/// Joins validation messages Passage-style: `"a: x; b: y."`.
pub(crate) fn join_errors(errors: &[String]) -> String {
    let parts: Vec<&str> = errors.iter().map(|e| e.trim_end_matches('.')).collect();
    format!("{}.", parts.join("; "))
}

/// Parses a JSON body; an empty body counts as `{}`. Never panics on bad input.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let bytes: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    // Passage's bodies are JSON objects: an array or a scalar is refused even where serde would
    // read it as a struct's fields in order.
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| ApiError::bad_request("invalid request body: not valid JSON.".to_owned()))?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "invalid request body: expected a JSON object.".to_owned(),
        ));
    }
    T::deserialize(value).map_err(|e| {
        ApiError::bad_request(format!(
            "invalid request body: {}.",
            api_words(&e.to_string())
        ))
    })
}

/// A serde message in the API's words: field names stay, Rust type names go.
fn api_words(message: &str) -> String {
    let mut text = message.trim_end_matches('.').to_owned();
    for (rust, api) in [
        ("expected u8", "expected a non-negative integer"),
        ("expected u16", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected i32", "expected an integer"),
        ("expected i64", "expected an integer"),
        ("expected f64", "expected a number"),
        ("expected a map", "expected an object"),
        ("expected a sequence", "expected an array"),
    ] {
        text = text.replace(rust, api);
    }
    // "expected struct Foo" / "expected enum Foo" name our types: say what the API expects.
    for kind in ["struct", "enum"] {
        let marker = format!("expected {kind} ");
        if let Some(at) = text.find(&marker) {
            text.truncate(at);
            text.push_str(if kind == "struct" {
                "expected an object"
            } else {
                "expected one of the documented values"
            });
        }
    }
    text
}

pub(crate) fn check_app(shared: &Shared, app_id: &str) -> Result<(), ApiError> {
    if shared.read(|s| s.app.id == app_id) {
        Ok(())
    } else {
        Err(ApiError::app_not_found())
    }
}

/// Checks the app ID in the path, then `Authorization: Bearer <API key>` (constant time).
fn authorize(shared: &Shared, app_id: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    check_app(shared, app_id)?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or("");
    let ok = shared.read(|s| {
        !given.is_empty()
            && aws_lc_rs::constant_time::verify_slices_are_equal(
                given.as_bytes(),
                s.app.api_key.as_bytes(),
            )
            .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    out.push(b);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a query component.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn ok_json(status: StatusCode, value: Value) -> Response {
    (status, Json(value)).into_response()
}

/// `200` with an empty body (delete-style operations).
fn ok_empty() -> Response {
    StatusCode::OK.into_response()
}

pub(crate) fn app_info(shared: &Shared, s: &Store) -> Value {
    let app = &s.app;
    let rsa = s
        .current_key()
        .map(crate::keys::SigningKey::rsa_public_key_b64)
        .unwrap_or_default();
    json!({
        "additional_auth_origins": [],
        "allowed_callback_urls": [],
        "allowed_identifier": "both",
        "allowed_logout_urls": [],
        "application_login_uri": format!("{}/", shared.origin),
        "auth_fallback_method": "magic_link",
        "auth_fallback_method_ttl": 300,
        "auth_methods": {
            "passkeys": {"enabled": true},
            "otp": {"enabled": false, "ttl": 300, "ttl_display_unit": "m"},
            "magic_link": {"enabled": true, "ttl": 900, "ttl_display_unit": "m"},
        },
        "auth_origin": app.auth_origin,
        "auto_theme_enabled": false,
        "created_at": crate::models::fmt_time(app.created_at),
        "dark_logo_url": "",
        "default_language": "en",
        "element_customization": {},
        "element_customization_dark": {},
        "hosted": false,
        "hosted_subdomain": "",
        "hosted_theme": "auto",
        "id": app.id,
        "id_token_lifetime": app.session_length,
        "layouts": {"profile": [], "registration": []},
        "light_logo_url": "",
        "login_url": "/",
        "name": app.name,
        "passage_branding": false,
        "profile_management": true,
        "public_signup": true,
        "redirect_url": app.redirect_url,
        "refresh_absolute_lifetime": 0,
        "refresh_enabled": false,
        "refresh_inactivity_lifetime": 0,
        "require_email_verification": false,
        "require_identifier_verification": false,
        "required_identifier": "either",
        "role": "admin",
        "rsa_public_key": rsa,
        "session_timeout_length": app.session_length,
        "technologies": [],
        "type": "complete",
        "user_metadata_schema": [],
    })
}

async fn get_app(State(shared): State<AppState>, Path(app_id): Path<String>) -> ApiResult {
    check_app(&shared, &app_id)?;
    let app = shared.read(|s| app_info(&shared, s));
    Ok(ok_json(StatusCode::OK, json!({ "app": app })))
}

async fn list_users(
    State(shared): State<AppState>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    authorize(&shared, &app_id, &headers)?;
    let pairs = query_pairs(raw.as_deref());
    let q = filters::parse(&pairs, now().unix_timestamp()).map_err(ApiError::bad_request)?;
    let (total, users) = shared.read(|s| {
        let mut hits: Vec<_> = s.users.iter().filter(|u| q.matches(u)).collect();
        hits.sort_by(|a, b| q.compare(a, b));
        let total = hits.len() as i64;
        let start = usize::try_from((q.page - 1).saturating_mul(q.limit)).unwrap_or(usize::MAX);
        let items: Vec<Value> = hits
            .into_iter()
            .skip(start)
            .take(usize::try_from(q.limit).unwrap_or(0))
            .map(crate::models::User::list_item_json)
            .collect();
        (total, items)
    });
    let last = ((total + q.limit - 1) / q.limit).max(1);
    let href = |page: i64| {
        let mut h = format!(
            "/v1/apps/{}/users?page={page}&limit={}&created_before={}",
            percent_encode(&app_id),
            q.limit,
            q.created_before
        );
        for (k, v) in &q.echo {
            h.push_str(&format!("&{}={}", percent_encode(k), percent_encode(v)));
        }
        h
    };
    let next = if q.page < last {
        href(q.page + 1)
    } else {
        String::new()
    };
    let previous = if q.page > 1 {
        href((q.page - 1).min(last))
    } else {
        String::new()
    };
    Ok(ok_json(
        StatusCode::OK,
        json!({
            "_links": {
                "first": {"href": href(1)},
                "last": {"href": href(last)},
                "next": {"href": next},
                "previous": {"href": previous},
                "self": {"href": href(q.page)},
            },
            "created_before": q.created_before,
            "limit": q.limit,
            "page": q.page,
            "total_users": total,
            "users": users,
        }),
    ))
}

#[derive(Deserialize)]
struct UserBody {
    email: Option<String>,
    phone: Option<String>,
    #[serde(default)]
    user_metadata: Option<Value>,
}

fn metadata(v: Option<Value>) -> Result<Option<Option<Map<String, Value>>>, String> {
    match v {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::Object(m)) => Ok(Some(Some(m))),
        Some(_) => Err("user_metadata: must be an object".into()),
    }
}

/// Validates an optional email (`""` = absent), returning it lowercased.
pub(crate) fn validate_email(raw: Option<&str>, errors: &mut Vec<String>) -> String {
    match raw.map(str::trim).filter(|e| !e.is_empty()) {
        None => String::new(),
        Some(e) => normalize_email(e).unwrap_or_else(|| {
            errors.push("email: must be a valid email address".into());
            String::new()
        }),
    }
}

/// Validates an optional phone (`""` = absent) as E.164.
pub(crate) fn validate_phone(raw: Option<&str>, errors: &mut Vec<String>) -> String {
    match raw.map(str::trim).filter(|p| !p.is_empty()) {
        None => String::new(),
        Some(p) if is_e164(p) => p.to_string(),
        Some(_) => {
            errors.push("phone: must be a valid E.164 phone number".into());
            String::new()
        }
    }
}

async fn create_user(
    State(shared): State<AppState>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorize(&shared, &app_id, &headers)?;
    let body: UserBody = parse_json(&body)?;
    let mut errors = Vec::new();
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    if blank(&body.email) && blank(&body.phone) {
        errors.push("email: cannot be blank".into());
        errors.push("phone: cannot be blank".into());
    }
    let email = validate_email(body.email.as_deref(), &mut errors);
    let phone = validate_phone(body.phone.as_deref(), &mut errors);
    let meta = metadata(body.user_metadata).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if !errors.is_empty() {
        return Err(ApiError::bad_request(join_errors(&errors)));
    }
    let user = shared.mutate(|s| {
        let u = s.insert_user(None, email, phone, meta.flatten())?;
        Ok(u.info_json())
    })?;
    Ok(ok_json(StatusCode::CREATED, json!({ "user": user })))
}

async fn get_user(
    State(shared): State<AppState>,
    Path((app_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&shared, &app_id, &headers)?;
    let user = shared
        .read(|s| s.user(&user_id).map(crate::models::User::info_json))
        .ok_or_else(ApiError::user_not_found)?;
    Ok(ok_json(StatusCode::OK, json!({ "user": user })))
}

async fn update_user(
    State(shared): State<AppState>,
    Path((app_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorize(&shared, &app_id, &headers)?;
    if shared.read(|s| s.user(&user_id).is_none()) {
        return Err(ApiError::user_not_found());
    }
    let body: UserBody = parse_json(&body)?;
    let mut errors = Vec::new();
    let email = validate_email(body.email.as_deref(), &mut errors);
    let phone = validate_phone(body.phone.as_deref(), &mut errors);
    let meta = metadata(body.user_metadata).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if !errors.is_empty() {
        return Err(ApiError::bad_request(join_errors(&errors)));
    }
    let user = shared.mutate(|s| {
        if !email.is_empty() && s.user_by_email(&email).is_some_and(|u| u.id != user_id) {
            return Err(ApiError::bad_request(
                "email: a user with this email already exists.",
            ));
        }
        if !phone.is_empty() && s.user_by_phone(&phone).is_some_and(|u| u.id != user_id) {
            return Err(ApiError::bad_request(
                "phone: a user with this phone number already exists.",
            ));
        }
        let u = s.user_mut(&user_id).ok_or_else(ApiError::user_not_found)?;
        if !email.is_empty() && email != u.email {
            u.email = email;
            u.email_verified = false;
        }
        if !phone.is_empty() && phone != u.phone {
            u.phone = phone;
            u.phone_verified = false;
        }
        if let Some(m) = meta {
            u.user_metadata = m;
        }
        u.updated_at = now();
        Ok(u.info_json())
    })?;
    Ok(ok_json(StatusCode::OK, json!({ "user": user })))
}

async fn delete_user(
    State(shared): State<AppState>,
    Path((app_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&shared, &app_id, &headers)?;
    shared.mutate(|s| {
        let before = s.users.len();
        s.users.retain(|u| u.id != user_id);
        if s.users.len() == before {
            return Err(ApiError::user_not_found());
        }
        s.links.retain(|l| l.user_id != user_id);
        Ok(())
    })?;
    Ok(ok_empty())
}

fn set_status(shared: &Shared, user_id: &str, status: &str) -> Result<Value, ApiError> {
    shared.mutate(|s| {
        let u = s.user_mut(user_id).ok_or_else(ApiError::user_not_found)?;
        if u.status != status {
            u.status = status.to_string();
            u.updated_at = now();
        }
        Ok(u.info_json())
    })
}

async fn activate(
    State(shared): State<AppState>,
    Path((app_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&shared, &app_id, &headers)?;
    let user = set_status(&shared, &user_id, "active")?;
    Ok(ok_json(StatusCode::OK, json!({ "user": user })))
}

async fn deactivate(
    State(shared): State<AppState>,
    Path((app_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&shared, &app_id, &headers)?;
    let user = set_status(&shared, &user_id, "inactive")?;
    Ok(ok_json(StatusCode::OK, json!({ "user": user })))
}

async fn list_devices(
    State(shared): State<AppState>,
    Path((app_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&shared, &app_id, &headers)?;
    let devices = shared
        .read(|s| {
            s.user(&user_id).map(|u| {
                u.devices
                    .iter()
                    .map(crate::models::Device::json)
                    .collect::<Vec<_>>()
            })
        })
        .ok_or_else(ApiError::user_not_found)?;
    Ok(ok_json(StatusCode::OK, json!({ "devices": devices })))
}

async fn revoke_device(
    State(shared): State<AppState>,
    Path((app_id, user_id, device_id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&shared, &app_id, &headers)?;
    shared.mutate(|s| {
        let u = s.user_mut(&user_id).ok_or_else(ApiError::user_not_found)?;
        let before = u.devices.len();
        u.devices.retain(|d| d.id != device_id);
        if u.devices.len() == before {
            return Err(ApiError::device_not_found());
        }
        u.updated_at = now();
        Ok(())
    })?;
    Ok(ok_empty())
}

async fn revoke_tokens(
    State(shared): State<AppState>,
    Path((app_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&shared, &app_id, &headers)?;
    // The emulator issues no refresh tokens, so there is nothing to revoke beyond the check.
    if shared.read(|s| s.user(&user_id).is_none()) {
        return Err(ApiError::user_not_found());
    }
    Ok(ok_empty())
}

async fn magic_link(
    State(shared): State<AppState>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorize(&shared, &app_id, &headers)?;
    let params: MagicLinkParams = parse_json(&body)?;
    let link = create_magic_link(&shared, params)?;
    Ok(ok_json(
        StatusCode::CREATED,
        json!({ "magic_link": link.json(&app_id) }),
    ))
}
