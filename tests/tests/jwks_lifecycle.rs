//! The JWKS lifecycle against a real server on loopback: single-flight, cooldowns, rotation,
//! stale-while-revalidate, conditional requests, cancellation, outages and recovery. Fetches are
//! counted on the server side; time is a manual clock the tests move, never a sleep.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use futures::FutureExt as _;
use passage_core::clock::ManualClock;
use passage_core::{AuthError, InvalidTokenReason as R, JwksSettings, Passage};
use passage_tests::keys::claims;
use passage_tests::*;
use serde_json::json;

/// A JWKS server publishing `key`, a manual clock, a handle reading both, and the issuer.
async fn serve_on_clock(
    key: &TestKey,
    jwks: JwksSettings,
) -> (JwksServer, ManualClock, Passage, String) {
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    let clock = manual_clock();
    let passage = passage_with_clock(&server.origin(), jwks, &clock);
    let iss = issuer(&server.origin());
    (server, clock, passage, iss)
}

/// Lets spawned tasks (the fetch, the test server) run for a moment of real time.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// Verifies `token` without waiting: `None` if the verification would have to wait for a fetch.
fn verify_now(passage: &Passage, token: &str) -> Option<Result<passage_core::UserId, AuthError>> {
    passage.validate_jwt(token).now_or_never()
}

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
    assert_eq!(
        (passage.jwks_fetch_count(), server.hits()),
        (1, 1),
        "(fetches, server hits)"
    );
}

#[tokio::test]
async fn an_unknown_kid_flood_fetches_at_most_once_per_cooldown() {
    let key = TestKey::generate("k1");
    let cooldown = Duration::from_secs(30);
    let (server, clock, passage, iss) =
        serve_on_clock(&key, settings(|s| s.refresh_cooldown = cooldown)).await;
    assert!(
        passage
            .validate_jwt(&token(&key, &iss, APP_ID, "u"))
            .await
            .is_ok()
    );
    assert_eq!(server.hits(), 1);
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
    clock.advance(cooldown + Duration::from_secs(1));
    // Within one cooldown window: one refresh, whatever the number of unknown kids.
    for t in &flood {
        assert_eq!(
            passage.validate_jwt(t).await,
            Err(AuthError::InvalidToken(R::UnknownKeyId))
        );
        clock.advance(Duration::from_millis(100));
    }
    assert_eq!(server.hits(), 2, "one refresh in the window");
    // The next window: at most one more fetch, which started after every flood kid was seen...
    clock.advance(cooldown);
    for t in &flood {
        assert!(passage.validate_jwt(t).await.is_err());
    }
    assert!(server.hits() <= 3, "{} fetches", server.hits());
    // ...so from then on they are answered from the negative cache.
    let before = server.hits();
    clock.advance(cooldown + Duration::from_secs(1));
    for t in &flood {
        assert_eq!(
            passage.validate_jwt(t).await,
            Err(AuthError::InvalidToken(R::UnknownKeyId))
        );
    }
    assert_eq!(server.hits(), before, "negative cache held");
}

