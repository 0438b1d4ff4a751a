//! Passkeys: registering one (a new user's first, or another for a signed-in user) and signing in
//! with one, as Passage's hosted login did. Every check of a ceremony is webauthn-rs's (see
//! [`crate::relying_party`]); this module decides whose ceremony it is and what it changes.
//!
//! Rules kept here, on top of webauthn-rs's:
//! - a ceremony's state is taken once: a replayed response finds nothing;
//! - the user handle a discoverable credential returns must be the handle of the user who owns
//!   the credential;
//! - a credential ID already registered (to anyone) is refused;
//! - a revoked (deleted) credential is unknown, and said so.

use std::net::IpAddr;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rs::prelude::{
    CreationChallengeResponse, CredentialID, Passkey, PublicKeyCredential,
    RegisterPublicKeyCredential, RequestChallengeResponse, Uuid, WebauthnError,
};

use super::events::{self, Client};
use super::{OpError, tokens, users, validate};
use webauthn_rs_core::proto::ResidentKeyRequirement;

use crate::context::Context;
use crate::random::random_id;
use crate::relying_party::{self as rp_data, Ceremony, Missing, RelyingParty};
use crate::store::State;
use crate::store::records::{Channel, Device, DeviceKind, EventAction, User, UserStatus, now};

/// Where a sign-in that starts from an identifier goes next.
#[derive(Debug)]
pub(crate) enum SignInStart {
    /// Ask the authenticator: the ceremony's ID and the options for `navigator.credentials.get`.
    Passkey {
        ceremony: String,
        options: Box<RequestChallengeResponse>,
    },
    /// Nobody has this identifier: offer to register a passkey (or send a magic link).
    Register,
    /// The user has no passkey: sign in with a magic link.
    MagicLink,
}

/// A registration started: the ceremony's ID and the options for `navigator.credentials.create`.
#[derive(Debug)]
pub(crate) struct RegistrationStart {
    pub ceremony: String,
    pub options: Box<CreationChallengeResponse>,
}

/// A ceremony finished.
#[derive(Debug)]
pub(crate) struct Finished {
    /// A new auth token: `None` when a signed-in user added a passkey (they keep theirs).
    pub token: Option<String>,
    /// Where to send the browser.
    pub redirect_url: String,
}

/// The standard base64url text of a credential ID, as the API shows it.
pub(crate) fn credential_id_text(id: &CredentialID) -> String {
    URL_SAFE_NO_PAD.encode(id.as_slice())
}

fn refused(e: &WebauthnError) -> OpError {
    tracing::debug!(error = %e, "passkey ceremony refused");
    OpError::PasskeyRefused(e.to_string())
}

fn missing(m: Missing) -> OpError {
    OpError::CeremonyMissing(m)
}

/// A keyless ceremony start: passkeys on, and the client within the login page's rate limit.
fn admit(ctx: &Context, ip: IpAddr, at: Instant) -> Result<&RelyingParty, OpError> {
    let rp = relying_party(ctx)?;
    ctx.login_limiter
        .check(ip, at)
        .map_err(OpError::RateLimited)?;
    Ok(rp)
}

/// The relying party, unless the login page is on an IP address (no RP ID possible).
fn relying_party(ctx: &Context) -> Result<&RelyingParty, OpError> {
    ctx.relying_party
        .as_ref()
        .ok_or(OpError::PasskeysUnavailable)
}

/// Registration options that ask for a discoverable credential (a passkey the authenticator
/// can offer without an identifier), which webauthn-rs's passkey registration leaves
/// "discouraged".
fn discoverable(mut options: CreationChallengeResponse) -> Box<CreationChallengeResponse> {
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
    Box::new(options)
}

/// The user's registered passkeys (seeded devices have none).
fn passkeys(user: &User) -> Vec<Passkey> {
    user.devices
        .iter()
        .filter_map(|d| d.passkey.clone())
        .collect()
}

/// Whether any user already has this credential.
fn credential_taken(s: &State, cred_id: &str) -> bool {
    s.users
        .iter()
        .any(|u| u.devices.iter().any(|d| d.cred_id == cred_id))
}

