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
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{Request, Response, Status};

#[derive(Parser)]
struct Args {
    /// Where to listen (loopback).
    #[arg(long, default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// Also listen on this Unix domain socket.
    #[arg(long)]
    unix: Option<std::path::PathBuf>,
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
    let router =
        tonic::transport::Server::builder().add_service(AuthorizationServer::new(Bare { redis }));
    let tcp = tonic::transport::server::TcpIncoming::bind(args.listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?
        .with_nodelay(Some(true));
    let stop = || async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match &args.unix {
        None => router.serve_with_incoming_shutdown(tcp, stop()).await?,
        Some(path) => {
            let _ = std::fs::remove_file(path);
            let unix = UnixListenerStream::new(tokio::net::UnixListener::bind(path)?);
            let over_unix = router.clone().serve_with_incoming_shutdown(unix, stop());
            tokio::try_join!(router.serve_with_incoming_shutdown(tcp, stop()), over_unix)?;
        }
    }
    Ok(())
}
