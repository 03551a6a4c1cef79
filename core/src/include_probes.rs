//! The names a C-like file *probes*: `__has_include(<N>)`,
//! `__has_include("N")`, `__has_include_next(…)` and `#include_next <N>` /
//! `"N"` (gcc manual, "`__has_include`" and "Wrapper Headers"). A probe
//! that finds nothing leaves no trace in the depfile, and gcc does not list
//! a file `__has_include` found either, so direct mode must record what
//! each probe resolves to itself (see `daemon::pipeline::cc::probes`).
//!
//! The scan is textual: a probe inside a comment or a disabled `#if`
//! branch is still reported (a few extra checks, never a stale hit). A
//! probe whose argument is a macro cannot be resolved without the
//! preprocessor, and is reported as [`Unresolvable`].

use regex::Regex;
use std::sync::OnceLock;

/// One probed name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ProbedName {
    /// `<N>` (searched in the angle-bracket chain only) rather than `"N"`
    /// (the probing file's directory first).
    pub angle: bool,
    /// The name as written between the delimiters.
    pub name: String,
}

/// A probe whose argument is not a literal `<N>` or `"N"` (a macro).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("include probe with a computed name: {0}")]
pub(crate) struct Unresolvable(pub String);

fn literal_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r#"\b__has_include(?:_next)?(?:__)?\s*\(\s*([<"])([^>"\n]*)[>"]"#,
            r#"|(?m)^[ \t]*#[ \t]*include_next[ \t]*([<"])([^>"\n]*)[>"]"#,
        ))
        .expect("valid regex")
    })
}

fn computed_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r#"\b__has_include(?:_next)?(?:__)?\s*\(\s*[^\s<"]"#,
            r#"|(?m)^[ \t]*#[ \t]*include_next[ \t]+[A-Za-z_]"#,
        ))
        .expect("valid regex")
    })
}

/// The names `data` probes, sorted and without duplicates.
///
/// Errors: [`Unresolvable`] for a probe with a computed name.
pub(crate) fn probed_names(data: &[u8]) -> Result<Vec<ProbedName>, Unresolvable> {
    let text = String::from_utf8_lossy(data);
    if let Some(m) = computed_re().find(&text) {
        return Err(Unresolvable(m.as_str().trim().to_string()));
    }
    let mut names: Vec<ProbedName> = literal_re()
        .captures_iter(&text)
        .filter_map(|c| {
            let open = c.get(1).or_else(|| c.get(3))?;
            let name = c.get(2).or_else(|| c.get(4))?;
            Some(ProbedName {
                angle: open.as_str() == "<",
                name: name.as_str().to_string(),
            })
        })
        .filter(|p| !p.name.is_empty())
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(angle: bool, name: &str) -> ProbedName {
        ProbedName {
            angle,
            name: name.to_string(),
        }
    }

    #[test]
    fn literal_probes_are_found() {
        let src = b"#if __has_include(<a.h>) && __has_include (\"b/c.h\")\n\
                    #if defined(__has_include) && __has_include_next( <d.h> )\n\
                      #  include_next <e.h>\n#include_next \"f.h\"\n\
                    #include <g.h>\n";
        assert_eq!(
            probed_names(src).unwrap(),
            vec![
                p(false, "b/c.h"),
                p(false, "f.h"),
                p(true, "a.h"),
                p(true, "d.h"),
                p(true, "e.h"),
            ]
        );
    }

    #[test]
    fn mentions_that_are_not_probes_are_ignored() {
        let src = b"#ifdef __has_include\n/* a #include_next through x */\n\
                    int my__has_include(int);\n";
        assert_eq!(probed_names(src).unwrap(), vec![]);
    }

    #[test]
    fn computed_names_are_unresolvable() {
        assert!(probed_names(b"#if __has_include(HDR)\n").is_err());
        assert!(probed_names(b"#include_next HDR\n").is_err());
    }
}
