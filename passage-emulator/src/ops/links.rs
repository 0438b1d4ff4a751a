//! Magic links: creating them (from the API or the login page), exchanging them for a token,
//! expiring them, and the dev inbox they are "sent" to.
//!
//! What the keyless login page can make the store keep is bounded: used and expired links beyond
//! the most recent few are dropped, the inbox keeps its newest messages, the users the login page
//! creates are capped, and each client may send only so many login requests.

use std::net::IpAddr;
use std::time::Instant;

use time::Duration;

use super::validate::{self, non_blank};
use super::{OpError, events, tokens, users};
use crate::context::Context;
use crate::limits::Limits;
use crate::random::{random_id, random_string};
use crate::store::records::{
    Channel, EventAction, InboxMessage, LinkKind, MagicLink, UserStatus, now,
};
use crate::store::{State, Store};

/// Default magic link lifetime in minutes.
const DEFAULT_TTL_MINUTES: i64 = 15;
/// The longest magic link lifetime accepted: one year, in minutes.
pub(crate) const MAX_TTL_MINUTES: i64 = 525_600;
const LANGUAGES: &[&str] = &["de", "en", "es", "it", "pl", "pt", "zh"];

/// A magic link request, as sent (`CreateMagicLinkRequest`).
#[derive(Debug, Default)]
pub(crate) struct LinkRequest {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub user_id: Option<String>,
    pub channel: Option<String>,
    pub send: Option<bool>,
    pub kind: Option<String>,
    pub language: Option<String>,
    pub magic_link_path: Option<String>,
    pub redirect_url: Option<String>,
    pub ttl: Option<i64>,
}

/// Who asks for a link: the management API (with the key) or the keyless login page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Requester {
    Api,
    LoginPage,
}

/// A checked request.
struct Checked {
    channel: Option<Channel>,
    send: bool,
    kind: LinkKind,
    language: String,
    path: Option<String>,
    ttl: i64,
    email: String,
    phone: String,
    user_id: Option<String>,
    redirect_url: Option<String>,
}

fn check(p: LinkRequest) -> Result<Checked, OpError> {
    let mut errors = Vec::new();
    let channel = match non_blank(p.channel.as_deref()) {
        None => None,
        Some("email") => Some(Channel::Email),
        Some("phone") => Some(Channel::Phone),
        Some(_) => {
            errors.push("channel: must be a valid value".to_string());
            None
        }
    };
    let send = p.send.unwrap_or(false);
    if send && channel.is_none() && errors.is_empty() {
        errors.push("channel: cannot be blank".into());
    }
    let kind = match non_blank(p.kind.as_deref()) {
        None | Some("login") => LinkKind::Login,
        Some("verify_identifier") => LinkKind::VerifyIdentifier,
        Some(_) => {
            errors.push("type: must be a valid value".into());
            LinkKind::Login
        }
    };
    let language = non_blank(p.language.as_deref()).unwrap_or("").to_string();
    if !language.is_empty() && !LANGUAGES.contains(&language.as_str()) {
        errors.push("language: must be a valid value".into());
    }
    let path = non_blank(p.magic_link_path.as_deref()).map(str::to_string);
    if let Some(path) = &path {
        let relative = path.starts_with('/')
            && !path.starts_with("//")
            && !path.contains('\\')
            && !path.chars().any(char::is_control);
        if !relative {
            errors.push("magic_link_path: must be a relative url".into());
        }
    }
    let ttl = p.ttl.unwrap_or(DEFAULT_TTL_MINUTES);
    if ttl < 1 {
        errors.push("ttl: must be no less than 1".into());
    } else if ttl > MAX_TTL_MINUTES {
        errors.push(format!("ttl: must be no greater than {MAX_TTL_MINUTES}"));
    }
    let email = validate::email(p.email.as_deref(), &mut errors);
    let phone = validate::phone(p.phone.as_deref(), &mut errors);
    let user_id = non_blank(p.user_id.as_deref()).map(str::to_string);
    if email.is_empty() && phone.is_empty() && user_id.is_none() && errors.is_empty() {
        errors.push("email: cannot be blank".into());
        errors.push("phone: cannot be blank".into());
        errors.push("user_id: cannot be blank".into());
    }
    validate::finish(&errors)?;
    Ok(Checked {
        channel,
        send,
        kind,
        language,
        path,
        ttl,
        email,
        phone,
        user_id,
        redirect_url: non_blank(p.redirect_url.as_deref()).map(str::to_string),
    })
}

fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Phone => "phone",
    }
}

/// The channel asked for (else email if there is one, else phone) and its identifier.
fn pick(channel: Option<Channel>, email: &str, phone: &str) -> (Channel, String) {
    let channel = channel.unwrap_or(if email.is_empty() {
        Channel::Phone
    } else {
        Channel::Email
    });
    let identifier = match channel {
        Channel::Email => email,
        Channel::Phone => phone,
    };
    (channel, identifier.to_string())
}

/// Creates a magic link for the API (and the user, if missing); `send` puts it in the inbox.
pub(crate) fn create(ctx: &Context, request: LinkRequest) -> Result<MagicLink, OpError> {
    create_as(ctx, request, Requester::Api)
}

fn create_as(
    ctx: &Context,
    request: LinkRequest,
    requester: Requester,
) -> Result<MagicLink, OpError> {
    let c = check(request)?;
    let limits = ctx.limits;
    ctx.store.mutate(|s| {
        // Resolve (or create) the user and the identifier the link goes to.
        let (user_id, channel, identifier) = if let Some(uid) = &c.user_id {
            let u = s.user(uid).ok_or(OpError::UserNotFound)?;
            let (channel, identifier) = pick(c.channel, &u.email, &u.phone);
            if identifier.is_empty() {
                let name = channel_name(channel);
                return Err(OpError::invalid(format!(
                    "{name}: the user has no {name} identifier."
                )));
            }
            (uid.clone(), channel, identifier)
        } else {
            let (channel, identifier) = pick(c.channel, &c.email, &c.phone);
            if identifier.is_empty() {
                return Err(OpError::invalid(format!(
                    "{}: cannot be blank.",
                    channel_name(channel)
                )));
            }
            let existing = match channel {
                Channel::Email => s.user_by_email(&identifier),
                Channel::Phone => s.user_by_phone(&identifier),
            };
            let uid = match existing {
                Some(u) => u.id.clone(),
                None => {
                    if requester == Requester::LoginPage {
                        let made = s.users.iter().filter(|u| u.from_login_page).count();
                        if made >= limits.login_page_users {
                            return Err(OpError::LoginPageFull(limits.login_page_users));
                        }
                    }
                    let user = users::insert(s, None, c.email.clone(), c.phone.clone(), None)?;
                    user.from_login_page = requester == Requester::LoginPage;
                    user.id.clone()
                }
            };
            (uid, channel, identifier)
        };
        let secret = random_string(32);
        let url = match &c.path {
            Some(path) => {
                // The secret goes in the query, before any fragment (which never reaches a server).
                let (path, fragment) = path
                    .split_once('#')
                    .map_or((path.as_str(), ""), |(p, f)| (p, f));
                let sep = if path.contains('?') { '&' } else { '?' };
                let fragment = if fragment.is_empty() {
                    String::new()
                } else {
                    format!("#{fragment}")
                };
                format!(
                    "{}{path}{sep}psg_magic_link={secret}{fragment}",
                    s.app.auth_origin.trim_end_matches('/')
                )
            }
            None => format!("{}/?psg_magic_link={secret}", ctx.login_origin),
        };
        let created_at = now();
        let link = MagicLink {
            id: random_id(),
            secret,
            user_id,
            identifier,
            channel,
            kind: c.kind,
            redirect_url: c
                .redirect_url
                .clone()
                .unwrap_or_else(|| s.app.redirect_url.clone()),
            url,
            ttl_minutes: c.ttl,
            language: c.language.clone(),
            created_at,
            expires_at: created_at + Duration::minutes(c.ttl),
            activated: false,
        };
        s.links.push(link.clone());
        if c.send {
            deliver(s, &link, &limits);
        }
        prune(s, &limits);
        Ok(link)
    })
}

