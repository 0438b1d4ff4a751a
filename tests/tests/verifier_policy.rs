//! Every rejection of the verifier's policy, against a real JWKS server on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use aws_lc_rs::signature;
use passage_core::{AuthError, InvalidTokenReason as R, Passage};
use passage_tests::keys::{claims, now, sign_weak};
use passage_tests::*;
use serde_json::{Value, json};

struct Fixture {
    server: JwksServer,
    key: TestKey,
    passage: Passage,
    iss: String,
}

async fn fixture() -> Fixture {
    let key = TestKey::generate("key-1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    let passage = passage_for(&server.origin(), quick_jwks_settings());
    let iss = issuer(&server.origin());
    Fixture {
        server,
        key,
        passage,
        iss,
    }
}

impl Fixture {
    fn claims(&self) -> Value {
        claims(&self.iss, APP_ID, "user-123")
    }

    fn with(&self, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
        let mut claims = self.claims();
        f(claims.as_object_mut().unwrap());
        self.key.sign(&claims)
    }

    async fn reason(&self, token: &str) -> R {
        match self.passage.validate_jwt(token).await {
            Err(AuthError::InvalidToken(reason)) => reason,
            other => panic!("expected an invalid token, got {other:?} for {token}"),
        }
    }
}

fn header_json(alg: &str, kid: &str) -> Value {
    json!({"alg": alg, "kid": kid, "typ": "JWT"})
}

#[tokio::test]
async fn a_valid_token_verifies() {
    let f = fixture().await;
    let token = f.key.sign(&f.claims());
    assert_eq!(f.passage.validate_jwt(&token).await.unwrap(), "user-123");
    // A single-string audience equal to the app ID is accepted too.
    let token = f.with(|c| {
        c.insert("aud".into(), json!(APP_ID));
    });
    assert_eq!(f.passage.validate_jwt(&token).await.unwrap(), "user-123");
}

#[tokio::test]
async fn alg_none_in_any_casing_is_refused() {
    let f = fixture().await;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(header_json(alg, "key-1").to_string());
        let payload = b64(f.claims().to_string());
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}"),
        ] {
            let reason = f.reason(&token).await;
            assert!(
                matches!(reason, R::UnsupportedAlgorithm | R::Malformed),
                "{alg}: {reason:?}"
            );
        }
    }
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let f = fixture().await;
    let input = format!(
        "{}.{}",
        b64(header_json("HS256", "key-1").to_string()),
        b64(f.claims().to_string())
    );
    for secret in [f.key.public_der(), f.key.jwk().to_string().into_bytes()] {
        let hmac_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
        let tag = aws_lc_rs::hmac::sign(&hmac_key, input.as_bytes());
        let token = format!("{input}.{}", b64(tag.as_ref()));
        assert_eq!(f.reason(&token).await, R::UnsupportedAlgorithm);
    }
}

#[tokio::test]
async fn other_algorithms_are_refused() {
    let f = fixture().await;
    let payload = f.claims().to_string();
    let rs512 = f.key.sign_with(
        &signature::RSA_PKCS1_SHA512,
        &header_json("RS512", "key-1"),
        payload.as_bytes(),
    );
    let ps256 = f.key.sign_with(
        &signature::RSA_PSS_SHA256,
        &header_json("PS256", "key-1"),
        payload.as_bytes(),
    );
    // An RS256-signed token relabelled PS256 must not pass either.
    let relabelled = f.key.sign_with(
        &signature::RSA_PKCS1_SHA256,
        &header_json("PS256", "key-1"),
        payload.as_bytes(),
    );
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 =
        signature::EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
    let ec = signature::EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
    )
    .unwrap();
    let input = format!(
        "{}.{}",
        b64(header_json("ES256", "key-1").to_string()),
        b64(&payload)
    );
    let es256 = format!(
        "{input}.{}",
        b64(ec.sign(&rng, input.as_bytes()).unwrap().as_ref())
    );
    for token in [rs512, ps256, relabelled, es256] {
        assert_eq!(f.reason(&token).await, R::UnsupportedAlgorithm);
    }
}

