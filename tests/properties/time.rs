//! Time (SECURITY row 64, issue 16): arithmetic on any instant and any duration never panics
//! and keeps order; formatting never panics, and every instant it can write reads back exactly
//! through the parsers jitgate reads times with; every string offered as a duration, a time, a
//! cursor or a query parameter is either refused or read as a value inside the bounds.

use std::collections::HashMap;
use std::time::Duration;

use jitgate::audit::parse_cursor;
use jitgate::audit::query::AuditQuery;
use jitgate::time::{Timestamp, Ttl, parse_time};
use jitgate::workflow::ReportQuery;
use jitgate::workflow::grants::GrantFilter;
use proptest::prelude::*;
use proptest::sample::select;

use crate::generate::{config, timestamp};

/// Any instant at all, with the edges and the formattable range well represented.
fn any_instant() -> impl Strategy<Value = Timestamp> {
    let edges = select(vec![
        i64::MIN,
        i64::MIN + 1,
        -1,
        0,
        1,
        Timestamp::MAX.as_millis(),
        Timestamp::MAX.as_millis() + 1,
        i64::MAX - 1,
        i64::MAX,
    ]);
    prop_oneof![
        any::<i64>().prop_map(Timestamp::from_millis),
        timestamp(),
        edges.prop_map(Timestamp::from_millis),
    ]
}

/// Any duration, from nanoseconds to `u64::MAX` seconds.
fn any_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        (0u64..=Ttl::MAX.as_duration().as_secs()).prop_map(Duration::from_secs),
        any::<u64>().prop_map(Duration::from_millis),
        Just(Duration::MAX),
        Just(Duration::ZERO),
    ]
}

fn max_ttl_ms() -> u64 {
    u64::try_from(Ttl::MAX.as_duration().as_millis()).unwrap()
}

/// Text shaped like a duration: huge numbers, fractions, signs, real and made-up units.
const DURATION_TEXT: &str = "[-+ ]?([0-9]{1,25}(\\.[0-9]{1,12})?[ ]?(ns|us|µs|ms|s|sec|m|min|h|hr|d|day|days|w|M|month|y|year|years|x|)[ ]?){1,4}";

/// Text shaped like an RFC 3339 time: years of any width, out-of-range fields, any offset.
const TIME_TEXT: &str = "[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}[Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\\.[0-9]{0,15})?(Z|z|\\+00:00|[+-][0-9]{2}:[0-9]{2})?";

/// Anything a caller could type where a time or a duration goes.
fn time_or_duration_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), DURATION_TEXT, TIME_TEXT, "[0-9a-zA-Z:.+ -]{0,40}"]
}

/// Values for a number parameter (`limit`): in range, out of range, and not numbers at all.
const NUMBER_TEXT: &str = "-?[0-9]{1,25}(\\.[0-9]{1,3})?(e[0-9]{1,3})?|[0-9a-z]{0,6}";

