//! `/healthz` and `/readyz`.

use std::collections::BTreeMap;

use jitgate_core::mode::{Mode, Modes};
use serde::{Deserialize, Serialize};

/// What `/healthz` and `/readyz` answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// `/healthz`: the process serves.
    Ok,
    /// `/readyz`: it can answer Checks correctly.
    Ready,
    /// `/readyz` (with 503): it cannot yet; `reasons` says why.
    NotReady,
}

/// A health answer, with the enforcement modes so nobody forgets a shadowed service: shadow
/// never makes jitgate unhealthy, but it is said on every probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: HealthStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
    /// The default mode.
    pub mode: Mode,
    /// Per-service overrides, when any.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_modes: BTreeMap<String, Mode>,
    /// Present while anything is shadowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// The warning every health answer carries while any service is shadowed.
pub const SHADOW_WARNING: &str = "shadow mode: would-be denies are recorded but answered allow; nothing is enforced in shadowed services";

impl Health {
    pub fn new(status: HealthStatus, modes: &Modes) -> Self {
        Self {
            status,
            reasons: None,
            mode: modes.default,
            service_modes: modes.services.clone(),
            warning: modes.any_shadow().then(|| SHADOW_WARNING.to_string()),
        }
    }

    pub fn not_ready(reasons: Vec<String>, modes: &Modes) -> Self {
        Self { reasons: Some(reasons), ..Self::new(HealthStatus::NotReady, modes) }
    }
}
