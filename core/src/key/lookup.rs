//! Direct-mode lookup: match the input sets of a stored
//! [`Manifest`] against the file system and the request's environment
//! (ccache manual, "The direct mode"). A set holds when every recorded file
//! still hashes the same, every recorded variable has the same value, and
//! no shadow path has appeared; the first set that holds names the entry.

use crate::dircache::{DirListings, Presence};
use crate::hash::{MetadataCache, StatFingerprint};
use crate::storage::{DirCheck, InputSet, Manifest, RecordKey, RecordedFile};
use std::path::Path;

/// Why a manifest did not yield an entry: the first mismatch found (for
/// `zccache explain` and the daemon log), e.g. "header inc/foo.h changed
/// (hash 1a2b3c4d… → 5e6f7a8b…)".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Mismatch {
    /// The manifest holds no input set.
    #[error("no include set recorded")]
    NoSets,
    /// A recorded variable has another value (or is set/unset now).
    #[error("env {0} changed")]
    Env(String),
    /// A recorded file's content changed.
    #[error("{noun} {path} changed (hash {old}… → {new}…)")]
    Changed {
        /// What the file is ("header", "source").
        noun: &'static str,
        /// The path as recorded.
        path: String,
        /// The first 8 hex digits of the recorded hash.
        old: String,
        /// The first 8 hex digits of the current hash.
        new: String,
    },
    /// A recorded file cannot be read any more.
    #[error("{noun} {path} is gone")]
    Gone {
        /// What the file is ("header", "source").
        noun: &'static str,
        /// The path as recorded.
        path: String,
    },
    /// A path that was absent now exists where the compiler would find it
    /// before a recorded header of the same name.
    #[error("new header shadows {recorded}: {new}")]
    Shadows {
        /// The recorded header it shadows.
        recorded: String,
        /// The new file (absolute).
        new: String,
    },
    /// A path that was absent now exists and may shadow a recorded header.
    #[error("new header {0} may shadow a recorded header")]
    MayShadow(String),
}

/// What a lookup compares the stored sets with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe<'a> {
    /// The request's cwd (relative recorded paths resolve against it).
    pub cwd: &'a Path,
    /// The request's environment (for sets that recorded variables).
    pub env: &'a [(String, String)],
    /// The metadata cache that hashes files.
    pub meta: &'a MetadataCache,
    /// What to call a recorded file in messages ("header", "source").
    pub noun: &'static str,
    /// Directory listings (validated by the directory's fingerprint) to
    /// check a changed directory's absent paths with, instead of one
    /// `lstat` each; `None`: `lstat` them.
    pub listings: Option<&'a DirListings>,
}

/// The entry key of the first set of `manifest` that still holds. A
/// directory found changed with all its absent paths still absent is
/// remembered in the manifest ([`DirCheck::seen`]), so later lookups skip
/// its absent paths until it changes again.
///
/// Errors: the first [`Mismatch`] seen.
pub(crate) fn find(manifest: &Manifest, probe: &Probe<'_>) -> Result<RecordKey, Mismatch> {
    let mut first_reason = None;
    for set in &manifest.sets {
        match check_set(set, probe) {
            Ok(()) => return Ok(set.entry),
            Err(why) => {
                first_reason.get_or_insert(why);
            }
        }
    }
    Err(first_reason.unwrap_or(Mismatch::NoSets))
}

fn check_set(set: &InputSet, probe: &Probe<'_>) -> Result<(), Mismatch> {
    check_env(set, probe.env)?;
    for f in &set.files {
        check_file(f, probe)?;
    }
    for check in &set.dir_checks {
        check_dir(check, probe, &set.files)?;
    }
    Ok(())
}

fn check_env(set: &InputSet, env: &[(String, String)]) -> Result<(), Mismatch> {
    for (name, value) in &set.env {
        let now = env.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        if now != value.as_ref() {
            return Err(Mismatch::Env(name.clone()));
        }
    }
    Ok(())
}

/// Compare one recorded file with the file system; allocates nothing
/// unless it differs.
fn check_file(f: &RecordedFile, probe: &Probe<'_>) -> Result<(), Mismatch> {
    let noun = probe.noun;
    match probe.meta.digest(&anchored(probe.cwd, &f.path)) {
        Ok(d) if d.hash == f.hash => Ok(()),
        Ok(d) => Err(Mismatch::Changed {
            noun,
            path: f.path.clone(),
            old: crate::hash::to_hex(&f.hash)[..8].to_string(),
            new: crate::hash::to_hex(&d.hash)[..8].to_string(),
        }),
        Err(_) => Err(Mismatch::Gone {
            noun,
            path: f.path.clone(),
        }),
    }
}