#[tokio::test]
async fn a_key_rotated_in_within_the_cooldown_is_accepted_after_it_and_never_negatively_cached() {
    let old = TestKey::generate("old");
    let cooldown = Duration::from_secs(30);
    let (server, clock, passage, iss) =
        serve_on_clock(&old, settings(|s| s.refresh_cooldown = cooldown)).await;
    // t0: the first fetch.
    assert!(passage.warm_up().await.is_ok());
    assert_eq!(server.hits(), 1);
    // t0+5 s: Passage publishes a new key.
    clock.advance(Duration::from_secs(5));
    let new = TestKey::generate("new");
    server.serve(json!({"keys": [old.jwk(), new.jwk()]}));
    // t0+10 s: a token signed by it; the cooldown forbids a fetch, so it is refused for now.
    clock.advance(Duration::from_secs(5));
    let new_token = token(&new, &iss, APP_ID, "u-new");
    assert_eq!(
        passage.validate_jwt(&new_token).await,
        Err(AuthError::InvalidToken(R::UnknownKeyId))
    );
    assert_eq!(server.hits(), 1, "no fetch within the cooldown");
    // t0+cooldown+1 s: accepted (a refresh was scheduled for the cooldown's end, or this
    // request makes it), and so is every later one.
    clock.advance(cooldown - Duration::from_secs(9));
    assert_eq!(passage.validate_jwt(&new_token).await.unwrap(), "u-new");
    for i in 0..5 {
        let t = token(&new, &iss, APP_ID, &format!("later-{i}"));
        assert!(passage.validate_jwt(&t).await.is_ok());
    }
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_kid_absent_from_a_fetch_that_started_after_it_was_seen_is_negatively_cached() {
    let key = TestKey::generate("k1");
    let cooldown = Duration::from_secs(30);
    let (server, clock, passage, iss) =
        serve_on_clock(&key, settings(|s| s.refresh_cooldown = cooldown)).await;
    assert!(passage.warm_up().await.is_ok());
    clock.advance(cooldown + Duration::from_secs(1));
    let stranger = TestKey::generate("stranger");
    let t = token(&stranger, &iss, APP_ID, "u");
    // Seen now, fetched for now, absent: remembered as unknown.
    assert_eq!(
        passage.validate_jwt(&t).await,
        Err(AuthError::InvalidToken(R::UnknownKeyId))
    );
    assert_eq!(server.hits(), 2);
    // Even once the JWKS lists it, within the negative TTL it is refused without a fetch.
    server.serve(json!({"keys": [key.jwk(), stranger.jwk()]}));
    clock.advance(cooldown + Duration::from_secs(1));
    assert_eq!(
        passage.validate_jwt(&t).await,
        Err(AuthError::InvalidToken(R::UnknownKeyId))
    );
    assert_eq!(server.hits(), 2, "negative cache");
}

#[tokio::test]
async fn a_cancelled_verification_never_stalls_the_fetch() {
    let key = TestKey::generate("k1");
    let (server, clock, passage, iss) = serve_on_clock(&key, quick_jwks_settings()).await;
    server.delay(Some((clock.clone(), Duration::from_millis(1500))));
    let t = token(&key, &iss, APP_ID, "u");
    // The only waiter gives up after 100 ms (a client disconnect, a tower timeout).
    let dropped = tokio::time::timeout(Duration::from_millis(100), passage.validate_jwt(&t)).await;
    assert!(dropped.is_err(), "the JWKS has not answered yet");
    // The JWKS answers 1.5 s after the request; nobody is waiting any more.
    clock.advance(Duration::from_millis(1500));
    server.wait_answered(1).await;
    // 6 s later a verification succeeds at once: the fetch ran to its end and was recorded.
    clock.advance(Duration::from_secs(6));
    let mut answer = None;
    for _ in 0..500 {
        answer = verify_now(&passage, &t);
        if answer.is_some() {
            break;
        }
        settle().await;
    }
    assert_eq!(answer.expect("the set was installed").unwrap(), "u");
    assert_eq!(server.hits(), 1, "exactly one fetch in all");
    assert_eq!(passage.jwks_fetch_count(), 1);
}

#[tokio::test]
async fn a_refresh_never_blocks_requests_and_follows_max_age() {
    let key = TestKey::generate("k1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    server.set(JwksMode::Serve {
        keys: json!({"keys": [key.jwk()]}),
        cache_control: Some("max-age=2".into()),
    });
    let clock = manual_clock();
    let passage = passage_with_clock(
        &server.origin(),
        settings(|s| {
            s.min_ttl = Duration::ZERO;
            s.fetch_timeout = Duration::from_secs(60);
        }),
        &clock,
    );
    let iss = issuer(&server.origin());
    let repeated = token(&key, &iss, APP_ID, "same");
    assert!(passage.validate_jwt(&repeated).await.is_ok());
    // From now on the JWKS takes 3 s to answer.
    server.delay(Some((clock.clone(), Duration::from_secs(3))));
    for i in 0..200 {
        clock.advance(Duration::from_millis(100));
        let fresh = token(&key, &iss, APP_ID, &format!("user-{i}"));
        // Neither a new token nor a cached one waits for the refresh under way.
        assert_eq!(
            verify_now(&passage, &fresh)
                .expect("answered without waiting")
                .unwrap(),
            format!("user-{i}").as_str()
        );
        assert!(verify_now(&passage, &repeated).expect("cache hit").is_ok());
        settle().await;
    }
    // 20 s of max-age=2 with 3 s answers: a refresh shortly before each expiry, one at a time.
    let refreshes = server.hits() - 1;
    assert!((3..=7).contains(&refreshes), "{refreshes} refreshes");
    assert_eq!(server.max_in_flight(), 1, "single-flight");
}

