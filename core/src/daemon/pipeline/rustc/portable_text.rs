//! Path-bearing text of portable rustc entries: the dep-info file (cargo
//! reads it to learn which files to watch; rustc writes real, unmapped
//! paths into it), stdout and stderr (diagnostics). Stored with each safe
//! remap `FROM` replaced by its anchored form ([`Anchors::anchor`]) and
//! written back with the roots of the request that is served, so a hit
//! names this checkout's files and never another's.
//!
//! Matches are whole paths: the byte before a match and the byte after it
//! must not continue a path name (the byte after may be `/`). Also here:
//! [`names_a_root`], the check that nothing stored still names a root, and
//! [`localize_manifest`], a manifest's anchored paths re-rooted for a
//! lookup.

use super::portable::Anchors;
use crate::storage::Manifest;
use memchr::memmem;
use std::borrow::Cow;

/// Why stored text cannot be written back for a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TextError {
    /// The text names a root this request does not have.
    #[error("stored text names root {0:?}, which this request does not have")]
    UnknownRoot(String),
    /// A marker is not closed.
    #[error("stored text has a malformed root marker")]
    Malformed,
}

/// True for a byte that can be part of a path name around a match (so the
/// match would be part of a longer name).
fn continues_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b'~' | b'+' | b'@')
}

/// The start offsets of whole-path occurrences of `needle` in `text`.
fn whole_matches(text: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() {
        return Vec::new();
    }
    memmem::find_iter(text, needle)
        .filter(|&at| {
            let before_ok = at == 0 || !continues_name(text[at - 1]);
            let after = text.get(at + needle.len()).copied();
            let after_ok = after.is_none_or(|b| b == b'/' || !continues_name(b));
            before_ok && after_ok
        })
        .collect()
}

/// `text` with every whole occurrence of `needle` replaced by `with`.
fn replace_whole(text: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let hits = whole_matches(text, needle);
    let mut out = Vec::with_capacity(text.len());
    let mut from = 0;
    for at in hits {
        out.extend_from_slice(&text[from..at]);
        out.extend_from_slice(with);
        from = at + needle.len();
    }
    out.extend_from_slice(&text[from..]);
    out
}

/// `text` with each safe remap `FROM` (longest first) replaced by its
/// anchored form.
pub(crate) fn to_markers(text: &[u8], a: &Anchors) -> Vec<u8> {
    let mut out = text.to_vec();
    for from in a.safe_froms() {
        let (Some(needle), Some(anchored)) = (from.to_str(), a.anchor(from)) else {
            continue;
        };
        if memmem::find(&out, needle.as_bytes()).is_some() {
            out = replace_whole(&out, needle.as_bytes(), anchored.as_bytes());
        }
    }
    out
}

/// True when `bytes` still name a root's path (a whole-path occurrence):
/// such bytes would carry this checkout's location and are never stored.
pub(crate) fn names_a_root(bytes: &[u8], a: &Anchors) -> bool {
    a.roots().iter().any(|r| {
        r.path
            .to_str()
            .is_some_and(|p| !whole_matches(bytes, p.as_bytes()).is_empty())
    })
}

/// Stored text with its markers replaced by this request's root paths
/// (borrowed when it holds none).
///
/// Errors: [`TextError`] for a root this request lacks or a broken marker.
pub(crate) fn from_markers<'t>(text: &'t [u8], a: &Anchors) -> Result<Cow<'t, [u8]>, TextError> {
    if memchr::memchr(0, text).is_none() {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = Vec::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(at) = memchr::memchr(0, rest) {
        out.extend_from_slice(&rest[..at]);
        let after = &rest[at + 1..];
        let end = memchr::memchr(0, after).ok_or(TextError::Malformed)?;
        let name = String::from_utf8_lossy(&after[..end]);
        let root = a
            .roots()
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| TextError::UnknownRoot(name.to_string()))?;
        out.extend_from_slice(root.path.as_os_str().as_encoded_bytes());
        rest = &after[end + 1..];
    }
    out.extend_from_slice(rest);
    Ok(Cow::Owned(out))
}

/// A copy of `m` whose recorded file paths name this request's files
/// ([`Anchors::localize`]); entry keys and hashes are unchanged.
pub(crate) fn localize_manifest(m: &Manifest, a: &Anchors) -> Manifest {
    let mut out = m.clone();
    for set in &mut out.sets {
        for f in &mut set.files {
            if f.path.starts_with('\0') {
                f.path = a.localize(&f.path);
            }
        }
    }
    out
}
