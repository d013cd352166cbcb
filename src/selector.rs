//! Kubernetes-style label selectors, used to filter jobs by their labels.
//!
//! The grammar and matching rules follow Kubernetes apimachinery's `labels.Parse`, which is what
//! Bacalhau's `GetJobs` uses:
//!
//! ```text
//! selector    = "" | requirement { "," requirement }      (requirements are AND-ed)
//! requirement = key                                       (key exists)
//!             | "!" key                                   (key absent)
//!             | key ( "=" | "==" | "!=" ) [ value ]       (missing value = empty value)
//!             | key ( "in" | "notin" ) "(" value { "," value } ")"
//!             | key ( ">" | "<" ) integer                 (decimal i64, optional sign)
//! ```
//!
//! Whitespace (any Unicode whitespace) may appear between tokens. A **key** is any non-empty run
//! of characters other than whitespace and `,` `=` `!` `(` `)` `<` `>`; this is more lenient than
//! Kubernetes (which also limits the charset and length) and admits every valid Kubernetes key,
//! e.g. `app.kubernetes.io/name`. The words `in` and `notin` are operators only where an operator
//! is expected, so they are usable as keys. A **value** is a possibly empty string of
//! `[A-Za-z0-9._-]`; empty values are written only after `=`, `==` or `!=` (`k=` matches a label
//! `k` whose value is empty), never inside `in (...)` / `notin (...)` lists, which must hold at
//! least one value.
//!
//! Parsing normalises: `==` becomes `=`, `in`/`notin` lists are sorted and deduplicated,
//! `>`/`<` bounds are rewritten in canonical decimal form, and requirements are stably sorted by
//! key (as Kubernetes does). So two selectors that differ only in those respects compare equal,
//! and [`Selector`]'s `Display` output parses back to an equal selector.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{self, Serialize, Serializer};

/// Inputs quoted in error messages are cut to this many characters so hostile input cannot
/// blow up logs; selectors are short, so this keeps realistic inputs whole.
const MAX_QUOTED_CHARS: usize = 128;

/// How a [`Requirement`] compares a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operator {
    /// `k=v` or `k==v`: the label is present with exactly this value.
    Equals,
    /// `k!=v`: the label is absent or has another value.
    NotEquals,
    /// `k in (a,b)`: the label is present with one of the values.
    In,
    /// `k notin (a,b)`: the label is absent or has none of the values.
    NotIn,
    /// `k`: the label is present, whatever its value.
    Exists,
    /// `!k`: the label is absent.
    DoesNotExist,
    /// `k>n`: the label is present, its value parses as an `i64`, and it is greater than `n`.
    GreaterThan,
    /// `k<n`: the label is present, its value parses as an `i64`, and it is less than `n`.
    LessThan,
}

/// One condition on one label key; a [`Selector`] is the conjunction of its requirements.
///
/// Invariants (upheld by [`Selector::parse`] and the builder methods, the only constructors):
/// `Exists`/`DoesNotExist` have no values; `Equals`/`NotEquals` have exactly one;
/// `In`/`NotIn` have at least one, sorted and deduplicated; `GreaterThan`/`LessThan` have exactly
/// one, the canonical decimal form of an `i64`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    op: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// The label key this requirement tests.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// How the label is tested.
    pub fn operator(&self) -> Operator {
        self.op
    }

    /// The operand values (see the type's invariants for how many each operator has).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether `labels` satisfy this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(self.key.as_str()).map(String::as_str);
        let listed = |value: &str| self.values.iter().any(|v| v == value);
        match self.op {
            Operator::Equals | Operator::In => value.is_some_and(listed),
            Operator::NotEquals | Operator::NotIn => !value.is_some_and(listed),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                // A label value that is not an integer cannot be ordered, so it never matches
                // (Kubernetes behaves the same way).
                let label = value.and_then(|v| v.parse::<i64>().ok());
                let bound = self.values.first().and_then(|v| v.parse::<i64>().ok());
                match (label, bound) {
                    (Some(label), Some(bound)) if self.op == Operator::GreaterThan => label > bound,
                    (Some(label), Some(bound)) => label < bound,
                    _ => false,
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = &self.key;
        let first = self.values.first().map_or("", String::as_str);
        match self.op {
            Operator::Exists => f.write_str(key),
            Operator::DoesNotExist => write!(f, "!{key}"),
            Operator::Equals => write!(f, "{key}={first}"),
            Operator::NotEquals => write!(f, "{key}!={first}"),
            Operator::GreaterThan => write!(f, "{key}>{first}"),
            Operator::LessThan => write!(f, "{key}<{first}"),
            Operator::In | Operator::NotIn => {
                let word = if self.op == Operator::In { "in" } else { "notin" };
                write!(f, "{key} {word} (")?;
                for (i, value) in self.values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    f.write_str(value)?;
                }
                f.write_str(")")
            }
        }
    }
}

