//! Archiver command-line understanding (`ar`, `gcc-ar`, `llvm-ar`): which
//! calls create or update an archive in a way that depends only on the
//! member contents, the existing archive and the modifier letters (GNU
//! binutils manual, "ar"). Pure argv analysis.

use super::link_refusal::LinkRefusal;

/// An archive update that may be cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArInvocation {
    /// The operation: `r` (replace/insert), `q` (append) or `s` (index only).
    pub operation: char,
    /// The modifier letters, sorted and deduplicated (the key uses them).
    pub modifiers: String,
    /// The archive path.
    pub archive: String,
    /// Member files in order.
    pub members: Vec<String>,
    /// Files given to `--plugin` (their content keys the call).
    pub plugins: Vec<String>,
}

impl ArInvocation {
    /// True when the archive is deterministic by request (`D`): zero
    /// timestamps, uids and gids. Without it the result depends on how the
    /// archiver was built (binutils `--enable-deterministic-archives`).
    pub(crate) fn is_deterministic(&self) -> bool {
        self.modifiers.contains('D')
    }
}

/// The verdict on an archiver argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArParse {
    /// Cacheable.
    Archive(ArInvocation),
    /// Not cacheable: label and detail.
    NonCacheable(LinkRefusal, String),
}

/// Operation letters (GNU binutils manual, "ar": "p keyletter").
const OPERATIONS: &[char] = &['d', 'm', 'p', 'q', 'r', 's', 't', 'x'];
/// Modifiers whose result depends only on the inputs: `c` (create quietly),
/// `D`/`U` (deterministic or not), `s`/`S` (index), `T` (thin), `P` (full
/// path names), `f` (truncate names), `v` (verbose, replayed), `l` is
/// refused (dependency lists), `u` is refused (compares mtimes), `a`/`b`/`i`
/// and `N` take extra positional words.
const SAFE_MODIFIERS: &[char] = &['c', 'D', 'U', 's', 'S', 'T', 'P', 'f', 'v', 'o'];

/// Parse an archiver argv (response files already expanded).
pub(crate) fn parse_ar_args(args: &[String]) -> ArParse {
    let mut plugins = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i).filter(|a| a.starts_with("--")) {
        if a == "--plugin" {
            match args.get(i + 1) {
                Some(p) => plugins.push(p.clone()),
                None => return refuse(LinkRefusal::ArOption, a),
            }
            i += 2;
        } else if let Some(p) = a.strip_prefix("--plugin=") {
            plugins.push(p.to_string());
            i += 1;
        } else {
            return refuse(LinkRefusal::ArOption, a);
        }
    }
    let Some(keys) = args.get(i) else {
        return refuse(LinkRefusal::ArOption, "no operation");
    };
    let (operation, modifiers) = match split_keys(keys.trim_start_matches('-')) {
        Ok(k) => k,
        Err(e) => return e,
    };
    let Some(archive) = args.get(i + 1) else {
        return refuse(LinkRefusal::ArOption, "no archive");
    };
    let members: Vec<String> = args[i + 2..].to_vec();
    if members.iter().any(|m| m.starts_with('-')) {
        return refuse(LinkRefusal::ArOption, "option after the archive");
    }
    ArParse::Archive(ArInvocation {
        operation,
        modifiers,
        archive: archive.clone(),
        members,
        plugins,
    })
}

/// Parse a `ranlib` argv (GNU binutils manual, "ranlib"): `[-D|-U]
/// [--plugin P] archive`. It indexes the archive in place, which is `ar s`
/// on the existing archive: operation `s`, no members, `D`/`U` as
/// modifiers. Other options (`-t` touches the index timestamp; `--help`,
/// `--version` print) and more than one archive are refused.
pub(crate) fn parse_ranlib_args(args: &[String]) -> ArParse {
    let mut plugins = Vec::new();
    let mut modifiers = String::new();
    let mut archives = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-D" => modifiers.push('D'),
            "-U" => modifiers.push('U'),
            "--plugin" => match args.get(i + 1) {
                Some(p) => {
                    plugins.push(p.clone());
                    i += 1;
                }
                None => return refuse(LinkRefusal::RanlibOption, a),
            },
            _ if a.starts_with("--plugin=") => plugins.push(a["--plugin=".len()..].to_string()),
            _ if a.starts_with('-') => return refuse(LinkRefusal::RanlibOption, a),
            _ => archives.push(a.clone()),
        }
        i += 1;
    }
    let [archive] = archives.as_slice() else {
        return refuse(
            LinkRefusal::RanlibOption,
            &format!("{} archives", archives.len()),
        );
    };
    ArParse::Archive(ArInvocation {
        operation: 's',
        modifiers,
        archive: archive.clone(),
        members: Vec::new(),
        plugins,
    })
}

