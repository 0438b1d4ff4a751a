//! A key set: the JWKS document parsed and filtered into the RS256 keys this verifier may use.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;

use crate::error::KeysUnavailableReason;

/// JWK members are base64url; tolerate padding there (some servers emit it), never in tokens.
const JWK_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
/// The longest `kid` a usable key may have.
pub(crate) const MAX_KID_BYTES: usize = 256;
const MIN_MODULUS_BITS: usize = 2048;
pub(crate) const MAX_MODULUS_BITS: usize = 8192;

/// One RS256 public key from the JWKS, parsed once.
pub(crate) struct VerifyingKey {
    pub(super) kid: Box<str>,
    n: Box<[u8]>,
    e: Box<[u8]>,
    key: ParsedPublicKey,
}

impl VerifyingKey {
    /// Checks an RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }
}

/// The usable keys of one JWKS document, by `kid`. Every verification and every token-cache hit
/// looks its key up here, so the map hashes with `quick_cache`'s fast seeded hasher instead of
/// SipHash: entries come only from the JWKS, and a token's `kid` can only be looked up.
pub(crate) type Keys = HashMap<Box<str>, Arc<VerifyingKey>, quick_cache::DefaultHashBuilder>;

#[derive(Deserialize)]
struct RawKeySet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawKey {
    kty: String,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    kid: String,
    n: String,
    e: String,
}

pub(crate) fn parse_key_set(
    body: &[u8],
    max_keys: usize,
    previous: Option<&Keys>,
) -> Result<Keys, KeysUnavailableReason> {
    let raw: RawKeySet =
        serde_json::from_slice(body).map_err(|_| KeysUnavailableReason::InvalidJwks)?;
    if raw.keys.len() > max_keys {
        return Err(KeysUnavailableReason::TooManyKeys);
    }
    // A kid listed twice is ambiguous: trust neither entry.
    let mut kid_counts: HashMap<&str, usize> = HashMap::new();
    for key in &raw.keys {
        if let Some(kid) = key.get("kid").and_then(serde_json::Value::as_str) {
            *kid_counts.entry(kid).or_default() += 1;
        }
    }
    let mut keys = Keys::default();
    for value in &raw.keys {
        let Some(key) = usable_key(value) else {
            continue;
        };
        if kid_counts.get(key.kid.as_str()).copied().unwrap_or(0) != 1 {
            tracing::warn!(kid = %key.kid, "JWKS lists a kid more than once; ignoring it");
            continue;
        }
        let Some((n, e)) = rsa_components(&key.n, &key.e) else {
            tracing::debug!(kid = %key.kid, "skipping unusable JWKS key");
            continue;
        };
        // Keep the same Arc for an unchanged key so verified-token cache entries stay valid.
        let reused = previous
            .and_then(|keys| keys.get(key.kid.as_str()))
            .filter(|old| old.n == n && old.e == e)
            .cloned();
        let verifying = match reused {
            Some(old) => old,
            None => {
                let components = RsaPublicKeyComponents {
                    n: &n[..],
                    e: &e[..],
                };
                let Ok(parsed) = components.to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                else {
                    continue;
                };
                Arc::new(VerifyingKey {
                    kid: key.kid.as_str().into(),
                    n,
                    e,
                    key: parsed,
                })
            }
        };
        keys.insert(key.kid.into_boxed_str(), verifying);
    }
    Ok(keys)
}

/// The key if it may be used for RS256 signatures: `kty` RSA, `use` absent or `sig`, `alg` absent
/// or RS256, and a non-empty `kid`.
fn usable_key(value: &serde_json::Value) -> Option<RawKey> {
    let key: RawKey = serde_json::from_value(value.clone()).ok()?;
    let usable = key.kty == "RSA"
        && key.use_.as_deref().is_none_or(|u| u == "sig")
        && key.alg.as_deref().is_none_or(|a| a == "RS256")
        && !key.kid.is_empty()
        && key.kid.len() <= MAX_KID_BYTES;
    usable.then_some(key)
}

/// Decodes `n` and `e`, drops leading zero bytes (they do not change the integers) and checks
/// the modulus size.
/// A modulus and an exponent, big-endian without leading zeros.
type RsaComponents = (Box<[u8]>, Box<[u8]>);

fn rsa_components(n: &str, e: &str) -> Option<RsaComponents> {
    let strip = |bytes: Vec<u8>| -> Box<[u8]> {
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        bytes[first..].into()
    };
    let n = strip(JWK_BASE64.decode(n).ok()?);
    let e = strip(JWK_BASE64.decode(e).ok()?);
    let top = *n.first()?;
    let bits = (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize);
    if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) || e.is_empty() || e.len() > 8 {
        return None;
    }
    Some((n, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose;

    const MAX: usize = 64;

    #[test]
    fn modulus_size_and_leading_zeros() {
        let n2048 = general_purpose::URL_SAFE_NO_PAD.encode([0xC5u8; 256]);
        let e = "AQAB";
        assert!(rsa_components(&n2048, e).is_some());
        let mut padded = vec![0u8, 0u8];
        padded.extend([0xC5u8; 256]);
        let (n, _) =
            rsa_components(&general_purpose::URL_SAFE_NO_PAD.encode(&padded), "AAEAAQ").unwrap();
        assert_eq!(n.len(), 256);
        let n1024 = general_purpose::URL_SAFE_NO_PAD.encode([0xC5u8; 128]);
        assert!(rsa_components(&n1024, e).is_none());
        // 2047 bits: top byte 0x7F.
        let mut short = vec![0x7Fu8];
        short.extend([0xC5u8; 255]);
        assert!(rsa_components(&general_purpose::URL_SAFE_NO_PAD.encode(&short), e).is_none());
        assert!(rsa_components("!!", e).is_none());
    }

    #[test]
    fn unusable_keys_are_dropped_and_garbage_rejected() {
        assert_eq!(
            parse_key_set(b"not json", MAX, None).err(),
            Some(KeysUnavailableReason::InvalidJwks)
        );
        assert_eq!(
            parse_key_set(b"{\"keys\":{}}", MAX, None).err(),
            Some(KeysUnavailableReason::InvalidJwks)
        );
        let many = format!("{{\"keys\":[{}]}}", vec!["{}"; MAX + 1].join(","));
        assert_eq!(
            parse_key_set(many.as_bytes(), MAX, None).err(),
            Some(KeysUnavailableReason::TooManyKeys)
        );
        let set = parse_key_set(
            br#"{"keys":[{"kty":"oct","kid":"a","k":"AAAA"},{"kty":"RSA","use":"enc","kid":"b","n":"AQAB","e":"AQAB"},"x",1]}"#,
            MAX,
            None,
        )
        .unwrap();
        assert!(set.is_empty());
    }
}
