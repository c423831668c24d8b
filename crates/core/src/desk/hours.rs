//! Opening hours of an office or channel, in a time zone (Europe/Rome in
//! practice), with holidays. Service-level targets count only open time, so
//! the arithmetic here works on civil days and converts each window end to an
//! instant: a day of a DST change is 23 or 25 hours long and that must show.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use serde::{Deserialize, Serialize};

const MINUTES_PER_DAY: u16 = 24 * 60;
/// How far ahead a search for the next opening goes before giving up.
const SEARCH_DAYS: u32 = 400;

const DAY_CODES: [&str; 7] = ["lun", "mar", "mer", "gio", "ven", "sab", "dom"];
const DAY_NAMES: [&str; 7] = [
    "lunedì",
    "martedì",
    "mercoledì",
    "giovedì",
    "venerdì",
    "sabato",
    "domenica",
];
const DAY_ALIASES: [&[&str]; 7] = [
    &["lun", "lunedi", "lunedì", "mon", "monday"],
    &["mar", "martedi", "martedì", "tue", "tuesday"],
    &["mer", "mercoledi", "mercoledì", "wed", "wednesday"],
    &["gio", "giovedi", "giovedì", "thu", "thursday"],
    &["ven", "venerdi", "venerdì", "fri", "friday"],
    &["sab", "sabato", "sat", "saturday"],
    &["dom", "domenica", "sun", "sunday"],
];
const EVERY_DAY: [&str; 5] = [
    "tutti i giorni",
    "ogni giorno",
    "every day",
    "daily",
    "all days",
];
const ALWAYS: [&str; 4] = ["sempre", "always", "24/7", "h24"];
const CLOSED: [&str; 2] = ["chiuso", "closed"];
const NATIONAL: [&str; 3] = [
    "festività nazionali",
    "festivita nazionali",
    "national holidays",
];

/// An opening window within a day, in minutes since midnight, `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    pub start: u16,
    pub end: u16,
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

/// Weekly windows (Monday first) and holidays. Serialized as its text form so
/// that a stored value goes through the same validation as an edited one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "OpeningHoursSpec", into = "OpeningHoursSpec")]
pub struct OpeningHours {
    weekly: [Vec<Window>; 7],
    dates: BTreeSet<Date>,
    /// (month, day), every year.
    recurring: BTreeSet<(i8, i8)>,
    national: bool,
}

/// The text form of [`OpeningHours`], as an administrator writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningHoursSpec {
    pub weekly: String,
    pub holidays: String,
}

impl TryFrom<OpeningHoursSpec> for OpeningHours {
    type Error = HoursError;
    fn try_from(spec: OpeningHoursSpec) -> Result<Self, HoursError> {
        OpeningHours::parse(&spec.weekly, &spec.holidays)
    }
}

impl From<OpeningHours> for OpeningHoursSpec {
    fn from(hours: OpeningHours) -> Self {
        let (weekly, holidays) = hours.to_spec();
        OpeningHoursSpec { weekly, holidays }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error(
        "orario settimanale: giorno non riconosciuto «{0}» (usare lun, mar, mer, gio, ven, sab, dom)"
    )]
    UnknownDay(String),
    #[error("orario settimanale: nel gruppo «{0}» mancano i giorni (es. «lun-ven 08:30-13:00»)")]
    MissingDays(String),
    #[error(
        "orario settimanale: nel gruppo «{0}» mancano le fasce orarie (es. «lun-ven 08:30-13:00»)"
    )]
    MissingWindows(String),
    #[error("orario settimanale: orario non valido «{0}» (formato hh:mm, da 00:00 a 24:00)")]
    BadTime(String),
    #[error("orario settimanale: fascia oraria non valida «{0}» (formato hh:mm-hh:mm)")]
    BadWindow(String),
    #[error("orario settimanale: nella fascia «{0}» l'apertura deve precedere la chiusura")]
    EmptyWindow(String),
    #[error("orario settimanale: {day}, le fasce «{first}» e «{second}» si sovrappongono")]
    Overlap {
        day: String,
        first: String,
        second: String,
    },
    #[error("orario settimanale: {0} risulta sia aperto sia chiuso")]
    OpenAndClosed(String),
    #[error(
        "festività: voce non riconosciuta «{0}» (usare aaaa-mm-gg, gg-mm, gg/mm o «festività nazionali»)"
    )]
    UnknownHoliday(String),
    #[error("festività: la data «{0}» non esiste")]
    InvalidDate(String),
}

impl OpeningHours {
    pub fn parse(weekly: &str, holidays: &str) -> Result<OpeningHours, HoursError> {
        let weekly = parse_weekly(weekly)?;
        let mut hours = OpeningHours {
            weekly,
            dates: BTreeSet::new(),
            recurring: BTreeSet::new(),
            national: false,
        };
        parse_holidays(holidays, &mut hours)?;
        Ok(hours)
    }

