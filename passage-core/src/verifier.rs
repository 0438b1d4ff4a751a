//! The one JWT verifier: Passage's RS256 auth tokens checked against the JWKS under a strict
//! policy, with a cache of tokens already verified.
//!
//! Policy (everything else is refused): compact JWS with three segments of strict base64url;
//! header (at most 1 KiB decoded) `alg` exactly `RS256`, a `kid` found in the JWKS, and none of
//! `crit`, `jku`, `x5u`, `x5c`, `jwk`; claims `iss` equal to `<auth origin>/v1/apps/<app id>`,
//! `aud` (string or array) containing the app ID, numeric `exp` required, `nbf` and `iat`
//! honoured when present, `sub` a non-empty string. Signatures are checked with the key parsed
//! once when the JWKS was loaded.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::{AuthError, InvalidTokenReason};
use crate::jwks::{Jwks, MAX_KID_BYTES, MAX_MODULUS_BITS, VerifyingKey};
use crate::policy_claims::{Claim, PolicyClaims};
use crate::token_source::{MAX_TOKEN_BYTES, check_token_shape};
use crate::user_id::UserId;

/// The largest time claim accepted: 2^53, the largest integer every JSON implementation
/// carries exactly.
const MAX_TIME_CLAIM: i64 = 1 << 53;

/// What a successful verification found: the subject, the time claims and all claims.
#[derive(Debug)]
pub(crate) struct VerifiedToken {
    pub(crate) user_id: UserId,
    pub(crate) exp: i64,
    pub(crate) iat: Option<i64>,
    /// The claims as the token carries them (JSON text, an object).
    payload: Box<str>,
    /// The claims as a map, built the first time the application asks (most requests only need
    /// the user ID, and a cached token then holds, and an evicted one frees, one string).
    claims: OnceLock<serde_json::Map<String, serde_json::Value>>,
}

impl VerifiedToken {
    /// Every claim. The payload parsed as `PolicyClaims` when it was verified, so it is a JSON
    /// object and parses as a map.
    pub(crate) fn claims(&self) -> &serde_json::Map<String, serde_json::Value> {
        self.claims
            .get_or_init(|| serde_json::from_str(&self.payload).unwrap_or_default())
    }
}

/// A verified token remembered until its `exp`, tied to the key that verified it.
#[derive(Clone)]
struct CachedToken {
    token: Arc<VerifiedToken>,
    key: Arc<VerifyingKey>,
}

/// The token cache's key: the token itself (a hit needs the exact same token). Tokens of one app
/// share a long header and most of their claims, and the cache's probes compare the query with
/// every entry whose hash tag matches: so equality looks at the end first (the signature, where
/// any two tokens differ), with a constant-time compare of the last bytes, and walks the rest
/// only when those match. Profiled under load (docs/BENCHMARKS.md), whole-token `memcmp` on
/// cache misses cost more than the RSA check. For the same reason the hash reads only the last
/// [`HASHED_BYTES`]: they are the end of the signature, which differs between any two tokens
/// Passage signed, and only verified tokens are ever inserted, so nobody can fill the cache
/// with colliding keys.
struct TokenKey(Box<str>);

/// A borrowed token, to look the cache up without allocating.
struct TokenRef<'a>(&'a str);

/// Bytes compared first, in constant time: a query can learn nothing from the time a rejection
/// takes unless it already carries this much of a cached token's signature.
const TAIL_BYTES: usize = 16;

fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let split = a.len().saturating_sub(TAIL_BYTES);
    aws_lc_rs::constant_time::verify_slices_are_equal(&a[split..], &b[split..]).is_ok()
        && a[..split] == b[..split]
}

impl PartialEq for TokenKey {
    fn eq(&self, other: &Self) -> bool {
        same_token(&self.0, &other.0)
    }
}

impl Eq for TokenKey {}

/// Bytes of a token the cache hashes: its end (see [`TokenKey`]).
const HASHED_BYTES: usize = 32;

fn hash_token<H: std::hash::Hasher>(token: &str, state: &mut H) {
    let bytes = token.as_bytes();
    std::hash::Hash::hash(&bytes[bytes.len().saturating_sub(HASHED_BYTES)..], state);
}

impl std::hash::Hash for TokenKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        hash_token(&self.0, state);
    }
}

impl std::hash::Hash for TokenRef<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        hash_token(self.0, state);
    }
}

impl quick_cache::Equivalent<TokenKey> for TokenRef<'_> {
    fn equivalent(&self, key: &TokenKey) -> bool {
        same_token(self.0, &key.0)
    }
}