/// Starts a sign-in: with `identifier`, for that user's passkeys (or says what to do instead);
/// without, a discoverable-credential ceremony.
pub(crate) fn start_sign_in(
    ctx: &Context,
    ip: IpAddr,
    identifier: Option<&str>,
    at: Instant,
) -> Result<SignInStart, OpError> {
    let rp = admit(ctx, ip, at)?;
    let Some(raw) = validate::non_blank(identifier) else {
        let (options, state) = rp
            .webauthn()
            .start_discoverable_authentication()
            .map_err(|e| refused(&e))?;
        let ceremony = rp.begin(Ceremony::Discoverable(state), at);
        return Ok(SignInStart::Passkey {
            ceremony,
            options: Box::new(options),
        });
    };
    let (channel, identifier) = validate::identifier(raw)?;
    let found = ctx.store.read(|s| {
        let user = match channel {
            Channel::Email => s.user_by_email(&identifier),
            Channel::Phone => s.user_by_phone(&identifier),
        };
        user.map(|u| (u.id.clone(), passkeys(u)))
    });
    match found {
        None => Ok(SignInStart::Register),
        Some((_, keys)) if keys.is_empty() => Ok(SignInStart::MagicLink),
        Some((user_id, keys)) => {
            let (options, state) = rp
                .webauthn()
                .start_passkey_authentication(&keys)
                .map_err(|e| refused(&e))?;
            let ceremony = rp.begin(Ceremony::Identified { state, user_id }, at);
            Ok(SignInStart::Passkey {
                ceremony,
                options: Box::new(options),
            })
        }
    }
}

/// Starts the registration of a new user's first passkey. Refused if the identifier is taken
/// (they sign in instead) or the login page has created as many users as it may.
pub(crate) fn start_sign_up(
    ctx: &Context,
    ip: IpAddr,
    identifier: &str,
    at: Instant,
) -> Result<RegistrationStart, OpError> {
    let rp = admit(ctx, ip, at)?;
    let (channel, identifier) = validate::identifier(identifier)?;
    let limits = ctx.limits;
    ctx.store.read(|s| {
        let exists = match channel {
            Channel::Email => s.user_by_email(&identifier).is_some(),
            Channel::Phone => s.user_by_phone(&identifier).is_some(),
        };
        if exists {
            return Err(OpError::IdentifierTaken);
        }
        let made = s.users.iter().filter(|u| u.from_login_page).count();
        if made >= limits.login_page_users {
            return Err(OpError::LoginPageFull(limits.login_page_users));
        }
        Ok(())
    })?;
    let handle = Uuid::new_v4();
    let (options, state) = rp
        .webauthn()
        .start_passkey_registration(handle, &identifier, &identifier, None)
        .map_err(|e| refused(&e))?;
    let ceremony = rp.begin(
        Ceremony::SignUp {
            state,
            channel,
            identifier,
            handle,
        },
        at,
    );
    Ok(RegistrationStart {
        ceremony,
        options: discoverable(options),
    })
}

/// After a magic-link sign-in, a ticket that lets the page offer the user a passkey (valid until
/// it expires or the user has one): `None` if the user already has one, or passkeys are off.
pub(crate) fn offer(ctx: &Context, user_id: &str, target: &str, at: Instant) -> Option<String> {
    let rp = ctx.relying_party.as_ref()?;
    let has_passkey = ctx.store.read(|s| s.user(user_id).is_none_or(has_passkey));
    (!has_passkey).then(|| {
        rp.begin(
            Ceremony::Offer {
                user_id: user_id.to_owned(),
                target: target.to_owned(),
            },
            at,
        )
    })
}

/// Starts adding a passkey for the user an offer ticket names. Refused once the user has one
/// (so an offer adds at most one), for an inactive user, and beyond the per-client rate limit.
pub(crate) fn start_add(
    ctx: &Context,
    ip: IpAddr,
    ticket: &str,
    at: Instant,
) -> Result<RegistrationStart, OpError> {
    let rp = admit(ctx, ip, at)?;
    let (user_id, target) = rp.offer(ticket, at).map_err(missing)?;
    let found = ctx.store.read(|s| {
        let user = s.user(&user_id).ok_or(OpError::UserNotFound)?;
        check_can_add(user)?;
        let name = if user.email.is_empty() {
            user.phone.clone()
        } else {
            user.email.clone()
        };
        Ok::<_, OpError>((user.webauthn_handle, name))
    })?;
    let (handle, name) = found;
    // The handle is made (and saved) once, on the user's first passkey.
    let handle = match handle {
        Some(handle) => handle,
        None => ctx.store.mutate(|s| {
            let user = s.user_mut(&user_id).ok_or(OpError::UserNotFound)?;
            Ok::<_, OpError>(*user.webauthn_handle.get_or_insert_with(Uuid::new_v4))
        })?,
    };
    let (options, state) = rp
        .webauthn()
        .start_passkey_registration(handle, &name, &name, None)
        .map_err(|e| refused(&e))?;
    let ceremony = rp.begin(
        Ceremony::AddPasskey {
            state,
            user_id,
            target,
        },
        at,
    );
    Ok(RegistrationStart {
        ceremony,
        options: discoverable(options),
    })
}

