//! DOMAIN: the JIT workflow's rules — access policies ([`policy`]), how a new request is judged
//! against them ([`assess`]), the request lifecycle ([`request`]), and how a pending request
//! follows changes to its policy ([`policy_change`]). No I/O.

pub mod assess;
pub mod filing;
pub mod policy;
pub mod policy_change;
pub mod request;
mod validate;

pub use assess::{
    Assessment, Draft, Ineligible, PolicySet, Refusal, assess, describe, eligible, reassess,
    rule_fits,
};
pub use filing::{FilingError, OneTimeFiler};
pub use policy::{
    API_VERSION, AccessPolicy, AutoRule, EventKind, KIND, Metadata, NotifyFormat, NotifySpec,
    PolicyDocument, PolicySpec, ReasonSpec,
};
pub use policy_change::{CancelCause, Cancellation};
pub use request::{AccessRequest, Approval, RequestError, RequestId, RequestStatus, Verdict};
pub use validate::check_name;

#[cfg(test)]
mod policy_change_tests;
#[cfg(test)]
mod tests;
