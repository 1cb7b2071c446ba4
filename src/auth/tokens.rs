//! Access tokens (short-lived, HMAC-SHA256 signed, stateless to verify) and refresh tokens
//! (random, opaque, stored only as SHA-256 hashes).
//!
//! An access token is `base64url(claims JSON) "." base64url(HMAC(claims))`. Its claims name
//! the user and the sign-in ("family") it belongs to, so revoking the family ends it too.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Config;

type HmacSha256 = Hmac<Sha256>;

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The sign-in (token family).
    pub fam: Uuid,
    /// Issued at, in Unix seconds.
    pub iat: i64,
    /// Expires at, in Unix seconds.
    pub exp: i64,
    /// Whether the user was an administrator when the token was issued. Never trusted alone:
    /// a query starts on this guess while the database confirms the role, and runs again if
    /// the role has changed since (see [`crate::graphql::gateway`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adm: bool,
}

/// Why a token was refused; the text is safe to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token we could have issued.
    Malformed,
    /// The signature does not match.
    BadSignature,
    /// Past its expiry time.
    Expired,
}

impl TokenError {
    /// A message for the client.
    pub fn message(self) -> &'static str {
        match self {
            Self::Malformed | Self::BadSignature => "the access token is not valid",
            Self::Expired => "the access token has expired: refresh it",
        }
    }
}

/// The secret that signs access tokens.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// A key from raw bytes (at least 32).
    pub fn new(bytes: Vec<u8>) -> anyhow::Result<Self> {
        anyhow::ensure!(bytes.len() >= 32, "a token key needs at least 32 bytes");
        Ok(Self(bytes))
    }

    /// A fresh random key.
    pub fn random() -> anyhow::Result<Self> {
        Ok(Self(random_bytes::<32>()?.to_vec()))
    }

    /// The key from `MESSENGER_TOKEN_KEY`, `MESSENGER_TOKEN_KEY_FILE`, or the generated file
    /// `token.key` in the data folder (created with owner-only permissions if missing).
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        if let Some(key) = &config.token_key {
            return Self::new(key.clone());
        }
        if let Some(file) = &config.token_key_file {
            let bytes = std::fs::read(file)
                .with_context(|| format!("reading MESSENGER_TOKEN_KEY_FILE {}", file.display()))?;
            return Self::new(trim_ascii_end(bytes))
                .context("MESSENGER_TOKEN_KEY_FILE must hold at least 32 bytes");
        }
        Self::load_or_generate(&config.data_dir.join("token.key"))
    }

    fn load_or_generate(path: &Path) -> anyhow::Result<Self> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if let Ok(bytes) = std::fs::read(path) {
            return Self::new(trim_ascii_end(bytes))
                .with_context(|| format!("{} is too short", path.display()));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let encoded = URL_SAFE_NO_PAD.encode(random_bytes::<48>()?);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        file.write_all(encoded.as_bytes())?;
        tracing::warn!(
            path = %path.display(),
            "no MESSENGER_TOKEN_KEY or MESSENGER_TOKEN_KEY_FILE set: generated a signing key \
             and kept it in the data folder (owner-only permissions)"
        );
        Self::new(encoded.into_bytes())
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length; this cannot fail.
        <HmacSha256 as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts any key length")
    }

    /// Signs claims into a token.
    pub fn sign(&self, claims: &Claims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// A key for another purpose (`purpose` names it), derived from this one: servers that
    /// share the token key share it too, and it changes when the token key does.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(b"derive:");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Checks a token's signature and expiry at `now`, and returns its claims.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        let (payload, signature) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

fn trim_ascii_end(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last().is_some_and(u8::is_ascii_whitespace) {
        bytes.pop();
    }
    bytes
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("reading random bytes: {e}"))?;
    Ok(buf)
}

/// A new refresh token: the string the client keeps, and the hash we store.
pub fn new_refresh_token() -> anyhow::Result<(String, Vec<u8>)> {
    let token = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    let hash = hash_refresh_token(&token);
    Ok((token, hash))
}

/// The stored form of a refresh token.
pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: Uuid::now_v7(),
            fam: Uuid::now_v7(),
            iat: 0,
            exp,
            adm: false,
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let key = TokenKey::random().expect("random key");
        let now = Utc::now();
        let c = claims(now.timestamp() + 60);
        assert_eq!(key.verify(&key.sign(&c), now), Ok(c.clone()));
        let later = now + chrono::Duration::seconds(61);
        assert_eq!(key.verify(&key.sign(&c), later), Err(TokenError::Expired));
    }

    #[test]
    fn forged_and_altered_tokens_are_refused() {
        let key = TokenKey::random().expect("random key");
        let other = TokenKey::random().expect("random key");
        let now = Utc::now();
        let token = other.sign(&claims(now.timestamp() + 60));
        assert_eq!(key.verify(&token, now), Err(TokenError::BadSignature));

        let genuine = key.sign(&claims(now.timestamp() + 60));
        let (_, sig) = genuine.split_once('.').expect("two parts");
        let forged_payload = URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&claims(now.timestamp() + 99_999)).expect("json"));
        assert_eq!(
            key.verify(&format!("{forged_payload}.{sig}"), now),
            Err(TokenError::BadSignature)
        );
        assert_eq!(key.verify("garbage", now), Err(TokenError::Malformed));
    }
}
