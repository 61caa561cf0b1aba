//! Database-connection password rules: Auth0's legacy password-policy levels (§14.1) with
//! their exact rule wording (§14.2), the breached-password list, and Argon2id hashing.

use argon2::{Algorithm, Argon2, Params, Version};

/// Auth0's legacy policy levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordPolicy {
    /// At least 1 character.
    None,
    /// At least 6 characters.
    Low,
    /// At least 8 characters with a lower-case letter, an upper-case letter and a number.
    Fair,
    /// At least 8 characters with 3 of 4 character types.
    Good,
    /// At least 10 characters, 3 of 4 types, no more than 2 identical characters in a row.
    Excellent,
}

/// Minimum-length override (`password_complexity_options.min_length`) is folded in here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    level: PasswordPolicy,
    min_length: usize,
}

/// One rule of a policy check, in Auth0's `PasswordStrengthError` shape.
#[derive(Debug, Clone)]
pub struct RuleResult {
    /// The human text (with the numbers filled in).
    pub message: String,
    /// Whether it passed.
    pub verified: bool,
    /// Sub-items (character classes) for the `contains…` rules.
    pub items: Vec<(String, bool)>,
}

/// A failed policy check.
#[derive(Debug, Clone)]
pub struct PolicyFailure {
    /// Every rule with its result.
    pub rules: Vec<RuleResult>,
}

