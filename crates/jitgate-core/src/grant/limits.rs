//! The limits every grant and every request obeys, whoever asks and however (the REST API, a
//! manifest, an access request): one rule each, worded once. Each answers the problem with a
//! field, without its name, so callers prefix their own path (`ttl:`, `spec.ttl:`).

use std::time::Duration;

use crate::time::Ttl;

/// Longest `reason`, in bytes.
pub const MAX_REASON_LEN: usize = 1024;

/// What is wrong with a TTL: zero, or above `max` (`grants.max_ttl`, or a policy's).
pub fn ttl_problem(ttl: Duration, max: Duration) -> Option<String> {
    if ttl.is_zero() {
        Some("must be above zero, e.g. `15m`".into())
    } else if ttl > max {
        Some(format!(
            "{} is above the maximum of {} (`grants.max_ttl`); ask for less",
            Ttl::from_duration(ttl),
            Ttl::from_duration(max)
        ))
    } else {
        None
    }
}

/// What is wrong with a reason: missing where one is `required`, or too long.
pub fn reason_problem(reason: &str, required: bool) -> Option<String> {
    if required && reason.trim().is_empty() {
        Some("say why access is needed, e.g. a ticket id like `INC-42`".into())
    } else if reason.len() > MAX_REASON_LEN {
        Some(format!("longer than {MAX_REASON_LEN} bytes; keep it to a sentence and a ticket id"))
    } else {
        None
    }
}

/// What is wrong with a use limit: zero (no limit is `None`).
pub fn max_uses_problem(max_uses: Option<u32>) -> Option<String> {
    (max_uses == Some(0)).then(|| "must be at least 1, or absent for unlimited".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_names_the_bound_and_what_to_do() {
        let hour = Duration::from_secs(3600);
        assert!(ttl_problem(Duration::ZERO, hour).unwrap().contains("above zero"));
        let over = ttl_problem(2 * hour, hour).unwrap();
        assert!(over.contains("2h is above the maximum of 1h"), "{over}");
        assert_eq!(ttl_problem(hour, hour), None);
        assert!(reason_problem(" ", true).unwrap().contains("say why"));
        assert_eq!(reason_problem("", false), None);
        let long = "x".repeat(MAX_REASON_LEN + 1);
        assert!(reason_problem(&long, false).unwrap().contains("longer than 1024 bytes"));
        assert_eq!(reason_problem(&"x".repeat(MAX_REASON_LEN), true), None);
        assert!(max_uses_problem(Some(0)).is_some());
        assert_eq!(max_uses_problem(Some(1)), None);
        assert_eq!(max_uses_problem(None), None);
    }
}
