//! Reading the audit log: admins and the configured audit readers (`audit.readers`, e.g. a
//! security team or an auditor's service account) may query it; nobody else.

use std::sync::Arc;

use super::{Admins, WorkflowError};
use crate::audit::query::{AuditPage, AuditQuery, query};
use crate::audit::{AuditLog, Head};
use crate::decision::Caller;

pub struct AuditReader {
    log: Arc<dyn AuditLog>,
    admins: Admins,
    readers: Admins,
}

impl AuditReader {
    pub fn new(log: Arc<dyn AuditLog>, admins: Admins, readers: Admins) -> Self {
        Self { log, admins, readers }
    }

    /// Whether `caller` may read the audit log (admins and `audit.readers`).
    pub fn may_read(&self, caller: &Caller) -> bool {
        self.admins.includes(caller) || self.readers.includes(caller)
    }

    fn allow(&self, caller: &Caller) -> Result<(), WorkflowError> {
        if self.may_read(caller) {
            Ok(())
        } else {
            Err(WorkflowError::Forbidden(format!(
                "{} may not read the audit log: only `admins` and `audit.readers` may",
                caller.subject
            )))
        }
    }

    pub async fn query(&self, caller: &Caller, q: &AuditQuery) -> Result<AuditPage, WorkflowError> {
        self.allow(caller)?;
        query(self.log.as_ref(), q).await.map_err(unavailable)
    }

    pub async fn head(&self, caller: &Caller) -> Result<Head, WorkflowError> {
        self.allow(caller)?;
        self.log.head().await.map_err(unavailable)
    }
}

fn unavailable(e: crate::audit::AuditError) -> WorkflowError {
    match e {
        crate::audit::AuditError::Store(s) => WorkflowError::Unavailable(s),
        crate::audit::AuditError::Corrupt(m) => {
            WorkflowError::Unavailable(crate::store::StoreError::Corrupt(m))
        }
    }
}
