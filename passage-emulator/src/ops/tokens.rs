//! Auth tokens: RS256 JWTs with Passage's claims, signed by the current key.

use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::OpError;
use super::users;
use crate::error::EmulatorError;
use crate::store::{State, Store};

/// The largest token lifetime (either way) accepted: ten years.
pub(crate) const MAX_TTL_SECONDS: i64 = 10 * 365 * 24 * 3600;

/// The claims of a Passage auth token.
#[derive(Serialize)]
struct Claims<'a> {
    iss: String,
    aud: [&'a str; 2],
    sub: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
}

/// Signs a token for `user_id` with the current key. `ttl` defaults to the session length;
/// `extra` claims replace the standard ones of the same name.
pub(crate) fn sign(
    s: &State,
    origin: &str,
    user_id: &str,
    ttl: Option<i64>,
    extra: Option<&Map<String, Value>>,
) -> Result<String, EmulatorError> {
    let key = s
        .current_key()
        .ok_or_else(|| EmulatorError::Crypto("no signing key".into()))?;
    let iat = OffsetDateTime::now_utc().unix_timestamp();
    let claims = Claims {
        iss: format!("{origin}/v1/apps/{}", s.app.id),
        aud: [&s.app.auth_origin, &s.app.id],
        sub: user_id,
        iat,
        nbf: iat - 5,
        exp: iat.saturating_add(ttl.unwrap_or(s.app.session_length)),
    };
    let Value::Object(mut claims) =
        serde_json::to_value(&claims).map_err(|e| EmulatorError::Crypto(e.to_string()))?
    else {
        return Err(EmulatorError::Crypto("claims are not an object".into()));
    };
    if let Some(extra) = extra {
        claims.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    key.sign_jwt(&claims)
}

/// A minted token, and whether its user had to be created.
#[derive(Debug)]
pub(crate) struct Minted {
    pub token: String,
    pub created_user: bool,
}

/// Mints a token for `user_id`, creating a user with that ID if missing.
pub(crate) fn mint(
    store: &Store,
    origin: &str,
    user_id: &str,
    ttl: Option<i64>,
    claims: Option<&Map<String, Value>>,
) -> Result<Minted, OpError> {
    if user_id.trim().is_empty() {
        return Err(OpError::invalid("user_id: cannot be blank."));
    }
    if ttl.is_some_and(|ttl| !(-MAX_TTL_SECONDS..=MAX_TTL_SECONDS).contains(&ttl)) {
        return Err(OpError::invalid(format!(
            "ttl_seconds: must be between -{MAX_TTL_SECONDS} and {MAX_TTL_SECONDS}."
        )));
    }
    let created_user = store.read(|s| s.user(user_id).is_none())
        && store.mutate(|s| {
            if s.user(user_id).is_some() {
                return Ok::<_, OpError>(false);
            }
            users::insert(
                s,
                Some(user_id.to_string()),
                String::new(),
                String::new(),
                None,
            )?;
            Ok(true)
        })?;
    let token = store.read(|s| sign(s, origin, user_id, ttl, claims))?;
    Ok(Minted {
        token,
        created_user,
    })
}