/// Whether the user has a passkey an authenticator holds (seeded devices do not count).
fn has_passkey(user: &User) -> bool {
    user.devices.iter().any(|d| d.passkey.is_some())
}

/// An offer adds a first passkey to an active user only.
fn check_can_add(user: &User) -> Result<(), OpError> {
    if user.status == UserStatus::Inactive {
        return Err(OpError::UserNotActive);
    }
    if has_passkey(user) {
        return Err(OpError::PasskeyRefused(
            "this account has a passkey already; sign in with it".into(),
        ));
    }
    Ok(())
}

/// A new device record for a registered passkey.
fn device(passkey: Passkey, registered: rp_data::Registered, t: time::OffsetDateTime) -> Device {
    let aaguid = registered.aaguid;
    let known = aaguid.and_then(crate::aaguids::lookup);
    Device {
        id: random_id(),
        cred_id: credential_id_text(passkey.cred_id()),
        friendly_name: known.map_or_else(|| "Passkey".to_owned(), |k| k.name.to_owned()),
        kind: DeviceKind::Passkey,
        created_at: t,
        updated_at: t,
        last_login_at: None,
        usage_count: 0,
        icon_light: known.map(|k| k.icon_light.to_owned()),
        icon_dark: known.map(|k| k.icon_dark.to_owned()),
        passkey: Some(passkey),
        aaguid,
        sign_count: registered.sign_count,
    }
}

/// Finishes a registration: a new user with their first passkey (signed in), or another
/// passkey for a signed-in user.
pub(crate) fn finish_registration(
    ctx: &Context,
    ceremony: &str,
    credential: &RegisterPublicKeyCredential,
    client: &Client,
    at: Instant,
) -> Result<Finished, OpError> {
    let rp = relying_party(ctx)?;
    let taken = rp.take(ceremony, at).map_err(missing)?;
    let (state, who) = match taken {
        Ceremony::SignUp {
            state,
            channel,
            identifier,
            handle,
        } => (state, Err((channel, identifier, handle))),
        Ceremony::AddPasskey {
            state,
            user_id,
            target,
        } => (state, Ok((user_id, target))),
        _ => return Err(missing(Missing::Unknown)),
    };
    let passkey = rp
        .webauthn()
        .finish_passkey_registration(credential, &state)
        .map_err(|e| refused(&e))?;
    let registered = rp_data::registered(credential);
    let limits = ctx.limits;
    ctx.store.mutate(|s| {
        let cred_id = credential_id_text(passkey.cred_id());
        if credential_taken(s, &cred_id) {
            return Err(OpError::CredentialTaken);
        }
        let t = now();
        match who {
            Ok((user_id, target)) => {
                let user = s.user(&user_id).ok_or(OpError::UserNotFound)?;
                // Checked again: another ceremony of the same offer may have finished first.
                check_can_add(user)?;
                let user = s.user_mut(&user_id).ok_or(OpError::UserNotFound)?;
                user.devices.push(device(passkey, registered, t));
                user.updated_at = t;
                let event = events::completed("passkey_register", EventAction::Register, client, t);
                events::record(user, event, limits.recent_events);
                let target = s.app.safe_redirect(&target);
                Ok(Finished {
                    token: None,
                    redirect_url: target,
                })
            }
            Err((channel, identifier, handle)) => {
                let made = s.users.iter().filter(|u| u.from_login_page).count();
                if made >= limits.login_page_users {
                    return Err(OpError::LoginPageFull(limits.login_page_users));
                }
                let (email, phone) = match channel {
                    Channel::Email => (identifier, String::new()),
                    Channel::Phone => (String::new(), identifier),
                };
                // Signed before anything changes: an error leaves the state as it was.
                let user_id = random_id();
                let token = tokens::sign(s, &ctx.origin, &user_id, None, None)?;
                users::insert(s, Some(user_id.clone()), email, phone, None)
                    .map_err(|_| OpError::IdentifierTaken)?;
                let redirect_url = s.app.redirect_url.clone();
                let user = s.user_mut(&user_id).ok_or(OpError::UserNotFound)?;
                user.from_login_page = true;
                user.webauthn_handle = Some(handle);
                let mut device = device(passkey, registered, t);
                device.usage_count = 1;
                device.last_login_at = Some(t);
                user.devices.push(device);
                users::signed_in(user, t);
                let register =
                    events::completed("passkey_register", EventAction::Register, client, t);
                events::record(user, register, limits.recent_events);
                let login = events::completed("passkey_login", EventAction::Login, client, t);
                events::record(user, login, limits.recent_events);
                Ok(Finished {
                    token: Some(token),
                    redirect_url,
                })
            }
        }
    })
}

