//! Test support shared by the end-to-end tests: RSA test keys that sign arbitrary tokens, and a
//! small JWKS server whose behaviour the tests control and whose fetches they count.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod adapter_fixtures;
pub mod conformance;
pub mod jwks_server;
pub mod keys;

pub use jwks_server::{JwksMode, JwksServer};

/// The project README's Rust snippets, compiled as doc tests (`cargo test --doc -p passage-tests`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct RootReadme;
pub use keys::{TestKey, b64, sign_raw, token};

/// The app ID the verifier tests use.
pub const APP_ID: &str = "testapp0123456789abcdefg";

/// A modulus and private exponent of a 1024-bit RSA key (made with `openssl genrsa 1024`), hex.
/// Too weak to be trusted; the verifier must refuse a JWKS entry carrying it.
pub const WEAK_1024_N: &str = "00bf111dd3c289a60aa2e66fa0f11b083b8f855cceaea98a1ce17a112c352f4163df2b6f48b3e704edc93daf208acebffb004bac536362be5d9b4ebac34615a64ab996999deea3b3e0a9b7b78ba95e83d2766ea8bc966ac6abec57265b5597e48aa87146573edb9e1c625c680a426f12000a2f0c681dfc84aeed0b8b2115e8884b";
/// The private exponent matching [`WEAK_1024_N`].
pub const WEAK_1024_D: &str = "27fd98259b611e1cb9cdcb6d7f296e46b11a73bb5ab9678bf5f18ba89a1522f5995f48f2899cffde1931ccf6ddb6ba5df9c8dcefb32c96b596ed1a90069a3f6ca5d3b846fad071973a3a80f88452c16ca81051053b95414d2cf856e08fc5d995c20c54f2eba4d5de15056c2ebab4dce189419444cf14600b2bf87135f0b21339";

use passage_core::{Config, JwksSettings, Passage};
use std::time::Duration;

/// JWKS settings for tests: short backoff so recoveries are quick. The fetch timeout is long: a
/// fetch that should succeed must never fail because the machine is busy (a loaded 2-core machine
/// has taken more than 800 ms to answer one); a test of a hanging JWKS sets its own.
pub fn quick_jwks_settings() -> JwksSettings {
    JwksSettings {
        fetch_timeout: Duration::from_secs(30),
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..JwksSettings::default()
    }
}

/// A `Passage` for [`APP_ID`] whose auth origin is `origin`.
pub fn passage_for(origin: &str, jwks: JwksSettings) -> Passage {
    let config = Config::builder(APP_ID)
        .origin(origin)
        .jwks(jwks)
        .build()
        .unwrap();
    Passage::new(config).unwrap()
}

/// Like [`passage_for`], reading time from `clock`.
pub fn passage_with_clock(
    origin: &str,
    jwks: JwksSettings,
    clock: &passage_core::clock::ManualClock,
) -> Passage {
    let config = Config::builder(APP_ID)
        .origin(origin)
        .jwks(jwks)
        .clock(clock.clone())
        .build()
        .unwrap();
    Passage::new(config).unwrap()
}

/// A manual clock for a test, a minute ahead of real time. Tokens are signed with the real time
/// (`iat` = now), and the verifier refuses an `iat` later than its clock: a clock started at real
/// time is behind a token signed even a second later (the next second began), which a busy machine
/// makes likely. A minute ahead, every token a test signs is from the clock's past, however slow
/// the machine, while `exp` (an hour ahead) is still far in its future.
pub fn manual_clock() -> passage_core::clock::ManualClock {
    let clock = passage_core::clock::ManualClock::new();
    clock.advance(Duration::from_secs(60));
    clock
}

/// The issuer the verifier expects for [`APP_ID`] at `origin`.
pub fn issuer(origin: &str) -> String {
    format!("{origin}/v1/apps/{APP_ID}")
}

/// A `Config` builder pointed at a running emulator: its app ID, its origin (auth and API) and its
/// API key, in one call. Add settings, then `build()`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let emulator = passage_emulator::Emulator::builder().start().await?;
/// let passage = passage_core::Passage::new(passage_tests::config_for(&emulator).build()?)?;
/// let user = emulator.create_user("ada@example.com")?;
/// let token = emulator.mint_token(&user)?;
/// assert_eq!(passage.validate_jwt(&token).await?.as_str(), user);
/// # Ok(()) }
/// ```
pub fn config_for(emulator: &passage_emulator::Emulator) -> passage_core::ConfigBuilder {
    Config::builder(emulator.app_id())
        .origin(emulator.origin())
        .api_key(emulator.api_key())
}

/// A `Passage` pointed at a running emulator (both origins, its app ID and API key).
pub fn passage_for_emulator(emulator: &passage_emulator::Emulator) -> Passage {
    passage_with(emulator, |b| b)
}

/// Like [`passage_for_emulator`], with more settings.
pub fn passage_with(
    emulator: &passage_emulator::Emulator,
    tweak: impl FnOnce(passage_core::ConfigBuilder) -> passage_core::ConfigBuilder,
) -> Passage {
    let builder = config_for(emulator).jwks(quick_jwks_settings());
    Passage::new(tweak(builder).build().unwrap()).unwrap()
}

/// Arms a fault on the emulator: the next `count` requests of `target` (`jwks` or `api`) fail
/// as `spec` says (`{"mode": "status", "status": 503}` and so on).
pub async fn inject_fault(
    emulator: &passage_emulator::Emulator,
    target: &str,
    count: u32,
    mut spec: serde_json::Value,
) {
    spec["target"] = target.into();
    spec["count"] = count.into();
    let url = format!(
        "{}/emulator/v1/apps/{}/faults",
        emulator.origin(),
        emulator.app_id()
    );
    let response = reqwest::Client::new()
        .post(url)
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "arming a fault: {}",
        response.status()
    );
}
