//! Parsing and evaluation of the list-users query: pagination, filters and `order_by`.

use std::cmp::Ordering;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::store::records::User;

/// Default page size (Passage's documents give no default; 20 matches its dashboard).
pub(crate) const DEFAULT_LIMIT: i64 = 20;
/// Largest page size Passage accepts.
pub(crate) const MAX_LIMIT: i64 = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Identifier,
    Id,
    Email,
    Phone,
    Status,
    LoginCount,
    CreatedAt,
    UpdatedAt,
    LastLoginAt,
}

impl Field {
    fn filterable(name: &str) -> Option<Self> {
        Some(match name {
            "identifier" => Self::Identifier,
            "id" => Self::Id,
            "status" => Self::Status,
            "login_count" => Self::LoginCount,
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            "last_login_at" => Self::LastLoginAt,
            _ => return None,
        })
    }

    fn orderable(name: &str) -> Option<Self> {
        Some(match name {
            "id" => Self::Id,
            "email" => Self::Email,
            "phone" => Self::Phone,
            "status" => Self::Status,
            "login_count" => Self::LoginCount,
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            "last_login_at" => Self::LastLoginAt,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Like,
    NotLike,
}

#[derive(Clone, Debug)]
enum Operand {
    Text(String),
    Int(i64),
    Time(OffsetDateTime),
}

#[derive(Clone, Debug)]
struct Filter {
    field: Field,
    op: Op,
    operand: Operand,
}

/// A parsed list-users query.
#[derive(Debug)]
pub(crate) struct ListQuery {
    pub page: i64,
    pub limit: i64,
    pub created_before: i64,
    filters: Vec<Filter>,
    order: Vec<(Field, bool)>,
    /// The filter and `order_by` parameters, re-emitted in the `_links`.
    pub echo: Vec<(String, String)>,
}

fn parse_int(name: &str, raw: &str) -> Result<i64, String> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| format!("{name}: must be an integer."))
}

fn parse_time(name: &str, raw: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(raw.trim(), &Rfc3339).map_err(|_| {
        format!("{name}: must be a valid timestamp in the format 2006-01-02T15:04:05.000000Z.")
    })
}

fn split_operator(name: &str, raw: &str) -> Result<(Op, String), String> {
    if let Some((prefix, rest)) = raw.split_once(':') {
        let op = match prefix {
            "ne" => Some(Op::Ne),
            "gt" => Some(Op::Gt),
            "lt" => Some(Op::Lt),
            "like" => Some(Op::Like),
            "not_like" => Some(Op::NotLike),
            _ => None,
        };
        if let Some(op) = op {
            return Ok((op, rest.to_string()));
        }
        // Something that looks like an operator (letters and underscores only) but is not one.
        if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_') {
            return Err(format!("{name}: invalid operator \"{prefix}\"."));
        }
    }
    Ok((Op::Eq, raw.to_string()))
}

/// Parses the query pairs; errors are Passage-style `invalid_request` messages.
pub(crate) fn parse(pairs: &[(String, String)], now_unix: i64) -> Result<ListQuery, String> {
    let mut q = ListQuery {
        page: 1,
        limit: DEFAULT_LIMIT,
        created_before: now_unix,
        filters: Vec::new(),
        order: Vec::new(),
        echo: Vec::new(),
    };
    let mut errors = Vec::new();
    for (name, raw) in pairs {
        match name.as_str() {
            "page" => match parse_int("page", raw) {
                Ok(p) if p < 1 => errors.push("page: must be no less than 1.".to_string()),
                Ok(p) => q.page = p,
                Err(e) => errors.push(e),
            },
            "limit" => match parse_int("limit", raw) {
                Ok(l) if l < 1 => errors.push("limit: must be no less than 1.".to_string()),
                Ok(l) if l > MAX_LIMIT => {
                    errors.push(format!("limit: must be no greater than {MAX_LIMIT}."));
                }
                Ok(l) => q.limit = l,
                Err(e) => errors.push(e),
            },
            "created_before" => match parse_int("created_before", raw) {
                Ok(t) => q.created_before = t,
                Err(e) => errors.push(e),
            },
            "order_by" => {
                match parse_order(raw) {
                    Ok(o) => q.order.extend(o),
                    Err(e) => errors.push(e),
                }
                q.echo.push((name.clone(), raw.clone()));
            }
            other => {
                let Some(field) = Field::filterable(other) else {
                    errors.push(format!("{other}: unknown filter field."));
                    continue;
                };
                match parse_filter(other, field, raw) {
                    Ok(f) => q.filters.push(f),
                    Err(e) => errors.push(e),
                }
                q.echo.push((name.clone(), raw.clone()));
            }
        }
    }
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(super::validate::join_errors(&errors))
    }
}

fn parse_filter(name: &str, field: Field, raw: &str) -> Result<Filter, String> {
    let (op, value) = split_operator(name, raw)?;
    let operand = match field {
        Field::LoginCount | Field::CreatedAt | Field::UpdatedAt | Field::LastLoginAt
            if matches!(op, Op::Like | Op::NotLike) =>
        {
            return Err(format!("{name}: operator not supported for this field."));
        }
        Field::LoginCount => Operand::Int(parse_int(name, &value)?),
        Field::CreatedAt | Field::UpdatedAt | Field::LastLoginAt => {
            Operand::Time(parse_time(name, &value)?)
        }
        Field::Status => {
            let v = value.trim().to_lowercase();
            if matches!(op, Op::Eq | Op::Ne)
                && !["active", "inactive", "pending"].contains(&v.as_str())
            {
                return Err(format!("{name}: must be one of active, inactive, pending."));
            }
            Operand::Text(v)
        }
        Field::Identifier => Operand::Text(value.trim().to_lowercase()),
        _ => Operand::Text(value.trim().to_string()),
    };
    Ok(Filter { field, op, operand })
}

