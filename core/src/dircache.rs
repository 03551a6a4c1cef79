//! A cache of directory listings, validated by the directory's stat
//! fingerprint. Recording shadow checks asks "does `D/R` exist?" hundreds
//! of times per miss; with the listings of the few directories involved in
//! memory, each answer is a hash lookup instead of a path walk in the kernel.
//!
//! A listing is reused only while the directory's fingerprint (mtime, ctime,
//! inode, …) is unchanged and was not racy when read (see [`crate::hash`]);
//! creating or removing an entry changes the directory's mtime and ctime.

use crate::hash::StatFingerprint;
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Listings kept before the cache is emptied (bounded memory).
const MAX_DIRS: usize = 20_000;

/// One directory's entry names.
#[derive(Debug)]
struct Listing {
    fingerprint: StatFingerprint,
    names: HashSet<OsString>,
}

/// Where a path stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Presence {
    /// Something exists at the path.
    Exists,
    /// Nothing exists; `anchor` is the deepest existing directory on the
    /// way, whose fingerprint changes when the path (or a missing parent of
    /// it) is created.
    Absent {
        /// The anchor directory.
        anchor: PathBuf,
    },
}

/// Thread-safe listing cache shared by a daemon's requests.
#[derive(Debug, Default)]
pub(crate) struct DirListings {
    map: RwLock<HashMap<PathBuf, Arc<Listing>>>,
}

impl DirListings {
    /// An empty cache.
    pub(crate) fn new() -> DirListings {
        DirListings::default()
    }

    /// A view that validates each directory once (one stat per directory
    /// for the life of the view). Use one view per recorded compile.
    pub(crate) fn view(&self) -> ListingView<'_> {
        ListingView {
            cache: self,
            seen: HashMap::new(),
        }
    }

    /// Whether `base/rel` exists; see [`ListingView::presence`].
    #[cfg(test)]
    pub(crate) fn presence(&self, base: &Path, rel: &Path) -> Option<Presence> {
        self.view().presence(base, rel)
    }

    /// Forget everything.
    pub(crate) fn clear(&self) {
        if let Ok(mut m) = self.map.write() {
            m.clear();
        }
    }

    fn load(&self, dir: &Path) -> Option<Arc<Listing>> {
        let meta = std::fs::metadata(dir).ok().filter(|m| m.is_dir())?;
        let fp = StatFingerprint::of(&meta);
        if let Some(l) = self
            .map
            .read()
            .ok()?
            .get(dir)
            .filter(|l| l.fingerprint == fp)
        {
            return Some(l.clone());
        }
        let names: HashSet<OsString> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        let listing = Arc::new(Listing {
            fingerprint: fp,
            names,
        });
        let after = std::fs::metadata(dir).ok().map(|m| StatFingerprint::of(&m));
        if after == Some(fp) && !fp.is_racy() {
            if let Ok(mut m) = self.map.write() {
                if m.len() >= MAX_DIRS {
                    m.clear();
                }
                m.insert(dir.to_path_buf(), listing.clone());
            }
        }
        Some(listing)
    }
}

/// Listings validated once each; see [`DirListings::view`].
#[derive(Debug)]
pub(crate) struct ListingView<'a> {
    cache: &'a DirListings,
    seen: HashMap<PathBuf, Option<Arc<Listing>>>,
}

impl ListingView<'_> {
    /// Whether `base/rel` exists, answered from listings of `base` and its
    /// subdirectories along `rel`. `base` must be absolute and normalised;
    /// `rel` relative without `..`.
    ///
    /// Returns `None` when `base` itself does not exist.
    pub(crate) fn presence(&mut self, base: &Path, rel: &Path) -> Option<Presence> {
        let mut dir = base.to_path_buf();
        let mut listing = self.listing(&dir)?;
        let parts: Vec<_> = rel
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n),
                _ => None,
            })
            .collect();
        for (i, name) in parts.iter().enumerate() {
            if !listing.names.contains(*name) {
                return Some(Presence::Absent { anchor: dir });
            }
            if i + 1 == parts.len() {
                return Some(Presence::Exists);
            }
            dir.push(name);
            listing = match self.listing(&dir) {
                Some(l) => l,
                // A file where a directory would be: the path cannot exist
                // until that file is replaced, which changes its parent.
                None => {
                    dir.pop();
                    return Some(Presence::Absent { anchor: dir });
                }
            };
        }
        Some(Presence::Exists)
    }

    fn listing(&mut self, dir: &Path) -> Option<Arc<Listing>> {
        if let Some(l) = self.seen.get(dir) {
            return l.clone();
        }
        let l = self.cache.load(dir);
        self.seen.insert(dir.to_path_buf(), l.clone());
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_follow_the_disk() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("a/sub")).unwrap();
        std::fs::write(root.join("a/x.h"), "").unwrap();
        let c = DirListings::new();
        assert_eq!(
            c.presence(&root.join("a"), Path::new("x.h")),
            Some(Presence::Exists)
        );
        assert_eq!(
            c.presence(&root.join("a"), Path::new("y.h")),
            Some(Presence::Absent {
                anchor: root.join("a")
            })
        );
        assert_eq!(
            c.presence(&root.join("a"), Path::new("sub/deeper/z.h")),
            Some(Presence::Absent {
                anchor: root.join("a/sub")
            })
        );
        assert_eq!(
            c.presence(&root.join("a"), Path::new("x.h/z.h")),
            Some(Presence::Absent {
                anchor: root.join("a")
            })
        );
        assert_eq!(c.presence(&root.join("missing"), Path::new("x.h")), None);
        std::fs::write(root.join("a/y.h"), "").unwrap();
        assert_eq!(
            c.presence(&root.join("a"), Path::new("y.h")),
            Some(Presence::Exists)
        );
    }
}
