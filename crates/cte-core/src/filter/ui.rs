//! The query language CE's UI stores beside the JSON (`filters.query`), e.g.
//! `type NOT IN ("url") && tags IN ("invalid")`. CE's backend never parses it; we do, so that a
//! client may send only the UI form, and we parse it into the same [`Expr`] the JSON gives.
//!
//! Grammar (keywords and field names are case-insensitive):
//!
//! ```text
//! query      := or? EOF                      (empty text selects everything)
//! or         := and ("||" and)*
//! and        := primary ("&&" primary)*
//! primary    := "(" or ")" | field op operand
//! op         := "=" | "==" | "Is equal" | "!=" | "<" | "<=" | ">" | ">=" | "IN" | "NOT IN" | "Like"
//! operand    := value | "(" (value ("," value)*)? ")"
//! value      := "string" | 'string' | integer | true | false | null | bare-word
//! ```
//!
//! Strings take `\"`, `\'` and `\\` escapes; a bare word (letters, digits, `_ . - :`) is a string,
//! so `type = url` and `expiresAt < 2024-01-01` work unquoted.
//!
//! Fields: `value, type, test, safe, active, internalHits, externalHits, expiresAt, sharedWith` are
//! the indicator's; `source, reputation, severity, tags, firstSeen, lastSeen, comments,
//! extendedInformation, retracted` (also written `sources.<name>`, the only way to reach a
//! source's own `internalHits`/`externalHits`) are a source record's. **Each source-level
//! condition is its own `sources $elemMatch`**: `tags IN ("a") && severity IN ("high")` means
//! "some source has tag a and some source (maybe another) is high", which is how the UI's
//! independent rows read. Write the JSON form to require one and the same source.
//!
//! Operators by field type (`=`, `==` and `Is equal` are synonyms):
//! - strings: `=` case-insensitive exact, `!=` its negation, `Like` case-insensitive substring,
//!   `IN`/`NOT IN` case-sensitive membership (as the JSON's `$in`/`$nin`);
//! - numbers: `= != < <= > >=`, `= null`, `IN (1, 2)` (any of), `NOT IN` (none of);
//! - dates: `= != < <= > >=` with an ISO 8601 value;
//! - booleans: `=` and `!=` with `true`/`false`;
//! - `tags`, `sharedWith`: `IN`/`NOT IN`, `= x` (has x), `!= x` (has not x);
//! - `severity`: as tags, plus `< <= > >=` on the order unknown < low < medium < high < critical
//!   (`severity >= "high"` is `IN ("high", "critical")`).
//!
//! Errors name the 0-based character offset: `… at position 12`.

use super::json::clip;
use super::{
    parse_date, ArrayTest, BoolTest, Cond, DateTest, Expr, Filter, FilterError, NumTest,
    SourceCond, StrTest,
};
use crate::indicator::Severity;

/// Parentheses deeper than this are refused (bounded recursion).
const MAX_DEPTH: usize = 64;

/// Parses the UI query language into a filter; empty text selects everything.
pub fn parse_ui(s: &str) -> Result<Filter, FilterError> {
    let tokens = lex(s)?;
    let mut p = Parser {
        tokens,
        at: 0,
        end: s.chars().count(),
    };
    if p.peek().is_none() {
        return Ok(Filter::all());
    }
    let expr = p.or(0)?;
    if let Some(t) = p.peek() {
        return Err(error(format!("unexpected {}", t.tok.describe()), t.pos));
    }
    Ok(Filter::new(expr))
}

fn error(msg: impl std::fmt::Display, pos: usize) -> FilterError {
    FilterError::InvalidQuery(format!("{msg} at position {pos}"))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// A quoted string.
    Str(String),
    /// An unquoted run of word characters (field name, keyword, number or bare value).
    Word(String),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::And => "'&&'".into(),
            Tok::Or => "'||'".into(),
            Tok::Eq => "'='".into(),
            Tok::Ne => "'!='".into(),
            Tok::Lt => "'<'".into(),
            Tok::Le => "'<='".into(),
            Tok::Gt => "'>'".into(),
            Tok::Ge => "'>='".into(),
            Tok::Str(s) => format!("string \"{}\"", clip(s)),
            Tok::Word(w) => format!("'{}'", clip(w)),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | ':' | '$')
}

