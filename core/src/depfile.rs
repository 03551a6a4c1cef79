//! Make-style depfiles: parsing what gcc/clang write with `-MD`/`-MMD`, and
//! quoting targets the way `-MQ` does.
//!
//! Syntax handled (gcc manual, "-M" options; GNU make manual, "Rule
//! Syntax"): `target…: prereq…` rules, backslash-newline continuations,
//! `\ ` and `\#` escapes, `$$` for `$`, and the empty phony rules `-MP`
//! adds.

/// One rule of a depfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    /// The targets, unescaped.
    pub targets: Vec<String>,
    /// The prerequisites, unescaped, in order.
    pub prerequisites: Vec<String>,
}

/// Errors from [`parse`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum DepfileError {
    /// The text has words before any `target:` separator.
    #[error("malformed depfile: no ':' after {0:?}")]
    MissingColon(String),
    /// The file is not UTF-8.
    #[error("depfile is not UTF-8")]
    NotUtf8,
}

/// Parse depfile text into rules.
///
/// Errors: [`DepfileError`] when the text is not a make rule list.
pub(crate) fn parse(text: &[u8]) -> Result<Vec<Rule>, DepfileError> {
    let text = std::str::from_utf8(text).map_err(|_| DepfileError::NotUtf8)?;
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    let mut rules = Vec::new();
    for line in joined.lines() {
        let words = split_words(line);
        if words.is_empty() {
            continue;
        }
        rules.push(rule_from_words(words)?);
    }
    Ok(rules)
}

/// All prerequisites of all rules, deduplicated, in first-seen order.
pub(crate) fn prerequisites(rules: &[Rule]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for r in rules {
        for p in &r.prerequisites {
            if seen.insert(p.as_str()) {
                out.push(p.clone());
            }
        }
    }
    out
}

/// A word with a flag telling whether it ended with the rule separator.
#[derive(Debug)]
struct Word {
    text: String,
    ends_targets: bool,
}

fn rule_from_words(words: Vec<Word>) -> Result<Rule, DepfileError> {
    let split = words
        .iter()
        .position(|w| w.ends_targets)
        .ok_or_else(|| DepfileError::MissingColon(words[0].text.clone()))?;
    let mut targets = Vec::new();
    let mut prerequisites = Vec::new();
    for (i, w) in words.into_iter().enumerate() {
        if w.text.is_empty() {
            continue;
        }
        if i <= split {
            targets.push(w.text);
        } else {
            prerequisites.push(w.text);
        }
    }
    Ok(Rule {
        targets,
        prerequisites,
    })
}

fn split_words(line: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut seen_sep = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some(' ') | Some('#')) => {
                cur.push(chars.next().unwrap_or('\\'));
            }
            '$' if chars.peek() == Some(&'$') => {
                chars.next();
                cur.push('$');
            }
            ':' if !seen_sep && matches!(chars.peek(), None | Some(' ') | Some('\t')) => {
                seen_sep = true;
                words.push(Word {
                    text: std::mem::take(&mut cur),
                    ends_targets: true,
                });
            }
            ' ' | '\t' => {
                if !cur.is_empty() {
                    words.push(Word {
                        text: std::mem::take(&mut cur),
                        ends_targets: false,
                    });
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(Word {
            text: cur,
            ends_targets: false,
        });
    }
    words
}

/// Quote a target for make the way `-MQ` does (gcc manual, -MQ): `$`
/// becomes `$$`, spaces and `#` get a backslash.
#[cfg(test)]
pub(crate) fn quote_target(target: &str) -> String {
    let mut out = String::with_capacity(target.len());
    for c in target.chars() {
        match c {
            '$' => out.push_str("$$"),
            ' ' | '\t' | '#' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gcc_output_with_continuations_and_phony_rules() {
        let text = b"obj/a.o: src/a.c include/x.h \\\n include/y\\ z.h\ninclude/x.h:\n\ninclude/y\\ z.h:\n";
        let rules = parse(text).unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].targets, vec!["obj/a.o"]);
        assert_eq!(
            rules[0].prerequisites,
            vec!["src/a.c", "include/x.h", "include/y z.h"]
        );
        assert_eq!(
            prerequisites(&rules),
            vec!["src/a.c", "include/x.h", "include/y z.h"]
        );
    }

    #[test]
    fn multiple_targets_and_dollars() {
        let rules = parse(b"a.o b$$c.o : a.c\n").unwrap();
        assert_eq!(rules[0].targets, vec!["a.o", "b$c.o"]);
        assert_eq!(rules[0].prerequisites, vec!["a.c"]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            parse(b"just words\n"),
            Err(DepfileError::MissingColon(_))
        ));
        assert_eq!(parse(&[0xff, 0xfe]), Err(DepfileError::NotUtf8));
    }

    #[test]
    fn quoting_matches_mq() {
        assert_eq!(quote_target("a b$#.o"), "a\\ b$$\\#.o");
    }
}
