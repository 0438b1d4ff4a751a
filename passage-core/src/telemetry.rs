//! Metrics through the [`metrics`](https://docs.rs/metrics) facade, when the `metrics` feature is
//! on: the application installs a recorder (Prometheus, StatsD, ...) and these land in it.
//! Without the feature every function here is empty and compiles away.
//!
//! The names and labels are listed in the README's "Metrics" section; a change here changes it.

use std::time::Duration;

use crate::error::AuthError;
#[cfg(feature = "metrics")]
use crate::error::{InvalidTokenReason, KeysUnavailableReason};

/// Metric names.
#[cfg(feature = "metrics")]
mod names {
    pub(crate) const VERIFICATIONS: &str = "passage_verifications_total";
    pub(crate) const TOKEN_CACHE: &str = "passage_token_cache_total";
    pub(crate) const JWKS_FETCHES: &str = "passage_jwks_fetches_total";
    pub(crate) const JWKS_FETCH_DURATION: &str = "passage_jwks_fetch_duration_seconds";
    pub(crate) const KEYS_UNAVAILABLE: &str = "passage_keys_unavailable_total";
    pub(crate) const MANAGEMENT_CALLS: &str = "passage_management_calls_total";
    pub(crate) const MANAGEMENT_CALL_DURATION: &str = "passage_management_call_duration_seconds";
}

/// The outcome of one authentication (extraction and verification).
#[inline]
pub(crate) fn verification<T>(outcome: &Result<T, AuthError>) {
    #[cfg(feature = "metrics")]
    {
        let (label, reason) = match outcome {
            Ok(_) => ("valid", "none"),
            Err(AuthError::MissingToken) => ("missing_token", "none"),
            Err(AuthError::InvalidToken(reason)) => ("invalid_token", invalid_label(*reason)),
            Err(AuthError::KeysUnavailable(reason)) => {
                let reason = unavailable_label(reason);
                ::metrics::counter!(names::KEYS_UNAVAILABLE, "reason" => reason).increment(1);
                ("keys_unavailable", reason)
            }
        };
        ::metrics::counter!(names::VERIFICATIONS, "outcome" => label, "reason" => reason)
            .increment(1);
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
            ::metrics::counter!(names::TOKEN_CACHE, "result" => "hit").increment(1);
        } else {
            ::metrics::counter!(names::TOKEN_CACHE, "result" => "miss").increment(1);
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
fn invalid_label(reason: InvalidTokenReason) -> &'static str {
    match reason {
        InvalidTokenReason::Malformed => "malformed",
        InvalidTokenReason::TooLarge => "too_large",
        InvalidTokenReason::UnsupportedAlgorithm => "unsupported_algorithm",
        InvalidTokenReason::MissingKeyId => "missing_key_id",
        InvalidTokenReason::UnknownKeyId => "unknown_key_id",
        InvalidTokenReason::ForbiddenHeader => "forbidden_header",
        InvalidTokenReason::BadSignature => "bad_signature",
        InvalidTokenReason::Expired => "expired",
        InvalidTokenReason::NotYetValid => "not_yet_valid",
        InvalidTokenReason::IssuedInFuture => "issued_in_future",
        InvalidTokenReason::ExpiryTooFar => "expiry_too_far",
        InvalidTokenReason::MissingExpiry => "missing_expiry",
        InvalidTokenReason::WrongIssuer => "wrong_issuer",
        InvalidTokenReason::WrongAudience => "wrong_audience",
        InvalidTokenReason::MissingSubject => "missing_subject",
        InvalidTokenReason::InvalidClaims => "invalid_claims",
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
