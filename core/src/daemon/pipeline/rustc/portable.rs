//! Portable rustc keys (issue 12, "Rust"): a rustc call whose embedded
//! paths are remapped away is keyed independently of where its checkout
//! and `CARGO_HOME` live, so two checkouts (or users, or machines) share
//! entries.
//!
//! **Roots.** For a rustc request the roots are, in this order of
//! preference: the workspace root (`ZCCACHE_CARGO_WORKSPACE`, set by `cargo
//! zccache`), `CARGO_HOME` (the request's variable, else `$HOME/.cargo`;
//! cargo book, "Cargo Home"), and the configured base dirs
//! (`ZCCACHE_BASE_DIR`, named `base0`, `base1`, … in order). A path belongs
//! to the root that is its longest prefix (whole components).
//!
//! **The rule.** rustc embeds source paths and its working directory in
//! rlibs, rmeta, binaries (panic locations, debug info, file maps) and
//! diagnostics, unless a `--remap-path-prefix FROM=TO` maps them (rustc
//! book, "--remap-path-prefix": the last matching mapping wins, prefixes
//! match whole components). So an absolute path is *safe* when the mapping
//! rustc applies to it has its `FROM` inside the path's root: what rustc
//! embeds is then `TO` plus the path relative to `FROM`, the same in every
//! checkout. Only safe paths are keyed by their anchored form
//! `\0<root>\0/<path relative to the root>` (NUL never occurs in an
//! argument or a file name, so no real path is mistaken for one); every
//! other path stays verbatim in the key, exactly as without roots. A
//! request is portable only when its cwd is safe; otherwise nothing changes
//! (same key, same manifest and entry format, no extra work on the hit
//! path).
//!
//! Text that names paths (the stored dep-info file, stdout and stderr) is
//! stored with each safe `FROM` replaced by its anchored form and written
//! back with this request's roots ([`super::portable_text`]).

use crate::ipc::CompileRequest;
use crate::paths::normalize;
use std::path::{Path, PathBuf};

/// The variable `cargo zccache` sets (for cargo, hence for every rustc it
/// runs) to the workspace root, an absolute path.
pub(crate) const WORKSPACE_ENV: &str = "ZCCACHE_CARGO_WORKSPACE";

/// The rustc option whose mappings make paths portable.
const REMAP: &str = "--remap-path-prefix";

/// One root: a stable name (`workspace`, `cargo-home`, `base<i>`) and this
/// machine's absolute, lexically normalised path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Root {
    /// The name keyed instead of the path.
    pub name: String,
    /// Where the root is for this request.
    pub path: PathBuf,
}

/// The roots and remappings of one portable rustc request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Anchors {
    roots: Vec<Root>,
    /// The `FROM` of every `--remap-path-prefix`, in argv order.
    froms: Vec<PathBuf>,
}

/// True when `args` hold a `--remap-path-prefix` (the cheap test that
/// keeps requests without one on the unchanged path).
pub(crate) fn has_remap(args: &[String]) -> bool {
    args.iter()
        .any(|a| a == REMAP || a.strip_prefix(REMAP).is_some_and(|r| r.starts_with('=')))
}

/// The `FROM` of each `--remap-path-prefix FROM=TO` (rustc splits at the
/// last `=`), normalised when absolute.
fn remap_froms(args: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let value = if args[i] == REMAP {
            i += 1;
            args.get(i).map(String::as_str)
        } else {
            args[i]
                .strip_prefix(REMAP)
                .and_then(|r| r.strip_prefix('='))
        };
        if let Some((from, _)) = value.and_then(|v| v.rsplit_once('=')) {
            let p = Path::new(from);
            out.push(if p.is_absolute() {
                normalize(p)
            } else {
                p.to_path_buf()
            });
        }
        i += 1;
    }
    out
}

