//! Finds the line of a field inside a YAML document, so manifest errors can say "line 12".
//! Block mappings and block sequences are followed key by key and item by item; inside a flow
//! collection (`{...}` or `[...]`) the search stops at the line that opens it.

/// One step of a field path like `spec.resources[0].paths[1]`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Step::Key(key.to_string()));
        }
        for idx in rest.split('[') {
            if let Some(n) = idx.trim_end_matches(']').parse().ok().filter(|_| !idx.is_empty()) {
                out.push(Step::Index(n));
            }
        }
    }
    out
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t == "---"
}

/// Whether `text` (a line with its indentation and any `- ` removed) starts the key `key`.
fn starts_key(text: &str, key: &str) -> Option<String> {
    for quoted in [key.to_string(), format!("\"{key}\""), format!("'{key}'")] {
        if let Some(rest) = text.strip_prefix(&quoted)
            && let Some(value) = rest.trim_start().strip_prefix(':')
        {
            return Some(value.trim().to_string());
        }
    }
    None
}

/// The 1-based line (counting from `first_line`, the document's first line in its file) of
/// `path` inside `doc`; the deepest line found when the path leaves block style.
pub fn locate(doc: &str, first_line: usize, path: &str) -> usize {
    let lines: Vec<&str> = doc.lines().collect();
    let mut at = 0usize; // index of the line found so far
    let mut parent: Option<usize> = None; // indentation of the node we are inside
    let mut inline = None::<String>; // text after `- ` on an item line, searched first
    for step in steps(path) {
        let found = match &step {
            Step::Key(k) => find_key(&lines, at, parent, k, inline.take()),
            Step::Index(i) => find_item(&lines, at, parent, *i),
        };
        let Some((line, ind, value, rest)) = found else { break };
        at = line;
        parent = Some(ind);
        inline = rest;
        if value.starts_with('{') || value.starts_with('[') {
            break;
        }
    }
    first_line + at
}

type Found = Option<(usize, usize, String, Option<String>)>;

fn find_key(
    lines: &[&str],
    at: usize,
    parent: Option<usize>,
    key: &str,
    inline: Option<String>,
) -> Found {
    if let Some(text) = inline
        && let Some(v) = starts_key(&text, key)
    {
        // The key sits on the item line: its children are indented past the dash.
        let ind = indent(lines[at]) + 1;
        return Some((at, ind, v, None));
    }
    let start = if parent.is_none() { at } else { at + 1 };
    for (i, line) in lines.iter().enumerate().skip(start) {
        if blank(line) {
            continue;
        }
        if parent.is_some_and(|p| indent(line) <= p) && i > at {
            return None;
        }
        if parent.is_none() && indent(line) > 0 {
            continue;
        }
        if let Some(v) = starts_key(line.trim_start(), key) {
            return Some((i, indent(line), v, None));
        }
    }
    None
}

fn find_item(lines: &[&str], at: usize, parent: Option<usize>, index: usize) -> Found {
    let mut seen = 0;
    let mut item_indent = None;
    for (i, line) in lines.iter().enumerate().skip(at + 1) {
        if blank(line) {
            continue;
        }
        let ind = indent(line);
        if parent.is_some_and(|p| ind < p)
            || (parent.is_some_and(|p| ind == p) && !line.trim_start().starts_with('-'))
        {
            return None;
        }
        let Some(rest) = line.trim_start().strip_prefix('-') else { continue };
        if *item_indent.get_or_insert(ind) != ind {
            continue;
        }
        if seen == index {
            let rest = rest.trim_start().to_string();
            return Some((i, ind, rest.clone(), Some(rest)));
        }
        seen += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "apiVersion: jitgate.dev/v1alpha1
kind: Grant
metadata:
  name: ci
spec:
  subject: service:ci
  resources:
    - service: orders
      methods: [GET]
      paths: [\"/orders/**\"]
    - service: billing
      methods:
        - GET
        - bogus
      paths: [\"/x\"]
  ttl: soon
";

    #[test]
    fn follows_keys_and_items() {
        assert_eq!(locate(DOC, 1, "kind"), 2);
        assert_eq!(locate(DOC, 1, "metadata.name"), 4);
        assert_eq!(locate(DOC, 1, "spec.ttl"), 16);
        assert_eq!(locate(DOC, 1, "spec.subject"), 6);
        assert_eq!(locate(DOC, 1, "spec.resources[0].service"), 8);
        assert_eq!(locate(DOC, 1, "spec.resources[0].paths[0]"), 10, "stops at a flow list");
        assert_eq!(locate(DOC, 1, "spec.resources[1].methods[1]"), 14);
        assert_eq!(locate(DOC, 1, "spec.resources[1]"), 11);
    }

    #[test]
    fn offsets_by_the_documents_first_line_and_degrades_gracefully() {
        assert_eq!(locate(DOC, 20, "spec.ttl"), 35);
        assert_eq!(locate(DOC, 1, "spec.nope"), 5, "an unknown key points at its parent");
        assert_eq!(locate(DOC, 1, "spec.resources[9]"), 7);
        assert_eq!(locate("{a: 1}", 3, "a"), 3);
    }
}
