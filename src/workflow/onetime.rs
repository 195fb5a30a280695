//! One-time action approvals filed from the Check path: when a call hits an action its policy
//! guards with a one-time approval and the policy says `file_one_time_requests: true`, jitgate
//! files (or finds) the pending request for exactly that call, so the caller only has to wait
//! for an approver. Retries of the same call find the same request.

use sha2::{Digest, Sha256};

use super::WorkflowError;
use super::requests::{NewRequest, RequestService};
use crate::access::filing::BoxFuture;
use crate::access::{
    AccessRequest, Assessment, FilingError, OneTimeFiler, RequestId, RequestStatus,
};
use crate::decision::{Caller, CheckInput};
use crate::grant::{Principal, Scope};
use crate::store::OpenKey;

/// The Check path's port into the workflow.
impl OneTimeFiler for RequestService {
    fn file<'a>(
        &'a self,
        caller: &'a Caller,
        input: &'a CheckInput,
        decision_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<AccessRequest>, FilingError>> {
        Box::pin(async move {
            self.file_one_time(caller, input, decision_id)
                .await
                .map_err(|e| FilingError(e.to_string()))
        })
    }
}

impl RequestService {
    /// Files or finds the caller's pending request for this exact call; `None` when the call
    /// is no one-time action, the policy does not file automatically, or the caller may not ask.
    pub async fn file_one_time(
        &self,
        caller: &Caller,
        input: &CheckInput,
        decision_id: &str,
    ) -> Result<Option<AccessRequest>, WorkflowError> {
        let set = self.policies.current();
        let Some(policy) = set.one_time_policy(&input.service, &input.method, &input.path) else {
            return Ok(None);
        };
        // The query string is part of the call: one too long to bind files nothing.
        let Some(scope) = input.exact_scope() else { return Ok(None) };
        if !policy.file_one_time_requests || !policy.may_request(&caller.principals) {
            return Ok(None);
        }
        if let Err(why) = policy.one_time_call(&scope) {
            tracing::debug!(policy = %policy.name, why, "One-time request not filed");
            return Ok(None);
        }
        let now = self.clock.now();
        let key = open_key(&caller.subject, &scope);
        let id = RequestId::generate();
        let until = now.saturating_add(policy.pending_ttl);
        for _ in 0..2 {
            let Some(existing) = self.store.claim_open(&key, &id, until).await? else { break };
            // An undecodable marked request is skipped (the sweeper moves it aside).
            match crate::store::skip_corrupt(self.store.get(&existing).await)? {
                Some(v) if v.value.status_at(now) == RequestStatus::Pending => {
                    return Ok(Some(v.value));
                }
                _ => self.store.release_open(&key).await?,
            }
        }
        // A new request: within the caller's budget of requests filed by denied Checks.
        let limit = self.limits.one_time_per_minute;
        if limit > 0 {
            let minute = now.as_millis().div_euclid(60_000);
            if self.store.count_auto_filed(&caller.subject, minute).await? > u64::from(limit) {
                self.store.release_open(&key).await?;
                tracing::warn!(caller = %caller.subject, limit, "One-time request not filed: the caller's budget for this minute is spent (`requests.one_time_per_minute`)");
                return Ok(None);
            }
        }
        let assessment = Assessment {
            policy: policy.clone(),
            auto_rule: None,
            one_time: true,
            resources: vec![scope.clone()],
            grant_ttl: policy.one_time_ttl,
            max_uses: Some(1),
        };
        let reason = format!(
            "one-time approval filed by jitgate: {} called {} {} on `{}` (decision {decision_id})",
            caller.subject, input.method, input.path, input.service
        );
        let new =
            NewRequest { resources: vec![scope], ttl: policy.one_time_ttl, reason, incident: None };
        let mut request = self.build_for(caller, new, &assessment);
        request.id = id;
        self.file(request, None).await.map(Some)
    }

    /// Drops the "open request" marker of a decided one-time request.
    pub(super) async fn release_open(&self, r: &AccessRequest) {
        let [scope] = r.resources.as_slice() else { return };
        if !r.one_time {
            return;
        }
        if let Err(e) = self.store.release_open(&open_key(&r.requester, scope)).await {
            tracing::debug!(error = %e, "Could not release the open-request marker; it expires by itself");
        }
    }
}

/// The marker of one requester's open request for one call: a digest of the call's scope
/// (service, method, path and query string), so retries of the same call find it.
fn open_key(requester: &Principal, scope: &Scope) -> OpenKey {
    let paths: Vec<&str> = scope.paths.iter().map(|p| p.as_str()).collect();
    let query = scope.query.as_ref().map_or("*", |q| q.as_str());
    let text = format!("{}\n{}\n{}\n?{query}", scope.service, scope.methods, paths.join("\n"));
    let d = Sha256::digest(text.as_bytes());
    OpenKey { requester: requester.clone(), call: crate::hex::encode(&d[..16]) }
}
