//! The framework-neutral view of a request ([`TokenSource`]) and token extraction by
//! [`AuthStrategy`].

use crate::config::{AUTH_COOKIE_NAME, AuthStrategy};
use crate::error::{AuthError, InvalidTokenReason};

/// The largest token accepted, in bytes; anything longer is refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// What an adapter hands over from its framework's request: the raw values of a header.
///
/// Adapters implement this one method; cookie parsing and `Bearer` handling live in the core.
///
/// ```
/// use passage_core::{AuthStrategy, TokenSource, extract_token};
///
/// struct Headers(Vec<(&'static str, &'static str)>);
///
/// impl TokenSource for Headers {
///     fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
///         self.0
///             .iter()
///             .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
///             .map(|(_, v)| v.as_bytes())
///     }
/// }
///
/// let request = Headers(vec![("cookie", "theme=dark; psg_auth_token=abc.def.ghi")]);
/// assert_eq!(extract_token(AuthStrategy::Cookie, &request).unwrap(), "abc.def.ghi");
/// ```
pub trait TokenSource {
    /// Every value of the header `name` (matched case-insensitively), in request order.
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a;
}

impl TokenSource for http::HeaderMap {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        // The names the extraction asks for, as constants: a `&str` name is parsed and
        // lower-cased on every lookup.
        let values = match name {
            "authorization" => self.get_all(http::header::AUTHORIZATION),
            "cookie" => self.get_all(http::header::COOKIE),
            other => self.get_all(other),
        };
        values.into_iter().map(http::HeaderValue::as_bytes)
    }
}

impl TokenSource for http::request::Parts {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers.header_values(name)
    }
}

impl<B> TokenSource for http::Request<B> {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers().header_values(name)
    }
}

/// Reads the token from exactly the one source the strategy names.
///
/// * [`AuthError::MissingToken`] when the source is absent or empty (an empty cookie is what a
///   sign-out leaves behind), or the `Authorization` header uses another scheme.
/// * [`AuthError::InvalidToken`] with [`InvalidTokenReason::Malformed`] when the value cannot be a
///   token (not UTF-8, characters outside base64url and `.`, conflicting duplicates), or
///   [`InvalidTokenReason::TooLarge`] when it is longer than [`MAX_TOKEN_BYTES`].
///
/// ```
/// use passage_core::{AuthError, AuthStrategy, extract_token};
/// let mut headers = http::HeaderMap::new();
/// headers.insert("authorization", "bearer a.b.c".parse().unwrap());
/// assert_eq!(extract_token(AuthStrategy::Header, &headers).unwrap(), "a.b.c");
/// assert!(matches!(extract_token(AuthStrategy::Cookie, &headers), Err(AuthError::MissingToken)));
/// ```
pub fn extract_token<S: TokenSource + ?Sized>(
    strategy: AuthStrategy,
    source: &S,
) -> Result<&str, AuthError> {
    let token = find_token(strategy, source)?;
    check_token_shape(token)?;
    Ok(token)
}

/// [`extract_token`] without the character check, which the verifier makes itself on a cache
/// miss: a cached token was checked when it was verified, so a hit need not read it again.
pub(crate) fn find_token<S: TokenSource + ?Sized>(
    strategy: AuthStrategy,
    source: &S,
) -> Result<&str, AuthError> {
    let found = match strategy {
        AuthStrategy::Header => bearer_token(source),
        AuthStrategy::Cookie => cookie_token(source),
    };
    let token = match found {
        Ok(token) => token,
        Err(AuthError::MissingToken) => {
            explain_missing(strategy, source);
            return Err(AuthError::MissingToken);
        }
        Err(error) => return Err(error),
    };
    Ok(token)
}

/// "Why 401?": at debug, says where the token was looked for and whether the request carried
/// one in the other place (a common set-up mistake). Never logs a value.
fn explain_missing<S: TokenSource + ?Sized>(strategy: AuthStrategy, source: &S) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let has_bearer = source
        .header_values("authorization")
        .any(|value| value.len() > 7 && value[..7].eq_ignore_ascii_case(b"bearer "));
    let has_cookie = source.header_values("cookie").any(|value| {
        std::str::from_utf8(value).is_ok_and(|cookies| {
            cookies
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .any(|(name, _)| name.trim() == AUTH_COOKIE_NAME)
        })
    });
    let (looked_in, other_place_has_token, hint) = match strategy {
        AuthStrategy::Cookie => (
            "the psg_auth_token cookie",
            has_bearer,
            "; it carries an Authorization: Bearer header, which the cookie strategy does not read (set PASSAGE_AUTH_STRATEGY=header to use it)",
        ),
        AuthStrategy::Header => (
            "the Authorization: Bearer header",
            has_cookie,
            "; it carries a psg_auth_token cookie, which the header strategy does not read (set PASSAGE_AUTH_STRATEGY=cookie to use it)",
        ),
    };
    tracing::debug!(
        looked_in,
        other_place_has_token,
        "no Passage token in the request{}",
        if other_place_has_token { hint } else { "" }
    );
}

