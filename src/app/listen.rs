//! Process edges: the gRPC Unix socket and the shutdown signals.

use std::path::Path;

use anyhow::Context;
use tokio::net::UnixListener;

/// Binds the gRPC Unix domain socket at `path`, replacing a socket left behind by an earlier
/// run but never any other kind of file. The socket is readable and writable by the owner and
/// group only (a sidecar Envoy shares the group through the pod's `fsGroup`).
pub(super) fn bind_unix(path: &Path) -> anyhow::Result<UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let context = || format!("cannot listen for gRPC on {} (`listen.grpc_unix`)", path.display());
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path).with_context(context)?,
        Ok(_) => anyhow::bail!(
            "{}: the path exists and is not a socket; remove it or choose another path",
            context()
        ),
        Err(_) => {}
    }
    let listener = UnixListener::bind(path).with_context(context)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).with_context(context)?;
    Ok(listener)
}

pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
