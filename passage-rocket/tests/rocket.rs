//! passage-rocket through Rocket's asynchronous local client, against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use passage_core::{AuthStrategy, Passage};
use passage_rocket::{MaybePassageUser, PassageError, PassageFairing, PassageUser};
use passage_tests::adapter_fixtures::*;
use passage_tests::conformance::{Get, Harness, Reply, Routes};
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
    rocket::custom(config).mount("/", routes![required, optional, twice, result, me])
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

/// The conformance suite's harness: its routes on a Rocket whose fairing manages the handle
/// (and registers the catchers), called through Rocket's local client.
struct RocketHarness;

impl Harness for RocketHarness {
    const NAME: &'static str = "rocket";
    // A fairing manages the handle; nothing verifies before the guards.
    const MIDDLEWARE: bool = false;

    async fn serve(&self, routes: Routes, requests: Vec<Get>) -> Vec<Reply> {
        let client = client(routes.state.expect("rocket needs a managed handle")).await;
        let mut replies = Vec::new();
        for request in requests {
            let mut local = client.get(request.path);
            if let Some((name, value)) = request.header {
                local = local.header(Header::new(name, value));
            }
            let response = local.dispatch().await;
            let status = response.status().code;
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .map(|h| (h.name().to_string(), h.value().to_owned()))
                .collect();
            let body = response.into_bytes().await.unwrap_or_default();
            replies.push(Reply::new(status, headers, body));
        }
        replies
    }
}

passage_tests::conformance_suite!(tokio::test, RocketHarness);

/// Two guards on one route verify once and agree; `Result<PassageUser, PassageError>` hands the
/// refusal to the handler, which can answer with it as is.
#[tokio::test]
async fn two_guards_and_the_result_guard() {
    let fx = Fixture::start().await;
    let client = client(fx.passage(AuthStrategy::Header)).await;
    let challenge = format!(
        r#"Bearer realm="{}", error="invalid_token""#,
        fx.emu.app_id()
    );
    for path in ["/twice", "/result"] {
        let (status, _, _, body) = get(
            &client,
            path,
            Some(token_header(AuthStrategy::Header, &fx.token)),
        )
        .await;
        assert_eq!(
            (status, body),
            (Status::Ok, fx.user_id.clone().into_bytes()),
            "{path}"
        );
        let (status, found, _, body) = get(
            &client,
            path,
            Some(token_header(AuthStrategy::Header, &fx.forged())),
        )
        .await;
        assert_eq!(status, Status::Unauthorized, "{path}");
        assert_eq!(found.as_deref(), Some(challenge.as_str()), "{path}");
        assert_terse(&body);
    }
}

/// Without the fairing's catchers, the app registers them itself (at any base).
#[tokio::test]
async fn without_catchers_the_app_registers_its_own() {
    let fx = Fixture::start().await;
    let fairing = PassageFairing::with_passage(fx.passage(AuthStrategy::Header)).without_catchers();
    // The fairing's catchers plus the app's own at `/` would collide: launch works only because
    // the fairing left its out.
    let client = Client::tracked(
        base()
            .attach(fairing)
            .register("/", passage_rocket::catchers()),
    )
    .await
    .unwrap();
    let (status, challenge, _, body) = get(&client, "/required", None).await;
    assert_eq!(status, Status::Unauthorized);
    assert_eq!(
        challenge,
        Some(format!(r#"Bearer realm="{}""#, fx.emu.app_id()))
    );
    assert_terse(&body);
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
    assert_eq!(status, Status::Unauthorized);
    assert_eq!(
        challenge,
        Some(format!(r#"Bearer realm="{}""#, fx.emu.app_id()))
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