    /// Open 24/7, no holidays.
    pub fn always() -> OpeningHours {
        OpeningHours {
            weekly: std::array::from_fn(|_| vec![full_day()]),
            dates: BTreeSet::new(),
            recurring: BTreeSet::new(),
            national: false,
        }
    }

    /// The windows of a weekday (0 = Monday).
    pub fn windows(&self, monday_zero_offset: usize) -> &[Window] {
        self.weekly
            .get(monday_zero_offset)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Canonical `(weekly, holidays)` text that `parse` reads back equal.
    pub fn to_spec(&self) -> (String, String) {
        (self.weekly_spec(), self.holidays_spec())
    }

    fn weekly_spec(&self) -> String {
        if self.weekly.iter().all(Vec::is_empty) {
            return CLOSED[0].to_string();
        }
        if self.weekly.iter().all(|w| w == &[full_day()]) {
            return ALWAYS[0].to_string();
        }
        if self.weekly.iter().all(|w| w == &self.weekly[0]) {
            return format!("{} {}", EVERY_DAY[0], windows_text(&self.weekly[0]));
        }
        let mut done = [false; 7];
        let mut groups = Vec::new();
        for day in 0..7 {
            if done[day] || self.weekly[day].is_empty() {
                continue;
            }
            let same: Vec<usize> = (day..7)
                .filter(|&d| self.weekly[d] == self.weekly[day])
                .collect();
            for &d in &same {
                done[d] = true;
            }
            groups.push(format!(
                "{} {}",
                days_text(&same),
                windows_text(&self.weekly[day])
            ));
        }
        groups.join("; ")
    }

    fn holidays_spec(&self) -> String {
        let mut items = Vec::new();
        if self.national {
            items.push(NATIONAL[0].to_string());
        }
        for d in &self.dates {
            items.push(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()));
        }
        for (month, day) in &self.recurring {
            items.push(format!("{day:02}-{month:02}"));
        }
        items.join(", ")
    }

    pub fn is_holiday(&self, date: Date) -> bool {
        self.dates.contains(&date)
            || self.recurring.contains(&(date.month(), date.day()))
            || (self.national && is_national_holiday(date))
    }

    /// `at` is microseconds since the Unix epoch (UTC).
    pub fn is_open(&self, at: i64, tz: &TimeZone) -> bool {
        let Ok(ts) = Timestamp::from_microsecond(at) else {
            return false;
        };
        let date = tz.to_datetime(ts).date();
        // Neighbouring days too: a fold can put an instant of one civil day
        // among the instants of the next.
        [date.yesterday().ok(), Some(date), date.tomorrow().ok()]
            .into_iter()
            .flatten()
            .any(|d| {
                self.intervals(d, tz)
                    .iter()
                    .any(|&(s, e)| s <= at && at < e)
            })
    }

