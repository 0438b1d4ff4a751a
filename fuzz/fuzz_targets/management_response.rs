//! Management API response decoding: a server on loopback answers each call with an arbitrary
//! status and body. Nothing panics; a non-2xx status is never a success.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use passage_core::management::ListUsers;
use passage_core::{Config, Passage, RetrySettings};
use passage_fuzz::world;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Arbitrary)]
struct Answer {
    call: u8,
    status: u16,
    body: Vec<u8>,
}

/// What the server answers next.
type Next = Arc<Mutex<(u16, Vec<u8>)>>;

/// A server that answers every request with the current `Next`, and a handle pointed at it.
fn server() -> &'static (Next, Passage) {
    static SERVER: OnceLock<(Next, Passage)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let world = world();
        let next: Next = Arc::new(Mutex::new((200, Vec::new())));
        let listener = world
            .runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        let answers = Arc::clone(&next);
        world.runtime.spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let answers = Arc::clone(&answers);
                tokio::spawn(async move {
                    // One request per connection: read the head (bodies here are small), answer,
                    // close.
                    let mut buffer = vec![0u8; 64 * 1024];
                    let _ = stream.read(&mut buffer).await;
                    let (status, body) = answers.lock().expect("lock").clone();
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        let config = Config::builder("fuzzapp")
            .api_key("fuzz-api-key")
            .origin(origin)
            .retry(RetrySettings {
                max_retries: 0,
                ..RetrySettings::default()
            })
            .build()
            .expect("config");
        (next, Passage::new(config).expect("passage"))
    })
}

fuzz_target!(|answer: Answer| {
    let world = world();
    let (next, passage) = server();
    // Statuses the HTTP client can read: 200 to 599 (1xx are interim answers).
    let status = 200 + answer.status % 400;
    *next.lock().expect("lock") = (status, answer.body);
    let users = passage.user();
    let success = world.runtime.block_on(async {
        match answer.call % 6 {
            0 => users.get("user1").await.is_ok(),
            1 => users.list_page(ListUsers::new()).await.is_ok(),
            2 => users.list_devices("user1").await.is_ok(),
            3 => passage.get_app().await.is_ok(),
            4 => users.delete("user1").await.is_ok(),
            _ => users.get_by_identifier("fuzz@example.com").await.is_ok(),
        }
    });
    if !(200..300).contains(&status) {
        assert!(!success, "status {status} was taken for a success");
    }
});
