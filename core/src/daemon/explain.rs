//! Miss explanations (`zccache explain`): for each output, the inputs of
//! its previous compile are remembered, so a miss can name the exact input
//! that changed: a header, a flag, the compiler, an environment variable or
//! the source.

use crate::hash::{to_hex, Digest};
use std::collections::HashMap;
use std::sync::Mutex;

/// Outputs remembered before the maps are emptied (bounded memory).
const MAX_OUTPUTS: usize = 100_000;

/// What identified one compile of one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputsSummary {
    /// Compiler path as invoked.
    pub compiler: String,
    /// Compiler identity hash.
    pub identity: Digest,
    /// Normalised arguments (as keyed).
    pub args: Vec<String>,
    /// Key-relevant environment.
    pub env: Vec<(String, String)>,
    /// Source path.
    pub source: String,
    /// Source content hash.
    pub source_hash: Digest,
}

/// Explanations per output and the most recent miss.
#[derive(Debug, Default)]
pub(crate) struct Explanations {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    previous: HashMap<String, InputsSummary>,
    why: HashMap<String, String>,
    last_miss: Option<(String, String)>,
}

impl Explanations {
    /// Note a compile of `output` with `now` inputs. `miss` is `Some(detail)`
    /// for a miss whose cause is already known (a manifest mismatch), or
    /// `Some("")` for a miss to be explained by comparing with the previous
    /// compile of the same output; `None` for a hit.
    pub(crate) fn note(&self, output: &str, now: InputsSummary, miss: Option<String>) {
        let Ok(mut g) = self.inner.lock() else { return };
        if g.previous.len() >= MAX_OUTPUTS {
            g.previous.clear();
            g.why.clear();
        }
        if let Some(detail) = miss {
            let text = if detail.is_empty() {
                diff(g.previous.get(output), &now)
            } else {
                detail
            };
            g.why.insert(output.to_string(), text.clone());
            g.last_miss = Some((output.to_string(), text));
        }
        g.previous.insert(output.to_string(), now);
    }

    /// Append `note` to the explanation of the latest miss of `output`
    /// (e.g. that the direct-mode miss was served by the preprocessor
    /// fallback after all); nothing happens when none is recorded.
    pub(crate) fn annotate(&self, output: &str, note: &str) {
        let Ok(mut g) = self.inner.lock() else { return };
        if let Some(why) = g.why.get_mut(output) {
            why.push_str("; ");
            why.push_str(note);
        }
        if let Some((_, why)) = g.last_miss.as_mut().filter(|(o, _)| o == output) {
            why.push_str("; ");
            why.push_str(note);
        }
    }

    /// Record that a served hit of `output` was found stale by the hit
    /// verifier (`detail` names what differed); `zccache explain` reports
    /// it until the output's next miss.
    pub(crate) fn verify_mismatch(&self, output: &str, detail: &str) {
        let Ok(mut g) = self.inner.lock() else { return };
        let text =
            format!("verify mismatch: a served hit was stale ({detail}); the entry was dropped");
        g.why.insert(output.to_string(), text.clone());
        g.last_miss = Some((output.to_string(), text));
    }

    /// Why the most recent miss of `output` happened (or of the most recent
    /// miss of all when `output` is `None`), prefixed by the output path.
    pub(crate) fn explain(&self, output: Option<&str>) -> Option<String> {
        let g = self.inner.lock().ok()?;
        match output {
            Some(o) => g.why.get(o).map(|w| format!("{o}: {w}")),
            None => g.last_miss.as_ref().map(|(o, w)| format!("{o}: {w}")),
        }
    }
}

/// Name the differences between the previous and the current inputs.
pub(crate) fn diff(prev: Option<&InputsSummary>, now: &InputsSummary) -> String {
    let Some(prev) = prev else {
        return "first compile of this context".to_string();
    };
    let mut why = Vec::new();
    if prev.compiler != now.compiler || prev.identity != now.identity {
        why.push("compiler changed".to_string());
    }
    for a in now.args.iter().filter(|a| !prev.args.contains(a)) {
        why.push(format!("flag added: {a}"));
    }
    for a in prev.args.iter().filter(|a| !now.args.contains(a)) {
        why.push(format!("flag removed: {a}"));
    }
    if why.iter().all(|w| !w.starts_with("flag")) && prev.args != now.args {
        why.push("flag order changed".to_string());
    }
    for (k, v) in &now.env {
        if prev.env.iter().find(|(pk, _)| pk == k).map(|(_, pv)| pv) != Some(v) {
            why.push(format!("env {k} changed"));
        }
    }
    for (k, _) in prev
        .env
        .iter()
        .filter(|(k, _)| !now.env.iter().any(|(nk, _)| nk == k))
    {
        why.push(format!("env {k} changed"));
    }
    if prev.source != now.source || prev.source_hash != now.source_hash {
        why.push(format!(
            "source {} changed (hash {} → {})",
            now.source,
            &to_hex(&prev.source_hash)[..8],
            &to_hex(&now.source_hash)[..8]
        ));
    }
    if why.is_empty() {
        why.push("first compile of this context (same inputs as before; the entry was evicted or cleared)".to_string());
    }
    why.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(args: &[&str]) -> InputsSummary {
        InputsSummary {
            compiler: "/usr/bin/gcc".into(),
            identity: [1; 32],
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec![],
            source: "a.c".into(),
            source_hash: [2; 32],
        }
    }

    #[test]
    fn names_the_changed_input() {
        let e = Explanations::default();
        e.note("/o/a.o", inputs(&["-O2"]), Some(String::new()));
        assert_eq!(
            e.explain(Some("/o/a.o")).unwrap(),
            "/o/a.o: first compile of this context"
        );
        e.note("/o/a.o", inputs(&["-O2", "-DNDEBUG"]), Some(String::new()));
        assert_eq!(e.explain(None).unwrap(), "/o/a.o: flag added: -DNDEBUG");
        let mut other = inputs(&["-O2", "-DNDEBUG"]);
        other.identity = [9; 32];
        other.env = vec![("CPATH".into(), "/x".into())];
        e.note("/o/a.o", other, Some(String::new()));
        let why = e.explain(Some("/o/a.o")).unwrap();
        assert!(
            why.contains("compiler changed") && why.contains("env CPATH changed"),
            "{why}"
        );
        e.note(
            "/o/a.o",
            inputs(&["-O2"]),
            Some("header include/foo.h changed".into()),
        );
        assert_eq!(
            e.explain(Some("/o/a.o")).unwrap(),
            "/o/a.o: header include/foo.h changed"
        );
        assert_eq!(e.explain(Some("/nope.o")), None);
    }
}
