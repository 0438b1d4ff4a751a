//! The management API under `/v1/apps/{app_id}`: the app, users, devices, magic links. Every
//! route but the app's own needs the API key ([`super::extract::ApiKey`], applied once to the
//! group).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{ApiKey, AppId, JsonBody, RawJson, group};
use super::wire::{
    AppEnvelope, AppInfo, DeviceInfo, DeviceList, Href, Jwk, Jwks, MagicLinkBody,
    MagicLinkEnvelope, PageLinks, UserBody, UserEnvelope, UserItem, UserPage,
};
use crate::context::Context;
use crate::ops::{devices, links, user_query, users};
use crate::store::records::{UserStatus, now};

type Ctx = State<Arc<Context>>;
type ApiResult<T> = Result<T, ApiError>;

/// The routes that need the API key.
pub(crate) fn keyed(ctx: &Arc<Context>) -> Router<Arc<Context>> {
    group::<ApiKey>(
        ctx,
        vec![
            ("/users", get(list_users).post(create_user)),
            (
                "/users/{user_id}",
                get(get_user).patch(update_user).delete(delete_user),
            ),
            ("/users/{user_id}/activate", patch(activate)),
            ("/users/{user_id}/deactivate", patch(deactivate)),
            ("/users/{user_id}/devices", get(list_devices)),
            (
                "/users/{user_id}/devices/{device_id}",
                delete(revoke_device),
            ),
            ("/users/{user_id}/tokens", delete(revoke_tokens)),
            ("/magic-links", post(create_magic_link)),
        ],
    )
}

/// The routes open without the key: the app's public settings and its JWKS.
pub(crate) fn open(ctx: &Arc<Context>) -> Router<Arc<Context>> {
    group::<AppId>(
        ctx,
        vec![("/", get(get_app)), ("/.well-known/jwks.json", get(jwks))],
    )
}

#[derive(Deserialize)]
struct UserPath {
    user_id: String,
}

#[derive(Deserialize)]
struct DevicePath {
    user_id: String,
    device_id: String,
}

async fn jwks(State(ctx): Ctx) -> Json<Jwks> {
    let t = time::OffsetDateTime::now_utc().unix_timestamp();
    let keys = ctx.store.read(|s| {
        s.published_keys(t)
            .map(|k| Jwk::rsa(k.kid.clone(), k.public_components()))
            .collect()
    });
    Json(Jwks { keys })
}

async fn get_app(State(ctx): Ctx) -> Json<AppEnvelope> {
    let app = ctx.store.read(|s| {
        let rsa = s
            .current_key()
            .map(crate::store::keys::SigningKey::rsa_public_key_b64)
            .unwrap_or_default();
        AppInfo::new(&s.app, &ctx.origin, rsa)
    });
    Json(AppEnvelope { app })
}