/// Whether `b` may be in a token: base64url or `.`. Comparisons only (no table), so that a
/// loop over a token's bytes vectorises.
#[inline(always)]
fn is_token_byte(b: u8) -> bool {
    // `| 0x20` maps A-Z onto a-z and nothing else onto a-z.
    ((b | 0x20).wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'0') < 10)
        | (b == b'-')
        | (b == b'_')
        | (b == b'.')
}

/// Refuses oversized values and characters that no compact JWS contains.
pub(crate) fn check_token_shape(token: &str) -> Result<(), AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::InvalidToken(InvalidTokenReason::TooLarge));
    }
    // Comparisons and no early exit, so the loop vectorises: the check reads every byte of each
    // token the verifier has not seen (a table lookup per byte cost 0.16 µs per Passage token
    // in the load benchmark's profiles).
    if token.is_empty() || !token.bytes().fold(true, |ok, b| ok & is_token_byte(b)) {
        return Err(AuthError::InvalidToken(InvalidTokenReason::Malformed));
    }
    Ok(())
}

fn malformed() -> AuthError {
    AuthError::InvalidToken(InvalidTokenReason::Malformed)
}

fn bearer_token<S: TokenSource + ?Sized>(source: &S) -> Result<&str, AuthError> {
    let mut values = source.header_values("authorization");
    let Some(value) = values.next() else {
        return Err(AuthError::MissingToken);
    };
    if values.next().is_some() {
        // Two Authorization headers are ambiguous: refuse rather than pick one.
        return Err(malformed());
    }
    if value.len() > MAX_TOKEN_BYTES + 64 {
        return Err(AuthError::InvalidToken(InvalidTokenReason::TooLarge));
    }
    let value = std::str::from_utf8(value).map_err(|_| malformed())?.trim();
    let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MissingToken);
    }
    let token = rest.trim();
    if token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(token)
}

