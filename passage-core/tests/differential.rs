//! The hand-written verifier against the reference library: on generated and mutated tokens,
//! `Passage::validate_jwt` and `jsonwebtoken::decode` (RS256, `iss`, `aud`, `exp`, `nbf`, zero
//! leeway) agree, except where we are stricter on purpose. We never accept what jsonwebtoken
//! refuses; each case where we refuse what it accepts is listed in `STRICTER` and has a named
//! test below. (One more difference is not tested, because jsonwebtoken's clock cannot be
//! controlled: in the very second of its `exp`, jsonwebtoken still accepts a token and we do
//! not. The generated times stay more than 5 s away from now.)
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::FutureExt as _;
use passage_core::{AuthError, AuthStrategy, Config, InvalidTokenReason as R, Passage};
use proptest::prelude::*;
use serde_json::{Value, json};

const APP_ID: &str = "diffapp0123456789abcdefg";
const ISSUER: &str = "https://auth.passage.id/v1/apps/diffapp0123456789abcdefg";

/// Where we refuse on purpose what jsonwebtoken accepts.
const STRICTER: &[R] = &[
    // `crit`, `jku`, `x5u`, `x5c`, `jwk` in the header: we never take keys or extensions from a
    // token.
    R::ForbiddenHeader,
    // No `kid`, or one the key set lacks (jsonwebtoken, given one key, ignores the `kid`).
    R::MissingKeyId,
    R::UnknownKeyId,
    // Time claims that are not integers from 0 to 2^53 (floats, negatives, huge values).
    R::InvalidClaims,
    // `exp` further ahead than the maximum token lifetime.
    R::ExpiryTooFar,
    // `iat` in the future: jsonwebtoken does not check `iat`.
    R::IssuedInFuture,
    // `sub` missing, empty or not a string: jsonwebtoken does not require a subject.
    R::MissingSubject,
    // A header over 1 KiB decoded (Passage's is about 60 bytes), or a token over 8 KiB.
    R::TooLarge,
];

struct Keys {
    pair: KeyPair,
    other: KeyPair,
    passage: Passage,
    uncached: Passage,
    reference: jsonwebtoken::DecodingKey,
}

fn components(pair: &KeyPair) -> (Vec<u8>, Vec<u8>) {
    let public = pair.public_key();
    (
        public.modulus().big_endian_without_leading_zero().to_vec(),
        public.exponent().big_endian_without_leading_zero().to_vec(),
    )
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let other = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let (n, e) = components(&pair);
        let jwks = json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1",
            "n": URL_SAFE_NO_PAD.encode(&n), "e": URL_SAFE_NO_PAD.encode(&e)}]})
        .to_string();
        let build = |entries| {
            let config = Config::builder(APP_ID)
                .token_cache_entries(entries)
                .build()
                .unwrap();
            Passage::with_jwks(config, jwks.as_bytes()).unwrap()
        };
        Keys {
            passage: build(1000),
            uncached: build(0),
            reference: jsonwebtoken::DecodingKey::from_rsa_raw_components(&n, &e),
            pair,
            other,
        }
    })
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign(pair: &KeyPair, header: &Value, claims: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn ours(passage: &Passage, token: &str) -> Result<String, AuthError> {
    passage
        .validate_jwt(token)
        .now_or_never()
        .expect("a static key set never waits")
        .map(|user| user.as_str().to_owned())
}

fn reference(token: &str) -> Result<(), jsonwebtoken::errors::Error> {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[APP_ID]);
    validation.set_issuer(&[ISSUER]);
    // Our policy requires `aud` and `iss` as well as `exp`; jsonwebtoken checks them only when
    // present unless told they are required (a token without `aud` once made this test fail).
    validation.set_required_spec_claims(&["exp", "aud", "iss"]);
    validation.validate_nbf = true;
    validation.leeway = 0;
    jsonwebtoken::decode::<Value>(token, &keys().reference, &validation).map(drop)
}