/// The value of `name` in the request's environment.
fn env_of<'a>(req: &'a CompileRequest, name: &str) -> Option<&'a str> {
    req.env
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The roots of a request (see the module docs); relative or empty
/// values, and `/` itself, are left out.
pub(crate) fn roots(req: &CompileRequest) -> Vec<Root> {
    let cargo_home = env_of(req, "CARGO_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env_of(req, "HOME").map(|h| Path::new(h).join(".cargo")));
    let mut candidates: Vec<(String, PathBuf)> = Vec::new();
    if let Some(ws) = env_of(req, WORKSPACE_ENV) {
        candidates.push(("workspace".into(), PathBuf::from(ws)));
    }
    if let Some(home) = cargo_home {
        candidates.push(("cargo-home".into(), home));
    }
    for (i, dir) in req.base_dirs.iter().enumerate() {
        candidates.push((format!("base{i}"), dir.clone()));
    }
    candidates
        .into_iter()
        .filter(|(_, p)| p.is_absolute())
        .map(|(name, p)| Root {
            name,
            path: normalize(&p),
        })
        .filter(|r| r.path.components().count() > 1)
        .collect()
}

impl Anchors {
    /// The anchors of a request whose argv is `args`: `Some` only when
    /// `args` remap paths and the request's cwd is safe (module docs).
    pub(crate) fn for_request(req: &CompileRequest, args: &[String]) -> Option<Anchors> {
        if !has_remap(args) {
            return None;
        }
        let a = Anchors {
            roots: roots(req),
            froms: remap_froms(args),
        };
        a.is_safe(&normalize(&req.cwd)).then_some(a)
    }

    /// Anchors from explicit parts (unit tests).
    #[cfg(test)]
    pub(crate) fn new(roots: Vec<Root>, froms: Vec<PathBuf>) -> Anchors {
        Anchors { roots, froms }
    }

    /// The roots, in preference order.
    pub(crate) fn roots(&self) -> &[Root] {
        &self.roots
    }

    /// The root `p` (absolute, normalised) belongs to: its longest prefix,
    /// the first in preference order among equals.
    pub(crate) fn root_of(&self, p: &Path) -> Option<&Root> {
        let mut best: Option<&Root> = None;
        for r in self.roots.iter().filter(|r| p.starts_with(&r.path)) {
            let longer =
                best.is_none_or(|b| r.path.components().count() > b.path.components().count());
            if longer {
                best = Some(r);
            }
        }
        best
    }

    /// True when rustc's mapping of `p` (absolute, normalised) has its
    /// `FROM` inside `p`'s root, so what rustc embeds for `p` does not
    /// depend on where the root is.
    pub(crate) fn is_safe(&self, p: &Path) -> bool {
        let Some(root) = self.root_of(p) else {
            return false;
        };
        self.froms
            .iter()
            .rev()
            .find(|from| p.starts_with(from))
            .is_some_and(|from| from.starts_with(&root.path))
    }

    /// The `FROM`s that are safe themselves, longest first: the prefixes
    /// whose text is replaced by its anchored form in stored text.
    pub(crate) fn safe_froms(&self) -> Vec<&Path> {
        let mut out: Vec<&Path> = self
            .froms
            .iter()
            .filter(|f| f.is_absolute() && self.is_safe(f))
            .map(PathBuf::as_path)
            .collect();
        out.sort_by_key(|f| std::cmp::Reverse(f.as_os_str().len()));
        out.dedup();
        out
    }

    /// `\0<root>\0/<rel>` for an absolute, normalised `p` under a root
    /// (`\0<root>\0` for the root itself); `None` outside every root or
    /// for a non-UTF-8 path.
    pub(crate) fn anchor(&self, p: &Path) -> Option<String> {
        let root = self.root_of(p)?;
        let rel = p.strip_prefix(&root.path).ok()?.to_str()?;
        let head = format!("\0{}\0", root.name);
        Some(if rel.is_empty() {
            head
        } else {
            format!("{head}/{rel}")
        })
    }

    /// The key form of one path: anchored when absolute and safe, else
    /// verbatim.
    pub(crate) fn key_path(&self, s: &str) -> String {
        let p = Path::new(s);
        if !p.is_absolute() {
            return s.to_string();
        }
        let p = normalize(p);
        match self.is_safe(&p).then(|| self.anchor(&p)).flatten() {
            Some(a) => a,
            None => s.to_string(),
        }
    }

    /// The key form of one argument or variable value: a path
    /// ([`Anchors::key_path`]); `FROM=TO` with an absolute `FROM` (split
    /// at the last `=`, as rustc does) with `FROM` keyed; otherwise
    /// `head=rest` with `rest` keyed recursively (`--out-dir=…`,
    /// `-Ldependency=…`, `--extern name=…`, `link-arg=…`); anything else
    /// verbatim.
    pub(crate) fn key_arg(&self, a: &str) -> String {
        if a.starts_with('/') {
            return match a.rsplit_once('=') {
                Some((from, to)) => format!("{}={to}", self.key_path(from)),
                None => self.key_path(a),
            };
        }
        match a.split_once('=') {
            Some((head, rest)) => format!("{head}={}", self.key_arg(rest)),
            None => a.to_string(),
        }
    }

    /// The key form of a variable's value: [`Anchors::key_arg`] of each
    /// `\x1f`-separated part (`CARGO_ENCODED_RUSTFLAGS`).
    pub(crate) fn key_value(&self, v: &str) -> String {
        v.split('\x1f')
            .map(|part| self.key_arg(part))
            .collect::<Vec<_>>()
            .join("\x1f")
    }

    /// How a dep-info source is recorded in the manifest: anchored when it
    /// is absolute and safe; otherwise as rustc named it (a relative path
    /// resolves against the cwd, whose key form is portable, and rustc
    /// embeds it relative to the remapped cwd).
    pub(crate) fn record_path(&self, s: &str) -> String {
        self.key_path(s)
    }

    /// This request's path for a recorded one: an anchored path re-rooted
    /// here; any other path unchanged. An anchor whose root this request
    /// lacks stays as it is and names no file, so its set never matches.
    pub(crate) fn localize(&self, s: &str) -> String {
        let Some(rest) = s.strip_prefix('\0') else {
            return s.to_string();
        };
        let Some((name, rel)) = rest.split_once('\0') else {
            return s.to_string();
        };
        match self.roots.iter().find(|r| r.name == name) {
            Some(r) => format!("{}{rel}", r.path.display()),
            None => s.to_string(),
        }
    }

    /// For a result that names a root's path: the variables that locate
    /// the roots, with their values in `env` (`None`: unset), to record
    /// in its input set like `env-dep`s, so that only a request with the
    /// same roots matches it. `None` when a base dir is a root (no variable
    /// names it for the lookup).
    pub(crate) fn pins(&self, env: &[(String, String)]) -> Option<Vec<(String, Option<String>)>> {
        if self.roots.iter().any(|r| r.name.starts_with("base")) {
            return None;
        }
        let value = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        Some(
            [WORKSPACE_ENV, "CARGO_HOME", "HOME"]
                .iter()
                .map(|k| (k.to_string(), value(k)))
                .collect(),
        )
    }

    /// The root names, for the context key: an entry stored with some
    /// roots is only served to requests that have the same ones.
    pub(crate) fn names(&self) -> String {
        let names: Vec<&str> = self.roots.iter().map(|r| r.name.as_str()).collect();
        names.join(",")
    }
}

#[cfg(test)]
#[path = "portable_tests.rs"]
mod tests;
