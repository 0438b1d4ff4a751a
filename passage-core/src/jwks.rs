//! The JWKS cache: fetches Passage's signing keys, keeps them parsed, and decides when the auth
//! origin may be asked again.
//!
//! * Lazy: nothing is fetched until the first verification (or [`Passage::warm_up`]).
//! * The hot path is one atomic load ([`ArcSwapOption`]) and a map lookup: no lock.
//! * Fetches are single-flight: concurrent callers share one future. The state mutex is only held
//!   for bookkeeping, never across network I/O.
//! * An unknown `kid` triggers a refresh at most once per cooldown; kids still unknown after one
//!   are remembered (negative cache); a per-minute ceiling bounds fetches whatever their cause.
//! * After failures, attempts back off exponentially with jitter; a stale set keeps serving up to
//!   `max_stale`.
//!
//! [`Passage::warm_up`]: crate::Passage::warm_up

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use serde::Deserialize;

use crate::config::JwksSettings;
use crate::error::{AuthError, InvalidTokenReason, KeysUnavailableReason};

/// JWK members are base64url; tolerate padding there (some servers emit it), never in tokens.
const JWK_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
/// The longest `kid` a usable key may have.
pub(crate) const MAX_KID_BYTES: usize = 256;
const MIN_MODULUS_BITS: usize = 2048;
const MAX_MODULUS_BITS: usize = 8192;

/// One RS256 public key from the JWKS, parsed once.
pub(crate) struct VerifyingKey {
    kid: Box<str>,
    n: Box<[u8]>,
    e: Box<[u8]>,
    key: ParsedPublicKey,
}

impl VerifyingKey {
    /// Checks an RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }
}

/// A key set as fetched, with its freshness.
pub(crate) struct KeySet {
    keys: HashMap<Box<str>, Arc<VerifyingKey>>,
    fresh_until: Instant,
    usable_until: Instant,
}

impl KeySet {
    fn get(&self, kid: &str) -> Option<&Arc<VerifyingKey>> {
        self.keys.get(kid)
    }
}

type FetchResult = Result<Arc<KeySet>, KeysUnavailableReason>;
type SharedFetch = Shared<BoxFuture<'static, FetchResult>>;

/// What made us want to fetch; each cause has its own gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// No usable set at all.
    Missing,
    /// The set is past its freshness.
    Expired,
    /// A token names a kid the fresh set lacks.
    UnknownKid,
}

enum Start {
    /// A fetch to wait for (ours or one already under way).
    Fetch(SharedFetch),
    /// Another caller installed a newer set meanwhile: use it.
    Newer(Arc<KeySet>),
}

#[derive(Default)]
struct FetchState {
    inflight: Option<SharedFetch>,
    last_attempt: Option<Instant>,
    failures: u32,
    retry_at: Option<Instant>,
    /// Start times of the fetches of the last minute.
    recent: VecDeque<Instant>,
}

/// The JWKS cache of one app.
pub(crate) struct Jwks {
    url: String,
    http: reqwest::Client,
    settings: JwksSettings,
    current: ArcSwapOption<KeySet>,
    state: Mutex<FetchState>,
    unknown_kids: quick_cache::sync::Cache<Box<str>, Instant>,
    fetches: AtomicU64,
}

