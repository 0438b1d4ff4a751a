//! The WebAuthn relying party behind the login page's passkeys, and the ceremonies in progress.
//!
//! The checks of a ceremony (challenge, origin, RP ID hash, user verification, signature, the
//! signature counter) are webauthn-rs's; this module holds its configuration and the server-side
//! state each ceremony needs between its start and its finish. That state lives in memory only:
//! it is single use (taken, never read, by the finish), expires after a short time, and the table
//! is bounded, so a flood of starts cannot grow the emulator.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_cbor_2::Value;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyAuthentication, PasskeyRegistration,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};
use webauthn_rs_core::internals::AuthenticatorData;
use webauthn_rs_core::proto::Registration;

use crate::error::EmulatorError;
use crate::store::records::Channel;

/// The WebAuthn relying party: its ID and the origins whose ceremonies it accepts.
pub(crate) struct RelyingParty {
    webauthn: Webauthn,
    rp_id: String,
    pending: Mutex<HashMap<String, Pending>>,
    ttl: Duration,
    capacity: usize,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("rp_id", &self.rp_id)
            .finish_non_exhaustive()
    }
}

/// What a ceremony in progress is for, with the state its finish needs.
pub(crate) enum Ceremony {
    /// Somebody new registers a passkey, which creates their user.
    SignUp {
        state: PasskeyRegistration,
        channel: Channel,
        identifier: String,
        handle: Uuid,
    },
    /// A signed-in user adds a passkey.
    AddPasskey {
        state: PasskeyRegistration,
        user_id: String,
        target: String,
    },
    /// A sign-in where the authenticator names the user (a discoverable credential).
    Discoverable(DiscoverableAuthentication),
    /// A sign-in with the passkeys of the user who typed their identifier.
    Identified {
        state: PasskeyAuthentication,
        user_id: String,
    },
    /// The offer, right after a magic-link sign-in, to add a passkey: it lets the page start
    /// [`Ceremony::AddPasskey`] for this user until it expires.
    Offer { user_id: String, target: String },
}

struct Pending {
    ceremony: Ceremony,
    expires: Instant,
}

/// Why a ceremony's ID was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// Never started, already finished, or dropped to make room.
    Unknown,
    /// Started, but too long ago.
    Expired,
}

/// The longest a ceremony may take (`EmulatorBuilder::passkey_timeout`).
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

impl RelyingParty {
    /// A relying party for `rp_id` (a domain, e.g. `localhost`) accepting ceremonies from
    /// `origin` (e.g. `http://localhost:8090`) and from the `extra` origins whose host is the RP
    /// ID or under it (others are left out).
    pub(crate) fn new(
        rp_id: &str,
        rp_name: &str,
        origin: &str,
        extra: &[&str],
        ttl: Duration,
        capacity: usize,
    ) -> Result<Self, EmulatorError> {
        let invalid = |what: String| EmulatorError::Config(what);
        if ttl > MAX_TIMEOUT {
            return Err(invalid(format!(
                "passkey timeout {ttl:?} is longer than the most allowed, {MAX_TIMEOUT:?}"
            )));
        }
        let url = Url::parse(origin)
            .map_err(|e| invalid(format!("passkey origin {origin:?} is not a URL: {e}")))?;
        let mut builder = WebauthnBuilder::new(rp_id, &url)
            .map_err(|_| {
                invalid(format!(
                    "passkey RP ID {rp_id:?} must be a domain that is the host of {origin:?} or a \
                     parent of it (an IP address cannot be an RP ID)"
                ))
            })?
            .rp_name(rp_name)
            .timeout(ttl);
        for other in extra {
            let Ok(other) = Url::parse(other) else {
                continue;
            };
            let under_rp_id = other
                .domain()
                .is_some_and(|d| d == rp_id || d.ends_with(&format!(".{rp_id}")));
            if under_rp_id && other.origin() != url.origin() {
                builder = builder.append_allowed_origin(&other);
            }
        }
        let webauthn = builder
            .build()
            .map_err(|e| invalid(format!("passkey relying party refused: {e}")))?;
        Ok(Self {
            webauthn,
            rp_id: rp_id.to_owned(),
            pending: Mutex::new(HashMap::new()),
            ttl,
            capacity: capacity.max(1),
        })
    }

    /// webauthn-rs's relying party, which runs every check of a ceremony.
    pub(crate) fn webauthn(&self) -> &Webauthn {
        &self.webauthn
    }

    /// Keeps a ceremony's state until its finish (or its expiry) and returns its ID. When the
    /// table is full, expired ceremonies and then the oldest are dropped.
    pub(crate) fn begin(&self, ceremony: Ceremony, now: Instant) -> String {
        let id = crate::random::random_string(32);
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pending.len() >= self.capacity {
            pending.retain(|_, p| now < p.expires);
        }
        while pending.len() >= self.capacity {
            let oldest = pending
                .iter()
                .min_by_key(|(_, p)| p.expires)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(oldest) => pending.remove(&oldest),
                None => break,
            };
        }
        pending.insert(
            id.clone(),
            Pending {
                ceremony,
                expires: now.checked_add(self.ttl).unwrap_or(now),
            },
        );
        id
    }

    /// Takes a ceremony's state: a second take of the same ID finds nothing (challenges are
    /// single use), and one past its expiry is refused.
    pub(crate) fn take(&self, id: &str, now: Instant) -> Result<Ceremony, Missing> {
        let taken = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
        match taken {
            None => Err(Missing::Unknown),
            Some(p) if now >= p.expires => Err(Missing::Expired),
            Some(p) => Ok(p.ceremony),
        }
    }

    /// The user and destination of an offer ticket, which stays valid until it expires (a
    /// cancelled passkey prompt may be tried again).
    pub(crate) fn offer(&self, id: &str, now: Instant) -> Result<(String, String), Missing> {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match pending.get(id) {
            Some(p) if now >= p.expires => Err(Missing::Expired),
            Some(Pending {
                ceremony: Ceremony::Offer { user_id, target },
                ..
            }) => Ok((user_id.clone(), target.clone())),
            _ => Err(Missing::Unknown),
        }
    }

    /// Ceremonies in progress (expired ones included until they are dropped).
    pub(crate) fn in_progress(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// What a verified registration's authenticator data says besides the credential: the
/// authenticator model and the signature counter it starts from.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Registered {
    /// The AAGUID, unless absent or all zeros.
    pub aaguid: Option<Uuid>,
    /// The signature counter at registration (0 for authenticators that keep none).
    pub sign_count: u32,
}

/// Reads a registration's authenticator data with webauthn-rs's own CBOR and authenticator-data
/// parsers. Call it after webauthn-rs has verified the registration.
pub(crate) fn registered(credential: &RegisterPublicKeyCredential) -> Registered {
    let parsed = serde_cbor_2::from_slice::<Value>(&credential.response.attestation_object)
        .ok()
        .and_then(|object| match object {
            Value::Map(entries) => {
                entries
                    .into_iter()
                    .find_map(|(key, value)| match (key, value) {
                        (Value::Text(key), Value::Bytes(bytes)) if key == "authData" => Some(bytes),
                        _ => None,
                    })
            }
            _ => None,
        })
        .and_then(|data| AuthenticatorData::<Registration>::try_from(data.as_slice()).ok());
    let Some(data) = parsed else {
        return Registered::default();
    };
    Registered {
        aaguid: data
            .acd
            .map(|acd| Uuid::from_bytes(acd.aaguid))
            .filter(|aaguid| !aaguid.is_nil()),
        sign_count: data.counter,
    }
}
