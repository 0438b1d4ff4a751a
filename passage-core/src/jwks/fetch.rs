//! Fetching the JWKS over HTTP: one bounded GET, conditional when the last answer carried a
//! validator, and the freshness its `Cache-Control` grants.

use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};

use crate::config::JwksSettings;
use crate::error::KeysUnavailableReason;
use crate::transport::{ReadError, read_limited};

/// What a previous answer let us send to ask "has it changed?".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Validators {
    pub(crate) etag: Option<HeaderValue>,
    pub(crate) last_modified: Option<HeaderValue>,
}

impl Validators {
    fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            etag: headers.get(header::ETAG).cloned(),
            last_modified: headers.get(header::LAST_MODIFIED).cloned(),
        }
    }

    /// The 304's validators where it sent them, else the ones we already had.
    fn renewed(&self, headers: &HeaderMap) -> Self {
        let fresh = Self::from_headers(headers);
        Self {
            etag: fresh.etag.or_else(|| self.etag.clone()),
            last_modified: fresh.last_modified.or_else(|| self.last_modified.clone()),
        }
    }
}

/// The answer of one fetch.
pub(crate) enum Fetched {
    /// A (new) document.
    Document {
        body: Vec<u8>,
        ttl: Duration,
        validators: Validators,
    },
    /// 304: the document we hold is still current.
    NotModified {
        ttl: Duration,
        validators: Validators,
    },
}

/// GETs the JWKS within `settings.fetch_timeout` (connection, headers and body together).
pub(crate) async fn fetch(
    http: &reqwest::Client,
    url: &str,
    settings: &JwksSettings,
    validators: Option<&Validators>,
) -> Result<Fetched, KeysUnavailableReason> {
    let url = reqwest::Url::parse(url).map_err(|_| KeysUnavailableReason::Transport)?;
    let attempt = async {
        let mut request = crate::transport::request(http, reqwest::Method::GET, url.clone())
            .header(header::ACCEPT, "application/json")
            .timeout(settings.fetch_timeout);
        if let Some(validators) = validators {
            if let Some(etag) = &validators.etag {
                request = request.header(header::IF_NONE_MATCH, etag.clone());
            }
            if let Some(modified) = &validators.last_modified {
                request = request.header(header::IF_MODIFIED_SINCE, modified.clone());
            }
        }
        let response = request.send().await.map_err(classify)?;
        if crate::transport::redirected(&response, &url) {
            return Err(KeysUnavailableReason::Redirected);
        }
        let status = response.status();
        let ttl = ttl_from_headers(response.headers(), settings);
        if status == reqwest::StatusCode::NOT_MODIFIED
            && let Some(validators) = validators
        {
            return Ok(Fetched::NotModified {
                ttl,
                validators: validators.renewed(response.headers()),
            });
        }
        if !status.is_success() {
            return Err(KeysUnavailableReason::Status(status.as_u16()));
        }
        let fresh_validators = Validators::from_headers(response.headers());
        let body = read_limited(response, settings.max_response_bytes)
            .await
            .map_err(|error| match error {
                ReadError::TooLarge => KeysUnavailableReason::TooLarge,
                ReadError::Transport(error) => classify(error),
            })?;
        Ok(Fetched::Document {
            body,
            ttl,
            validators: fresh_validators,
        })
    };
    tokio::time::timeout(settings.fetch_timeout, attempt)
        .await
        .map_err(|_| KeysUnavailableReason::Timeout)?
}

fn classify(error: reqwest::Error) -> KeysUnavailableReason {
    if error.is_timeout() {
        KeysUnavailableReason::Timeout
    } else {
        tracing::debug!(error = %crate::transport::error_chain(&error), "JWKS request failed");
        KeysUnavailableReason::Transport
    }
}

/// `max-age` from `Cache-Control`, clamped to the configured bounds; `no-store`/`no-cache`
/// give the lower bound; no usable directive gives the default.
pub(crate) fn ttl_from_headers(headers: &HeaderMap, settings: &JwksSettings) -> Duration {
    let mut ttl = None;
    for value in headers.get_all(header::CACHE_CONTROL) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_is_honoured_within_bounds() {
        let s = JwksSettings::default();
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CACHE_CONTROL, v.parse().unwrap());
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
        assert_eq!(ttl_from_headers(&HeaderMap::new(), &s), s.default_ttl);
    }

    #[test]
    fn a_304_keeps_old_validators_it_does_not_resend() {
        let old = Validators {
            etag: Some(HeaderValue::from_static("\"v1\"")),
            last_modified: Some(HeaderValue::from_static("Mon, 01 Jan 2024 00:00:00 GMT")),
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, HeaderValue::from_static("\"v2\""));
        let renewed = old.renewed(&headers);
        assert_eq!(renewed.etag, Some(HeaderValue::from_static("\"v2\"")));
        assert_eq!(renewed.last_modified, old.last_modified);
    }
}