impl Jwks {
    pub(crate) fn new(url: String, http: reqwest::Client, settings: JwksSettings) -> Self {
        Self {
            url,
            http,
            settings,
            current: ArcSwapOption::empty(),
            state: Mutex::new(FetchState::default()),
            unknown_kids: quick_cache::sync::Cache::new(1024),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many fetches were started (for diagnostics and tests).
    pub(crate) fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Whether `key` is in the current set and that set is fresh (a rotated-out key is not; a
    /// stale set sends callers through [`Jwks::key`], which refreshes it).
    pub(crate) fn is_current(&self, key: &Arc<VerifyingKey>) -> bool {
        let guard = self.current.load();
        guard.as_ref().is_some_and(|set| {
            Instant::now() < set.fresh_until
                && set.get(&key.kid).is_some_and(|k| Arc::ptr_eq(k, key))
        })
    }

    /// The key for `kid`, fetching the set when needed and allowed.
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<VerifyingKey>, AuthError> {
        let now = Instant::now();
        let seen = self.current.load_full();
        match seen {
            Some(set) if now < set.fresh_until => match set.get(kid) {
                Some(key) => Ok(Arc::clone(key)),
                None => self.unknown_kid(kid, set).await,
            },
            Some(stale) if now < stale.usable_until => {
                // Past freshness: refresh if due, else (or on failure) keep serving the stale set.
                let set = match self.start(Cause::Expired, Some(&stale)) {
                    Ok(start) => self.wait(start).await.unwrap_or(stale),
                    Err(_) => stale,
                };
                lookup(&set, kid)
            }
            _ => {
                let start = self
                    .start(Cause::Missing, None)
                    .map_err(AuthError::KeysUnavailable)?;
                let set = self.wait(start).await.map_err(AuthError::KeysUnavailable)?;
                match set.get(kid) {
                    Some(key) => Ok(Arc::clone(key)),
                    None => {
                        self.remember_unknown(kid);
                        lookup(&set, kid)
                    }
                }
            }
        }
    }

    /// Fetches now unless a fetch is not allowed yet; for an eager warm-up.
    pub(crate) async fn warm_up(&self) -> Result<(), KeysUnavailableReason> {
        let seen = self.current.load_full();
        if seen
            .as_ref()
            .is_some_and(|set| Instant::now() < set.fresh_until)
        {
            return Ok(());
        }
        let start = self.start(Cause::Missing, seen.as_ref())?;
        self.wait(start).await.map(drop)
    }

    async fn unknown_kid(
        &self,
        kid: &str,
        set: Arc<KeySet>,
    ) -> Result<Arc<VerifyingKey>, AuthError> {
        let known_unknown = self
            .unknown_kids
            .get(kid)
            .is_some_and(|until| Instant::now() < until);
        if known_unknown {
            return lookup(&set, kid);
        }
        let set = match self.start(Cause::UnknownKid, Some(&set)) {
            Ok(start) => self.wait(start).await.unwrap_or(set),
            Err(_) => set,
        };
        match set.get(kid) {
            Some(key) => Ok(Arc::clone(key)),
            None => {
                self.remember_unknown(kid);
                lookup(&set, kid)
            }
        }
    }

    fn remember_unknown(&self, kid: &str) {
        self.unknown_kids
            .insert(kid.into(), Instant::now() + self.settings.negative_ttl);
    }

    fn lock(&self) -> MutexGuard<'_, FetchState> {
        // The state is plain bookkeeping, valid even if a holder panicked.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Joins the fetch under way, or starts one if the cause's gates allow it.
    fn start(
        &self,
        cause: Cause,
        seen: Option<&Arc<KeySet>>,
    ) -> Result<Start, KeysUnavailableReason> {
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(inflight) = &state.inflight {
            return Ok(Start::Fetch(inflight.clone()));
        }
        // Someone else finished a fetch since this caller looked: use it instead of fetching.
        if let Some(current) = self.current.load_full() {
            let newer = seen.is_none_or(|seen| !Arc::ptr_eq(seen, &current));
            if newer && now < current.fresh_until {
                return Ok(Start::Newer(current));
            }
        }
        if let Some(retry_at) = state.retry_at.filter(|at| now < *at) {
            return Err(KeysUnavailableReason::Backoff {
                retry_after: retry_at - now,
            });
        }
        if cause == Cause::UnknownKid
            && let Some(last) = state.last_attempt
        {
            let next = last + self.settings.refresh_cooldown;
            if now < next {
                return Err(KeysUnavailableReason::Backoff {
                    retry_after: next - now,
                });
            }
        }
        let minute = Duration::from_secs(60);
        while state
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= minute)
        {
            state.recent.pop_front();
        }
        if state.recent.len() >= self.settings.max_fetches_per_minute as usize {
            let oldest = state.recent.front().copied().unwrap_or(now);
            return Err(KeysUnavailableReason::Backoff {
                retry_after: (oldest + minute) - now,
            });
        }
        state.recent.push_back(now);
        state.last_attempt = Some(now);
        self.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(url = %self.url, ?cause, "fetching JWKS");
        let fetch = fetch_key_set(
            self.http.clone(),
            self.url.clone(),
            self.settings.clone(),
            self.current.load_full(),
        )
        .boxed()
        .shared();
        state.inflight = Some(fetch.clone());
        Ok(Start::Fetch(fetch))
    }

    /// Waits for a fetch and records its outcome (once, whichever waiter gets there first).
    async fn wait(&self, start: Start) -> FetchResult {
        let fetch = match start {
            Start::Newer(set) => return Ok(set),
            Start::Fetch(fetch) => fetch,
        };
        let result = fetch.clone().await;
        let mut state = self.lock();
        let ours = state.inflight.as_ref().is_some_and(|f| f.ptr_eq(&fetch));
        if ours {
            state.inflight = None;
            match &result {
                Ok(set) => {
                    state.failures = 0;
                    state.retry_at = None;
                    self.current.store(Some(Arc::clone(set)));
                    tracing::debug!(keys = set.keys.len(), "JWKS refreshed");
                }
                Err(reason) => {
                    state.failures = state.failures.saturating_add(1);
                    let delay = crate::transport::backoff(
                        self.settings.initial_backoff,
                        self.settings.max_backoff,
                        state.failures,
                    );
                    state.retry_at = Some(Instant::now() + delay);
                    tracing::warn!(
                        %reason,
                        failures = state.failures,
                        retry_in_ms = delay.as_millis() as u64,
                        "JWKS fetch failed"
                    );
                }
            }
        }
        result
    }
}

fn lookup(set: &KeySet, kid: &str) -> Result<Arc<VerifyingKey>, AuthError> {
    set.get(kid)
        .cloned()
        .ok_or(AuthError::InvalidToken(InvalidTokenReason::UnknownKeyId))
}

async fn fetch_key_set(
    http: reqwest::Client,
    url: String,
    settings: JwksSettings,
    previous: Option<Arc<KeySet>>,
) -> FetchResult {
    let fetch = async {
        let response = http
            .get(&url)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(settings.fetch_timeout)
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        if !status.is_success() {
            return Err(KeysUnavailableReason::Status(status.as_u16()));
        }
        let ttl = ttl_from_headers(response.headers(), &settings);
        let body = crate::transport::read_limited(response, settings.max_response_bytes)
            .await
            .map_err(|error| match error {
                crate::transport::ReadError::TooLarge => KeysUnavailableReason::TooLarge,
                crate::transport::ReadError::Transport(error) => classify(error),
            })?;
        Ok((ttl, body))
    };
    let (ttl, body) = tokio::time::timeout(settings.fetch_timeout, fetch)
        .await
        .map_err(|_| KeysUnavailableReason::Timeout)??;
    let keys = parse_key_set(&body, &settings, previous.as_deref())?;
    if keys.is_empty() {
        // No app is without a signing key: treat this like an outage (back off, keep the last
        // good keys within max-stale) rather than as a set that verifies nothing.
        return Err(KeysUnavailableReason::NoUsableKeys);
    }
    let now = Instant::now();
    Ok(Arc::new(KeySet {
        keys,
        fresh_until: now + ttl,
        usable_until: now + ttl + settings.max_stale,
    }))
}

fn classify(error: reqwest::Error) -> KeysUnavailableReason {
    if error.is_timeout() {
        KeysUnavailableReason::Timeout
    } else {
        KeysUnavailableReason::Transport
    }
}

fn ttl_from_headers(headers: &reqwest::header::HeaderMap, settings: &JwksSettings) -> Duration {
    let mut ttl = None;
    for value in headers.get_all(reqwest::header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',').map(str::trim) {
            let lower = directive.to_ascii_lowercase();
            if lower == "no-store" || lower == "no-cache" {
                return settings.min_ttl;
            }
            if let Some(secs) = lower.strip_prefix("max-age=")
                && let Ok(secs) = secs.trim_matches('"').parse::<u64>()
            {
                ttl = Some(Duration::from_secs(secs));
            }
        }
    }
    ttl.unwrap_or(settings.default_ttl)
        .clamp(settings.min_ttl, settings.max_ttl)
}

#[derive(Deserialize)]
struct RawKeySet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawKey {
    kty: String,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    kid: String,
    n: String,
    e: String,
}

fn parse_key_set(
    body: &[u8],
    settings: &JwksSettings,
    previous: Option<&KeySet>,
) -> Result<HashMap<Box<str>, Arc<VerifyingKey>>, KeysUnavailableReason> {
    let raw: RawKeySet =
        serde_json::from_slice(body).map_err(|_| KeysUnavailableReason::InvalidJwks)?;
    if raw.keys.len() > settings.max_keys {
        return Err(KeysUnavailableReason::TooManyKeys);
    }
    // A kid listed twice is ambiguous: trust neither entry.
    let mut kid_counts: HashMap<&str, usize> = HashMap::new();
    for key in &raw.keys {
        if let Some(kid) = key.get("kid").and_then(serde_json::Value::as_str) {
            *kid_counts.entry(kid).or_default() += 1;
        }
    }
    let mut keys = HashMap::new();
    for value in &raw.keys {
        let Some(key) = usable_key(value) else {
            continue;
        };
        if kid_counts.get(key.kid.as_str()).copied().unwrap_or(0) != 1 {
            tracing::warn!(kid = %key.kid, "JWKS lists a kid more than once; ignoring it");
            continue;
        }
        let Some((n, e)) = rsa_components(&key.n, &key.e) else {
            tracing::debug!(kid = %key.kid, "skipping unusable JWKS key");
            continue;
        };
        // Keep the same Arc for an unchanged key so verified-token cache entries stay valid.
        let reused = previous
            .and_then(|set| set.get(&key.kid))
            .filter(|old| old.n == n && old.e == e)
            .cloned();
        let verifying = match reused {
            Some(old) => old,
            None => {
                let components = RsaPublicKeyComponents {
                    n: &n[..],
                    e: &e[..],
                };
                let Ok(parsed) = components.to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                else {
                    continue;
                };
                Arc::new(VerifyingKey {
                    kid: key.kid.as_str().into(),
                    n,
                    e,
                    key: parsed,
                })
            }
        };
        keys.insert(key.kid.into_boxed_str(), verifying);
    }
    Ok(keys)
}

/// The key if it may be used for RS256 signatures: `kty` RSA, `use` absent or `sig`, `alg` absent
/// or RS256, and a non-empty `kid`.
fn usable_key(value: &serde_json::Value) -> Option<RawKey> {
    let key: RawKey = serde_json::from_value(value.clone()).ok()?;
    let usable = key.kty == "RSA"
        && key.use_.as_deref().is_none_or(|u| u == "sig")
        && key.alg.as_deref().is_none_or(|a| a == "RS256")
        && !key.kid.is_empty()
        && key.kid.len() <= MAX_KID_BYTES;
    usable.then_some(key)
}

/// Decodes `n` and `e`, drops leading zero bytes (they do not change the integers) and checks
/// the modulus size.
/// A modulus and an exponent, big-endian without leading zeros.
type RsaComponents = (Box<[u8]>, Box<[u8]>);

fn rsa_components(n: &str, e: &str) -> Option<RsaComponents> {
    let strip = |bytes: Vec<u8>| -> Box<[u8]> {
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        bytes[first..].into()
    };
    let n = strip(JWK_BASE64.decode(n).ok()?);
    let e = strip(JWK_BASE64.decode(e).ok()?);
    let top = *n.first()?;
    let bits = (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize);
    if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) || e.is_empty() || e.len() > 8 {
        return None;
    }
    Some((n, e))
}