/// The property: never accept what jsonwebtoken refuses; refuse what it accepts only on purpose;
/// cached and uncached answers agree.
fn check(token: &str) -> Result<(), TestCaseError> {
    let k = keys();
    let uncached = ours(&k.uncached, token);
    let cached_first = ours(&k.passage, token);
    let cached_again = ours(&k.passage, token);
    prop_assert_eq!(&uncached, &cached_first, "cached and uncached disagree");
    prop_assert_eq!(&cached_first, &cached_again, "a cache hit disagrees");
    match (&uncached, reference(token)) {
        (Ok(_), Err(error)) => {
            prop_assert!(
                false,
                "we accept what jsonwebtoken refuses ({error:?}): {token}"
            )
        }
        (Err(AuthError::InvalidToken(reason)), Ok(())) => prop_assert!(
            STRICTER.contains(reason),
            "we refuse ({reason:?}) what jsonwebtoken accepts, not on purpose: {token}"
        ),
        (Err(other), Ok(())) => prop_assert!(false, "unexpected {other:?}: {token}"),
        _ => {}
    }
    Ok(())
}

fn time_value() -> impl Strategy<Value = Option<Value>> {
    let now = now();
    prop_oneof![
        Just(None),
        (-3600i64..3600)
            .prop_filter("not within a second of now", |d| d.abs() > 5)
            .prop_map(move |d| Some(json!(now + d))),
        Just(Some(json!(now + 40 * 24 * 3600))),
        Just(Some(json!((now + 3600) as f64 + 0.5))),
        Just(Some(json!(1e300))),
        Just(Some(json!(-5))),
        Just(Some(json!(u64::MAX))),
        Just(Some(json!((now + 3600).to_string()))),
        Just(Some(json!(null))),
    ]
}

fn audience() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(Some(json!(APP_ID))),
        Just(Some(json!(["http://localhost:8080", APP_ID]))),
        Just(Some(json!("other-app"))),
        Just(Some(json!([]))),
        Just(Some(json!(42))),
        Just(None),
    ]
}

fn issuer() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => Just(Some(json!(ISSUER))),
        1 => Just(Some(json!(format!("{ISSUER}/")))),
        1 => Just(Some(json!("https://auth.passage.id/v1/apps/other"))),
        1 => Just(None),
    ]
}

fn subject() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => "[a-zA-Z0-9]{1,24}".prop_map(|s| Some(json!(s))),
        1 => Just(Some(json!(""))),
        1 => Just(Some(json!(7))),
        1 => Just(None),
    ]
}

