//! passage-rocket through Rocket's asynchronous local client, against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use passage_core::{AuthStrategy, Passage};
use passage_rocket::{MaybePassageUser, PassageError, PassageFairing, PassageUser};
use passage_tests::adapter_fixtures::*;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::{Build, Rocket, get, routes};

#[get("/required")]
fn required(user: PassageUser) -> String {
    user.user_id().to_string()
}

#[get("/optional")]
fn optional(user: MaybePassageUser) -> String {
    user.user_id()
        .map_or_else(|| "anonymous".to_owned(), ToString::to_string)
}

#[get("/twice")]
fn twice(first: PassageUser, second: MaybePassageUser) -> String {
    assert_eq!(Some(first.user_id()), second.user_id());
    first.user_id().to_string()
}

#[get("/result")]
fn result(user: Result<PassageUser, PassageError>) -> Result<String, PassageError> {
    user.map(|u| u.user_id().to_string())
}

#[get("/me")]
async fn me(user: PassageUser) -> String {
    let fetched = user.fetch().await.unwrap();
    format!("{} {}", fetched.id, fetched.email)
}

fn base() -> Rocket<Build> {
    let config = rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        ..rocket::Config::debug_default()
    };
    rocket::custom(config)
        .mount("/", routes![required, optional, twice, result, me])
        .register("/", passage_rocket::catchers())
}

/// Ignites and expects the fairing to refuse.
async fn assert_ignite_fails(rocket: Rocket<Build>) {
    let Err(error) = Client::tracked(rocket).await else {
        panic!("ignite succeeded")
    };
    // Reading the kind marks the error handled (Rocket panics on dropping an unhandled one).
    assert!(
        matches!(error.kind(), rocket::error::ErrorKind::FailedFairings(_)),
        "{error}"
    );
}

async fn client(passage: Passage) -> Client {
    Client::tracked(base().attach(PassageFairing::with_passage(passage)))
        .await
        .unwrap()
}

async fn get(
    client: &Client,
    path: &str,
    header: Option<(&'static str, String)>,
) -> (Status, Option<String>, Option<String>, Vec<u8>) {
    let mut request = client.get(path.to_owned());
    if let Some((name, value)) = header {
        request = request.header(Header::new(name, value));
    }
    let response: LocalResponse<'_> = request.dispatch().await;
    let status = response.status();
    let challenge = response
        .headers()
        .get_one("WWW-Authenticate")
        .map(str::to_owned);
    let retry = response.headers().get_one("Retry-After").map(str::to_owned);
    let content_type = response
        .headers()
        .get_one("Content-Type")
        .map(str::to_owned);
    let body = response.into_bytes().await.unwrap_or_default();
    if status != Status::Ok {
        assert_eq!(content_type.as_deref(), Some("application/json"), "{path}");
    }
    (status, challenge, retry, body)
}

#[tokio::test]
async fn valid_tokens_pass_in_both_strategies() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let client = client(fx.passage(strategy)).await;
        for path in ["/required", "/optional", "/twice", "/result"] {
            let (status, _, _, body) =
                get(&client, path, Some(token_header(strategy, &fx.token))).await;
            assert_eq!(status, Status::Ok, "{strategy} {path}");
            assert_eq!(body, fx.user_id.as_bytes(), "{strategy} {path}");
        }
    }
}

#[tokio::test]
async fn absent_token_is_401_with_a_bare_challenge() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let client = client(fx.passage(strategy)).await;
        for path in ["/required", "/twice", "/result"] {
            let (status, challenge, _, body) = get(&client, path, None).await;
            assert_eq!(status, Status::Unauthorized, "{path}");
            assert_eq!(challenge.as_deref(), Some("Bearer"), "{path}");
            assert_terse(&body);
        }
        let other = match strategy {
            AuthStrategy::Cookie => AuthStrategy::Header,
            _ => AuthStrategy::Cookie,
        };
        let (status, _, _, _) =
            get(&client, "/required", Some(token_header(other, &fx.token))).await;
        assert_eq!(status, Status::Unauthorized);
    }
}

#[tokio::test]
async fn expired_and_forged_tokens_are_401_invalid_token() {
    let fx = Fixture::start().await;
    let stranger = Fixture::start().await;
    let stranger_token = stranger.emu.mint_token(&fx.user_id).unwrap();
    for strategy in BOTH {
        let client = client(fx.passage(strategy)).await;
        for token in [
            fx.expired(),
            fx.forged(),
            stranger_token.clone(),
            "not-a-jwt".to_owned(),
        ] {
            for path in ["/required", "/optional", "/twice", "/result"] {
                let (status, challenge, _, body) =
                    get(&client, path, Some(token_header(strategy, &token))).await;
                assert_eq!(status, Status::Unauthorized, "{strategy} {path} {token}");
                assert_eq!(
                    challenge.as_deref(),
                    Some(r#"Bearer error="invalid_token""#)
                );
                assert_terse(&body);
            }
        }
    }
}

#[tokio::test]
async fn optional_route_is_anonymous_without_a_token() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let client = client(fx.passage(strategy)).await;
        let (status, _, _, body) = get(&client, "/optional", None).await;
        assert_eq!((status, body.as_slice()), (Status::Ok, &b"anonymous"[..]));
    }
}

