//! Rules about accounts: categories and statuses, password age, login
//! throttling and lockout. Pure functions of state and time.

use std::fmt;

/// Who a user is, as in the seeds (seed 001: categories of PTT users).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    PrivatePerson,
    Company,
    Professional,
    Intermediary,
    CourtAuxiliary,
    PublicEmployee,
    ContractorEmployee,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::PrivatePerson,
        Category::Company,
        Category::Professional,
        Category::Intermediary,
        Category::CourtAuxiliary,
        Category::PublicEmployee,
        Category::ContractorEmployee,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Category::PrivatePerson => "private_person",
            Category::Company => "company",
            Category::Professional => "professional",
            Category::Intermediary => "intermediary",
            Category::CourtAuxiliary => "court_auxiliary",
            Category::PublicEmployee => "public_employee",
            Category::ContractorEmployee => "contractor_employee",
        }
    }

    pub fn label_it(self) -> &'static str {
        match self {
            Category::PrivatePerson => "Persona fisica",
            Category::Company => "Società o ente",
            Category::Professional => "Professionista",
            Category::Intermediary => "Intermediario",
            Category::CourtAuxiliary => "Ausiliario del giudice (CTU)",
            Category::PublicEmployee => "Dipendente pubblico",
            Category::ContractorEmployee => {
                "Dipendente di concessionario o azienda municipalizzata"
            }
        }
    }

    pub fn from_code(code: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.code() == code)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    PendingActivation,
    Active,
    Disabled,
    Deleted,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::PendingActivation => "pending_activation",
            Status::Active => "active",
            Status::Disabled => "disabled",
            Status::Deleted => "deleted",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        [
            Status::PendingActivation,
            Status::Active,
            Status::Disabled,
            Status::Deleted,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

const DAY: i64 = 86_400_000_000;
const SECOND: i64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordAge {
    Valid,
    /// Expires within the warning period: whole days left.
    ExpiresSoon {
        days_left: i64,
    },
    /// Past its maximum age: it may only be changed.
    Expired,
}

/// Times in microseconds since the epoch (UTC).
pub fn password_age(
    changed_at: i64,
    now: i64,
    max_age_days: u32,
    warning_days: u32,
) -> PasswordAge {
    let expires_at = changed_at + i64::from(max_age_days) * DAY;
    if now >= expires_at {
        PasswordAge::Expired
    } else if now >= expires_at - i64::from(warning_days) * DAY {
        PasswordAge::ExpiresSoon {
            days_left: (expires_at - now + DAY - 1) / DAY,
        }
    } else {
        PasswordAge::Valid
    }
}

/// Limits on guessing passwords.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures in a row after which each further attempt waits longer.
    pub free_failures: u32,
    /// Failures in a row that lock the account.
    pub lockout_failures: u32,
    pub lockout_minutes: i64,
    /// Failures from one address within the window that block the address.
    pub address_failures: u32,
    pub address_window_minutes: i64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 3,
            lockout_failures: 5,
            lockout_minutes: 15,
            address_failures: 20,
            address_window_minutes: 15,
        }
    }
}

/// What an account's failure record allows right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// Too soon after the last failure: try again in this many seconds.
    Wait {
        seconds: i64,
    },
    /// Locked until the given instant (microseconds).
    Locked {
        until: i64,
    },
}

/// The failure record of one account or address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    pub last_at: i64,
    pub locked_until: Option<i64>,
}

impl ThrottlePolicy {
    /// Delay imposed after `count` failures: none for the first few, then
    /// doubling from one second.
    pub fn delay_after(&self, count: u32) -> i64 {
        if count < self.free_failures {
            0
        } else {
            SECOND << (count - self.free_failures).min(10)
        }
    }

    pub fn account_gate(&self, f: &Failures, now: i64) -> Gate {
        if let Some(until) = f.locked_until
            && now < until
        {
            return Gate::Locked { until };
        }
        let ready_at = f.last_at + self.delay_after(f.count);
        if f.count > 0 && now < ready_at {
            Gate::Wait {
                seconds: (ready_at - now + SECOND - 1) / SECOND,
            }
        } else {
            Gate::Open
        }
    }