impl PolicyFailure {
    /// One-line summary of the failed rules (never contains the password).
    pub fn summary(&self) -> String {
        self.rules
            .iter()
            .filter(|r| !r.verified)
            .map(|r| {
                let missing: Vec<&str> = r
                    .items
                    .iter()
                    .filter(|(_, ok)| !ok)
                    .map(|(m, _)| m.as_str())
                    .collect();
                if missing.is_empty() {
                    r.message.clone()
                } else {
                    format!(
                        "{} (missing {})",
                        r.message.trim_end_matches(':'),
                        missing.join(", ")
                    )
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl PasswordPolicy {
    /// Parses a level name with an optional `min_length` override.
    pub fn parse(level: &str, min_length: Option<usize>) -> Option<Policy> {
        let level = match level {
            "none" => PasswordPolicy::None,
            "low" => PasswordPolicy::Low,
            "fair" => PasswordPolicy::Fair,
            "good" => PasswordPolicy::Good,
            "excellent" => PasswordPolicy::Excellent,
            _ => return None,
        };
        let default_min = match level {
            PasswordPolicy::None => 1,
            PasswordPolicy::Low => 6,
            PasswordPolicy::Fair | PasswordPolicy::Good => 8,
            PasswordPolicy::Excellent => 10,
        };
        Some(Policy {
            level,
            min_length: min_length.unwrap_or(default_min).clamp(1, 128),
        })
    }
}

#[allow(non_upper_case_globals)]
impl Policy {
    /// Auth0's `good` default (what a fresh connection gets).
    pub const Good: Policy = Policy {
        level: PasswordPolicy::Good,
        min_length: 8,
    };

    /// The level.
    pub fn level(&self) -> PasswordPolicy {
        self.level
    }

    /// Checks a password.
    ///
    /// # Errors
    /// [`PolicyFailure`] with every rule and whether it passed.
    pub fn check(&self, password: &str) -> Result<(), PolicyFailure> {
        let len = password.chars().count();
        let lower = password.chars().any(|c| c.is_lowercase());
        let upper = password.chars().any(|c| c.is_uppercase());
        let number = password.chars().any(|c| c.is_ascii_digit());
        let special = password.chars().any(|c| !c.is_alphanumeric());
        let mut rules = vec![RuleResult {
            message: format!("At least {} characters in length", self.min_length),
            verified: len >= self.min_length,
            items: vec![],
        }];
        match self.level {
            PasswordPolicy::None | PasswordPolicy::Low => {}
            PasswordPolicy::Fair => {
                let items = vec![
                    ("lower case letters (a-z)".to_string(), lower),
                    ("upper case letters (A-Z)".to_string(), upper),
                    ("numbers (i.e. 0-9)".to_string(), number),
                ];
                let ok = lower && upper && number;
                rules.push(RuleResult {
                    message: "Should contain:".into(),
                    verified: ok,
                    items,
                });
            }
            PasswordPolicy::Good | PasswordPolicy::Excellent => {
                let items = vec![
                    ("lower case letters (a-z)".to_string(), lower),
                    ("upper case letters (A-Z)".to_string(), upper),
                    ("numbers (i.e. 0-9)".to_string(), number),
                    ("special characters (e.g. !@#$%^&*)".to_string(), special),
                ];
                let n = items.iter().filter(|(_, ok)| *ok).count();
                rules.push(RuleResult {
                    message: "Contain at least 3 of the following 4 types of characters:".into(),
                    verified: n >= 3,
                    items,
                });
                if self.level == PasswordPolicy::Excellent {
                    let chars: Vec<char> = password.chars().collect();
                    let triple = chars.windows(3).any(|w| w[0] == w[1] && w[1] == w[2]);
                    rules.push(RuleResult {
                        message: "No more than 2 identical characters in a row (e.g., \"aaa\" not allowed)".into(),
                        verified: !triple,
                        items: vec![],
                    });
                }
            }
        }
        if rules.iter().all(|r| r.verified) {
            Ok(())
        } else {
            Err(PolicyFailure { rules })
        }
    }

    /// The policy text Auth0 returns in `PasswordStrengthError.policy`.
    pub fn policy_text(&self) -> String {
        match self.check("") {
            Ok(()) => String::new(),
            Err(f) => f
                .rules
                .iter()
                .map(|r| {
                    let mut s = format!("* {}", r.message);
                    for (m, _) in &r.items {
                        s.push_str(&format!("\n * {m}"));
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// The built-in dictionary: the most common passwords, lower case.
const COMMON_PASSWORDS: &[&str] = &[
    "123456",
    "123456789",
    "12345678",
    "1234567890",
    "12345",
    "1234567",
    "password",
    "password1",
    "password12",
    "password123",
    "password1!",
    "password123!",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword1",
    "qwerty",
    "qwerty123",
    "qwerty123!",
    "qwertyuiop",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "abc123",
    "abcd1234",
    "abcd1234!",
    "111111",
    "000000",
    "123123",
    "654321",
    "666666",
    "121212",
    "iloveyou",
    "iloveyou1",
    "admin",
    "admin123",
    "administrator",
    "welcome",
    "welcome1",
    "welcome1!",
    "welcome123",
    "welcome123!",
    "letmein",
    "letmein1",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "basketball",
    "soccer",
    "hockey",
    "sunshine",
    "princess",
    "shadow",
    "master",
    "superman",
    "batman",
    "trustno1",
    "starwars",
    "whatever",
    "freedom",
    "michael",
    "jennifer",
    "jordan23",
    "secret",
    "changeme",
    "changeme1",
    "default",
    "login",
    "guest",
    "test",
    "test123",
    "hello123",
    "charlie",
    "summer2024",
    "summer2025",
    "summer2026",
    "winter2025",
    "winter2026",
    "spring2026",
    "autumn2026",
    "password2025",
    "password2026",
    "company123",
    "zaq12wsx",
    "1qaz2wsx",
    "!qaz2wsx",
    "asdfghjkl",
    "zxcvbnm",
];

/// Whether the password is a dictionary word: one of the tenant's own `custom` words (lower
/// case) or of a built-in list of the most common passwords, compared case-insensitively (Auth0
/// uses a 10,000-word list; the dev tenant ships a short one, see `docs/dev-tenant.md`).
pub fn in_dictionary(password: &str, custom: &[String]) -> bool {
    let lower = password.to_lowercase();
    COMMON_PASSWORDS.contains(&lower.as_str()) || custom.contains(&lower)
}

/// A small built-in list of well-known breached passwords, plus Auth0's test hooks: any
/// password starting with `AUTH0-TEST-`, `Paaf213XXYYZZ` and `Paat739!!WWXXYYZZ`.
pub fn is_breached(password: &str) -> bool {
    const LIST: &[&str] = &[
        "Password123!",
        "Password1!",
        "Password1",
        "Password123",
        "P@ssw0rd",
        "P@ssw0rd!",
        "P@ssword1",
        "Passw0rd",
        "Passw0rd!",
        "Welcome1!",
        "Welcome123!",
        "Qwerty123!",
        "Qwerty123",
        "Abcd1234!",
        "Admin123!",
        "Letmein1!",
        "Summer2024!",
        "Winter2024!",
        "Iloveyou1!",
        "Changeme1!",
        "123456Aa!",
        "Aa123456!",
        "Aa123456",
        "Football1!",
        "Monkey123!",
        "Dragon123!",
        "Sunshine1!",
        "Trustno1!",
        "Paaf213XXYYZZ",
        "Paat739!!WWXXYYZZ",
    ];
    password.starts_with("AUTH0-TEST-") || LIST.contains(&password)
}

/// Plausible email check (one `@`, non-empty local part, dotted domain, no spaces).
pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && s.len() <= 254
}

/// A stored password hash (salt + Argon2id output).
#[derive(Clone)]
pub struct PasswordHash {
    salt: [u8; 16],
    hash: [u8; 32],
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Argon2id with deliberately cheap parameters (m = 4 MiB, t = 1, p = 1): this is a local
/// development emulator whose passwords are public; cheap hashing keeps start-up and tests
/// fast while still exercising the real verify path (and equal timing for unknown users).
/// Argon2 runs at most this many hashes at once (one per core): each takes memory, so a burst of
/// sign-ins queues instead of allocating for all of them at the same time.
pub static HASHING: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

fn hasher() -> Option<Argon2<'static>> {
    let params = Params::new(4096, 1, 1, Some(32)).ok()?;
    Some(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

impl PasswordHash {
    /// Hashes a password with a fresh random salt.
    pub fn new(password: &str) -> PasswordHash {
        let mut salt = [0u8; 16];
        crate::util::fill_random(&mut salt);
        let hash = Self::derive(password, &salt);
        PasswordHash { salt, hash }
    }

    fn derive(password: &str, salt: &[u8; 16]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let ok = hasher()
            .map(|h| {
                h.hash_password_into(password.as_bytes(), salt, &mut out)
                    .is_ok()
            })
            .unwrap_or(false);
        if !ok {
            // Unreachable with the fixed parameters above; fall back to a salted SHA-256 so a
            // misconfiguration can never make every password verify.
            let mut data = salt.to_vec();
            data.extend_from_slice(password.as_bytes());
            out = crate::util::sha256(&data);
        }
        out
    }

    /// Verifies a password in constant time.
    pub fn verify(&self, password: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        let h = Self::derive(password, &self.salt);
        bool::from(h.ct_eq(&self.hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fair_policy() {
        let p = PasswordPolicy::parse("fair", None).unwrap();
        assert!(p.check("Alice-Dev-2026!").is_ok());
        assert!(p.check("Abcdefg1").is_ok());
        assert!(p.check("abcdefg1!").is_err());
        assert!(p.check("Ab1").is_err());
        assert!(
            p.policy_text()
                .starts_with("* At least 8 characters in length")
        );
    }

    #[test]
    fn good_policy() {
        let p = PasswordPolicy::parse("good", None).unwrap();
        assert!(p.check("abcdefg1!").is_ok());
        assert!(p.check("abcdefgh1").is_err());
    }

    #[test]
    fn hashing() {
        let h = PasswordHash::new("Secret-123");
        assert!(h.verify("Secret-123"));
        assert!(!h.verify("Secret-124"));
        assert_eq!(format!("{h:?}"), "PasswordHash(<redacted>)");
    }

    #[test]
    fn breached() {
        assert!(is_breached("Password123!"));
        assert!(is_breached("AUTH0-TEST-anything"));
        assert!(!is_breached("Alice-Dev-2026!"));
    }
}
