//! The gRPC admin API with the generated client, and gRPC reflection (off by default).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Jitgate, RedisServer};
use jitgate::grpc::admin::pb;
use jitgate::grpc::admin::pb::admin_service_client::AdminServiceClient;
use serde_json::json;
use tonic::Code;
use tonic::transport::Channel;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

async fn channel(j: &Jitgate) -> Channel {
    Channel::from_shared(format!("http://127.0.0.1:{}", j.grpc)).unwrap().connect().await.unwrap()
}

fn with_token<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    req.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

fn orders() -> Vec<pb::Resource> {
    vec![pb::Resource {
        service: "orders".into(),
        methods: vec!["GET".into()],
        paths: vec!["/orders/**".into()],
        query: None,
    }]
}

#[tokio::test]
async fn grants_requests_and_explain_over_grpc() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let mut c = AdminServiceClient::new(channel(&j).await);
    let admin = j.admin_token();

    let err = c.list_grants(pb::ListGrantsRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let create = pb::CreateGrantRequest {
        subject: "user:alice".into(),
        resources: orders(),
        ttl: "15m".into(),
        reason: "INC-1".into(),
        ..Default::default()
    };
    let g = c.create_grant(with_token(create.clone(), &admin)).await.unwrap().into_inner();
    assert_eq!(
        (g.subject.as_str(), g.status.as_str(), g.source.as_str()),
        ("user:alice", "active", "api")
    );
    let got = c
        .get_grant(with_token(pb::GetGrantRequest { id: g.id.clone() }, &admin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.id, g.id);
    let list = c
        .list_grants(with_token(
            pb::ListGrantsRequest { subject: "user:alice".into(), ..Default::default() },
            &admin,
        ))
        .await
        .unwrap();
    assert_eq!(list.into_inner().grants.len(), 1);

    let bad = pb::CreateGrantRequest { ttl: "soon".into(), ..create.clone() };
    let err = c.create_grant(with_token(bad, &admin)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("`soon` is not a duration"), "{}", err.message());
    let err = c.create_grant(with_token(create, &j.token("alice", &[]))).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let revoked = c
        .revoke_grant(with_token(
            pb::RevokeGrantRequest { id: g.id.clone(), reason: "done".into() },
            &admin,
        ))
        .await
        .unwrap();
    assert_eq!(revoked.into_inner().status, "revoked");
    let err = c
        .revoke_grant(with_token(
            pb::RevokeGrantRequest { id: g.id.clone(), reason: String::new() },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = c
        .get_grant(with_token(pb::GetGrantRequest { id: "nope".into() }, &admin))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // Requests: file, list as an approver, approve, then explain the call.
    let policy = json!({"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": "orders"},
        "spec": {"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h"}});
    assert_eq!(j.call("PUT", "/v1/policies/orders", Some(&admin), Some(policy)).await.0, 201);
    let alice = j.token("alice", &["eng"]);
    let req = pb::CreateAccessRequestRequest {
        resources: orders(),
        ttl: "10m".into(),
        reason: "INC-2".into(),
        incident: String::new(),
    };
    let r = c.create_access_request(with_token(req, &alice)).await.unwrap().into_inner();
    assert_eq!(
        (r.status.as_str(), r.current_approvers.clone()),
        ("pending", vec!["group:leads".to_string()])
    );
    let bob = j.token("bob", &["leads"]);
    let pending = c
        .list_access_requests(with_token(pb::ListAccessRequestsRequest::default(), &bob))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.requests.len(), 1);
    let err = c
        .approve_access_request(with_token(
            pb::DecideAccessRequestRequest { id: r.id.clone(), comment: String::new() },
            &alice,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "never the requester");
    let done = c
        .approve_access_request(with_token(
            pb::DecideAccessRequestRequest { id: r.id.clone(), comment: "ok".into() },
            &bob,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.status, "approved");
    let e = c
        .explain(with_token(
            pb::ExplainRequest {
                subject: "user:alice".into(),
                groups: vec![],
                service: "orders".into(),
                method: "GET".into(),
                path: "/orders/1".into(),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(e.allowed, "{e:?}");
    assert_eq!(e.grant_id, done.grant_id);
    let e = c
        .explain(with_token(
            pb::ExplainRequest {
                subject: "user:alice".into(),
                groups: vec![],
                service: "orders".into(),
                method: "DELETE".into(),
                path: "/orders/1".into(),
            },
            &alice,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((e.allowed, e.reason.as_str()), (false, "no_grant"));
    assert_eq!(e.considered[0].fit, "wrong_method");
}

async fn reflect(j: &Jitgate, req: MessageRequest) -> Result<MessageResponse, tonic::Status> {
    let mut c = ServerReflectionClient::new(channel(j).await);
    let msg = ServerReflectionRequest { host: String::new(), message_request: Some(req) };
    let mut stream = c.server_reflection_info(tokio_stream_once(msg)).await?.into_inner();
    let resp = stream.message().await?.expect("a reflection answer");
    Ok(resp.message_response.expect("a message"))
}

fn tokio_stream_once<T: Send + 'static>(
    item: T,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::iter(vec![item])
}

#[tokio::test]
async fn reflection_describes_the_admin_api_when_enabled_and_only_then() {
    let redis = RedisServer::start().await;
    let j =
        Jitgate::start_with(&redis.url(), &[("JITGATE_GRPC_ADMIN_REFLECTION", "true")], true).await;
    let MessageResponse::ListServicesResponse(list) =
        reflect(&j, MessageRequest::ListServices(String::new())).await.unwrap()
    else {
        panic!("expected a service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"jitgate.admin.v1.AdminService".to_string()), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health".to_string()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("envoy.")),
        "Envoy's protos are not reflected: {names:?}"
    );
    let answer =
        reflect(&j, MessageRequest::FileContainingSymbol("jitgate.admin.v1.AdminService".into()))
            .await
            .unwrap();
    let MessageResponse::FileDescriptorResponse(files) = answer else {
        panic!("expected descriptors")
    };
    assert!(!files.file_descriptor_proto.is_empty());

    let off = Jitgate::start(&redis.url()).await;
    let err = reflect(&off, MessageRequest::ListServices(String::new())).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "reflection is off by default");
}
