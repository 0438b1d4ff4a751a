//! Fixtures shared by the adapter crates' tests: an emulator, `Passage` handles pointed at it or at
//! nothing, and tokens valid, expired and forged.

use passage_core::{AuthStrategy, Config, Passage};
use passage_emulator::{Emulator, TokenOptions};

/// Reason strings the core logs for refused tokens; none may reach a response body.
pub const LEAKY: &[&str] = &[
    "token expired",
    "signature",
    "kid",
    "issuer",
    "audience",
    "JWKS",
    "connect",
    "malformed",
];

/// Both strategies, for tests that run once per strategy.
pub const BOTH: [AuthStrategy; 2] = [AuthStrategy::Cookie, AuthStrategy::Header];

/// An emulator with one user, and a valid token for them.
pub struct Fixture {
    /// The emulator.
    pub emu: Emulator,
    /// The user's ID.
    pub user_id: String,
    /// A valid token for the user.
    pub token: String,
}

impl Fixture {
    /// Starts the emulator and makes the user and the token.
    pub async fn start() -> Self {
        let emu = Emulator::builder().start().await.expect("emulator starts");
        let user_id = emu.create_user("alice@example.com").expect("user created");
        let token = emu.mint_token(&user_id).expect("token minted");
        Self {
            emu,
            user_id,
            token,
        }
    }

    /// A handle verifying against the emulator, reading tokens by `strategy`.
    pub fn passage(&self, strategy: AuthStrategy) -> Passage {
        let config = Config::builder(self.emu.app_id())
            .api_key(self.emu.api_key())
            .auth_strategy(strategy)
            .origin(self.emu.origin())
            .build()
            .expect("config");
        Passage::new(config).expect("passage")
    }

    /// A token for the user that expired five minutes ago.
    pub fn expired(&self) -> String {
        self.emu
            .mint_token_with(
                &self.user_id,
                TokenOptions {
                    ttl: Some(-300),
                    claims: None,
                },
            )
            .expect("expired token")
    }

    /// The valid token with one signature character changed.
    pub fn forged(&self) -> String {
        forge(&self.token)
    }
}

/// `token` with one signature character changed: well-formed, but forged.
pub fn forge(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let signature_start = token.rfind('.').expect("three segments") + 1;
    let i = signature_start + (bytes.len() - signature_start) / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ascii")
}

/// A handle whose auth origin is a closed port: every JWKS fetch fails, so verification is 503.
pub fn unreachable_passage(strategy: AuthStrategy) -> Passage {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let config = Config::builder("unreachable-app")
        .auth_strategy(strategy)
        .origin(format!("http://127.0.0.1:{port}"))
        .build()
        .expect("config");
    Passage::new(config).expect("passage")
}

/// The header carrying `token` by `strategy`.
pub fn token_header(strategy: AuthStrategy, token: &str) -> (&'static str, String) {
    match strategy {
        AuthStrategy::Cookie => ("cookie", format!("theme=dark; psg_auth_token={token}")),
        AuthStrategy::Header => ("authorization", format!("Bearer {token}")),
    }
}

/// Checks the body of a refusal: JSON, terse, and silent about why.
pub fn assert_terse(body: &[u8]) {
    let text = std::str::from_utf8(body).expect("utf-8 body");
    let json: serde_json::Value = serde_json::from_str(text).expect("JSON body");
    assert!(json.get("code").is_some(), "{text}");
    for word in LEAKY {
        assert!(!text.contains(word), "body leaks {word:?}: {text}");
    }
}
