//! A small `#include` scanner for `zccache exec --include-scan`: finds the
//! headers a C-like file pulls in, transitively, by searching the including
//! file's directory (quoted includes) and then the given directories (gcc
//! manual, "Search Path"). Headers that cannot be found are skipped: they
//! live in directories the caller did not declare.

use regex::Regex;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Most files one scan visits (guards against pathological trees).
const MAX_FILES: usize = 10_000;

fn include_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"(?m)^\s*#\s*(?:include|import|include_next)\s*([<"])([^>"]+)[>"]"#)
            .expect("valid regex")
    })
}

/// Every header reachable from `roots` through `#include`, resolved
/// against the including file's directory (quoted form only) and `dirs`,
/// in a stable order. The roots themselves are not included.
pub(crate) fn scan(roots: &[PathBuf], dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut queue: Vec<PathBuf> = roots.to_vec();
    let mut found = Vec::new();
    while let Some(file) = queue.pop() {
        if seen.len() >= MAX_FILES || !seen.insert(file.clone()) {
            continue;
        }
        let Ok(text) = std::fs::read(&file) else {
            continue;
        };
        let text = String::from_utf8_lossy(&text);
        for cap in include_re().captures_iter(&text) {
            let quoted = &cap[1] == "\"";
            if let Some(h) = resolve(&file, &cap[2], quoted, dirs) {
                if !seen.contains(&h) {
                    if !roots.contains(&h) && !found.contains(&h) {
                        found.push(h.clone());
                    }
                    queue.push(h);
                }
            }
        }
    }
    found.sort();
    found
}

fn resolve(includer: &Path, name: &str, quoted: bool, dirs: &[PathBuf]) -> Option<PathBuf> {
    let local = quoted
        .then(|| includer.parent().map(|d| d.join(name)))
        .flatten();
    local
        .into_iter()
        .chain(dirs.iter().map(|d| d.join(name)))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_quoted_and_angle_includes_transitively() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("inc/sub")).unwrap();
        std::fs::write(
            r.join("main.c"),
            "#include \"local.h\"\n  # include <sub/b.h>\n#include <stdio.h>\n",
        )
        .unwrap();
        std::fs::write(r.join("local.h"), "#include \"main.c\"\n").unwrap();
        std::fs::write(r.join("inc/sub/b.h"), "#include \"c.h\"\n").unwrap();
        std::fs::write(r.join("inc/sub/c.h"), "int c;\n").unwrap();
        let got = scan(&[r.join("main.c")], &[r.join("inc")]);
        assert_eq!(
            got,
            vec![
                r.join("inc/sub/b.h"),
                r.join("inc/sub/c.h"),
                r.join("local.h")
            ]
        );
    }
}