/// A label selector: a conjunction of [`Requirement`]s. The empty selector matches everything.
///
/// Build one with [`Selector::parse`] (or `str::parse`) from the Kubernetes text syntax described
/// in the [module docs](self), or with the builder methods:
///
/// ```
/// # use bacalhau_state::selector::Selector;
/// let selector = Selector::new().eq("gpu", "true").gt("memory-gb", 16);
/// assert_eq!(selector.to_string(), "gpu=true,memory-gb>16");
/// assert_eq!("gpu=true, memory-gb>16".parse::<Selector>().unwrap(), selector);
/// ```
///
/// Serde: (de)serialized as the text form. Serializing fails for a builder-made selector whose
/// keys or values cannot be written in the text syntax (see [`Selector::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Selector {
    // Stably sorted by key, so equal selectors have equal requirement lists.
    requirements: Vec<Requirement>,
}

impl Selector {
    /// The empty selector, which matches every label set.
    pub fn new() -> Selector {
        Selector::default()
    }

    /// Parses the text syntax described in the [module docs](self); the empty (or all
    /// whitespace) string is the empty selector.
    pub fn parse(input: &str) -> Result<Selector, SelectorError> {
        Parser::new(input).selector().map_err(|(kind, at)| SelectorError::new(kind, at, input))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether this selector has no requirements (and so matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Checks that the text form parses back to this selector.
    ///
    /// Parsed selectors always pass. Builder-made ones fail when a key is empty or contains
    /// whitespace or `,` `=` `!` `(` `)` `<` `>`, when a value contains characters outside
    /// `[A-Za-z0-9._-]`, or when an `in`/`notin` list is empty or contains an empty value; such
    /// selectors still match labels literally, they just cannot be written down.
    pub fn validate(&self) -> Result<(), SelectorError> {
        self.to_text().map(drop)
    }

    /// The text form, if it round-trips.
    fn to_text(&self) -> Result<String, SelectorError> {
        let text = self.to_string();
        match Selector::parse(&text) {
            Ok(reparsed) if reparsed == *self => Ok(text),
            Ok(_) => Err(SelectorError::new(SelectorErrorKind::Unrepresentable, 0, &text)),
            Err(err) => Err(err),
        }
    }

    /// Adds `key=value`.
    pub fn eq(self, key: impl Into<String>, value: impl Into<String>) -> Selector {
        self.with(key, Operator::Equals, Vec::from([value.into()]))
    }

    /// Adds `key!=value` (also matched when `key` is absent).
    pub fn not_eq(self, key: impl Into<String>, value: impl Into<String>) -> Selector {
        self.with(key, Operator::NotEquals, Vec::from([value.into()]))
    }

    /// Adds `key in (values...)`. An empty `values` makes a requirement nothing matches, which
    /// has no text form (see [`Selector::validate`]).
    pub fn in_<V: Into<String>>(self, key: impl Into<String>, values: impl IntoIterator<Item = V>) -> Selector {
        self.with(key, Operator::In, values.into_iter().map(Into::into).collect())
    }

    /// Adds `key notin (values...)` (also matched when `key` is absent). An empty `values`
    /// makes a requirement everything matches, which has no text form.
    pub fn not_in<V: Into<String>>(self, key: impl Into<String>, values: impl IntoIterator<Item = V>) -> Selector {
        self.with(key, Operator::NotIn, values.into_iter().map(Into::into).collect())
    }

    /// Adds `key` (the label is present).
    pub fn exists(self, key: impl Into<String>) -> Selector {
        self.with(key, Operator::Exists, Vec::new())
    }

    /// Adds `!key` (the label is absent).
    pub fn not_exists(self, key: impl Into<String>) -> Selector {
        self.with(key, Operator::DoesNotExist, Vec::new())
    }

    /// Adds `key>n` (the label's value is an integer greater than `n`).
    pub fn gt(self, key: impl Into<String>, n: i64) -> Selector {
        self.with(key, Operator::GreaterThan, Vec::from([n.to_string()]))
    }

    /// Adds `key<n` (the label's value is an integer less than `n`).
    pub fn lt(self, key: impl Into<String>, n: i64) -> Selector {
        self.with(key, Operator::LessThan, Vec::from([n.to_string()]))
    }

    fn with(mut self, key: impl Into<String>, op: Operator, mut values: Vec<String>) -> Selector {
        if matches!(op, Operator::In | Operator::NotIn) {
            values.sort();
            values.dedup();
        }
        let requirement = Requirement { key: key.into(), op, values };
        // After any requirements with the same key, matching the stable sort of `parse`.
        let at = self.requirements.partition_point(|r| r.key <= requirement.key);
        self.requirements.insert(at, requirement);
        self
    }
}

impl fmt::Display for Selector {
    /// The canonical text form, e.g. `app in (a,b),gpu=true`; empty for the empty selector.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

impl Serialize for Selector {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.to_text() {
            Ok(text) => serializer.serialize_str(&text),
            Err(err) => Err(<S::Error as ser::Error>::custom(err)),
        }
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(SelectorVisitor)
    }
}

struct SelectorVisitor;

impl Visitor<'_> for SelectorVisitor {
    type Value = Selector;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a label selector string such as \"gpu=true,zone in (a,b)\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Selector, E> {
        Selector::parse(v).map_err(E::custom)
    }
}

