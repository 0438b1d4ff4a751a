//! One conformance suite for every adapter: the same scenarios (valid, absent, expired, forged and
//! other apps' tokens, optional routes, 503 with `Retry-After`, a missing handle, middleware reuse,
//! both strategies), run against each framework through its own test harness.
//!
//! An adapter's test file implements [`Harness`] (build the suite's routes, send requests, hand
//! back the replies) and calls [`conformance_suite!`](crate::conformance_suite), which writes one
//! test per scenario. What only one adapter has stays in that adapter's own tests.

use passage_core::{AuthStrategy, Passage};

use crate::adapter_fixtures::{BOTH, Fixture, LEAKY, token_header, unreachable_passage};

/// The app a harness builds.
///
/// Routes, all answering 200 with the user ID as the body (or `anonymous`):
/// - `/required`: the required-user extractor (guard, filter), reading the handle in `state`;
/// - `/optional`: the optional one, answering `anonymous` without a token;
/// - when the framework has middleware ([`Harness::MIDDLEWARE`]) and `layer` is set,
///   `/guarded/me` and `/guarded/maybe`: the same two extractors behind the middleware built on
///   `layer`.
#[derive(Debug, Clone)]
pub struct Routes {
    /// The handle in the framework's state (app data, managed state, router state, the filters'
    /// argument); `None` only in [`a_missing_handle_is_a_500`], which a harness runs only where an
    /// app without a handle can be built at all.
    pub state: Option<Passage>,
    /// The middleware's handle.
    pub layer: Option<Passage>,
}

/// A GET the suite sends: path and at most one header.
#[derive(Debug, Clone)]
pub struct Get {
    /// The path.
    pub path: &'static str,
    /// A header, e.g. from [`token_header`].
    pub header: Option<(&'static str, String)>,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A reply from a framework's status, header pairs (names in any case) and body.
    pub fn new<N, V>(status: u16, headers: impl IntoIterator<Item = (N, V)>, body: Vec<u8>) -> Self
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let headers = headers
            .into_iter()
            .map(|(name, value)| {
                (
                    name.as_ref().to_ascii_lowercase(),
                    String::from_utf8_lossy(value.as_ref()).into_owned(),
                )
            })
            .collect();
        Self {
            status,
            headers,
            body,
        }
    }

    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("<not utf-8>")
    }
}

/// How the suite drives one framework.
// The futures run on the test's own task, so no `Send` bound is wanted (actix's are not `Send`).
#[allow(async_fn_in_trait)]
pub trait Harness {
    /// The framework's name, for messages.
    const NAME: &'static str;
    /// Whether the framework has middleware that verifies before the handler runs.
    const MIDDLEWARE: bool;

    /// Builds the app for `routes`, sends `requests` in order, and returns the replies.
    async fn serve(&self, routes: Routes, requests: Vec<Get>) -> Vec<Reply>;
}

fn other(strategy: AuthStrategy) -> AuthStrategy {
    match strategy {
        AuthStrategy::Cookie => AuthStrategy::Header,
        _ => AuthStrategy::Cookie,
    }
}

fn paths<H: Harness>(layer: bool, required: bool, optional: bool) -> Vec<&'static str> {
    let mut paths = Vec::new();
    if required {
        paths.push("/required");
    }
    if optional {
        paths.push("/optional");
    }
    if layer && H::MIDDLEWARE {
        if required {
            paths.push("/guarded/me");
        }
        if optional {
            paths.push("/guarded/maybe");
        }
    }
    paths
}

/// A GET of each path, all with `header`.
fn gets(paths: &[&'static str], header: Option<(&'static str, String)>) -> Vec<Get> {
    paths
        .iter()
        .map(|&path| Get {
            path,
            header: header.clone(),
        })
        .collect()
}

fn same(passage: &Passage) -> Routes {
    Routes {
        state: Some(passage.clone()),
        layer: Some(passage.clone()),
    }
}

/// Checks a refusal's body: JSON with a `code`, and silent about why.
fn assert_terse(name: &str, path: &str, reply: &Reply) {
    let text = reply.text();
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{name} {path}"
    );
    let json: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|_| panic!("{name} {path}: not JSON: {text}"));
    assert!(json.get("code").is_some(), "{name} {path}: {text}");
    for word in LEAKY {
        assert!(
            !text.contains(word),
            "{name} {path}: body leaks {word:?}: {text}"
        );
    }
}

