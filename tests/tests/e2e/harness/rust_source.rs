//! Reading Rust source for the architecture checks (`architecture.rs`
//! declares this file with `#[path]`; it is not part of [`crate::harness`]).
//!
//! [`tokenize`] turns source text into identifiers, punctuation, literals and
//! lifetimes, each with its 1-based line, and drops comments (doc comments
//! included). Literals are single tokens, so braces, quotes and paths inside
//! strings, raw strings (`r#"…"#`) and char literals (`'{'`, `'"'`) never
//! reach the checks; `'a` is a lifetime, not an unterminated char literal.
//! [`strip_test_items`] then drops test code: items marked `#[cfg(test)]`,
//! `#[cfg(all(.., test, ..))]`, `#[test]` or `#[tokio::test]` (and the whole
//! file under `#![cfg(test)]`), reporting the `mod x;` files they declare.

/// What a [`Token`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A keyword or identifier (`r#name` is spelled `name`), or a number.
    Ident,
    /// One punctuation character, except `::` which is one token.
    Punct,
    /// A string, byte string, raw string or char literal; `text` is its body.
    Literal,
    /// A lifetime or loop label, `text` without the quote.
    Lifetime,
}

/// One token and the line it starts on.
#[derive(Clone, Debug)]
pub struct Token {
    pub kind: Kind,
    pub text: String,
    pub line: usize,
}

impl Token {
    /// Whether this is the identifier or punctuation `text` (never a literal).
    pub fn is(&self, text: &str) -> bool {
        matches!(self.kind, Kind::Ident | Kind::Punct) && self.text == text
    }
}