/// What was wrong with a selector; see [`SelectorError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectorErrorKind {
    /// A requirement must start with a key or `!key` (also reported for a trailing comma).
    ExpectedKey,
    /// A key is followed by something that is not an operator, `,` or the end.
    ExpectedOperator,
    /// `=`, `==` or `!=` followed by something other than a value, `,` or the end, or a list
    /// element that is missing.
    ExpectedValue,
    /// A value contains a character outside `[A-Za-z0-9._-]` (the offset points at it).
    InvalidValueCharacter,
    /// `in` / `notin` not followed by `(`.
    ExpectedOpenParen,
    /// `in ()` / `notin ()`.
    EmptyValueList,
    /// A list value not followed by `,` or `)`.
    ExpectedCommaOrCloseParen,
    /// `>` / `<` not followed by a decimal `i64`.
    ExpectedInteger,
    /// A complete requirement not followed by `,` or the end.
    ExpectedCommaOrEnd,
    /// A builder-made selector whose text form would not parse back to it (offset 0).
    Unrepresentable,
}

impl fmt::Display for SelectorErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SelectorErrorKind::ExpectedKey => "expected key",
            SelectorErrorKind::ExpectedOperator => {
                "expected operator (=, ==, !=, in, notin, >, <), ',' or end of input"
            }
            SelectorErrorKind::ExpectedValue => "expected value",
            SelectorErrorKind::InvalidValueCharacter => "invalid character in value (allowed: A-Z a-z 0-9 . _ -)",
            SelectorErrorKind::ExpectedOpenParen => "expected '('",
            SelectorErrorKind::EmptyValueList => "empty value list",
            SelectorErrorKind::ExpectedCommaOrCloseParen => "expected ',' or ')'",
            SelectorErrorKind::ExpectedInteger => "expected integer",
            SelectorErrorKind::ExpectedCommaOrEnd => "expected ',' or end of input",
            SelectorErrorKind::Unrepresentable => "requirements cannot be written as a selector string",
        })
    }
}

