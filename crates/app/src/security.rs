//! Password hashing (argon2id) and random tokens.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

use crate::config::Argon2Config;

#[derive(Clone)]
pub struct PasswordHasherConfig {
    params: Params,
}

impl PasswordHasherConfig {
    pub fn new(c: &Argon2Config) -> Result<Self, String> {
        let params = Params::new(c.memory_kib, c.iterations, c.parallelism, None)
            .map_err(|e| format!("argon2: {e}"))?;
        Ok(Self { params })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes on a blocking thread: argon2id is deliberately slow.
    pub async fn hash(&self, password: String) -> Result<String, String> {
        let a = self.argon2();
        tokio::task::spawn_blocking(move || {
            let mut raw = [0u8; 16];
            getrandom::getrandom(&mut raw).map_err(|e| e.to_string())?;
            let salt = SaltString::encode_b64(&raw).map_err(|e| e.to_string())?;
            a.hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Verifies against a stored PHC string; a missing hash still spends the
    /// same work so response times do not reveal which accounts exist.
    pub async fn verify(&self, password: String, stored: Option<String>) -> bool {
        let a = self.argon2();
        let dummy = self.dummy_hash();
        tokio::task::spawn_blocking(move || {
            let (hash, real) = match stored {
                Some(h) => (h, true),
                None => (dummy, false),
            };
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return false;
            };
            a.verify_password(password.as_bytes(), &parsed).is_ok() && real
        })
        .await
        .unwrap_or(false)
    }

    fn dummy_hash(&self) -> String {
        // Same parameters as real hashes, fixed salt, unguessable password.
        let salt = SaltString::from_b64("c3BvcnRlbGxvZHVtbXlzYWx0").expect("static salt is valid");
        self.argon2()
            .hash_password(b"\x00no-such-account\x00", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    }
}

/// 256 random bits, hex-encoded.
pub fn random_token() -> String {
    let mut buf = [0u8; 32];
    getrandom::getrandom(&mut buf).expect("the operating system provides randomness");
    hex::encode(buf)
}

/// What is stored in place of a bearer secret (session id, reset token).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison of two secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