fn lex(s: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i;
        let next = chars.get(i + 1).copied();
        let (tok, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ',' => (Tok::Comma, 1),
            '&' if next == Some('&') => (Tok::And, 2),
            '|' if next == Some('|') => (Tok::Or, 2),
            '=' if next == Some('=') => (Tok::Eq, 2),
            '=' => (Tok::Eq, 1),
            '!' if next == Some('=') => (Tok::Ne, 2),
            '<' if next == Some('=') => (Tok::Le, 2),
            '<' => (Tok::Lt, 1),
            '>' if next == Some('=') => (Tok::Ge, 2),
            '>' => (Tok::Gt, 1),
            '"' | '\'' => {
                let quote = c;
                let mut text = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(error("unterminated string", pos)),
                        Some('\\') => match chars.get(j + 1) {
                            Some(&e) if e == '\\' || e == '"' || e == '\'' => {
                                text.push(e);
                                j += 2;
                            }
                            _ => return Err(error("invalid escape in string", j)),
                        },
                        Some(&q) if q == quote => break,
                        Some(&other) => {
                            text.push(other);
                            j += 1;
                        }
                    }
                }
                (Tok::Str(text), j + 1 - i)
            }
            c if is_word_char(c) => {
                let len = chars[i..].iter().take_while(|&&c| is_word_char(c)).count();
                (Tok::Word(chars[i..i + len].iter().collect()), len)
            }
            other => return Err(error(format!("unexpected character '{other}'"), pos)),
        };
        out.push(Token { tok, pos });
        i += len;
    }
    Ok(out)
}

/// A comparison operator as written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Like,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "IN",
            Op::NotIn => "NOT IN",
            Op::Like => "Like",
        }
    }
}

/// An operand value with where it was written.
#[derive(Debug, Clone)]
struct Val {
    kind: ValKind,
    pos: usize,
}

#[derive(Debug, Clone)]
enum ValKind {
    /// Quoted text.
    Quoted(String),
    /// A bare word (may read as a number, boolean or null).
    Bare(String),
}

impl Val {
    fn text(&self) -> &str {
        match &self.kind {
            ValKind::Quoted(s) | ValKind::Bare(s) => s,
        }
    }

