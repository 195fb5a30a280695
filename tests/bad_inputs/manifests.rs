//! Manifest corpus: hostile and broken `kind: Grant` / `kind: AccessPolicy` files through the
//! built `jitgate validate` (no server). Each must fail (exit 1) within a time bound, naming
//! the file, the document, the line and the field where it can.

use std::time::{Duration, Instant};

use crate::report::Tally;

/// (name, file contents, fragments the error output must contain).
pub type Case = (&'static str, Vec<u8>, Vec<String>);

#[tokio::test]
async fn broken_manifests_are_refused_with_file_document_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut tally = Tally::new("manifests");
    for (i, (name, text, fragments)) in crate::manifest_cases::cases().into_iter().enumerate() {
        let file = dir.path().join(format!("case{i}.yaml"));
        std::fs::write(&file, &text).unwrap();
        let started = Instant::now();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_jitgate"))
            .args(["validate", "-f"])
            .arg(&file)
            .kill_on_drop(true)
            .output();
        let Ok(Ok(out)) = tokio::time::timeout(Duration::from_secs(20), out).await else {
            tally.record(name, false, false, "did not finish within 20 s");
            continue;
        };
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        let shown = format!("`{}` document", file.display());
        let missing: Vec<&String> =
            fragments.iter().filter(|f| !text.contains(f.as_str())).collect();
        let named = text.contains(&shown);
        let ok = out.status.code() == Some(1) && missing.is_empty() && named;
        let leak = out.status.success();
        let detail = format!(
            "exit {:?} in {:?}, missing {missing:?}, names the file {named}; output: {text:.400}",
            out.status.code(),
            started.elapsed()
        );
        tally.record(name, ok, leak, &detail);
    }
    tally.finish(30);
}
