//! The clock seam: where the verifier and the key cache read the time.
//!
//! Production code uses [`SystemClock`]. Tests hand a [`ManualClock`] to
//! [`ConfigBuilder::clock`](crate::ConfigBuilder::clock) and move time forward themselves, so
//! token expiry, key-set freshness, cooldowns and backoff are tested without sleeping.
//!
//! ```
//! use std::time::Duration;
//! use passage_core::clock::{Clock, ManualClock};
//!
//! let clock = ManualClock::new();
//! let (start, unix) = (clock.now(), clock.unix_now());
//! clock.advance(Duration::from_secs(90));
//! assert_eq!(clock.now() - start, Duration::from_secs(90));
//! assert_eq!(clock.unix_now() - unix, 90);
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of time: a monotonic instant (for cache freshness and backoff) and the wall clock
/// in Unix seconds (for `exp`, `nbf` and `iat`).
///
/// ```
/// use passage_core::clock::{Clock, SystemClock};
/// assert!(SystemClock.unix_now() > 1_700_000_000);
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current monotonic instant.
    fn now(&self) -> Instant;
    /// The current wall-clock time, in whole seconds since the Unix epoch.
    fn unix_now(&self) -> i64;
}

/// The real clocks of the machine (`Instant::now`, `SystemTime::now`).
///
/// ```
/// use passage_core::clock::{Clock, SystemClock};
/// let before = SystemClock.now();
/// assert!(SystemClock.now() >= before);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_now(&self) -> i64 {
        unix_seconds(SystemTime::now())
    }
}

fn unix_seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A clock that stands still until told to move: both readings start at the real time of its
/// creation and advance together by [`ManualClock::advance`]. Clones share one time.
///
/// ```
/// use std::time::Duration;
/// use passage_core::clock::{Clock, ManualClock};
/// let clock = ManualClock::new();
/// let shared = clock.clone();
/// let before = clock.now();
/// shared.advance(Duration::from_millis(250));
/// assert_eq!(clock.now() - before, Duration::from_millis(250));
/// ```
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

struct ManualInner {
    start: Instant,
    start_unix: SystemTime,
    offset_nanos: AtomicU64,
}

impl ManualClock {
    /// A clock reading the current real time, frozen there.
    ///
    /// ```
    /// let clock = passage_core::clock::ManualClock::new();
    /// assert_eq!(clock.elapsed(), std::time::Duration::ZERO);
    /// ```
    pub fn new() -> Self {
        Self {
            inner: Arc::new(ManualInner {
                start: Instant::now(),
                start_unix: SystemTime::now(),
                offset_nanos: AtomicU64::new(0),
            }),
        }
    }

    /// Moves both readings forward by `by`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let clock = passage_core::clock::ManualClock::new();
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(clock.elapsed(), Duration::from_secs(2));
    /// ```
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update never fails with a closure that always returns Some.
        let _ = self
            .inner
            .offset_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |old| {
                Some(old.saturating_add(nanos))
            });
    }

    /// How far the clock has been advanced since it was made.
    ///
    /// ```
    /// let clock = passage_core::clock::ManualClock::new();
    /// clock.advance(std::time::Duration::from_millis(5));
    /// assert_eq!(clock.elapsed().as_millis(), 5);
    /// ```
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.inner.offset_nanos.load(Ordering::SeqCst))
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("elapsed", &self.elapsed())
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.inner.start + self.elapsed()
    }

    fn unix_now(&self) -> i64 {
        unix_seconds(self.inner.start_unix + self.elapsed())
    }
}