    fn is_null(&self) -> bool {
        matches!(&self.kind, ValKind::Bare(w) if w.eq_ignore_ascii_case("null"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Str,
    Num,
    Date,
    Bool,
    Array,
    Severity,
}

/// Every field the UI language knows: (name, kind, source-level).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Value,
    Type,
    Test,
    Safe,
    Active,
    InternalHits,
    ExternalHits,
    ExpiresAt,
    SharedWith,
    Source,
    Comments,
    ExtendedInformation,
    Reputation,
    SourceInternalHits,
    SourceExternalHits,
    FirstSeen,
    LastSeen,
    Severity,
    Tags,
    Retracted,
}

impl Field {
    fn parse(name: &str) -> Option<Field> {
        let lower = name.to_ascii_lowercase();
        let (source_prefix, bare) = match lower.strip_prefix("sources.") {
            Some(rest) => (true, rest),
            None => (false, lower.as_str()),
        };
        let f = match bare {
            "source" => Field::Source,
            "comments" => Field::Comments,
            "extendedinformation" => Field::ExtendedInformation,
            "reputation" => Field::Reputation,
            "firstseen" => Field::FirstSeen,
            "lastseen" => Field::LastSeen,
            "severity" => Field::Severity,
            "tags" => Field::Tags,
            "retracted" => Field::Retracted,
            "internalhits" if source_prefix => Field::SourceInternalHits,
            "externalhits" if source_prefix => Field::SourceExternalHits,
            _ if source_prefix => return None,
            "value" => Field::Value,
            "type" => Field::Type,
            "test" => Field::Test,
            "safe" => Field::Safe,
            "active" => Field::Active,
            "internalhits" => Field::InternalHits,
            "externalhits" => Field::ExternalHits,
            "expiresat" => Field::ExpiresAt,
            "sharedwith" => Field::SharedWith,
            _ => return None,
        };
        Some(f)
    }

    fn kind(self) -> Kind {
        match self {
            Field::Value
            | Field::Type
            | Field::Source
            | Field::Comments
            | Field::ExtendedInformation => Kind::Str,
            Field::Test | Field::Safe | Field::Active | Field::Retracted => Kind::Bool,
            Field::InternalHits
            | Field::ExternalHits
            | Field::Reputation
            | Field::SourceInternalHits
            | Field::SourceExternalHits => Kind::Num,
            Field::ExpiresAt | Field::FirstSeen | Field::LastSeen => Kind::Date,
            Field::SharedWith | Field::Tags => Kind::Array,
            Field::Severity => Kind::Severity,
        }
    }
}

/// A field condition before it is placed at its level.
enum Leaf {
    Str(StrTest),
    Num(NumTest),
    Date(DateTest),
    Bool(BoolTest),
    Array(ArrayTest),
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// Position reported for "unexpected end".
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self, expected: &str) -> Result<Token, FilterError> {
        match self.tokens.get(self.at) {
            Some(t) => {
                self.at += 1;
                Ok(t.clone())
            }
            None => Err(error(
                format!("expected {expected}, found the end of the query"),
                self.end,
            )),
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek().map(|t| &t.tok) == Some(tok) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut items = vec![self.and(depth)?];
        while self.eat(&Tok::Or) {
            items.push(self.and(depth)?);
        }
        Ok(single_or(items, Expr::Or))
    }

    fn and(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut items = vec![self.primary(depth)?];
        while self.eat(&Tok::And) {
            items.push(self.primary(depth)?);
        }
        Ok(single_or(items, Expr::And))
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let t = self.next("a field name or '('")?;
        match t.tok {
            Tok::LParen => {
                if depth >= MAX_DEPTH {
                    return Err(error("parentheses nested too deeply", t.pos));
                }
                let e = self.or(depth + 1)?;
                let close = self.next("')'")?;
                if close.tok != Tok::RParen {
                    return Err(error(
                        format!("expected ')', found {}", close.tok.describe()),
                        close.pos,
                    ));
                }
                Ok(e)
            }
            Tok::Word(name) => {
                let field = Field::parse(&name)
                    .ok_or_else(|| error(format!("unknown field '{}'", clip(&name)), t.pos))?;
                let (op, op_pos) = self.op(&name)?;
                let values = self.operand(op)?;
                comparison(field, &name, op, op_pos, values)
            }
            other => Err(error(
                format!("expected a field name or '(', found {}", other.describe()),
                t.pos,
            )),
        }
    }

    fn op(&mut self, field: &str) -> Result<(Op, usize), FilterError> {
        let expected = format!("an operator after '{}'", clip(field));
        let t = self.next(&expected)?;
        let op = match &t.tok {
            Tok::Eq => Op::Eq,
            Tok::Ne => Op::Ne,
            Tok::Lt => Op::Lt,
            Tok::Le => Op::Le,
            Tok::Gt => Op::Gt,
            Tok::Ge => Op::Ge,
            Tok::Word(w) if w.eq_ignore_ascii_case("in") => Op::In,
            Tok::Word(w) if w.eq_ignore_ascii_case("like") => Op::Like,
            Tok::Word(w) if w.eq_ignore_ascii_case("not") => {
                let n = self.next("IN after NOT")?;
                match n.tok {
                    Tok::Word(w) if w.eq_ignore_ascii_case("in") => Op::NotIn,
                    other => {
                        return Err(error(
                            format!("expected IN after NOT, found {}", other.describe()),
                            n.pos,
                        ))
                    }
                }
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("is") => {
                let n = self.next("'equal' after 'Is'")?;
                match n.tok {
                    Tok::Word(w) if w.eq_ignore_ascii_case("equal") => Op::Eq,
                    other => {
                        return Err(error(
                            format!("expected 'equal' after 'Is', found {}", other.describe()),
                            n.pos,
                        ))
                    }
                }
            }
            other => {
                return Err(error(
                    format!("expected {expected}, found {}", other.describe()),
                    t.pos,
                ))
            }
        };
        Ok((op, t.pos))
    }

    /// One value, or a parenthesised list (only for IN and NOT IN, where a single value is
    /// also accepted).
    fn operand(&mut self, op: Op) -> Result<Vec<Val>, FilterError> {
        let list_allowed = matches!(op, Op::In | Op::NotIn);
        if list_allowed && self.eat(&Tok::LParen) {
            let mut vals = Vec::new();
            if self.eat(&Tok::RParen) {
                return Ok(vals);
            }
            loop {
                vals.push(self.value()?);
                let t = self.next("',' or ')'")?;
                match t.tok {
                    Tok::Comma => continue,
                    Tok::RParen => return Ok(vals),
                    other => {
                        return Err(error(
                            format!("expected ',' or ')', found {}", other.describe()),
                            t.pos,
                        ))
                    }
                }
            }
        }
        Ok(vec![self.value()?])
    }

    fn value(&mut self) -> Result<Val, FilterError> {
        let t = self.next("a value")?;
        let kind = match t.tok {
            Tok::Str(s) => ValKind::Quoted(s),
            Tok::Word(w) => ValKind::Bare(w),
            other => {
                return Err(error(
                    format!("expected a value, found {}", other.describe()),
                    t.pos,
                ))
            }
        };
        Ok(Val { kind, pos: t.pos })
    }
}

fn single_or(mut items: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        items.pop().expect("one element")
    } else {
        make(items)
    }
}

/// Builds the expression of one `field op operand`.
fn comparison(
    field: Field,
    name: &str,
    op: Op,
    op_pos: usize,
    values: Vec<Val>,
) -> Result<Expr, FilterError> {
    let unsupported = || {
        error(
            format!(
                "operator {} cannot be used with '{}'",
                op.name(),
                clip(name)
            ),
            op_pos,
        )
    };
    let leaves: Vec<Leaf> = match field.kind() {
        Kind::Str => {
            let text = |v: &Val| -> Result<String, FilterError> {
                if v.is_null() {
                    return Err(error("null cannot be compared with a string field", v.pos));
                }
                Ok(v.text().to_string())
            };
            let one = || text(&values[0]);
            vec![Leaf::Str(match op {
                Op::Eq => StrTest::Eq(one()?),
                Op::Ne => StrTest::Ne(one()?),
                Op::Like => StrTest::Contains(one()?),
                Op::In | Op::NotIn => {
                    let list = values
                        .iter()
                        .map(|v| {
                            if v.is_null() || v.text() == "null" {
                                Ok(None)
                            } else {
                                text(v).map(Some)
                            }
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    if op == Op::In {
                        StrTest::In(list)
                    } else {
                        StrTest::Nin(list)
                    }
                }
                Op::Lt | Op::Le | Op::Gt | Op::Ge => return Err(unsupported()),
            })]
        }
        Kind::Num => {
            let num =
                |v: &Val| -> Result<Option<i64>, FilterError> {
                    if v.is_null() {
                        return Ok(None);
                    }
                    v.text().trim().parse::<i64>().map(Some).map_err(|_| {
                        error(format!("'{}' is not an integer", clip(v.text())), v.pos)
                    })
                };
            let int = |v: &Val| -> Result<i64, FilterError> {
                num(v)?.ok_or_else(|| error("null cannot be ordered", v.pos))
            };
            match op {
                Op::Eq => vec![Leaf::Num(NumTest::Eq(num(&values[0])?))],
                Op::Ne => vec![Leaf::Num(NumTest::Ne(num(&values[0])?))],
                Op::Lt => vec![Leaf::Num(NumTest::Lt(int(&values[0])?))],
                Op::Le => vec![Leaf::Num(NumTest::Lte(int(&values[0])?))],
                Op::Gt => vec![Leaf::Num(NumTest::Gt(int(&values[0])?))],
                Op::Ge => vec![Leaf::Num(NumTest::Gte(int(&values[0])?))],
                Op::In => {
                    let leaves = values
                        .iter()
                        .map(|v| Ok(Leaf::Num(NumTest::Eq(num(v)?))))
                        .collect::<Result<Vec<_>, FilterError>>()?;
                    return Ok(place(field, Combine::Any, leaves));
                }
                Op::NotIn => values
                    .iter()
                    .map(|v| Ok(Leaf::Num(NumTest::Ne(num(v)?))))
                    .collect::<Result<_, FilterError>>()?,
                Op::Like => return Err(unsupported()),
            }
        }
        Kind::Date => {
            if matches!(op, Op::In | Op::NotIn | Op::Like) {
                return Err(unsupported());
            }
            let v = &values[0];
            let d = parse_date(v.text())
                .ok_or_else(|| error(format!("'{}' is not a date", clip(v.text())), v.pos))?;
            vec![Leaf::Date(match op {
                Op::Eq => DateTest::Eq(d),
                Op::Ne => DateTest::Ne(d),
                Op::Lt => DateTest::Lt(d),
                Op::Le => DateTest::Lte(d),
                Op::Gt => DateTest::Gt(d),
                Op::Ge => DateTest::Gte(d),
                Op::In | Op::NotIn | Op::Like => return Err(unsupported()),
            })]
        }
        Kind::Bool => {
            if !matches!(op, Op::Eq | Op::Ne) {
                return Err(unsupported());
            }
            let v = &values[0];
            let b = match v.text().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(error(
                        format!("'{}' is not true or false", clip(v.text())),
                        v.pos,
                    ))
                }
            };
            vec![Leaf::Bool(match op {
                Op::Eq => BoolTest::Eq(b),
                Op::Ne => BoolTest::Ne(b),
                _ => return Err(unsupported()),
            })]
        }
        Kind::Array | Kind::Severity => {
            let list: Vec<String> = values
                .iter()
                .filter(|v| !v.is_null() && v.text() != "null")
                .map(|v| v.text().to_string())
                .collect();
            vec![Leaf::Array(match op {
                Op::In | Op::Eq => ArrayTest::In(list),
                Op::NotIn | Op::Ne => ArrayTest::Nin(list),
                Op::Lt | Op::Le | Op::Gt | Op::Ge if field.kind() == Kind::Severity => {
                    let v = &values[0];
                    let pivot: Severity = v.text().to_ascii_lowercase().parse().map_err(|_| {
                        error(format!("'{}' is not a severity", clip(v.text())), v.pos)
                    })?;
                    let keep = |s: Severity| match op {
                        Op::Lt => s < pivot,
                        Op::Le => s <= pivot,
                        Op::Gt => s > pivot,
                        _ => s >= pivot,
                    };
                    ArrayTest::In(
                        Severity::ALL
                            .into_iter()
                            .filter(|&s| keep(s))
                            .map(|s| s.as_str().to_string())
                            .collect(),
                    )
                }
                _ => return Err(unsupported()),
            })]
        }
    };
    Ok(place(field, Combine::All, leaves))
}

enum Combine {
    All,
    Any,
}

/// Puts the leaves of one comparison at their level: root fields directly, source fields in one
/// `sources $elemMatch` per comparison.
fn place(field: Field, combine: Combine, leaves: Vec<Leaf>) -> Expr {
    fn group<C>(mut items: Vec<Expr<C>>, combine: Combine) -> Expr<C> {
        match (items.len(), combine) {
            (1, _) => items.pop().expect("one element"),
            (_, Combine::All) => Expr::And(items),
            (_, Combine::Any) => Expr::Or(items),
        }
    }
    let is_source = matches!(
        field,
        Field::Source
            | Field::Comments
            | Field::ExtendedInformation
            | Field::Reputation
            | Field::SourceInternalHits
            | Field::SourceExternalHits
            | Field::FirstSeen
            | Field::LastSeen
            | Field::Severity
            | Field::Tags
            | Field::Retracted
    );
    if is_source {
        let conds = leaves
            .into_iter()
            .map(|l| Expr::Cond(source_cond(field, l)))
            .collect();
        Expr::Cond(Cond::Sources(group(conds, combine)))
    } else {
        let conds = leaves
            .into_iter()
            .map(|l| Expr::Cond(root_cond(field, l)))
            .collect();
        group(conds, combine)
    }
}

fn root_cond(field: Field, leaf: Leaf) -> Cond {
    match (field, leaf) {
        (Field::Value, Leaf::Str(t)) => Cond::Value(t),
        (Field::Type, Leaf::Str(t)) => Cond::Type(t),
        (Field::Test, Leaf::Bool(t)) => Cond::Test(t),
        (Field::Safe, Leaf::Bool(t)) => Cond::Safe(t),
        (Field::Active, Leaf::Bool(t)) => Cond::Active(t),
        (Field::InternalHits, Leaf::Num(t)) => Cond::InternalHits(t),
        (Field::ExternalHits, Leaf::Num(t)) => Cond::ExternalHits(t),
        (Field::ExpiresAt, Leaf::Date(t)) => Cond::ExpiresAt(t),
        (Field::SharedWith, Leaf::Array(t)) => Cond::SharedWith(t),
        _ => unreachable!("field kinds and leaves are built together"),
    }
}

fn source_cond(field: Field, leaf: Leaf) -> SourceCond {
    match (field, leaf) {
        (Field::Source, Leaf::Str(t)) => SourceCond::Source(t),
        (Field::Comments, Leaf::Str(t)) => SourceCond::Comments(t),
        (Field::ExtendedInformation, Leaf::Str(t)) => SourceCond::ExtendedInformation(t),
        (Field::Reputation, Leaf::Num(t)) => SourceCond::Reputation(t),
        (Field::SourceInternalHits, Leaf::Num(t)) => SourceCond::InternalHits(t),
        (Field::SourceExternalHits, Leaf::Num(t)) => SourceCond::ExternalHits(t),
        (Field::FirstSeen, Leaf::Date(t)) => SourceCond::FirstSeen(t),
        (Field::LastSeen, Leaf::Date(t)) => SourceCond::LastSeen(t),
        (Field::Severity, Leaf::Array(t)) => SourceCond::Severity(t),
        (Field::Tags, Leaf::Array(t)) => SourceCond::Tags(t),
        (Field::Retracted, Leaf::Bool(t)) => SourceCond::Retracted(t),
        _ => unreachable!("field kinds and leaves are built together"),
    }
}