pub(crate) struct Verifier {
    jwks: Jwks,
    cache: Option<quick_cache::sync::Cache<TokenKey, CachedToken>>,
    issuer: String,
    app_id: String,
    leeway: i64,
    max_lifetime: i64,
    clock: Arc<dyn Clock>,
}

/// The largest signature decoded: an RS256 signature is as long as the key's modulus, at most
/// 8192 bits.
const MAX_SIGNATURE_BYTES: usize = MAX_MODULUS_BITS / 8;

/// The largest header accepted, decoded (a longer one is `TooLarge`). A Passage header is about
/// 60 bytes; the forbidden parameters that could make one long (`x5c`, `jwk`) are refused anyway.
const MAX_HEADER_BYTES: usize = 1024;

/// The header fields the policy reads. `alg` is borrowed from the decoded header when it needs no
/// unescaping; serde does not borrow inside an `Option`, so `kid` is a short allocation.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow)]
    kid: Option<Cow<'a, str>>,
    crit: Option<IgnoredAny>,
    jku: Option<IgnoredAny>,
    jwk: Option<IgnoredAny>,
    x5u: Option<IgnoredAny>,
    x5c: Option<IgnoredAny>,
}

fn invalid(reason: InvalidTokenReason) -> AuthError {
    AuthError::InvalidToken(reason)
}

/// Token segments are strict base64url: no padding, canonical trailing bits. The vector is
/// allocated at the decoded length (which `decode` only estimates), so turning it into a boxed
/// string keeps the allocation.
fn decode_segment(segment: &str) -> Option<Vec<u8>> {
    let len = segment.len() / 4 * 3 + (segment.len() % 4).saturating_sub(1);
    let mut bytes = vec![0; len];
    let written = decode_segment_into(segment, &mut bytes)?.len();
    bytes.truncate(written);
    Some(bytes)
}

/// Like [`decode_segment`], into `buffer` (on the stack, for the short segments): `None` when
/// the segment is not strict base64url or does not fit.
fn decode_segment_into<'b>(segment: &str, buffer: &'b mut [u8]) -> Option<&'b [u8]> {
    // Too long for the buffer is an error of `decode_slice`, before any byte is written past it.
    let len = general_purpose::URL_SAFE_NO_PAD
        .decode_slice(segment, buffer)
        .ok()?;
    buffer.get(..len)
}

/// Checks a token's header segment and returns its `kid`. Synchronous, so that the stack buffer
/// it decodes into is never part of the verification's future.
fn header_kid(segment: &str) -> Result<String, AuthError> {
    let malformed = || invalid(InvalidTokenReason::Malformed);
    if segment.len() > MAX_HEADER_BYTES / 3 * 4 {
        return Err(invalid(InvalidTokenReason::TooLarge));
    }
    let mut buffer = [0u8; MAX_HEADER_BYTES];
    let header = decode_segment_into(segment, &mut buffer).ok_or_else(malformed)?;
    let header: Header<'_> = serde_json::from_slice(header).map_err(|_| malformed())?;
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
    Ok(kid.into_owned())
}

impl Verifier {
    /// A verifier whose keys come from the app's JWKS URL.
    pub(crate) fn new(config: &Config, http: reqwest::Client) -> Self {
        let jwks = Jwks::remote(
            config.jwks_url(),
            http,
            config.jwks().clone(),
            Arc::clone(config.clock()),
        );
        Self::with_jwks(config, jwks)
    }

    /// A verifier with the given key source.
    pub(crate) fn with_jwks(config: &Config, jwks: Jwks) -> Self {
        let entries = config.token_cache_entries();
        let seconds = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Self {
            jwks,
            cache: (entries > 0).then(|| quick_cache::sync::Cache::new(entries)),
            issuer: config.issuer(),
            app_id: config.app_id().to_owned(),
            leeway: seconds(config.leeway()),
            max_lifetime: seconds(config.max_token_lifetime()),
            clock: Arc::clone(config.clock()),
        }
    }