async fn list_users(
    State(ctx): Ctx,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<UserPage>> {
    let Query(pairs) = query.map_err(|_| ApiError::bad_request("invalid query string."))?;
    let q = user_query::parse(&pairs, now().unix_timestamp()).map_err(ApiError::bad_request)?;
    let (total, page) = users::list(&ctx.store, &q);
    let app_id = ctx.store.read(|s| s.app.id.clone());
    let last = ((total + q.limit - 1) / q.limit).max(1);
    let href = |page: i64| {
        let mut params: Vec<(&str, String)> = vec![
            ("page", page.to_string()),
            ("limit", q.limit.to_string()),
            ("created_before", q.created_before.to_string()),
        ];
        params.extend(q.echo.iter().map(|(k, v)| (k.as_str(), v.clone())));
        let query = serde_urlencoded::to_string(&params).unwrap_or_default();
        Href {
            href: format!("/v1/apps/{app_id}/users?{query}"),
        }
    };
    let next = if q.page < last {
        href(q.page + 1)
    } else {
        Href {
            href: String::new(),
        }
    };
    let previous = if q.page > 1 {
        href((q.page - 1).min(last))
    } else {
        Href {
            href: String::new(),
        }
    };
    Ok(Json(UserPage {
        _links: PageLinks {
            first: href(1),
            last: href(last),
            next,
            previous,
            this: href(q.page),
        },
        created_before: q.created_before,
        limit: q.limit,
        page: q.page,
        total_users: total,
        users: page.iter().map(UserItem::from).collect(),
    }))
}

async fn create_user(
    State(ctx): Ctx,
    JsonBody(body): JsonBody<UserBody>,
) -> ApiResult<(StatusCode, Json<UserEnvelope>)> {
    let user = users::create(&ctx.store, body.into())?;
    ctx.store.flush().await?;
    Ok((StatusCode::CREATED, Json(UserEnvelope::from(&user))))
}

async fn get_user(State(ctx): Ctx, Path(p): Path<UserPath>) -> ApiResult<Json<UserEnvelope>> {
    let user = users::get(&ctx.store, &p.user_id)?;
    Ok(Json(UserEnvelope::from(&user)))
}

async fn update_user(
    State(ctx): Ctx,
    Path(p): Path<UserPath>,
    body: RawJson,
) -> ApiResult<Json<UserEnvelope>> {
    // An unknown user is a 404 whatever the body.
    users::get(&ctx.store, &p.user_id)?;
    let body: UserBody = body.parse()?;
    let user = users::update(&ctx.store, &p.user_id, body.into())?;
    ctx.store.flush().await?;
    Ok(Json(UserEnvelope::from(&user)))
}

async fn delete_user(State(ctx): Ctx, Path(p): Path<UserPath>) -> ApiResult<StatusCode> {
    users::delete(&ctx.store, &p.user_id)?;
    ctx.store.flush().await?;
    Ok(StatusCode::OK)
}

async fn set_status(
    ctx: &Context,
    user_id: &str,
    status: UserStatus,
) -> ApiResult<Json<UserEnvelope>> {
    let user = users::set_status(&ctx.store, user_id, status)?;
    ctx.store.flush().await?;
    Ok(Json(UserEnvelope::from(&user)))
}

async fn activate(State(ctx): Ctx, Path(p): Path<UserPath>) -> ApiResult<Json<UserEnvelope>> {
    set_status(&ctx, &p.user_id, UserStatus::Active).await
}

async fn deactivate(State(ctx): Ctx, Path(p): Path<UserPath>) -> ApiResult<Json<UserEnvelope>> {
    set_status(&ctx, &p.user_id, UserStatus::Inactive).await
}

async fn list_devices(State(ctx): Ctx, Path(p): Path<UserPath>) -> ApiResult<Json<DeviceList>> {
    let devices = devices::list(&ctx.store, &p.user_id)?;
    Ok(Json(DeviceList {
        devices: devices.iter().map(DeviceInfo::from).collect(),
    }))
}

async fn revoke_device(State(ctx): Ctx, Path(p): Path<DevicePath>) -> ApiResult<StatusCode> {
    devices::revoke(&ctx.store, &p.user_id, &p.device_id)?;
    ctx.store.flush().await?;
    Ok(StatusCode::OK)
}

async fn revoke_tokens(State(ctx): Ctx, Path(p): Path<UserPath>) -> ApiResult<StatusCode> {
    users::revoke_tokens(&ctx.store, &p.user_id)?;
    Ok(StatusCode::OK)
}

async fn create_magic_link(
    State(ctx): Ctx,
    JsonBody(body): JsonBody<MagicLinkBody>,
) -> ApiResult<(StatusCode, Json<MagicLinkEnvelope>)> {
    let link = links::create(&ctx, body.into())?;
    ctx.store.flush().await?;
    let app_id = ctx.store.read(|s| s.app.id.clone());
    Ok((
        StatusCode::CREATED,
        Json(MagicLinkEnvelope::new(link, app_id)),
    ))
}
