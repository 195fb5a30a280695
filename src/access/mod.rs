//! DOMAIN: the JIT workflow's rules — access policies ([`policy`]), how a new request is judged
//! against them ([`assess`]), and the request lifecycle ([`request`]). No I/O.

pub mod assess;
pub mod policy;
pub mod request;
mod validate;

pub use assess::{Assessment, Draft, PolicySet, Refusal, assess, describe};
pub use policy::{
    API_VERSION, AccessPolicy, AutoRule, EVENTS, KIND, Metadata, NotifyFormat, NotifySpec,
    PolicyDocument, PolicySpec, ReasonSpec,
};
pub use request::{AccessRequest, Approval, RequestError, RequestId, RequestStatus, Verdict};
pub use validate::check_name;

#[cfg(test)]
mod tests;
