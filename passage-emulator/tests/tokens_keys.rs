//! Tokens: claims, signatures, minting controls, key rotation with a grace period.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use passage_emulator::{Emulator, TokenOptions};
use serde_json::json;

#[tokio::test]
async fn jwks_shape_and_token_claims() {
    let emu = start().await;
    let api = Api::new(&emu);
    let jwks = jwks(&api).await;
    assert_shape(&jwks, &[("keys", T::Arr)]);
    let key = &jwks["keys"][0];
    assert_shape(
        key,
        &[
            ("kty", T::Str),
            ("use", T::Str),
            ("alg", T::Str),
            ("kid", T::Str),
            ("n", T::Str),
            ("e", T::Str),
        ],
    );
    assert_eq!(
        (
            key["kty"].as_str(),
            key["use"].as_str(),
            key["alg"].as_str()
        ),
        (Some("RSA"), Some("sig"), Some("RS256"))
    );
    assert_eq!(key["e"], "AQAB");
    assert!(is_id(key["kid"].as_str().unwrap()));
    let n = key["n"].as_str().unwrap();
    assert!(!n.contains('=') && !n.contains('+') && !n.contains('/'));

    let user = emu.create_user("ivy@example.com").unwrap();
    let token = emu.mint_token(&user).unwrap();
    let header = jwt_part(&token, 0);
    assert_eq!(
        header,
        json!({"alg": "RS256", "kid": key["kid"], "typ": "JWT"})
    );
    let c = jwt_part(&token, 1);
    assert_eq!(c["sub"], user);
    assert_eq!(
        c["iss"],
        format!("{}/v1/apps/{}", emu.origin(), emu.app_id())
    );
    assert_eq!(c["aud"], json!(["http://127.0.0.1:8080", emu.app_id()]));
    let iat = c["iat"].as_i64().unwrap();
    assert_eq!(c["nbf"].as_i64().unwrap(), iat - 5);
    assert_eq!(c["exp"].as_i64().unwrap(), iat + 3600);
    assert!((iat - time::OffsetDateTime::now_utc().unix_timestamp()).abs() <= 2);
    assert_eq!(
        verify_with_jwks(&token, &jwks).unwrap(),
        key["kid"].as_str().unwrap()
    );

    // A tampered token does not verify.
    let mut parts: Vec<&str> = token.split('.').collect();
    let other = emu.mint_token("someone-else").unwrap();
    parts[1] = other.split('.').nth(1).unwrap();
    assert!(verify_with_jwks(&parts.join("."), &jwks).is_err());
    assert_eq!(emu.jwks_requests(), 1);
}

#[tokio::test]
async fn mint_with_options_and_control_endpoint() {
    let emu = Emulator::builder()
        .session_length(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu);
    let mut claims = serde_json::Map::new();
    claims.insert("aud".into(), json!("wrong-audience"));
    let token = emu
        .mint_token_with(
            "u1",
            TokenOptions {
                ttl: Some(-30),
                claims: Some(claims),
            },
        )
        .unwrap();
    let c = jwt_part(&token, 1);
    assert_eq!(c["aud"], "wrong-audience");
    assert_eq!(c["exp"].as_i64().unwrap(), c["iat"].as_i64().unwrap() - 30);
    // Defaults: session length of the app, default auth origin.
    let c = jwt_part(&emu.mint_token("u1").unwrap(), 1);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 60);
    assert_eq!(
        c["aud"],
        json!([passage_emulator::DEFAULT_AUTH_ORIGIN, emu.app_id()])
    );

    // Control endpoint; the user is created with that ID.
    let (s, v) = api
        .control_post("/tokens", json!({"user_id": "abcdefghijklmnopqrstuvwx", "ttl_seconds": 5, "claims": {"extra": 1}}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_shape(&v, &[("auth_token", T::Str)]);
    let c = jwt_part(v["auth_token"].as_str().unwrap(), 1);
    assert_eq!(c["extra"], 1);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 5);
    let (s, u) = api.get("/users/abcdefghijklmnopqrstuvwx").await;
    assert_eq!(s, 200);
    assert_eq!(u["user"]["email"], "");
    let (s, v) = api.control_post("/tokens", json!({})).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_request")));
    assert!(emu.mint_token("").is_err());
    assert!(emu.create_user("not an email").is_err());
}

#[tokio::test]
async fn rotation_keeps_old_kid_for_grace_then_drops_it() {
    let emu = start().await;
    let api = Api::new(&emu);
    let old_token = emu.mint_token("u").unwrap();
    let old_kid = jwt_part(&old_token, 0)["kid"].as_str().unwrap().to_string();

    let (s, v) = api
        .control_post("/keys/rotate", json!({"grace_seconds": 2}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_shape(&v, &[("kid", T::Str), ("previous_kid", T::Str)]);
    assert_eq!(v["previous_kid"], old_kid);
    let new_kid = v["kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);

    let new_token = emu.mint_token("u").unwrap();
    assert_eq!(jwt_part(&new_token, 0)["kid"], new_kid);
    let set = jwks(&api).await;
    assert_eq!(set["keys"].as_array().unwrap().len(), 2);
    verify_with_jwks(&old_token, &set).unwrap();
    verify_with_jwks(&new_token, &set).unwrap();

    tokio::time::sleep(Duration::from_millis(3100)).await;
    let set = jwks(&api).await;
    let kids: Vec<_> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert_eq!(kids, vec![json!(new_kid)]);
    assert!(verify_with_jwks(&old_token, &set).is_err());

    // Library API: zero grace drops the old key at once.
    let newest = emu.rotate_key(Duration::ZERO).unwrap();
    let set = jwks(&api).await;
    assert_eq!(set["keys"].as_array().unwrap().len(), 1);
    assert_eq!(set["keys"][0]["kid"], newest);
}

#[tokio::test]
async fn startup_is_fast_and_shutdown_is_clean() {
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let emu = Emulator::builder().start().await.unwrap();
        times.push(t.elapsed());
        assert!(emu.origin().starts_with("http://127.0.0.1:"));
        assert!(is_id(emu.app_id()));
        let addr = emu.addr();
        emu.shutdown().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
    times.sort();
    eprintln!("emulator start-up times: {times:?}");
    // Generous bound for slow CI machines; typical is a few tens of milliseconds.
    assert!(times[2] < Duration::from_secs(2), "{times:?}");

    // Dropping the handle stops the server too.
    let emu = Emulator::builder().start().await.unwrap();
    let addr = emu.addr();
    drop(emu);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