fn parse_order(raw: &str) -> Result<Vec<(Field, bool)>, String> {
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, dir) = part.split_once(':').unwrap_or((part, "ASC"));
        if name == "identifier" {
            return Err("order_by: cannot order by identifier.".into());
        }
        let field =
            Field::orderable(name).ok_or_else(|| format!("order_by: unknown field \"{name}\"."))?;
        let desc = match dir.to_ascii_uppercase().as_str() {
            "ASC" => false,
            "DESC" => true,
            _ => return Err("order_by: direction must be ASC or DESC.".into()),
        };
        out.push((field, desc));
    }
    Ok(out)
}

fn zero_time() -> OffsetDateTime {
    // Passage's zero time, reported for timestamps that never happened.
    time::macros::datetime!(0001-01-01 0:00 UTC)
}

fn time_of(user: &User, field: Field) -> OffsetDateTime {
    match field {
        Field::CreatedAt => user.created_at,
        Field::UpdatedAt => user.updated_at,
        _ => user.last_login_at.unwrap_or_else(zero_time),
    }
}

fn text_of(user: &User, field: Field) -> &str {
    match field {
        Field::Id => &user.id,
        Field::Email => &user.email,
        Field::Phone => &user.phone,
        _ => user.status.as_str(),
    }
}

/// SQL `LIKE` (`%` any run, `_` one character), case-insensitive; a pattern without wildcards
/// matches as a substring.
fn like(haystack: &str, pattern: &str) -> bool {
    let h: Vec<char> = haystack.to_lowercase().chars().collect();
    let mut p: Vec<char> = pattern.to_lowercase().chars().collect();
    if !p.contains(&'%') && !p.contains(&'_') {
        p.insert(0, '%');
        p.push('%');
    }
    // Iterative wildcard match with backtracking on the last `%`.
    let (mut i, mut j) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while i < h.len() {
        if j < p.len() && (p[j] == '_' || p[j] == h[i]) {
            i += 1;
            j += 1;
        } else if j < p.len() && p[j] == '%' {
            star = Some(j);
            mark = i;
            j += 1;
        } else if let Some(s) = star {
            j = s + 1;
            mark += 1;
            i = mark;
        } else {
            return false;
        }
    }
    while j < p.len() && p[j] == '%' {
        j += 1;
    }
    j == p.len()
}

fn text_matches(value: &str, op: Op, operand: &str) -> bool {
    match op {
        Op::Eq => value == operand,
        Op::Ne => value != operand,
        Op::Gt => value > operand,
        Op::Lt => value < operand,
        Op::Like => like(value, operand),
        Op::NotLike => !like(value, operand),
    }
}

fn ord_matches(ord: Ordering, op: Op) -> bool {
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Gt => ord == Ordering::Greater,
        Op::Lt => ord == Ordering::Less,
        Op::Like | Op::NotLike => false,
    }
}

impl Filter {
    fn matches(&self, user: &User) -> bool {
        match (&self.operand, self.field) {
            (Operand::Text(v), Field::Identifier) => {
                // Identifier means "email OR phone"; negative operators negate the whole thing.
                let (positive, negate) = match self.op {
                    Op::Ne => (Op::Eq, true),
                    Op::NotLike => (Op::Like, true),
                    op => (op, false),
                };
                let hit = [&user.email, &user.phone]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .any(|s| text_matches(s, positive, v));
                hit != negate
            }
            (Operand::Text(v), field) => text_matches(text_of(user, field), self.op, v),
            (Operand::Int(n), _) => ord_matches(user.login_count.cmp(n), self.op),
            (Operand::Time(t), field) => ord_matches(time_of(user, field).cmp(t), self.op),
        }
    }
}

impl ListQuery {
    /// Whether `user` passes `created_before` and every filter.
    pub(crate) fn matches(&self, user: &User) -> bool {
        user.created_at.unix_timestamp() <= self.created_before
            && self.filters.iter().all(|f| f.matches(user))
    }

    /// Orders users by `order_by`, then (by default) newest first; ties by creation order.
    pub(crate) fn compare(&self, a: &User, b: &User) -> Ordering {
        let default = [(Field::CreatedAt, true)];
        let order: &[(Field, bool)] = if self.order.is_empty() {
            &default
        } else {
            &self.order
        };
        for &(field, desc) in order {
            let ord = match field {
                Field::LoginCount => a.login_count.cmp(&b.login_count),
                Field::CreatedAt | Field::UpdatedAt | Field::LastLoginAt => {
                    time_of(a, field).cmp(&time_of(b, field))
                }
                _ => text_of(a, field).cmp(text_of(b, field)),
            };
            let ord = if desc { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        let tie = a.seq.cmp(&b.seq);
        if order.first().is_some_and(|&(_, desc)| desc) {
            tie.reverse()
        } else {
            tie
        }
    }
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_patterns() {
        assert!(like("alice@example.com", "example"));
        assert!(like("alice@example.com", "ALICE%"));
        assert!(like("alice@example.com", "%.com"));
        assert!(!like("alice@example.com", "bob%"));
        assert!(like("abc", "a_c"));
        assert!(!like("abcd", "a_c"));
    }
}