    /// The first open instant at or after `at`; None if closed for the next
    /// ~400 days.
    pub fn next_opening(&self, at: i64, tz: &TimeZone) -> Option<i64> {
        let ts = Timestamp::from_microsecond(at).ok()?;
        let mut day = tz.to_datetime(ts).date();
        day = day.yesterday().unwrap_or(day);
        for _ in 0..SEARCH_DAYS + 2 {
            if let Some(&(s, _)) = self.intervals(day, tz).iter().find(|&&(_, e)| e > at) {
                return Some(s.max(at));
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// Microseconds of open time in `[from, to)`.
    pub fn open_micros_between(&self, from: i64, to: i64, tz: &TimeZone) -> i64 {
        let min = Timestamp::MIN.as_microsecond();
        let max = Timestamp::MAX.as_microsecond();
        let (from, to) = (from.clamp(min, max), to.clamp(min, max));
        if to <= from {
            return 0;
        }
        let (Ok(f), Ok(t)) = (
            Timestamp::from_microsecond(from),
            Timestamp::from_microsecond(to),
        ) else {
            return 0;
        };
        let first = tz.to_datetime(f).date();
        let last = tz.to_datetime(t).date();
        let last = last.tomorrow().unwrap_or(last);
        let mut day = first.yesterday().unwrap_or(first);
        let mut total = 0i64;
        loop {
            for (s, e) in self.intervals(day, tz) {
                let overlap = e.min(to) - s.max(from);
                if overlap > 0 {
                    total += overlap;
                }
            }
            if day >= last {
                return total;
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => return total,
            }
        }
    }

    /// The instant when `amount` µs of open time have elapsed after `from`:
    /// the earliest `t` with `open_micros_between(from, t) == amount`. None if
    /// the hours stop opening (no open time for ~400 days in a row).
    pub fn add_open_micros(&self, from: i64, amount: i64, tz: &TimeZone) -> Option<i64> {
        let ts = Timestamp::from_microsecond(from).ok()?;
        if amount <= 0 {
            return Some(from);
        }
        let mut remaining = amount;
        let mut day = tz.to_datetime(ts).date();
        day = day.yesterday().unwrap_or(day);
        let mut idle_days = 0;
        loop {
            let mut opened = false;
            for (s, e) in self.intervals(day, tz) {
                if e <= from {
                    continue;
                }
                opened = true;
                let s = s.max(from);
                let len = e - s;
                if remaining <= len {
                    return Some(s + remaining);
                }
                remaining -= len;
            }
            if opened {
                idle_days = 0;
            } else {
                idle_days += 1;
                if idle_days > SEARCH_DAYS + 1 {
                    return None;
                }
            }
            day = day.tomorrow().ok()?;
        }
    }

    /// The open intervals of one civil day as `[start, end)` instants in µs,
    /// ascending and disjoint.
    fn intervals(&self, date: Date, tz: &TimeZone) -> Vec<(i64, i64)> {
        let windows = &self.weekly[date.weekday().to_monday_zero_offset() as usize];
        if windows.is_empty() || self.is_holiday(date) {
            return Vec::new();
        }
        let next_midnight = date
            .tomorrow()
            .ok()
            .and_then(|d| first_instant(tz, d.at(0, 0, 0, 0)));
        windows
            .iter()
            .filter_map(|w| {
                let start = first_instant(tz, civil_at(date, w.start))?;
                let end = if w.end == MINUTES_PER_DAY {
                    next_midnight?
                } else {
                    first_instant(tz, civil_at(date, w.end))?
                };
                (start < end).then_some((start, end))
            })
            .collect()
    }
}

fn full_day() -> Window {
    Window {
        start: 0,
        end: MINUTES_PER_DAY,
    }
}

fn civil_at(date: Date, minutes: u16) -> DateTime {
    date.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0)
}

/// The first instant whose local time is at or after `dt`: the first
/// occurrence in a fold, the end of the gap when `dt` was skipped. Being
/// monotone, it keeps the intervals of a day disjoint and ordered.
fn first_instant(tz: &TimeZone, dt: DateTime) -> Option<i64> {
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    match ambiguous.offset() {
        AmbiguousOffset::Gap { after, .. } => {
            // `dt` read with the later offset falls just before the jump.
            let before_jump = after.to_timestamp(dt).ok()?;
            tz.following(before_jump)
                .next()
                .map(|t| t.timestamp().as_microsecond())
        }
        _ => ambiguous.earlier().ok().map(|t| t.as_microsecond()),
    }
}

/// Easter Sunday in the Gregorian calendar (anonymous Gregorian computus).
pub fn easter_sunday(year: i16) -> Date {
    let y = i32::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    // Always between 22 March and 25 April, so the date exists.
    jiff::civil::date(year, (n / 31) as i8, (n % 31 + 1) as i8)
}

/// Italian national holidays (L. 260/1949 and later changes).
pub fn is_national_holiday(date: Date) -> bool {
    let fixed = matches!(
        (date.month(), date.day()),
        (1, 1)
            | (1, 6)
            | (4, 25)
            | (5, 1)
            | (6, 2)
            | (8, 15)
            | (11, 1)
            | (12, 8)
            | (12, 25)
            | (12, 26)
    );
    fixed || easter_sunday(date.year()).tomorrow().ok() == Some(date)
}

fn normalize_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse_weekly(text: &str) -> Result<[Vec<Window>; 7], HoursError> {
    let mut weekly: [Vec<Window>; 7] = Default::default();
    let whole = normalize_spaces(&text.to_lowercase());
    if ALWAYS.contains(&whole.as_str()) {
        return Ok(std::array::from_fn(|_| vec![full_day()]));
    }
    if whole.is_empty() || CLOSED.contains(&whole.as_str()) {
        return Ok(weekly);
    }
    let mut closed = [false; 7];
    for group in text.split([';', '\n']) {
        let group = group.trim();
        if group.is_empty() {
            continue;
        }
        let (days_text, windows) = split_group(group)?;
        let days = parse_days(days_text, group)?;
        for (day, on) in days.iter().enumerate() {
            match (&windows, on) {
                (Some(w), true) => weekly[day].extend(w.iter().copied()),
                (None, true) => closed[day] = true,
                _ => {}
            }
        }
    }
    for (day, windows) in weekly.iter_mut().enumerate() {
        if closed[day] && !windows.is_empty() {
            return Err(HoursError::OpenAndClosed(DAY_NAMES[day].to_string()));
        }
        windows.sort();
        for pair in windows.windows(2) {
            if pair[1].start < pair[0].end {
                return Err(HoursError::Overlap {
                    day: DAY_NAMES[day].to_string(),
                    first: pair[0].to_string(),
                    second: pair[1].to_string(),
                });
            }
        }
    }
    Ok(weekly)
}

/// Splits "lun-ven 08:30-13:00, 14:00-17:00" at the first digit into the days
/// and the parsed windows; "sab chiuso" gives None.
fn split_group(group: &str) -> Result<(&str, Option<Vec<Window>>), HoursError> {
    let Some(pos) = group.find(|c: char| c.is_ascii_digit()) else {
        for word in CLOSED {
            let cut = group.len().saturating_sub(word.len());
            if group.is_char_boundary(cut) && group[cut..].eq_ignore_ascii_case(word) {
                let days = group[..cut].trim().trim_end_matches(':').trim();
                if days.is_empty() {
                    return Err(HoursError::MissingDays(group.to_string()));
                }
                return Ok((days, None));
            }
        }
        return Err(HoursError::MissingWindows(group.to_string()));
    };
    let days = group[..pos].trim().trim_end_matches(':').trim();
    if days.is_empty() {
        return Err(HoursError::MissingDays(group.to_string()));
    }
    let mut windows = Vec::new();
    for piece in group[pos..].split(',') {
        if piece.trim().is_empty() {
            continue;
        }
        windows.push(parse_window(piece.trim())?);
    }
    Ok((days, Some(windows)))
}

fn parse_window(text: &str) -> Result<Window, HoursError> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '–' { '-' } else { c })
        .collect();
    let Some((a, b)) = compact.split_once('-') else {
        return Err(HoursError::BadWindow(text.to_string()));
    };
    if b.contains('-') {
        return Err(HoursError::BadWindow(text.to_string()));
    }
    let start = parse_time(a)?;
    let end = parse_time(b)?;
    if start == MINUTES_PER_DAY {
        return Err(HoursError::BadTime(a.to_string()));
    }
    if start >= end {
        return Err(HoursError::EmptyWindow(text.to_string()));
    }
    Ok(Window { start, end })
}

