//! Compiles the protos jitgate itself defines (`proto/jitgate/admin/v1/*.proto`) with protox, a
//! pure-Rust protobuf compiler (no `protoc` needed), into tonic server and client code plus an
//! encoded descriptor set for gRPC reflection. Envoy's protos come pre-generated from envoy-types.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(["jitgate/admin/v1/admin.proto"], ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("jitgate_admin_v1_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure().build_server(true).build_client(true).compile_fds(fds)?;
    Ok(())
}
