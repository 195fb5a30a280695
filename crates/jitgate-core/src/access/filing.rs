//! The one port the Check path has into the request workflow: file (or find) the caller's
//! pending one-time request for the exact call a Check just denied. The Check path holds it
//! as `Arc<dyn OneTimeFiler>`, so it depends on this trait, not on the workflow's services.

use std::future::Future;
use std::pin::Pin;

use super::AccessRequest;
use crate::decision::{Caller, CheckInput};

/// A future that may be held across threads, as a trait object returns it.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a one-time request could not be filed; the deny stands either way.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilingError(pub String);

pub trait OneTimeFiler: Send + Sync {
    /// Files or finds `caller`'s pending request for the call `input` describes, denied under
    /// `decision_id`; `None` when the call is no one-time action, its policy does not file
    /// requests automatically, or the caller may not ask.
    fn file<'a>(
        &'a self,
        caller: &'a Caller,
        input: &'a CheckInput,
        decision_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<AccessRequest>, FilingError>>;
}