/// `Ok(())` when every absent path of `check` is still absent: its
/// directory is unchanged since it was recorded (or since a lookup last
/// found them absent, [`DirCheck::seen`]), or each path is checked. A
/// non-racy fingerprint taken *before* the paths were checked is then
/// remembered as seen: a later creation still changes it.
fn check_dir(check: &DirCheck, probe: &Probe<'_>, files: &[RecordedFile]) -> Result<(), Mismatch> {
    let dir = anchored(probe.cwd, &check.dir);
    let now = std::fs::metadata(&dir)
        .ok()
        .map(|m| StatFingerprint::of(&m));
    let unchanged = (!check.racy && now == Some(check.fingerprint))
        || (now.is_some() && now == check.seen.get());
    if unchanged {
        return Ok(());
    }
    let mut view = probe.listings.map(DirListings::view);
    for p in &check.absent {
        // Absent paths lie under the check's dir, in the same (absolute or
        // cwd-relative) form: the part below it is a string suffix.
        let listed = view.as_mut().and_then(|v| {
            let rel = p.strip_prefix(check.dir.as_str())?.strip_prefix('/')?;
            v.presence(&dir, Path::new(rel))
        });
        let exists = match listed {
            Some(presence) => presence == Presence::Exists,
            None => std::fs::symlink_metadata(anchored(probe.cwd, p)).is_ok(),
        };
        if exists {
            return Err(shadow_message(p, files));
        }
    }
    if let Some(fp) = now.filter(|fp| !fp.is_racy()) {
        check.seen.set(fp);
    }
    Ok(())
}

/// `p` as a path, relative ones (a portable set's, see base dirs) joined
/// to `cwd`; absolute ones borrowed, without allocating.
fn anchored<'a>(cwd: &Path, p: &'a str) -> std::borrow::Cow<'a, Path> {
    let path = Path::new(p);
    if path.is_absolute() {
        std::borrow::Cow::Borrowed(path)
    } else {
        std::borrow::Cow::Owned(cwd.join(path))
    }
}

