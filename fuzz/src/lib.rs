//! What the fuzz targets share: one runtime, one emulator, a key set in hand and a valid token.

use std::sync::OnceLock;

use passage_core::{Config, Passage};
use passage_emulator::Emulator;

/// The state every target needs, built once per fuzzing process.
pub struct World {
    /// A multi-purpose runtime (current-thread: the fuzzer is single-threaded anyway).
    pub runtime: tokio::runtime::Runtime,
    /// A running emulator.
    pub emulator: Emulator,
    /// A handle verifying against the emulator's JWKS document, held in memory (no fetches).
    pub offline: Passage,
    /// A valid token for `user_id`.
    pub token: String,
    /// The user the token names.
    pub user_id: String,
    /// The emulator's JWKS document.
    pub jwks: Vec<u8>,
}

/// The shared state (started on first use).
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let emulator = runtime
            .block_on(Emulator::builder().start())
            .expect("emulator starts");
        let user_id = emulator.create_user("fuzz@example.com").expect("user");
        let token = emulator.mint_token(&user_id).expect("token");
        let jwks = runtime
            .block_on(async { reqwest::get(emulator.jwks_url()).await?.bytes().await })
            .expect("JWKS document")
            .to_vec();
        let offline = Passage::with_jwks(config(&emulator), &jwks).expect("static key set");
        World {
            runtime,
            emulator,
            offline,
            token,
            user_id,
            jwks,
        }
    })
}

/// A configuration for the emulator's app.
pub fn config(emulator: &Emulator) -> Config {
    Config::builder(emulator.app_id())
        .api_key(emulator.api_key())
        .origin(emulator.origin())
        .build()
        .expect("config")
}
