//! Architecture rules for the library crates (`core/src`, `cargo-zccache/src`),
//! the test form of `scripts/arch_check.py`:
//!
//! 1. **No import loops among sibling modules.** Every module reference (`use`
//!    trees and inline `crate::`/`super::`/`self::`/`$crate::` paths) resolves
//!    to the deepest existing module (a file `x.rs` or a dir `x/mod.rs`) and is
//!    collapsed to the two children of the modules' lowest common ancestor, so
//!    `daemon::rustc::run` using `daemon::route` is the edge `daemon::rustc ->
//!    daemon::route`; references to a module's own ancestors or descendants are
//!    hierarchy, not edges. Every strongly connected component of more than
//!    one module is a loop.
//! 2. **No non-test function over 60 lines**, from the `fn` line to the line
//!    of its closing brace.
//!
//! Test code is exempt from both: items marked `#[cfg(test)]` (and the files
//! they declare with `mod tests;`, honouring `#[path]`) or `#[test]`. Sources
//! are read with `harness/rust_source.rs` (a lexer and test-code filter), so
//! comments and literals never count. Unlike the script, both `lib.rs` and
//! `main.rs` of `core/src` are scanned (the script keeps only one of them).
//! The checks take a source root; the tests at the bottom run them on small
//! trees written to a temp dir to show that loops and long functions are
//! reported and that clean code (and test code) is not.

