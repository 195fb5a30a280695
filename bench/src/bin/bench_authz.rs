//! The floor of the ext_authz hop: an `Authorization/Check` server built from the same
//! tonic/envoy-types stack as jitgate that always allows — optionally after one Redis GET
//! (`--redis-url`), the physical floor of a Redis-backed check. Loopback only.

use std::net::SocketAddr;

use clap::Parser;
use envoy_types::pb::envoy::service::auth::v3::authorization_server::{
    Authorization, AuthorizationServer,
};
use envoy_types::pb::envoy::service::auth::v3::{CheckRequest, CheckResponse};
use envoy_types::pb::google::rpc;
use redis::AsyncCommands;
use tonic::{Request, Response, Status};

#[derive(Parser)]
struct Args {
    /// Where to listen (loopback).
    #[arg(long, default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// Do one `GET bench:key` per Check against this Redis.
    #[arg(long)]
    redis_url: Option<String>,
}

struct Bare {
    redis: Option<redis::aio::ConnectionManager>,
}

#[tonic::async_trait]
impl Authorization for Bare {
    async fn check(&self, _req: Request<CheckRequest>) -> Result<Response<CheckResponse>, Status> {
        if let Some(r) = &self.redis {
            let mut c = r.clone();
            let _: Option<String> =
                c.get("bench:key").await.map_err(|e| Status::unavailable(e.to_string()))?;
        }
        Ok(Response::new(CheckResponse {
            status: Some(rpc::Status { code: 0, ..Default::default() }),
            ..Default::default()
        }))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.listen.ip().is_loopback(), "bench servers bind loopback only");
    let redis = match &args.redis_url {
        Some(url) => Some(redis::Client::open(url.as_str())?.get_connection_manager().await?),
        None => None,
    };
    eprintln!("bench-authz listening on {} (redis: {})", args.listen, args.redis_url.is_some());
    tonic::transport::Server::builder()
        .add_service(AuthorizationServer::new(Bare { redis }))
        .serve_with_shutdown(args.listen, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
