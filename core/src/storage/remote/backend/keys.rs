//! Where a key lives on an HTTP server: our own flat layout
//! (`<url path>/<key>`) or bazel-remote's (`ac/<hex>` for records, `cas/<hex>`
//! for blobs).

use super::super::spec::HttpLayout;

/// The path of `key` below the tier URL in `layout`.
///
/// Keys are `e/<hex>` (entry record), `m/<hex>` (manifest) and `b/<hex>`
/// (blob). bazel-remote keeps records in its action cache (`ac/`) and blobs
/// in its content-addressed store (`cas/`); it wants 64-hex names, which
/// ours are. Other keys keep their name in both layouts.
pub(super) fn http_path(layout: HttpLayout, key: &str) -> String {
    if layout == HttpLayout::Bazel {
        if let Some(hex) = key.strip_prefix("e/").or_else(|| key.strip_prefix("m/")) {
            return format!("ac/{hex}");
        }
        if let Some(hex) = key.strip_prefix("b/") {
            return format!("cas/{hex}");
        }
    }
    key.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_layout_keeps_the_key() {
        assert_eq!(http_path(HttpLayout::Flat, "e/abc"), "e/abc");
        assert_eq!(http_path(HttpLayout::Flat, "b/abc"), "b/abc");
    }

    #[test]
    fn bazel_layout_maps_records_to_ac_and_blobs_to_cas() {
        assert_eq!(http_path(HttpLayout::Bazel, "e/abc"), "ac/abc");
        assert_eq!(http_path(HttpLayout::Bazel, "m/abc"), "ac/abc");
        assert_eq!(http_path(HttpLayout::Bazel, "b/abc"), "cas/abc");
        assert_eq!(http_path(HttpLayout::Bazel, "x/abc"), "x/abc");
    }
}