use crate::harness::rust_source::{
    matching_close, strip_test_items, tokenize, Kind, TestModDecl, Token,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const MAX_FN_LINES: usize = 60;
const CRATE_SRCS: [&str; 2] = ["core/src", "cargo-zccache/src"];

/// A module path inside one crate, e.g. `["daemon", "pipeline"]`; `[]` is the root.
type ModPath = Vec<String>;

/// A collapsed edge between siblings, mapped to one reference that caused it.
type Edges = BTreeMap<(ModPath, ModPath), (ModPath, ModPath)>;

/// One non-test source file of a crate.
struct SourceFile {
    path: PathBuf,
    module: ModPath,
    /// The file's tokens without its test-only items.
    tokens: Vec<Token>,
}

// ------------------------------------------------------------------ the tests

#[test]
fn no_import_loops_among_sibling_modules() {
    let found: Vec<String> = CRATE_SRCS
        .iter()
        .flat_map(|src| import_loops(&workspace_root().join(src)))
        .collect();
    assert!(
        found.is_empty(),
        "import loops among sibling modules:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_function_over_60_lines() {
    let found: Vec<String> = CRATE_SRCS
        .iter()
        .flat_map(|src| long_functions(&workspace_root().join(src)))
        .collect();
    assert!(
        found.is_empty(),
        "non-test functions over {MAX_FN_LINES} lines:\n{}",
        found.join("\n")
    );
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate has a parent dir")
        .to_path_buf()
}

/// `path` relative to the workspace when it is inside it, for messages.
fn shown(path: &Path) -> String {
    let root = workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

// ------------------------------------------------------------------ the checks

/// One message per import loop in the crate rooted at `src`: the modules of
/// the loop, then each edge inside it with an example reference.
fn import_loops(src: &Path) -> Vec<String> {
    let edges = sibling_edges(&crate_files(src));
    let mut out = Vec::new();
    for component in loops(&edges) {
        let names: Vec<String> = component.iter().map(display).collect();
        out.push(format!(
            "{}: import loop among {}",
            shown(src),
            names.join(", ")
        ));
        for ((a, b), (from, to)) in &edges {
            if component.contains(a) && component.contains(b) {
                out.push(format!(
                    "    {} -> {}  (e.g. {} uses {})",
                    display(a),
                    display(b),
                    display(from),
                    display(to)
                ));
            }
        }
    }
    out
}

/// One message per non-test function over [`MAX_FN_LINES`] in the crate at `src`.
fn long_functions(src: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for file in crate_files(src) {
        for (name, line, lines) in function_lengths(&file.tokens) {
            if lines > MAX_FN_LINES {
                out.push(format!(
                    "{}:{line}: fn {name} is {lines} lines (> {MAX_FN_LINES})",
                    shown(&file.path)
                ));
            }
        }
    }
    out
}

fn display(module: &ModPath) -> String {
    if module.is_empty() {
        "<root>".to_string()
    } else {
        module.join("::")
    }
}

// ------------------------------------------------------------------ source files

/// The crate's non-test source files, sorted by path. `lib.rs` and `main.rs`
/// are both the root module (of the library and of the binary).
fn crate_files(src: &Path) -> Vec<SourceFile> {
    let mut files = Vec::new();
    let mut test_only = Vec::new();
    for path in rs_files(src) {
        let text = fs::read_to_string(&path).expect("read source file");
        let (tokens, test_mods) = strip_test_items(tokenize(&text));
        test_only.extend(test_mods.iter().map(|decl| test_mod_location(&path, decl)));
        let module = module_path(src, &path);
        files.push(SourceFile {
            path,
            module,
            tokens,
        });
    }
    files.retain(|f| !test_only.iter().any(|t| f.path.starts_with(t)));
    files
}

fn rs_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("read source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            out.extend(rs_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `lib.rs`/`main.rs` the root.
fn module_path(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).expect("file under src");
    let mut module: ModPath = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let root = module.len() == 1 && matches!(module[0].as_str(), "lib" | "main");
    if root || module.last().is_some_and(|m| m == "mod") {
        module.pop();
    }
    module
}

/// Where the test module `decl`, declared in `declaring_file`, lives: its
/// file, or its directory (which holds its `mod.rs` and its children).
fn test_mod_location(declaring_file: &Path, decl: &TestModDecl) -> PathBuf {
    let dir = declaring_file.parent().expect("file has a dir");
    if let Some(path) = &decl.path_attr {
        return dir.join(path);
    }
    let stem = declaring_file
        .file_stem()
        .expect("file stem")
        .to_string_lossy();
    let base = match stem.as_ref() {
        "mod" | "lib" | "main" => dir.to_path_buf(),
        _ => dir.join(stem.as_ref()),
    };
    let file = base.join(format!("{}.rs", decl.name));
    if file.exists() {
        file
    } else {
        base.join(&decl.name)
    }
}

// ------------------------------------------------------------------ references

/// Every path a file names a module by: `use` trees, expanded, and inline
/// paths starting with `crate`, `super` or `self`.
fn references(tokens: &[Token]) -> Vec<Vec<String>> {
    let mut refs = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if t.is("use") {
            let end = (i..tokens.len())
                .find(|&j| tokens[j].is(";"))
                .unwrap_or(tokens.len());
            expand_use(&tokens[i + 1..end], &[], &mut refs);
        } else if is_path_start(tokens, i) {
            refs.push(inline_path(&tokens[i..]));
        }
    }
    refs
}

fn is_path_start(tokens: &[Token], i: usize) -> bool {
    let starts = ["crate", "super", "self"].iter().any(|s| tokens[i].is(s));
    let after_colons = i > 0 && tokens[i - 1].is("::");
    starts && !after_colons && tokens.get(i + 1).is_some_and(|t| t.is("::"))
}

/// `crate::a::b` (stopping at the first token that is not `:: ident`).
fn inline_path(tokens: &[Token]) -> Vec<String> {
    let mut path = vec![tokens[0].text.clone()];
    for pair in tokens[1..].chunks(2) {
        match pair {
            [colons, ident] if colons.is("::") && ident.kind == Kind::Ident => {
                path.push(ident.text.clone())
            }
            _ => break,
        }
    }
    path
}

/// Expands the use tree `tree` (after `use`, without `;`) under `prefix`:
/// `a::{b, c::{self, d as e}, f::*}` gives `a::b`, `a::c`, `a::c::d`, `a::f::*`.
fn expand_use(tree: &[Token], prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    for (i, tok) in tree.iter().enumerate() {
        match tok.text.as_str() {
            "{" => {
                let close = matching_close(tree, i);
                for part in split_top_level_commas(&tree[i + 1..close]) {
                    expand_use(part, &path, out);
                }
                return;
            }
            "::" if i == 0 && prefix.is_empty() => path.push("::".into()),
            "::" => {}
            "as" => break,
            "self" if i == 0 && !prefix.is_empty() => {}
            text => path.push(text.to_string()),
        }
    }
    out.push(path);
}

fn split_top_level_commas(tokens: &[Token]) -> Vec<&[Token]> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, t) in tokens.iter().enumerate() {
        match t.text.as_str() {
            "{" => depth += 1,
            "}" => depth -= 1,
            "," if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// The deepest existing module `path` (used in `from`) names, if any.
fn resolve(from: &ModPath, path: &[String], modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let (mut base, rest) = match path.first()?.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "super" | "self" => {
            let mut base = from.clone();
            let ups = path.iter().take_while(|s| *s == "super" || *s == "self");
            for seg in ups.clone() {
                if seg == "super" {
                    base.pop()?;
                }
            }
            (base, &path[ups.count()..])
        }
        first if modules.contains(&child(from, first)) => (from.clone(), path),
        _ => return None,
    };
    for seg in rest {
        let deeper = child(&base, seg);
        if !modules.contains(&deeper) {
            break;
        }
        base = deeper;
    }
    Some(base)
}

fn child(module: &ModPath, name: &str) -> ModPath {
    let mut child = module.clone();
    child.push(name.to_string());
    child
}

// ------------------------------------------------------------------ the graph

/// The references of all files, collapsed to edges between siblings.
fn sibling_edges(files: &[SourceFile]) -> Edges {
    let modules: BTreeSet<ModPath> = files.iter().map(|f| f.module.clone()).collect();
    let mut edges = Edges::new();
    for file in files {
        for path in references(&file.tokens) {
            let Some(target) = resolve(&file.module, &path, &modules) else {
                continue;
            };
            if let Some(edge) = collapse(&file.module, &target) {
                edges.entry(edge).or_insert((file.module.clone(), target));
            }
        }
    }
    edges
}

/// `from -> to` as an edge between the two children of their lowest common
/// ancestor; `None` when one is the other's ancestor (or itself).
fn collapse(from: &ModPath, to: &ModPath) -> Option<(ModPath, ModPath)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common == from.len() || common == to.len() {
        return None;
    }
    Some((from[..=common].to_vec(), to[..=common].to_vec()))
}

/// The strongly connected components with more than one module.
fn loops(edges: &Edges) -> Vec<BTreeSet<ModPath>> {
    let mut graph: BTreeMap<&ModPath, Vec<&ModPath>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        graph.entry(a).or_default().push(b);
    }
    let reach: BTreeMap<&ModPath, BTreeSet<&ModPath>> =
        graph.keys().map(|&v| (v, reachable(&graph, v))).collect();
    let mut components: Vec<BTreeSet<ModPath>> = Vec::new();
    for (&v, from_v) in &reach {
        let component: BTreeSet<ModPath> = from_v
            .iter()
            .filter(|u| reach.get(*u).is_some_and(|r| r.contains(v)))
            .map(|u| (*u).clone())
            .collect();
        if component.len() > 1 && !components.contains(&component) {
            components.push(component);
        }
    }
    components
}

