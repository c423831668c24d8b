//! Password policy: length, character classes, and no personal data inside.

#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordPolicy {
    /// Minimum number of characters.
    pub min_length: usize,
    /// How many of the four classes (lower, upper, digit, symbol) must appear.
    pub min_classes: usize,
    /// A new password may not equal any of the last N.
    pub history: usize,
    /// Days after which a password expires and can only be changed.
    pub max_age_days: u32,
    /// Days before expiry when the warning e-mail is sent.
    pub expiry_warning_days: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 12,
            min_classes: 3,
            history: 5,
            max_age_days: 90,
            expiry_warning_days: 14,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    #[error("la password deve avere almeno {0} caratteri")]
    TooShort(usize),
    #[error(
        "la password deve contenere almeno {0} tipi di caratteri tra minuscole, maiuscole, cifre e simboli"
    )]
    TooFewClasses(usize),
    #[error("la password non può contenere il codice fiscale, il nome o il cognome")]
    ContainsPersonalData,
}

impl PasswordPolicy {
    /// Checks a candidate against the policy; `personal` holds the user's
    /// codice fiscale, given name and family name.
    pub fn check(&self, candidate: &str, personal: &[&str]) -> Result<(), PasswordRejection> {
        if candidate.chars().count() < self.min_length {
            return Err(PasswordRejection::TooShort(self.min_length));
        }
        let classes = [
            candidate.chars().any(|c| c.is_lowercase()),
            candidate.chars().any(|c| c.is_uppercase()),
            candidate.chars().any(|c| c.is_ascii_digit()),
            candidate.chars().any(|c| !c.is_alphanumeric()),
        ]
        .iter()
        .filter(|&&b| b)
        .count();
        if classes < self.min_classes {
            return Err(PasswordRejection::TooFewClasses(self.min_classes));
        }
        let lowered = candidate.to_lowercase();
        if personal
            .iter()
            .map(|p| p.trim().to_lowercase())
            .filter(|p| p.chars().count() >= 3)
            .any(|p| lowered.contains(&p))
        {
            return Err(PasswordRejection::ContainsPersonalData);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_rules() {
        let p = PasswordPolicy::default();
        assert_eq!(
            p.check("Short1!", &[]),
            Err(PasswordRejection::TooShort(12))
        );
        assert_eq!(
            p.check("alllowercaseletters", &[]),
            Err(PasswordRejection::TooFewClasses(3))
        );
        assert_eq!(
            p.check(
                "Rossi-Ferrara-2026",
                &["RSSMRA80A01H501U", "Mario", "Rossi"]
            ),
            Err(PasswordRejection::ContainsPersonalData)
        );
        assert!(
            p.check(
                "Pioggia-Estense-42",
                &["RSSMRA80A01H501U", "Mario", "Rossi"]
            )
            .is_ok()
        );
    }
}