fn cookie_token<S: TokenSource + ?Sized>(source: &S) -> Result<&str, AuthError> {
    let mut found: Option<&str> = None;
    for header in source.header_values("cookie") {
        // A cookie header we cannot read may hide the token: refuse rather than ignore it.
        let header = std::str::from_utf8(header).map_err(|_| malformed())?;
        for pair in header.split(';') {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if name.trim() != AUTH_COOKIE_NAME {
                continue;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            if value.len() > MAX_TOKEN_BYTES {
                return Err(AuthError::InvalidToken(InvalidTokenReason::TooLarge));
            }
            match found {
                // Two different auth cookies (cookie tossing from a sibling path or subdomain):
                // fail closed instead of guessing which one the user meant.
                Some(previous) if previous != value => return Err(malformed()),
                _ => found = Some(value),
            }
        }
    }
    match found {
        None | Some("") => Err(AuthError::MissingToken),
        Some(token) => Ok(token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bytes_are_base64url_and_dots() {
        for b in 0..=u8::MAX {
            let expected = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
            assert_eq!(is_token_byte(b), expected, "byte {b:#04x}");
        }
    }

    fn headers(pairs: &[(&'static str, &[u8])]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, http::HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    fn header(value: &[u8]) -> Result<String, AuthError> {
        extract_token(AuthStrategy::Header, &headers(&[("authorization", value)]))
            .map(str::to_owned)
    }

    fn cookie(values: &[&[u8]]) -> Result<String, AuthError> {
        let pairs: Vec<_> = values.iter().map(|v| ("cookie", *v)).collect();
        extract_token(AuthStrategy::Cookie, &headers(&pairs)).map(str::to_owned)
    }

    fn is_malformed(r: Result<String, AuthError>) -> bool {
        matches!(
            r,
            Err(AuthError::InvalidToken(InvalidTokenReason::Malformed))
        )
    }

    #[test]
    fn header_maps_hand_over_every_value_of_a_name() {
        let map = headers(&[
            ("authorization", b"Bearer a"),
            ("Cookie", b"x=1"),
            ("cookie", b"y=2"),
            ("x-other", b"z"),
        ]);
        let values = |name| map.header_values(name).collect::<Vec<_>>();
        assert_eq!(values("authorization"), [b"Bearer a"]);
        assert_eq!(values("cookie"), [&b"x=1"[..], b"y=2"]);
        assert_eq!(values("x-other"), [b"z"]);
        assert!(values("x-absent").is_empty());
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for v in [
            &b"Bearer a.b.c"[..],
            b"bearer a.b.c",
            b"BEARER   a.b.c ",
            b"Bearer\ta.b.c",
        ] {
            assert_eq!(header(v).unwrap(), "a.b.c");
        }
    }

    #[test]
    fn header_missing_empty_or_other_scheme_is_no_token() {
        assert!(matches!(
            extract_token(AuthStrategy::Header, &http::HeaderMap::new()),
            Err(AuthError::MissingToken)
        ));
        for v in [
            &b"Bearer"[..],
            b"Bearer   ",
            b"Basic dXNlcjpwdw==",
            b"",
            b"a.b.c",
        ] {
            assert!(matches!(header(v), Err(AuthError::MissingToken)), "{v:?}");
        }
    }

    #[test]
    fn header_malformed_values() {
        assert!(is_malformed(header(b"Bearer a.b c")));
        assert!(is_malformed(header(b"Bearer a.b.c=")));
        assert!(is_malformed(header(b"Bearer \xff\xfe")));
        assert!(is_malformed(header(b"Bearer a+b/c")));
        let two = headers(&[
            ("authorization", b"Bearer a.b.c"),
            ("authorization", b"Bearer a.b.c"),
        ]);
        assert!(matches!(
            extract_token(AuthStrategy::Header, &two),
            Err(AuthError::InvalidToken(InvalidTokenReason::Malformed))
        ));
    }

    #[test]
    fn oversized_tokens_are_refused() {
        let big = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        assert!(matches!(
            header(big.as_bytes()),
            Err(AuthError::InvalidToken(InvalidTokenReason::TooLarge))
        ));
        let big = format!("psg_auth_token={}", "a".repeat(MAX_TOKEN_BYTES + 1));
        assert!(matches!(
            cookie(&[big.as_bytes()]),
            Err(AuthError::InvalidToken(InvalidTokenReason::TooLarge))
        ));
        let max = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES));
        assert!(header(max.as_bytes()).is_ok());
    }

    #[test]
    fn cookie_parsing() {
        assert_eq!(cookie(&[b"psg_auth_token=a.b.c"]).unwrap(), "a.b.c");
        assert_eq!(
            cookie(&[b"x=1; psg_auth_token=a.b.c; y=2"]).unwrap(),
            "a.b.c"
        );
        assert_eq!(
            cookie(&[b"x=1", b"psg_auth_token=\"a.b.c\""]).unwrap(),
            "a.b.c"
        );
        assert_eq!(
            cookie(&[b"psg_auth_token=a.b.c; psg_auth_token=a.b.c"]).unwrap(),
            "a.b.c"
        );
        assert!(matches!(cookie(&[b"x=1"]), Err(AuthError::MissingToken)));
        assert!(matches!(
            cookie(&[b"psg_auth_token="]),
            Err(AuthError::MissingToken)
        ));
        assert!(matches!(
            cookie(&[b"xpsg_auth_token=a.b.c"]),
            Err(AuthError::MissingToken)
        ));
        assert!(is_malformed(cookie(&[
            b"psg_auth_token=a.b.c; psg_auth_token=d.e.f"
        ])));
        assert!(is_malformed(cookie(&[b"psg_auth_token=a b"])));
        assert!(is_malformed(cookie(&[b"psg_auth_token=\xff"])));
    }

    #[test]
    fn strategy_reads_exactly_one_source() {
        let both = headers(&[
            ("authorization", b"Bearer h.h.h"),
            ("cookie", b"psg_auth_token=c.c.c"),
        ]);
        assert_eq!(extract_token(AuthStrategy::Header, &both).unwrap(), "h.h.h");
        assert_eq!(extract_token(AuthStrategy::Cookie, &both).unwrap(), "c.c.c");
        let header_only = headers(&[("authorization", b"Bearer h.h.h")]);
        assert!(matches!(
            extract_token(AuthStrategy::Cookie, &header_only),
            Err(AuthError::MissingToken)
        ));
    }
}

#[cfg(test)]
mod why_401 {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(strategy: AuthStrategy, name: &str, value: &str) -> String {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
        tracing::subscriber::with_default(subscriber, || {
            assert_eq!(
                extract_token(strategy, &headers),
                Err(AuthError::MissingToken)
            );
        });
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_token_in_the_other_place_is_named_never_shown() {
        let log = logged(AuthStrategy::Cookie, "authorization", "Bearer aaa.bbb.ccc");
        assert!(log.contains("PASSAGE_AUTH_STRATEGY=header"), "{log}");
        assert!(!log.contains("aaa.bbb.ccc"), "{log}");
        let log = logged(AuthStrategy::Header, "cookie", "psg_auth_token=aaa.bbb.ccc");
        assert!(log.contains("PASSAGE_AUTH_STRATEGY=cookie"), "{log}");
        assert!(!log.contains("aaa.bbb.ccc"), "{log}");
        let log = logged(AuthStrategy::Header, "cookie", "other=1");
        assert!(log.contains("no Passage token"), "{log}");
        assert!(!log.contains("PASSAGE_AUTH_STRATEGY"), "{log}");
    }
}