fn header() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => Just(json!({"alg": "RS256", "kid": "k1", "typ": "JWT"})),
        1 => Just(json!({"alg": "RS256", "typ": "JWT"})),
        1 => Just(json!({"alg": "RS256", "kid": "other"})),
        1 => Just(json!({"alg": "RS256", "kid": "k1", "crit": ["exp"]})),
        1 => Just(json!({"alg": "RS256", "kid": "k1", "jku": "https://evil.example/jwks"})),
        1 => Just(json!({"alg": "RS256", "kid": "k1", "x5u": "https://evil.example/cert"})),
        1 => Just(json!({"alg": "RS256", "kid": "k1", "x5c": ["MIIB"]})),
        1 => Just(json!({"alg": "RS256", "kid": "k1", "jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}})),
        1 => Just(json!({"alg": "HS256", "kid": "k1"})),
        1 => Just(json!({"alg": "none", "kid": "k1"})),
        1 => Just(json!({"alg": "RS384", "kid": "k1"})),
    ]
}

fn claims() -> impl Strategy<Value = Value> {
    (
        time_value(),
        time_value(),
        time_value(),
        audience(),
        issuer(),
        subject(),
    )
        .prop_map(|(exp, nbf, iat, aud, iss, sub)| {
            let mut claims = serde_json::Map::new();
            for (name, value) in [
                ("exp", exp),
                ("nbf", nbf),
                ("iat", iat),
                ("aud", aud),
                ("iss", iss),
                ("sub", sub),
            ] {
                if let Some(value) = value {
                    claims.insert(name.into(), value);
                }
            }
            Value::Object(claims)
        })
}

/// A valid Passage-shaped token for `sub`.
fn valid(sub: &str) -> String {
    let now = now();
    let claims = json!({"sub": sub, "iss": ISSUER, "aud": ["http://localhost:8080", APP_ID],
        "iat": now, "nbf": now - 5, "exp": now + 3600});
    sign(
        &keys().pair,
        &json!({"alg": "RS256", "kid": "k1", "typ": "JWT"}),
        claims.to_string().as_bytes(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn generated_tokens_agree_with_jsonwebtoken(header in header(), claims in claims(), other_key in proptest::bool::weighted(0.1)) {
        let k = keys();
        let pair = if other_key { &k.other } else { &k.pair };
        check(&sign(pair, &header, claims.to_string().as_bytes()))?;
    }

    #[test]
    fn a_valid_token_with_any_byte_changed_never_verifies(index in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let token = valid("user-1");
        let mut bytes = token.clone().into_bytes();
        let i = index.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        // A change may decode to the same bytes only where base64url has slack, which strict
        // decoding refuses; so any change must be refused.
        prop_assert!(ours(&keys().uncached, &mutated).is_err(), "{mutated}");
        check(&mutated)?;
    }

    #[test]
    fn segments_swapped_between_tokens_never_verify(which in 0usize..3, a in "[a-z]{1,8}", b in "[A-Z]{1,8}") {
        let (first, second) = (valid(&a), valid(&b));
        let mut parts: Vec<&str> = first.split('.').collect();
        let theirs: Vec<&str> = second.split('.').collect();
        prop_assume!(parts[which] != theirs[which]);
        parts[which] = theirs[which];
        let swapped = parts.join(".");
        prop_assert!(ours(&keys().uncached, &swapped).is_err());
        check(&swapped)?;
    }

    #[test]
    fn arbitrary_strings_never_verify_and_never_panic(token in ".{0,300}") {
        prop_assert!(ours(&keys().uncached, &token).is_err());
    }

    /// The request path from the headers: arbitrary `Cookie` and `Authorization` bytes (any
    /// number of each) never panic, never verify, and extraction finds a token only where the
    /// strategy looks.
    #[test]
    fn arbitrary_headers_never_panic_and_never_verify(
        cookies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..3),
        authorizations in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..3),
    ) {
        let mut headers = http::HeaderMap::new();
        for (name, values) in [("cookie", &cookies), ("authorization", &authorizations)] {
            for value in values {
                if let Ok(value) = http::HeaderValue::from_bytes(value) {
                    headers.append(name, value);
                }
            }
        }
        for strategy in [AuthStrategy::Cookie, AuthStrategy::Header] {
            let _ = passage_core::extract_token(strategy, &headers);
        }
        let verdict = keys()
            .uncached
            .authenticate_request(&headers)
            .now_or_never()
            .expect("a static key set never waits");
        prop_assert!(verdict.is_err());
    }

    /// A valid token wrapped in arbitrary other cookies is found and verified.
    #[test]
    fn a_valid_cookie_among_others_verifies(before in "[a-z]{1,8}=[a-zA-Z0-9]{0,16}", after in "[a-z]{1,8}=[a-zA-Z0-9]{0,16}") {
        prop_assume!(!before.starts_with("psg_auth_token=") && !after.starts_with("psg_auth_token="));
        let token = valid("user-7");
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "cookie",
            http::HeaderValue::from_str(&format!("{before}; psg_auth_token={token}; {after}")).unwrap(),
        );
        prop_assert_eq!(passage_core::extract_token(AuthStrategy::Cookie, &headers).unwrap(), token.as_str());
    }
}

/// Both libraries on one token: (ours, jsonwebtoken's verdict).
fn both(header: Value, claims: Value) -> (Result<String, AuthError>, bool) {
    let token = sign(&keys().pair, &header, claims.to_string().as_bytes());
    (ours(&keys().uncached, &token), reference(&token).is_ok())
}

fn base_claims() -> Value {
    let now = now();
    json!({"sub": "u", "iss": ISSUER, "aud": APP_ID, "iat": now, "nbf": now - 5, "exp": now + 3600})
}

fn rs256() -> Value {
    json!({"alg": "RS256", "kid": "k1"})
}

fn assert_stricter(header: Value, claims: Value, reason: R) {
    let (ours, reference_accepts) = both(header, claims);
    assert!(reference_accepts, "jsonwebtoken accepts it");
    assert_eq!(ours, Err(AuthError::InvalidToken(reason)));
}

