//! Every public type that can hold the API key, a token or a magic-link secret keeps them out of
//! its `Debug` (plain and pretty), so a `{:?}` in a log line never leaks one.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use passage_core::management::{MagicLinkChannel, MagicLinkRequest};
use passage_core::{Config, Passage, Secret};
use passage_emulator::Emulator;

const API_KEY: &str = "sk_test_a1b2c3d4e5f6g7h8i9j0";

fn assert_redacted(what: &str, debug: &dyn std::fmt::Debug, secrets: &[&str]) {
    for text in [format!("{debug:?}"), format!("{debug:#?}")] {
        for secret in secrets {
            assert!(!secret.is_empty());
            assert!(!text.contains(secret), "{what} shows a secret: {text}");
        }
    }
}

#[tokio::test]
async fn no_public_type_shows_a_secret_in_debug() {
    let builder = Emulator::builder().api_key(API_KEY);
    assert_redacted("EmulatorBuilder", &builder, &[API_KEY]);
    let emu = builder.start().await.unwrap();
    assert_redacted("Emulator", &emu, &[API_KEY]);

    let secret = Secret::new(API_KEY);
    assert_redacted("Secret", &secret, &[API_KEY]);
    let config_builder = Config::builder(emu.app_id())
        .origin(emu.origin())
        .api_key(API_KEY);
    assert_redacted("ConfigBuilder", &config_builder, &[API_KEY]);
    let config = config_builder.build().unwrap();
    assert_redacted("Config", &config, &[API_KEY]);
    let passage = Passage::new(config).unwrap();
    assert_redacted("Passage", &passage, &[API_KEY]);

    // A verified user: the handle, the claims, never the token.
    let user_id = emu.create_user("ada@example.com").unwrap();
    let token = emu.mint_token(&user_id).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    let strategy = passage_core::AuthStrategy::Header;
    let header_passage = Passage::new(
        Config::builder(emu.app_id())
            .origin(emu.origin())
            .api_key(API_KEY)
            .auth_strategy(strategy)
            .build()
            .unwrap(),
    )
    .unwrap();
    let user = header_passage.authenticate(&headers).await.unwrap();
    let signature = token.rsplit('.').next().unwrap();
    assert_redacted("AuthenticatedUser", &user, &[API_KEY, &token, signature]);
    let refused = header_passage.validate_jwt(&format!("{token}x")).await;
    assert_redacted("AuthError", &refused, &[signature]);

    // A magic link: its secret and the URL that carries it.
    let link = passage
        .create_magic_link(MagicLinkRequest::email("ada@example.com").send(MagicLinkChannel::Email))
        .await
        .unwrap();
    assert!(link.url.contains(&link.secret));
    assert_redacted("MagicLink", &link, &[&link.secret, &link.url]);
    let inbox = emu.inbox();
    assert!(!inbox.is_empty());
    for message in &inbox {
        assert_redacted("InboxMessage", message, &[&link.secret, &message.url]);
    }
}
