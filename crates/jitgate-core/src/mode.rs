//! DOMAIN, pure: the enforcement mode. `enforce` answers Envoy with the decision; `shadow`
//! decides, records and counts exactly as `enforce` does, but answers allow, so a team can put
//! jitgate in front of a live API and see what it would refuse before it refuses anything.
//!
//! The mode is chosen per protected service (`service_modes`), falling back to the top-level
//! `mode`. Only a service the route names (`context_extensions.service`) can be shadowed: a
//! call whose service would come from the client's `Host` is always enforced. The engine
//! never sees the mode: shadow is applied to a finished decision, by the application layer.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What jitgate does with a decision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Answer Envoy with the decision (the default).
    #[default]
    Enforce,
    /// Record the decision, answer allow.
    Shadow,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Shadow => "shadow",
        }
    }

    pub fn is_shadow(self) -> bool {
        self == Self::Shadow
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The top-level mode and the per-service overrides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Modes {
    /// Every service not listed in `services`, and calls whose service is unknown.
    pub default: Mode,
    pub services: BTreeMap<String, Mode>,
}

// === impl Modes ===

impl Modes {
    pub fn new(default: Mode, services: BTreeMap<String, Mode>) -> Self {
        Self { default, services }
    }

    /// The mode for a call to `service` (`None`: the service could not be determined).
    pub fn for_service(&self, service: Option<&str>) -> Mode {
        service.and_then(|s| self.services.get(s).copied()).unwrap_or(self.default)
    }

    /// The mode for one call, from the service its route names (`context_extensions.service`).
    /// A call whose route names none takes its service from the client's `Host`, so the
    /// client could pick a shadowed service to be let through: such calls are enforced.
    pub fn for_route(&self, route_service: Option<&str>) -> Mode {
        route_service.map_or(Mode::Enforce, |s| self.for_service(Some(s)))
    }

    /// True when any call may be answered in shadow mode.
    pub fn any_shadow(&self) -> bool {
        self.default.is_shadow() || self.services.values().any(|m| m.is_shadow())
    }

    /// The services shadowed by an override (the default aside).
    pub fn shadow_services(&self) -> Vec<&str> {
        self.services.iter().filter(|(_, m)| m.is_shadow()).map(|(s, _)| s.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modes(default: Mode, services: &[(&str, Mode)]) -> Modes {
        Modes::new(default, services.iter().map(|(s, m)| (s.to_string(), *m)).collect())
    }

    #[test]
    fn a_service_override_wins_over_the_default() {
        let m = modes(Mode::Enforce, &[("legacy", Mode::Shadow)]);
        assert_eq!(m.for_service(Some("legacy")), Mode::Shadow);
        assert_eq!(m.for_service(Some("orders")), Mode::Enforce);
        assert_eq!(m.for_service(None), Mode::Enforce);
        assert!(m.any_shadow());
        assert_eq!(m.shadow_services(), ["legacy"]);
    }

    #[test]
    fn only_a_service_the_route_names_can_be_shadowed() {
        let m = modes(Mode::Enforce, &[("legacy", Mode::Shadow)]);
        assert_eq!(m.for_route(Some("legacy")), Mode::Shadow);
        assert_eq!(m.for_route(Some("orders")), Mode::Enforce);
        assert_eq!(m.for_route(None), Mode::Enforce, "a Host-derived `legacy` is enforced");
        let m = modes(Mode::Shadow, &[("payments", Mode::Enforce)]);
        assert_eq!(m.for_route(Some("orders")), Mode::Shadow);
        assert_eq!(m.for_route(None), Mode::Enforce);
    }

    #[test]
    fn unknown_services_follow_the_default() {
        let m = modes(Mode::Shadow, &[("payments", Mode::Enforce)]);
        assert_eq!(m.for_service(Some("payments")), Mode::Enforce);
        assert_eq!(m.for_service(Some("orders")), Mode::Shadow);
        assert_eq!(m.for_service(None), Mode::Shadow);
        assert!(m.any_shadow());
        assert!(!Modes::default().any_shadow());
    }
}
