//! Depfile target names out of the key. Two compiles that differ only in
//! their object path (CMake's static and shared variants of one source,
//! `-MT obj/static/a.o` vs `-MT obj/shared/a.o`) produce the same object and
//! the same depfile apart from the rule's target, so the target names are
//! replaced by a placeholder in the context key and the cached depfile's
//! first rule is re-targeted on a hit (as ccache does). Only targets made of
//! characters that make and gcc write verbatim qualify; any other target
//! keeps the old behaviour (keyed, replayed byte for byte).

/// Placeholder for a target name in the key.
const PLACEHOLDER: &str = "<target>";

/// True when `t` is written the same with `-MT` and `-MQ` and holds no
/// make-special character (gcc manual, -MQ).
fn is_safe(t: &str) -> bool {
    !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./+-".contains(&b))
}

/// The target names in depfile args (the values of `-MT`/`-MQ`).
pub(crate) fn targets(args: &[String]) -> Vec<&str> {
    args.windows(2)
        .filter(|w| w[0] == "-MT" || w[0] == "-MQ")
        .map(|w| w[1].as_str())
        .collect()
}

/// Depfile args for the key: target names replaced by a placeholder when
/// every one of them is safe, else unchanged.
pub(crate) fn key_args(args: &[String]) -> Vec<String> {
    if !targets(args).iter().all(|t| is_safe(t)) {
        return args.to_vec();
    }
    let mut out = args.to_vec();
    for i in 1..out.len() {
        if out[i - 1] == "-MT" || out[i - 1] == "-MQ" {
            out[i] = PLACEHOLDER.to_string();
        }
    }
    out
}

/// The cached depfile `text` with its first rule's targets replaced by
/// `targets`; `None` (use `text` as is) when a target is not safe or the
/// first rule cannot be found.
pub(crate) fn retarget(text: &[u8], targets: &[&str]) -> Option<Vec<u8>> {
    if targets.is_empty() || !targets.iter().all(|t| is_safe(t)) {
        return None;
    }
    let colon = (0..text.len())
        .find(|&i| text[i] == b':' && text.get(i + 1).is_none_or(|c| c.is_ascii_whitespace()))?;
    let old = &text[..colon];
    if !old
        .split(|c| c.is_ascii_whitespace() || *c == b'\\')
        .all(|t| t.is_empty() || is_safe_bytes(t))
    {
        return None;
    }
    let mut out = targets.join(" ").into_bytes();
    out.extend_from_slice(&text[colon..]);
    Some(out)
}

fn is_safe_bytes(t: &[u8]) -> bool {
    std::str::from_utf8(t).is_ok_and(is_safe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn safe_targets_leave_the_key() {
        let a = s(&["-MD", "-MF", "", "-MT", "static/a.o"]);
        let b = s(&["-MD", "-MF", "", "-MT", "shared/a.o"]);
        assert_eq!(key_args(&a), key_args(&b));
        let odd = s(&["-MD", "-MF", "", "-MT", "a b.o"]);
        assert_eq!(key_args(&odd), odd);
    }

    #[test]
    fn retargets_the_first_rule() {
        let text = b"static/a.o: a.c \\\n /usr/include/stdio.h\n/usr/include/stdio.h:\n";
        let got = retarget(text, &["shared/a.o"]).unwrap();
        assert_eq!(
            got,
            b"shared/a.o: a.c \\\n /usr/include/stdio.h\n/usr/include/stdio.h:\n"
        );
        assert_eq!(retarget(text, &["a b.o"]), None);
        assert_eq!(retarget(b"no rule here", &["x.o"]), None);
    }
}
