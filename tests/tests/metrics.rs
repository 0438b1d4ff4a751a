//! `passage-core`'s `metrics` feature: a scripted run against real servers on loopback, counted
//! by a recorder installed for this test binary (its only test, so nothing else is counted).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use passage_core::{AuthError, JwksSettings, KeysUnavailableReason};
use passage_tests::jwks_server::JwksServer;
use passage_tests::{
    APP_ID, TestKey, issuer, manual_clock, passage_for_emulator, passage_with_clock,
    quick_jwks_settings, token,
};
use serde_json::json;

/// Every metric recorded, as `name{label=value,...}` (labels sorted) → value: the count of a
/// counter, the number of observations of a histogram.
fn recorded(snapshotter: &metrics_util::debugging::Snapshotter) -> BTreeMap<String, u64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|label| format!("{}={}", label.key(), label.value()))
                .collect();
            labels.sort();
            let count = match value {
                DebugValue::Counter(count) => count,
                DebugValue::Histogram(values) => values.len() as u64,
                DebugValue::Gauge(_) => panic!("no gauge is recorded"),
            };
            (format!("{}{{{}}}", key.name(), labels.join(",")), count)
        })
        .collect()
}

#[tokio::test]
async fn a_scripted_run_is_counted_by_outcome_reason_cause_and_status() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    // Verification against a JWKS server that sends an ETag, on a clock the test moves.
    let key = TestKey::generate("k1");
    let server = JwksServer::start(json!({"keys": [key.jwk()]})).await;
    server.etag(Some("\"v1\""));
    let origin = server.origin();
    let clock = manual_clock();
    let settings = JwksSettings {
        default_ttl: Duration::from_secs(60),
        min_ttl: Duration::from_secs(60),
        max_ttl: Duration::from_secs(60),
        max_stale: Duration::from_secs(1),
        ..quick_jwks_settings()
    };
    let passage = passage_with_clock(&origin, settings, &clock);
    let valid = token(&key, &issuer(&origin), APP_ID, "u1");
    passage.validate_jwt(&valid).await.unwrap(); // fetch (missing, updated); cache miss
    passage.validate_jwt(&valid).await.unwrap(); // cache hit
    let forger = TestKey::generate("k1");
    let forged = token(&forger, &issuer(&origin), APP_ID, "u1");
    assert!(passage.validate_jwt(&forged).await.is_err()); // bad signature; cache miss
    let no_token = http::HeaderMap::new();
    assert_eq!(
        passage.authenticate(&no_token).await.unwrap_err(),
        AuthError::MissingToken
    );
    // Past freshness and max-stale: the next request waits for a fetch, which the ETag makes a 304.
    clock.advance(Duration::from_secs(120));
    let second = token(&key, &issuer(&origin), APP_ID, "u2");
    passage.validate_jwt(&second).await.unwrap(); // fetch (missing, not_modified); cache miss
    assert_eq!(server.hits(), 2);

    // Keys that cannot be had: nothing listens at this origin.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let unreachable = passage_with_clock(&closed, quick_jwks_settings(), &clock);
    assert_eq!(
        unreachable.validate_jwt(&valid).await.unwrap_err(),
        AuthError::KeysUnavailable(KeysUnavailableReason::Transport)
    ); // fetch (missing, failed); cache miss

    // Management calls against the emulator.
    let emulator = passage_emulator::Emulator::builder().start().await.unwrap();
    let user_id = emulator.create_user("ada@example.com").unwrap();
    let api = passage_for_emulator(&emulator);
    api.user().get(&user_id).await.unwrap();
    assert!(
        api.user()
            .get("nosuchuser")
            .await
            .unwrap_err()
            .is_not_found()
    );

    let metrics = recorded(&snapshotter);
    let user_path = "/v1/apps/{app_id}/users/{user_id}";
    let expected: BTreeMap<String, u64> = [
        ("passage_verifications_total{outcome=valid,reason=none}", 3),
        (
            "passage_verifications_total{outcome=invalid_token,reason=bad_signature}",
            1,
        ),
        (
            "passage_verifications_total{outcome=missing_token,reason=none}",
            1,
        ),
        (
            "passage_verifications_total{outcome=keys_unavailable,reason=transport}",
            1,
        ),
        ("passage_keys_unavailable_total{reason=transport}", 1),
        ("passage_token_cache_total{result=hit}", 1),
        ("passage_token_cache_total{result=miss}", 4),
        (
            "passage_jwks_fetches_total{cause=missing,outcome=updated}",
            1,
        ),
        (
            "passage_jwks_fetches_total{cause=missing,outcome=not_modified}",
            1,
        ),
        (
            "passage_jwks_fetches_total{cause=missing,outcome=failed}",
            1,
        ),
        ("passage_jwks_fetch_duration_seconds{outcome=updated}", 1),
        (
            "passage_jwks_fetch_duration_seconds{outcome=not_modified}",
            1,
        ),
        ("passage_jwks_fetch_duration_seconds{outcome=failed}", 1),
        (
            &format!("passage_management_calls_total{{method=GET,path={user_path},status=200}}"),
            1,
        ),
        (
            &format!("passage_management_calls_total{{method=GET,path={user_path},status=404}}"),
            1,
        ),
        (
            &format!("passage_management_call_duration_seconds{{method=GET,path={user_path}}}"),
            2,
        ),
    ]
    .into_iter()
    .map(|(name, count)| (name.to_owned(), count))
    .collect();
    assert_eq!(metrics, expected);
}
