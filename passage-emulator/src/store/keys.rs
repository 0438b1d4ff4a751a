//! RSA signing keys: generation, storage, public components and RS256 JWS signing.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::EmulatorError;
use crate::random::random_id;

/// One RSA-2048 signing key with its key ID (cheap to clone: the key pair is shared).
#[derive(Clone)]
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pair: std::sync::Arc<KeyPair>,
    pkcs8: Vec<u8>,
    /// Unix time after which the key is no longer published (set when it is rotated out).
    pub(crate) retire_at: Option<i64>,
}

/// The protected header of the tokens it signs.
#[derive(Serialize)]
struct JwsHeader<'a> {
    alg: &'static str,
    kid: &'a str,
    typ: &'static str,
}

/// The persisted form of a signing key (PKCS#8 DER, standard base64).
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredKey {
    kid: String,
    pkcs8: String,
    retire_at: Option<i64>,
}

impl SigningKey {
    /// Generates a fresh RSA-2048 key with a random 24-character key ID.
    pub(crate) fn generate() -> Result<Self, EmulatorError> {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| EmulatorError::Crypto("RSA key generation failed".into()))?;
        let pkcs8 = pair
            .as_der()
            .map_err(|_| EmulatorError::Crypto("PKCS#8 encoding failed".into()))?
            .as_ref()
            .to_vec();
        Ok(Self {
            kid: random_id(),
            pair: std::sync::Arc::new(pair),
            pkcs8,
            retire_at: None,
        })
    }

    pub(crate) fn to_stored(&self) -> StoredKey {
        StoredKey {
            kid: self.kid.clone(),
            pkcs8: STANDARD.encode(&self.pkcs8),
            retire_at: self.retire_at,
        }
    }

    pub(crate) fn from_stored(stored: &StoredKey) -> Result<Self, EmulatorError> {
        let pkcs8 = STANDARD
            .decode(&stored.pkcs8)
            .map_err(|e| EmulatorError::Persistence(format!("bad key encoding: {e}")))?;
        let pair = KeyPair::from_pkcs8(&pkcs8)
            .map_err(|e| EmulatorError::Persistence(format!("bad RSA key: {e}")))?;
        Ok(Self {
            kid: stored.kid.clone(),
            pair: std::sync::Arc::new(pair),
            pkcs8,
            retire_at: stored.retire_at,
        })
    }

    /// The public key's modulus and exponent, base64url without padding (a JWK's `n` and `e`).
    pub(crate) fn public_components(&self) -> (String, String) {
        let public = self.pair.public_key();
        (
            URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        )
    }

    /// Base64 of the PEM-encoded SubjectPublicKeyInfo, as Passage's `rsa_public_key` app field.
    pub(crate) fn rsa_public_key_b64(&self) -> String {
        let Ok(der) = self.pair.public_key().as_der() else {
            return String::new();
        };
        let body = STANDARD.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(chunk));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        STANDARD.encode(pem)
    }

    /// Signs `claims` as an RS256 JWS in compact form.
    pub(crate) fn sign_jwt(&self, claims: &Map<String, Value>) -> Result<String, EmulatorError> {
        let header = JwsHeader {
            alg: "RS256",
            kid: &self.kid,
            typ: "JWT",
        };
        let header =
            serde_json::to_vec(&header).map_err(|e| EmulatorError::Crypto(e.to_string()))?;
        let payload =
            serde_json::to_vec(claims).map_err(|e| EmulatorError::Crypto(e.to_string()))?;
        let mut token = URL_SAFE_NO_PAD.encode(header);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|_| EmulatorError::Crypto("RSA signing failed".into()))?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }
}
