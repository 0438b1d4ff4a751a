//! The quickstart, end to end, in a real headless Chromium driven over WebDriver: sign in through
//! the emulator's login page and magic link, land on the profile, list devices, sign out, and be
//! refused with no cookie and with forged cookies; and with a passkey, on a virtual authenticator
//! (WebDriver's WebAuthn extension): register, sign out, sign in with it, see it on Devices with
//! its usage count, remove it, and be refused when signing in with it again. Screenshots of each
//! step go to `test-output/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (run `scripts/install-browser.sh`). The test
//! fails, never skips, when they are missing. `CHROME_BIN` and `CHROMEDRIVER` override where they
//! are found; `QUICKSTART_BIN` names a prebuilt quickstart binary. Every wait has a time limit.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fs::File;
use std::io::{BufRead, BufReader, Write as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt as _;
use passage_tests::TestKey;
use serde_json::{Value, json};

/// The longest the whole browser flow may take once everything is running.
const FLOW_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest one page wait may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
const INSTALL_HINT: &str = "run `scripts/install-browser.sh` (installs Debian's chromium and chromium-driver), \
or set CHROME_BIN / CHROMEDRIVER to where they are";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn output_dir() -> PathBuf {
    let dir = workspace_root().join("test-output");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}

/// The first of `names` found on `PATH`, then the first existing of `fallbacks`.
fn find_program(env_var: &str, names: &[&str], fallbacks: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{env_var}={} does not exist; {INSTALL_HINT}",
            path.display()
        );
        return Some(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| fallbacks.iter().map(PathBuf::from).find(|p| p.is_file()))
}

/// A free TCP port on 127.0.0.1 (the listener is closed again before the port is used).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, child: &mut ChildGuard, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if TcpStream::connect_timeout(
            &(Ipv4Addr::LOCALHOST, port).into(),
            Duration::from_millis(200),
        )
        .is_ok()
        {
            return;
        }
        child.assert_running();
        assert!(
            Instant::now() < deadline,
            "{} did not listen on port {port} within {timeout:?}\n{}",
            child.name,
            child.log_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed (and reaped) when the test ends, pass or fail.
struct ChildGuard {
    name: &'static str,
    child: Child,
    log: PathBuf,
    /// A chromedriver port: ask it to `/shutdown` (closing its browsers) before killing it.
    shutdown_port: Option<u16>,
}

impl ChildGuard {
    fn spawn(name: &'static str, mut command: Command, log: PathBuf, stdout: Stdio) -> Self {
        let log_file = File::create(&log).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {name} ({command:?}): {e}"));
        Self {
            name,
            child,
            log,
            shutdown_port: None,
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("--- last lines of {} ---\n{tail}", self.log.display())
    }

    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited early with {status}\n{}",
                self.name,
                self.log_tail()
            );
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(port) = self.shutdown_port {
            let addr = (Ipv4Addr::LOCALHOST, port).into();
            if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                let _ = stream.write_all(
                    b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                );
                let deadline = Instant::now() + Duration::from_secs(5);
                while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory removed at the end.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a command to completion within `timeout`, killing it if it takes longer.
fn run_with_timeout(mut command: Command, timeout: Duration, log: &Path) {
    let log_file = File::create(log).unwrap();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"));
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let output = std::fs::read_to_string(log).unwrap_or_default();
            assert!(
                status.success(),
                "{command:?} failed with {status}:\n{output}"
            );
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} did not finish within {timeout:?}; see {}",
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The quickstart binary: `QUICKSTART_BIN`, or the one in this test's target directory, (re)built
/// with the cargo running this test so it is never stale.
fn quickstart_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("QUICKSTART_BIN") {
        return PathBuf::from(path);
    }
    // <target>/<profile>/deps/browser-<hash>
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let binary = profile_dir.join(format!("quickstart{}", std::env::consts::EXE_SUFFIX));
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut command = Command::new(cargo);
        command
            .current_dir(workspace_root())
            .args(["build", "-p", "quickstart", "--target-dir"])
            .arg(profile_dir.parent().unwrap());
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => {}
            Some("release") => {
                command.arg("--release");
            }
            Some(profile) => {
                command.args(["--profile", profile]);
            }
        }
        run_with_timeout(
            command,
            Duration::from_secs(900),
            &output_dir().join("quickstart-build.log"),
        );
    }
    assert!(
        binary.is_file(),
        "the quickstart binary {} is missing: run `cargo build -p quickstart` \
         or set QUICKSTART_BIN",
        binary.display()
    );
    binary
}

