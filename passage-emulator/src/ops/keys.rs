//! Key rotation.

use time::OffsetDateTime;

use super::OpError;
use crate::store::Store;
use crate::store::keys::SigningKey;

/// A rotation's outcome: the new key ID and the previous one.
#[derive(Debug)]
pub(crate) struct Rotated {
    pub kid: String,
    pub previous_kid: String,
}

/// Generates a new signing key (blocking: tens of milliseconds) and makes it current; the
/// previous key stays published for `grace_seconds` (default: the session length; 0 drops it).
pub(crate) fn rotate(store: &Store, grace_seconds: Option<i64>) -> Result<Rotated, OpError> {
    let key = SigningKey::generate()?;
    store.mutate(|s| {
        let t = OffsetDateTime::now_utc().unix_timestamp();
        let grace = grace_seconds.unwrap_or(s.app.session_length).max(0);
        s.keys.retain(|k| k.retire_at.is_none_or(|r| r > t));
        let previous_kid = s.keys.last().map(|k| k.kid.clone()).unwrap_or_default();
        for k in &mut s.keys {
            if k.retire_at.is_none() {
                k.retire_at = Some(t.saturating_add(grace));
            }
        }
        if grace == 0 {
            s.keys.clear();
        }
        let kid = key.kid.clone();
        s.keys.push(key);
        Ok(Rotated { kid, previous_kid })
    })
}
