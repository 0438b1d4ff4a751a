//! Verification cost, in one run: plain `jsonwebtoken::decode` of a Passage-shaped token, our cold
//! verification (keys cached, token not), our cached verification, and the bare RSA check with
//! a parsed key (the floor). Results and the command are in `docs/BENCHMARKS.md`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use futures::FutureExt as _;
use passage_core::{Config, Passage};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const APP_ID: &str = "benchapp0123456789abcdef";
const USER_ID: &str = "aBcDeFgHiJkLmNoPqRsTuVwX";

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Serves `body` as the JWKS to every connection (a minimal HTTP/1.1 responder).
async fn serve_jwks(body: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    origin
}

fn verify(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let n = pair
        .public_key()
        .modulus()
        .big_endian_without_leading_zero()
        .to_vec();
    let e = pair
        .public_key()
        .exponent()
        .big_endian_without_leading_zero()
        .to_vec();
    let jwks = serde_json::json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "bench", "n": b64(&n), "e": b64(&e)}]});
    let origin = rt.block_on(serve_jwks(jwks.to_string()));
    let issuer = format!("{origin}/v1/apps/{APP_ID}");

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "sub": USER_ID, "iss": issuer, "aud": ["http://localhost:8080", APP_ID],
        "iat": now, "nbf": now - 5, "exp": now + 3600,
    });
    let input = format!(
        "{}.{}",
        b64(r#"{"alg":"RS256","kid":"bench","typ":"JWT"}"#),
        b64(claims.to_string())
    );
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    let token = format!("{input}.{}", b64(&sig));
    println!("token length: {} bytes", token.len());

    let build = |entries| {
        let config = Config::builder(APP_ID)
            .origin(&origin)
            .token_cache_entries(entries)
            .build()
            .unwrap();
        let passage = Passage::new(config).unwrap();
        rt.block_on(passage.warm_up()).unwrap();
        passage
    };
    let uncached = build(0);
    let cached = build(10_000);
    assert_eq!(rt.block_on(cached.validate_jwt(&token)).unwrap(), USER_ID);

    // Every measured call below completes without awaiting I/O (the keys are loaded), so one
    // poll (`now_or_never`) runs it with no executor overhead.
    let mut group = c.benchmark_group("verify");
    group.bench_function("jsonwebtoken_decode", |b| {
        let key = jsonwebtoken::DecodingKey::from_rsa_raw_components(&n, &e);
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[APP_ID]);
        validation.set_issuer(&[&issuer]);
        validation.validate_nbf = true;
        b.iter(|| {
            let data =
                jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &key, &validation)
                    .unwrap();
            black_box(data.claims);
        });
    });
    group.bench_function("passage_cold", |b| {
        b.iter(|| {
            black_box(
                uncached
                    .validate_jwt(black_box(&token))
                    .now_or_never()
                    .unwrap()
                    .unwrap(),
            )
        });
    });
    group.bench_function("passage_cached", |b| {
        b.iter(|| {
            black_box(
                cached
                    .validate_jwt(black_box(&token))
                    .now_or_never()
                    .unwrap()
                    .unwrap(),
            )
        });
    });
    group.bench_function("rsa_check_parsed_key", |b| {
        let parsed = RsaPublicKeyComponents {
            n: &n[..],
            e: &e[..],
        }
        .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
        .unwrap();
        b.iter(|| {
            parsed
                .verify_sig(black_box(input.as_bytes()), black_box(&sig))
                .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