#[test]
fn baseline_both_accept() {
    let (ours, reference_accepts) = both(rs256(), base_claims());
    assert_eq!(ours.unwrap(), "u");
    assert!(reference_accepts);
}

#[test]
fn stricter_forbidden_header_parameters() {
    for (name, value) in [
        ("crit", json!(["exp"])),
        ("jku", json!("https://evil.example/jwks")),
        ("x5u", json!("https://evil.example/cert")),
        ("x5c", json!(["MIIB"])),
        ("jwk", json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})),
    ] {
        let mut header = rs256();
        header[name] = value;
        let (ours, _) = both(header, base_claims());
        assert_eq!(
            ours,
            Err(AuthError::InvalidToken(R::ForbiddenHeader)),
            "{name}"
        );
    }
}

#[test]
fn stricter_oversized_header() {
    let mut header = rs256();
    header["x-padding"] = json!("p".repeat(1100));
    assert_stricter(header, base_claims(), R::TooLarge);
    // Just under the limit is read as usual.
    let mut header = rs256();
    header["x-padding"] = json!("p".repeat(900));
    let (ours, reference_accepts) = both(header, base_claims());
    assert!(reference_accepts);
    assert_eq!(ours.unwrap(), "u");
}

#[test]
fn stricter_missing_kid() {
    assert_stricter(json!({"alg": "RS256"}), base_claims(), R::MissingKeyId);
}

#[test]
fn stricter_unknown_kid() {
    assert_stricter(
        json!({"alg": "RS256", "kid": "other"}),
        base_claims(),
        R::UnknownKeyId,
    );
}

#[test]
fn stricter_time_claims_that_are_not_small_integers() {
    let now = now();
    let mut claims = base_claims();
    claims["nbf"] = json!((now - 5) as f64 + 0.5);
    assert_stricter(rs256(), claims, R::InvalidClaims);
    let mut claims = base_claims();
    claims["iat"] = json!(-1);
    let (ours, _) = both(rs256(), claims);
    assert_eq!(ours, Err(AuthError::InvalidToken(R::InvalidClaims)));
}

/// An embedded key (`jwk`) would let a token carry the key it is checked with: refused, named on
/// its own (it is also in the forbidden-header list above).
#[test]
fn stricter_embedded_jwk_header() {
    let mut header = rs256();
    header["jwk"] = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "k1"});
    let (ours, _) = both(header, base_claims());
    assert_eq!(ours, Err(AuthError::InvalidToken(R::ForbiddenHeader)));
}

/// Time claims as strings, or out of any sensible range: refused whatever jsonwebtoken says
/// (it reads some of them as numbers); never accepted by us.
#[test]
fn stricter_string_and_out_of_range_time_claims() {
    for (claim, value) in [
        ("exp", json!("4102444800")),
        ("nbf", json!("0")),
        ("iat", json!("0")),
        ("exp", json!(u64::MAX)),
        ("exp", json!(1e300)),
        ("exp", json!(-1)),
        ("nbf", json!(u64::MAX)),
        ("iat", json!(i64::MIN)),
    ] {
        let mut claims = base_claims();
        claims[claim] = value.clone();
        let (ours, reference_accepts) = both(rs256(), claims);
        assert!(
            matches!(ours, Err(AuthError::InvalidToken(_))),
            "{claim} = {value}: we accepted it (jsonwebtoken accepts: {reference_accepts})"
        );
    }
}

#[test]
fn stricter_expiry_beyond_the_maximum_lifetime() {
    let mut claims = base_claims();
    claims["exp"] = json!(now() + 100 * 365 * 24 * 3600);
    assert_stricter(rs256(), claims, R::ExpiryTooFar);
}

#[test]
fn stricter_iat_in_the_future() {
    let mut claims = base_claims();
    claims["iat"] = json!(now() + 600);
    assert_stricter(rs256(), claims, R::IssuedInFuture);
}

#[test]
fn stricter_subject_required() {
    for sub in [None, Some(json!("")), Some(json!(7))] {
        let mut claims = base_claims();
        match sub {
            None => {
                claims.as_object_mut().unwrap().remove("sub");
            }
            Some(sub) => claims["sub"] = sub,
        }
        assert_stricter(rs256(), claims, R::MissingSubject);
    }
}
