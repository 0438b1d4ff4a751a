//! The `passage-emulator` binary as a user runs it: flags, printed exports, `--data` persistence
//! across a restart, and clear errors for bad flags.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Running {
    child: Child,
    exports: Vec<(String, String)>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    fn var(&self, name: &str) -> String {
        self.exports
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the binary and reads its banner up to the four `export` lines.
fn start(args: &[&str]) -> Running {
    start_with(args, &[])
}

/// [`start`] with these environment variables set (and the emulator's own cleared).
fn start_with(args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_passage-emulator"))
        .args(args)
        .env_remove("PORT")
        .env_remove("PASSAGE_EMULATOR_PORT")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut exports = Vec::new();
    while exports.len() < 4 {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("banner in time");
        if let Some(rest) = line.strip_prefix("export ") {
            let (name, value) = rest.split_once('=').unwrap();
            exports.push((name.to_owned(), value.to_owned()));
        }
    }
    Running { child, exports }
}

#[tokio::test]
async fn prints_exports_and_serves_the_api() {
    let port = free_port();
    let emu = start(&[
        "--port",
        &port.to_string(),
        "--app-id",
        "cliapp",
        "--api-key",
        "cli-key",
    ]);
    let origin = format!("http://127.0.0.1:{port}");
    assert_eq!(emu.var("PASSAGE_APP_ID"), "cliapp");
    assert_eq!(emu.var("PASSAGE_API_KEY"), "cli-key");
    assert_eq!(emu.var("PASSAGE_AUTH_ORIGIN"), origin);
    assert_eq!(emu.var("PASSAGE_API_ORIGIN"), origin);
    let jwks: serde_json::Value =
        reqwest::get(format!("{origin}/v1/apps/cliapp/.well-known/jwks.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
}

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("passage-emulator-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("state.json");
    let _ = std::fs::remove_file(&data);
    let data_arg = data.to_str().unwrap();
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let first = start(&["--port", &port.to_string(), "--data", data_arg]);
    let (app_id, key) = (first.var("PASSAGE_APP_ID"), first.var("PASSAGE_API_KEY"));
    let created: serde_json::Value = client
        .post(format!("{origin}/v1/apps/{app_id}/users"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"email": "persist@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_id = created["user"]["id"].as_str().unwrap().to_owned();
    let jwks_before = client
        .get(format!("{origin}/v1/apps/{app_id}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    drop(first);

    let second = start(&["--port", &port.to_string(), "--data", data_arg]);
    // A fresh client: the old one's pooled connection went with the first process.
    let client = reqwest::Client::new();
    assert_eq!(second.var("PASSAGE_APP_ID"), app_id, "app ID kept");
    assert_eq!(second.var("PASSAGE_API_KEY"), key, "API key kept");
    let user: serde_json::Value = client
        .get(format!("{origin}/v1/apps/{app_id}/users/{user_id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["user"]["email"], "persist@example.com");
    let jwks_after = client
        .get(format!("{origin}/v1/apps/{app_id}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        jwks_before, jwks_after,
        "signing key kept, so issued tokens stay valid"
    );
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flags_fail_with_a_message() {
    for args in [
        &["--port", "not-a-port"][..],
        &["--host", "nowhere"],
        &["--bogus"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_passage-emulator"))
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.trim().is_empty(), "{args:?}: an error message");
    }
    let help = Command::new(env!("CARGO_BIN_EXE_passage-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--data"));
}

#[tokio::test]
async fn acknowledged_changes_survive_kill_9() {
    let dir = std::env::temp_dir().join(format!("passage-emulator-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("state.json");
    let _ = std::fs::remove_file(&data);
    let data_arg = data.to_str().unwrap();
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let first = start(&["--port", &port.to_string(), "--data", data_arg]);
    let (app_id, key) = (first.var("PASSAGE_APP_ID"), first.var("PASSAGE_API_KEY"));
    let creates: Vec<_> = (0..30)
        .map(|i| {
            let request = client
                .post(format!("{origin}/v1/apps/{app_id}/users"))
                .bearer_auth(&key)
                .json(&serde_json::json!({"email": format!("k{i}@example.com")}));
            tokio::spawn(async move {
                let resp = request.send().await.unwrap();
                assert_eq!(resp.status(), 201);
                let body: serde_json::Value = resp.json().await.unwrap();
                body["user"]["id"].as_str().unwrap().to_owned()
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for create in creates {
        acknowledged.push(create.await.unwrap());
    }
    // SIGKILL the moment the last answer is in: no shutdown, no final save.
    drop(first);

    let second = start(&["--port", &port.to_string(), "--data", data_arg]);
    assert_eq!(second.var("PASSAGE_APP_ID"), app_id);
    // A new client: the old one's pooled connections died with the first process.
    let client = reqwest::Client::new();
    for id in &acknowledged {
        let resp = client
            .get(format!("{origin}/v1/apps/{app_id}/users/{id}"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "acknowledged user {id} survived");
    }
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn version_help_and_short_errors() {
    let version = Command::new(env!("CARGO_BIN_EXE_passage-emulator"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("passage-emulator {}", env!("CARGO_PKG_VERSION"))
    );
    let help = Command::new(env!("CARGO_BIN_EXE_passage-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    for env in [
        "PASSAGE_EMULATOR_HOST",
        "PASSAGE_EMULATOR_PORT",
        "PASSAGE_EMULATOR_APP_ID",
        "PASSAGE_EMULATOR_API_KEY",
        "PASSAGE_EMULATOR_AUTH_ORIGIN",
        "PASSAGE_EMULATOR_REDIRECT_URL",
        "PASSAGE_EMULATOR_DATA",
        "PASSAGE_EMULATOR_ALLOWED_HOSTS",
        "PORT",
    ] {
        assert!(help.contains(env), "--help names {env}");
    }
    for args in [
        &["--bogus"][..],
        &["--port", "99999"],
        &["--host", "nowhere"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_passage-emulator"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("try '--help'"), "{args:?}: {stderr}");
        assert!(stderr.lines().count() <= 6, "{args:?}: short: {stderr}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_passage-emulator"))
        .env_remove("PASSAGE_EMULATOR_PORT")
        .env("PORT", "not-a-port")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("try '--help'"));
}

#[tokio::test]
async fn flags_come_from_the_environment_and_localhost_is_a_host() {
    let port = free_port();
    let emu = start_with(
        &["--host", "localhost"],
        &[
            ("PASSAGE_EMULATOR_PORT", &port.to_string()),
            ("PASSAGE_EMULATOR_APP_ID", "envapp"),
            ("PASSAGE_EMULATOR_API_KEY", "env-key"),
        ],
    );
    assert_eq!(emu.var("PASSAGE_APP_ID"), "envapp");
    assert_eq!(emu.var("PASSAGE_API_KEY"), "env-key");
    assert_eq!(
        emu.var("PASSAGE_API_ORIGIN"),
        format!("http://127.0.0.1:{port}")
    );
    drop(emu);
    // PORT, as platforms set it, when the emulator's own variable is absent.
    let port = free_port();
    let emu = start_with(&[], &[("PORT", &port.to_string())]);
    assert_eq!(
        emu.var("PASSAGE_API_ORIGIN"),
        format!("http://127.0.0.1:{port}")
    );
}

#[tokio::test]
async fn a_closed_stdout_does_not_stop_the_server() {
    let port = free_port();
    // A pipe whose reading end is already closed, as after `passage-emulator | head -1` has
    // read its line: every write to stdout fails.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(env!("CARGO_BIN_EXE_passage-emulator"))
        .args(["--port", &port.to_string(), "--app-id", "pipeapp"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the server to say the banner could not be printed.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("could not print the banner") && tx.send(()).is_err() {
                break;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the failed banner is logged");
    let url = format!("http://127.0.0.1:{port}/v1/apps/pipeapp/.well-known/jwks.json");
    let resp = reqwest::get(&url).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(child.try_wait().unwrap().is_none(), "still running");
    let _ = child.kill();
    let _ = child.wait();
}
