//! The launcher settings of a lean launcher's compile. The lean `zccache`
//! reads no configuration; its request says so (`settings_from_env`) and
//! the daemon resolves the settings the full launcher would have sent
//! (prefix, verify rate, base dirs) from the request's `ZCCACHE_*`
//! variables and the config file they name, with the same loader
//! ([`Config`]). Settings the daemon cannot serve (another cache dir, debug
//! output on the launcher's stderr) are answered with
//! [`Response::Delegate`]; a disabled cache or a bad setting with
//! `RunLocally`, as the full launcher compiles directly in both cases. The
//! last resolution is remembered while the variables and the config file's
//! stat stay the same, so a hit pays one stat for it.

use crate::config::Config;
use crate::hash::StatFingerprint;
use crate::ipc::{CompileRequest, Response};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What a resolution decided for requests with one set of variables.
#[derive(Debug, Clone)]
enum Resolved {
    /// Serve the request with these settings.
    Serve {
        prefix: Option<String>,
        verify_per_million: u32,
        base_dirs: Vec<PathBuf>,
    },
    /// Answer with this reply instead.
    Answer(Response),
}

/// The inputs of one resolution: daemon root, the `ZCCACHE_*` variables
/// (sorted), and the config file's stat (`None`: absent).
type MemoKey = (PathBuf, Vec<(String, String)>, Option<StatFingerprint>);

/// The last resolution (one entry: a build uses one environment).
static LAST: Mutex<Option<(MemoKey, Resolved)>> = Mutex::new(None);

/// Fill in `req`'s launcher settings when it asks for that; `root` is the
/// daemon's cache dir. Requests of the full launcher pass unchanged.
///
/// Errors: the reply to send instead of compiling (`Delegate` or
/// `RunLocally`, see the module docs).
pub(crate) fn apply(root: &Path, mut req: CompileRequest) -> Result<CompileRequest, Box<Response>> {
    if !req.settings_from_env {
        return Ok(req);
    }
    match resolve(root, &req) {
        Resolved::Serve {
            prefix,
            verify_per_million,
            base_dirs,
        } => {
            req.prefix = prefix;
            req.verify_per_million = verify_per_million;
            req.base_dirs = base_dirs;
            req.settings_from_env = false;
            Ok(req)
        }
        Resolved::Answer(reply) => Err(Box::new(reply)),
    }
}

/// The memoised resolution for `req`'s variables.
fn resolve(root: &Path, req: &CompileRequest) -> Resolved {
    let mut vars: Vec<(String, String)> = req
        .env
        .iter()
        .filter(|(k, _)| k.starts_with("ZCCACHE_"))
        .cloned()
        .collect();
    vars.sort();
    let file = config_file(root, &vars);
    let stat = std::fs::metadata(&file)
        .ok()
        .map(|m| StatFingerprint::of(&m));
    let key: MemoKey = (root.to_path_buf(), vars, stat);
    if let Ok(last) = LAST.lock() {
        if let Some((_, resolved)) = last.as_ref().filter(|(k, _)| *k == key) {
            return resolved.clone();
        }
    }
    let resolved = decide(root, &key.1);
    if let Ok(mut last) = LAST.lock() {
        *last = Some((key, resolved.clone()));
    }
    resolved
}

/// The config file the full loader would read for these variables (the
/// lean launcher hands `ZCCACHE_CONFIG` to the full program, but a request
/// may still carry it).
fn config_file(root: &Path, vars: &[(String, String)]) -> PathBuf {
    let get = |name: &str| {
        vars.iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| PathBuf::from(v))
    };
    get("ZCCACHE_CONFIG")
        .or_else(|| get("ZCCACHE_CACHE_DIR").map(|d| d.join("zccache.toml")))
        .unwrap_or_else(|| root.join("zccache.toml"))
}

/// Load the configuration for `vars` and decide.
fn decide(root: &Path, vars: &[(String, String)]) -> Resolved {
    let env: HashMap<String, String> = vars.iter().cloned().collect();
    let cfg = match Config::from_env_map_with_default(&env, Some(root.to_path_buf())) {
        Ok(cfg) => cfg,
        Err(e) => {
            return Resolved::Answer(Response::RunLocally {
                reason: format!("{e}; compiling without the cache"),
            })
        }
    };
    if cfg.cache_dir.value != root || cfg.debug.value {
        return Resolved::Answer(Response::Delegate);
    }
    if cfg.disable.value {
        return Resolved::Answer(Response::RunLocally {
            reason: "disabled by configuration".to_string(),
        });
    }
    Resolved::Serve {
        verify_per_million: cfg.verify_per_million(),
        prefix: cfg.prefix.value,
        base_dirs: cfg.base_dir.value,
    }
}
