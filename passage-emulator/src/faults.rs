//! Fault injection: failures armed for the next requests of a target, or for the next saves.
//!
//! Pure state, shared by the HTTP middleware (JWKS and API faults) and the store's writer (save
//! faults).

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

/// What a fault applies to.
///
/// ```
/// use passage_emulator::FaultTarget;
/// assert_ne!(FaultTarget::Jwks, FaultTarget::Api);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultTarget {
    /// `GET /v1/apps/{app_id}/.well-known/jwks.json`.
    Jwks,
    /// Every other `/v1/...` request (the management and auth API).
    Api,
    /// Writes of the data file (only with a data file): a slow or failing disk.
    Save,
}

/// How a faulted request (or save) fails.
///
/// ```
/// use std::time::Duration;
/// use passage_emulator::FaultMode;
/// let slow = FaultMode::Hang(Duration::from_secs(5));
/// assert_ne!(slow, FaultMode::Garbage);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultMode {
    /// Answer this error status (400–599) with a Passage error body; a save fails.
    Status(u16),
    /// Wait this long, then answer 504; a save waits this long before writing. Clearing the
    /// faults ends every hang at once.
    Hang(Duration),
    /// Answer 200 with a body that is not JSON (not for saves).
    Garbage,
    /// Answer 200 with 10 MB of valid JSON (not for saves).
    Huge,
}

/// A fault armed for the next `count` requests (or saves) of a target.
///
/// ```
/// use passage_emulator::{Fault, FaultMode, FaultTarget};
/// let fault = Fault::new(FaultTarget::Jwks, FaultMode::Status(503))
///     .count(2)
///     .retry_after(7);
/// assert_eq!(fault.target, FaultTarget::Jwks);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// What it applies to.
    pub target: FaultTarget,
    /// How many requests (or saves) it applies to.
    pub count: u32,
    /// How they fail.
    pub mode: FaultMode,
    /// A `Retry-After` header (seconds) on status answers.
    pub retry_after: Option<u64>,
}

impl Fault {
    /// A fault for the next request (or save) of `target`.
    pub fn new(target: FaultTarget, mode: FaultMode) -> Self {
        Self {
            target,
            count: 1,
            mode,
            retry_after: None,
        }
    }

    /// Applies to the next `count` requests instead of one (0 disarms the target).
    #[must_use]
    pub fn count(mut self, count: u32) -> Self {
        self.count = count;
        self
    }

    /// Adds `Retry-After: seconds` to status answers.
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Why the fault cannot be armed, if it cannot.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        match self.mode {
            FaultMode::Status(s) if !(400..=599).contains(&s) => {
                Some("status: must be an error status (400 to 599).")
            }
            FaultMode::Garbage | FaultMode::Huge if self.target == FaultTarget::Save => {
                Some("mode: a save fault is status or hang.")
            }
            _ => None,
        }
    }
}

/// Uses left of the armed faults, per target.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
/// let emulator = passage_emulator::Emulator::builder().start().await?;
/// assert_eq!(emulator.faults().jwks, 0);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultsRemaining {
    /// Uses left on the JWKS.
    pub jwks: u32,
    /// Uses left on the API.
    pub api: u32,
    /// Saves left to fail or slow down.
    pub save: u32,
}

/// The armed faults, one per target.
pub(crate) struct Faults {
    armed: Mutex<Vec<Fault>>,
    /// Bumped by every clear, so a hang taken before it ends.
    generation: watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            armed: Mutex::new(Vec::new()),
            generation: watch::Sender::new(0),
        }
    }
}

/// Resolves when the faults are cleared after the fault it came with was taken.
pub(crate) struct Cleared(watch::Receiver<u64>);

impl Cleared {
    pub(crate) async fn wait(mut self) {
        // An error means the sender is gone: the emulator is shutting down, so stop waiting.
        let _ = self.0.changed().await;
    }
}

impl Faults {
    fn armed(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.armed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms `fault`, replacing the one armed for its target.
    pub(crate) fn arm(&self, fault: Fault) {
        let mut armed = self.armed();
        armed.retain(|f| f.target != fault.target);
        if fault.count > 0 {
            armed.push(fault);
        }
    }

    /// Disarms everything and ends every hang in progress.
    pub(crate) fn clear(&self) {
        let mut armed = self.armed();
        armed.clear();
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
    }

    /// Takes one use of the fault armed for `target`, if any.
    pub(crate) fn take(&self, target: FaultTarget) -> Option<(Fault, Cleared)> {
        let mut armed = self.armed();
        let at = armed.iter().position(|f| f.target == target)?;
        let out = armed[at];
        armed[at].count -= 1;
        if armed[at].count == 0 {
            armed.remove(at);
        }
        // Subscribed under the lock that `clear` takes: a clear from now on is seen.
        Some((out, Cleared(self.generation.subscribe())))
    }

    pub(crate) fn remaining(&self) -> FaultsRemaining {
        let armed = self.armed();
        let of = |target| {
            armed
                .iter()
                .find(|f| f.target == target)
                .map_or(0, |f| f.count)
        };
        FaultsRemaining {
            jwks: of(FaultTarget::Jwks),
            api: of(FaultTarget::Api),
            save: of(FaultTarget::Save),
        }
    }
}