#[tokio::test]
async fn a_token_from_another_key_under_a_real_kid_is_refused() {
    let f = fixture().await;
    let impostor = TestKey::generate("key-1");
    assert_eq!(f.reason(&impostor.sign(&f.claims())).await, R::BadSignature);
}

#[tokio::test]
async fn unknown_missing_and_path_traversal_kids_are_refused() {
    let f = fixture().await;
    for kid in [
        "nope",
        "../../../etc/passwd",
        "key-1/../key-1",
        "%2e%2e%2f",
        "key-1\u{0}",
    ] {
        let other = TestKey::generate(kid);
        assert_eq!(
            f.reason(&other.sign(&f.claims())).await,
            R::UnknownKeyId,
            "{kid}"
        );
    }
    let payload = f.claims().to_string();
    let no_kid = sign_raw(
        &f.key,
        &json!({"alg": "RS256", "typ": "JWT"}),
        payload.as_bytes(),
    );
    assert_eq!(f.reason(&no_kid).await, R::MissingKeyId);
    let empty_kid = sign_raw(&f.key, &header_json("RS256", ""), payload.as_bytes());
    assert_eq!(f.reason(&empty_kid).await, R::MissingKeyId);
    let numeric_kid = sign_raw(
        &f.key,
        &json!({"alg": "RS256", "kid": 1}),
        payload.as_bytes(),
    );
    assert_eq!(f.reason(&numeric_kid).await, R::Malformed);
    let long_kid = TestKey::generate(&"k".repeat(300));
    assert_eq!(f.reason(&long_kid.sign(&f.claims())).await, R::UnknownKeyId);
    // Only the JWKS URL was ever requested, once (then the cooldown held further refreshes).
    assert_eq!(f.server.hits(), 1);
}

#[tokio::test]
async fn embedded_keys_and_key_urls_are_refused_without_any_fetch() {
    let f = fixture().await;
    let attacker = TestKey::generate("attacker");
    let payload = f.claims().to_string();
    let headers = [
        json!({"alg": "RS256", "kid": "attacker", "jwk": attacker.jwk()}),
        json!({"alg": "RS256", "kid": "attacker", "jku": format!("{}/v1/apps/x/.well-known/jwks.json", f.server.origin())}),
        json!({"alg": "RS256", "kid": "attacker", "x5u": "http://127.0.0.1:1/cert.pem"}),
        json!({"alg": "RS256", "kid": "attacker", "x5c": ["MIIB"]}),
        json!({"alg": "RS256", "kid": "key-1", "crit": ["exp"]}),
    ];
    for header in headers {
        let token = sign_raw(&attacker, &header, payload.as_bytes());
        assert_eq!(f.reason(&token).await, R::ForbiddenHeader, "{header}");
    }
    let genuine_with_crit = sign_raw(
        &f.key,
        &json!({"alg": "RS256", "kid": "key-1", "crit": ["b64"], "b64": false}),
        payload.as_bytes(),
    );
    assert_eq!(f.reason(&genuine_with_crit).await, R::ForbiddenHeader);
    assert_eq!(
        f.server.hits(),
        0,
        "no fetch for tokens refused by their header"
    );
}

#[tokio::test]
async fn time_claims_are_enforced() {
    let f = fixture().await;
    let now = now();
    let expired = f.with(|c| {
        c.insert("exp".into(), json!(now - 1));
    });
    assert_eq!(f.reason(&expired).await, R::Expired);
    let expiring_now = f.with(|c| {
        c.insert("exp".into(), json!(now));
    });
    assert_eq!(f.reason(&expiring_now).await, R::Expired);
    let not_yet = f.with(|c| {
        c.insert("nbf".into(), json!(now + 60));
    });
    assert_eq!(f.reason(&not_yet).await, R::NotYetValid);
    let future_iat = f.with(|c| {
        c.insert("iat".into(), json!(now + 60));
    });
    assert_eq!(f.reason(&future_iat).await, R::IssuedInFuture);
    let missing_exp = f.with(|c| {
        c.remove("exp");
    });
    assert_eq!(f.reason(&missing_exp).await, R::MissingExpiry);
    for bad in [
        json!((now + 3600).to_string()),
        json!(null),
        json!(true),
        json!([now + 3600]),
    ] {
        let token = f.with(|c| {
            c.insert("exp".into(), bad.clone());
        });
        assert_eq!(f.reason(&token).await, R::InvalidClaims, "exp {bad}");
        let token = f.with(|c| {
            c.insert("nbf".into(), bad.clone());
        });
        assert_eq!(f.reason(&token).await, R::InvalidClaims, "nbf {bad}");
    }
}

