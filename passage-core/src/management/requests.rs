//! Request bodies and query builders of the management API. Absent fields are omitted.

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::ManagementError;
use super::models::{Language, MagicLinkChannel, MagicLinkType};

/// The body of a create-user call: an email and/or a phone, and optional metadata.
///
/// ```
/// use passage_core::management::CreateUser;
/// let user = CreateUser::email("ada@example.com").phone("+15005550006");
/// assert_eq!(
///     serde_json::to_string(&user).unwrap(),
///     r#"{"email":"ada@example.com","phone":"+15005550006"}"#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[must_use]
pub struct CreateUser {
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_metadata: Option<Map<String, Value>>,
}

impl CreateUser {
    /// A user with this email address.
    pub fn email(email: impl Into<String>) -> Self {
        Self {
            email: Some(email.into()),
            ..Self::default()
        }
    }

    /// A user with this phone number (E.164, such as `+15005550006`).
    pub fn with_phone(phone: impl Into<String>) -> Self {
        Self {
            phone: Some(phone.into()),
            ..Self::default()
        }
    }

    /// Adds a phone number.
    pub fn phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = Some(phone.into());
        self
    }

    /// Sets custom metadata.
    pub fn metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.user_metadata = Some(metadata);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ManagementError> {
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        if blank(&self.email) && blank(&self.phone) {
            return Err(ManagementError::InvalidArgument(
                "a user needs an email or a phone",
            ));
        }
        Ok(())
    }
}

/// The body of an update-user call; only the fields set are sent.
///
/// ```
/// use passage_core::management::UpdateUser;
/// let update = UpdateUser::new().email("new@example.com");
/// assert_eq!(serde_json::to_string(&update).unwrap(), r#"{"email":"new@example.com"}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[must_use]
pub struct UpdateUser {
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_metadata: Option<Map<String, Value>>,
}

impl UpdateUser {
    /// An empty update.
    pub fn new() -> Self {
        Self::default()
    }

    /// Changes the email address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Changes the phone number.
    pub fn phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = Some(phone.into());
        self
    }

    /// Replaces the custom metadata.
    pub fn metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.user_metadata = Some(metadata);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ManagementError> {
        if self.email.is_none() && self.phone.is_none() && self.user_metadata.is_none() {
            return Err(ManagementError::InvalidArgument(
                "an update needs at least one field",
            ));
        }
        Ok(())
    }
}

/// A list filter: a value with one of the API's operators.
///
/// ```
/// use passage_core::management::Filter;
/// assert_eq!(Filter::like("@example.com").to_query(), "like:@example.com");
/// assert_eq!(Filter::eq("active").to_query(), "active");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    op: &'static str,
    value: String,
}

impl Filter {
    fn new(op: &'static str, value: impl ToString) -> Self {
        Self {
            op,
            value: value.to_string(),
        }
    }

    /// Equal to.
    pub fn eq(value: impl ToString) -> Self {
        Self::new("", value)
    }

    /// Not equal to.
    pub fn ne(value: impl ToString) -> Self {
        Self::new("ne", value)
    }

    /// Greater than.
    pub fn gt(value: impl ToString) -> Self {
        Self::new("gt", value)
    }

    /// Less than.
    pub fn lt(value: impl ToString) -> Self {
        Self::new("lt", value)
    }

    /// Contains (SQL `LIKE`).
    pub fn like(value: impl ToString) -> Self {
        Self::new("like", value)
    }

    /// Does not contain.
    pub fn not_like(value: impl ToString) -> Self {
        Self::new("not_like", value)
    }

    /// Whether the API reads this filter as written. The API takes a leading `name:` made of
    /// letters and underscores as an operator (or refuses it as an unknown one), and has no way
    /// to escape it; so an equality filter whose value starts that way (`"like:%"`,
    /// `"ne:nobody@x.example"`) cannot be expressed and is refused before sending. Values after an
    /// explicit operator are taken as they are.
    pub(crate) fn check(&self) -> Result<(), ManagementError> {
        if self.op.is_empty() && looks_like_operator(&self.value) {
            return Err(ManagementError::InvalidArgument(
                "an equality filter cannot start with an operator prefix such as \"like:\"",
            ));
        }
        Ok(())
    }

