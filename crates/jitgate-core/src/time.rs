//! Time as the domain sees it: [`Timestamp`] (Unix milliseconds), [`Ttl`] durations written
//! like `15m`, and the [`Clock`] seam, so every decision takes an explicit `now`.
//!
//! Knows nothing of Redis, HTTP or gRPC.

// Reached by what callers send: no arithmetic that can overflow, no indexing that can go out
// of bounds, no `panic!` (SECURITY row 64). Checked by clippy, so a regression fails the build.
#![deny(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::panic)]

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, in milliseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// What a time read from input must look like, for error messages.
const TIME_RANGE: &str = "from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z";

// === impl Timestamp ===

impl Timestamp {
    /// The earliest and latest instants RFC 3339 can write here: 1970-01-01T00:00:00.000Z and
    /// 9999-12-31T23:59:59.999Z. Every time read from input lies between them.
    pub const MIN: Self = Self(0);
    pub const MAX: Self = Self(253_402_300_799_999);

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

    /// `self + d`, or the nearest end of what a timestamp holds. Exact whenever the answer fits
    /// (computed wide: a duration past `i64::MAX` ms can still land in range from before 1970).
    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = i128::try_from(d.as_millis()).unwrap_or(i128::MAX);
        Self::saturating(i128::from(self.0).saturating_add(ms))
    }

    /// `self - d`, or the nearest end of what a timestamp holds.
    pub fn saturating_sub(self, d: Duration) -> Self {
        let ms = i128::try_from(d.as_millis()).unwrap_or(i128::MAX);
        Self::saturating(i128::from(self.0).saturating_sub(ms))
    }

    fn saturating(ms: i128) -> Self {
        Self(i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX }))
    }

    /// Time left until `self`, or zero when `self` is not after `now`.
    pub fn remaining_after(self, now: Timestamp) -> Duration {
        let ms = i128::from(self.0).saturating_sub(i128::from(now.0)).max(0);
        Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The nearest instant inside [`Self::MIN`]..=[`Self::MAX`].
    pub const fn clamped(self) -> Self {
        if self.0 < Self::MIN.0 {
            Self::MIN
        } else if self.0 > Self::MAX.0 {
            Self::MAX
        } else {
            self
        }
    }

    /// RFC 3339 with millisecond precision, e.g. `2026-11-25T10:00:00.000Z`. An instant outside
    /// [`Self::MIN`]..=[`Self::MAX`] is written as the nearest end (the formatter cannot write
    /// it, and formatting must never fail: it runs inside Checks and API answers).
    pub fn to_rfc3339(self) -> String {
        let ms = self.clamped().0.unsigned_abs();
        match UNIX_EPOCH.checked_add(Duration::from_millis(ms)) {
            Some(t) => humantime::format_rfc3339_millis(t).to_string(),
            None => "9999-12-31T23:59:59.999Z".into(),
        }
    }

    /// Reads an RFC 3339 time in UTC (`Z`, `+00:00` or no offset; `T` or a space between date
    /// and time; any fraction of a second, kept to the millisecond). The answer lies within
    /// [`Self::MIN`]..=[`Self::MAX`]: years before 1970 or after 9999 are refused.
    pub fn parse_rfc3339(s: &str) -> Result<Self, String> {
        // humantime skips a `+hh:mm` offset after a fraction of a second without applying it.
        let offset = s.len().checked_sub(6).and_then(|i| s.as_bytes().get(i..));
        if offset.is_some_and(|o| o.first() == Some(&b'+') && o != b"+00:00") {
            return Err(format!(
                "`{s}` is not in UTC: write the time with `Z`, like `2026-11-25T10:00:00Z`"
            ));
        }
        let t = humantime::parse_rfc3339_weak(s).map_err(|e| {
            format!(
                "`{s}` is not an RFC 3339 time {TIME_RANGE} ({e}): write it like `2026-11-25T10:00:00Z`"
            )
        })?;
        Ok(Self::from_system(t))
    }

    pub fn from_system(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Self(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Err(e) => {
                Self(i64::try_from(e.duration().as_millis()).map_or(i64::MIN, i64::saturating_neg))
            }
        }
    }
}

/// A time as query parameters and CLI flags take it: an RFC 3339 time, or a [`Ttl`] back from
/// `now` (`24h` means 24 hours ago). The answer lies within [`Timestamp::MIN`]..=
/// [`Timestamp::MAX`]: a duration reaching back before 1970 gives 1970.
pub fn parse_time(raw: &str, now: Timestamp) -> Result<Timestamp, String> {
    let looks_like_time = raw.contains(':')
        || raw
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .is_some_and(|i| i >= 4 && raw.as_bytes().get(i) == Some(&b'-'));
    if looks_like_time {
        return Timestamp::parse_rfc3339(raw);
    }
    Ttl::parse(raw)
        .map(|d| now.saturating_sub(d.as_duration()).clamped())
        .map_err(|e| {
            format!(
                "`{raw}` is neither an RFC 3339 time {TIME_RANGE} nor a duration back from now like `24h`: {e}"
            )
        })
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

/// What a duration read from input must look like, for error messages.
const TTL_RANGE: &str = "whole milliseconds up to 100 years (`100y`, `876600h`)";

// === impl Ttl ===

impl Ttl {
    /// The longest duration accepted anywhere (configuration, policies, manifests, requests,
    /// query parameters): 100 years as humantime counts them (`100y`, of 365.25 days), far
    /// above any real TTL, so `now` plus it stays far inside what a timestamp can write.
    pub const MAX: Self = Self(Duration::from_secs(100 * 31_557_600));

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

    /// Parses `15m`, `1h30m`, `250ms`, `1.5h`. Refused: a bare number (the unit must be
    /// explicit), anything longer than [`Self::MAX`], and fractions of a millisecond (times
    /// are kept in milliseconds, so `1500us` could not be written back as it was read).
    pub fn parse(s: &str) -> Result<Self, String> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err("a duration like `15m` is required, got an empty string".into());
        }
        if trimmed.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "`{trimmed}` has no unit: write a duration like `{trimmed}s` or `{trimmed}m`"
            ));
        }
        let d = humantime::parse_duration(trimmed).map_err(|e| match e {
            humantime::DurationError::NumberOverflow => {
                format!("`{trimmed}` is out of range: a duration is {TTL_RANGE}")
            }
            _ => format!("`{trimmed}` is not a duration: write it like `30s`, `15m` or `1h30m`"),
        })?;
        if d > Self::MAX.0 {
            return Err(format!(
                "`{trimmed}` is longer than the longest duration jitgate accepts: {TTL_RANGE}"
            ));
        }
        if d.subsec_nanos() % 1_000_000 != 0 {
            return Err(format!(
                "`{trimmed}` is finer than a millisecond: a duration is {TTL_RANGE}"
            ));
        }
        Ok(Self(d))
    }
}

impl fmt::Display for Ttl {
    /// Compact and re-parsable: `99h`, `1h30m`, `45s`, `250ms` (below a millisecond is not
    /// written; [`Ttl::parse`] never makes such a value).
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
#[path = "time_tests.rs"]
mod tests;
