//! TRANSPORT: the gRPC admin API (`jitgate.admin.v1.AdminService`), served on the gRPC port
//! beside Check. It mirrors the REST API and calls the same workflow; callers authenticate
//! with the same bearer JWT in the `authorization` metadata. Optional gRPC reflection
//! describes this service (and health), never Envoy's protos.

mod convert;

use std::collections::HashMap;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::access::{RequestId, RequestStatus};
use crate::decision::Caller;
use crate::grant::{GrantId, Principal};
use crate::identity::Authenticator;
use crate::identity::bearer_token;
use crate::time::Clock;
use crate::workflow::explain::explain;
use crate::workflow::grants::GrantFilter;
use crate::workflow::inputs::{self, ExplainInput, GrantInput, RequestInput};
use crate::workflow::{
    DEFAULT_PAGE, GrantService, LIST_LIMIT, ListCursor, PolicyService, RequestFilter,
    RequestService, WorkflowError,
};

/// Generated from `proto/jitgate/admin/v1/admin.proto` by `build.rs`.
#[allow(clippy::all, clippy::pedantic, clippy::unwrap_used, clippy::expect_used, missing_docs)]
pub mod pb {
    tonic::include_proto!("jitgate.admin.v1");

    /// The encoded descriptor set of the admin API, for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/jitgate_admin_v1_descriptor.bin"));
}

use pb::admin_service_server::AdminService;

/// What the admin API works with: the same application services as the REST API, and how to
/// tell who calls. Wired by `app`; nothing here reaches into the REST layer.
#[derive(Clone)]
pub struct AdminServices {
    pub grants: Arc<GrantService>,
    pub requests: Arc<RequestService>,
    pub policies: Arc<PolicyService>,
    pub authenticator: Arc<Authenticator>,
    pub clock: Arc<dyn Clock>,
}

/// The admin API over the same services as the REST API.
pub struct AdminApi {
    state: AdminServices,
}

impl AdminApi {
    pub fn new(state: AdminServices) -> Self {
        Self { state }
    }

    pub fn server(self) -> pb::admin_service_server::AdminServiceServer<Self> {
        pb::admin_service_server::AdminServiceServer::new(self)
    }

    async fn caller<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        let values: Vec<&str> = req
            .metadata()
            .get_all("authorization")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let token = bearer_token(&values).map_err(|e| Status::unauthenticated(e.to_string()))?;
        let token = token.ok_or_else(|| {
            Status::unauthenticated("no bearer token: send `authorization: Bearer <jwt>` metadata")
        })?;
        self.state
            .authenticator
            .caller(Some(&token), None, self.state.clock.now())
            .await
            .map_err(|e| Status::unauthenticated(e.to_string()))
    }
}

/// One mapping from workflow errors to gRPC status codes.
fn status(e: WorkflowError) -> Status {
    match e {
        WorkflowError::Forbidden(m) => Status::permission_denied(m),
        WorkflowError::Invalid(details) => Status::invalid_argument(details.join("; ")),
        WorkflowError::NotFound(m) => Status::not_found(m),
        WorkflowError::Conflict(m) => Status::failed_precondition(m),
        WorkflowError::TooMany(m) => Status::resource_exhausted(m),
        WorkflowError::Unavailable(e) => {
            Status::unavailable(WorkflowError::unavailable_message(&e))
        }
    }
}

fn invalid(errors: Vec<String>) -> Status {
    Status::invalid_argument(errors.join("; "))
}

fn grant_id(id: &str) -> Result<GrantId, Status> {
    GrantId::parse(id).map_err(Status::not_found)
}

fn request_id(id: &str) -> Result<RequestId, Status> {
    RequestId::parse(id).map_err(Status::not_found)
}

