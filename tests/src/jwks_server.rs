//! A JWKS server on loopback whose answers the test sets and whose requests it counts.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use passage_core::clock::{Clock, ManualClock};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

/// How the server answers the next JWKS request.
#[derive(Clone, Debug)]
pub enum JwksMode {
    /// 200 with this key set (and an optional `Cache-Control`).
    Serve {
        /// The key set document.
        keys: Value,
        /// A `Cache-Control` header value.
        cache_control: Option<String>,
    },
    /// This status with an empty body.
    Status(u16),
    /// Never answers (until the test ends).
    Hang,
    /// 200 with bytes that are not JSON.
    Garbage,
    /// 200 with a 10 MB body streamed in chunks, without `Content-Length`.
    Huge,
    /// 302 to another URL serving a key set (redirects must not be followed).
    Redirect(String),
}

struct Shared {
    mode: Mutex<JwksMode>,
    hits: AtomicU64,
    answered: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    /// Answers wait until this clock has moved on by the duration since they arrived.
    delay: Mutex<Option<(ManualClock, Duration)>>,
    /// When set, answers carry this `ETag`, and a request sending it gets 304.
    etag: Mutex<Option<String>>,
    /// The `If-None-Match` of every request, in order.
    if_none_match: Mutex<Vec<Option<String>>>,
}

/// The running server; it stops when dropped.
pub struct JwksServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    /// Starts serving `keys` (a JSON value such as `{"keys": [...]}`) on `127.0.0.1:0`.
    pub async fn start(keys: Value) -> Self {
        let shared = Arc::new(Shared {
            mode: Mutex::new(JwksMode::Serve {
                keys,
                cache_control: None,
            }),
            hits: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            delay: Mutex::new(None),
            etag: Mutex::new(None),
            if_none_match: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/v1/apps/{app}/.well-known/jwks.json", get(serve))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes how the next requests are answered.
    pub fn set(&self, mode: JwksMode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// Serves a new key set.
    pub fn serve(&self, keys: Value) {
        self.set(JwksMode::Serve {
            keys,
            cache_control: None,
        });
    }

    /// How many JWKS requests arrived.
    pub fn hits(&self) -> u64 {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// How many requests were answered (their response handed to the connection).
    pub fn answered(&self) -> u64 {
        self.shared.answered.load(Ordering::SeqCst)
    }

    /// The most requests that were ever being answered at once.
    pub fn max_in_flight(&self) -> u64 {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Holds each answer until `clock` is `by` past the request's arrival (simulated latency;
    /// `None` answers at once).
    pub fn delay(&self, delay: Option<(ManualClock, Duration)>) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    /// Sends `ETag: etag` and answers 304 to a request whose `If-None-Match` matches it.
    pub fn etag(&self, etag: Option<&str>) {
        *self.shared.etag.lock().unwrap() = etag.map(str::to_owned);
    }

    /// The `If-None-Match` header of every request so far.
    pub fn if_none_match(&self) -> Vec<Option<String>> {
        self.shared.if_none_match.lock().unwrap().clone()
    }

    /// Waits (in real time, polling) until `answered() >= n`; panics after 10 s.
    pub async fn wait_answered(&self, n: u64) {
        for _ in 0..2000 {
            if self.answered() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!(
            "the JWKS server answered {} of {n} requests",
            self.answered()
        );
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let sent = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    shared.if_none_match.lock().unwrap().push(sent.clone());
    let delay = shared.delay.lock().unwrap().clone();
    if let Some((clock, by)) = delay {
        let due = clock.now() + by;
        while clock.now() < due {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let response = answer(&shared, sent).await;
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    shared.answered.fetch_add(1, Ordering::SeqCst);
    response
}

async fn answer(shared: &Shared, if_none_match: Option<String>) -> Response {
    let mode = shared.mode.lock().unwrap().clone();
    let etag = shared.etag.lock().unwrap().clone();
    match mode {
        JwksMode::Serve {
            keys,
            cache_control,
        } => {
            let not_modified = etag.is_some() && etag == if_none_match;
            let mut response = if not_modified {
                StatusCode::NOT_MODIFIED.into_response()
            } else {
                axum::Json(keys).into_response()
            };
            if let Some(cc) = cache_control {
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, cc.parse().unwrap());
            }
            if let Some(etag) = etag {
                response
                    .headers_mut()
                    .insert(header::ETAG, etag.parse().unwrap());
            }
            response
        }
        JwksMode::Status(status) => StatusCode::from_u16(status).unwrap().into_response(),
        JwksMode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        JwksMode::Garbage => (StatusCode::OK, "<html>\u{0}\u{1}not a key set").into_response(),
        JwksMode::Huge => {
            let chunk = bytes_chunk();
            let stream = futures::stream::iter(
                (0..160).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(stream))
                .unwrap()
        }
        JwksMode::Redirect(to) => Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, to)
            .body(Body::empty())
            .unwrap(),
    }
}

fn bytes_chunk() -> axum::body::Bytes {
    // 64 KiB of a JSON-looking prefix, so only the size limit can refuse it.
    let mut chunk = b"{\"keys\":[".to_vec();
    chunk.resize(64 * 1024, b' ');
    chunk.into()
}
