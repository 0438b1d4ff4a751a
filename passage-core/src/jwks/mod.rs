//! The JWKS cache: keeps Passage's signing keys parsed, decides when the auth origin may be
//! asked again, and never makes a request wait for a fetch it does not need.
//!
//! * Lazy: nothing is fetched (or spawned) until the first verification or
//!   [`Passage::warm_up`](crate::Passage::warm_up).
//! * The hot path is one atomic load ([`ArcSwapOption`]) and a map lookup: no lock.
//! * Stale-while-revalidate: a set is refreshed in the background ahead of its expiry (with
//!   jitter); requests are answered from the set in hand while the refresh runs, and a stale set
//!   keeps serving up to `max_stale` while the JWKS cannot be had. Only a request with no usable
//!   set at all (or with a `kid` the set lacks) waits for a fetch.
//! * Fetches are single-flight and run as their own Tokio task: a fetch, once started, runs to
//!   its end or its timeout and records its own outcome, whether or not anyone still waits.
//!   The state mutex is held for bookkeeping only, never across I/O.
//! * Conditional requests: `If-None-Match` / `If-Modified-Since` when the last answer carried
//!   `ETag` / `Last-Modified`; a 304 renews freshness without re-parsing.
//! * Unknown `kid`s: a refresh at most once per cooldown; a kid is remembered as unknown
//!   (negative cache) only when a fetch that started after the kid was first seen did not list
//!   it. A kid refused by the cooldown schedules a refresh for the cooldown's end. A per-minute
//!   ceiling bounds fetches whatever their cause; failures back off exponentially with jitter.

mod fetch;
mod key_set;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::JwksSettings;
use crate::error::{AuthError, InvalidTokenReason, KeysUnavailableReason};
use crate::telemetry::FetchOutcome;
use fetch::{Fetched, Validators};
pub(crate) use key_set::{Keys, MAX_KID_BYTES, MAX_MODULUS_BITS, VerifyingKey, parse_key_set};

/// A key set as fetched (or confirmed by a 304), with its freshness.
struct KeySet {
    keys: Arc<Keys>,
    /// When the fetch that produced this set started.
    started: Instant,
    /// When a background refresh is due (a jittered margin before `fresh_until`).
    refresh_at: Instant,
    fresh_until: Instant,
    /// After this, the set is not used at all.
    usable_until: Instant,
    validators: Validators,
}

type FetchResult = Result<Arc<KeySet>, KeysUnavailableReason>;

/// The keys a verifier checks signatures with: fetched from a JWKS URL, or fixed at construction.
pub(crate) enum Jwks {
    /// A JWKS document in hand: never fetched, never expires.
    Static(Keys),
    /// The remote JWKS, cached.
    Remote(Arc<Remote>),
}

impl Jwks {
    pub(crate) fn remote(
        url: String,
        http: reqwest::Client,
        settings: JwksSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let epoch = clock.now();
        Self::Remote(Arc::new(Remote {
            url,
            http,
            settings,
            clock,
            current: ArcSwapOption::empty(),
            state: Mutex::new(FetchState::default()),
            fetching: AtomicBool::new(false),
            epoch,
            quiet_until: AtomicU64::new(0),
            refresh_at_nanos: AtomicU64::new(0),
            unknown_kids: quick_cache::sync::Cache::new(1024),
            pending_kids: quick_cache::sync::Cache::new(1024),
            fetches: AtomicU64::new(0),
        }))
    }

    /// How many fetches were started (for diagnostics and tests).
    pub(crate) fn fetch_count(&self) -> u64 {
        match self {
            Self::Static(_) => 0,
            Self::Remote(remote) => remote.fetches.load(Ordering::Relaxed),
        }
    }

