//! Input checks shared by the operations, with Passage-style messages (`"field: reason."`).

use super::OpError;
use crate::store::records::Channel;

/// Joins validation messages Passage-style: `"a: x; b: y."`.
pub(crate) fn join_errors(errors: &[String]) -> String {
    let parts: Vec<&str> = errors.iter().map(|e| e.trim_end_matches('.')).collect();
    format!("{}.", parts.join("; "))
}

/// Trimmed, or `None` when blank.
pub(crate) fn non_blank(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

/// Lowercases and validates an email address (a pragmatic check, not full RFC 5322).
pub(crate) fn normalize_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = email.split_once('@')?;
    let domain_ok = !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let local_ok = !local.is_empty() && local.len() <= 64 && !local.contains(['<', '>', '"', ',']);
    (domain_ok && local_ok).then_some(email)
}

/// Whether `phone` is an E.164 number: `+`, a non-zero digit, then up to 14 more digits.
pub(crate) fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Validates an optional email (`""` = absent), returning it lowercased.
pub(crate) fn email(raw: Option<&str>, errors: &mut Vec<String>) -> String {
    match non_blank(raw) {
        None => String::new(),
        Some(e) => normalize_email(e).unwrap_or_else(|| {
            errors.push("email: must be a valid email address".into());
            String::new()
        }),
    }
}

/// Validates an optional phone (`""` = absent) as E.164.
pub(crate) fn phone(raw: Option<&str>, errors: &mut Vec<String>) -> String {
    match non_blank(raw) {
        None => String::new(),
        Some(p) if is_e164(p) => p.to_string(),
        Some(_) => {
            errors.push("phone: must be a valid E.164 phone number".into());
            String::new()
        }
    }
}

/// `Err` with the joined messages if there are any.
pub(crate) fn finish(errors: &[String]) -> Result<(), super::OpError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(super::OpError::Invalid(join_errors(errors)))
    }
}

/// What a login page was sent: an email address (normalised) or an E.164 phone number.
pub(crate) fn identifier(raw: &str) -> Result<(Channel, String), OpError> {
    let identifier = raw.trim();
    let is_phone = identifier.starts_with('+')
        || (!identifier.is_empty() && identifier.bytes().all(|b| b.is_ascii_digit()));
    if identifier.is_empty() {
        Err(OpError::invalid(
            "Enter an email address or a phone number.",
        ))
    } else if is_phone {
        if is_e164(identifier) {
            Ok((Channel::Phone, identifier.to_owned()))
        } else {
            Err(OpError::invalid(
                "Enter the phone number in E.164 form, e.g. +15555550123.",
            ))
        }
    } else {
        normalize_email(identifier)
            .map(|email| (Channel::Email, email))
            .ok_or_else(|| OpError::invalid("Enter a valid email address."))
    }
}