/// A selector string that could not be parsed (or a selector that cannot be written as one).
///
/// Displays as e.g. `invalid label selector "gpu in (": expected value at byte 8`, quoting at
/// most the first 128 characters of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    kind: SelectorErrorKind,
    at: usize,
    input: String,
}

impl SelectorError {
    fn new(kind: SelectorErrorKind, at: usize, input: &str) -> SelectorError {
        let input = match input.char_indices().nth(MAX_QUOTED_CHARS) {
            Some((end, _)) => {
                let mut cut = String::from(&input[..end]);
                cut.push('…');
                cut
            }
            None => String::from(input),
        };
        SelectorError { kind, at, input }
    }

    /// What was wrong.
    pub fn kind(&self) -> SelectorErrorKind {
        self.kind
    }

    /// Byte offset into the input where the problem was found (the input's length when the
    /// input ended too early).
    pub fn position(&self) -> usize {
        self.at
    }

    /// The offending input, cut to 128 characters (with `…` appended when cut).
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid label selector {}: {} at byte {}", crate::error::Quoted(&self.input), self.kind, self.at)
    }
}

impl core::error::Error for SelectorError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Ident(&'a str),
    Comma,
    Open,
    Close,
    Equals,
    DoubleEquals,
    NotEquals,
    Bang,
    Greater,
    Less,
    End,
}

fn is_special(c: char) -> bool {
    matches!(c, ',' | '=' | '!' | '(' | ')' | '<' | '>')
}

/// `(token, byte offset)` pairs, always ending with `End` at the input's length.
fn lex(input: &str) -> Vec<(Token<'_>, usize)> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let followed_by_equals = || input[at + 1..].starts_with('=');
        let token = match c {
            c if c.is_whitespace() => continue,
            ',' => Token::Comma,
            '(' => Token::Open,
            ')' => Token::Close,
            '>' => Token::Greater,
            '<' => Token::Less,
            '=' | '!' if followed_by_equals() => {
                chars.next();
                if c == '=' {
                    Token::DoubleEquals
                } else {
                    Token::NotEquals
                }
            }
            '=' => Token::Equals,
            '!' => Token::Bang,
            _ => {
                let mut end = at + c.len_utf8();
                while let Some(&(next, c)) = chars.peek() {
                    if c.is_whitespace() || is_special(c) {
                        break;
                    }
                    end = next + c.len_utf8();
                    chars.next();
                }
                Token::Ident(&input[at..end])
            }
        };
        tokens.push((token, at));
    }
    tokens.push((Token::End, input.len()));
    tokens
}

type ParseResult<T> = Result<T, (SelectorErrorKind, usize)>;

