//! Signing keys for tests: real RSA keys (aws-lc-rs) and a weak 1024-bit one signed by hand.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, RsaEncoding};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// base64url without padding.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An RSA key pair with a `kid`.
pub struct TestKey {
    /// The key ID published in the JWKS.
    pub kid: String,
    pair: KeyPair,
}

impl TestKey {
    /// A fresh 2048-bit key.
    pub fn generate(kid: &str) -> Self {
        Self {
            kid: kid.to_owned(),
            pair: KeyPair::generate(KeySize::Rsa2048).unwrap(),
        }
    }

    /// The modulus and exponent, big-endian.
    pub fn components(&self) -> (Vec<u8>, Vec<u8>) {
        let public = self.pair.public_key();
        (
            public.modulus().big_endian_without_leading_zero().to_vec(),
            public.exponent().big_endian_without_leading_zero().to_vec(),
        )
    }

    /// The public key as a JWK (`kty` RSA, `use` sig, `alg` RS256).
    pub fn jwk(&self) -> Value {
        let (n, e) = self.components();
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": b64(n), "e": b64(e)})
    }

    /// The public key as DER (`RSAPublicKey`), the bytes an HS256 key-confusion attack uses.
    pub fn public_der(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// Signs `header.payload` with the given RSA padding and returns the compact JWS.
    pub fn sign_with(
        &self,
        encoding: &'static dyn RsaEncoding,
        header: &Value,
        payload: &[u8],
    ) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(payload));
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(encoding, &SystemRandom::new(), input.as_bytes(), &mut sig)
            .unwrap();
        format!("{input}.{}", b64(sig))
    }

    /// Signs arbitrary claims with RS256 under this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(
            &signature::RSA_PKCS1_SHA256,
            &json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"}),
            claims.to_string().as_bytes(),
        )
    }
}

/// Signs `header.payload` (raw bytes) with RS256, for payloads that are not JSON objects.
pub fn sign_raw(key: &TestKey, header: &Value, payload: &[u8]) -> String {
    key.sign_with(&signature::RSA_PKCS1_SHA256, header, payload)
}

/// Valid claims for `user` under `issuer` and `app_id`, expiring in an hour.
pub fn token(key: &TestKey, issuer: &str, app_id: &str, user: &str) -> String {
    key.sign(&claims(issuer, app_id, user))
}

/// Valid claims, as Passage issues them.
pub fn claims(issuer: &str, app_id: &str, user: &str) -> Value {
    let now = now();
    json!({
        "sub": user,
        "iss": issuer,
        "aud": ["http://localhost:8080", app_id],
        "iat": now,
        "nbf": now - 5,
        "exp": now + 3600,
    })
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Signs with textbook RSA PKCS#1 v1.5 / SHA-256 using a raw modulus and private exponent (hex),
/// for key sizes aws-lc-rs refuses to sign with (the 1024-bit key).
pub fn sign_weak(n_hex: &str, d_hex: &str, header: &Value, payload: &[u8]) -> String {
    use num_bigint::BigUint;
    let n = BigUint::parse_bytes(n_hex.as_bytes(), 16).unwrap();
    let d = BigUint::parse_bytes(d_hex.as_bytes(), 16).unwrap();
    let input = format!("{}.{}", b64(header.to_string()), b64(payload));
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.as_bytes());
    let prefix: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let k = n.to_bytes_be().len();
    let mut em = vec![0x00, 0x01];
    em.resize(k - prefix.len() - 32 - 1, 0xff);
    em.push(0x00);
    em.extend_from_slice(&prefix);
    em.extend_from_slice(hash.as_ref());
    let sig = BigUint::from_bytes_be(&em).modpow(&d, &n).to_bytes_be();
    let mut padded = vec![0; k - sig.len()];
    padded.extend(sig);
    format!("{input}.{}", b64(padded))
}