    /// Whether `key` is in the current, still usable set (a rotated-out key is not). Starts a
    /// background refresh when one is due, so a warm token cache still follows rotations.
    pub(crate) fn is_current(&self, key: &Arc<VerifyingKey>) -> bool {
        match self {
            Self::Static(keys) => keys.get(&key.kid).is_some_and(|k| Arc::ptr_eq(k, key)),
            Self::Remote(remote) => {
                let guard = remote.current.load();
                let Some(set) = guard.as_ref() else {
                    return false;
                };
                let now = remote.clock.now();
                if now >= set.refresh_at {
                    remote.refresh_in_background();
                }
                now < set.usable_until
                    && set.keys.get(&key.kid).is_some_and(|k| Arc::ptr_eq(k, key))
            }
        }
    }

    /// The key for `kid`, fetching the set when it must and may.
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<VerifyingKey>, AuthError> {
        match self {
            Self::Static(keys) => keys.get(kid).cloned().ok_or(unknown()),
            Self::Remote(remote) => remote.key(kid).await,
        }
    }

    /// Fetches now unless a fresh set is cached; for an eager warm-up.
    pub(crate) async fn warm_up(&self) -> Result<(), KeysUnavailableReason> {
        match self {
            Self::Static(_) => Ok(()),
            Self::Remote(remote) => remote.warm_up().await,
        }
    }
}

fn unknown() -> AuthError {
    AuthError::InvalidToken(InvalidTokenReason::UnknownKeyId)
}

/// What made us want to fetch; each cause has its own gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// No usable set at all: a request waits for this one.
    Missing,
    /// The set is due for its background refresh.
    Refresh,
    /// A token names a kid the set lacks.
    UnknownKid,
    /// The refresh scheduled for the end of an unknown kid's cooldown.
    Scheduled,
}

impl Cause {
    /// The metrics label.
    fn label(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Refresh => "refresh",
            Self::UnknownKid => "unknown_kid",
            Self::Scheduled => "scheduled",
        }
    }
}

/// Why a fetch was not started.
enum Refused {
    /// Keys cannot be had now (backoff after failures, the fetch ceiling, no runtime).
    Unavailable(KeysUnavailableReason),
    /// The unknown-kid cooldown runs until this instant.
    Cooldown(Instant),
}

/// A fetch under way, to wait for.
struct Inflight {
    id: u64,
    done: watch::Receiver<Option<FetchResult>>,
}

#[derive(Default)]
struct FetchState {
    inflight: Option<Inflight>,
    next_id: u64,
    last_attempt: Option<Instant>,
    failures: u32,
    retry_at: Option<Instant>,
    /// Start times of the fetches of the last minute.
    recent: VecDeque<Instant>,
    /// A refresh is scheduled for the end of the cooldown.
    scheduled: bool,
}

/// The remote JWKS of one app.
pub(crate) struct Remote {
    url: String,
    http: reqwest::Client,
    settings: JwksSettings,
    clock: Arc<dyn Clock>,
    current: ArcSwapOption<KeySet>,
    state: Mutex<FetchState>,
    /// A fetch is in flight (a lock-free check for the hot path's refresh trigger).
    fetching: AtomicBool,
    /// The instant `quiet_until` and `refresh_at_nanos` count from.
    epoch: Instant,
    /// When a refresh is scheduled for the end of the unknown-kid cooldown, its time in
    /// nanoseconds after `epoch` (0: none). Until then, and while no fetch is under way, an unknown
    /// kid can only be refused, so the hot path refuses it without the lock or the pending-kid
    /// bookkeeping (a flood of distinct
    /// unknown kids is the cheapest attack that reaches the key lookup). A kid first seen in that
    /// window is not remembered as pending: if it is still unknown after the refresh, it may
    /// cause one more refresh, one cooldown later, never more than one per cooldown.
    refresh_at_nanos: AtomicU64,
    /// Nanoseconds after `epoch` before which a failed fetch may not be retried (0: none), so
    /// that during an outage the hot path does not take the lock to learn it must wait.
    quiet_until: AtomicU64,
    /// Kids a fetch that started after they were seen did not list, until when.
    unknown_kids: quick_cache::sync::Cache<Box<str>, Instant>,
    /// Kids not in the set, and when each was first seen.
    pending_kids: quick_cache::sync::Cache<Box<str>, Instant>,
    fetches: AtomicU64,
}

