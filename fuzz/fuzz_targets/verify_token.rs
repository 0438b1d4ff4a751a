//! Token parsing and verification with a key set in hand: arbitrary text as a token, and a
//! valid token with bytes changed. Nothing panics; a changed token never verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passage_fuzz::world;

fuzz_target!(|data: &[u8]| {
    let world = world();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = if mode % 2 == 0 {
        // Arbitrary input as the token.
        String::from_utf8_lossy(rest).into_owned()
    } else {
        // The valid token, with (position, xor) pairs applied.
        let mut bytes = world.token.clone().into_bytes();
        for pair in rest.chunks_exact(3) {
            let at = usize::from(u16::from_le_bytes([pair[0], pair[1]])) % bytes.len();
            bytes[at] ^= pair[2];
        }
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let outcome = world.runtime.block_on(world.offline.validate_jwt(&token));
    if token != world.token {
        assert!(outcome.is_err(), "a changed token verified: {token}");
    } else {
        assert!(outcome.is_ok());
    }
});