/// The running quickstart: its origin, and the emulator's origin and app ID it printed.
struct Quickstart {
    origin: String,
    emulator_origin: String,
    /// The emulator's login page origin, `http://localhost:PORT`.
    login_origin: String,
    app_id: String,
    process: ChildGuard,
}

fn start_quickstart() -> Quickstart {
    let mut command = Command::new(quickstart_binary());
    // Port 0: the quickstart binds a free port itself and prints it, so no other process can
    // take the port between a test choosing it and the app binding it.
    command.env("PORT", "0").env("RUST_LOG", "info");
    for var in [
        "PASSAGE_APP_ID",
        "PASSAGE_API_KEY",
        "PASSAGE_AUTH_ORIGIN",
        "PASSAGE_API_ORIGIN",
        "PASSAGE_LOGIN_URL",
    ] {
        command.env_remove(var);
    }
    let mut process = ChildGuard::spawn(
        "quickstart",
        command,
        output_dir().join("quickstart.log"),
        Stdio::piped(),
    );
    let stdout = process.child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut origin, mut emulator) = (None, None);
    while origin.is_none() || emulator.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) => {
                let line = line.trim();
                if let Some(rest) = line.strip_prefix("Open:") {
                    origin = Some(rest.trim().to_owned());
                } else if let Some(rest) = line.strip_prefix("Emulator:") {
                    // "http://127.0.0.1:41234 (app <id>)"
                    let (url, app) = rest.trim().split_once(" (app ").unwrap();
                    emulator = Some((url.to_owned(), app.trim_end_matches(')').to_owned()));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                process.assert_running();
                assert!(
                    Instant::now() < deadline,
                    "the quickstart printed no URLs within 60 s\n{}",
                    process.log_tail()
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                process.assert_running();
                panic!("the quickstart closed its stdout\n{}", process.log_tail());
            }
        }
    }
    let origin = origin.unwrap();
    let port: u16 = origin
        .strip_prefix("http://localhost:")
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("the quickstart printed {origin:?}"));
    assert_ne!(port, 8080, "PORT=0 must pick a free port, not the default");
    wait_for_port(port, &mut process, Duration::from_secs(30));
    let (emulator_origin, app_id) = emulator.unwrap();
    // The login page is the emulator's, on localhost (passkeys need a domain).
    let login_origin = emulator_origin.replace("http://127.0.0.1:", "http://localhost:");
    Quickstart {
        origin,
        emulator_origin,
        login_origin,
        app_id,
        process,
    }
}

/// chromedriver on a free port, and a Chromium session with a fresh profile.
struct Browser {
    client: Client,
    _driver: ChildGuard,
    _profile: TempDir,
}

/// chromedriver and Chromium, or a failure telling how to install them.
fn browser_programs() -> (PathBuf, PathBuf) {
    let driver = find_program(
        "CHROMEDRIVER",
        &["chromedriver"],
        &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
    )
    .unwrap_or_else(|| panic!("chromedriver was not found; {INSTALL_HINT}"));
    let chrome = find_program(
        "CHROME_BIN",
        &["chromium", "chromium-browser"],
        &["/usr/bin/chromium"],
    )
    .unwrap_or_else(|| panic!("chromium was not found; {INSTALL_HINT}"));
    (driver, chrome)
}