struct Parser<'a> {
    tokens: Vec<(Token<'a>, usize)>,
    next: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Parser<'a> {
        Parser { tokens: lex(input), next: 0 }
    }

    /// The next token without consuming it; `End` forever once the input is exhausted.
    fn peek(&self) -> (Token<'a>, usize) {
        let last = self.tokens.len() - 1; // `lex` always pushes `End`, so never empty
        self.tokens[self.next.min(last)]
    }

    fn advance(&mut self) -> (Token<'a>, usize) {
        let token = self.peek();
        self.next += 1;
        token
    }

    fn selector(mut self) -> ParseResult<Selector> {
        let mut requirements = Vec::new();
        if self.peek().0 != Token::End {
            loop {
                requirements.push(self.requirement()?);
                match self.advance() {
                    (Token::End, _) => break,
                    (Token::Comma, _) => continue,
                    (_, at) => return Err((SelectorErrorKind::ExpectedCommaOrEnd, at)),
                }
            }
        }
        requirements.sort_by(|a: &Requirement, b| a.key.cmp(&b.key));
        Ok(Selector { requirements })
    }

    fn requirement(&mut self) -> ParseResult<Requirement> {
        let requirement = |key: &str, op, values| Requirement { key: String::from(key), op, values };
        let key = match self.advance() {
            (Token::Bang, _) => match self.advance() {
                (Token::Ident(key), _) => return Ok(requirement(key, Operator::DoesNotExist, Vec::new())),
                (_, at) => return Err((SelectorErrorKind::ExpectedKey, at)),
            },
            (Token::Ident(key), _) => key,
            (_, at) => return Err((SelectorErrorKind::ExpectedKey, at)),
        };
        let (op, values) = match self.peek() {
            (Token::End | Token::Comma, _) => (Operator::Exists, Vec::new()),
            (Token::Equals | Token::DoubleEquals, _) => {
                self.advance();
                (Operator::Equals, Vec::from([self.exact_value()?]))
            }
            (Token::NotEquals, _) => {
                self.advance();
                (Operator::NotEquals, Vec::from([self.exact_value()?]))
            }
            (Token::Greater, _) => {
                self.advance();
                (Operator::GreaterThan, Vec::from([self.integer()?]))
            }
            (Token::Less, _) => {
                self.advance();
                (Operator::LessThan, Vec::from([self.integer()?]))
            }
            (Token::Ident("in"), _) => {
                self.advance();
                (Operator::In, self.value_list()?)
            }
            (Token::Ident("notin"), _) => {
                self.advance();
                (Operator::NotIn, self.value_list()?)
            }
            (_, at) => return Err((SelectorErrorKind::ExpectedOperator, at)),
        };
        Ok(requirement(key, op, values))
    }

    /// The operand of `=`, `==` or `!=`, which may be empty.
    fn exact_value(&mut self) -> ParseResult<String> {
        match self.peek() {
            (Token::End | Token::Comma, _) => Ok(String::new()),
            (Token::Ident(value), at) => {
                self.advance();
                checked_value(value, at)
            }
            (_, at) => Err((SelectorErrorKind::ExpectedValue, at)),
        }
    }

    fn integer(&mut self) -> ParseResult<String> {
        match self.advance() {
            (Token::Ident(text), at) => match text.parse::<i64>() {
                Ok(n) => Ok(n.to_string()),
                Err(_) => Err((SelectorErrorKind::ExpectedInteger, at)),
            },
            (_, at) => Err((SelectorErrorKind::ExpectedInteger, at)),
        }
    }

    /// `( value { , value } )`, sorted and deduplicated.
    fn value_list(&mut self) -> ParseResult<Vec<String>> {
        match self.advance() {
            (Token::Open, _) => {}
            (_, at) => return Err((SelectorErrorKind::ExpectedOpenParen, at)),
        }
        if let (Token::Close, at) = self.peek() {
            return Err((SelectorErrorKind::EmptyValueList, at));
        }
        let mut values = Vec::new();
        loop {
            match self.advance() {
                (Token::Ident(value), at) => values.push(checked_value(value, at)?),
                (_, at) => return Err((SelectorErrorKind::ExpectedValue, at)),
            }
            match self.advance() {
                (Token::Comma, _) => continue,
                (Token::Close, _) => break,
                (_, at) => return Err((SelectorErrorKind::ExpectedCommaOrCloseParen, at)),
            }
        }
        values.sort();
        values.dedup();
        Ok(values)
    }
}