impl Remote {
    async fn key(self: &Arc<Self>, kid: &str) -> Result<Arc<VerifyingKey>, AuthError> {
        let arrived = self.clock.now();
        let current = self.current.load_full();
        let set = match current {
            Some(set) if arrived < set.usable_until => {
                if arrived >= set.refresh_at {
                    self.refresh_in_background();
                }
                set
            }
            _ => {
                // No usable set: this request cannot be answered without one.
                let inflight = self
                    .start(Cause::Missing)
                    .map_err(|refused| match refused {
                        Refused::Unavailable(reason) => AuthError::KeysUnavailable(reason),
                        Refused::Cooldown(at) => {
                            AuthError::KeysUnavailable(KeysUnavailableReason::Backoff {
                                retry_after: at.saturating_duration_since(arrived),
                            })
                        }
                    })?;
                wait(inflight).await.map_err(AuthError::KeysUnavailable)?
            }
        };
        match set.keys.get(kid) {
            Some(key) => Ok(Arc::clone(key)),
            None => self.unknown_kid(kid, set, arrived).await,
        }
    }

    async fn unknown_kid(
        self: &Arc<Self>,
        kid: &str,
        mut set: Arc<KeySet>,
        arrived: Instant,
    ) -> Result<Arc<VerifyingKey>, AuthError> {
        let now = self.clock.now();
        // (Unless a fetch is under way, which a rotated-in kid should wait for.)
        let refresh_at = self.refresh_at_nanos.load(Ordering::Acquire);
        if refresh_at != 0
            && self.nanos_since_epoch(now) < refresh_at
            && !self.fetching.load(Ordering::Acquire)
        {
            return Err(unknown());
        }
        if self.unknown_kids.get(kid).is_some_and(|until| now < until) {
            return Err(unknown());
        }
        let first_seen = match self.pending_kids.get(kid) {
            Some(seen) => seen,
            None => {
                self.pending_kids.insert(kid.into(), arrived);
                arrived
            }
        };
        // At most two rounds: a fetch already under way (which may have started before this kid
        // was seen), then one of our own.
        for _ in 0..2 {
            if let Some(key) = set.keys.get(kid) {
                self.pending_kids.remove(kid);
                return Ok(Arc::clone(key));
            }
            if set.started >= first_seen {
                // A fetch that started after the kid was seen did not list it.
                self.pending_kids.remove(kid);
                self.unknown_kids
                    .insert(kid.into(), self.clock.now() + self.settings.negative_ttl);
                return Err(unknown());
            }
            match self.start(Cause::UnknownKid) {
                Ok(inflight) => match wait(inflight).await {
                    Ok(newer) => set = newer,
                    Err(_) => return Err(unknown()),
                },
                Err(Refused::Cooldown(at)) => {
                    self.schedule_refresh(at);
                    return Err(unknown());
                }
                Err(Refused::Unavailable(_)) => return Err(unknown()),
            }
        }
        Err(unknown())
    }

    async fn warm_up(self: &Arc<Self>) -> Result<(), KeysUnavailableReason> {
        let now = self.clock.now();
        if self
            .current
            .load()
            .as_ref()
            .is_some_and(|set| now < set.fresh_until)
        {
            return Ok(());
        }
        let inflight = self
            .start(Cause::Missing)
            .map_err(|refused| match refused {
                Refused::Unavailable(reason) => reason,
                Refused::Cooldown(at) => KeysUnavailableReason::Backoff {
                    retry_after: at.saturating_duration_since(now),
                },
            })?;
        wait(inflight).await.map(drop)
    }

    /// Starts a refresh that nobody waits for, unless one runs or is not allowed yet.
    fn refresh_in_background(self: &Arc<Self>) {
        if self.fetching.load(Ordering::Acquire) || self.backing_off() {
            return;
        }
        // A refusal (the fetch ceiling) needs no handling: the set in hand keeps serving.
        let _ = self.start(Cause::Refresh);
    }

