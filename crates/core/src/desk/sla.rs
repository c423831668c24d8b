//! Service-level flag of a request: how close the elapsed open time is to the
//! target of its channel.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaFlag {
    Ok,
    Near,
    Breached,
}

impl SlaFlag {
    pub const ALL: [SlaFlag; 3] = [SlaFlag::Ok, SlaFlag::Near, SlaFlag::Breached];

    pub fn code(self) -> &'static str {
        match self {
            SlaFlag::Ok => "ok",
            SlaFlag::Near => "near",
            SlaFlag::Breached => "breached",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    pub fn label_it(self) -> &'static str {
        match self {
            SlaFlag::Ok => "Nei tempi",
            SlaFlag::Near => "In scadenza",
            SlaFlag::Breached => "Scaduta",
        }
    }
}

/// Near from 80% of the target on; Breached when elapsed > target.
/// A target <= 0 means the channel has no target, so nothing is ever late.
pub fn flag(elapsed_micros: i64, target_micros: i64) -> SlaFlag {
    if target_micros <= 0 {
        return SlaFlag::Ok;
    }
    if elapsed_micros > target_micros {
        return SlaFlag::Breached;
    }
    // i128 so that targets near i64::MAX cannot overflow.
    if i128::from(elapsed_micros) * 5 >= i128::from(target_micros) * 4 {
        SlaFlag::Near
    } else {
        SlaFlag::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOUR: i64 = 3_600_000_000;

    #[test]
    fn thresholds() {
        let target = 10 * HOUR;
        assert_eq!(flag(0, target), SlaFlag::Ok);
        assert_eq!(flag(8 * HOUR - 1, target), SlaFlag::Ok);
        assert_eq!(flag(8 * HOUR, target), SlaFlag::Near);
        assert_eq!(flag(target, target), SlaFlag::Near);
        assert_eq!(flag(target + 1, target), SlaFlag::Breached);
    }

    #[test]
    fn no_target_is_never_late() {
        assert_eq!(flag(i64::MAX, 0), SlaFlag::Ok);
        assert_eq!(flag(5, -1), SlaFlag::Ok);
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        assert_eq!(flag(i64::MAX, i64::MAX), SlaFlag::Near);
        assert_eq!(flag(i64::MAX / 2, i64::MAX), SlaFlag::Ok);
    }

    #[test]
    fn codes_round_trip() {
        for f in SlaFlag::ALL {
            assert_eq!(SlaFlag::from_code(f.code()), Some(f));
        }
        assert_eq!(SlaFlag::from_code("late"), None);
        assert_eq!(SlaFlag::Breached.code(), "breached");
    }

    proptest! {
        #[test]
        fn flag_is_monotone_in_elapsed(a in 0i64..1_000_000_000_000, b in 0i64..1_000_000_000_000, target in 1i64..1_000_000_000_000) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(flag(lo, target) <= flag(hi, target));
        }

        #[test]
        fn breached_exactly_past_target(elapsed in 0i64..1_000_000, target in 1i64..1_000_000) {
            prop_assert_eq!(flag(elapsed, target) == SlaFlag::Breached, elapsed > target);
        }
    }
}
