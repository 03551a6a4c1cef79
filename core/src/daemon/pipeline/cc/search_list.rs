//! The compiler's own include search list, as `<cc> <args> -E -v` prints
//! it (gcc manual, "Search Path": "`#include <...>` search starts here"),
//! including the directories it ignores because they do not exist. Only
//! absolute directories are kept: the built-in system dirs, `--sysroot`
//! and target dependent ones; the directories of the arguments and the
//! include-path variables are in the plan already.
//!
//! The query runs on the blocking pool (only when a miss is stored and
//! its files probe names, see `probes`) and is memoised per compiler
//! binary, arguments, language and keyed environment.

use super::plan::Plan;
use crate::daemon::state::DaemonState;
use crate::ipc::CompileRequest;
use crate::key::{normalize, KeyBuilder};
use crate::storage::RecordKey;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Memoised lists kept before the memo is emptied (bounded memory).
const MAX_LISTS: usize = 1024;

fn memo() -> &'static Mutex<HashMap<RecordKey, Arc<Vec<PathBuf>>>> {
    static MEMO: OnceLock<Mutex<HashMap<RecordKey, Arc<Vec<PathBuf>>>>> = OnceLock::new();
    MEMO.get_or_init(Default::default)
}

/// The absolute directories of the compiler's search list for source `i`
/// of the request, in the compiler's order.
///
/// Errors: a message when the query cannot run or prints no list.
pub(crate) fn system_dirs(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &Plan,
    i: usize,
) -> Result<Arc<Vec<PathBuf>>, String> {
    let source = &plan.inv.sources[i];
    let ext = Path::new(&source.path)
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut b = KeyBuilder::new("c-search-list");
    b.field("compiler", req.compiler.as_os_str().as_encoded_bytes());
    b.field("identity", &plan.identity);
    b.strings("args", &plan.inv.common_args);
    b.field(
        "language",
        source.language.as_deref().unwrap_or("").as_bytes(),
    );
    b.field("extension", ext.as_bytes());
    for (k, v) in &plan.key_env {
        b.field("env", format!("{k}={v}").as_bytes());
    }
    let key = b.finish();
    if let Some(dirs) = memo().lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(dirs);
    }
    let dirs = Arc::new(query(d, req, plan, source.language.as_deref(), &ext)?);
    if let Ok(mut m) = memo().lock() {
        if m.len() >= MAX_LISTS {
            m.clear();
        }
        m.insert(key, dirs.clone());
    }
    Ok(dirs)
}

/// Run `<cc> <common args> -E -v [-x lang] <empty file with the source's
/// extension> -o /dev/null` and parse its search list.
fn query(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &Plan,
    language: Option<&str>,
    ext: &str,
) -> Result<Vec<PathBuf>, String> {
    let id = format!("{}-{}", std::process::id(), d.lifecycle().next_temp_id());
    let empty = d.tmp_dir().join(format!("search-{id}.{ext}"));
    std::fs::write(&empty, b"").map_err(|e| format!("{}: {e}", empty.display()))?;
    let mut argv = plan.inv.common_args.clone();
    argv.extend(["-E".to_string(), "-v".to_string()]);
    if let Some(lang) = language {
        argv.extend(["-x".to_string(), lang.to_string()]);
    }
    argv.push(empty.to_string_lossy().into_owned());
    argv.extend(["-o".to_string(), "/dev/null".to_string()]);
    let out = super::super::runner::run_query(req, &argv);
    let _ = std::fs::remove_file(&empty);
    let out = out.map_err(|e| format!("cannot run the search-list query: {e}"))?;
    if !out.status.success() {
        return Err(format!("search-list query failed: {}", out.status));
    }
    parse(&String::from_utf8_lossy(&out.stderr))
        .ok_or_else(|| "the search-list query printed no list".to_string())
}

/// The absolute dirs of a `-v` search list (and the nonexistent ones it
/// names), in order; `None` without a list.
fn parse(stderr: &str) -> Option<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut push = |d: &str| {
        let d = d.trim().trim_end_matches(" (framework directory)");
        let p = Path::new(d);
        if p.is_absolute() && !dirs.iter().any(|x| x == &normalize(p)) {
            dirs.push(normalize(p));
        }
    };
    let (mut in_list, mut ended) = (false, false);
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("ignoring nonexistent directory \"") {
            push(rest.trim_end_matches('"'));
        } else if line.starts_with("#include ") && line.ends_with("search starts here:") {
            in_list = true;
        } else if line.starts_with("End of search list.") {
            (in_list, ended) = (false, true);
        } else if in_list && line.starts_with(' ') {
            push(line);
        }
    }
    ended.then_some(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcc_search_list_is_parsed_in_order() {
        let stderr = concat!(
            "ignoring nonexistent directory \"/usr/local/include/x86_64-linux-gnu\"\n",
            "ignoring nonexistent directory \"rel\"\n",
            "#include \"...\" search starts here:\n",
            "#include <...> search starts here:\n",
            " inc\n",
            " /usr/lib/gcc/x86_64-linux-gnu/12/include\n",
            " /usr/local/include\n",
            " /usr/include/../include\n",
            "End of search list.\n",
        );
        let want: Vec<PathBuf> = [
            "/usr/local/include/x86_64-linux-gnu",
            "/usr/lib/gcc/x86_64-linux-gnu/12/include",
            "/usr/local/include",
            "/usr/include",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(parse(stderr), Some(want));
        assert_eq!(parse("no list here\n"), None);
    }
}