/// `value` if it is entirely `[A-Za-z0-9._-]`; `at` is its byte offset in the input.
fn checked_value(value: &str, at: usize) -> ParseResult<String> {
    match value.char_indices().find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        Some((offset, _)) => Err((SelectorErrorKind::InvalidValueCharacter, at + offset)),
        None => Ok(String::from(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|&(k, v)| (String::from(k), String::from(v))).collect()
    }

    fn sel(text: &str) -> Selector {
        Selector::parse(text).unwrap()
    }

    fn error(text: &str) -> (SelectorErrorKind, usize) {
        let err = Selector::parse(text).unwrap_err();
        (err.kind(), err.position())
    }

    #[test]
    fn empty_selector_matches_everything() {
        for text in ["", "   ", "\t\n"] {
            let selector = sel(text);
            assert!(selector.is_empty());
            assert_eq!(selector, Selector::new());
            assert!(selector.matches(&labels(&[])));
            assert!(selector.matches(&labels(&[("a", "b")])));
        }
        assert_eq!(Selector::new().to_string(), "");
    }

    #[test]
    fn equals_matches_only_the_exact_value() {
        for text in ["gpu=true", "gpu==true"] {
            let selector = sel(text);
            assert_eq!(selector.requirements()[0].operator(), Operator::Equals);
            assert!(selector.matches(&labels(&[("gpu", "true")])));
            assert!(!selector.matches(&labels(&[("gpu", "false")])));
            assert!(!selector.matches(&labels(&[])));
        }
    }

    #[test]
    fn not_equals_matches_other_values_and_absent_keys() {
        let selector = sel("gpu!=true");
        assert!(!selector.matches(&labels(&[("gpu", "true")])));
        assert!(selector.matches(&labels(&[("gpu", "false")])));
        assert!(selector.matches(&labels(&[])));
    }

    #[test]
    fn in_matches_any_listed_value() {
        let selector = sel("zone in (eu,us)");
        assert!(selector.matches(&labels(&[("zone", "eu")])));
        assert!(selector.matches(&labels(&[("zone", "us")])));
        assert!(!selector.matches(&labels(&[("zone", "ap")])));
        assert!(!selector.matches(&labels(&[])));
        assert!(sel("zone in (eu)").matches(&labels(&[("zone", "eu")])));
    }

    #[test]
    fn notin_matches_unlisted_values_and_absent_keys() {
        let selector = sel("zone notin (eu,us)");
        assert!(!selector.matches(&labels(&[("zone", "eu")])));
        assert!(selector.matches(&labels(&[("zone", "ap")])));
        assert!(selector.matches(&labels(&[])));
    }

    #[test]
    fn exists_and_does_not_exist_test_key_presence() {
        let present = labels(&[("gpu", "")]);
        let absent = labels(&[("cpu", "x")]);
        assert!(sel("gpu").matches(&present));
        assert!(!sel("gpu").matches(&absent));
        assert!(!sel("!gpu").matches(&present));
        assert!(sel("!gpu").matches(&absent));
        assert_eq!(sel("! gpu"), sel("!gpu"));
    }

    #[test]
    fn greater_and_less_than_compare_integers() {
        let selector = sel("max>1");
        assert!(selector.matches(&labels(&[("max", "10")])));
        assert!(!selector.matches(&labels(&[("max", "1")])));
        assert!(!selector.matches(&labels(&[("max", "0")])));
        assert!(!selector.matches(&labels(&[("max", "ten")])));
        assert!(!selector.matches(&labels(&[("max", "1.5")])));
        assert!(!selector.matches(&labels(&[])));
        let selector = sel("max<-5");
        assert!(selector.matches(&labels(&[("max", "-6")])));
        assert!(!selector.matches(&labels(&[("max", "-5")])));
        assert!(!selector.matches(&labels(&[("max", "x")])));
    }

    #[test]
    fn integer_bounds_are_canonicalised() {
        assert_eq!(sel("max>+007").to_string(), "max>7");
        assert_eq!(sel("max>+007"), Selector::new().gt("max", 7));
    }

    #[test]
    fn combined_requirements_must_all_match() {
        let selector = sel("gpu=true,fast=true");
        assert!(selector.matches(&labels(&[("gpu", "true"), ("fast", "true"), ("x", "y")])));
        assert!(!selector.matches(&labels(&[("gpu", "true"), ("fast", "false")])));
        assert!(!selector.matches(&labels(&[("gpu", "true")])));
    }

    #[test]
    fn whitespace_between_tokens_is_ignored() {
        let spaced = sel("  gpu = true ,  zone  in ( us , eu )  , ! slow , max > 3 ");
        assert_eq!(spaced, sel("gpu=true,zone in (eu,us),!slow,max>3"));
        assert_eq!(spaced.to_string(), "gpu=true,max>3,!slow,zone in (eu,us)");
        assert_eq!(sel("zone in(eu)"), sel("zone in (eu)"));
    }

    #[test]
    fn keys_may_contain_prefixes_dots_dashes_and_underscores() {
        let selector = sel("app.kubernetes.io/name=web,my_key-2.x");
        assert!(selector.matches(&labels(&[("app.kubernetes.io/name", "web"), ("my_key-2.x", "")])));
        assert_eq!(selector.requirements()[0].key(), "app.kubernetes.io/name");
    }

    #[test]
    fn in_and_notin_are_usable_as_keys() {
        let selector = sel("in in (in),notin,!in2");
        assert_eq!(selector.requirements()[0].key(), "in");
        assert_eq!(selector.requirements()[0].operator(), Operator::In);
        assert_eq!(selector.requirements()[1].key(), "in2");
        assert_eq!(selector.requirements()[2].key(), "notin");
        assert_eq!(selector.requirements()[2].operator(), Operator::Exists);
        assert_eq!(sel(&selector.to_string()), selector);
    }

    #[test]
    fn empty_value_after_equals_matches_an_empty_label_value() {
        for text in ["gpu=", "gpu==", "gpu= "] {
            let selector = sel(text);
            assert_eq!(selector.to_string(), "gpu=");
            assert!(selector.matches(&labels(&[("gpu", "")])));
            assert!(!selector.matches(&labels(&[("gpu", "x")])));
            assert!(!selector.matches(&labels(&[])));
        }
        assert_eq!(sel("a=,b"), Selector::new().eq("a", "").exists("b"));
        assert!(sel("gpu!=").matches(&labels(&[])));
    }

    #[test]
    fn malformed_selectors_report_the_kind_and_byte_offset() {
        use SelectorErrorKind::*;
        assert_eq!(error("=v"), (ExpectedKey, 0));
        assert_eq!(error("gpu in ("), (ExpectedValue, 8));
        assert_eq!(error("gpu in ()"), (EmptyValueList, 8));
        assert_eq!(error("gpu in (a,)"), (ExpectedValue, 10));
        assert_eq!(error("gpu in (,a)"), (ExpectedValue, 8));
        assert_eq!(error("gpu in (a b)"), (ExpectedCommaOrCloseParen, 10));
        assert_eq!(error("gpu in a"), (ExpectedOpenParen, 7));
        assert_eq!(error("gpu in"), (ExpectedOpenParen, 6));
        assert_eq!(error("k>abc"), (ExpectedInteger, 2));
        assert_eq!(error("k>"), (ExpectedInteger, 2));
        assert_eq!(error("k>99999999999999999999"), (ExpectedInteger, 2));
        assert_eq!(error("k>=5"), (ExpectedInteger, 2));
        assert_eq!(error("a=b,"), (ExpectedKey, 4));
        assert_eq!(error(","), (ExpectedKey, 0));
        assert_eq!(error("a,,b"), (ExpectedKey, 2));
        assert_eq!(error("!"), (ExpectedKey, 1));
        assert_eq!(error("!a=b"), (ExpectedCommaOrEnd, 2));
        assert_eq!(error("a b"), (ExpectedOperator, 2));
        assert_eq!(error("a("), (ExpectedOperator, 1));
        assert_eq!(error("a=(b)"), (ExpectedValue, 2));
        assert_eq!(error("a=b c"), (ExpectedCommaOrEnd, 4));
        assert_eq!(error("a=b/c"), (InvalidValueCharacter, 3));
        assert_eq!(error("a in (ok,bé)"), (InvalidValueCharacter, 10));
    }

    #[test]
    fn error_message_quotes_the_input_and_names_the_problem() {
        let err = Selector::parse("gpu in (").unwrap_err();
        assert_eq!(err.to_string(), "invalid label selector \"gpu in (\": expected value at byte 8");
        let long = format!("{}=(", "k".repeat(200));
        let err = Selector::parse(&long).unwrap_err();
        assert_eq!(err.position(), 201);
        assert_eq!(err.input().chars().count(), 129);
    }

    #[test]
    fn display_is_canonical_and_parses_back() {
        let selector = sel("z notin (b,a,b),a==1,m,!n,x>10,y<-3,a!=2");
        assert_eq!(selector.to_string(), "a=1,a!=2,m,!n,x>10,y<-3,z notin (a,b)");
        assert_eq!(sel(&selector.to_string()), selector);
    }

    #[test]
    fn builder_matches_the_parsed_form() {
        let built = Selector::new()
            .eq("gpu", "true")
            .not_eq("tier", "free")
            .in_("zone", ["us", "eu", "us"])
            .not_in("os", ["windows"])
            .exists("app.kubernetes.io/name")
            .not_exists("deprecated")
            .gt("memory", 16)
            .lt("price", 100);
        let text = built.to_string();
        assert_eq!(
            text,
            "app.kubernetes.io/name,!deprecated,gpu=true,memory>16,os notin (windows),price<100,tier!=free,zone in (eu,us)"
        );
        assert_eq!(sel(&text), built);
        assert_eq!(built.validate(), Ok(()));
    }

    #[test]
    fn builder_selectors_without_a_text_form_fail_validation_and_serialization() {
        use SelectorErrorKind::*;
        let kind = |s: Selector| s.validate().unwrap_err().kind();
        assert_eq!(kind(Selector::new().eq("a b", "v")), ExpectedOperator);
        assert_eq!(kind(Selector::new().eq("k", "v w")), ExpectedCommaOrEnd);
        assert_eq!(kind(Selector::new().eq("k", "a/b")), InvalidValueCharacter);
        assert_eq!(kind(Selector::new().in_("k", Vec::<String>::new())), EmptyValueList);
        assert_eq!(kind(Selector::new().in_("k", ["", "a"])), ExpectedValue);
        assert_eq!(kind(Selector::new().exists("")), Unrepresentable);
        assert_eq!(kind(Selector::new().exists("a,b")), Unrepresentable);
        let err = serde_json::to_string(&Selector::new().exists("a,b")).unwrap_err();
        assert!(err.to_string().contains("cannot be written"), "{err}");
        // Literal matching still works for such selectors.
        assert!(Selector::new().eq("k", "a/b").matches(&labels(&[("k", "a/b")])));
    }

    #[test]
    fn serde_json_round_trips_as_the_text_form() {
        let selector = sel("gpu=true, zone in (us,eu)");
        let json = serde_json::to_string(&selector).unwrap();
        assert_eq!(json, "\"gpu=true,zone in (eu,us)\"");
        assert_eq!(serde_json::from_str::<Selector>(&json).unwrap(), selector);
        assert_eq!(serde_json::from_str::<Selector>("\"\"").unwrap(), Selector::new());
    }

    #[test]
    fn serde_rejects_invalid_selectors_and_non_strings() {
        let err = serde_json::from_str::<Selector>("\"gpu in (\"").unwrap_err();
        assert!(err.to_string().contains("expected value at byte 8"), "{err}");
        let err = serde_json::from_str::<Selector>("42").unwrap_err();
        assert!(err.to_string().contains("expected a label selector string"), "{err}");
    }

    #[test]
    fn generated_selectors_round_trip_through_text() {
        // A cheap deterministic sweep (xorshift) instead of a property-testing dependency.
        let keys = ["a", "in", "notin", "app.io/x", "k_1-2", "ü"];
        let values = ["", "v", "1", "-2", "x.y_z-0"];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..2_000 {
            let mut selector = Selector::new();
            for _ in 0..next(5) {
                let key = keys[next(keys.len())];
                let value = values[next(values.len())];
                let list = [values[1 + next(4)], values[1 + next(4)]];
                let n = next(2001) as i64 - 1000;
                selector = match next(8) {
                    0 => selector.eq(key, value),
                    1 => selector.not_eq(key, value),
                    2 => selector.in_(key, list),
                    3 => selector.not_in(key, list),
                    4 => selector.exists(key),
                    5 => selector.not_exists(key),
                    6 => selector.gt(key, n),
                    _ => selector.lt(key, n),
                };
            }
            let text = selector.to_string();
            assert_eq!(Selector::parse(&text).as_ref(), Ok(&selector), "{text}");
        }
    }
}