/// Finishes a sign-in with a passkey: checks it against the credential the user registered,
/// updates its counter and usage, records the login and mints a token.
pub(crate) fn finish_sign_in(
    ctx: &Context,
    ceremony: &str,
    credential: &PublicKeyCredential,
    client: &Client,
    at: Instant,
) -> Result<Finished, OpError> {
    let rp = relying_party(ctx)?;
    let taken = rp.take(ceremony, at).map_err(missing)?;
    let cred_id = URL_SAFE_NO_PAD.encode(credential.get_credential_id());
    // Whose credential this is, from the store (never from the response alone).
    let (user_id, device_id, handle, passkey) = ctx
        .store
        .read(|s| {
            s.users.iter().find_map(|u| {
                u.devices.iter().find_map(|d| {
                    let passkey = d.passkey.as_ref().filter(|_| d.cred_id == cred_id)?;
                    Some((
                        u.id.clone(),
                        d.id.clone(),
                        u.webauthn_handle,
                        passkey.clone(),
                    ))
                })
            })
        })
        .ok_or(OpError::PasskeyUnknown)?;
    // The signature check runs outside the store's lock.
    let result = match taken {
        Ceremony::Identified {
            state,
            user_id: expected,
        } => {
            if expected != user_id {
                return Err(OpError::PasskeyUnknown);
            }
            // webauthn-rs reads no user handle here: one sent must still be the account's.
            if let Some(sent) = credential.get_user_unique_id()
                && handle.is_none_or(|handle| handle.as_bytes()[..] != *sent)
            {
                return Err(OpError::PasskeyRefused(
                    "the passkey's user handle is not its account's".into(),
                ));
            }
            rp.webauthn()
                .finish_passkey_authentication(credential, &state)
                .map_err(|e| refused(&e))?
        }
        Ceremony::Discoverable(state) => {
            let (returned, _) = rp
                .webauthn()
                .identify_discoverable_authentication(credential)
                .map_err(|e| refused(&e))?;
            if handle != Some(returned) {
                return Err(OpError::PasskeyRefused(
                    "the passkey's user handle is not its account's".into(),
                ));
            }
            rp.webauthn()
                .finish_discoverable_authentication_v2(credential, state, &passkey)
                .map_err(|e| refused(&e))?
        }
        _ => return Err(missing(Missing::Unknown)),
    };
    if !result.user_verified() {
        return Err(OpError::PasskeyRefused(
            "user verification is required".into(),
        ));
    }
    let limits = ctx.limits;
    ctx.store.mutate(|s| {
        // Checked again under the lock: the passkey may have been revoked meanwhile.
        let user = s.user(&user_id).ok_or(OpError::PasskeyUnknown)?;
        let device = user
            .devices
            .iter()
            .find(|d| d.id == device_id)
            .ok_or(OpError::PasskeyUnknown)?;
        // The counter stored now, not the one a ceremony saw at its start: two ceremonies
        // answered with one counter value cannot both pass.
        let counter = result.counter();
        if (counter > 0 || device.sign_count > 0) && counter <= device.sign_count {
            return Err(OpError::PasskeyRefused(
                "the signature counter went backwards: this passkey may have been cloned".into(),
            ));
        }
        if user.status == UserStatus::Inactive {
            return Err(OpError::UserNotActive);
        }
        let token = tokens::sign(s, &ctx.origin, &user_id, None, None)?;
        let redirect_url = s.app.redirect_url.clone();
        let t = now();
        let user = s.user_mut(&user_id).ok_or(OpError::PasskeyUnknown)?;
        if let Some(device) = user.devices.iter_mut().find(|d| d.id == device_id) {
            if let Some(stored) = device.passkey.as_mut() {
                stored.update_credential(&result);
            }
            device.sign_count = device.sign_count.max(result.counter());
            device.usage_count = device.usage_count.saturating_add(1);
            device.last_login_at = Some(t);
            device.updated_at = t;
        }
        users::signed_in(user, t);
        let event = events::completed("passkey_login", EventAction::Login, client, t);
        events::record(user, event, limits.recent_events);
        Ok(Finished {
            token: Some(token),
            redirect_url,
        })
    })
}