    pub(crate) fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// Verifies `token` and returns what it carries.
    pub(crate) async fn verify(&self, token: &str) -> Result<Arc<VerifiedToken>, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid(InvalidTokenReason::TooLarge));
        }
        if let Some(verified) = self.cached(token) {
            return Ok(verified);
        }
        // A token's characters are checked here, once, and only on a miss: a hit is an exact
        // match of a token checked when it was verified. A malformed token is refused without
        // counting as a cache miss (junk traffic must not skew the hit ratio).
        check_token_shape(token)?;
        if self.cache.is_some() {
            crate::telemetry::token_cache(false);
        }
        let (verified, key) = self.verify_uncached(token).await?;
        if let Some(cache) = &self.cache {
            cache.insert(
                TokenKey(token.into()),
                CachedToken {
                    token: Arc::clone(&verified),
                    key,
                },
            );
        }
        Ok(verified)
    }

    /// A cache hit: the exact same token, not expired, its key still in the JWKS. (A miss is
    /// counted by the caller, once the token is known to be well formed.)
    fn cached(&self, token: &str) -> Option<Arc<VerifiedToken>> {
        let cache = self.cache.as_ref()?;
        let hit = cache.get(&TokenRef(token))?;
        if self.clock.unix_now() < hit.token.exp.saturating_add(self.leeway)
            && self.jwks.is_current(&hit.key)
        {
            crate::telemetry::token_cache(true);
            Some(hit.token)
        } else {
            cache.remove(&TokenRef(token));
            None
        }
    }

    async fn verify_uncached(
        &self,
        token: &str,
    ) -> Result<(Arc<VerifiedToken>, Arc<VerifyingKey>), AuthError> {
        let malformed = || invalid(InvalidTokenReason::Malformed);
        let (signing_input, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        let (header, payload) = signing_input.split_once('.').ok_or_else(malformed)?;
        if payload.contains('.') {
            return Err(malformed());
        }
        let kid = header_kid(header)?;
        // The key first: a token with an unknown kid (a flood of them is the cheapest attack
        // that gets this far) is refused without decoding its 700 bytes of payload and signature.
        let key = self.jwks.key(&kid).await?;
        let mut signature_bytes = [0u8; MAX_SIGNATURE_BYTES];
        let signature =
            decode_segment_into(signature, &mut signature_bytes).ok_or_else(malformed)?;
        if !key.verify(signing_input.as_bytes(), signature) {
            return Err(invalid(InvalidTokenReason::BadSignature));
        }
        let payload = decode_segment(payload).ok_or_else(malformed)?;
        let payload = String::from_utf8(payload)
            .map_err(|_| invalid(InvalidTokenReason::InvalidClaims))?
            .into_boxed_str();
        let claims: PolicyClaims<'_> = serde_json::from_str(&payload)
            .map_err(|_| invalid(InvalidTokenReason::InvalidClaims))?;
        let (user_id, exp, iat) = self.check_claims(&claims, self.clock.unix_now())?;
        drop(claims);
        let verified = VerifiedToken {
            user_id,
            exp,
            iat,
            payload,
            claims: OnceLock::new(),
        };
        Ok((Arc::new(verified), key))
    }

    /// Applies the policy to the claims; returns the user ID, `exp` and `iat`.
    fn check_claims(
        &self,
        claims: &PolicyClaims<'_>,
        now: i64,
    ) -> Result<(UserId, i64, Option<i64>), AuthError> {
        let exp =
            numeric_date(claims.exp.as_ref())?.ok_or(invalid(InvalidTokenReason::MissingExpiry))?;
        if now >= exp.saturating_add(self.leeway) {
            return Err(invalid(InvalidTokenReason::Expired));
        }
        if exp.saturating_sub(now) > self.max_lifetime {
            return Err(invalid(InvalidTokenReason::ExpiryTooFar));
        }
        if let Some(nbf) = numeric_date(claims.nbf.as_ref())?
            && now.saturating_add(self.leeway) < nbf
        {
            return Err(invalid(InvalidTokenReason::NotYetValid));
        }
        let iat = numeric_date(claims.iat.as_ref())?;
        if iat.is_some_and(|iat| iat > now.saturating_add(self.leeway)) {
            return Err(invalid(InvalidTokenReason::IssuedInFuture));
        }
        if claims.iss.as_ref().and_then(Claim::as_str) != Some(self.issuer.as_str()) {
            return Err(invalid(InvalidTokenReason::WrongIssuer));
        }
        if !claims
            .aud
            .as_ref()
            .is_some_and(|aud| aud.names(&self.app_id))
        {
            return Err(invalid(InvalidTokenReason::WrongAudience));
        }
        let user_id = match claims.sub.as_ref().and_then(Claim::as_str) {
            Some(sub) if !sub.is_empty() => UserId::from(sub),
            _ => return Err(invalid(InvalidTokenReason::MissingSubject)),
        };
        Ok((user_id, exp, iat))
    }
}