/// What the login form was sent: an email address or an E.164 phone number.
pub(crate) fn login(
    ctx: &Context,
    client: IpAddr,
    identifier: &str,
    at: Instant,
) -> Result<MagicLink, OpError> {
    let (channel, identifier) = validate::identifier(identifier)?;
    let request = match channel {
        Channel::Phone => LinkRequest {
            phone: Some(identifier),
            channel: Some("phone".into()),
            ..LinkRequest::default()
        },
        Channel::Email => LinkRequest {
            email: Some(identifier),
            channel: Some("email".into()),
            ..LinkRequest::default()
        },
    };
    ctx.login_limiter
        .check(client, at)
        .map_err(OpError::RateLimited)?;
    create_as(
        ctx,
        LinkRequest {
            send: Some(true),
            ..request
        },
        Requester::LoginPage,
    )
}

/// Puts a link in the inbox, keeping the newest messages.
fn deliver(s: &mut State, link: &MagicLink, limits: &Limits) {
    s.inbox.push(InboxMessage {
        id: random_id(),
        channel: channel_name(link.channel).to_string(),
        to: link.identifier.clone(),
        magic_link_id: link.id.clone(),
        url: link.url.clone(),
        created_at: crate::store::records::rfc3339(now()),
    });
    let excess = s.inbox.len().saturating_sub(limits.inbox_messages);
    s.inbox.drain(..excess);
}

/// Drops the oldest used or expired links beyond the most recent `limits.dead_links`.
fn prune(s: &mut State, limits: &Limits) {
    let t = now();
    let dead = s.links.iter().filter(|l| l.is_dead(t)).count();
    let mut excess = dead.saturating_sub(limits.dead_links);
    if excess > 0 {
        s.links.retain(|l| {
            let drop = excess > 0 && l.is_dead(t);
            if drop {
                excess -= 1;
            }
            !drop
        });
    }
}

/// A link exchanged: the auth token and where to send the user.
#[derive(Debug)]
pub(crate) struct Exchanged {
    pub token: String,
    pub user_id: String,
    pub redirect_url: String,
}

/// Exchanges a magic link secret (once, before expiry) for an auth token.
pub(crate) fn exchange(
    ctx: &Context,
    secret: &str,
    client: &events::Client,
) -> Result<Exchanged, OpError> {
    let limits = ctx.limits;
    ctx.store.mutate(|s| {
        let t = now();
        let at = s
            .links
            .iter()
            .position(|l| {
                aws_lc_rs::constant_time::verify_slices_are_equal(
                    l.secret.as_bytes(),
                    secret.as_bytes(),
                )
                .is_ok()
            })
            .ok_or(OpError::MagicLinkNotFound)?;
        let link = s.links[at].clone();
        if link.activated {
            return Err(OpError::MagicLinkUsed);
        }
        if t >= link.expires_at {
            return Err(OpError::MagicLinkExpired);
        }
        // Signed before anything changes: a failure leaves the link usable.
        let token = tokens::sign(s, &ctx.origin, &link.user_id, None, None)?;
        let user = s.user_mut(&link.user_id).ok_or(OpError::UserNotFound)?;
        if user.status == UserStatus::Inactive {
            return Err(OpError::UserNotActive);
        }
        match link.channel {
            Channel::Email if user.email == link.identifier => user.email_verified = true,
            Channel::Phone if user.phone == link.identifier => user.phone_verified = true,
            _ => {}
        }
        users::signed_in(user, t);
        let event = events::completed("magic_link_login", EventAction::Login, client, t);
        events::record(user, event, limits.recent_events);
        s.links[at].activated = true;
        prune(s, &limits);
        Ok(Exchanged {
            token,
            user_id: link.user_id,
            redirect_url: link.redirect_url,
        })
    })
}

/// Makes a link expired now.
pub(crate) fn expire(store: &Store, link_id: &str) -> Result<(), OpError> {
    store.mutate(|s| {
        let link = s
            .links
            .iter_mut()
            .find(|l| l.id == link_id)
            .ok_or(OpError::MagicLinkNotFound)?;
        link.expires_at = now() - Duration::seconds(1);
        Ok(())
    })
}

/// The dev inbox, oldest first.
pub(crate) fn inbox(store: &Store) -> Vec<InboxMessage> {
    store.read(|s| s.inbox.clone())
}
