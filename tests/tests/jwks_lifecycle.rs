//! The JWKS lifecycle against a real server on loopback: single-flight, cooldowns, rotation,
//! outages and recovery. Fetches are counted on the server side.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use passage_core::{AuthError, InvalidTokenReason as R, JwksSettings};
use passage_tests::keys::claims;
use passage_tests::*;
use serde_json::json;

fn settings(f: impl FnOnce(&mut JwksSettings)) -> JwksSettings {
    let mut s = quick_jwks_settings();
    f(&mut s);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cold_verifications_share_one_fetch() {
    let key = TestKey::generate("k1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    let passage = passage_for(&server.origin(), quick_jwks_settings());
    let iss = issuer(&server.origin());
    // Distinct tokens so the verified-token cache cannot help.
    let tokens: Vec<String> = (0..200)
        .map(|i| token(&key, &iss, APP_ID, &format!("user-{i}")))
        .collect();
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let passage = passage.clone();
            tokio::spawn(async move { (i, passage.validate_jwt(&t).await) })
        })
        .collect();
    for task in tasks {
        let (i, result) = task.await.unwrap();
        assert_eq!(result.unwrap(), format!("user-{i}").as_str());
    }
    assert_eq!(server.hits(), 1);
    assert_eq!(passage.jwks_fetch_count(), 1);
}

#[tokio::test]
async fn an_unknown_kid_flood_fetches_at_most_once_per_cooldown() {
    let key = TestKey::generate("k1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    let cooldown = Duration::from_millis(700);
    let passage = passage_for(
        &server.origin(),
        settings(|s| s.refresh_cooldown = cooldown),
    );
    let iss = issuer(&server.origin());
    assert!(
        passage
            .validate_jwt(&token(&key, &iss, APP_ID, "u"))
            .await
            .is_ok()
    );
    assert_eq!(server.hits(), 1);
    let start = Instant::now();
    let flood: Vec<String> = (0..100)
        .map(|i| {
            token(
                &TestKey::generate(&format!("random-{i}")),
                &iss,
                APP_ID,
                "u",
            )
        })
        .collect();
    for t in &flood {
        assert_eq!(
            passage.validate_jwt(t).await,
            Err(AuthError::InvalidToken(R::UnknownKeyId))
        );
    }
    let elapsed = start.elapsed();
    let windows = (elapsed.as_millis() / cooldown.as_millis()) as u64 + 1;
    let refreshes = server.hits() - 1;
    assert!(
        refreshes <= windows,
        "{refreshes} refreshes in {elapsed:?} ({windows} cooldown windows)"
    );
    // The same unknown kids again, after the cooldown, are answered from the negative cache.
    tokio::time::sleep(cooldown).await;
    let before = server.hits();
    for t in &flood {
        assert_eq!(
            passage.validate_jwt(t).await,
            Err(AuthError::InvalidToken(R::UnknownKeyId))
        );
    }
    assert_eq!(server.hits(), before, "negative cache held");
}

#[tokio::test]
async fn the_fetch_ceiling_bounds_refreshes_whatever_the_cooldown() {
    let key = TestKey::generate("k1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    let passage = passage_for(
        &server.origin(),
        settings(|s| {
            s.refresh_cooldown = Duration::ZERO;
            s.max_fetches_per_minute = 3;
        }),
    );
    let iss = issuer(&server.origin());
    for i in 0..50 {
        let t = token(
            &TestKey::generate(&format!("random-{i}")),
            &iss,
            APP_ID,
            "u",
        );
        assert!(passage.validate_jwt(&t).await.is_err());
    }
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn a_rotated_in_key_is_accepted_after_one_refetch_and_a_rotated_out_key_stops_verifying() {
    let old = TestKey::generate("old");
    let server = JwksServer::start(json!({"keys": [old.jwk()]})).await;
    let passage = passage_for(
        &server.origin(),
        settings(|s| s.refresh_cooldown = Duration::ZERO),
    );
    let iss = issuer(&server.origin());
    let old_token = token(&old, &iss, APP_ID, "u-old");
    assert_eq!(passage.validate_jwt(&old_token).await.unwrap(), "u-old");
    assert_eq!(
        passage.validate_jwt(&old_token).await.unwrap(),
        "u-old",
        "cached"
    );
    let new = TestKey::generate("new");
    server.serve(json!({"keys": [new.jwk()]}));
    let new_token = token(&new, &iss, APP_ID, "u-new");
    assert_eq!(passage.validate_jwt(&new_token).await.unwrap(), "u-new");
    assert_eq!(server.hits(), 2, "one refetch for the new kid");
    // The old key left the set: its verified (cached) token no longer verifies.
    assert_eq!(
        passage.validate_jwt(&old_token).await,
        Err(AuthError::InvalidToken(R::UnknownKeyId))
    );
}

#[tokio::test]
async fn a_kid_reused_with_other_key_material_drops_cached_tokens() {
    let first = TestKey::generate("same");
    let server = JwksServer::start(json!({"keys": [first.jwk()]})).await;
    let passage = passage_for(
        &server.origin(),
        settings(|s| {
            s.default_ttl = Duration::from_millis(100);
            s.min_ttl = Duration::ZERO;
        }),
    );
    let iss = issuer(&server.origin());
    let t = token(&first, &iss, APP_ID, "u");
    assert!(passage.validate_jwt(&t).await.is_ok());
    let second = TestKey::generate("same");
    server.serve(json!({"keys": [second.jwk()]}));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        passage.validate_jwt(&t).await,
        Err(AuthError::InvalidToken(R::BadSignature))
    );
}

async fn assert_unavailable_within(passage: &passage_core::Passage, token: &str, limit: Duration) {
    let start = Instant::now();
    let result = passage.validate_jwt(token).await;
    assert!(
        matches!(result, Err(AuthError::KeysUnavailable(_))),
        "{result:?}"
    );
    assert!(start.elapsed() < limit, "took {:?}", start.elapsed());
}

#[tokio::test]
async fn outages_give_keys_unavailable_within_the_timeout_and_recover() {
    let key = TestKey::generate("k1");
    let good = json!({"keys": [key.jwk()]});
    let server = JwksServer::start(good.clone()).await;
    let timeout = Duration::from_millis(800);
    let limit = timeout + Duration::from_millis(700);
    let iss = issuer(&server.origin());
    for mode in [
        JwksMode::Status(500),
        JwksMode::Status(403),
        JwksMode::Hang,
        JwksMode::Garbage,
        JwksMode::Huge,
        JwksMode::Redirect(format!(
            "{}/v1/apps/{APP_ID}/.well-known/jwks.json",
            server.origin()
        )),
        JwksMode::Serve {
            keys: json!({"keys": []}),
            cache_control: None,
        },
    ] {
        server.set(mode.clone());
        let passage = passage_for(&server.origin(), quick_jwks_settings());
        let t = token(&key, &iss, APP_ID, "u");
        assert_unavailable_within(&passage, &t, limit).await;
        // While backing off, answers come at once, without a fetch.
        let hits = server.hits();
        assert_unavailable_within(&passage, &t, Duration::from_millis(100)).await;
        assert!(server.hits() <= hits + 1, "{mode:?}");
        // Back up: verification recovers after the backoff.
        server.serve(good.clone());
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(passage.validate_jwt(&t).await.unwrap(), "u", "{mode:?}");
    }
}

#[tokio::test]
async fn a_connection_refused_gives_keys_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let key = TestKey::generate("k1");
    let passage = passage_for(&origin, quick_jwks_settings());
    assert_unavailable_within(
        &passage,
        &token(&key, &issuer(&origin), APP_ID, "u"),
        Duration::from_secs(2),
    )
    .await;
}

