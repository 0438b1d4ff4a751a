//! `Authorization` and `Cookie` extraction from arbitrary header values, in both strategies.
//! Nothing panics; a token found is part of one header value and within the size limit.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use passage_core::{AuthStrategy, MAX_TOKEN_BYTES, TokenSource, extract_token};

#[derive(Debug, Arbitrary)]
struct Headers {
    cookie_strategy: bool,
    authorization: Vec<Vec<u8>>,
    cookie: Vec<Vec<u8>>,
}

impl TokenSource for Headers {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let values = if name.eq_ignore_ascii_case("authorization") {
            &self.authorization
        } else if name.eq_ignore_ascii_case("cookie") {
            &self.cookie
        } else {
            &[][..]
        };
        values.iter().map(Vec::as_slice)
    }
}

fuzz_target!(|headers: Headers| {
    let strategy = if headers.cookie_strategy {
        AuthStrategy::Cookie
    } else {
        AuthStrategy::Header
    };
    if let Ok(token) = extract_token(strategy, &headers) {
        assert!(!token.is_empty() && token.len() <= MAX_TOKEN_BYTES);
        let values = match strategy {
            AuthStrategy::Cookie => &headers.cookie,
            _ => &headers.authorization,
        };
        assert!(
            values
                .iter()
                .any(|v| v.windows(token.len()).any(|w| w == token.as_bytes())),
            "the token is not in any header value"
        );
    }
});