/// "new header shadows include/foo.h: /abs/src/foo.h", naming the recorded
/// header with the same file name when there is one.
fn shadow_message(new: &str, files: &[RecordedFile]) -> Mismatch {
    let name = Path::new(new).file_name();
    match files
        .iter()
        .find(|f| Path::new(&f.path).file_name() == name)
    {
        Some(f) => Mismatch::Shadows {
            recorded: f.path.clone(),
            new: new.to_string(),
        },
        None => Mismatch::MayShadow(new.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{entry_key, rustc_entry_key, shadow_checks};
    use super::*;
    use crate::dircache::DirListings;

    fn write(p: &Path, s: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    }

    fn probe<'a>(
        root: &'a Path,
        env: &'a [(String, String)],
        meta: &'a MetadataCache,
    ) -> Probe<'a> {
        Probe {
            cwd: root,
            env,
            meta,
            noun: "header",
            listings: None,
        }
    }

    /// Under `root`: `src/a.c` including `foo.h`, found in `include/` (so
    /// `src/foo.h` must stay absent). Returns the input set recorded for it
    /// (dir checks included) and the metadata cache that hashed it.
    fn foo_h_set(root: &Path) -> (InputSet, MetadataCache) {
        write(&root.join("src/a.c"), "#include \"foo.h\"\n");
        write(&root.join("include/foo.h"), "#define FOO 1\n");
        let checks = shadow_checks(
            root,
            "src/a.c",
            &["include/foo.h".into()],
            &["include".into()],
            &DirListings::new(),
        );
        let meta = MetadataCache::new();
        let files = vec![RecordedFile {
            path: "include/foo.h".into(),
            hash: meta.digest(&root.join("include/foo.h")).unwrap().hash,
        }];
        let set = InputSet {
            entry: entry_key(&RecordKey([1; 32]), &files),
            files,
            env: vec![],
            dir_checks: checks,
        };
        (set, meta)
    }

    #[test]
    fn new_shadowing_header_breaks_the_set() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let (set, meta) = foo_h_set(root);
        let mut m = Manifest::default();
        m.add(set.clone());
        assert_eq!(find(&m, &probe(root, &[], &meta)), Ok(set.entry));
        // A changed dir whose absent paths stay absent, through listings.
        let listings = DirListings::new();
        let listed = |root| Probe {
            listings: Some(&listings),
            ..probe(root, &[], &meta)
        };
        write(&root.join("src/unrelated.txt"), "");
        assert_eq!(find(&m, &listed(root)), Ok(set.entry));
        write(&root.join("src/foo.h"), "#define FOO 2\n");
        let why = find(&m, &probe(root, &[], &meta)).unwrap_err().to_string();
        assert!(why.contains("new header shadows include/foo.h"), "{why}");
        let why = find(&m, &listed(root)).unwrap_err().to_string();
        assert!(
            why.contains("new header shadows include/foo.h"),
            "listings: {why}"
        );
    }

    #[test]
    fn a_changed_dir_is_remembered_until_it_changes_again() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let (set, meta) = foo_h_set(root);
        let mut m = Manifest::default();
        m.add(set);
        let src = root.join("src");
        let src_check = || {
            m.sets[0]
                .dir_checks
                .iter()
                .find(|c| Path::new(&c.dir) == src)
                .expect("src/ guards include/foo.h")
        };
        // src/ changes (an object written next to the source) and then
        // settles: the lookup checks its absent paths once and remembers
        // the fingerprint it saw.
        write(&root.join("src/a.o"), "obj");
        while StatFingerprint::of(&std::fs::metadata(&src).unwrap()).is_racy() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(find(&m, &probe(root, &[], &meta)).is_ok());
        let seen = src_check().seen.get();
        let now = StatFingerprint::of(&std::fs::metadata(&src).unwrap());
        assert_eq!(seen, Some(now));
        assert_ne!(now, src_check().fingerprint);
        // Not part of the stored manifest.
        let decoded = Manifest::decode(&m.encode()).unwrap();
        assert_eq!(decoded.sets[0].dir_checks[0].seen.get(), None);
        // Creating a shadowing header changes src/ again: it is checked.
        write(&root.join("src/foo.h"), "#define FOO 2\n");
        let why = find(&m, &probe(root, &[], &meta)).unwrap_err().to_string();
        assert!(why.contains("new header shadows include/foo.h"), "{why}");
    }

    #[test]
    fn header_edit_breaks_the_set_after_a_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        write(&root.join("h.h"), "1");
        let meta = MetadataCache::new();
        let files = vec![RecordedFile {
            path: "h.h".into(),
            hash: meta.digest(&root.join("h.h")).unwrap().hash,
        }];
        let mut m = Manifest::default();
        m.add(InputSet {
            entry: entry_key(&RecordKey([0; 32]), &files),
            files,
            env: vec![],
            dir_checks: vec![],
        });
        let m2 = Manifest::decode(&m.encode()).unwrap();
        assert_eq!(m, m2);
        assert!(find(&m2, &probe(root, &[], &meta)).is_ok());
        write(&root.join("h.h"), "2");
        assert!(find(&m2, &probe(root, &[], &meta)).is_err());
    }

    #[test]
    fn env_and_file_changes_break_a_rustc_set() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.rs"), "fn a() {}").unwrap();
        let meta = MetadataCache::new();
        let hash = meta.digest(&dir.path().join("a.rs")).unwrap().hash;
        let files = vec![RecordedFile {
            path: "a.rs".into(),
            hash,
        }];
        let env_dep = vec![("GREETING".to_string(), Some("hi".to_string()))];
        let entry = rustc_entry_key(&RecordKey([0; 32]), &files, &env_dep);
        let mut m = Manifest::default();
        m.add(InputSet {
            files,
            env: env_dep,
            dir_checks: vec![],
            entry,
        });
        let env = |v: &str| vec![("GREETING".to_string(), v.to_string())];
        let root = dir.path();
        assert_eq!(find(&m, &probe(root, &env("hi"), &meta)), Ok(entry));
        assert!(find(&m, &probe(root, &env("ho"), &meta)).is_err());
        assert!(find(&m, &probe(root, &[], &meta)).is_err());
        std::fs::write(dir.path().join("a.rs"), "fn b() {}").unwrap();
        assert!(find(&m, &probe(root, &env("hi"), &meta)).is_err());
    }
}