#[tokio::test]
async fn cached_keys_keep_working_through_an_outage() {
    let key = TestKey::generate("k1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    let passage = passage_for(
        &server.origin(),
        settings(|s| {
            s.default_ttl = Duration::from_millis(100);
            s.min_ttl = Duration::ZERO;
        }),
    );
    let iss = issuer(&server.origin());
    assert!(
        passage
            .validate_jwt(&token(&key, &iss, APP_ID, "first"))
            .await
            .is_ok()
    );
    server.set(JwksMode::Status(503));
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Stale now, and the refresh fails: the last good keys still verify new tokens.
    for i in 0..5 {
        let user = format!("during-outage-{i}");
        assert_eq!(
            passage
                .validate_jwt(&token(&key, &iss, APP_ID, &user))
                .await
                .unwrap(),
            user.as_str()
        );
    }
    assert!(server.hits() >= 2, "a refresh was tried");
    // Forged tokens are still refused during the outage.
    let forged = token(&TestKey::generate("k1"), &iss, APP_ID, "x");
    assert_eq!(
        passage.validate_jwt(&forged).await,
        Err(AuthError::InvalidToken(R::BadSignature))
    );
}

#[tokio::test]
async fn keys_past_max_stale_are_not_used() {
    let key = TestKey::generate("k1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    let passage = passage_for(
        &server.origin(),
        settings(|s| {
            s.default_ttl = Duration::from_millis(50);
            s.min_ttl = Duration::ZERO;
            s.max_stale = Duration::from_millis(50);
        }),
    );
    let iss = issuer(&server.origin());
    let t = token(&key, &iss, APP_ID, "u");
    assert!(passage.validate_jwt(&t).await.is_ok());
    server.set(JwksMode::Status(500));
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Even the cached verified token is refused once its keys can no longer be trusted.
    assert!(matches!(
        passage.validate_jwt(&t).await,
        Err(AuthError::KeysUnavailable(_))
    ));
}

#[tokio::test]
async fn max_age_sets_the_refresh_time() {
    let key = TestKey::generate("k1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    server.set(JwksMode::Serve {
        keys: json!({"keys": [key.jwk()]}),
        cache_control: Some("public, max-age=1".into()),
    });
    let passage = passage_for(&server.origin(), settings(|s| s.min_ttl = Duration::ZERO));
    let iss = issuer(&server.origin());
    assert!(
        passage
            .validate_jwt(&token(&key, &iss, APP_ID, "a"))
            .await
            .is_ok()
    );
    assert!(
        passage
            .validate_jwt(&token(&key, &iss, APP_ID, "b"))
            .await
            .is_ok()
    );
    assert_eq!(server.hits(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        passage
            .validate_jwt(&token(&key, &iss, APP_ID, "c"))
            .await
            .is_ok()
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn building_is_offline_and_warm_up_fetches_eagerly() {
    let key = TestKey::generate("k1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    let passage = passage_for(&server.origin(), quick_jwks_settings());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.hits(), 0, "no fetch at construction");
    passage.warm_up().await.unwrap();
    assert_eq!(server.hits(), 1);
    passage.warm_up().await.unwrap();
    assert!(
        passage
            .validate_jwt(&token(&key, &issuer(&server.origin()), APP_ID, "u"))
            .await
            .is_ok()
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn tokens_expire_from_the_cache_at_their_exp() {
    let key = TestKey::generate("k1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    let passage = passage_for(&server.origin(), quick_jwks_settings());
    let mut c = claims(&issuer(&server.origin()), APP_ID, "u");
    c["exp"] = json!(passage_tests::keys::now() + 1);
    let t = key.sign(&c);
    assert!(passage.validate_jwt(&t).await.is_ok());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        passage.validate_jwt(&t).await,
        Err(AuthError::InvalidToken(R::Expired))
    );
}
