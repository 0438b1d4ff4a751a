//! The verifier end to end against the emulator: its tokens verify, its negative cases are
//! refused, key rotation keeps old tokens valid through the grace period, and JWKS faults give
//! "keys unavailable" without ever passing a token.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use passage_core::{AuthError, InvalidTokenReason as R, JwksSettings};
use passage_emulator::{Emulator, TokenOptions};
use passage_tests::{inject_fault, passage_for_emulator, passage_with};
use serde_json::json;

fn claims(pairs: serde_json::Value) -> Option<serde_json::Map<String, serde_json::Value>> {
    pairs.as_object().cloned()
}

#[tokio::test]
async fn emulator_tokens_verify_and_negative_cases_are_refused() {
    let emu = Emulator::builder().start().await.unwrap();
    let passage = passage_for_emulator(&emu);
    let user = emu.create_user("verify@example.com").unwrap();
    let token = emu.mint_token(&user).unwrap();
    assert_eq!(passage.validate_jwt(&token).await.unwrap(), user.as_str());

    let expired = emu
        .mint_token_with(
            &user,
            TokenOptions {
                ttl: Some(-10),
                claims: None,
            },
        )
        .unwrap();
    assert_eq!(
        passage.validate_jwt(&expired).await,
        Err(AuthError::InvalidToken(R::Expired))
    );
    let wrong_aud = emu
        .mint_token_with(
            &user,
            TokenOptions {
                ttl: None,
                claims: claims(json!({"aud": ["http://localhost:8080", "another-app"]})),
            },
        )
        .unwrap();
    assert_eq!(
        passage.validate_jwt(&wrong_aud).await,
        Err(AuthError::InvalidToken(R::WrongAudience))
    );
    let wrong_iss = emu
        .mint_token_with(
            &user,
            TokenOptions {
                ttl: None,
                claims: claims(json!({"iss": "https://auth.passage.id/v1/apps/x"})),
            },
        )
        .unwrap();
    assert_eq!(
        passage.validate_jwt(&wrong_iss).await,
        Err(AuthError::InvalidToken(R::WrongIssuer))
    );
    // A token of another emulator (another key, another app) is refused.
    let other = Emulator::builder()
        .app_id(emu.app_id())
        .start()
        .await
        .unwrap();
    let foreign = other.mint_token(&user).unwrap();
    assert!(matches!(
        passage.validate_jwt(&foreign).await,
        Err(AuthError::InvalidToken(_))
    ));
    assert_eq!(emu.jwks_requests(), 1, "one fetch served everything");
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid_during_the_grace_period() {
    let emu = Emulator::builder().start().await.unwrap();
    let passage = passage_with(&emu, |b| {
        b.jwks(JwksSettings {
            refresh_cooldown: Duration::ZERO,
            default_ttl: Duration::from_millis(300),
            min_ttl: Duration::ZERO,
            ..passage_tests::quick_jwks_settings()
        })
    });
    let old = emu.mint_token("rotating-user").unwrap();
    assert!(passage.validate_jwt(&old).await.is_ok());
    // A rotation with a grace period: both keys are published for it.
    emu.rotate_key(Duration::from_secs(600)).unwrap();
    let new = emu.mint_token("rotating-user").unwrap();
    assert_ne!(old, new);
    assert!(
        passage.validate_jwt(&new).await.is_ok(),
        "new kid fetched on demand"
    );
    assert!(
        passage.validate_jwt(&old).await.is_ok(),
        "old key still published during the grace period"
    );
    // A rotation without one retires every earlier key at once: as soon as a completed fetch
    // lacks them, their (cached) tokens stop verifying.
    emu.rotate_key(Duration::ZERO).unwrap();
    let newest = emu.mint_token("rotating-user").unwrap();
    assert!(passage.validate_jwt(&newest).await.is_ok());
    assert!(matches!(
        passage.validate_jwt(&new).await,
        Err(AuthError::InvalidToken(R::UnknownKeyId))
    ));
    assert!(matches!(
        passage.validate_jwt(&old).await,
        Err(AuthError::InvalidToken(R::UnknownKeyId))
    ));
}

#[tokio::test]
async fn jwks_faults_give_keys_unavailable_and_never_a_pass() {
    let emu = Emulator::builder().start().await.unwrap();
    let token = emu.mint_token("fault-user").unwrap();
    for spec in [
        json!({"mode": "status", "status": 503}),
        json!({"mode": "garbage"}),
        json!({"mode": "huge"}),
        json!({"mode": "hang", "hang_ms": 5000}),
    ] {
        let clock = passage_tests::manual_clock();
        let passage = passage_with(&emu, |b| b.clock(clock.clone()));
        inject_fault(&emu, "jwks", 1, spec.clone()).await;
        let result = passage.validate_jwt(&token).await;
        assert!(
            matches!(result, Err(AuthError::KeysUnavailable(_))),
            "{spec}: {result:?}"
        );
        // Past the backoff (at most 200 ms with the quick settings).
        clock.advance(Duration::from_millis(250));
        assert_eq!(
            passage.validate_jwt(&token).await.unwrap(),
            "fault-user",
            "{spec}: recovers"
        );
    }
}

#[tokio::test]
async fn many_concurrent_cold_requests_cause_one_emulator_fetch() {
    let emu = Emulator::builder().start().await.unwrap();
    let passage = passage_for_emulator(&emu);
    let tokens: Vec<String> = (0..200)
        .map(|i| emu.mint_token(&format!("user{i}")).unwrap())
        .collect();
    let results = futures::future::join_all(tokens.iter().map(|t| passage.validate_jwt(t))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(emu.jwks_requests(), 1);
}
