//! The stored form of a portable input set (base dirs; ccache manual,
//! "base_dir"). When a compile's keys are portable (see `Plan::portable`),
//! its compiler ran with paths under base dirs rewritten relative to the
//! cwd, so its depfile names them relatively. Before the input set is
//! stored, the paths it holds that lie under a base dir (headers found by
//! include probes, shadow-check directories and absent paths, all
//! absolute) are made relative to the cwd too; a lookup resolves them
//! against its own cwd, so another checkout checks its own files.
//!
//! A depfile that still names an absolute path under a base dir (an
//! `#include "/abs/path.h"`, a `CPATH` entry) means the object or the
//! depfile may carry this checkout's path: such a compile is not stored
//! (`Skip::NotPortable`). So is one whose relative path leaves every base
//! dir, since it would name another file from another cwd.

use crate::base_dir::Portable;
use crate::storage::{DirCheck, RecordedFile};

/// The first header whose form does not fit a portable entry: absolute
/// and under a base dir, or relative and resolving outside every base dir.
pub(super) fn unportable_header<'h>(view: &Portable<'_>, headers: &'h [String]) -> Option<&'h str> {
    headers
        .iter()
        .find(|h| {
            let absolute = std::path::Path::new(h.as_str()).is_absolute();
            if absolute {
                view.relative(h).is_some()
            } else {
                !view.resolves_inside(h)
            }
        })
        .map(String::as_str)
}

/// `files` and `dir_checks` with every absolute path under a base dir made
/// relative to the cwd.
pub(super) fn relativize(
    view: &Portable<'_>,
    files: &mut [RecordedFile],
    dir_checks: &mut [DirCheck],
) {
    for f in files {
        if let Some(rel) = view.relative(&f.path) {
            f.path = rel;
        }
    }
    for c in dir_checks {
        if let Some(rel) = view.relative(&c.dir) {
            c.dir = rel;
        }
        for p in &mut c.absent {
            if let Some(rel) = view.relative(p) {
                *p = rel;
            }
        }
    }
}
