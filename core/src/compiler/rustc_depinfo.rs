//! rustc's dep-info (`--emit=dep-info`): a make-style rule list naming every
//! source file the crate read (modules, `include_str!`/`include_bytes!`
//! targets), plus `# env-dep:NAME=value` comment lines for the variables
//! read by `env!`/`option_env!` (rustc source, `rustc_interface::passes`,
//! `write_out_deps`; values escape `\` as `\\` and newline as `\n`).

use crate::depfile::{self, DepfileError};

/// What a dep-info file says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DepInfo {
    /// Source files, as rustc named them (relative to its cwd or absolute),
    /// deduplicated in first-seen order.
    pub sources: Vec<String>,
    /// Environment variables read at compile time with their value (`None`:
    /// read while unset), sorted by name.
    pub env: Vec<(String, Option<String>)>,
}

/// Parse dep-info text.
///
/// Errors: [`DepfileError`] when the rule part is not make syntax.
pub(crate) fn parse_depinfo(text: &[u8]) -> Result<DepInfo, DepfileError> {
    let text = std::str::from_utf8(text).map_err(|_| DepfileError::NotUtf8)?;
    let mut rules_text = String::with_capacity(text.len());
    let mut env = Vec::new();
    for line in text.lines() {
        if let Some(dep) = line.strip_prefix("# env-dep:") {
            env.push(match dep.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(unescape(v))),
                None => (dep.to_string(), None),
            });
        } else if !line.starts_with('#') {
            rules_text.push_str(line);
            rules_text.push('\n');
        }
    }
    env.sort();
    env.dedup();
    let rules = depfile::parse(rules_text.as_bytes())?;
    Ok(DepInfo {
        sources: depfile::prerequisites(&rules),
        env,
    })
}

fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_env_deps() {
        let text = b"/t/deps/foo-1.d: src/lib.rs src/data.txt\n\n/t/deps/libfoo-1.rmeta: src/lib.rs src/data.txt\n\nsrc/lib.rs:\nsrc/data.txt:\n\n# env-dep:CARGO_PKG_NAME=foo\n# env-dep:GREETING=a\\nb\\\\c\n# env-dep:UNSET\n";
        let d = parse_depinfo(text).unwrap();
        assert_eq!(d.sources, vec!["src/lib.rs", "src/data.txt"]);
        assert_eq!(
            d.env,
            vec![
                ("CARGO_PKG_NAME".to_string(), Some("foo".to_string())),
                ("GREETING".to_string(), Some("a\nb\\c".to_string())),
                ("UNSET".to_string(), None),
            ]
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_depinfo(b"no colon here\n").is_err());
        assert!(parse_depinfo(&[0xff]).is_err());
    }
}