#[tokio::test]
async fn a_hanging_jwks_never_blocks_requests_until_max_stale() {
    let key = TestKey::generate("k1");
    let (server, clock, passage, iss) = serve_on_clock(
        &key,
        settings(|s| {
            s.default_ttl = Duration::from_secs(2);
            s.min_ttl = Duration::ZERO;
            s.max_stale = Duration::from_secs(10);
            s.fetch_timeout = Duration::from_millis(200);
        }),
    )
    .await;
    assert!(passage.warm_up().await.is_ok());
    server.set(JwksMode::Hang);
    // Up to freshness (2 s) plus max-stale (10 s), every request is answered at once.
    for i in 0..115 {
        clock.advance(Duration::from_millis(100));
        let t = token(&key, &iss, APP_ID, &format!("user-{i}"));
        assert!(
            verify_now(&passage, &t).expect("no wait").is_ok(),
            "request {i}"
        );
        settle().await;
    }
    assert!(server.hits() >= 2, "refreshes were tried");
    // Past max-stale the keys are not trusted: 503 with Retry-After.
    clock.advance(Duration::from_secs(1));
    let t = token(&key, &iss, APP_ID, "late");
    let error = passage.validate_jwt(&t).await.unwrap_err();
    assert!(matches!(error, AuthError::KeysUnavailable(_)), "{error:?}");
    let response = error.response();
    assert_eq!(response.status, 503);
    assert!(response.retry_after.is_some());
}

#[tokio::test]
async fn a_304_renews_freshness_without_a_new_document() {
    let key = TestKey::generate("k1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    server.set(JwksMode::Serve {
        keys: json!({"keys": [key.jwk()]}),
        cache_control: Some("max-age=60".into()),
    });
    server.etag(Some("\"v1\""));
    let clock = manual_clock();
    let passage = passage_with_clock(&server.origin(), quick_jwks_settings(), &clock);
    let iss = issuer(&server.origin());
    let t = token(&key, &iss, APP_ID, "u");
    assert!(passage.validate_jwt(&t).await.is_ok());
    // Past its freshness: a background refresh, conditional, answered 304.
    clock.advance(Duration::from_secs(61));
    assert!(verify_now(&passage, &t).expect("stale set serves").is_ok());
    server.wait_answered(2).await;
    settle().await;
    assert_eq!(
        server.if_none_match(),
        vec![None, Some("\"v1\"".to_owned())]
    );
    // Freshness renewed: no further fetch for the next 50 s, and the keys still verify.
    for _ in 0..5 {
        clock.advance(Duration::from_secs(10));
        assert!(verify_now(&passage, &t).expect("fresh").is_ok());
        let other = token(&key, &iss, APP_ID, "other");
        assert!(verify_now(&passage, &other).expect("fresh").is_ok());
        settle().await;
    }
    assert_eq!(server.hits(), 2);
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
    let (server, clock, passage, iss) = serve_on_clock(
        &first,
        settings(|s| {
            s.default_ttl = Duration::from_secs(10);
            s.min_ttl = Duration::ZERO;
        }),
    )
    .await;
    let t = token(&first, &iss, APP_ID, "u");
    assert!(passage.validate_jwt(&t).await.is_ok());
    let second = TestKey::generate("same");
    server.serve(json!({"keys": [second.jwk()]}));
    clock.advance(Duration::from_secs(11));
    // Stale: answered from the set in hand while the refresh runs...
    assert!(verify_now(&passage, &t).expect("stale set serves").is_ok());
    server.wait_answered(2).await;
    settle().await;
    // ...and once the new material is in, the cached token no longer verifies.
    assert_eq!(
        passage.validate_jwt(&t).await,
        Err(AuthError::InvalidToken(R::BadSignature))
    );
}