    /// The record after one more failure, and whether it locked the account now.
    pub fn account_failure(&self, f: &Failures, now: i64) -> (Failures, bool) {
        let expired_lock = f.locked_until.is_some_and(|u| now >= u);
        let count = if expired_lock { 1 } else { f.count + 1 };
        let lock = count >= self.lockout_failures;
        (
            Failures {
                count,
                last_at: now,
                locked_until: lock.then_some(now + self.lockout_minutes * 60 * SECOND),
            },
            lock,
        )
    }

    /// Address limit: failures counted in a sliding window that restarts
    /// when it has passed.
    pub fn address_gate(&self, f: &Failures, now: i64) -> Gate {
        match f.locked_until {
            Some(until) if now < until => Gate::Locked { until },
            _ => Gate::Open,
        }
    }

    pub fn address_failure(&self, f: &Failures, now: i64) -> Failures {
        let window = self.address_window_minutes * 60 * SECOND;
        let (count, start) = if now - f.last_at > window || f.locked_until.is_some_and(|u| now >= u)
        {
            (1, now)
        } else {
            (f.count + 1, f.last_at)
        };
        Failures {
            count,
            // For addresses `last_at` holds the window start.
            last_at: start,
            locked_until: (count >= self.address_failures).then_some(now + window),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn password_ages() {
        let changed = 1_000 * DAY;
        assert_eq!(
            password_age(changed, changed + 10 * DAY, 90, 14),
            PasswordAge::Valid
        );
        assert_eq!(
            password_age(changed, changed + 80 * DAY, 90, 14),
            PasswordAge::ExpiresSoon { days_left: 10 }
        );
        assert_eq!(
            password_age(changed, changed + 90 * DAY, 90, 14),
            PasswordAge::Expired
        );
    }

    #[test]
    fn progressive_delay_then_lockout() {
        let p = ThrottlePolicy::default();
        let mut f = Failures::default();
        let mut now = 1_000 * SECOND;
        for i in 1..=4 {
            assert_eq!(p.account_gate(&f, now), Gate::Open, "attempt {i}");
            let (next, locked) = p.account_failure(&f, now);
            assert!(!locked);
            f = next;
            now += SECOND / 2;
            if i >= 3 {
                assert!(
                    matches!(p.account_gate(&f, now), Gate::Wait { .. }),
                    "attempt {i} should wait"
                );
                now += p.delay_after(f.count);
            }
        }
        let (f, locked) = p.account_failure(&f, now);
        assert!(locked);
        assert!(matches!(
            p.account_gate(&f, now + SECOND),
            Gate::Locked { .. }
        ));
        // After the lock expires the count starts again.
        let later = now + 16 * 60 * SECOND;
        assert_eq!(p.account_gate(&f, later), Gate::Open);
        assert_eq!(p.account_failure(&f, later).0.count, 1);
    }

    #[test]
    fn address_blocks_after_many_failures_in_the_window() {
        let p = ThrottlePolicy {
            address_failures: 3,
            ..Default::default()
        };
        let mut f = Failures::default();
        let now = 10_000 * SECOND;
        for _ in 0..3 {
            assert_eq!(p.address_gate(&f, now), Gate::Open);
            f = p.address_failure(&f, now);
        }
        assert!(matches!(p.address_gate(&f, now), Gate::Locked { .. }));
        assert_eq!(p.address_gate(&f, now + 16 * 60 * SECOND), Gate::Open);
    }

    proptest! {
        #[test]
        fn a_lock_always_follows_enough_failures(times in proptest::collection::vec(0i64..10_000_000, 5..20)) {
            let p = ThrottlePolicy::default();
            let mut f = Failures::default();
            let mut now = 0i64;
            let mut locked_once = false;
            for dt in times {
                now += dt;
                let (next, locked) = p.account_failure(&f, now);
                locked_once |= locked;
                f = next;
            }
            prop_assert!(locked_once);
        }
    }
}
