//! Reading manifest files: files or directories (`.yaml`, `.yml`, `.json`, sorted), split into
//! documents at `---` lines, each parsed as YAML. Problems come back with file, document and
//! line, and reading goes on so every problem is reported at once.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{ManifestError, Source};

/// One parsed YAML document and where it came from.
#[derive(Clone, Debug)]
pub struct RawDoc {
    pub source: Source,
    /// The document's text (for locating fields).
    pub text: String,
    pub value: Value,
}

/// Every manifest file under `paths`, in a stable order.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ManifestError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found).map_err(|e| ManifestError::io(p, &e))?;
            found.sort();
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(ManifestError::io(
                p,
                &std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
            ));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads and splits every file; returns the documents and the problems found.
pub fn read(paths: &[PathBuf]) -> (Vec<RawDoc>, Vec<ManifestError>) {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    let files = match files(paths) {
        Ok(f) => f,
        Err(e) => return (docs, vec![e]),
    };
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => split(&file, &text, &mut docs, &mut errors),
            Err(e) => errors.push(ManifestError::io(&file, &e)),
        }
    }
    (docs, errors)
}

/// Splits one file's text into documents and parses each.
pub fn split(file: &Path, text: &str, docs: &mut Vec<RawDoc>, errors: &mut Vec<ManifestError>) {
    let mut chunks: Vec<(usize, String)> = vec![(1, String::new())];
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") {
            chunks.push((i + 2, String::new()));
        } else if let Some((_, chunk)) = chunks.last_mut() {
            chunk.push_str(line);
            chunk.push('\n');
        }
    }
    let mut n = 0;
    for (first_line, chunk) in chunks {
        if chunk.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
            continue;
        }
        n += 1;
        let source = Source { file: file.display().to_string(), doc: n, line: first_line };
        match serde_saphyr::from_str::<Value>(&chunk) {
            Ok(value) => docs.push(RawDoc { source, text: chunk, value }),
            Err(e) => {
                let line = e.location().map_or(first_line, |l| {
                    first_line + usize::try_from(l.line()).unwrap_or(1) - 1
                });
                let message = e.to_string().lines().next().unwrap_or("not valid YAML").to_string();
                errors.push(ManifestError {
                    source: Source { line, ..source },
                    field: None,
                    message: format!("not valid YAML: {message}"),
                });
            }
        }
    }
}