/// The tokens of `src`, without comments and whitespace.
pub fn tokenize(src: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        chars: src.chars().collect(),
        pos: 0,
        line: 1,
        tokens: Vec::new(),
    };
    while lexer.pos < lexer.chars.len() {
        lexer.next_token();
    }
    lexer.tokens
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    tokens: Vec<Token>,
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> char {
        let c = self.chars[self.pos];
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        c
    }

    fn push(&mut self, kind: Kind, text: String, line: usize) {
        self.tokens.push(Token { kind, text, line });
    }

    fn next_token(&mut self) {
        let line = self.line;
        match (self.chars[self.pos], self.peek(1)) {
            (c, _) if c.is_whitespace() => {
                self.bump();
            }
            ('/', Some('/')) => self.line_comment(),
            ('/', Some('*')) => self.block_comment(),
            ('"', _) => self.quoted_string(line),
            ('\'', _) => self.quote(line),
            (':', Some(':')) => {
                self.pos += 2;
                self.push(Kind::Punct, "::".into(), line);
            }
            (c, _) if is_ident_char(c) => self.word(line),
            _ => {
                let c = self.bump();
                self.push(Kind::Punct, c.to_string(), line);
            }
        }
    }

    fn line_comment(&mut self) {
        while self.pos < self.chars.len() && self.chars[self.pos] != '\n' {
            self.bump();
        }
    }

    /// `/* … */`, which nests in Rust.
    fn block_comment(&mut self) {
        let mut depth = 0;
        while self.pos < self.chars.len() {
            match (self.bump(), self.peek(0)) {
                ('/', Some('*')) => {
                    self.bump();
                    depth += 1;
                }
                ('*', Some('/')) => {
                    self.bump();
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// `"…"` with backslash escapes; the cursor is on the opening quote.
    fn quoted_string(&mut self, line: usize) {
        self.bump();
        let mut body = String::new();
        while self.pos < self.chars.len() {
            match self.bump() {
                '"' => break,
                '\\' if self.pos < self.chars.len() => body.push(self.bump()),
                c => body.push(c),
            }
        }
        self.push(Kind::Literal, body, line);
    }

    /// `r"…"`, `r#"…"#`, …; the cursor is on the first `#` or the quote.
    fn raw_string(&mut self, line: usize) {
        let hashes = self.chars[self.pos..]
            .iter()
            .take_while(|&&c| c == '#')
            .count();
        self.pos += hashes + 1;
        let closing: Vec<char> = format!("\"{}", "#".repeat(hashes)).chars().collect();
        let mut body = String::new();
        while self.pos < self.chars.len() && !self.chars[self.pos..].starts_with(&closing) {
            body.push(self.bump());
        }
        self.pos = (self.pos + closing.len()).min(self.chars.len());
        self.push(Kind::Literal, body, line);
    }

    /// A char literal (`'x'`, `'\n'`, `'\u{7f}'`, `'"'`) or a lifetime (`'a`).
    fn quote(&mut self, line: usize) {
        let is_char = self.peek(1) == Some('\\') || self.peek(2) == Some('\'');
        self.bump();
        let mut body = String::new();
        if !is_char {
            while self.peek(0).is_some_and(is_ident_char) {
                body.push(self.bump());
            }
            return self.push(Kind::Lifetime, body, line);
        }
        while self.pos < self.chars.len() {
            match self.bump() {
                '\'' => break,
                '\\' if self.pos < self.chars.len() => body.push(self.bump()),
                c => body.push(c),
            }
        }
        self.push(Kind::Literal, body, line);
    }

    /// An identifier or number, or the prefix of a literal (`b"…"`, `br#"…"#`,
    /// `b'x'`, `c"…"`) or raw identifier (`r#match`).
    fn word(&mut self, line: usize) {
        let mut word = String::new();
        while self.peek(0).is_some_and(is_ident_char) {
            word.push(self.bump());
        }
        let raw_quote = (0..).find(|&i| self.peek(i) != Some('#')).unwrap_or(0);
        match (word.as_str(), self.peek(0)) {
            ("r" | "br" | "cr", Some('"' | '#')) if self.peek(raw_quote) == Some('"') => {
                self.raw_string(line)
            }
            ("b" | "c", Some('"')) => self.quoted_string(line),
            ("b", Some('\'')) => self.quote(line),
            ("r", Some('#')) => {
                self.bump();
                self.word(line);
            }
            _ => self.push(Kind::Ident, word, line),
        }
    }
}

// ------------------------------------------------------------------ test code

/// A `mod name;` declared under `#[cfg(test)]`, with its `#[path]` if any.
pub struct TestModDecl {
    pub name: String,
    pub path_attr: Option<String>,
}

/// `tokens` without test-only items (and all of them when the file is
/// `#![cfg(test)]`), plus the `mod x;` declarations among those items.
pub fn strip_test_items(tokens: Vec<Token>) -> (Vec<Token>, Vec<TestModDecl>) {
    let (mut kept, mut test_mods) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < tokens.len() {
        if let Some(end) = inner_attribute_end(&tokens, i) {
            if is_test_attribute(&tokens[i + 3..end - 1]) {
                return (Vec::new(), test_mods);
            }
            kept.extend_from_slice(&tokens[i..end]);
            i = end;
            continue;
        }
        let attrs_end = outer_attributes_end(&tokens, i);
        if attrs_end == i {
            kept.push(tokens[i].clone());
            i += 1;
            continue;
        }
        let attrs = &tokens[i..attrs_end];
        if !marks_test_item(attrs) {
            kept.extend_from_slice(attrs);
            i = attrs_end;
            continue;
        }
        let item_end = item_end(&tokens, attrs_end);
        test_mods.extend(test_mod_decl(attrs, &tokens[attrs_end..item_end]));
        i = item_end;
    }
    (kept, test_mods)
}

/// The end (exclusive) of the inner attribute `#![…]` starting at `i`, if any.
fn inner_attribute_end(tokens: &[Token], i: usize) -> Option<usize> {
    let starts = ["#", "!", "["]
        .iter()
        .enumerate()
        .all(|(k, text)| tokens.get(i + k).is_some_and(|t| t.is(text)));
    starts.then(|| matching_close(tokens, i + 2) + 1)
}

/// The end (exclusive) of the run of outer attributes `#[…]` starting at
/// `start`; `start` itself when there is none there.
fn outer_attributes_end(tokens: &[Token], start: usize) -> usize {
    let mut i = start;
    while tokens[i].is("#") && tokens.get(i + 1).is_some_and(|t| t.is("[")) {
        i = matching_close(tokens, i + 1) + 1;
        if i >= tokens.len() {
            break;
        }
    }
    i
}

/// Whether one of the attributes in `attrs` (a run of `#[…]`) marks test code.
fn marks_test_item(attrs: &[Token]) -> bool {
    let mut i = 0;
    while i < attrs.len() {
        let close = matching_close(attrs, i + 1);
        if is_test_attribute(&attrs[i + 2..close]) {
            return true;
        }
        i = close + 1;
    }
    false
}

/// `test`, `tokio::test`, `cfg(test)` or `cfg(all(…, test, …))`: the tokens
/// between the attribute's brackets.
fn is_test_attribute(inner: &[Token]) -> bool {
    let text: String = inner.iter().map(|t| t.text.as_str()).collect();
    let idents = |word: &str| {
        inner
            .iter()
            .any(|t| t.kind == Kind::Ident && t.text == word)
    };
    text == "test"
        || text.ends_with("::test")
        || text == "cfg(test)"
        || (text.starts_with("cfg(all(") && idents("test") && !idents("not") && !idents("any"))
}

/// The end (exclusive) of the item, field, variant or statement starting at
/// `start`: after its `;`, its body's `}` or its `,`, or before the `}` that
/// closes the block it is in. Generic `<…>` are tracked so that `,` inside
/// them does not end the item.
fn item_end(tokens: &[Token], start: usize) -> usize {
    let (mut depth, mut angles) = (0usize, 0usize);
    for i in start..tokens.len() {
        let after_arrow = i > 0 && (tokens[i - 1].is("-") || tokens[i - 1].is("="));
        match tokens[i].text.as_str() {
            _ if tokens[i].kind == Kind::Literal => {}
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" if depth == 0 => return i,
            ")" | "]" => depth -= 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            "<" if depth == 0 => angles += 1,
            ">" if depth == 0 && !after_arrow => angles = angles.saturating_sub(1),
            ";" if depth == 0 => return i + 1,
            "," if depth == 0 && angles == 0 => return i + 1,
            _ => {}
        }
    }
    tokens.len()
}

/// The declaration when `item` is `[pub[(…)]] mod name;`.
fn test_mod_decl(attrs: &[Token], item: &[Token]) -> Option<TestModDecl> {
    let at = item.iter().position(|t| t.is("mod"))?;
    if at > 0 && !item[0].is("pub") {
        return None;
    }
    let (name, semi) = (item.get(at + 1)?, item.get(at + 2)?);
    if name.kind != Kind::Ident || !semi.is(";") {
        return None;
    }
    let path_attr = attrs
        .windows(3)
        .find(|w| w[0].is("path") && w[1].is("=") && w[2].kind == Kind::Literal)
        .map(|w| w[2].text.clone());
    Some(TestModDecl {
        name: name.text.clone(),
        path_attr,
    })
}

/// The index of the bracket closing the one at `open` (or the last token).
pub fn matching_close(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.text.as_str() {
            _ if t.kind == Kind::Literal => {}
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    tokens.len().saturating_sub(1)
}