/// The modules reachable from `start` by one or more edges.
fn reachable<'a>(
    graph: &BTreeMap<&'a ModPath, Vec<&'a ModPath>>,
    start: &'a ModPath,
) -> BTreeSet<&'a ModPath> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![start];
    while let Some(v) = todo.pop() {
        for &w in graph.get(v).into_iter().flatten() {
            if seen.insert(w) {
                todo.push(w);
            }
        }
    }
    seen
}

// ------------------------------------------------------------------ functions

/// `(name, line of fn, lines from the fn line to its closing brace)` for every
/// function with a body; declarations ending in `;` have none.
fn function_lengths(tokens: &[Token]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for i in 0..tokens.len().saturating_sub(1) {
        let name = &tokens[i + 1];
        if !tokens[i].is("fn") || name.kind != Kind::Ident {
            continue;
        }
        if let Some(close) = body_end(tokens, i + 2) {
            let lines = tokens[close].line - tokens[i].line + 1;
            out.push((name.text.clone(), tokens[i].line, lines));
        }
    }
    out
}

/// The closing `}` of the body of the function whose signature continues at
/// `start` (generics, parameters, return type, `where` clause), or `None` when
/// the signature ends in `;`.
fn body_end(tokens: &[Token], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    for i in start..tokens.len() {
        match tokens[i].text.as_str() {
            _ if tokens[i].kind == Kind::Literal => {}
            "(" | "[" => depth += 1,
            ")" | "]" => depth = depth.saturating_sub(1),
            ";" if depth == 0 => return None,
            "{" if depth == 0 => return Some(matching_close(tokens, i)),
            _ => {}
        }
    }
    None
}