async fn start_browser(driver_path: &Path, chrome: &Path) -> Browser {
    let port = free_port();
    let mut command = Command::new(driver_path);
    command.arg(format!("--port={port}"));
    let mut driver = ChildGuard::spawn(
        "chromedriver",
        command,
        output_dir().join("chromedriver.log"),
        Stdio::null(),
    );
    driver.shutdown_port = Some(port);
    wait_for_port(port, &mut driver, Duration::from_secs(30));

    let profile = TempDir(std::env::temp_dir().join(format!("passage-browser-test-{}", unique())));
    std::fs::create_dir_all(&profile.0).unwrap();
    let capabilities = json!({
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "timeouts": { "pageLoad": 30_000, "script": 10_000, "implicit": 0 },
        "goog:chromeOptions": {
            "binary": chrome.display().to_string(),
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1100,900",
                format!("--user-data-dir={}", profile.0.display()),
            ],
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let session = tokio::time::timeout(
        Duration::from_secs(60),
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}")),
    )
    .await;
    let client = match session {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => panic!(
            "chromedriver could not start Chromium ({}): {e}\n{}",
            chrome.display(),
            driver.log_tail()
        ),
        Err(_) => panic!("no browser session within 60 s\n{}", driver.log_tail()),
    };
    Browser {
        client,
        _driver: driver,
        _profile: profile,
    }
}

/// Polls for an element until [`STEP_TIMEOUT`]. Any error counts as "not yet": while a page is
/// navigating, chromedriver may answer a lookup with an error (e.g. "aborted by navigation")
/// rather than "no such element".
async fn wait_for(client: &Client, locator: Locator<'_>) -> fantoccini::elements::Element {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let error = match client.find(locator).await {
            Ok(element) => return element,
            Err(error) => error,
        };
        if Instant::now() >= deadline {
            let url = client
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let source = client.source().await.unwrap_or_default();
            panic!(
                "{locator:?} did not appear within {STEP_TIMEOUT:?} on {url}: {error}\n{source}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until an element is shown (the login page's script reveals its passkey button).
async fn wait_for_displayed(client: &Client, locator: Locator<'_>) {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let element = wait_for(client, locator).await;
        if element.is_displayed().await.unwrap_or(false) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{locator:?} was not shown within {STEP_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for an element and clicks it, retrying while the page is still changing.
async fn click(client: &Client, locator: Locator<'_>) {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let error = match wait_for(client, locator).await.click().await {
            Ok(()) => return,
            Err(error) => error,
        };
        assert!(
            Instant::now() < deadline,
            "could not click {locator:?} within {STEP_TIMEOUT:?}: {error}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for an element and returns its text, retrying while the page is still changing.
async fn text_of(client: &Client, locator: Locator<'_>) -> String {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let error = match wait_for(client, locator).await.text().await {
            Ok(text) => return text,
            Err(error) => error,
        };
        assert!(
            Instant::now() < deadline,
            "could not read {locator:?} within {STEP_TIMEOUT:?}: {error}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls until the browser is at `url` (errors while navigating count as "not yet").
async fn wait_for_url(client: &Client, url: &str) {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let now = client.current_url().await.map(|u| u.to_string());
        if now.as_deref().is_ok_and(|now| now == url) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the browser did not reach {url} within {STEP_TIMEOUT:?} (it is at {now:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts the current page is the quickstart's "please sign in" page, not the profile.
async fn assert_refused(client: &Client, why: &str) {
    wait_for(client, Locator::Id("sign-in-required")).await;
    let source = client.source().await.unwrap();
    assert!(
        !source.contains("id=\"email\""),
        "{why}: the profile was shown:\n{source}"
    );
    assert_eq!(
        client.title().await.unwrap(),
        "Please sign in · Passage quickstart",
        "{why}"
    );
}

/// The status the app answers `path` with when sent `cookie`.
async fn status_with_cookie(origin: &str, path: &str, cookie: Option<&str>) -> u16 {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(STEP_TIMEOUT)
        .build()
        .unwrap();
    let mut request = http.get(format!("{origin}{path}"));
    if let Some(token) = cookie {
        request = request.header("cookie", format!("psg_auth_token={token}"));
    }
    request.send().await.unwrap().status().as_u16()
}

fn decode_segment(segment: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// Two forgeries of a real token: the same header and claims signed with another key under the
/// real `kid`, and the real signature over claims naming another user.
fn forge(real: &str) -> [(&'static str, String); 2] {
    let parts: Vec<&str> = real.split('.').collect();
    assert_eq!(parts.len(), 3, "the auth cookie is not a JWT");
    let header = decode_segment(parts[0]);
    let mut claims = decode_segment(parts[1]);
    assert_eq!(header["alg"], "RS256");
    let kid = header["kid"].as_str().expect("the token names its key");
    let resigned = TestKey::generate(kid).sign(&claims);
    claims["sub"] = json!("someone-else");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    [
        ("re-signed with another key", resigned),
        ("claims tampered with", tampered),
    ]
}

async fn flow(client: &Client, app: &Quickstart) {
    let origin = app.origin.as_str();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let email = format!("e2e-{:x}@example.com", nanos % (1 << 48));

    // Home page -> sign-in link -> the emulator's login page.
    if let Err(error) = client.goto(origin).await {
        // Seen once on a loaded machine (ERR_CONNECTION_REFUSED after the port had answered);
        // keep what the quickstart logged, to tell why.
        panic!(
            "the browser could not open {origin}: {error}\n{}",
            app.process.log_tail()
        );
    }
    click(client, Locator::Id("sign-in")).await;
    let identifier = wait_for(client, Locator::Id("identifier")).await;
    let url = client.current_url().await.unwrap();
    assert_eq!(
        url.origin().ascii_serialization(),
        app.login_origin,
        "the sign-in link leads to the emulator's login page on localhost"
    );
    identifier.send_keys(&email).await.unwrap();
    click(client, Locator::Css("button[type=submit]")).await;
    // A new identifier: a passkey is offered; take a magic link instead.
    click(client, Locator::Id("send-magic-link")).await;

    // The magic link signs in, offers a passkey ("Not now"), and goes to the profile page.
    click(client, Locator::Id("magic-link")).await;
    wait_for(client, Locator::Id("create-passkey")).await;
    click(client, Locator::Id("skip-passkey")).await;
    wait_for_url(client, &format!("{origin}/profile")).await;
    let shown = text_of(client, Locator::Id("email")).await;
    assert!(
        shown.contains(&email),
        "the profile shows {shown:?}, not {email}"
    );
    let source = client.source().await.unwrap();
    assert!(
        source.contains("id=\"user-id\"") && source.contains("id=\"login-count\">1<"),
        "{source}"
    );
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
    std::fs::write(output_dir().join("quickstart-profile.png"), png).unwrap();

    // The token the browser holds (an HttpOnly cookie) works for the app, and the devices page.
    let cookies = client.get_all_cookies().await.unwrap();
    let token = cookies
        .iter()
        .find(|c| c.name() == "psg_auth_token")
        .map(|c| c.value().to_owned())
        .expect("the magic link set the psg_auth_token cookie");
    assert_eq!(
        status_with_cookie(origin, "/devices", Some(&token)).await,
        200
    );
    assert_eq!(status_with_cookie(origin, "/profile", None).await, 401);

    client.goto(&format!("{origin}/devices")).await.unwrap();
    wait_for(client, Locator::Id("no-devices")).await;

    // Sign out: back home, cookie gone, profile refused.
    client.goto(&format!("{origin}/profile")).await.unwrap();
    click(client, Locator::Id("sign-out")).await;
    wait_for_url(client, &format!("{origin}/")).await;
    wait_for(client, Locator::Id("sign-in")).await;
    wait_for(client, Locator::Id("signed-out")).await;
    let cookies = client.get_all_cookies().await.unwrap();
    assert!(
        cookies.iter().all(|c| c.name() != "psg_auth_token"),
        "sign-out left the cookie: {cookies:?}"
    );
    client.goto(&format!("{origin}/profile")).await.unwrap();
    assert_refused(client, "after sign-out").await;

    // Forged cookies are refused, in the browser and by status.
    for (what, forged) in forge(&token) {
        // Set from page script: chromedriver's Add Cookie refuses both a missing domain and an IP
        // address domain. The old cookie is gone, so this one is the only `psg_auth_token`.
        let set = format!("psg_auth_token={forged}; path=/; SameSite=Lax");
        client
            .execute("document.cookie = arguments[0];", vec![json!(set)])
            .await
            .unwrap();
        let cookies = client.get_all_cookies().await.unwrap();
        assert!(
            cookies
                .iter()
                .any(|c| c.name() == "psg_auth_token" && c.value() == forged),
            "{what}: cookie not set"
        );
        client.goto(&format!("{origin}/profile")).await.unwrap();
        assert_refused(client, what).await;
        assert_eq!(
            status_with_cookie(origin, "/profile", Some(&forged)).await,
            401,
            "{what}"
        );
        assert_eq!(
            status_with_cookie(origin, "/devices", Some(&forged)).await,
            401,
            "{what}"
        );
    }
}

/// A WebDriver WebAuthn extension command (chromedriver implements them), at
/// `/session/{id}/webauthn/{path}`.
#[derive(Debug)]
struct WebAuthnCommand {
    path: String,
    method: http::Method,
    body: Option<Value>,
}

impl fantoccini::wd::WebDriverCompatibleCommand for WebAuthnCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(ToString::to_string),
        )
    }
}

/// Adds a virtual platform authenticator that keeps discoverable credentials and verifies the
/// user (as a fingerprint reader would) without asking; returns its ID.
async fn add_virtual_authenticator(client: &Client) -> String {
    let added = client
        .issue_cmd(WebAuthnCommand {
            path: "authenticator".into(),
            method: http::Method::POST,
            body: Some(json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserVerified": true,
                "isUserConsenting": true,
                "automaticPresenceSimulation": true,
            })),
        })
        .await
        .expect("chromedriver adds a virtual authenticator");
    added.as_str().expect("an authenticator ID").to_owned()
}

/// The credentials the virtual authenticator holds.
async fn virtual_credentials(client: &Client, authenticator: &str) -> Vec<Value> {
    let held = client
        .issue_cmd(WebAuthnCommand {
            path: format!("authenticator/{authenticator}/credentials"),
            method: http::Method::GET,
            body: None,
        })
        .await
        .expect("chromedriver lists the credentials");
    held.as_array().cloned().unwrap_or_default()
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
    std::fs::write(output_dir().join(format!("{name}.png")), png).unwrap();
}

/// The usage count shown for the one passkey on the devices page.
async fn shown_uses(client: &Client) -> String {
    text_of(client, Locator::Css("#devices td.uses")).await
}

async fn passkey_flow(client: &Client, app: &Quickstart) {
    let origin = app.origin.as_str();
    let authenticator = add_virtual_authenticator(client).await;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let email = format!("passkey-{:x}@example.com", nanos % (1 << 48));

    // A new user registers a passkey from the login page.
    client.goto(origin).await.unwrap();
    click(client, Locator::Id("sign-in")).await;
    wait_for_displayed(client, Locator::Id("passkey-sign-in")).await;
    screenshot(client, "passkey-1-login-page").await;
    wait_for(client, Locator::Id("identifier"))
        .await
        .send_keys(&email)
        .await
        .unwrap();
    click(client, Locator::Css("button[type=submit]")).await;
    click(client, Locator::Id("register-passkey")).await;
    wait_for_url(client, &format!("{origin}/profile")).await;
    let shown = text_of(client, Locator::Id("email")).await;
    assert!(shown.contains(&email), "the profile shows {shown:?}");
    screenshot(client, "passkey-2-registered-profile").await;
    let held = virtual_credentials(client, &authenticator).await;
    assert_eq!(
        held.len(),
        1,
        "the authenticator holds the new passkey: {held:?}"
    );
    assert_eq!(held[0]["rpId"], "localhost");
    assert_eq!(held[0]["isResidentCredential"], true);

    // Devices: the passkey the authenticator holds, used once, the one that signed in.
    client.goto(&format!("{origin}/devices")).await.unwrap();
    let row = wait_for(client, Locator::Css("#devices tbody tr")).await;
    let cred_id = row.attr("data-cred-id").await.unwrap().unwrap();
    let held_id = held[0]["credentialId"].as_str().unwrap().to_owned();
    assert_eq!(
        cred_id.trim_end_matches('='),
        held_id
            .replace('+', "-")
            .replace('/', "_")
            .trim_end_matches('='),
        "the device is the authenticator's credential"
    );
    assert_eq!(shown_uses(client).await, "1");
    wait_for(client, Locator::Css("[data-current=true]")).await;
    screenshot(client, "passkey-3-devices").await;

    // Sign out, then sign in with the passkey (no identifier typed).
    client.goto(&format!("{origin}/profile")).await.unwrap();
    click(client, Locator::Id("sign-out")).await;
    wait_for(client, Locator::Id("signed-out")).await;
    click(client, Locator::Id("sign-in")).await;
    click(client, Locator::Id("passkey-sign-in")).await;
    wait_for_url(client, &format!("{origin}/profile")).await;
    assert_eq!(
        text_of(client, Locator::Id("login-count")).await,
        "2",
        "a second sign-in"
    );
    screenshot(client, "passkey-4-signed-in-with-passkey").await;
    client.goto(&format!("{origin}/devices")).await.unwrap();
    assert_eq!(shown_uses(client).await, "2");

    // Remove it: the device list is empty, and the passkey no longer signs in.
    click(client, Locator::Css("#devices tbody tr button")).await;
    wait_for(client, Locator::Id("device-removed")).await;
    wait_for(client, Locator::Id("no-devices")).await;
    screenshot(client, "passkey-5-removed").await;
    client.goto(&format!("{origin}/profile")).await.unwrap();
    click(client, Locator::Id("sign-out")).await;
    wait_for(client, Locator::Id("signed-out")).await;
    click(client, Locator::Id("sign-in")).await;
    click(client, Locator::Id("passkey-sign-in")).await;
    let deadline = Instant::now() + STEP_TIMEOUT;
    let error = loop {
        let shown = client
            .find(Locator::Id("error"))
            .await
            .ok()
            .map(|e| async move { (e.is_displayed().await, e.text().await) });
        if let Some(pending) = shown
            && let (Ok(true), Ok(text)) = pending.await
            && !text.is_empty()
        {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "no refusal shown within {STEP_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        error.contains("may have been removed"),
        "the page says why: {error:?}"
    );
    let url = client.current_url().await.unwrap();
    assert_eq!(
        url.origin().ascii_serialization(),
        app.login_origin,
        "still on the login page"
    );
    screenshot(client, "passkey-6-refused-after-removal").await;
    let cookies = client.get_all_cookies().await.unwrap();
    assert!(
        cookies.iter().all(|c| c.name() != "psg_auth_token"),
        "no cookie after a refused passkey: {cookies:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_passkey_register_sign_in_remove_in_chromium() {
    let started = Instant::now();
    let (driver, chrome) = browser_programs();
    let app = start_quickstart();
    let browser = start_browser(&driver, &chrome).await;
    let outcome = tokio::time::timeout(
        FLOW_TIMEOUT,
        AssertUnwindSafe(passkey_flow(&browser.client, &app)).catch_unwind(),
    )
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(10), browser.client.clone().close()).await;
    match outcome {
        Ok(Ok(())) => eprintln!("passkey flow passed in {:?}", started.elapsed()),
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the passkey flow did not finish within {FLOW_TIMEOUT:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_sign_in_profile_sign_out_in_chromium() {
    let started = Instant::now();
    let (driver, chrome) = browser_programs();
    let app = start_quickstart();
    let browser = start_browser(&driver, &chrome).await;
    eprintln!(
        "app {} (emulator {}, app {}), ready after {:?}",
        app.origin,
        app.emulator_origin,
        app.app_id,
        started.elapsed()
    );
    let outcome = tokio::time::timeout(
        FLOW_TIMEOUT,
        AssertUnwindSafe(flow(&browser.client, &app)).catch_unwind(),
    )
    .await;
    // Close the session (and with it Chromium) whether the flow passed or not.
    let _ = tokio::time::timeout(Duration::from_secs(10), browser.client.clone().close()).await;
    match outcome {
        Ok(Ok(())) => eprintln!("browser flow passed in {:?}", started.elapsed()),
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the browser flow did not finish within {FLOW_TIMEOUT:?}"),
    }
}
