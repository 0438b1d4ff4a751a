//! Where the Passage app comes from: an in-process emulator (the default) or any
//! Passage-compatible server configured through the `PASSAGE_*` environment variables.

use std::net::{IpAddr, Ipv4Addr};

use passage_core::{Config, DEFAULT_AUTH_ORIGIN, Passage};
use passage_emulator::Emulator;

/// How the "Sign in" link signs a user in: it sends the browser to a login page (the
/// emulator's, `PASSAGE_LOGIN_URL`, or the root of a Passage-compatible server).
#[derive(Debug, Clone)]
pub struct SignIn(pub String);

/// What the emulator-only features need to reach the in-process emulator.
#[derive(Debug, Clone)]
pub struct EmulatorLink {
    /// The emulator's API origin, e.g. `http://127.0.0.1:41234`.
    pub origin: String,
    /// The emulated app's ID.
    pub app_id: String,
    /// The login page, on `localhost`.
    pub login_url: String,
}

/// A configured Passage handle and how users sign in.
pub struct Setup {
    /// The SDK handle.
    pub passage: Passage,
    /// How the sign-in link works.
    pub sign_in: SignIn,
    /// The running emulator, if one was started; dropping it stops it.
    pub emulator: Option<Emulator>,
}

impl Setup {
    /// The emulator's origin and app ID, if one runs in-process.
    pub fn emulator_link(&self) -> Option<EmulatorLink> {
        self.emulator.as_ref().map(|emulator| EmulatorLink {
            origin: emulator.origin().to_owned(),
            app_id: emulator.app_id().to_owned(),
            login_url: emulator.login_url(),
        })
    }
}

/// Whether the environment names a Passage app (`PASSAGE_APP_ID` set and not blank).
pub fn external_configured() -> bool {
    std::env::var_os("PASSAGE_APP_ID").is_some_and(|id| !id.to_string_lossy().trim().is_empty())
}

/// Builds the setup for an app served at `app_origin` (e.g. `http://localhost:8080`).
pub async fn build(app_origin: &str) -> Result<Setup, String> {
    if external_configured() {
        from_env()
    } else {
        with_emulator(app_origin).await
    }
}

/// `PASSAGE_APP_ID`, `PASSAGE_API_KEY`, `PASSAGE_AUTH_ORIGIN`, `PASSAGE_API_ORIGIN` (and
/// `PASSAGE_LOGIN_URL`, read by this example only) from the environment.
fn from_env() -> Result<Setup, String> {
    let config =
        Config::from_env().map_err(|error| format!("invalid PASSAGE_* configuration: {error}"))?;
    if config.api_key().is_none() {
        return Err(
            "PASSAGE_API_KEY is required: the profile and devices pages use the \
                    management API"
                .to_owned(),
        );
    }
    if config.auth_strategy() != passage_core::AuthStrategy::Cookie {
        return Err(
            "the quickstart's pages are guarded by the psg_auth_token cookie the login page sets: \
             unset PASSAGE_AUTH_STRATEGY or set it to cookie"
                .to_owned(),
        );
    }
    let login_url = std::env::var("PASSAGE_LOGIN_URL")
        .ok()
        .filter(|url| !url.trim().is_empty());
    let sign_in = match login_url {
        Some(url) => SignIn(url.trim().to_owned()),
        // Passage's hosted login (and its element's script) went with the hosted service.
        None if config.auth_origin() == DEFAULT_AUTH_ORIGIN => {
            return Err(format!(
                "Passage's hosted service ({DEFAULT_AUTH_ORIGIN}) was retired in January 2026: set \
                 PASSAGE_AUTH_ORIGIN and PASSAGE_API_ORIGIN to a Passage-compatible server (such \
                 as a standalone passage-emulator), or PASSAGE_LOGIN_URL to your login page"
            ));
        }
        // A Passage-compatible server such as a standalone `passage-emulator` serves its login
        // page at its root.
        None => SignIn(format!("{}/", config.auth_origin())),
    };
    let passage = Passage::new(config).map_err(|error| error.to_string())?;
    Ok(Setup {
        passage,
        sign_in,
        emulator: None,
    })
}

/// Starts an emulator whose app lives at `app_origin` and redirects to its `/profile`.
async fn with_emulator(app_origin: &str) -> Result<Setup, String> {
    let emulator = Emulator::builder()
        .app_name("Passage quickstart")
        .auth_origin(app_origin)
        .redirect_url(format!("{app_origin}/profile"))
        .host(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .port(0)
        .start()
        .await
        .map_err(|error| format!("could not start the Passage emulator: {error}"))?;
    let config = Config::builder(emulator.app_id())
        .api_key(emulator.api_key())
        .origin(emulator.origin())
        .build()
        .map_err(|error| format!("emulator configuration refused: {error}"))?;
    let passage = Passage::new(config).map_err(|error| error.to_string())?;
    let sign_in = SignIn(emulator.login_url());
    Ok(Setup {
        passage,
        sign_in,
        emulator: Some(emulator),
    })
}
