//! Users: create, read, update, delete, activate and deactivate, list.

use serde_json::{Map, Value};

use super::OpError;
use super::user_query::ListQuery;
use super::validate;
use crate::random::random_id;
use crate::store::records::{User, UserStatus, now};
use crate::store::{State, Store};

/// `user_metadata` as sent: absent (leave as is), `null` (clear) or an object.
pub(crate) type MetadataChange = Option<Option<Map<String, Value>>>;

/// Reads a `user_metadata` value: absent, `null` or an object.
pub(crate) fn metadata_change(value: Option<Value>, errors: &mut Vec<String>) -> MetadataChange {
    match value {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::Object(m)) => Some(Some(m)),
        Some(_) => {
            errors.push("user_metadata: must be an object".into());
            None
        }
    }
}

/// Adds a user; refuses a duplicate email, phone or ID. Checks before it changes anything.
pub(crate) fn insert(
    s: &mut State,
    id: Option<String>,
    email: String,
    phone: String,
    metadata: Option<Map<String, Value>>,
) -> Result<&mut User, OpError> {
    if s.user_by_email(&email).is_some() {
        return Err(OpError::invalid(
            "email: a user with this email already exists.",
        ));
    }
    if s.user_by_phone(&phone).is_some() {
        return Err(OpError::invalid(
            "phone: a user with this phone number already exists.",
        ));
    }
    let id = id.unwrap_or_else(random_id);
    if s.user(&id).is_some() {
        return Err(OpError::invalid("id: a user with this ID already exists."));
    }
    let seq = s.next_seq();
    let mut user = User::new(id, email, phone, seq);
    user.user_metadata = metadata;
    s.users.push(user);
    let last = s.users.len() - 1;
    Ok(&mut s.users[last])
}

/// What a create or update asks for, as sent.
#[derive(Debug, Default)]
pub(crate) struct UserFields {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub user_metadata: Option<Value>,
}

/// Creates a user with an email and/or a phone.
pub(crate) fn create(store: &Store, fields: UserFields) -> Result<User, OpError> {
    let mut errors = Vec::new();
    if validate::non_blank(fields.email.as_deref()).is_none()
        && validate::non_blank(fields.phone.as_deref()).is_none()
    {
        errors.push("email: cannot be blank".into());
        errors.push("phone: cannot be blank".into());
    }
    let email = validate::email(fields.email.as_deref(), &mut errors);
    let phone = validate::phone(fields.phone.as_deref(), &mut errors);
    let metadata = metadata_change(fields.user_metadata, &mut errors);
    validate::finish(&errors)?;
    store.mutate(|s| Ok(insert(s, None, email, phone, metadata.flatten())?.clone()))
}

/// A user by ID.
pub(crate) fn get(store: &Store, id: &str) -> Result<User, OpError> {
    store
        .read(|s| s.user(id).cloned())
        .ok_or(OpError::UserNotFound)
}

/// Changes a user's email, phone and/or metadata (blank fields stay as they are).
pub(crate) fn update(store: &Store, id: &str, fields: UserFields) -> Result<User, OpError> {
    // An unknown user is a 404 before the body is judged.
    get(store, id)?;
    let mut errors = Vec::new();
    let email = validate::email(fields.email.as_deref(), &mut errors);
    let phone = validate::phone(fields.phone.as_deref(), &mut errors);
    let metadata = metadata_change(fields.user_metadata, &mut errors);
    validate::finish(&errors)?;
    store.mutate(|s| {
        if !email.is_empty() && s.user_by_email(&email).is_some_and(|u| u.id != id) {
            return Err(OpError::invalid(
                "email: a user with this email already exists.",
            ));
        }
        if !phone.is_empty() && s.user_by_phone(&phone).is_some_and(|u| u.id != id) {
            return Err(OpError::invalid(
                "phone: a user with this phone number already exists.",
            ));
        }
        let u = s.user_mut(id).ok_or(OpError::UserNotFound)?;
        if !email.is_empty() && email != u.email {
            u.email = email;
            u.email_verified = false;
        }
        if !phone.is_empty() && phone != u.phone {
            u.phone = phone;
            u.phone_verified = false;
        }
        if let Some(m) = metadata {
            u.user_metadata = m;
        }
        u.updated_at = now();
        Ok(u.clone())
    })
}

/// Deletes a user and its magic links.
pub(crate) fn delete(store: &Store, id: &str) -> Result<(), OpError> {
    store.mutate(|s| {
        let at = s
            .users
            .iter()
            .position(|u| u.id == id)
            .ok_or(OpError::UserNotFound)?;
        s.users.remove(at);
        s.links.retain(|l| l.user_id != id);
        Ok(())
    })
}

/// Activates or deactivates a user.
pub(crate) fn set_status(store: &Store, id: &str, status: UserStatus) -> Result<User, OpError> {
    store.mutate(|s| {
        let u = s.user_mut(id).ok_or(OpError::UserNotFound)?;
        if u.status != status {
            u.status = status;
            u.updated_at = now();
        }
        Ok(u.clone())
    })
}

/// Revokes a user's refresh tokens: the emulator issues none, so this only checks the user.
pub(crate) fn revoke_tokens(store: &Store, id: &str) -> Result<(), OpError> {
    get(store, id).map(drop)
}

/// One page of users matching `query`, and how many match in all.
pub(crate) fn list(store: &Store, query: &ListQuery) -> (i64, Vec<User>) {
    store.read(|s| {
        let mut hits: Vec<&User> = s.users.iter().filter(|u| query.matches(u)).collect();
        hits.sort_by(|a, b| query.compare(a, b));
        let total = i64::try_from(hits.len()).unwrap_or(i64::MAX);
        let start =
            usize::try_from((query.page - 1).saturating_mul(query.limit)).unwrap_or(usize::MAX);
        let page = hits
            .into_iter()
            .skip(start)
            .take(usize::try_from(query.limit).unwrap_or(0))
            .cloned()
            .collect();
        (total, page)
    })
}

/// Forgets every user, link and message (the app and its keys stay).
pub(crate) fn reset(store: &Store) {
    let _ = store.mutate(|s| {
        s.users.clear();
        s.links.clear();
        s.inbox.clear();
        Ok::<_, OpError>(())
    });
}

/// Records a sign-in on `user` at `t`: active, one more login, the last login time.
pub(crate) fn signed_in(user: &mut User, t: time::OffsetDateTime) {
    user.status = UserStatus::Active;
    user.login_count = user.login_count.saturating_add(1);
    user.last_login_at = Some(t);
    user.updated_at = t;
}