#[tokio::test]
async fn time_claims_are_bounded() {
    let f = fixture().await;
    let now = now();
    let hundred_years = now + 100 * 365 * 24 * 3600;
    for (claim, bad, reason) in [
        ("exp", json!(1e300), R::InvalidClaims),
        ("exp", json!(2f64.powi(70)), R::InvalidClaims),
        ("exp", json!(u64::MAX), R::InvalidClaims),
        ("exp", json!((now + 3600) as f64 + 0.5), R::InvalidClaims),
        ("exp", json!(hundred_years), R::ExpiryTooFar),
        ("exp", json!(now + 31 * 24 * 3600), R::ExpiryTooFar),
        ("iat", json!(-1e300), R::InvalidClaims),
        ("iat", json!(-1), R::InvalidClaims),
        ("nbf", json!(1e300), R::InvalidClaims),
    ] {
        let token = f.with(|c| {
            c.insert(claim.into(), bad.clone());
        });
        assert_eq!(f.reason(&token).await, reason, "{claim} {bad}");
    }
    // 29 days ahead is within the default 30-day limit.
    let long = f.with(|c| {
        c.insert("exp".into(), json!(now + 29 * 24 * 3600));
    });
    assert!(f.passage.validate_jwt(&long).await.is_ok());
}

#[tokio::test]
async fn leeway_is_applied_when_configured() {
    let key = TestKey::generate("key-1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    let config = passage_core::Config::builder(APP_ID)
        .origin(server.origin())
        .leeway(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let passage = Passage::new(config).unwrap();
    let mut c = claims(&issuer(&server.origin()), APP_ID, "u");
    c["exp"] = json!(now() - 10);
    assert_eq!(passage.validate_jwt(&key.sign(&c)).await.unwrap(), "u");
    c["exp"] = json!(now() - 60);
    assert!(passage.validate_jwt(&key.sign(&c)).await.is_err());
}

#[tokio::test]
async fn audience_and_issuer_are_enforced() {
    let f = fixture().await;
    for aud in [
        json!("other-app"),
        json!(["http://localhost:8080"]),
        json!([]),
        json!(""),
        json!(null),
        json!(42),
        json!([42]),
        json!({"app": APP_ID}),
    ] {
        let token = f.with(|c| {
            c.insert("aud".into(), aud.clone());
        });
        assert_eq!(f.reason(&token).await, R::WrongAudience, "aud {aud}");
    }
    let missing_aud = f.with(|c| {
        c.remove("aud");
    });
    assert_eq!(f.reason(&missing_aud).await, R::WrongAudience);
    let other_issuer = format!("{}/v1/apps/otherapp", f.server.origin());
    for iss in [
        json!("https://auth.passage.id/v1/apps/testapp0123456789abcdefg"),
        json!(other_issuer),
        json!(format!("{}/", f.iss)),
        json!(null),
    ] {
        let token = f.with(|c| {
            c.insert("iss".into(), iss.clone());
        });
        assert_eq!(f.reason(&token).await, R::WrongIssuer, "iss {iss}");
    }
    let missing_iss = f.with(|c| {
        c.remove("iss");
    });
    assert_eq!(f.reason(&missing_iss).await, R::WrongIssuer);
}

#[tokio::test]
async fn subject_must_be_a_non_empty_string() {
    let f = fixture().await;
    for sub in [
        json!(""),
        json!(null),
        json!(12),
        json!(["u"]),
        json!({"id": "u"}),
    ] {
        let token = f.with(|c| {
            c.insert("sub".into(), sub.clone());
        });
        assert_eq!(f.reason(&token).await, R::MissingSubject, "sub {sub}");
    }
    let missing = f.with(|c| {
        c.remove("sub");
    });
    assert_eq!(f.reason(&missing).await, R::MissingSubject);
}

#[tokio::test]
async fn weak_and_encryption_keys_in_the_set_are_not_used() {
    let key = TestKey::generate("good");
    let n = hex_to_bytes(WEAK_1024_N);
    let weak = json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "weak", "n": b64(&n), "e": "AQAB"});
    let enc_key = TestKey::generate("enc");
    let mut enc = enc_key.jwk();
    enc["use"] = json!("enc");
    let rs512_key = TestKey::generate("rs512");
    let mut rs512 = rs512_key.jwk();
    rs512["alg"] = json!("RS512");
    let server = JwksServer::start(json!({"keys": [key.jwk(), weak, enc, rs512, {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]})).await;
    let passage = passage_for(&server.origin(), quick_jwks_settings());
    let iss = issuer(&server.origin());
    let c = claims(&iss, APP_ID, "u");
    // The good key works, so the set was loaded.
    assert!(passage.validate_jwt(&key.sign(&c)).await.is_ok());
    let weak_token = sign_weak(
        WEAK_1024_N,
        WEAK_1024_D,
        &json!({"alg": "RS256", "kid": "weak", "typ": "JWT"}),
        c.to_string().as_bytes(),
    );
    for token in [weak_token, enc_key.sign(&c), rs512_key.sign(&c)] {
        assert_eq!(
            passage.validate_jwt(&token).await,
            Err(AuthError::InvalidToken(R::UnknownKeyId))
        );
    }
}

#[tokio::test]
async fn a_kid_listed_twice_is_not_trusted() {
    let key = TestKey::generate("dup");
    let other = TestKey::generate("dup");
    let good = TestKey::generate("good");
    let server = JwksServer::start(json!({"keys": [key.jwk(), other.jwk(), good.jwk()]})).await;
    let passage = passage_for(&server.origin(), quick_jwks_settings());
    let c = claims(&issuer(&server.origin()), APP_ID, "u");
    assert!(passage.validate_jwt(&good.sign(&c)).await.is_ok());
    assert_eq!(
        passage.validate_jwt(&key.sign(&c)).await,
        Err(AuthError::InvalidToken(R::UnknownKeyId))
    );
}

#[tokio::test]
async fn leading_zero_bytes_in_the_jwk_do_not_change_the_outcome() {
    let key = TestKey::generate("padded");
    let (n, e) = key.components();
    let mut padded_n = vec![0, 0];
    padded_n.extend(&n);
    let mut padded_e = vec![0];
    padded_e.extend(&e);
    let jwk = json!({"kty": "RSA", "kid": "padded", "n": b64(&padded_n), "e": b64(&padded_e)});
    let server = JwksServer::start(json!({"keys": [jwk]})).await;
    let passage = passage_for(&server.origin(), quick_jwks_settings());
    let c = claims(&issuer(&server.origin()), APP_ID, "u");
    assert_eq!(passage.validate_jwt(&key.sign(&c)).await.unwrap(), "u");
    let impostor = TestKey::generate("padded");
    assert_eq!(
        passage.validate_jwt(&impostor.sign(&c)).await,
        Err(AuthError::InvalidToken(R::BadSignature))
    );
}

#[tokio::test]
async fn damaged_signatures_and_payloads_are_refused() {
    let f = fixture().await;
    let token = f.key.sign(&f.claims());
    let (input, sig) = token.rsplit_once('.').unwrap();
    let stripped = format!("{input}.");
    assert!(matches!(
        f.reason(&stripped).await,
        R::BadSignature | R::Malformed
    ));
    let mut sig_bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig).unwrap();
    sig_bytes[10] ^= 0x01;
    assert_eq!(
        f.reason(&format!("{input}.{}", b64(&sig_bytes))).await,
        R::BadSignature
    );
    let truncated = &sig_bytes[..sig_bytes.len() - 1];
    assert_eq!(
        f.reason(&format!("{input}.{}", b64(truncated))).await,
        R::BadSignature
    );
    // Tampered payload: the user ID changed, the signature kept.
    let (header, _) = input.split_once('.').unwrap();
    let mut evil = f.claims();
    evil["sub"] = json!("admin");
    let tampered = format!("{header}.{}.{sig}", b64(evil.to_string()));
    assert_eq!(f.reason(&tampered).await, R::BadSignature);
    // The genuine token still works.
    assert!(f.passage.validate_jwt(&token).await.is_ok());
    // Tampering with a token already verified (and cached) is still caught.
    assert_eq!(f.reason(&tampered).await, R::BadSignature);
}