    /// Whether a failed fetch's backoff is still running (lock-free).
    fn backing_off(&self) -> bool {
        let quiet = self.quiet_until.load(Ordering::Acquire);
        quiet != 0 && self.nanos_since_epoch(self.clock.now()) < quiet
    }

    fn nanos_since_epoch(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Schedules one refresh for the end of the unknown-kid cooldown, so that the first request
    /// with a rotated-in kid after it finds the key already there.
    fn schedule_refresh(self: &Arc<Self>, at: Instant) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        {
            let mut state = self.lock();
            if state.scheduled {
                return;
            }
            state.scheduled = true;
            self.refresh_at_nanos
                .store(self.nanos_since_epoch(at).max(1), Ordering::Release);
        }
        let weak = Arc::downgrade(self);
        runtime.spawn(scheduled_refresh(weak, at));
    }

    /// The scheduled refresh is over (it ran, or a fetch made it needless).
    fn unschedule(&self) {
        let mut state = self.lock();
        state.scheduled = false;
        self.refresh_at_nanos.store(0, Ordering::Release);
    }

    fn lock(&self) -> MutexGuard<'_, FetchState> {
        // The state is plain bookkeeping, valid even if a holder panicked.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Joins the fetch under way, or starts one if the cause's gates allow it.
    fn start(self: &Arc<Self>, cause: Cause) -> Result<Inflight, Refused> {
        let now = self.clock.now();
        let mut state = self.lock();
        if let Some(inflight) = &state.inflight {
            return Ok(Inflight {
                id: inflight.id,
                done: inflight.done.clone(),
            });
        }
        // A caller that found no usable set may get here just after a fetch finished (`record`
        // publishes the set and clears `inflight` under this lock): hand it that set instead of
        // fetching again. (Seen as two fetches for 200 concurrent cold requests, 1 run in 20 on
        // a loaded machine.)
        if cause == Cause::Missing
            && let Some(set) = self
                .current
                .load_full()
                .filter(|set| now < set.usable_until)
        {
            let (_, done) = watch::channel(Some(Ok(set)));
            return Ok(Inflight {
                id: state.next_id,
                done,
            });
        }
        if let Some(retry_at) = state.retry_at.filter(|at| now < *at) {
            return Err(Refused::Unavailable(KeysUnavailableReason::Backoff {
                retry_after: retry_at - now,
            }));
        }
        if matches!(cause, Cause::UnknownKid | Cause::Scheduled)
            && let Some(last) = state.last_attempt
        {
            let next = last + self.settings.refresh_cooldown;
            if now < next {
                return Err(Refused::Cooldown(next));
            }
        }
        let minute = Duration::from_secs(60);
        while state
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= minute)
        {
            state.recent.pop_front();
        }
        if state.recent.len() >= self.settings.max_fetches_per_minute as usize {
            let oldest = state.recent.front().copied().unwrap_or(now);
            return Err(Refused::Unavailable(KeysUnavailableReason::Backoff {
                retry_after: (oldest + minute).saturating_duration_since(now),
            }));
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Refused::Unavailable(KeysUnavailableReason::NoRuntime))?;
        state.recent.push_back(now);
        state.last_attempt = Some(now);
        state.next_id += 1;
        let id = state.next_id;
        let (done_tx, done) = watch::channel(None);
        state.inflight = Some(Inflight {
            id,
            done: done.clone(),
        });
        drop(state);
        self.fetching.store(true, Ordering::Release);
        self.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(url = %self.url, ?cause, "fetching JWKS");
        runtime.spawn(run_fetch(Arc::clone(self), id, now, cause, done_tx));
        Ok(Inflight { id, done })
    }

    /// One fetch, turned into a key set, and counted.
    async fn fetch_key_set(&self, started: Instant, cause: Cause) -> FetchResult {
        // Real time, not the cache's clock: this is the fetch's latency, not a policy.
        let timer = std::time::Instant::now();
        let result = self.fetch_and_parse(started).await;
        let outcome = match &result {
            Ok((_, outcome)) => *outcome,
            Err(_) => FetchOutcome::Failed,
        };
        crate::telemetry::jwks_fetch(cause.label(), outcome, timer.elapsed());
        result.map(|(set, _)| set)
    }

    async fn fetch_and_parse(
        &self,
        started: Instant,
    ) -> Result<(Arc<KeySet>, FetchOutcome), KeysUnavailableReason> {
        let previous = self.current.load_full();
        let validators = previous.as_ref().map(|set| &set.validators);
        let fetched = fetch::fetch(&self.http, &self.url, &self.settings, validators).await?;
        let (keys, ttl, validators, outcome) = match fetched {
            Fetched::Document {
                body,
                ttl,
                validators,
            } => {
                let keys = parse_key_set(
                    &body,
                    self.settings.max_keys,
                    previous.as_ref().map(|set| &*set.keys),
                )?;
                if keys.is_empty() {
                    // No app is without a signing key: treat this like an outage (back off, keep
                    // the last good keys within max-stale) rather than as a set that verifies
                    // nothing.
                    return Err(KeysUnavailableReason::NoUsableKeys);
                }
                (Arc::new(keys), ttl, validators, FetchOutcome::Updated)
            }
            Fetched::NotModified { ttl, validators } => {
                let previous = previous.ok_or(KeysUnavailableReason::InvalidJwks)?;
                tracing::debug!("JWKS not modified");
                (
                    Arc::clone(&previous.keys),
                    ttl,
                    validators,
                    FetchOutcome::NotModified,
                )
            }
        };
        let now = self.clock.now();
        let fresh_until = now + ttl;
        // Refresh 5 to 15 % of the lifetime early, so instances spread their fetches out.
        let ahead = ttl.mul_f64(0.05 + 0.10 * crate::transport::random_unit());
        let set = Arc::new(KeySet {
            keys,
            started,
            refresh_at: fresh_until - ahead,
            fresh_until,
            usable_until: fresh_until + self.settings.max_stale,
            validators,
        });
        Ok((set, outcome))
    }

    /// Records the outcome of fetch `id`: installs the set, or backs off.
    fn record(&self, id: u64, result: &FetchResult) {
        let mut state = self.lock();
        if state.inflight.as_ref().is_none_or(|f| f.id != id) {
            return;
        }
        state.inflight = None;
        self.fetching.store(false, Ordering::Release);
        match result {
            Ok(set) => {
                state.failures = 0;
                state.retry_at = None;
                self.quiet_until.store(0, Ordering::Release);
                self.current.store(Some(Arc::clone(set)));
                tracing::debug!(keys = set.keys.len(), "JWKS refreshed");
            }
            Err(reason) => {
                state.failures = state.failures.saturating_add(1);
                let delay = crate::transport::backoff(
                    self.settings.initial_backoff,
                    self.settings.max_backoff,
                    state.failures,
                );
                let retry_at = self.clock.now() + delay;
                state.retry_at = Some(retry_at);
                self.quiet_until
                    .store(self.nanos_since_epoch(retry_at).max(1), Ordering::Release);
                tracing::warn!(
                    %reason,
                    failures = state.failures,
                    retry_in_ms = delay.as_millis() as u64,
                    "JWKS fetch failed"
                );
            }
        }
    }

    /// Forgets fetch `id` without an outcome (its task was dropped: the runtime shut down).
    fn abandon(&self, id: u64) {
        let mut state = self.lock();
        if state.inflight.as_ref().is_some_and(|f| f.id == id) {
            state.inflight = None;
            self.fetching.store(false, Ordering::Release);
        }
    }
}