    /// The query value, `op:value` (or just `value` for equality).
    pub fn to_query(&self) -> String {
        if self.op.is_empty() {
            self.value.clone()
        } else {
            format!("{}:{}", self.op, self.value)
        }
    }
}

/// Whether `value` starts with what the API parses as an operator: letters and underscores,
/// then `:`.
fn looks_like_operator(value: &str) -> bool {
    value.split_once(':').is_some_and(|(prefix, _)| {
        !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
    })
}

/// Sort direction for [`ListUsers::order_by`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// The query of a list-users call: paging, filters and ordering.
///
/// ```
/// use passage_core::management::{Filter, ListUsers, Order};
/// let query = ListUsers::new()
///     .limit(100)
///     .status(Filter::eq("active"))
///     .identifier(Filter::like("@example.com"))
///     .order_by("created_at", Order::Desc);
/// assert!(query.to_query().contains(&("order_by".into(), "created_at:DESC".into())));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct ListUsers {
    page: Option<u32>,
    limit: Option<u32>,
    created_before: Option<i64>,
    order_by: Vec<(String, Order)>,
    filters: Vec<(&'static str, Filter)>,
}

impl ListUsers {
    /// All users, first page, the server's default page size.
    pub fn new() -> Self {
        Self::default()
    }

    /// The page number, from 1.
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// The page size (at most 500).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Anchors the listing at a Unix time: users created after it are not listed.
    pub fn created_before(mut self, unix_seconds: i64) -> Self {
        self.created_before = Some(unix_seconds);
        self
    }

    /// Adds a sort key (`id`, `email`, `phone`, `status`, `login_count`, `created_at`,
    /// `updated_at`, `last_login_at`).
    pub fn order_by(mut self, field: impl Into<String>, order: Order) -> Self {
        self.order_by.push((field.into(), order));
        self
    }

    fn filter(mut self, field: &'static str, filter: Filter) -> Self {
        self.filters.push((field, filter));
        self
    }

    /// Filters on email or phone.
    pub fn identifier(self, filter: Filter) -> Self {
        self.filter("identifier", filter)
    }

    /// Filters on the user ID.
    pub fn id(self, filter: Filter) -> Self {
        self.filter("id", filter)
    }

    /// Filters on the status (`active`, `inactive`, `pending`).
    pub fn status(self, filter: Filter) -> Self {
        self.filter("status", filter)
    }

    /// Filters on the sign-in count.
    pub fn login_count(self, filter: Filter) -> Self {
        self.filter("login_count", filter)
    }

    /// Filters on the creation time (`2006-01-02T15:04:05.000000Z` format).
    pub fn created_at(self, filter: Filter) -> Self {
        self.filter("created_at", filter)
    }

    /// Filters on the update time.
    pub fn updated_at(self, filter: Filter) -> Self {
        self.filter("updated_at", filter)
    }

    /// Filters on the last sign-in time.
    pub fn last_login_at(self, filter: Filter) -> Self {
        self.filter("last_login_at", filter)
    }

    pub(crate) fn page_number(&self) -> u32 {
        self.page.unwrap_or(1)
    }

    pub(crate) fn anchor(&self) -> Option<i64> {
        self.created_before
    }

    pub(crate) fn validate(&self) -> Result<(), ManagementError> {
        if self.page == Some(0) {
            return Err(ManagementError::InvalidArgument("page starts at 1"));
        }
        if self.limit.is_some_and(|l| l == 0 || l > 500) {
            return Err(ManagementError::InvalidArgument(
                "limit must be between 1 and 500",
            ));
        }
        self.filters
            .iter()
            .try_for_each(|(_, filter)| filter.check())
    }