fn in_bounds(t: Timestamp) -> bool {
    (Timestamp::MIN..=Timestamp::MAX).contains(&t)
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn timestamp_arithmetic_never_panics_and_keeps_order(
        a in any_instant(), b in any_instant(), d in any_duration(), e in any_duration(),
    ) {
        let (lo, hi) = (a.min(b), a.max(b));
        let (short, long) = (d.min(e), d.max(e));
        prop_assert!(lo.saturating_add(d) <= hi.saturating_add(d));
        prop_assert!(lo.saturating_sub(d) <= hi.saturating_sub(d));
        prop_assert!(a.saturating_add(short) <= a.saturating_add(long));
        prop_assert!(a.saturating_sub(short) >= a.saturating_sub(long));
        prop_assert!(a.saturating_add(d) >= a && a.saturating_sub(d) <= a);
        // Adding then measuring gives back the duration (to the millisecond) unless it saturated.
        let ms = i128::from(a.as_millis()) + i128::try_from(d.as_millis()).unwrap();
        if ms <= i128::from(i64::MAX) {
            prop_assert_eq!(i128::from(a.saturating_add(d).as_millis()), ms);
            prop_assert_eq!(a.saturating_add(d).remaining_after(a).as_millis(), d.as_millis());
        }
        prop_assert!(a.saturating_add(d).remaining_after(a) <= d);
        prop_assert_eq!(lo.remaining_after(hi), Duration::ZERO);
        let gap = i128::from(hi.as_millis()) - i128::from(lo.as_millis());
        prop_assert_eq!(i128::try_from(hi.remaining_after(lo).as_millis()).unwrap(), gap);
        // Later deadlines leave more time; later clocks leave less.
        prop_assert!(lo.remaining_after(a) <= hi.remaining_after(a));
        prop_assert!(a.remaining_after(lo) >= a.remaining_after(hi));
        prop_assert!(i128::from(a.as_secs()) * 1000 <= i128::from(a.as_millis()));
        prop_assert!(in_bounds(a.clamped()) && (!in_bounds(a) || a.clamped() == a));
    }

    #[test]
    fn any_instant_formats_and_every_formattable_one_reads_back(t in any_instant(), now in timestamp()) {
        let text = t.to_rfc3339();
        prop_assert_eq!(text.len(), "2026-11-25T10:00:00.000Z".len(), "{}", text);
        prop_assert_eq!(&t.to_string(), &text);
        prop_assert_eq!(Timestamp::parse_rfc3339(&text), Ok(t.clamped()));
        prop_assert_eq!(parse_time(&text, now), Ok(t.clamped()));
        let json = serde_json::to_string(&t).unwrap();
        prop_assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t.clamped());
    }

    #[test]
    fn ttl_parse_of_any_text_refuses_or_reads_a_bounded_value_that_writes_back(s in time_or_duration_text()) {
        match Ttl::parse(&s) {
            Ok(t) => {
                prop_assert!(t <= Ttl::MAX, "{} read as {:?}", s, t);
                prop_assert_eq!(t.as_duration().subsec_nanos() % 1_000_000, 0, "{}", s);
                prop_assert_eq!(Ttl::parse(&t.to_string()), Ok(t));
            }
            Err(e) => prop_assert!(!e.is_empty() && !e.ends_with('.'), "{}", e),
        }
    }

    #[test]
    fn every_valid_ttl_writes_back_as_itself(ms in prop_oneof![0..=max_ttl_ms(), Just(max_ttl_ms())]) {
        let t = Ttl::from_millis(ms);
        prop_assert_eq!(Ttl::parse(&t.to_string()), Ok(t));
        prop_assert_eq!(serde_json::from_str::<Ttl>(&serde_json::to_string(&t).unwrap()).unwrap(), t);
        // humantime's own spelling (`100years`, `1month 2days`) reads back too.
        let spelled = humantime::format_duration(t.as_duration()).to_string();
        prop_assert_eq!(Ttl::parse(&spelled), Ok(t), "{}", spelled);
        // One millisecond past the longest is refused, and says how long the longest is.
        let over = Ttl::from_millis(max_ttl_ms() + 1 + ms % 1000).to_string();
        prop_assert!(Ttl::parse(&over).unwrap_err().contains("100 years"));
    }

    #[test]
    fn any_time_text_is_refused_or_read_inside_the_bounds(s in time_or_duration_text(), now in timestamp()) {
        if let Ok(t) = Timestamp::parse_rfc3339(&s) {
            prop_assert!(in_bounds(t), "{} read as {:?}", s, t);
            prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Ok(t));
        }
        match parse_time(&s, now) {
            Ok(t) => prop_assert!(in_bounds(t), "{} read as {:?}", s, t),
            Err(e) => prop_assert!(e.contains('`'), "the message quotes the input: {}", e),
        }
        if let Some(id) = parse_cursor(&s) {
            prop_assert!(id != (0, 0) && id != (u64::MAX, u64::MAX));
        }
    }

    #[test]
    fn query_parameters_are_refused_or_read_inside_the_bounds(
        since in prop::option::of(time_or_duration_text()),
        until in prop::option::of(time_or_duration_text()),
        limit in prop::option::of(NUMBER_TEXT),
        expiring in prop::option::of(time_or_duration_text()),
        cursor in prop::option::of("[0-9]{1,21}-[0-9]{1,21}|.{0,8}"),
        now in timestamp(),
    ) {
        let mut q = HashMap::new();
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                q.insert(k.to_string(), v.clone());
            }
        };
        put("since", &since);
        put("until", &until);
        put("limit", &limit);
        put("cursor", &cursor);
        if let Ok(a) = AuditQuery::from_params(&q, now) {
            prop_assert!(a.filter.since.is_none_or(in_bounds) && a.filter.until.is_none_or(in_bounds));
            prop_assert!((1..=10_000).contains(&a.limit));
        }
        q.remove("limit");
        q.remove("cursor");
        if let Ok(r) = ReportQuery::from_params(&q, now) {
            prop_assert!(in_bounds(r.window.since) && in_bounds(r.window.until));
            prop_assert!(r.window.since < r.window.until);
        }
        let mut g = HashMap::new();
        if let Some(e) = expiring {
            g.insert("expiring_within".to_string(), e);
        }
        if let Ok(f) = GrantFilter::from_query(&g) {
            prop_assert!(f.expiring_within.is_none_or(|d| d <= Ttl::MAX.as_duration()));
        }
    }
}
