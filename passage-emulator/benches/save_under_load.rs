//! Load test: the emulator binary with a data file of 500 users, under a flood of changes (magic
//! links created and exchanged by 16 concurrent clients), while one client polls the JWKS.
//! Prints the JWKS latency (p50, p99, max) and the latency and rate of the changes.
//!
//! `cargo bench -p passage-emulator --bench save_under_load` runs the full load; `cargo test`
//! runs it small, as a smoke test. `EMULATOR_BIN=/path/to/passage-emulator` measures another
//! build of the binary (an older one, to compare).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Server {
    child: Child,
    origin: String,
    app_id: String,
    api_key: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &str, data: &std::path::Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(bin)
        .args([
            "--port",
            &port.to_string(),
            "--data",
            data.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the emulator binary starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut app_id, mut api_key) = (String::new(), String::new());
    for line in stdout.lines().map_while(Result::ok) {
        if let Some(v) = line.strip_prefix("export PASSAGE_APP_ID=") {
            app_id = v.to_owned();
        }
        if let Some(v) = line.strip_prefix("export PASSAGE_API_KEY=") {
            api_key = v.to_owned();
            break;
        }
    }
    Server {
        child,
        origin: format!("http://127.0.0.1:{port}"),
        app_id,
        api_key,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (users, workers, rounds) = if full { (500, 16, 25) } else { (20, 4, 3) };
    let bin = std::env::var("EMULATOR_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_passage-emulator").to_owned());
    let dir = std::env::temp_dir().join(format!("emulator-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = start(&bin, &dir.join("state.json"));
    let http = reqwest::Client::new();
    let api = format!("{}/v1/apps/{}", server.origin, server.app_id);

    // Seed the users (concurrently, 16 at a time).
    let mut emails = Vec::new();
    for chunk in (0..users).collect::<Vec<_>>().chunks(16) {
        let creates: Vec<_> = chunk
            .iter()
            .map(|i| {
                let email = format!("load{i}@example.com");
                emails.push(email.clone());
                http.post(format!("{api}/users"))
                    .bearer_auth(&server.api_key)
                    .json(&json!({"email": email}))
                    .send()
            })
            .collect();
        for create in creates {
            assert_eq!(create.await.unwrap().status(), 201);
        }
    }

    // The JWKS prober.
    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let (http, url, stop) = (
            http.clone(),
            format!("{api}/.well-known/jwks.json"),
            Arc::clone(&stop),
        );
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let resp = http.get(&url).send().await.unwrap();
                assert_eq!(resp.status(), 200);
                resp.bytes().await.unwrap();
                latencies.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            latencies
        })
    };

    // The flood: each worker creates a magic link for a user and exchanges it, `rounds` times.
    let started = Instant::now();
    let emails = Arc::new(emails);
    let flood: Vec<_> = (0..workers)
        .map(|w| {
            let (http, api, key, emails) = (
                http.clone(),
                api.clone(),
                server.api_key.clone(),
                Arc::clone(&emails),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for r in 0..rounds {
                    let email = &emails[(w * rounds + r) % emails.len()];
                    let t = Instant::now();
                    let link: Value = http
                        .post(format!("{api}/magic-links"))
                        .bearer_auth(&key)
                        .json(&json!({"email": email, "channel": "email", "send": true}))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    latencies.push(t.elapsed());
                    let t = Instant::now();
                    let resp = http
                        .patch(format!("{api}/magic-link/activate"))
                        .json(&json!({"magic_link": link["magic_link"]["secret"]}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(resp.status(), 200);
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut changes = Vec::new();
    for worker in flood {
        changes.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut jwks = prober.await.unwrap();
    jwks.sort();
    changes.sort();

    println!("binary: {bin}");
    println!(
        "{users} users in the data file; {} changes by {workers} clients in {:.2} s ({:.0} changes/s)",
        changes.len(),
        elapsed.as_secs_f64(),
        changes.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "change latency: p50 {}, p99 {}, max {}",
        ms(percentile(&changes, 0.5)),
        ms(percentile(&changes, 0.99)),
        ms(percentile(&changes, 1.0))
    );
    println!(
        "JWKS latency during the flood ({} requests): p50 {}, p99 {}, max {}",
        jwks.len(),
        ms(percentile(&jwks, 0.5)),
        ms(percentile(&jwks, 0.99)),
        ms(percentile(&jwks, 1.0))
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