    /// The query string pairs.
    pub fn to_query(&self) -> Vec<(String, String)> {
        let mut query = Vec::new();
        if let Some(page) = self.page {
            query.push(("page".into(), page.to_string()));
        }
        if let Some(limit) = self.limit {
            query.push(("limit".into(), limit.to_string()));
        }
        if let Some(created_before) = self.created_before {
            query.push(("created_before".into(), created_before.to_string()));
        }
        if !self.order_by.is_empty() {
            let order = self
                .order_by
                .iter()
                .map(|(field, order)| {
                    let dir = match order {
                        Order::Asc => "ASC",
                        Order::Desc => "DESC",
                    };
                    format!("{field}:{dir}")
                })
                .collect::<Vec<_>>()
                .join(",");
            query.push(("order_by".into(), order));
        }
        for (field, filter) in &self.filters {
            query.push(((*field).into(), filter.to_query()));
        }
        query
    }
}

/// The body of a create-magic-link call.
///
/// ```
/// use passage_core::management::{Language, MagicLinkChannel, MagicLinkRequest};
/// let request = MagicLinkRequest::email("ada@example.com")
///     .send(MagicLinkChannel::Email)
///     .language(Language::De)
///     .redirect_url("/dashboard")
///     .ttl_minutes(30);
/// let json = serde_json::to_value(&request).unwrap();
/// assert_eq!(json["channel"], "email");
/// assert_eq!(json["send"], true);
/// assert_eq!(json["ttl"], 30);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[must_use]
pub struct MagicLinkRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<MagicLinkChannel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    send: Option<bool>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<MagicLinkType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<Language>,
    #[serde(skip_serializing_if = "Option::is_none")]
    magic_link_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u32>,
}

impl MagicLinkRequest {
    /// A link for this email address (the user is created if missing).
    pub fn email(email: impl Into<String>) -> Self {
        Self {
            email: Some(email.into()),
            ..Self::default()
        }
    }

    /// A link for this phone number.
    pub fn phone(phone: impl Into<String>) -> Self {
        Self {
            phone: Some(phone.into()),
            ..Self::default()
        }
    }

    /// A link for an existing user.
    pub fn user_id(user_id: impl Into<String>) -> Self {
        Self {
            user_id: Some(user_id.into()),
            ..Self::default()
        }
    }

    /// Has Passage send the link over `channel`.
    pub fn send(mut self, channel: MagicLinkChannel) -> Self {
        self.send = Some(true);
        self.channel = Some(channel);
        self
    }

    /// Sets the channel without sending.
    pub fn channel(mut self, channel: MagicLinkChannel) -> Self {
        self.channel = Some(channel);
        self
    }

    /// What the link does (default: sign in).
    pub fn kind(mut self, kind: MagicLinkType) -> Self {
        self.kind = Some(kind);
        self
    }

    /// The language of the message sent.
    pub fn language(mut self, language: Language) -> Self {
        self.language = Some(language);
        self
    }

    /// A path on the app's origin that handles the link.
    pub fn magic_link_path(mut self, path: impl Into<String>) -> Self {
        self.magic_link_path = Some(path.into());
        self
    }

    /// Where the user lands after using the link.
    pub fn redirect_url(mut self, url: impl Into<String>) -> Self {
        self.redirect_url = Some(url.into());
        self
    }

    /// The link's lifetime in minutes.
    pub fn ttl_minutes(mut self, minutes: u32) -> Self {
        self.ttl = Some(minutes);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ManagementError> {
        let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !given(&self.email) && !given(&self.phone) && !given(&self.user_id) {
            return Err(ManagementError::InvalidArgument(
                "a magic link needs an email, a phone or a user ID",
            ));
        }
        if self.send == Some(true) && self.channel.is_none() {
            return Err(ManagementError::InvalidArgument(
                "channel is required when send is true",
            ));
        }
        if self.ttl == Some(0) {
            return Err(ManagementError::InvalidArgument(
                "ttl must be at least one minute",
            ));
        }
        Ok(())
    }
}