#[tokio::test]
async fn unavailable_keys_are_503_with_retry_after_even_on_optional_routes() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let client = client(unreachable_passage(strategy)).await;
        for path in ["/required", "/optional", "/result"] {
            let (status, challenge, retry, body) =
                get(&client, path, Some(token_header(strategy, &fx.token))).await;
            assert_eq!(status, Status::ServiceUnavailable, "{path}");
            let retry: u64 = retry.unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry));
            assert!(challenge.is_none());
            assert_terse(&body);
        }
    }
}

#[tokio::test]
async fn a_guarded_route_without_a_managed_passage_aborts_launch() {
    // The routes take PassageUser, MaybePassageUser and Result<PassageUser, _>: their sentinels
    // abort launch instead of letting every request answer 500.
    let error = match Client::tracked(base()).await {
        Ok(_) => panic!("launch should abort without a managed Passage"),
        Err(error) => error,
    };
    assert!(
        matches!(error.kind(), rocket::error::ErrorKind::SentinelAborts(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn fairing_fails_ignite_when_misconfigured() {
    let fx = Fixture::start().await;
    // Two handles: refused at ignite, not at the first request.
    let doubled =
        base()
            .manage(fx.passage(AuthStrategy::Cookie))
            .attach(PassageFairing::with_passage(
                fx.passage(AuthStrategy::Cookie),
            ));
    assert_ignite_fails(doubled).await;
    // No PASSAGE_APP_ID in the environment: ignite fails.
    if std::env::var_os("PASSAGE_APP_ID").is_none() {
        assert_ignite_fails(base().attach(PassageFairing::from_env())).await;
    }
    // A config builds the handle at ignite.
    let config = passage_core::Config::builder(fx.emu.app_id())
        .origin(fx.emu.origin())
        .build()
        .unwrap();
    let client = Client::tracked(base().attach(PassageFairing::new(config)))
        .await
        .unwrap();
    let (status, _, _, body) = get(
        &client,
        "/required",
        Some(token_header(AuthStrategy::Cookie, &fx.token)),
    )
    .await;
    assert_eq!(
        (status, body),
        (Status::Ok, fx.user_id.clone().into_bytes())
    );
}

#[tokio::test]
async fn fetch_reads_the_user_through_the_management_api() {
    let fx = Fixture::start().await;
    let client = client(fx.passage(AuthStrategy::Header)).await;
    let (status, _, _, body) = get(
        &client,
        "/me",
        Some(token_header(AuthStrategy::Header, &fx.token)),
    )
    .await;
    assert_eq!(status, Status::Ok);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        format!("{} alice@example.com", fx.user_id)
    );
}

#[tokio::test]
async fn other_401s_still_get_a_json_challenge() {
    #[get("/other")]
    fn other() -> Status {
        Status::Unauthorized
    }
    let fx = Fixture::start().await;
    let client = Client::tracked(base().mount("/x", routes![other]).attach(
        PassageFairing::with_passage(fx.passage(AuthStrategy::Cookie)),
    ))
    .await
    .unwrap();
    let (status, challenge, _, body) = get(&client, "/x/other", None).await;
    assert_eq!(
        (status, challenge.as_deref()),
        (Status::Unauthorized, Some("Bearer"))
    );
    assert_terse(&body);
}

#[tokio::test]
async fn a_handler_error_on_an_optional_route_keeps_its_own_status() {
    #[get("/broken")]
    fn broken(_user: MaybePassageUser) -> Status {
        Status::ServiceUnavailable
    }
    #[get("/failing")]
    fn failing(_user: MaybePassageUser) -> Status {
        Status::InternalServerError
    }
    let fx = Fixture::start().await;
    let client = Client::tracked(base().mount("/x", routes![broken, failing]).attach(
        PassageFairing::with_passage(fx.passage(AuthStrategy::Cookie)),
    ))
    .await
    .unwrap();
    // Anonymous: the optional guard saw no token; the handler's own failure must not become 401.
    let (status, challenge, _, _) = get(&client, "/x/broken", None).await;
    assert_eq!((status, challenge), (Status::ServiceUnavailable, None));
    let (status, challenge, _, _) = get(&client, "/x/failing", None).await;
    assert_eq!((status, challenge), (Status::InternalServerError, None));
}