fn comment(c: String) -> Option<String> {
    Some(c).filter(|c| !c.is_empty())
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn create_grant(
        &self,
        req: Request<pb::CreateGrantRequest>,
    ) -> Result<Response<pb::Grant>, Status> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let input = GrantInput {
            subject: r.subject,
            resources: r.resources.into_iter().map(convert::scope_wire).collect(),
            ttl: r.ttl,
            reason: r.reason,
            max_uses: r.max_uses,
            incident: comment(r.incident),
        };
        let new = inputs::new_grant(input, &self.state.grants).map_err(invalid)?;
        let g = self.state.grants.create(&caller, new).await.map_err(status)?;
        Ok(Response::new(convert::grant(&g, self.state.clock.now())))
    }

    async fn list_grants(
        &self,
        req: Request<pb::ListGrantsRequest>,
    ) -> Result<Response<pb::ListGrantsResponse>, Status> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let query: HashMap<String, String> = [
            ("subject", r.subject),
            ("service", r.service),
            ("source", r.source),
            ("expiring_within", r.expiring_within),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let filter = GrantFilter::from_query(&query).map_err(invalid)?;
        let now = self.state.clock.now();
        let mut grants =
            self.state.grants.list(&caller, filter.subject.as_ref()).await.map_err(status)?;
        grants.retain(|g| filter.keeps(g, now));
        Ok(Response::new(pb::ListGrantsResponse {
            grants: grants.iter().map(|g| convert::grant(g, now)).collect(),
        }))
    }

    async fn get_grant(
        &self,
        req: Request<pb::GetGrantRequest>,
    ) -> Result<Response<pb::Grant>, Status> {
        let caller = self.caller(&req).await?;
        let g =
            self.state.grants.get(&caller, &grant_id(&req.get_ref().id)?).await.map_err(status)?;
        Ok(Response::new(convert::grant(&g, self.state.clock.now())))
    }

    async fn revoke_grant(
        &self,
        req: Request<pb::RevokeGrantRequest>,
    ) -> Result<Response<pb::Grant>, Status> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let g = self
            .state
            .grants
            .revoke(&caller, &grant_id(&r.id)?, comment(r.reason))
            .await
            .map_err(status)?;
        Ok(Response::new(convert::grant(&g, self.state.clock.now())))
    }

    async fn create_access_request(
        &self,
        req: Request<pb::CreateAccessRequestRequest>,
    ) -> Result<Response<pb::AccessRequest>, Status> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let input = RequestInput {
            resources: r.resources.into_iter().map(convert::scope_wire).collect(),
            ttl: r.ttl,
            reason: r.reason,
            incident: comment(r.incident),
        };
        let new = inputs::new_request(input).map_err(invalid)?;
        let created = self.state.requests.create(&caller, new).await.map_err(status)?;
        Ok(Response::new(convert::request(&created, self.state.clock.now())))
    }

    async fn list_access_requests(
        &self,
        req: Request<pb::ListAccessRequestsRequest>,
    ) -> Result<Response<pb::ListAccessRequestsResponse>, Status> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        // proto3's empty string is the default: the pending queue.
        let status_filter = match r.status.as_str() {
            "" => Some(RequestStatus::Pending),
            s => RequestFilter::status_named(s).map_err(Status::invalid_argument)?,
        };
        let limit = match r.page_size {
            0 => DEFAULT_PAGE,
            n => usize::try_from(n).ok().filter(|n| *n <= LIST_LIMIT).ok_or_else(|| {
                Status::invalid_argument(format!(
                    "page_size: `{n}` must be a number from 1 to {LIST_LIMIT} (0 for {DEFAULT_PAGE})"
                ))
            })?,
        };
        let cursor = match r.page_token.as_str() {
            "" => None,
            t => Some(
                t.parse::<ListCursor>()
                    .map_err(|e| Status::invalid_argument(format!("page_token: {e}")))?,
            ),
        };
        let requester = match r.requester.as_str() {
            "" => None,
            p => Some(
                p.parse::<Principal>()
                    .map_err(|e| Status::invalid_argument(format!("requester: {e}")))?,
            ),
        };
        let filter = RequestFilter {
            status: status_filter,
            mine: r.mine,
            requester,
            decidable: r.decidable,
        };
        let page = self
            .state
            .requests
            .list(&caller, &filter, cursor.as_ref(), limit)
            .await
            .map_err(status)?;
        let now = self.state.clock.now();
        Ok(Response::new(pb::ListAccessRequestsResponse {
            requests: page.requests.iter().map(|r| convert::request(r, now)).collect(),
            next_page_token: page.next.map(|c| c.to_string()).unwrap_or_default(),
        }))
    }

    async fn get_access_request(
        &self,
        req: Request<pb::GetAccessRequestRequest>,
    ) -> Result<Response<pb::AccessRequest>, Status> {
        let caller = self.caller(&req).await?;
        let r = self
            .state
            .requests
            .get(&caller, &request_id(&req.get_ref().id)?)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::request(&r, self.state.clock.now())))
    }

    async fn approve_access_request(
        &self,
        req: Request<pb::DecideAccessRequestRequest>,
    ) -> Result<Response<pb::AccessRequest>, Status> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let done = self
            .state
            .requests
            .approve(&caller, &request_id(&r.id)?, comment(r.comment))
            .await
            .map_err(status)?;
        Ok(Response::new(convert::request(&done, self.state.clock.now())))
    }

    async fn deny_access_request(
        &self,
        req: Request<pb::DecideAccessRequestRequest>,
    ) -> Result<Response<pb::AccessRequest>, Status> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let done = self
            .state
            .requests
            .deny(&caller, &request_id(&r.id)?, comment(r.comment))
            .await
            .map_err(status)?;
        Ok(Response::new(convert::request(&done, self.state.clock.now())))
    }

    async fn cancel_access_request(
        &self,
        req: Request<pb::CancelAccessRequestRequest>,
    ) -> Result<Response<pb::AccessRequest>, Status> {
        let caller = self.caller(&req).await?;
        let done = self
            .state
            .requests
            .cancel(&caller, &request_id(&req.get_ref().id)?)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::request(&done, self.state.clock.now())))
    }

    async fn explain(
        &self,
        req: Request<pb::ExplainRequest>,
    ) -> Result<Response<pb::ExplainResponse>, Status> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let input = ExplainInput {
            subject: r.subject,
            groups: r.groups,
            service: r.service,
            method: r.method,
            path: r.path,
        };
        let mut query = inputs::explain_query(input).map_err(invalid)?;
        if !self.state.grants.is_admin(&caller) {
            if caller.subject != query.subject {
                return Err(Status::permission_denied(format!(
                    "{} may only explain its own calls; admins may explain anyone's",
                    caller.subject
                )));
            }
            query.groups = convert::groups(&caller);
        }
        let now = self.state.clock.now();
        let policies = self.state.policies.current();
        let e = explain(self.state.grants.store().as_ref(), &policies, &query, now)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::explanation(&e, now)))
    }
}