fn refuse(label: LinkRefusal, detail: &str) -> ArParse {
    ArParse::NonCacheable(label, detail.to_string())
}

/// Split `rcsD` into the operation and the sorted modifiers. `s` alone is
/// the index operation; with another operation it is a modifier.
fn split_keys(keys: &str) -> Result<(char, String), ArParse> {
    let ops: Vec<char> = keys
        .chars()
        .filter(|c| OPERATIONS.contains(c) && *c != 's')
        .collect();
    let operation = match ops.as_slice() {
        [] if keys.contains('s') => 's',
        [op] => *op,
        _ => return Err(refuse(LinkRefusal::ArOption, keys)),
    };
    if !matches!(operation, 'r' | 'q' | 's') {
        return Err(refuse(LinkRefusal::ArOperation, keys));
    }
    let mut modifiers: Vec<char> = keys.chars().filter(|c| *c != operation).collect();
    if let Some(bad) = modifiers.iter().find(|c| !SAFE_MODIFIERS.contains(c)) {
        let label = if *bad == 'u' {
            LinkRefusal::ArUpdate
        } else {
            LinkRefusal::ArOption
        };
        return Err(refuse(label, keys));
    }
    modifiers.sort_unstable();
    modifiers.dedup();
    Ok((operation, modifiers.into_iter().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn ranlib_is_an_in_place_index() {
        match parse_ranlib_args(&s(&["-D", "libx.a"])) {
            ArParse::Archive(a) => {
                assert_eq!((a.operation, a.modifiers.as_str()), ('s', "D"));
                assert_eq!(a.archive, "libx.a");
                assert!(a.members.is_empty());
            }
            other => panic!("{other:?}"),
        }
        for bad in [&["-t", "l.a"][..], &["a.a", "b.a"], &[], &["--version"]] {
            assert!(
                matches!(
                    parse_ranlib_args(&s(bad)),
                    ArParse::NonCacheable(LinkRefusal::RanlibOption, _)
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn create_archive() {
        match parse_ar_args(&s(&["rcs", "libx.a", "a.o", "b.o"])) {
            ArParse::Archive(a) => {
                assert_eq!((a.operation, a.modifiers.as_str()), ('r', "cs"));
                assert_eq!(a.members, s(&["a.o", "b.o"]));
                assert!(!a.is_deterministic());
            }
            other => panic!("{other:?}"),
        }
        match parse_ar_args(&s(&["--plugin", "p.so", "-qcD", "l.a", "a.o"])) {
            ArParse::Archive(a) => {
                assert_eq!((a.operation, a.modifiers.as_str()), ('q', "Dc"));
                assert!(a.is_deterministic());
                assert_eq!(a.plugins, s(&["p.so"]));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(parse_ar_args(&s(&["s", "l.a"])), ArParse::Archive(a) if a.operation == 's')
        );
    }

    #[test]
    fn refused() {
        for (v, label) in [
            (&["t", "l.a"][..], "ar_operation"),
            (&["x", "l.a"], "ar_operation"),
            (&["ru", "l.a", "a.o"], "ar_update"),
            (&["rb", "a.o", "l.a", "b.o"], "ar_option"),
            (&["--target=elf", "r", "l.a"], "ar_option"),
            (&[], "ar_option"),
        ] {
            match parse_ar_args(&s(v)) {
                ArParse::NonCacheable(l, _) => assert_eq!(l.label(), label, "{v:?}"),
                other => panic!("{v:?}: {other:?}"),
            }
        }
    }
}