async fn assert_unavailable(passage: &passage_core::Passage, token: &str) {
    let result = passage.validate_jwt(token).await;
    assert!(
        matches!(result, Err(AuthError::KeysUnavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn outages_give_keys_unavailable_and_recover_after_the_backoff() {
    let key = TestKey::generate("k1");
    let good = json!({"keys": [key.jwk()]});
    let server = JwksServer::start(good.clone()).await;
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
        let clock = manual_clock();
        let mut jwks = quick_jwks_settings();
        if matches!(mode, JwksMode::Hang) {
            // A hanging JWKS fails at the fetch timeout: short here, as it fails whatever the load.
            jwks.fetch_timeout = Duration::from_millis(200);
        }
        let passage = passage_with_clock(&server.origin(), jwks, &clock);
        let t = token(&key, &iss, APP_ID, "u");
        // The fetch fails (a hanging one at its timeout).
        assert_unavailable(&passage, &t).await;
        // While backing off, answers come at once, without a fetch.
        let hits = server.hits();
        let answer = verify_now(&passage, &t).expect("no wait while backing off");
        assert!(
            matches!(answer, Err(AuthError::KeysUnavailable(_))),
            "{mode:?}"
        );
        assert_eq!(server.hits(), hits, "{mode:?}");
        // Back up: verification recovers once the backoff (at most 200 ms) is over.
        server.serve(good.clone());
        clock.advance(Duration::from_millis(250));
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
    assert_unavailable(&passage, &token(&key, &issuer(&origin), APP_ID, "u")).await;
}

#[tokio::test]
async fn cached_keys_keep_working_through_an_outage() {
    let key = TestKey::generate("k1");
    let (server, clock, passage, iss) = serve_on_clock(
        &key,
        settings(|s| {
            s.default_ttl = Duration::from_secs(10);
            s.min_ttl = Duration::ZERO;
        }),
    )
    .await;
    assert!(
        passage
            .validate_jwt(&token(&key, &iss, APP_ID, "first"))
            .await
            .is_ok()
    );
    server.set(JwksMode::Status(503));
    clock.advance(Duration::from_secs(11));
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
        clock.advance(Duration::from_secs(1));
        settle().await;
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
    let (server, clock, passage, iss) = serve_on_clock(
        &key,
        settings(|s| {
            s.default_ttl = Duration::from_secs(5);
            s.min_ttl = Duration::ZERO;
            s.max_stale = Duration::from_secs(5);
        }),
    )
    .await;
    let t = token(&key, &iss, APP_ID, "u");
    assert!(passage.validate_jwt(&t).await.is_ok());
    server.set(JwksMode::Status(500));
    clock.advance(Duration::from_secs(11));
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
        cache_control: Some("public, max-age=100".into()),
    });
    let clock = manual_clock();
    let passage = passage_with_clock(
        &server.origin(),
        settings(|s| s.min_ttl = Duration::ZERO),
        &clock,
    );
    let iss = issuer(&server.origin());
    assert!(
        passage
            .validate_jwt(&token(&key, &iss, APP_ID, "a"))
            .await
            .is_ok()
    );
    // Until 15 % before max-age, no refresh is due (it comes 5 to 15 % early, jittered).
    clock.advance(Duration::from_secs(84));
    assert!(verify_now(&passage, &token(&key, &iss, APP_ID, "b")).is_some());
    settle().await;
    assert_eq!(server.hits(), 1);
    // At max-age it is (in the background).
    clock.advance(Duration::from_secs(16));
    assert!(verify_now(&passage, &token(&key, &iss, APP_ID, "c")).is_some());
    server.wait_answered(2).await;
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn building_is_offline_and_warm_up_fetches_eagerly() {
    let key = TestKey::generate("k1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    let passage = passage_for(&server.origin(), quick_jwks_settings());
    settle().await;
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
    let clock = manual_clock();
    let passage = passage_with_clock(&server.origin(), quick_jwks_settings(), &clock);
    let mut c = claims(&issuer(&server.origin()), APP_ID, "u");
    c["exp"] = json!(passage_core::clock::Clock::unix_now(&clock) + 60);
    let t = key.sign(&c);
    assert!(passage.validate_jwt(&t).await.is_ok());
    clock.advance(Duration::from_secs(59));
    assert!(
        passage.validate_jwt(&t).await.is_ok(),
        "cached, not expired"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        passage.validate_jwt(&t).await,
        Err(AuthError::InvalidToken(R::Expired))
    );
}

#[tokio::test]
async fn a_static_key_set_verifies_offline() {
    let key = TestKey::generate("k1");
    let document = json!({"keys": [key.jwk()]}).to_string();
    // An origin nothing listens on: no fetch is ever made.
    let config = passage_core::Config::builder(APP_ID)
        .origin("http://127.0.0.1:9")
        .build()
        .unwrap();
    let passage = Passage::with_jwks(config, document.as_bytes()).unwrap();
    let iss = issuer("http://127.0.0.1:9");
    assert_eq!(
        verify_now(&passage, &token(&key, &iss, APP_ID, "u"))
            .unwrap()
            .unwrap(),
        "u"
    );
    let stranger = TestKey::generate("k2");
    assert_eq!(
        verify_now(&passage, &token(&stranger, &iss, APP_ID, "u")).unwrap(),
        Err(AuthError::InvalidToken(R::UnknownKeyId))
    );
    let forged = TestKey::generate("k1");
    assert_eq!(
        verify_now(&passage, &token(&forged, &iss, APP_ID, "u")).unwrap(),
        Err(AuthError::InvalidToken(R::BadSignature))
    );
    assert_eq!(passage.jwks_fetch_count(), 0);
    let config = passage_core::Config::builder(APP_ID).build().unwrap();
    assert!(matches!(
        Passage::with_jwks(config, b"{\"keys\": []}"),
        Err(passage_core::ConfigError::InvalidJwks(_))
    ));
}