/// A NumericDate claim: absent is `None`; present it must be a JSON integer from 0 to 2^53
/// (a string `exp` is refused, unlike in jsonwebtoken before 12, CVE-2026-25537; so are
/// fractions, negative times and magnitudes no JSON implementation carries exactly).
fn numeric_date(claim: Option<&serde_json::Value>) -> Result<Option<i64>, AuthError> {
    match claim {
        None => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .filter(|seconds| (0..=MAX_TIME_CLAIM).contains(seconds))
            .map(Some)
            .ok_or(invalid(InvalidTokenReason::InvalidClaims)),
        Some(_) => Err(invalid(InvalidTokenReason::InvalidClaims)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_are_equal_only_for_the_same_token() {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg";
        assert!(same_token(token, token));
        for other in [
            // the signature differs in its last byte, its first byte, or the header differs
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbw",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.d2lnbmF0dXJlLW9mLXRoZS10b2tlbg",
            "fyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLW9mLXRoZS10b2tl",
            "",
        ] {
            assert!(!same_token(token, other), "{other}");
            assert!(!same_token(other, token), "{other}");
        }
        assert!(same_token("a.b", "a.b") && !same_token("a.b", "a.c"));
    }

    #[test]
    fn cache_keys_hash_the_token_end() {
        use std::hash::BuildHasher;
        let state = std::collections::hash_map::RandomState::new();
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg";
        // The owned key and the borrowed query hash alike (the cache's lookups rely on it).
        for token in [token, "a.b", ""] {
            assert_eq!(
                state.hash_one(TokenKey(token.into())),
                state.hash_one(TokenRef(token))
            );
        }
        // Only the end is hashed: tokens differing before it collide, and equality (which
        // reads every byte) still tells them apart.
        let other = token.replacen("eyJzdWIiOiJ1In0", "eyJzdWIiOiJ2In0", 1);
        assert_eq!(
            state.hash_one(TokenRef(token)),
            state.hash_one(TokenRef(&other))
        );
        assert!(!same_token(token, &other));
        let other_end = format!("{}x", &token[..token.len() - 1]);
        assert_ne!(
            state.hash_one(TokenRef(token)),
            state.hash_one(TokenRef(&other_end))
        );
    }

    fn date(value: serde_json::Value) -> Result<Option<i64>, AuthError> {
        numeric_date(Some(&value))
    }

    #[test]
    fn time_claims_are_bounded_numbers() {
        assert_eq!(
            date(serde_json::json!(1_700_000_000)),
            Ok(Some(1_700_000_000))
        );
        assert_eq!(
            date(serde_json::json!(MAX_TIME_CLAIM)),
            Ok(Some(MAX_TIME_CLAIM))
        );
        for bad in [
            serde_json::json!(1e300),
            serde_json::json!(-1e300),
            serde_json::json!(u64::MAX),
            serde_json::json!(i64::MIN),
            serde_json::json!(MAX_TIME_CLAIM + 1),
            serde_json::json!(2f64.powi(70)),
            serde_json::json!(1_700_000_000.5),
            serde_json::json!(1_700_000_000.0),
            serde_json::json!(-1),
            serde_json::json!("1700000000"),
            serde_json::json!(null),
        ] {
            assert!(date(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_segments_are_strict() {
        assert_eq!(decode_segment("YQ").unwrap(), b"a");
        for (segment, decoded) in [
            ("YWJj", &b"abc"[..]),
            ("YWJjZA", b"abcd"),
            ("YWJjZGU", b"abcde"),
        ] {
            let bytes = decode_segment(segment).unwrap();
            assert_eq!(
                (bytes.as_slice(), bytes.capacity()),
                (decoded, decoded.len())
            );
        }
        assert!(
            decode_segment("YWJjZ").is_none(),
            "a length no encoding has"
        );
        assert!(decode_segment("YQ==").is_none());
        assert!(
            decode_segment("YR").is_none(),
            "non-canonical trailing bits"
        );
        assert!(decode_segment("Y+").is_none());
        let mut buffer = [0u8; 4];
        assert_eq!(decode_segment_into("YWJj", &mut buffer), Some(&b"abc"[..]));
        assert_eq!(
            decode_segment_into("YWJjZA", &mut buffer),
            Some(&b"abcd"[..])
        );
        assert_eq!(
            decode_segment_into("YWJjZGU", &mut buffer),
            None,
            "too long"
        );
        assert_eq!(decode_segment_into("YR", &mut buffer), None);
        assert_eq!(decode_segment_into("", &mut buffer), Some(&b""[..]));
    }
}
