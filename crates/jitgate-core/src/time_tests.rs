//! Unit tests of [`super`]; the properties over every input are in `tests/properties/time.rs`.

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
    assert_eq!(Ttl::parse("100y"), Ok(Ttl::MAX));
    assert_eq!(Ttl::parse("876600h"), Ok(Ttl::MAX));
    assert_eq!(Ttl::MAX.to_string(), "876600h");
    for big in ["876601h", "100y 1ms", "99999999999h", "99999999d", "18446744073709551615s"] {
        let e = Ttl::parse(big).unwrap_err();
        assert!(e.contains("longer than the longest duration"), "{big}: {e}");
        assert!(e.contains("up to 100 years"), "{big}: {e}");
    }
    // Past u64: humantime overflows; the message still gives the range.
    let e = Ttl::parse("99999999999999999999s").unwrap_err();
    assert!(e.contains("out of range") && e.contains("up to 100 years"), "{e}");
    for ms in
        [i64::MIN, -1, 0, Timestamp::MAX.as_millis(), Timestamp::MAX.as_millis() + 1, i64::MAX]
    {
        let text = Timestamp::from_millis(ms).to_rfc3339();
        assert!(text.starts_with("1970-") || text.starts_with("9999-") || ms == 0, "{ms}: {text}");
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

#[test]
fn ttl_refuses_fractions_of_a_millisecond_so_display_round_trips() {
    assert_eq!(Ttl::parse("1.5s").map(|t| t.to_string()), Ok("1s500ms".to_string()));
    for fine in ["1ns", "1500us", "0.5ms", "1s1ns"] {
        let e = Ttl::parse(fine).unwrap_err();
        assert!(e.contains("finer than a millisecond"), "{fine}: {e}");
    }
    assert_eq!(Ttl::parse("1000us"), Ok(Ttl::from_millis(1)));
}

#[test]
fn rfc3339_reads_only_utc_between_1970_and_9999() {
    let max = "9999-12-31T23:59:59.999Z";
    assert_eq!(Timestamp::parse_rfc3339(max), Ok(Timestamp::MAX));
    assert_eq!(Timestamp::parse_rfc3339("1970-01-01T00:00:00Z"), Ok(Timestamp::MIN));
    for bad in ["10000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "9999-12-32T00:00:00Z"] {
        let e = Timestamp::parse_rfc3339(bad).unwrap_err();
        assert!(e.contains("from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z"), "{e}");
    }
    // humantime drops an offset that follows a fraction: 10:00+05:00 is not 10:00 UTC.
    let e = Timestamp::parse_rfc3339("2026-11-25T10:00:00.5+05:00").unwrap_err();
    assert!(e.contains("not in UTC"), "{e}");
    let utc = Timestamp::parse_rfc3339("2026-11-25T10:00:00.5+00:00").unwrap();
    assert_eq!(utc, Timestamp::parse_rfc3339("2026-11-25T10:00:00.500Z").unwrap());
}

#[test]
fn parse_time_takes_a_time_or_a_duration_back_and_stays_in_range() {
    let now = Timestamp::from_millis(1_800_000_000_000);
    assert_eq!(parse_time("1h", now), Ok(now.saturating_sub(Duration::from_secs(3600))));
    assert_eq!(parse_time("100y", now), Ok(Timestamp::MIN), "before 1970 reads as 1970");
    assert_eq!(parse_time("9999-12-31T23:59:59.999Z", now), Ok(Timestamp::MAX));
    let e = parse_time("10000-01-01T00:00:00Z", now).unwrap_err();
    assert!(e.contains("is not an RFC 3339 time from 1970"), "{e}");
    let e = parse_time("99999999d", now).unwrap_err();
    assert!(e.contains("up to 100 years") && e.contains("duration back from now"), "{e}");
    let e = parse_time("-1h", now).unwrap_err();
    assert!(e.contains("is not a duration"), "{e}");
}
