//! WIRE: the REST API's contract. Every body `POST`ed to jitgate and every body it answers is a
//! type here, serialized by the server (`src/api`) and deserialized by the CLI (`src/cli`) and
//! the tests, so the two ends cannot drift apart and no handler builds its answer with `json!`.
//!
//! Bodies embed the domain's own types ([`jitgate_core`]) where the answer *is* a domain
//! object (a grant, a request, a policy, an explanation) and add what an answer shows on top:
//! the status at the moment of the answer, what the caller may do with it, a page's cursor.
//! Nothing here decides anything; the server fills these in from the application layer.

pub mod apply;
pub mod deny;
pub mod error;
pub mod grants;
pub mod health;
pub mod inputs;
pub mod requests;
pub mod session;

pub use apply::{ApplyDocument, ApplyInput, ApplyReport, ObjectKind, PlanAction, PlanItem, Source};
pub use deny::{DenyBody, FiledRequest, NextStep, RequestHint};
pub use error::ErrorBody;
pub use grants::{GrantBody, GrantList, GrantWithUsage};
pub use health::Health;
pub use inputs::{DecisionBody, ExplainInput, GrantInput, RequestInput};
pub use requests::{RequestBody, RequestList};
pub use session::{
    AuditHead, ExplainAnswer, IncidentResolution, Me, PolicyDeleted, PolicyList, TokenSource,
};
