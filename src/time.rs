//! Time as the domain sees it: [`Timestamp`] (Unix milliseconds), [`Ttl`] durations written
//! like `15m`, and the [`Clock`] seam, so every decision takes an explicit `now`.
//!
//! Knows nothing of Redis, HTTP or gRPC.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, in milliseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

// === impl Timestamp ===

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch, rounded down.
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(ms))
    }

    pub fn saturating_sub(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_sub(ms))
    }

    /// Time left until `self`, or zero when `self` is not after `now`.
    pub fn remaining_after(self, now: Timestamp) -> Duration {
        let ms = self.0.saturating_sub(now.0).max(0);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// The earliest and latest instants RFC 3339 can write here: 1970-01-01T00:00:00.000Z and
    /// 9999-12-31T23:59:59.999Z.
    pub const MIN: Self = Self(0);
    pub const MAX: Self = Self(253_402_300_799_999);

    /// RFC 3339 with millisecond precision, e.g. `2026-11-25T10:00:00.000Z`. An instant outside
    /// [`Self::MIN`]..=[`Self::MAX`] is written as the nearest end (the formatter cannot write
    /// it, and formatting must never fail: it runs inside Checks and API answers).
    pub fn to_rfc3339(self) -> String {
        let ms = self.0.clamp(Self::MIN.0, Self::MAX.0).unsigned_abs();
        humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
    }

    pub fn parse_rfc3339(s: &str) -> Result<Self, String> {
        let t = humantime::parse_rfc3339_weak(s)
            .map_err(|e| format!("`{s}` is not an RFC 3339 time ({e})"))?;
        Ok(Self::from_system(t))
    }

    pub fn from_system(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Self(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Err(e) => Self(-i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX)),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

/// A duration written the human way (`30s`, `15m`, `1h30m`), as used in config and the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ttl(Duration);

// === impl Ttl ===

impl Ttl {
    pub const fn from_duration(d: Duration) -> Self {
        Self(d)
    }

    pub const fn from_secs(s: u64) -> Self {
        Self(Duration::from_secs(s))
    }

    pub const fn from_millis(ms: u64) -> Self {
        Self(Duration::from_millis(ms))
    }

    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// The longest duration accepted anywhere (configuration, policies, manifests, requests,
    /// query parameters): 100 years, far above any real TTL, so time arithmetic on it stays
    /// inside what a timestamp can hold.
    pub const MAX: Self = Self(Duration::from_secs(100 * 365 * 24 * 3600));

    /// Parses `15m`, `1h30m`, `250ms`. A bare number is refused: the unit must be explicit;
    /// so is anything longer than [`Self::MAX`].
    pub fn parse(s: &str) -> Result<Self, String> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err("a duration like `15m` is required, got an empty string".into());
        }
        if trimmed.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "`{trimmed}` has no unit: write a duration like `{trimmed}s` or `{trimmed}m`"
            ));
        }
        let d = humantime::parse_duration(trimmed).map_err(|_| {
            format!("`{trimmed}` is not a duration: write it like `30s`, `15m` or `1h30m`")
        })?;
        if d > Self::MAX.0 {
            return Err(format!(
                "`{trimmed}` is longer than the longest duration jitgate accepts (100 years, `876000h`)"
            ));
        }
        Ok(Self(d))
    }
}

impl fmt::Display for Ttl {
    /// Compact and re-parsable: `99h`, `1h30m`, `45s`, `250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (secs, ms) = (self.0.as_secs(), self.0.subsec_millis());
        if secs == 0 {
            return write!(f, "{ms}ms");
        }
        let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 {
            write!(f, "{s}s")?;
        }
        if ms > 0 {
            write!(f, "{ms}ms")?;
        }
        Ok(())
    }
}

impl Serialize for Ttl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Ttl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Formats a remaining duration compactly for tables: `14m32s`, `2h5m`, `expired`.
pub fn format_remaining(d: Duration) -> String {
    let secs = d.as_secs();
    if d.is_zero() {
        return "expired".into();
    }
    match secs {
        0 => format!("{}ms", d.as_millis()),
        1..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{}s", secs / 60, secs % 60),
        _ => format!("{}h{}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// The source of `now`. Production uses [`SystemClock`]; tests inject their own.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The host's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_system(SystemTime::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_parses_human_durations() {
        assert_eq!(Ttl::parse("15m").map(Ttl::as_duration), Ok(Duration::from_secs(900)));
        assert_eq!(Ttl::parse("1h30m").map(Ttl::as_duration), Ok(Duration::from_secs(5400)));
        assert_eq!(Ttl::parse("250ms").map(Ttl::as_duration), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn durations_past_the_bound_are_refused_and_times_always_format() {
        // SECURITY row 64: `pending_ttl: 99999999999h` was accepted, then every request under
        // it panicked formatting a year past 9999; `since=99999999d` panicked before 1970.
        assert!(Ttl::parse("876000h").is_ok());
        for big in ["876001h", "99999999999h", "99999999d", "18446744073709551615s"] {
            let e = Ttl::parse(big).unwrap_err();
            assert!(
                e.contains("longer than the longest duration") || e.contains("not a duration"),
                "{big}: {e}"
            );
        }
        for ms in
            [i64::MIN, -1, 0, Timestamp::MAX.as_millis(), Timestamp::MAX.as_millis() + 1, i64::MAX]
        {
            let text = Timestamp::from_millis(ms).to_rfc3339();
            assert!(
                text.starts_with("1970-") || text.starts_with("9999-") || ms == 0,
                "{ms}: {text}"
            );
        }
        let far = Timestamp::from_millis(0).saturating_add(Ttl::MAX.as_duration());
        assert!(far < Timestamp::MAX, "now + the longest duration still formats exactly");
    }

    #[test]
    fn ttl_refuses_bare_numbers_and_words() {
        assert!(Ttl::parse("15").unwrap_err().contains("has no unit"));
        assert!(Ttl::parse("soon").unwrap_err().contains("is not a duration"));
        assert!(Ttl::parse("").is_err());
    }

    #[test]
    fn ttl_displays_compactly_and_round_trips() {
        for (text, secs) in [("99h", 99 * 3600), ("1h30m", 5400), ("45s", 45), ("24h", 86400)] {
            let t = Ttl::from_secs(secs);
            assert_eq!(t.to_string(), text);
            assert_eq!(Ttl::parse(text), Ok(t));
        }
        assert_eq!(Ttl::from_millis(250).to_string(), "250ms");
    }

    #[test]
    fn timestamp_round_trips_rfc3339() {
        let t = Timestamp::from_millis(1_795_000_000_123);
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Ok(t));
    }

    #[test]
    fn remaining_is_zero_once_passed() {
        let t = Timestamp::from_millis(1000);
        assert_eq!(t.remaining_after(Timestamp::from_millis(2000)), Duration::ZERO);
        assert_eq!(t.remaining_after(Timestamp::from_millis(400)), Duration::from_millis(600));
    }
}