// ------------------------------------------------------------------ the checks, checked

/// A crate source tree in a temp dir, from `(path under src, contents)` pairs.
fn temp_tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
        fs::write(path, text).expect("write source");
    }
    dir
}

/// The source of a function `name` that is exactly `lines` lines long.
fn function_of(name: &str, lines: usize) -> String {
    let body: String = (2..lines)
        .map(|i| format!("    let _x{i} = {i};\n"))
        .collect();
    format!("pub fn {name}() {{\n{body}}}\n")
}

#[test]
fn reports_a_loop_between_two_sibling_modules() {
    let tree = temp_tree(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a/mod.rs", "pub mod inner;\n"),
        (
            "a/inner.rs",
            "use crate::{a, b::{self as bee}};\npub fn f() { bee::g() }\n",
        ),
        ("b.rs", "pub fn g() { super::a::inner::f() }\n"),
    ]);
    let found = import_loops(tree.path());
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].ends_with(": import loop among a, b"), "{found:#?}");
    assert_eq!(found[1], "    a -> b  (e.g. a::inner uses b)");
    assert_eq!(found[2], "    b -> a  (e.g. b uses a::inner)");
}

#[test]
fn reports_a_61_line_function_but_not_a_60_line_one() {
    let lib = function_of("sixty", 60) + &function_of("sixty_one", 61);
    let tree = temp_tree(&[("lib.rs", &lib)]);
    let found = long_functions(tree.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].ends_with("lib.rs:61: fn sixty_one is 61 lines (> 60)"),
        "{found:#?}"
    );
}

/// `b` depends on `a` only through comments, literals and test code, all of
/// which would close a loop (and report long functions) if they counted.
const CLEAN_B: &str = r##"//! Mentions crate::a::f in a doc comment { and fn doc() {
// crate::a::f() in a line comment
/* crate::a /* nested } */ { */
pub fn helper<'a>(s: &'a str) -> (&'a str, char, char, &'static str) {
    let _ = r#"crate::a::f() " }"#;
    (s, '"', '{', "super::a::f \" }")
}
#[cfg(test)]
mod tests;
#[cfg(test)]
mod inline_tests {
    use crate::a::f;
"##;

#[test]
fn a_clean_tree_is_not_reported() {
    let long = function_of("long", 61);
    let b = format!("{CLEAN_B}{long}}}\n#[test]\n{long}");
    let b_tests = format!("use crate::a::f;\n{long}");
    let a = "use crate::b::helper;\npub fn f() { super::b::helper(\"\"); }\n";
    let tree = temp_tree(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a.rs", a),
        ("b.rs", &b),
        ("b/tests.rs", &b_tests),
    ]);
    assert_eq!(import_loops(tree.path()), Vec::<String>::new());
    assert_eq!(long_functions(tree.path()), Vec::<String>::new());
}

/// Functions in `impl`/`trait` blocks, with multi-line signatures, `where`
/// clauses, lifetimes, char literals and raw strings holding braces.
const TRICKY: &str = r##"impl<'a> Parser<'a> where Self: Sized {
    fn braces(&self) -> [char; 3] {
        ['{', '"', '}']
    }
    /// fn doc() { is not a function
    pub(crate) fn raw(
        &'a self,
        n: usize,
    ) -> &'static str
    where
        Self: 'a,
    {
        let _ = (r#"} fn fake() { " {"#, r"C:\dir\");
        let _ = ("\"}", b'}', '\'', '\u{7d}');
        'outer: loop { break 'outer; }
        "x"
    }
}
trait Shape {
    fn area(&self) -> u32;
    fn unit(&self) -> u32 { 1 }
}
"##;

#[test]
fn measures_tricky_functions_exactly() {
    let found = function_lengths(&tokenize(TRICKY));
    let expected = [("braces", 2, 3), ("raw", 6, 12), ("unit", 21, 1)];
    let expected: Vec<(String, usize, usize)> = expected
        .iter()
        .map(|&(name, line, lines)| (name.to_string(), line, lines))
        .collect();
    assert_eq!(found, expected);
}
