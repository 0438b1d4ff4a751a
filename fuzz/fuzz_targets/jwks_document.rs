//! JWKS document parsing and filtering: arbitrary bytes as a key set in hand, then a
//! verification against whatever it accepted. Nothing panics; a document that is not the
//! emulator's own never verifies the emulator's token unless it lists the emulator's key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passage_core::Passage;
use passage_fuzz::{config, world};

fuzz_target!(|data: &[u8]| {
    let world = world();
    let Ok(passage) = Passage::with_jwks(config(&world.emulator), data) else {
        return;
    };
    let outcome = world.runtime.block_on(passage.validate_jwt(&world.token));
    if outcome.is_ok() {
        // Only a document holding the emulator's public key can verify its token.
        let own: serde_json::Value = serde_json::from_slice(&world.jwks).expect("JWKS JSON");
        let given: serde_json::Value = serde_json::from_slice(data).expect("accepted, so JSON");
        let moduli = |doc: &serde_json::Value| -> Vec<String> {
            doc["keys"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|key| key["n"].as_str().map(str::to_owned))
                .collect()
        };
        let own = moduli(&own);
        assert!(
            moduli(&given).iter().any(|n| own.contains(n)),
            "a foreign key set verified the token"
        );
    }
});
