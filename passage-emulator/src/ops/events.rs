//! A user's recent events: recorded by logins, or added by hand; only the newest are kept.

use time::OffsetDateTime;

use super::OpError;
use crate::random::random_id;
use crate::store::Store;
use crate::store::records::{Event, EventAction, EventStatus, SocialLoginType, User, now};

/// An event to add, as asked for.
#[derive(Debug)]
pub(crate) struct NewEvent {
    pub kind: String,
    pub action: EventAction,
    pub status: EventStatus,
    pub ip_addr: String,
    pub user_agent: String,
    pub social_login_type: Option<SocialLoginType>,
}

/// Appends `event` to the user's events, keeping the newest `keep`.
pub(crate) fn record(user: &mut User, event: Event, keep: usize) {
    user.events.push(event);
    let excess = user.events.len().saturating_sub(keep);
    user.events.drain(..excess);
}

/// Adds an event to a user's recent events.
pub(crate) fn add(
    store: &Store,
    user_id: &str,
    new: NewEvent,
    keep: usize,
) -> Result<Event, OpError> {
    store.mutate(|s| {
        let u = s.user_mut(user_id).ok_or(OpError::UserNotFound)?;
        let t = now();
        let event = Event {
            id: random_id(),
            kind: new.kind,
            created_at: t,
            completed_at: (new.status == EventStatus::Complete).then_some(t),
            ip_addr: new.ip_addr,
            status: new.status,
            user_agent_display: new.user_agent.clone(),
            user_agent: new.user_agent,
            action: new.action,
            social_login_type: new.social_login_type,
        };
        record(u, event.clone(), keep);
        Ok(event)
    })
}

/// Who signed in or registered: recorded in the user's recent events.
#[derive(Debug, Default)]
pub(crate) struct Client {
    pub ip: String,
    pub user_agent: String,
}

/// A browser's name for the event list, from its User-Agent.
fn display_agent(ua: &str) -> String {
    for name in ["Firefox", "Edg", "Chrome", "Safari", "curl", "reqwest"] {
        if ua.contains(name) {
            return if name == "Edg" {
                "Edge".into()
            } else {
                name.into()
            };
        }
    }
    if ua.is_empty() {
        "Unknown".into()
    } else {
        ua.chars().take(40).collect()
    }
}

/// A completed event of `client` at `t`, e.g. `magic_link_login` or `passkey_register`.
pub(crate) fn completed(
    kind: &str,
    action: EventAction,
    client: &Client,
    t: OffsetDateTime,
) -> Event {
    Event {
        id: random_id(),
        kind: kind.to_owned(),
        created_at: t,
        completed_at: Some(t),
        ip_addr: client.ip.clone(),
        status: EventStatus::Complete,
        user_agent: client.user_agent.clone(),
        user_agent_display: display_agent(&client.user_agent),
        action,
        social_login_type: None,
    }
}