/// "8", "08", "8:30", "08.30" or "24:00", in minutes.
fn parse_time(text: &str) -> Result<u16, HoursError> {
    let bad = || HoursError::BadTime(text.to_string());
    let (h, m) = match text.split_once([':', '.']) {
        Some((h, m)) => (h, m),
        None => (text, "00"),
    };
    let digits =
        |s: &str, lens: &[usize]| lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h, &[1, 2]) || !digits(m, &[2]) {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn day_index(text: &str) -> Option<usize> {
    let t = text.trim().to_lowercase();
    DAY_ALIASES
        .iter()
        .position(|aliases| aliases.contains(&t.as_str()))
}

/// "lun-ven", "lun,mer", "ven-lun" (wrapping), "tutti i giorni".
fn parse_days(text: &str, group: &str) -> Result<[bool; 7], HoursError> {
    let mut days = [false; 7];
    if EVERY_DAY.contains(&normalize_spaces(&text.to_lowercase()).as_str()) {
        return Ok([true; 7]);
    }
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(HoursError::MissingDays(group.to_string()));
        }
        let unknown = |s: &str| HoursError::UnknownDay(s.trim().to_string());
        match item.split_once(['-', '–']) {
            Some((a, b)) => {
                let first = day_index(a).ok_or_else(|| unknown(a))?;
                let last = day_index(b).ok_or_else(|| unknown(b))?;
                let mut d = first;
                loop {
                    days[d] = true;
                    if d == last {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[day_index(item).ok_or_else(|| unknown(item))?] = true,
        }
    }
    Ok(days)
}

/// Day indices as runs: [0,1,2,4] -> "lun-mer,ven".
fn days_text(days: &[usize]) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &d in days {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == d => *end = d,
            _ => runs.push((d, d)),
        }
    }
    runs.iter()
        .map(|&(a, b)| {
            if a == b {
                DAY_CODES[a].to_string()
            } else {
                format!("{}-{}", DAY_CODES[a], DAY_CODES[b])
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn windows_text(windows: &[Window]) -> String {
    windows
        .iter()
        .map(Window::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_holidays(text: &str, hours: &mut OpeningHours) -> Result<(), HoursError> {
    for item in text.split([',', ';', '\n']) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        if NATIONAL.contains(&normalize_spaces(&item.to_lowercase()).as_str()) {
            hours.national = true;
            continue;
        }
        let unknown = || HoursError::UnknownHoliday(item.to_string());
        let invalid = || HoursError::InvalidDate(item.to_string());
        let parts: Vec<&str> = item.split(['-', '/']).collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(unknown());
        }
        let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        let num = |i: usize| parts[i].parse::<i16>().map_err(|_| unknown());
        match lens.as_slice() {
            [4, 1..=2, 1..=2] => {
                let date = make_date(num(0)?, num(1)?, num(2)?).ok_or_else(invalid)?;
                hours.dates.insert(date);
            }
            [1..=2, 1..=2, 4] => {
                let date = make_date(num(2)?, num(1)?, num(0)?).ok_or_else(invalid)?;
                hours.dates.insert(date);
            }
            [1..=2, 1..=2] => {
                // A leap year, so that 29-02 is accepted.
                let date = make_date(2000, num(1)?, num(0)?).ok_or_else(invalid)?;
                hours.recurring.insert((date.month(), date.day()));
            }
            _ => return Err(unknown()),
        }
    }
    Ok(())
}

fn make_date(year: i16, month: i16, day: i16) -> Option<Date> {
    Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    const MINUTE: i64 = 60_000_000;
    const HOUR: i64 = 60 * MINUTE;

    fn rome() -> TimeZone {
        TimeZone::get("Europe/Rome").unwrap()
    }

    /// Local time in Rome as µs UTC.
    fn at(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
        date(y, mo, d)
            .at(h, mi, 0, 0)
            .to_zoned(rome())
            .unwrap()
            .timestamp()
            .as_microsecond()
    }

    fn office() -> OpeningHours {
        OpeningHours::parse(
            "lun-ven 08:30-13:00, 14:00-17:00; sab 08:30-12:00",
            "festività nazionali",
        )
        .unwrap()
    }

    #[test]
    fn easter_known_dates() {
        for (y, m, d) in [
            (1818, 3, 22),
            (2000, 4, 23),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(y), date(y, m, d), "{y}");
        }
    }

    #[test]
    fn national_holidays() {
        let h = OpeningHours::parse("sempre", "festivita  nazionali").unwrap();
        for (m, d) in [
            (1, 1),
            (1, 6),
            (4, 25),
            (5, 1),
            (6, 2),
            (8, 15),
            (11, 1),
            (12, 8),
            (12, 25),
            (12, 26),
        ] {
            assert!(h.is_holiday(date(2026, m, d)), "{d}/{m}");
        }
        assert!(h.is_holiday(date(2026, 4, 6)), "Easter Monday");
        assert!(
            !h.is_holiday(date(2026, 4, 5)),
            "Easter Sunday is a Sunday, not listed"
        );
        assert!(!h.is_holiday(date(2026, 3, 19)));
        assert!(!OpeningHours::always().is_holiday(date(2026, 12, 25)));
    }

    #[test]
    fn fixed_and_recurring_holidays() {
        let h = OpeningHours::parse("sempre", "2026-12-07, 14/02\n29-02; 31/12/2026").unwrap();
        assert!(h.is_holiday(date(2026, 12, 7)));
        assert!(!h.is_holiday(date(2027, 12, 7)));
        assert!(h.is_holiday(date(2030, 2, 14)));
        assert!(h.is_holiday(date(2028, 2, 29)));
        assert!(h.is_holiday(date(2026, 12, 31)));
        assert!(!h.is_holiday(date(2027, 12, 31)));
        assert_eq!(
            h.to_spec().1,
            "2026-12-07, 2026-12-31, 14-02, 29-02".to_string()
        );
    }

    #[test]
    fn weekly_forms() {
        let h = office();
        assert_eq!(
            h.windows(0),
            &[
                Window {
                    start: 510,
                    end: 780
                },
                Window {
                    start: 840,
                    end: 1020
                }
            ]
        );
        assert_eq!(
            h.windows(5),
            &[Window {
                start: 510,
                end: 720
            }]
        );
        assert!(h.windows(6).is_empty());
        let every = OpeningHours::parse("tutti i giorni 00:00-24:00", "").unwrap();
        assert_eq!(every, OpeningHours::always());
        let english = OpeningHours::parse("Mon,Wed 9-12\nsat - sun: 10.00-11.00", "").unwrap();
        assert_eq!(
            english.windows(0),
            &[Window {
                start: 540,
                end: 720
            }]
        );
        assert!(english.windows(1).is_empty());
        assert_eq!(english.windows(2), english.windows(0));
        assert_eq!(
            english.windows(6),
            &[Window {
                start: 600,
                end: 660
            }]
        );
        let wrap = OpeningHours::parse("ven-lun 10:00-11:00", "").unwrap();
        let open: Vec<usize> = (0..7).filter(|&d| !wrap.windows(d).is_empty()).collect();
        assert_eq!(open, vec![0, 4, 5, 6]);
        let closed = OpeningHours::parse("", "").unwrap();
        assert!((0..7).all(|d| closed.windows(d).is_empty()));
        let weekend_closed =
            OpeningHours::parse("lun-ven 07:00-23:00; sab-dom: chiuso", "").unwrap();
        assert_eq!(
            weekend_closed.windows(4),
            &[Window {
                start: 420,
                end: 1380
            }]
        );
        assert!(weekend_closed.windows(5).is_empty() && weekend_closed.windows(6).is_empty());
    }

    #[test]
    fn weekly_errors_name_the_text() {
        let err = |w: &str| OpeningHours::parse(w, "").unwrap_err();
        assert_eq!(
            err("lun-ven 08:00-12:00, 11:00-14:00"),
            HoursError::Overlap {
                day: "lunedì".into(),
                first: "08:00-12:00".into(),
                second: "11:00-14:00".into(),
            }
        );
        assert!(
            matches!(err("lun-ven 08:00-12:00; ven 11:00-14:00"), HoursError::Overlap { day, .. } if day == "venerdì")
        );
        assert_eq!(
            err("lun 13:00-12:00"),
            HoursError::EmptyWindow("13:00-12:00".into())
        );
        assert_eq!(
            err("lun 12:00-12:00"),
            HoursError::EmptyWindow("12:00-12:00".into())
        );
        assert_eq!(err("lun 08:00-25:00"), HoursError::BadTime("25:00".into()));
        assert_eq!(err("lun 08:61-10:00"), HoursError::BadTime("08:61".into()));
        assert_eq!(err("lun 24:00-24:00"), HoursError::BadTime("24:00".into()));
        assert_eq!(err("lun 08:00"), HoursError::BadWindow("08:00".into()));
        assert_eq!(
            err("lux-ven 08:00-12:00"),
            HoursError::UnknownDay("lux".into())
        );
        assert_eq!(
            err("08:00-12:00"),
            HoursError::MissingDays("08:00-12:00".into())
        );
        assert_eq!(err("lun-ven"), HoursError::MissingWindows("lun-ven".into()));
        assert_eq!(
            err("lun-sab 07:00-23:00; sab chiuso"),
            HoursError::OpenAndClosed("sabato".into())
        );
        assert_eq!(
            err("lun 13:00-12:00").to_string(),
            "orario settimanale: nella fascia «13:00-12:00» l'apertura deve precedere la chiusura"
        );
        assert_eq!(
            err("lun-ven 08:00-12:00, 11:00-14:00").to_string(),
            "orario settimanale: lunedì, le fasce «08:00-12:00» e «11:00-14:00» si sovrappongono"
        );
    }

    #[test]
    fn holiday_errors_name_the_text() {
        let err = |h: &str| OpeningHours::parse("sempre", h).unwrap_err();
        assert_eq!(err("31-02"), HoursError::InvalidDate("31-02".into()));
        assert_eq!(
            err("2026-13-01"),
            HoursError::InvalidDate("2026-13-01".into())
        );
        assert_eq!(err("natale"), HoursError::UnknownHoliday("natale".into()));
        assert_eq!(err("2026-12"), HoursError::UnknownHoliday("2026-12".into()));
        assert!(
            err("natale")
                .to_string()
                .starts_with("festività: voce non riconosciuta «natale»")
        );
    }

    #[test]
    fn canonical_spec() {
        assert_eq!(
            office().to_spec(),
            (
                "lun-ven 08:30-13:00, 14:00-17:00; sab 08:30-12:00".to_string(),
                "festività nazionali".to_string()
            )
        );
        assert_eq!(OpeningHours::always().to_spec().0, "sempre");
        let h = OpeningHours::parse("lun,mer,ven 9-12; mar 9-10", "").unwrap();
        assert_eq!(h.to_spec().0, "lun,mer,ven 09:00-12:00; mar 09:00-10:00");
        let every = OpeningHours::parse("daily 9-12", "").unwrap();
        assert_eq!(every.to_spec().0, "tutti i giorni 09:00-12:00");
        assert_eq!(
            OpeningHours::parse("chiuso", "").unwrap().to_spec().0,
            "chiuso"
        );
    }

    #[test]
    fn serde_goes_through_the_text_form() {
        let spec = OpeningHoursSpec::from(office());
        assert_eq!(OpeningHours::try_from(spec).unwrap(), office());
        let bad = OpeningHoursSpec {
            weekly: "lun 9-8".into(),
            holidays: String::new(),
        };
        assert!(OpeningHours::try_from(bad).is_err());
    }

    #[test]
    fn open_and_closed_instants() {
        let tz = rome();
        let h = office();
        // Monday 2 March 2026.
        assert!(!h.is_open(at(2026, 3, 2, 8, 29), &tz));
        assert!(h.is_open(at(2026, 3, 2, 8, 30), &tz));
        assert!(h.is_open(at(2026, 3, 2, 12, 59), &tz));
        assert!(!h.is_open(at(2026, 3, 2, 13, 0), &tz));
        assert!(h.is_open(at(2026, 3, 7, 11, 0), &tz), "Saturday morning");
        assert!(!h.is_open(at(2026, 3, 8, 11, 0), &tz), "Sunday");
        assert!(!h.is_open(at(2026, 4, 6, 10, 0), &tz), "Easter Monday");
        assert!(!h.is_open(i64::MAX, &tz));
    }

    #[test]
    fn next_opening_skips_nights_weekends_and_holidays() {
        let tz = rome();
        let h = office();
        let now = at(2026, 3, 2, 10, 0);
        assert_eq!(h.next_opening(now, &tz), Some(now));
        assert_eq!(
            h.next_opening(at(2026, 3, 2, 13, 30), &tz),
            Some(at(2026, 3, 2, 14, 0))
        );
        assert_eq!(
            h.next_opening(at(2026, 3, 6, 18, 0), &tz),
            Some(at(2026, 3, 7, 8, 30))
        );
        assert_eq!(
            h.next_opening(at(2026, 3, 7, 12, 30), &tz),
            Some(at(2026, 3, 9, 8, 30))
        );
        // Christmas Eve Thursday evening: 25 and 26 are holidays, 27 is Sunday.
        assert_eq!(
            h.next_opening(at(2026, 12, 24, 18, 0), &tz),
            Some(at(2026, 12, 28, 8, 30))
        );
        // Easter weekend 2026.
        assert_eq!(
            h.next_opening(at(2026, 4, 4, 13, 0), &tz),
            Some(at(2026, 4, 7, 8, 30))
        );
        let never = OpeningHours::parse("chiuso", "").unwrap();
        assert_eq!(never.next_opening(now, &tz), None);
        let every_day_a_holiday = OpeningHours::parse("sempre", "").unwrap();
        assert_eq!(every_day_a_holiday.next_opening(now, &tz), Some(now));
    }

    #[test]
    fn open_time_across_dst_changes() {
        let tz = rome();
        let h = OpeningHours::always();
        // 29 March 2026 lasts 23 hours in Rome, 25 October 2026 lasts 25.
        assert_eq!(
            h.open_micros_between(at(2026, 3, 29, 0, 0), at(2026, 3, 30, 0, 0), &tz),
            23 * HOUR
        );
        assert_eq!(
            h.open_micros_between(at(2026, 10, 25, 0, 0), at(2026, 10, 26, 0, 0), &tz),
            25 * HOUR
        );
        // A window spanning the autumn fold is one hour longer.
        let night = OpeningHours::parse("dom 01:00-04:00", "").unwrap();
        assert_eq!(
            night.open_micros_between(at(2026, 10, 24, 0, 0), at(2026, 10, 27, 0, 0), &tz),
            4 * HOUR
        );
        assert_eq!(
            night.open_micros_between(at(2026, 3, 28, 0, 0), at(2026, 3, 31, 0, 0), &tz),
            2 * HOUR
        );
        // A window starting in the skipped hour opens when the clock jumps.
        let gap = OpeningHours::parse("dom 02:30-04:00", "").unwrap();
        let jump = at(2026, 3, 29, 3, 0);
        assert_eq!(gap.next_opening(at(2026, 3, 29, 0, 0), &tz), Some(jump));
        assert!(gap.is_open(jump + 10 * MINUTE, &tz));
        assert!(!gap.is_open(jump - MINUTE, &tz));
        assert_eq!(
            gap.open_micros_between(jump - HOUR, jump + 2 * HOUR, &tz),
            HOUR
        );
    }

    #[test]
    fn open_time_of_an_office_week() {
        let tz = rome();
        let h = office();
        // Monday 2 to Monday 9 March 2026: 5 × 7.5 h + 3.5 h.
        let week = h.open_micros_between(at(2026, 3, 2, 0, 0), at(2026, 3, 9, 0, 0), &tz);
        assert_eq!(week, 5 * (7 * HOUR + 30 * MINUTE) + 3 * HOUR + 30 * MINUTE);
        assert_eq!(
            h.open_micros_between(at(2026, 3, 9, 0, 0), at(2026, 3, 2, 0, 0), &tz),
            0
        );
    }

    #[test]
    fn deadlines_in_open_time() {
        let tz = rome();
        let h = office();
        // Friday 16:00 plus 8 open hours: 1 h Friday, 3.5 h Saturday, then
        // 3.5 h on Monday from 08:30 = 12:00.
        let due = h.add_open_micros(at(2026, 3, 6, 16, 0), 8 * HOUR, &tz);
        assert_eq!(due, Some(at(2026, 3, 9, 12, 0)));
        // Ending exactly at closing time gives closing time.
        assert_eq!(
            h.add_open_micros(at(2026, 3, 2, 12, 0), HOUR, &tz),
            Some(at(2026, 3, 2, 13, 0))
        );
        assert_eq!(
            h.add_open_micros(at(2026, 3, 2, 12, 0), 0, &tz),
            Some(at(2026, 3, 2, 12, 0))
        );
        let never = OpeningHours::parse("", "").unwrap();
        assert_eq!(
            never.add_open_micros(at(2026, 3, 2, 12, 0), HOUR, &tz),
            None
        );
    }

    /// Random weekly schedules: per day, an even number of distinct minute
    /// boundaries paired into windows.
    fn arb_hours() -> impl Strategy<Value = OpeningHours> {
        let day = proptest::collection::btree_set(0u16..=MINUTES_PER_DAY, 0..6).prop_map(|set| {
            let v: Vec<u16> = set.into_iter().collect();
            v.chunks_exact(2)
                .map(|c| Window {
                    start: c[0],
                    end: c[1],
                })
                .collect::<Vec<_>>()
        });
        (
            proptest::array::uniform7(day),
            any::<bool>(),
            proptest::collection::btree_set((1i8..=12, 1i8..=28), 0..4),
        )
            .prop_map(|(weekly, national, recurring)| OpeningHours {
                weekly,
                dates: [date(2026, 12, 7), date(2027, 3, 1)].into_iter().collect(),
                recurring,
                national,
            })
    }

    /// 2025..2028, around DST changes as often as not.
    fn arb_instant() -> impl Strategy<Value = i64> {
        let start = at(2025, 1, 1, 0, 0);
        let end = at(2028, 1, 1, 0, 0);
        prop_oneof![
            start..end,
            (0usize..4, -3 * 24 * HOUR..3 * 24 * HOUR).prop_map(|(i, off)| {
                [
                    at(2026, 3, 29, 1, 0),
                    at(2026, 10, 25, 1, 0),
                    at(2027, 3, 28, 1, 0),
                    at(2027, 10, 31, 1, 0),
                ][i] + off
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn spec_round_trips(h in arb_hours()) {
            let (weekly, holidays) = h.to_spec();
            prop_assert_eq!(OpeningHours::parse(&weekly, &holidays), Ok(h));
        }

        #[test]
        fn add_then_measure_gives_back_the_amount(h in arb_hours(), from in arb_instant(), amount in 0i64..5 * 24 * HOUR) {
            let tz = rome();
            if let Some(due) = h.add_open_micros(from, amount, &tz) {
                prop_assert!(due >= from);
                prop_assert_eq!(h.open_micros_between(from, due, &tz), amount);
                // The earliest such instant: a moment before, less had elapsed.
                if amount > 0 {
                    prop_assert!(h.open_micros_between(from, due - 1, &tz) < amount);
                }
            } else {
                prop_assert_eq!(h.next_opening(from, &tz), None);
            }
        }

        #[test]
        fn always_adds_wall_clock_time(from in arb_instant(), amount in 0i64..30 * 24 * HOUR) {
            let tz = rome();
            prop_assert_eq!(OpeningHours::always().add_open_micros(from, amount, &tz), Some(from + amount));
        }

        #[test]
        fn next_opening_is_open(h in arb_hours(), from in arb_instant()) {
            let tz = rome();
            match h.next_opening(from, &tz) {
                Some(t) => {
                    prop_assert!(t >= from);
                    prop_assert!(h.is_open(t, &tz));
                    // Nothing open in between.
                    prop_assert_eq!(h.open_micros_between(from, t, &tz), 0);
                }
                None => prop_assert!(!h.is_open(from, &tz)),
            }
        }

        #[test]
        fn open_time_is_additive(h in arb_hours(), a in arb_instant(), b in arb_instant(), c in arb_instant()) {
            let tz = rome();
            let mut v = [a, b, c];
            v.sort();
            let [a, b, c] = v;
            let whole = h.open_micros_between(a, c, &tz);
            prop_assert_eq!(whole, h.open_micros_between(a, b, &tz) + h.open_micros_between(b, c, &tz));
            prop_assert!(whole <= c - a);
        }

        #[test]
        fn is_open_agrees_with_measure(h in arb_hours(), t in arb_instant()) {
            let tz = rome();
            prop_assert_eq!(h.is_open(t, &tz), h.open_micros_between(t, t + 1, &tz) == 1);
        }
    }
}