/// A valid token passes every route, in both strategies.
pub async fn valid_tokens_pass<H: Harness>(harness: &H) {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let paths = paths::<H>(true, true, true);
        let requests = gets(&paths, Some(token_header(strategy, &fx.token)));
        let replies = harness.serve(same(&fx.passage(strategy)), requests).await;
        for (path, reply) in paths.iter().zip(&replies) {
            assert_eq!(
                (reply.status, reply.text()),
                (200, fx.user_id.as_str()),
                "{} {strategy} {path}",
                H::NAME
            );
        }
    }
}

/// No token: 401 with a challenge naming the app as realm and no `error`, a terse JSON body; a
/// token where the other strategy would look does not count.
pub async fn absent_token_is_401_with_a_bare_challenge<H: Harness>(harness: &H) {
    let fx = Fixture::start().await;
    let challenge = format!("Bearer realm=\"{}\"", fx.emu.app_id());
    for strategy in BOTH {
        let paths = paths::<H>(true, true, false);
        let mut requests = gets(&paths, None);
        requests.push(Get {
            path: "/required",
            header: Some(token_header(other(strategy), &fx.token)),
        });
        let replies = harness.serve(same(&fx.passage(strategy)), requests).await;
        for (path, reply) in paths
            .iter()
            .chain(["/required (other source)"].iter())
            .zip(&replies)
        {
            assert_eq!(reply.status, 401, "{} {strategy} {path}", H::NAME);
            assert_eq!(
                reply.header("www-authenticate"),
                Some(challenge.as_str()),
                "{} {strategy} {path}",
                H::NAME
            );
            assert!(reply.header("retry-after").is_none());
            assert_terse(H::NAME, path, reply);
        }
    }
}

/// Expired, forged, another app's and malformed tokens: 401 `error="invalid_token"` on every
/// route, optional ones included (a bad token never passes as anonymous).
pub async fn invalid_tokens_are_401_invalid_token<H: Harness>(harness: &H) {
    let fx = Fixture::start().await;
    let stranger = Fixture::start().await;
    let other_apps = stranger
        .emu
        .mint_token(&fx.user_id)
        .expect("token of another app");
    let challenge = format!(
        "Bearer realm=\"{}\", error=\"invalid_token\"",
        fx.emu.app_id()
    );
    let tokens = [
        ("expired", fx.expired()),
        ("forged", fx.forged()),
        ("other app", other_apps),
        ("not a JWT", "not-a-jwt".to_owned()),
        (
            "oversized",
            format!("{}.{}", fx.token, "A".repeat(16 * 1024)),
        ),
    ];
    for strategy in BOTH {
        let paths = paths::<H>(true, true, true);
        let mut requests = Vec::new();
        let mut labels = Vec::new();
        for (label, token) in &tokens {
            for &path in &paths {
                requests.push(Get {
                    path,
                    header: Some(token_header(strategy, token)),
                });
                labels.push(format!("{label} {path}"));
            }
        }
        let replies = harness.serve(same(&fx.passage(strategy)), requests).await;
        for (label, reply) in labels.iter().zip(&replies) {
            assert_eq!(reply.status, 401, "{} {strategy} {label}", H::NAME);
            assert_eq!(
                reply.header("www-authenticate"),
                Some(challenge.as_str()),
                "{} {strategy} {label}",
                H::NAME
            );
            assert_terse(H::NAME, label, reply);
        }
    }
}

/// Optional routes answer anonymous without a token, in both strategies.
pub async fn optional_routes_are_anonymous_without_a_token<H: Harness>(harness: &H) {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let paths = paths::<H>(false, false, true);
        let requests = gets(&paths, None);
        let replies = harness.serve(same(&fx.passage(strategy)), requests).await;
        for (path, reply) in paths.iter().zip(&replies) {
            assert_eq!(
                (reply.status, reply.text()),
                (200, "anonymous"),
                "{} {strategy} {path}",
                H::NAME
            );
        }
    }
}

/// Keys that cannot be had: 503 with `Retry-After` (1 to 60 s), no challenge, a terse body, on
/// optional routes too (a token was sent; it cannot be checked).
pub async fn unavailable_keys_are_503_with_retry_after<H: Harness>(harness: &H) {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let passage = unreachable_passage(strategy);
        let paths = paths::<H>(true, true, true);
        let requests = gets(&paths, Some(token_header(strategy, &fx.token)));
        let replies = harness.serve(same(&passage), requests).await;
        for (path, reply) in paths.iter().zip(&replies) {
            assert_eq!(reply.status, 503, "{} {strategy} {path}", H::NAME);
            let retry: u64 = reply
                .header("retry-after")
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{} {path}: no Retry-After", H::NAME));
            assert!((1..=60).contains(&retry), "{} {path}: {retry}", H::NAME);
            assert!(reply.header("www-authenticate").is_none());
            assert_terse(H::NAME, path, reply);
        }
    }
}

