//! Metrics through the [`metrics`](https://docs.rs/metrics) facade, when the `metrics` feature is
//! on: the application installs a recorder (Prometheus, StatsD, ...) and these land in it.
//! Without the feature every function here is empty and compiles away.
//!
//! The names and labels are listed in the README's "Metrics" section; a change here changes it.

use std::time::Duration;

use crate::error::AuthError;
#[cfg(feature = "metrics")]
use crate::error::{InvalidTokenReason, KeysUnavailableReason};

/// Metric names (the two counters every request touches are literals at their call sites, so
/// that their keys are `static`).
#[cfg(feature = "metrics")]
mod names {
    pub(crate) const JWKS_FETCHES: &str = "passage_jwks_fetches_total";
    pub(crate) const JWKS_FETCH_DURATION: &str = "passage_jwks_fetch_duration_seconds";
    pub(crate) const KEYS_UNAVAILABLE: &str = "passage_keys_unavailable_total";
    pub(crate) const MANAGEMENT_CALLS: &str = "passage_management_calls_total";
    pub(crate) const MANAGEMENT_CALL_DURATION: &str = "passage_management_call_duration_seconds";
}

/// Counts one verification outcome. The names and labels are literals, so each call site's key
/// is a `static` with its hash computed at compile time: the recorder's lookup is all that runs
/// per request (labels from variables would allocate and hash a key on every call).
#[cfg(feature = "metrics")]
macro_rules! count_verification {
    ($outcome:literal, $reason:tt) => {
        ::metrics::counter!("passage_verifications_total", "outcome" => $outcome, "reason" => $reason)
            .increment(1)
    };
}

/// The outcome of one authentication (extraction and verification).
#[inline]
pub(crate) fn verification<T>(outcome: &Result<T, AuthError>) {
    #[cfg(feature = "metrics")]
    match outcome {
        Ok(_) => count_verification!("valid", "none"),
        Err(AuthError::MissingToken) => count_verification!("missing_token", "none"),
        Err(AuthError::InvalidToken(reason)) => invalid_token(*reason),
        Err(AuthError::KeysUnavailable(reason)) => {
            let reason = unavailable_label(reason);
            ::metrics::counter!(names::KEYS_UNAVAILABLE, "reason" => reason).increment(1);
            count_verification!("keys_unavailable", reason);
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = outcome;
}

/// A lookup in the verified-token cache.
#[inline]
pub(crate) fn token_cache(hit: bool) {
    #[cfg(feature = "metrics")]
    {
        if hit {
            ::metrics::counter!("passage_token_cache_total", "result" => "hit").increment(1);
        } else {
            ::metrics::counter!("passage_token_cache_total", "result" => "miss").increment(1);
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = hit;
}

/// How a JWKS fetch ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FetchOutcome {
    /// A new document was installed.
    Updated,
    /// 304: the set in hand was renewed.
    NotModified,
    /// No usable answer.
    Failed,
}

/// One JWKS fetch: why it ran, how it ended, how long it took.
#[inline]
pub(crate) fn jwks_fetch(cause: &'static str, outcome: FetchOutcome, took: Duration) {
    #[cfg(feature = "metrics")]
    {
        let outcome = match outcome {
            FetchOutcome::Updated => "updated",
            FetchOutcome::NotModified => "not_modified",
            FetchOutcome::Failed => "failed",
        };
        ::metrics::counter!(names::JWKS_FETCHES, "cause" => cause, "outcome" => outcome)
            .increment(1);
        ::metrics::histogram!(names::JWKS_FETCH_DURATION, "outcome" => outcome).record(took);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (cause, outcome, took);
}

/// One management call that reached the network: its route, its answer, how long it took.
#[inline]
pub(crate) fn management_call(
    method: &reqwest::Method,
    path: &'static str,
    status: Result<u16, &'static str>,
    took: Duration,
) {
    #[cfg(feature = "metrics")]
    {
        let method = method.as_str().to_owned();
        let status = match status {
            Ok(status) => status.to_string(),
            Err(kind) => kind.to_owned(),
        };
        ::metrics::counter!(
            names::MANAGEMENT_CALLS,
            "method" => method.clone(),
            "path" => path,
            "status" => status
        )
        .increment(1);
        ::metrics::histogram!(names::MANAGEMENT_CALL_DURATION, "method" => method, "path" => path)
            .record(took);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (method, path, status, took);
}

#[cfg(feature = "metrics")]
fn invalid_token(reason: InvalidTokenReason) {
    use InvalidTokenReason as R;
    match reason {
        R::Malformed => count_verification!("invalid_token", "malformed"),
        R::TooLarge => count_verification!("invalid_token", "too_large"),
        R::UnsupportedAlgorithm => count_verification!("invalid_token", "unsupported_algorithm"),
        R::MissingKeyId => count_verification!("invalid_token", "missing_key_id"),
        R::UnknownKeyId => count_verification!("invalid_token", "unknown_key_id"),
        R::ForbiddenHeader => count_verification!("invalid_token", "forbidden_header"),
        R::BadSignature => count_verification!("invalid_token", "bad_signature"),
        R::Expired => count_verification!("invalid_token", "expired"),
        R::NotYetValid => count_verification!("invalid_token", "not_yet_valid"),
        R::IssuedInFuture => count_verification!("invalid_token", "issued_in_future"),
        R::ExpiryTooFar => count_verification!("invalid_token", "expiry_too_far"),
        R::MissingExpiry => count_verification!("invalid_token", "missing_expiry"),
        R::WrongIssuer => count_verification!("invalid_token", "wrong_issuer"),
        R::WrongAudience => count_verification!("invalid_token", "wrong_audience"),
        R::MissingSubject => count_verification!("invalid_token", "missing_subject"),
        R::InvalidClaims => count_verification!("invalid_token", "invalid_claims"),
    }
}

#[cfg(feature = "metrics")]
fn unavailable_label(reason: &KeysUnavailableReason) -> &'static str {
    match reason {
        KeysUnavailableReason::Timeout => "timeout",
        KeysUnavailableReason::Transport => "transport",
        KeysUnavailableReason::Status(_) => "status",
        KeysUnavailableReason::Redirected => "redirected",
        KeysUnavailableReason::TooLarge => "too_large",
        KeysUnavailableReason::InvalidJwks => "invalid_jwks",
        KeysUnavailableReason::TooManyKeys => "too_many_keys",
        KeysUnavailableReason::NoUsableKeys => "no_usable_keys",
        KeysUnavailableReason::NoRuntime => "no_runtime",
        KeysUnavailableReason::Backoff { .. } => "backoff",
    }
}
