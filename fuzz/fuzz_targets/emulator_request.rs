//! The emulator's request parsing: arbitrary methods, paths, queries (list filters, `order_by`,
//! pagination), bodies and form posts against every route, with and without the API key. Nothing
//! panics, and no input is answered 500: bad input is a 4xx.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use passage_fuzz::world;

#[derive(Debug, Arbitrary)]
struct Request {
    method: u8,
    route: u8,
    /// Appended to the route's path (segments, encodings, `..`).
    suffix: String,
    /// The query string (list filters, `order_by`, `page`, `limit`, `redirect`...).
    query: String,
    content_type: u8,
    body: Vec<u8>,
    with_key: bool,
}

const METHODS: [&str; 5] = ["GET", "POST", "PATCH", "DELETE", "PUT"];
const CONTENT_TYPES: [&str; 4] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "",
];

fn routes(app: &str, user: &str) -> Vec<String> {
    vec![
        format!("/v1/apps/{app}"),
        format!("/v1/apps/{app}/users"),
        format!("/v1/apps/{app}/users/{user}"),
        format!("/v1/apps/{app}/users/{user}/activate"),
        format!("/v1/apps/{app}/users/{user}/deactivate"),
        format!("/v1/apps/{app}/users/{user}/devices"),
        format!("/v1/apps/{app}/users/{user}/devices/"),
        format!("/v1/apps/{app}/users/{user}/tokens"),
        format!("/v1/apps/{app}/magic-links"),
        format!("/v1/apps/{app}/magic-link/activate"),
        format!("/v1/apps/{app}/.well-known/jwks.json"),
        "/".to_owned(),
        "/login".to_owned(),
        "/passkeys/sign-in/start".to_owned(),
        "/passkeys/sign-in/finish".to_owned(),
        "/passkeys/register/start".to_owned(),
        "/passkeys/register/finish".to_owned(),
        "/passkeys.js".to_owned(),
        format!("/emulator/v1/apps/{app}/tokens"),
        format!("/emulator/v1/apps/{app}/users/{user}/devices"),
        format!("/emulator/v1/apps/{app}/users/{user}/events"),
        format!("/emulator/v1/apps/{app}/inbox"),
        format!("/emulator/v1/apps/{app}/stats"),
        format!("/emulator/v1/apps/{app}/keys/rotate"),
        format!("/emulator/v1/apps/{app}/magic-links/"),
        "/v1/apps/".to_owned(),
    ]
}

fuzz_target!(|request: Request| {
    let world = world();
    let emulator = &world.emulator;
    let routes = routes(emulator.app_id(), &world.user_id);
    let path = &routes[usize::from(request.route) % routes.len()];
    let mut url = format!("{}{path}{}", emulator.origin(), request.suffix);
    if !request.query.is_empty() {
        url.push('?');
        url.push_str(&request.query);
    }
    let Ok(url) = reqwest::Url::parse(&url) else {
        return;
    };
    // Faults answer 5xx on purpose, and a reset would drop the user the routes name: the fuzzer
    // stays off both controls.
    if url.path().contains("faults") || url.path().contains("reset") {
        return;
    }
    let method = METHODS[usize::from(request.method) % METHODS.len()];
    let Ok(method) = reqwest::Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let client = client();
    let mut builder = client.request(method, url.clone()).body(request.body);
    let content_type = CONTENT_TYPES[usize::from(request.content_type) % CONTENT_TYPES.len()];
    if !content_type.is_empty() {
        builder = builder.header("content-type", content_type);
    }
    if request.with_key {
        builder = builder.bearer_auth(emulator.api_key());
    }
    let status = world.runtime.block_on(async {
        match builder.send().await {
            Ok(response) => Some(response.status().as_u16()),
            Err(_) => None,
        }
    });
    if let Some(status) = status {
        assert!(status < 500, "{url} answered {status}");
    }
});

fn client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    })
}