/// The task of one fetch: it owns the fetch, so no waiter's cancellation can stall it.
async fn run_fetch(
    remote: Arc<Remote>,
    id: u64,
    started: Instant,
    cause: Cause,
    done: watch::Sender<Option<FetchResult>>,
) {
    struct Abandoned<'a> {
        remote: &'a Remote,
        id: u64,
        armed: bool,
    }
    impl Drop for Abandoned<'_> {
        fn drop(&mut self) {
            if self.armed {
                self.remote.abandon(self.id);
            }
        }
    }
    let mut guard = Abandoned {
        remote: &remote,
        id,
        armed: true,
    };
    let result = remote.fetch_key_set(started, cause).await;
    guard.armed = false;
    remote.record(id, &result);
    // Nobody may be waiting any more; that is fine.
    let _ = done.send(Some(result));
}

/// Waits until `at` on the cache's clock, then refreshes unless a fetch happened meanwhile.
/// Holds only a weak reference, so a dropped `Passage` ends it.
async fn scheduled_refresh(remote: Weak<Remote>, at: Instant) {
    loop {
        let wait = {
            let Some(remote) = remote.upgrade() else {
                return;
            };
            let now = remote.clock.now();
            let fetched_since = remote
                .lock()
                .last_attempt
                .is_some_and(|last| last + remote.settings.refresh_cooldown > at);
            if fetched_since {
                remote.unschedule();
                return;
            }
            if now >= at {
                remote.unschedule();
                let _ = remote.start(Cause::Scheduled);
                return;
            }
            // A manual clock in tests moves in jumps: look again at least every 50 ms.
            (at - now).min(Duration::from_millis(50))
        };
        tokio::time::sleep(wait).await;
    }
}