#[tokio::test]
async fn wrong_segment_counts_and_encodings_are_refused() {
    let f = fixture().await;
    let token = f.key.sign(&f.claims());
    let parts: Vec<&str> = token.split('.').collect();
    let two = format!("{}.{}", parts[0], parts[1]);
    let four = format!("{token}.{}", parts[2]);
    let five = format!("{token}.AAAA.BBBB");
    let padded = format!("{}.{}=.{}", parts[0], parts[1], parts[2]);
    let bad_chars = format!("{}.{}+/.{}", parts[0], parts[1], parts[2]);
    let spaces = format!("{} .{}.{}", parts[0], parts[1], parts[2]);
    for t in [
        two,
        four,
        five,
        padded,
        bad_chars,
        spaces,
        String::new(),
        "...".into(),
        "a.b.c".into(),
    ] {
        assert_eq!(f.reason(&t).await, R::Malformed, "{t}");
    }
    let oversized = format!("{}.{}.{}", parts[0], "A".repeat(9000), parts[2]);
    assert_eq!(f.reason(&oversized).await, R::TooLarge);
}

#[tokio::test]
async fn non_utf8_and_non_object_payloads_are_refused_even_when_signed() {
    let f = fixture().await;
    let header = json!({"alg": "RS256", "kid": "key-1", "typ": "JWT"});
    for payload in [
        &b"\xff\xfe\xfd"[..],
        b"[1,2,3]",
        b"\"sub\"",
        b"42",
        b"null",
        b"{\"sub\":",
        b"",
    ] {
        let token = sign_raw(&f.key, &header, payload);
        assert_eq!(f.reason(&token).await, R::InvalidClaims, "{payload:?}");
    }
    let bad_header = format!(
        "{}.{}.{}",
        b64(b"\xff\xfe"),
        b64(f.claims().to_string()),
        b64(b"sig")
    );
    assert_eq!(f.reason(&bad_header).await, R::Malformed);
    let array_header = format!(
        "{}.{}.{}",
        b64(b"[\"RS256\"]"),
        b64(f.claims().to_string()),
        b64(b"sig")
    );
    assert_eq!(f.reason(&array_header).await, R::Malformed);
}

fn hex_to_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn the_verified_claims_are_reachable() {
    #[derive(serde::Deserialize)]
    struct AppClaims {
        sub: String,
        exp: i64,
        role: String,
    }
    let f = fixture().await;
    let now = now();
    let token = f.with(|c| {
        c.insert("iat".into(), json!(now - 5));
        c.insert("exp".into(), json!(now + 3600));
        c.insert("role".into(), json!("admin"));
    });
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::COOKIE,
        format!("psg_auth_token={token}").parse().unwrap(),
    );
    // Twice: the second answer comes from the token cache and carries the same claims.
    for _ in 0..2 {
        let user = f.passage.authenticate(&headers).await.unwrap();
        assert_eq!(user.user_id(), "user-123");
        assert_eq!(user.exp(), now + 3600);
        assert_eq!(user.iat(), Some(now - 5));
        assert_eq!(user.claims_map()["role"], "admin");
        let typed: AppClaims = user.claims().unwrap();
        assert_eq!(
            (typed.sub.as_str(), typed.exp, typed.role.as_str()),
            ("user-123", now + 3600, "admin")
        );
    }
}
