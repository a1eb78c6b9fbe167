//! Password hashing with Argon2id (the `argon2` crate; nothing hand-rolled).

use crate::config::Config;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use rand::distr::Alphanumeric;

#[derive(Clone)]
pub struct Passwords {
    params: Params,
    /// A hash of a random password, verified against when the username is unknown, so an
    /// unknown user costs the same time as a wrong password.
    dummy: String,
}

impl Passwords {
    pub fn new(cfg: &Config) -> Result<Passwords, String> {
        let params = Params::new(cfg.argon2_memory_kib, cfg.argon2_iterations, 1, None)
            .map_err(|e| format!("argon2 parameters: {e}"))?;
        let mut p = Passwords { params, dummy: String::new() };
        p.dummy = p.hash(&generate_password())?;
        Ok(p)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub fn hash(&self, password: &str) -> Result<String, String> {
        self.argon2().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| e.to_string())
    }

    /// Constant work whether or not there is a stored hash.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let target = stored.unwrap_or(&self.dummy);
        let ok = self.argon2().verify_password(password.as_bytes(), target).is_ok();
        ok && stored.is_some()
    }
}

/// A random password for new and demo accounts: 20 characters from a CSPRNG.
pub fn generate_password() -> String {
    rand::rng().sample_iter(&Alphanumeric).take(20).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let cfg = Config { argon2_memory_kib: 1024, argon2_iterations: 1, ..Config::default() };
        let p = Passwords::new(&cfg).unwrap();
        let h = p.hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(p.verify("correct horse", Some(&h)));
        assert!(!p.verify("wrong", Some(&h)));
        assert!(!p.verify("anything", None));
        assert_ne!(generate_password(), generate_password());
    }
}
