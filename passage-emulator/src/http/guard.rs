//! Defences of a server on the developer's machine against the web pages the developer visits.
//!
//! - **DNS rebinding**: a page on `evil.example` whose name is made to resolve to 127.0.0.1 reaches
//!   the emulator with `Host: evil.example`. Only loopback names (`localhost`, `*.localhost`),
//!   IP literals (a page on an IP address is that address's own origin: rebinding needs a name),
//!   the hosts of the configured origins (the emulator's own, the app's auth origin and
//!   redirect URL) and the extra allowed hosts (`--allowed-host`) are served; any other `Host`
//!   gets 403.
//! - **Cross-site requests**: a page can send a form or a `no-cors` `fetch` to any server. A
//!   state-changing request to the login form or the emulator's controls with an `Origin` that is
//!   not loopback or one of those hosts (an IP literal is another site here; `Origin: null` too),
//!   or without `Origin` but marked
//!   `Sec-Fetch-Site: cross-site`, gets 403. (JSON endpoints also refuse a body that is not
//!   `application/json`, which a cross-site page cannot send without a preflight: see
//!   [`super::extract::JsonBody`].)
//! - **Framing**: HTML pages carry `X-Frame-Options: DENY` and a Content-Security-Policy that
//!   allows scripts and requests of the page's own origin only, no framing, and nothing loaded
//!   from elsewhere.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The policy of the HTML pages: inline styles, and scripts and requests of their own origin
/// only (the passkey script).
const HTML_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                           style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; \
                           base-uri 'none'";

/// The hosts, besides loopback ones, that requests may name: those of the configured origins.
#[derive(Debug, Clone, Default)]
pub(crate) struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// The hosts of `origins` (URLs; those that do not parse are left out).
    pub(crate) fn of<'a>(origins: impl IntoIterator<Item = &'a str>) -> Self {
        Self(
            origins
                .into_iter()
                .filter_map(|origin| origin.parse::<Uri>().ok())
                .filter_map(|uri| uri.host().map(normalise))
                .collect(),
        )
    }

    /// These hosts too (names or IP literals, e.g. a container's service name).
    pub(crate) fn with_hosts<'a>(mut self, hosts: impl IntoIterator<Item = &'a str>) -> Self {
        self.0.extend(hosts.into_iter().map(normalise));
        self
    }

    /// Whether `host` (normalised) is loopback or configured.
    fn is_ours(&self, host: &str) -> bool {
        is_loopback_name(host)
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            || self.0.iter().any(|allowed| allowed == host)
    }

    /// Whether a `Host` header value (`name[:port]`) may be served: ours, or an IP literal (a
    /// page on an IP address is that address's own origin; rebinding needs a name).
    fn allows_authority(&self, authority: &str) -> bool {
        match authority.parse::<axum::http::uri::Authority>() {
            Ok(authority) => {
                let host = normalise(authority.host());
                self.is_ours(&host) || host.parse::<IpAddr>().is_ok()
            }
            Err(_) => false,
        }
    }

    /// Whether an `Origin` header value (`scheme://host[:port]`) is one of ours: a page on
    /// another address, even an IP literal, is another site.
    fn allows_origin(&self, origin: &str) -> bool {
        match origin.parse::<Uri>() {
            Ok(uri) if uri.scheme().is_some() => uri
                .host()
                .is_some_and(|host| self.is_ours(&normalise(host))),
            _ => false,
        }
    }
}

/// Lower case, without IPv6 brackets or a trailing dot.
fn normalise(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

fn is_loopback_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// Paths a cross-site page must not change state through: the login form, its passkey
/// endpoints and the controls.
fn is_guarded_path(path: &str) -> bool {
    path == "/login" || path.starts_with("/passkeys/") || path.starts_with("/emulator/")
}

fn forbidden(code: &'static str, message: &'static str) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, code, message).into_response()
}

/// The middleware: refuses what the module docs say, and marks HTML answers.
pub(crate) async fn middleware(
    State(allowed): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    // HTTP/1.1 requires `Host`; a request without one did not come from a browser.
    if let Some(host) = headers.get(header::HOST) {
        let ok = host.to_str().is_ok_and(|h| allowed.allows_authority(h));
        if !ok {
            return forbidden(
                "host_not_allowed",
                "The Host header names no origin this emulator serves",
            );
        }
    }
    let path = request.uri().path();
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state && is_guarded_path(path) {
        let ok = match headers.get(header::ORIGIN) {
            Some(origin) => origin.to_str().is_ok_and(|o| allowed.allows_origin(o)),
            None => headers
                .get("sec-fetch-site")
                .is_none_or(|site| site.as_bytes() != b"cross-site"),
        };
        if !ok {
            return forbidden(
                "cross_origin_request",
                "Requests from another site's pages are refused",
            );
        }
    }
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        let headers = response.headers_mut();
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(HTML_POLICY),
        );
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_configured_hosts_are_allowed() {
        let allowed = AllowedHosts::of(["http://127.0.0.1:8788", "https://Auth.Example.com/"]);
        for host in [
            "127.0.0.1:8788",
            "127.1.2.3",
            "localhost",
            "LOCALHOST:3000",
            "app.localhost:80",
            "[::1]:8788",
            "localhost.",
            "auth.example.com",
            "auth.example.com:443",
            "10.0.0.1:8788",
            "[2001:db8::1]",
        ] {
            assert!(allowed.allows_authority(host), "{host}");
        }
        for host in [
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "example.com",
            "",
            "bad host",
        ] {
            assert!(!allowed.allows_authority(host), "{host}");
        }
    }

    #[test]
    fn origins_are_judged_by_their_host() {
        let allowed = AllowedHosts::of(["http://127.0.0.1:8788"]);
        assert!(allowed.allows_origin("http://localhost:3000"));
        assert!(allowed.allows_origin("http://127.0.0.1:8788"));
        assert!(!allowed.allows_origin("https://evil.example"));
        assert!(!allowed.allows_origin("null"));
        assert!(
            !allowed.allows_origin("http://203.0.113.7"),
            "another address is another site"
        );
        assert!(allowed.allows_origin("http://127.0.0.2:3000"));
        let extra = AllowedHosts::of([]).with_hosts(["passage-emulator"]);
        assert!(extra.allows_authority("passage-emulator:8788"));
        assert!(extra.allows_origin("http://Passage-Emulator:8788"));
        assert!(!allowed.allows_origin("localhost"));
    }
}
