//! Retry policy for outgoing work (mail, deliveries): exponential backoff with
//! a cap, then a dead-letter state an administrator sees.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub max_attempts: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    RetryIn(Duration),
    GiveUp,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(3600),
            max_attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// What to do after `attempts` failed attempts (1 after the first failure).
    /// `jitter` in [0, 1) spreads retries of many messages over time.
    pub fn after_failure(&self, attempts: u32, jitter: f64) -> AfterFailure {
        if attempts >= self.max_attempts {
            return AfterFailure::GiveUp;
        }
        let exp = attempts.saturating_sub(1).min(30);
        let raw = self.base_delay.saturating_mul(1u32 << exp);
        let capped = raw.min(self.max_delay);
        let jitter = jitter.clamp(0.0, 0.999);
        // Up to +25% so that a burst of failures does not retry in lock-step.
        let spread = capped.mul_f64(1.0 + jitter * 0.25);
        AfterFailure::RetryIn(spread.min(self.max_delay.mul_f64(1.25)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn doubles_then_caps_then_gives_up() {
        let p = RetryPolicy {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            max_attempts: 6,
        };
        assert_eq!(
            p.after_failure(1, 0.0),
            AfterFailure::RetryIn(Duration::from_secs(1))
        );
        assert_eq!(
            p.after_failure(2, 0.0),
            AfterFailure::RetryIn(Duration::from_secs(2))
        );
        assert_eq!(
            p.after_failure(4, 0.0),
            AfterFailure::RetryIn(Duration::from_secs(8))
        );
        assert_eq!(
            p.after_failure(5, 0.0),
            AfterFailure::RetryIn(Duration::from_secs(10))
        );
        assert_eq!(p.after_failure(6, 0.0), AfterFailure::GiveUp);
    }

    proptest! {
        #[test]
        fn delays_never_decrease_and_stay_bounded(base in 1u64..5000, max in 5000u64..100_000, n in 1u32..40) {
            let p = RetryPolicy { base_delay: Duration::from_millis(base), max_delay: Duration::from_millis(max), max_attempts: 50 };
            let mut last = Duration::ZERO;
            for a in 1..=n {
                match p.after_failure(a, 0.0) {
                    AfterFailure::RetryIn(d) => { prop_assert!(d >= last); prop_assert!(d <= Duration::from_millis(max)); last = d; }
                    AfterFailure::GiveUp => prop_assert!(false, "gave up too early"),
                }
            }
        }
    }
}
