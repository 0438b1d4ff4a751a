//! Bounds on what the emulator keeps, and the login page's per-client rate limit.
//!
//! `POST /login` needs no key: without bounds, anything that can reach the emulator could make it
//! keep a user, a magic link and an inbox message per request, forever.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The bounds in force (set through [`crate::EmulatorBuilder`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Inbox messages kept (the newest).
    pub inbox_messages: usize,
    /// Used or expired magic links kept (the most recent), so a replay still answers 409 or 410.
    pub dead_links: usize,
    /// Users the login page may create; beyond, it answers 429.
    pub login_page_users: usize,
    /// Recent events kept per user (the newest).
    pub recent_events: usize,
    /// `POST /login` requests a client may send at once.
    pub login_burst: u32,
    /// Time in which a client earns one more `POST /login`.
    pub login_refill: Duration,
    /// Time a passkey ceremony may take from its start to its finish.
    pub ceremony_ttl: Duration,
    /// Passkey ceremonies in progress kept at most (the oldest is dropped beyond).
    pub ceremonies: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            inbox_messages: 100,
            dead_links: 100,
            login_page_users: 1_000,
            recent_events: 50,
            login_burst: 10,
            login_refill: Duration::from_secs(6),
            ceremony_ttl: Duration::from_secs(300),
            ceremonies: 1_000,
        }
    }
}

/// Clients remembered at most; beyond, those with a full bucket (then the oldest) are forgotten.
const MAX_CLIENTS: usize = 4_096;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A token bucket per client IP.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    burst: u32,
    refill: Duration,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(burst: u32, refill: Duration) -> Self {
        Self {
            burst,
            refill,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn tokens_at(&self, bucket: Bucket, now: Instant) -> f64 {
        let earned = if self.refill.is_zero() {
            f64::from(self.burst)
        } else {
            now.saturating_duration_since(bucket.at).as_secs_f64() / self.refill.as_secs_f64()
        };
        (bucket.tokens + earned).min(f64::from(self.burst))
    }

    /// Takes one request's token for `client`; `Err` carries the wait before the next one. An
    /// IPv6 client is its /64 (one host usually has a whole /64 to pick addresses from).
    pub(crate) fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let client = match client {
            IpAddr::V6(ip) => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(ip) & !((1u128 << 64) - 1),
            )),
            v4 => v4,
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            let burst = f64::from(self.burst);
            buckets.retain(|_, b| self.tokens_at(*b, now) < burst);
            if buckets.len() >= MAX_CLIENTS
                && let Some(oldest) = buckets.iter().min_by_key(|(_, b)| b.at).map(|(ip, _)| *ip)
            {
                buckets.remove(&oldest);
            }
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: f64::from(self.burst),
            at: now,
        });
        let tokens = self.tokens_at(*bucket, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Ok(())
        } else {
            *bucket = Bucket { tokens, at: now };
            let wait = self.refill.as_secs_f64() * (1.0 - tokens);
            Err(Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_refill_period_per_client() {
        let limiter = RateLimiter::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        let a = IpAddr::from([127, 0, 0, 1]);
        let b = IpAddr::from([127, 0, 0, 2]);
        for _ in 0..3 {
            assert!(limiter.check(a, t0).is_ok());
        }
        let wait = limiter.check(a, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(10));
        assert!(
            limiter.check(b, t0).is_ok(),
            "another client has its own bucket"
        );
        assert!(limiter.check(a, t0 + Duration::from_secs(5)).is_err());
        assert!(limiter.check(a, t0 + Duration::from_secs(10)).is_ok());
        assert!(limiter.check(a, t0 + Duration::from_secs(10)).is_err());
        let v6 = |last: u16| IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, last]);
        for last in 0..3 {
            assert!(limiter.check(v6(last), t0).is_ok());
        }
        assert!(limiter.check(v6(99), t0).is_err(), "one /64 is one client");
        let slow = RateLimiter::new(0, Duration::MAX);
        assert_eq!(slow.check(a, t0), Err(Duration::MAX), "no overflow");
    }

    #[test]
    fn remembered_clients_are_bounded() {
        let limiter = RateLimiter::new(1, Duration::from_secs(3600));
        let t0 = Instant::now();
        for i in 0..(MAX_CLIENTS as u32 + 10) {
            let ip = IpAddr::from((0x7f00_0000u32 + i).to_be_bytes());
            assert!(limiter.check(ip, t0).is_ok());
        }
        assert!(limiter.buckets.lock().unwrap().len() <= MAX_CLIENTS);
    }
}
