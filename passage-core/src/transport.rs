//! HTTP helpers shared by the JWKS cache and the management client.

use std::time::Duration;

/// The `User-Agent` of every request this SDK makes, set on each request (so it holds with a
/// client the application built, too).
pub(crate) const USER_AGENT: &str = concat!("passage-rs/", env!("CARGO_PKG_VERSION"));

/// A request from the SDK: `method` on `url`, with the SDK's `User-Agent`.
pub(crate) fn request(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: reqwest::Url,
) -> reqwest::RequestBuilder {
    http.request(method, url)
        .header(reqwest::header::USER_AGENT, USER_AGENT)
}

/// Whether `response` comes from another place than `requested`: the client followed a
/// redirect. The SDK's own client never does; one the application hands over may, and its
/// answer is refused (the SDK's policy is that the JWKS and the API are where they are
/// configured, and nowhere a response points to).
pub(crate) fn redirected(response: &reqwest::Response, requested: &reqwest::Url) -> bool {
    let reached = response.url();
    reached.origin() != requested.origin() || reached.path() != requested.path()
}

/// Why a body could not be read.
pub(crate) enum ReadError {
    /// Longer than the limit.
    TooLarge,
    /// The transfer failed.
    Transport(reqwest::Error),
}

/// Reads a body chunk by chunk, refusing it as soon as it passes `limit` (whatever
/// `Content-Length` claims).
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error and its causes, `: `-separated (reqwest's `Display` leaves the cause out).
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Exponential backoff for the `attempt`-th retry (from 1), capped, with jitter in [50 %, 100 %].
pub(crate) fn backoff(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(20);
    let step = initial.saturating_mul(1u32 << exp).min(max);
    step.mul_f64(0.5 + 0.5 * random_unit())
}

/// A uniformly distributed number in [0, 1), for jitter.
pub(crate) fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    // On the (never observed) failure of the system RNG, fall back to no jitter.
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let (initial, max) = (Duration::from_millis(500), Duration::from_secs(30));
        for attempt in 1..30 {
            let d = backoff(initial, max, attempt);
            assert!(d <= max, "{d:?}");
            let step = initial.saturating_mul(1 << (attempt - 1).min(20)).min(max);
            assert!(d >= step / 2, "{d:?} < half of {step:?}");
        }
    }
}