/// Token segments are strict base64url: no padding, canonical trailing bits.
pub(crate) fn decode_segment(segment: &str) -> Option<Vec<u8>> {
    general_purpose::URL_SAFE_NO_PAD.decode(segment).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> JwksSettings {
        JwksSettings::default()
    }

    #[test]
    fn cache_control_is_honoured_within_bounds() {
        let s = settings();
        let headers = |v: &str| {
            let mut h = reqwest::header::HeaderMap::new();
            h.insert(reqwest::header::CACHE_CONTROL, v.parse().unwrap());
            h
        };
        assert_eq!(
            ttl_from_headers(&headers("public, max-age=120"), &s),
            Duration::from_secs(120)
        );
        assert_eq!(ttl_from_headers(&headers("max-age=1"), &s), s.min_ttl);
        assert_eq!(
            ttl_from_headers(&headers("max-age=99999999"), &s),
            s.max_ttl
        );
        assert_eq!(ttl_from_headers(&headers("no-store"), &s), s.min_ttl);
        assert_eq!(ttl_from_headers(&headers("max-age=abc"), &s), s.default_ttl);
        assert_eq!(
            ttl_from_headers(&reqwest::header::HeaderMap::new(), &s),
            s.default_ttl
        );
    }

    #[test]
    fn modulus_size_and_leading_zeros() {
        let n2048 = general_purpose::URL_SAFE_NO_PAD.encode([0xC5u8; 256]);
        let e = "AQAB";
        assert!(rsa_components(&n2048, e).is_some());
        let mut padded = vec![0u8, 0u8];
        padded.extend([0xC5u8; 256]);
        let (n, _) =
            rsa_components(&general_purpose::URL_SAFE_NO_PAD.encode(&padded), "AAEAAQ").unwrap();
        assert_eq!(n.len(), 256);
        let n1024 = general_purpose::URL_SAFE_NO_PAD.encode([0xC5u8; 128]);
        assert!(rsa_components(&n1024, e).is_none());
        // 2047 bits: top byte 0x7F.
        let mut short = vec![0x7Fu8];
        short.extend([0xC5u8; 255]);
        assert!(rsa_components(&general_purpose::URL_SAFE_NO_PAD.encode(&short), e).is_none());
        assert!(rsa_components("!!", e).is_none());
    }

    #[test]
    fn unusable_keys_are_dropped_and_garbage_rejected() {
        let s = settings();
        assert_eq!(
            parse_key_set(b"not json", &s, None).err(),
            Some(KeysUnavailableReason::InvalidJwks)
        );
        assert_eq!(
            parse_key_set(b"{\"keys\":{}}", &s, None).err(),
            Some(KeysUnavailableReason::InvalidJwks)
        );
        let many = format!("{{\"keys\":[{}]}}", vec!["{}"; s.max_keys + 1].join(","));
        assert_eq!(
            parse_key_set(many.as_bytes(), &s, None).err(),
            Some(KeysUnavailableReason::TooManyKeys)
        );
        let set = parse_key_set(
            br#"{"keys":[{"kty":"oct","kid":"a","k":"AAAA"},{"kty":"RSA","use":"enc","kid":"b","n":"AQAB","e":"AQAB"},"x",1]}"#,
            &s,
            None,
        )
        .unwrap();
        assert!(set.is_empty());
    }

    #[test]
    fn token_segments_are_strict() {
        assert_eq!(decode_segment("YQ").unwrap(), b"a");
        assert!(decode_segment("YQ==").is_none());
        assert!(
            decode_segment("YR").is_none(),
            "non-canonical trailing bits"
        );
        assert!(decode_segment("Y+").is_none());
    }
}
