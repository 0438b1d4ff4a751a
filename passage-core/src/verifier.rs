//! The one JWT verifier: Passage's RS256 auth tokens checked against the JWKS under a strict
//! policy, with a cache of tokens already verified.
//!
//! Policy (everything else is refused): compact JWS with three segments of strict base64url;
//! header `alg` exactly `RS256`, a `kid` found in the JWKS, and none of `crit`, `jku`, `x5u`,
//! `x5c`, `jwk`; claims `iss` equal to `<auth origin>/v1/apps/<app id>`, `aud` (string or array)
//! containing the app ID, numeric `exp` required, `nbf` and `iat` honoured when present, `sub` a
//! non-empty string. Signatures are checked with the key parsed once when the JWKS was loaded.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::config::Config;
use crate::error::{AuthError, InvalidTokenReason};
use crate::jwks::{Jwks, MAX_KID_BYTES, VerifyingKey, decode_segment};
use crate::token_source::{MAX_TOKEN_BYTES, check_token_shape};
use crate::user_id::UserId;

/// A verified token remembered until its `exp`, tied to the key that verified it.
#[derive(Clone)]
struct CachedToken {
    user_id: UserId,
    exp: i64,
    key: Arc<VerifyingKey>,
}

pub(crate) struct Verifier {
    jwks: Jwks,
    cache: Option<quick_cache::sync::Cache<Box<str>, CachedToken>>,
    issuer: String,
    app_id: String,
    leeway: i64,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    crit: Option<IgnoredAny>,
    jku: Option<IgnoredAny>,
    jwk: Option<IgnoredAny>,
    x5u: Option<IgnoredAny>,
    x5c: Option<IgnoredAny>,
}

fn invalid(reason: InvalidTokenReason) -> AuthError {
    AuthError::InvalidToken(reason)
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Verifier {
    pub(crate) fn new(config: &Config, http: reqwest::Client) -> Self {
        let entries = config.token_cache_entries();
        Self {
            jwks: Jwks::new(config.jwks_url(), http, config.jwks().clone()),
            cache: (entries > 0).then(|| quick_cache::sync::Cache::new(entries)),
            issuer: config.issuer(),
            app_id: config.app_id().to_owned(),
            leeway: i64::try_from(config.leeway().as_secs()).unwrap_or(i64::MAX),
        }
    }

    pub(crate) fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// Verifies `token` and returns its subject (the Passage user ID).
    pub(crate) async fn verify(&self, token: &str) -> Result<UserId, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid(InvalidTokenReason::TooLarge));
        }
        if let Some(user_id) = self.cached(token) {
            return Ok(user_id);
        }
        let (user_id, exp, key) = self.verify_uncached(token).await?;
        if let Some(cache) = &self.cache {
            cache.insert(
                token.into(),
                CachedToken {
                    user_id: user_id.clone(),
                    exp,
                    key,
                },
            );
        }
        Ok(user_id)
    }

    /// A cache hit: the exact same token, not expired, its key still in the JWKS.
    fn cached(&self, token: &str) -> Option<UserId> {
        let cache = self.cache.as_ref()?;
        let hit = cache.get(token)?;
        if now_unix() < hit.exp.saturating_add(self.leeway) && self.jwks.is_current(&hit.key) {
            Some(hit.user_id)
        } else {
            cache.remove(token);
            None
        }
    }

    async fn verify_uncached(
        &self,
        token: &str,
    ) -> Result<(UserId, i64, Arc<VerifyingKey>), AuthError> {
        check_token_shape(token)?;
        let malformed = || invalid(InvalidTokenReason::Malformed);
        let (signing_input, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        let (header, payload) = signing_input.split_once('.').ok_or_else(malformed)?;
        if payload.contains('.') {
            return Err(malformed());
        }
        let header = decode_segment(header).ok_or_else(malformed)?;
        let header: Header = serde_json::from_slice(&header).map_err(|_| malformed())?;
        if header.alg != "RS256" {
            return Err(invalid(InvalidTokenReason::UnsupportedAlgorithm));
        }
        if header.crit.is_some()
            || header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
        {
            return Err(invalid(InvalidTokenReason::ForbiddenHeader));
        }
        let kid = header
            .kid
            .filter(|kid| !kid.is_empty())
            .ok_or_else(|| invalid(InvalidTokenReason::MissingKeyId))?;
        if kid.len() > MAX_KID_BYTES {
            // No usable JWK has such a kid: refuse without a lookup (or a negative-cache entry).
            return Err(invalid(InvalidTokenReason::UnknownKeyId));
        }
        let signature = decode_segment(signature).ok_or_else(malformed)?;
        let payload = decode_segment(payload).ok_or_else(malformed)?;

        let key = self.jwks.key(&kid).await?;
        if !key.verify(signing_input.as_bytes(), &signature) {
            return Err(invalid(InvalidTokenReason::BadSignature));
        }
        let claims: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&payload)
                .map_err(|_| invalid(InvalidTokenReason::InvalidClaims))?;
        let (user_id, exp) = self.check_claims(&claims, now_unix())?;
        Ok((user_id, exp, key))
    }

    fn check_claims(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
        now: i64,
    ) -> Result<(UserId, i64), AuthError> {
        let exp = numeric_date(claims, "exp")?.ok_or(invalid(InvalidTokenReason::MissingExpiry))?;
        if now >= exp.saturating_add(self.leeway) {
            return Err(invalid(InvalidTokenReason::Expired));
        }
        if let Some(nbf) = numeric_date(claims, "nbf")?
            && now.saturating_add(self.leeway) < nbf
        {
            return Err(invalid(InvalidTokenReason::NotYetValid));
        }
        if let Some(iat) = numeric_date(claims, "iat")?
            && iat > now.saturating_add(self.leeway)
        {
            return Err(invalid(InvalidTokenReason::IssuedInFuture));
        }
        if claims.get("iss").and_then(serde_json::Value::as_str) != Some(self.issuer.as_str()) {
            return Err(invalid(InvalidTokenReason::WrongIssuer));
        }
        let audience_ok = match claims.get("aud") {
            Some(serde_json::Value::String(aud)) => *aud == self.app_id,
            Some(serde_json::Value::Array(auds)) => auds
                .iter()
                .any(|aud| aud.as_str() == Some(self.app_id.as_str())),
            _ => false,
        };
        if !audience_ok {
            return Err(invalid(InvalidTokenReason::WrongAudience));
        }
        match claims.get("sub") {
            Some(serde_json::Value::String(sub)) if !sub.is_empty() => {
                Ok((UserId::from(sub.as_str()), exp))
            }
            _ => Err(invalid(InvalidTokenReason::MissingSubject)),
        }
    }
}

/// A NumericDate claim: absent is `None`; present it must be a JSON number (a string `exp` is
/// refused, unlike in jsonwebtoken before 12, CVE-2026-25537).
fn numeric_date(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<Option<i64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.floor() as i64)
            })
            .map(Some)
            .ok_or(invalid(InvalidTokenReason::InvalidClaims)),
        Some(_) => Err(invalid(InvalidTokenReason::InvalidClaims)),
    }
}
