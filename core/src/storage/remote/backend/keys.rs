//! Where a key lives on an HTTP server: our own flat layout
//! (`<url path>/<key>`) or bazel-remote's action cache (`ac/<64 hex>`).

use super::super::spec::HttpLayout;

/// The path of `key` below the tier URL in `layout`.
///
/// Keys are `e/<hex>` (entry record), `m/<hex>` (manifest), `b/<hex>`
/// (blob) and `probe/<hex>`. The bazel layout stores every object as
/// `ac/<blake3 hex of the key name>`, as ccache's `layout=bazel` does
/// (ccache manual, "HTTP storage backend"): bazel-remote's action cache
/// wants 64 lowercase hex digits, and started with
/// `--disable_http_ac_validation` it keeps any body there. Nothing goes to
/// `cas/`: bazel-remote checks a CAS upload against the SHA-256 of its
/// body, while our objects are framed, compressed and named by blake3.
pub(super) fn http_path(layout: HttpLayout, key: &str) -> String {
    match layout {
        HttpLayout::Bazel => format!("ac/{}", blake3::hash(key.as_bytes()).to_hex()),
        HttpLayout::Flat => key.to_string(),
    }
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
    fn bazel_layout_puts_every_kind_under_ac_with_64_hex_names() {
        let names: Vec<String> = ["e/abc", "m/abc", "b/abc", "probe/abc"]
            .iter()
            .map(|k| http_path(HttpLayout::Bazel, k))
            .collect();
        for n in &names {
            let hex = n.strip_prefix("ac/").unwrap();
            assert_eq!(hex.len(), 64, "{n}");
            assert!(hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
        let distinct: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "kinds never share a name");
    }
}