/// Waits for a fetch's outcome.
async fn wait(inflight: Inflight) -> FetchResult {
    let mut done = inflight.done;
    match done.wait_for(Option::is_some).await {
        Ok(outcome) => outcome
            .clone()
            .unwrap_or(Err(KeysUnavailableReason::Transport)),
        // The fetch task was dropped before it finished (its runtime shut down).
        Err(_) => Err(KeysUnavailableReason::Transport),
    }
}

/// Parses a JWKS document in hand into a fixed key set (for [`Jwks::Static`]).
pub(crate) fn static_keys(document: &[u8], max_keys: usize) -> Result<Keys, KeysUnavailableReason> {
    let keys = parse_key_set(document, max_keys, None)?;
    if keys.is_empty() {
        return Err(KeysUnavailableReason::NoUsableKeys);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::KeyPair as _;
    use base64::Engine as _;
    use futures::FutureExt as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn jwk(kid: &str) -> serde_json::Value {
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let public = pair.public_key();
        serde_json::json!({
            "kty": "RSA", "kid": kid,
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// A minimal JWKS server: each request waits for one permit of `gate`, then gets `body`.
    async fn server(body: String, gate: Arc<tokio::sync::Semaphore>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (body, gate) = (body.clone(), Arc::clone(&gate));
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    gate.acquire().await.unwrap().forget();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        url
    }

    fn remote(url: String, clock: &ManualClock) -> Arc<Remote> {
        let settings = JwksSettings {
            default_ttl: Duration::from_secs(60),
            ..JwksSettings::default()
        };
        match Jwks::remote(
            url,
            reqwest::Client::new(),
            settings,
            Arc::new(clock.clone()),
        ) {
            Jwks::Remote(remote) => remote,
            Jwks::Static(_) => unreachable!(),
        }
    }

    async fn until(mut condition: impl FnMut() -> bool) {
        for _ in 0..1000 {
            if condition() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("condition not reached");
    }

    #[tokio::test]
    async fn a_fetch_outlives_its_cancelled_waiter_and_records_its_outcome() {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let body = serde_json::json!({"keys": [jwk("a")]}).to_string();
        let clock = ManualClock::new();
        let remote = remote(server(body, Arc::clone(&gate)).await, &clock);
        assert!(
            remote.key("a").now_or_never().is_none(),
            "waits for the fetch"
        );
        // The waiter above is gone; the fetch answers afterwards and is recorded anyway.
        gate.add_permits(1);
        until(|| remote.current.load().is_some()).await;
        assert!(remote.key("a").now_or_never().unwrap().is_ok());
        assert!(remote.lock().inflight.is_none());
        assert_eq!(remote.fetches.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_due_refresh_runs_in_the_background_while_the_set_serves() {
        let gate = Arc::new(tokio::sync::Semaphore::new(1));
        let body = serde_json::json!({"keys": [jwk("a")]}).to_string();
        let clock = ManualClock::new();
        let remote = remote(server(body, Arc::clone(&gate)).await, &clock);
        assert!(remote.key("a").await.is_ok());
        let first = remote.current.load_full().unwrap();
        clock.advance(Duration::from_secs(61));
        // Past freshness, the answer comes at once; a refresh is under way, held by the gate.
        assert!(remote.key("a").now_or_never().unwrap().is_ok());
        assert!(remote.fetching.load(Ordering::Acquire));
        assert!(remote.key("a").now_or_never().unwrap().is_ok());
        assert_eq!(remote.fetches.load(Ordering::Relaxed), 2, "single-flight");
        gate.add_permits(1);
        until(|| !remote.fetching.load(Ordering::Acquire)).await;
        let second = remote.current.load_full().unwrap();
        assert!(second.fresh_until > first.fresh_until);
        assert!(
            Arc::ptr_eq(&first.keys["a"], &second.keys["a"]),
            "an unchanged key keeps its Arc, so cached tokens stay valid"
        );
    }

    /// A remote whose JWKS lists kid "a", after its first fetch.
    async fn serving_a(clock: &ManualClock) -> Arc<Remote> {
        let gate = Arc::new(tokio::sync::Semaphore::new(10));
        let body = serde_json::json!({"keys": [jwk("a")]}).to_string();
        let remote = remote(server(body, gate).await, clock);
        assert!(remote.key("a").await.is_ok());
        remote
    }

    #[tokio::test]
    async fn only_a_fetch_started_after_a_kid_was_seen_makes_it_unknown() {
        let clock = ManualClock::new();
        let remote = serving_a(&clock).await;
        // Within the cooldown: refused, but not remembered as unknown.
        clock.advance(Duration::from_secs(1));
        assert!(remote.key("b").await.is_err());
        assert!(remote.unknown_kids.get("b").is_none());
        assert!(remote.pending_kids.get("b").is_some());
        assert!(
            remote.lock().scheduled,
            "a refresh waits for the cooldown's end"
        );
        // After it, a fetch runs for "b" and does not list it: now it is unknown.
        clock.advance(Duration::from_secs(30));
        assert!(remote.key("b").await.is_err());
        assert!(remote.unknown_kids.get("b").is_some());
        assert_eq!(remote.fetches.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn unknown_kids_before_a_scheduled_refresh_are_refused_without_bookkeeping() {
        let clock = ManualClock::new();
        let remote = serving_a(&clock).await;
        clock.advance(Duration::from_secs(1));
        assert!(remote.key("b").await.is_err());
        assert!(remote.lock().scheduled);
        assert_ne!(remote.refresh_at_nanos.load(Ordering::Acquire), 0);
        // Until the refresh: refused at once, nothing remembered, no fetch.
        for kid in ["c", "d", "e"] {
            assert!(remote.key(kid).await.is_err());
            assert!(remote.pending_kids.get(kid).is_none(), "{kid}");
        }
        assert!(remote.key("a").await.is_ok(), "known kids are unaffected");
        assert_eq!(remote.fetches.load(Ordering::Relaxed), 1);
        // After the cooldown the slow path runs again: "c" gets its fetch.
        clock.advance(Duration::from_secs(30));
        assert!(remote.key("c").await.is_err());
        assert_eq!(remote.fetches.load(Ordering::Relaxed), 2);
        assert!(remote.unknown_kids.get("c").is_some());
    }
}