/// No handle in the state: 500 with a terse body (`passage_not_configured`), never a panic; the
/// middleware's own handle is enough for the routes behind it. Only for frameworks where such an
/// app can be built (not where the handle is checked at compile time or at launch).
pub async fn a_missing_handle_is_a_500<H: Harness>(harness: &H) {
    let fx = Fixture::start().await;
    let passage = fx.passage(AuthStrategy::Header);
    let header = Some(token_header(AuthStrategy::Header, &fx.token));
    let mut requests = vec![
        Get {
            path: "/required",
            header: header.clone(),
        },
        Get {
            path: "/optional",
            header: header.clone(),
        },
    ];
    if H::MIDDLEWARE {
        requests.push(Get {
            path: "/guarded/me",
            header,
        });
    }
    let routes = Routes {
        state: None,
        layer: Some(passage),
    };
    let replies = harness.serve(routes, requests).await;
    for (path, reply) in ["/required", "/optional"].iter().zip(&replies) {
        assert_eq!(reply.status, 500, "{} {path}", H::NAME);
        assert_terse(H::NAME, path, reply);
        assert!(
            reply.text().contains("passage_not_configured"),
            "{}",
            reply.text()
        );
    }
    if let Some(reply) = replies.get(2) {
        assert_eq!((reply.status, reply.text()), (200, fx.user_id.as_str()));
    }
}

/// Behind the middleware, the extractors reuse the user it verified only when it used the same
/// handle as the state names; with another handle (here one that cannot reach any keys) they
/// verify again, so a token of app A never passes on app B's routes behind A's middleware.
pub async fn middleware_users_are_reused_only_for_the_same_handle<H: Harness>(harness: &H) {
    assert!(H::MIDDLEWARE, "{} has no middleware to test", H::NAME);
    let fx = Fixture::start().await;
    let strategy = AuthStrategy::Header;
    let requests = || {
        gets(
            &["/guarded/me", "/guarded/maybe"],
            Some(token_header(strategy, &fx.token)),
        )
    };
    let passage = fx.passage(strategy);
    let replies = harness.serve(same(&passage), requests()).await;
    for reply in &replies {
        assert_eq!((reply.status, reply.text()), (200, fx.user_id.as_str()));
    }
    let routes = Routes {
        state: Some(unreachable_passage(strategy)),
        layer: Some(passage),
    };
    let replies = harness.serve(routes, requests()).await;
    for reply in &replies {
        assert_eq!(reply.status, 503, "{}: {}", H::NAME, reply.text());
    }
}

/// Writes one test per scenario of the suite for a harness.
///
/// `conformance_suite!(tokio::test, MyHarness)` in an adapter's test file: the first argument is
/// the test attribute the framework's harness needs (`actix_web::test`, `tokio::test`), the second
/// an expression building the [`Harness`]. The scenarios every framework runs are always written;
/// those that only apply to some are named after them, for example
/// `conformance_suite!(actix_web::test, Actix, a_missing_handle_is_a_500,
/// middleware_users_are_reused_only_for_the_same_handle)`, so no test passes by skipping itself.
#[macro_export]
macro_rules! conformance_suite {
    ($test:meta, $harness:expr $(, $extra:ident)* $(,)?) => {
        mod conformance_suite {
            use super::*;

            #[$test]
            async fn valid_tokens_pass() {
                $crate::conformance::valid_tokens_pass(&$harness).await;
            }

            #[$test]
            async fn absent_token_is_401_with_a_bare_challenge() {
                $crate::conformance::absent_token_is_401_with_a_bare_challenge(&$harness).await;
            }

            #[$test]
            async fn invalid_tokens_are_401_invalid_token() {
                $crate::conformance::invalid_tokens_are_401_invalid_token(&$harness).await;
            }

            #[$test]
            async fn optional_routes_are_anonymous_without_a_token() {
                $crate::conformance::optional_routes_are_anonymous_without_a_token(&$harness)
                    .await;
            }

            #[$test]
            async fn unavailable_keys_are_503_with_retry_after() {
                $crate::conformance::unavailable_keys_are_503_with_retry_after(&$harness).await;
            }

            $(
                #[$test]
                async fn $extra() {
                    $crate::conformance::$extra(&$harness).await;
                }
            )*
        }
    };
}
