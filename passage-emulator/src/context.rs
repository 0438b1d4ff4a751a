//! What every operation and handler shares: the store, the origin, the faults, the counters and
//! the limits.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::faults::Faults;
use crate::limits::{Limits, RateLimiter};
use crate::relying_party::RelyingParty;
use crate::store::Store;

/// Requests served, per kind.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub jwks_requests: AtomicU64,
    pub api_requests: AtomicU64,
}

/// The emulator's shared context.
pub(crate) struct Context {
    pub store: Arc<Store>,
    /// The base URL serving everything, e.g. `http://127.0.0.1:41234`.
    pub origin: String,
    /// Where browsers open the login page, e.g. `http://localhost:41234` (magic links point
    /// there; passkeys are made for it).
    pub login_origin: String,
    /// The WebAuthn relying party and its ceremonies in progress; `None` when the login page is
    /// on an IP address (no RP ID possible: magic links only).
    pub relying_party: Option<RelyingParty>,
    pub faults: Arc<Faults>,
    pub counters: Counters,
    pub limits: Limits,
    pub login_limiter: RateLimiter,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}
