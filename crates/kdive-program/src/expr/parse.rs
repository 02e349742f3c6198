//! The lexer and the precedence-climbing parser of C expressions.

use std::fmt;

/// Deepest nesting of parentheses and unary operators accepted (the parser recurses).
const MAX_DEPTH: usize = 256;
/// Longest expression accepted, in bytes.
const MAX_LEN: usize = 1 << 16;

/// A type as written in a cast, `sizeof` or `offsetof`: its base (`struct rq`,
/// `unsigned long`, `u64`), how many `*` follow, and for a function pointer its declarator
/// (`void (*)(void)`: base `void`, no stars, a declarator of one star and no parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeName {
    pub base: String,
    pub stars: u32,
    pub function: Option<FunctionDeclarator>,
}

/// The `(*)(PARAMS)` of a function pointer type: the pointer's stars and the parameters'
/// types (`(void)` is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDeclarator {
    pub stars: u32,
    pub params: Vec<TypeName>,
    /// The parameters end with `...`.
    pub variadic: bool,
}

impl TypeName {
    /// A plain (not function pointer) type: `base` and `stars` stars.
    pub fn new(base: impl Into<String>, stars: u32) -> TypeName {
        TypeName {
            base: base.into(),
            stars,
            function: None,
        }
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)?;
        if self.stars > 0 {
            write!(f, " {}", "*".repeat(self.stars as usize))?;
        }
        if let Some(d) = &self.function {
            let mut params: Vec<String> = d.params.iter().map(|p| p.to_string()).collect();
            if d.variadic {
                params.push("...".into());
            }
            if params.is_empty() {
                params.push("void".into());
            }
            write!(
                f,
                " ({})({})",
                "*".repeat(d.stars as usize),
                params.join(", ")
            )?;
        }
        Ok(())
    }
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `+x`
    Plus,
    /// `!x`
    Not,
    /// `~x`
    BitNot,
    /// `*p`
    Deref,
    /// `&x`
    AddrOf,
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    Shl,
    Shr,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
    BitAnd,
    BitXor,
    BitOr,
    And,
    Or,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// An integer literal (`42`, `0x1f`, `017`; `u`/`l` suffixes allowed).
    Int(u64),
    /// A character literal (`'a'`, `'\n'`, `'\0'`).
    Char(u8),
    /// A string literal.
    Str(Vec<u8>),
    /// A variable, function or enum constant.
    Ident(String),
    /// `e.name`, or `e->name` when `arrow`.
    Member {
        base: Box<Expr>,
        name: String,
        arrow: bool,
    },
    /// `e[i]`
    Index(Box<Expr>, Box<Expr>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `c ? a : b`
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `(type) e`
    Cast(TypeName, Box<Expr>),
    /// `sizeof(type)`
    SizeofType(TypeName),
    /// `sizeof e`
    SizeofExpr(Box<Expr>),
    /// `offsetof(type, member.path)`
    Offsetof(TypeName, String),
}

/// Why text is not an expression: what was wrong and at which byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{msg} at column {}", .pos + 1)]
pub struct ParseError {
    pub pos: usize,
    pub msg: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Int(u64),
    Char(u8),
    Str(Vec<u8>),
    Ident(String),
    Punct(&'static str),
}

/// Punctuators, longest first so that `->` wins over `-`.
const PUNCTS: &[&str] = &[
    "->", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "+", "-", "*", "/", "%", "&", "|", "^",
    "~", "!", "(", ")", "[", "]", "...", ".", ",", "?", ":", "<", ">",
];

/// Words that start a type (besides `struct`/`union`/`enum` and typedef names).
const BASE_WORDS: &[&str] = &[
    "unsigned", "signed", "char", "short", "int", "long", "void", "_Bool", "float", "double",
    "const", "volatile",
];

fn err<T>(pos: usize, msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        pos,
        msg: msg.into(),
    })
}

fn lex(text: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    if text.len() > MAX_LEN {
        return err(MAX_LEN, "expression too long");
    }
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((start, Tok::Int(number(&text[start..i], start)?)));
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                i += 1;
            }
            out.push((start, Tok::Ident(text[start..i].to_string())));
        } else if c == b'\'' {
            let (v, next) = escaped(b, i + 1)?;
            if b.get(next) != Some(&b'\'') {
                return err(start, "unterminated character literal");
            }
            out.push((start, Tok::Char(v)));
            i = next + 1;
        } else if c == b'"' {
            let mut s = Vec::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return err(start, "unterminated string"),
                    Some(b'"') => break,
                    Some(_) => {
                        let (v, next) = escaped(b, i)?;
                        s.push(v);
                        i = next;
                    }
                }
            }
            i += 1;
            out.push((start, Tok::Str(s)));
        } else {
            let Some(p) = PUNCTS.iter().find(|p| b[i..].starts_with(p.as_bytes())) else {
                return err(start, format!("unexpected character '{}'", char::from(c)));
            };
            i += p.len();
            out.push((start, Tok::Punct(p)));
        }
    }
    Ok(out)
}

/// A C integer literal: decimal, `0x` hex, `0` octal, `0b` binary; `u`, `l` suffixes; and
/// crash's `k`, `m`, `g` multipliers (`4k` is 4096).
fn number(word: &str, pos: usize) -> Result<u64, ParseError> {
    let lower = word.to_ascii_lowercase();
    let (lower, factor) = match lower.as_bytes().last() {
        Some(b'k') => (&lower[..lower.len() - 1], 1u64 << 10),
        Some(b'm') => (&lower[..lower.len() - 1], 1 << 20),
        Some(b'g') => (&lower[..lower.len() - 1], 1 << 30),
        _ => (lower.as_str(), 1),
    };
    let digits = lower.trim_end_matches(['u', 'l']);
    let (radix, body) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(b) = digits.strip_prefix("0b") {
        (2, b)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    u64::from_str_radix(body, radix)
        .ok()
        .and_then(|v| v.checked_mul(factor))
        .map_or_else(|| err(pos, format!("invalid number '{word}'")), Ok)
}

/// One character of a literal at `b[i]`, with C's escapes; the value and the next index.
fn escaped(b: &[u8], i: usize) -> Result<(u8, usize), ParseError> {
    match b.get(i) {
        None => err(i, "unterminated literal"),
        Some(b'\\') => {
            let Some(&e) = b.get(i + 1) else {
                return err(i, "unterminated escape");
            };
            let simple = match e {
                b'n' => Some(b'\n'),
                b't' => Some(b'\t'),
                b'r' => Some(b'\r'),
                b'a' => Some(7),
                b'b' => Some(8),
                b'f' => Some(12),
                b'v' => Some(11),
                b'e' => Some(27),
                b'\\' | b'\'' | b'"' | b'?' => Some(e),
                _ => None,
            };
            if let Some(v) = simple {
                return Ok((v, i + 2));
            }
            let (radix, first, max) = match e {
                b'x' => (16, i + 2, usize::MAX),
                b'0'..=b'7' => (8, i + 1, 3),
                _ => return err(i, format!("unknown escape '\\{}'", char::from(e))),
            };
            let mut j = first;
            let mut v: u32 = 0;
            while j < b.len() && j - first < max && char::from(b[j]).is_digit(radix) {
                v = v
                    .wrapping_mul(radix)
                    .wrapping_add(char::from(b[j]).to_digit(radix).unwrap_or(0));
                j += 1;
            }
            if j == first {
                return err(i, "escape without digits");
            }
            Ok((v as u8, j))
        }
        Some(&c) => Ok((c, i + 1)),
    }
}

struct Parser<'a> {
    toks: Vec<(usize, Tok)>,
    at: usize,
    end: usize,
    depth: usize,
    is_type: &'a dyn Fn(&str) -> bool,
}

/// Parses `text` as one C expression. `is_type` says whether an identifier names a type (a
/// typedef), which decides whether `(name)` starts a cast.
pub fn parse(text: &str, is_type: &dyn Fn(&str) -> bool) -> Result<Expr, ParseError> {
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        at: 0,
        end: text.len(),
        depth: 0,
        is_type,
    };
    if p.toks.is_empty() {
        return err(0, "empty expression");
    }
    let e = p.expr()?;
    match p.toks.get(p.at) {
        None => Ok(e),
        Some((pos, t)) => err(*pos, format!("unexpected {}", describe(t))),
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Int(v) => format!("number {v}"),
        Tok::Char(_) => "character literal".into(),
        Tok::Str(_) => "string".into(),
        Tok::Ident(s) => format!("'{s}'"),
        Tok::Punct(p) => format!("'{p}'"),
    }
}

/// Binary operators by precedence level, loosest first.
const LEVELS: &[&[(&str, BinOp)]] = &[
    &[("||", BinOp::Or)],
    &[("&&", BinOp::And)],
    &[("|", BinOp::BitOr)],
    &[("^", BinOp::BitXor)],
    &[("&", BinOp::BitAnd)],
    &[("==", BinOp::Eq), ("!=", BinOp::Ne)],
    &[
        ("<", BinOp::Lt),
        (">", BinOp::Gt),
        ("<=", BinOp::Le),
        (">=", BinOp::Ge),
    ],
    &[("<<", BinOp::Shl), (">>", BinOp::Shr)],
    &[("+", BinOp::Add), ("-", BinOp::Sub)],
    &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
];

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(_, t)| t)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.at + n).map(|(_, t)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.at).map_or(self.end, |(p, _)| *p)
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }

    fn eat(&mut self, p: &str) -> bool {
        let yes = self.is_punct(p);
        if yes {
            self.at += 1;
        }
        yes
    }

    fn expect(&mut self, p: &str) -> Result<(), ParseError> {
        if self.eat(p) {
            return Ok(());
        }
        match self.peek() {
            Some(t) => err(self.pos(), format!("expected '{p}', found {}", describe(t))),
            None => err(self.end, format!("expected '{p}' at the end")),
        }
    }

    fn ident(&mut self) -> Result<String, ParseError> {
        match self.peek().cloned() {
            Some(Tok::Ident(s)) => {
                self.at += 1;
                Ok(s)
            }
            Some(t) => err(
                self.pos(),
                format!("expected a name, found {}", describe(&t)),
            ),
            None => err(self.end, "expected a name at the end"),
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(self.pos(), "expression nested too deeply");
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let c = self.binary(0)?;
        let e = if self.eat("?") {
            let a = self.expr()?;
            self.expect(":")?;
            let b = self.expr()?;
            Expr::Cond(Box::new(c), Box::new(a), Box::new(b))
        } else {
            c
        };
        self.depth -= 1;
        Ok(e)
    }

    fn binary(&mut self, level: usize) -> Result<Expr, ParseError> {
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut lhs = self.binary(level + 1)?;
        loop {
            let op = match self.peek() {
                Some(Tok::Punct(p)) => ops.iter().find(|(s, _)| s == p).map(|(_, op)| *op),
                _ => None,
            };
            let Some(op) = op else { return Ok(lhs) };
            self.at += 1;
            let rhs = self.binary(level + 1)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
    }

    /// Whether the tokens from `self.at` start a type name.
    fn type_starts(&self, n: usize) -> bool {
        match self.peek_at(n) {
            Some(Tok::Ident(w)) => {
                matches!(w.as_str(), "struct" | "union" | "enum")
                    || BASE_WORDS.contains(&w.as_str())
                    || (self.is_type)(w)
            }
            _ => false,
        }
    }

    fn type_name(&mut self) -> Result<TypeName, ParseError> {
        let mut words: Vec<String> = Vec::new();
        let first = self.ident()?;
        match first.as_str() {
            "struct" | "union" | "enum" => {
                let name = self.ident()?;
                words.push(format!("{first} {name}"));
            }
            w if BASE_WORDS.contains(&w) => {
                words.push(first);
                while let Some(Tok::Ident(w)) = self.peek() {
                    if !BASE_WORDS.contains(&w.as_str()) {
                        break;
                    }
                    words.push(w.clone());
                    self.at += 1;
                }
            }
            _ => words.push(first),
        }
        let mut stars = 0;
        while self.eat("*") {
            stars += 1;
            // `char * const` and the like
            while matches!(self.peek(), Some(Tok::Ident(w)) if w == "const" || w == "volatile") {
                self.at += 1;
            }
        }
        let base = words
            .into_iter()
            .filter(|w| w != "const" && w != "volatile")
            .collect::<Vec<_>>()
            .join(" ");
        if base.is_empty() {
            return err(self.pos(), "a type needs a name besides its qualifiers");
        }
        let function = if self.is_punct("(") && matches!(self.peek_at(1), Some(Tok::Punct("*"))) {
            Some(self.function_declarator()?)
        } else {
            None
        };
        Ok(TypeName {
            base,
            stars,
            function,
        })
    }

    /// `(*)(PARAMS)` after a function pointer's return type.
    fn function_declarator(&mut self) -> Result<FunctionDeclarator, ParseError> {
        self.enter()?;
        self.expect("(")?;
        let mut stars = 0;
        while self.eat("*") {
            stars += 1;
        }
        self.expect(")")?;
        self.expect("(")?;
        let (mut params, mut variadic) = (Vec::new(), false);
        let void_alone = matches!(self.peek(), Some(Tok::Ident(w)) if w == "void")
            && matches!(self.peek_at(1), Some(Tok::Punct(")")));
        if void_alone {
            self.at += 1;
        }
        if !void_alone && !self.is_punct(")") {
            loop {
                if self.eat("...") {
                    variadic = true;
                    break;
                }
                if !self.type_starts(0) {
                    return err(self.pos(), "a parameter's type expected");
                }
                params.push(self.type_name()?);
                // a parameter's name is allowed, and left out
                if matches!(self.peek(), Some(Tok::Ident(_))) {
                    self.at += 1;
                }
                if !self.eat(",") {
                    break;
                }
            }
        }
        self.expect(")")?;
        self.depth -= 1;
        Ok(FunctionDeclarator {
            stars,
            params,
            variadic,
        })
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let e = self.unary_inner()?;
        self.depth -= 1;
        Ok(e)
    }

    fn unary_inner(&mut self) -> Result<Expr, ParseError> {
        let op = match self.peek() {
            Some(Tok::Punct("-")) => Some(UnOp::Neg),
            Some(Tok::Punct("+")) => Some(UnOp::Plus),
            Some(Tok::Punct("!")) => Some(UnOp::Not),
            Some(Tok::Punct("~")) => Some(UnOp::BitNot),
            Some(Tok::Punct("*")) => Some(UnOp::Deref),
            Some(Tok::Punct("&")) => Some(UnOp::AddrOf),
            _ => None,
        };
        if let Some(op) = op {
            self.at += 1;
            return Ok(Expr::Unary(op, Box::new(self.unary()?)));
        }
        if matches!(self.peek(), Some(Tok::Ident(w)) if w == "sizeof") {
            self.at += 1;
            if self.is_punct("(") && self.type_starts(1) {
                self.at += 1;
                let t = self.type_name()?;
                self.expect(")")?;
                return Ok(Expr::SizeofType(t));
            }
            return Ok(Expr::SizeofExpr(Box::new(self.unary()?)));
        }
        if self.is_punct("(") && self.type_starts(1) {
            self.at += 1;
            let t = self.type_name()?;
            self.expect(")")?;
            return Ok(Expr::Cast(t, Box::new(self.unary()?)));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.primary()?;
        loop {
            if self.eat(".") {
                let name = self.ident()?;
                e = Expr::Member {
                    base: Box::new(e),
                    name,
                    arrow: false,
                };
            } else if self.eat("->") {
                let name = self.ident()?;
                e = Expr::Member {
                    base: Box::new(e),
                    name,
                    arrow: true,
                };
            } else if self.eat("[") {
                let i = self.expr()?;
                self.expect("]")?;
                e = Expr::Index(Box::new(e), Box::new(i));
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let pos = self.pos();
        let Some(t) = self.peek().cloned() else {
            return err(self.end, "expression ends too early");
        };
        self.at += 1;
        match t {
            Tok::Int(v) => Ok(Expr::Int(v)),
            Tok::Char(c) => Ok(Expr::Char(c)),
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Ident(w) if w == "offsetof" => {
                self.expect("(")?;
                let t = self.type_name()?;
                self.expect(",")?;
                let mut path = self.ident()?;
                while self.eat(".") {
                    path.push('.');
                    path.push_str(&self.ident()?);
                }
                self.expect(")")?;
                Ok(Expr::Offsetof(t, path))
            }
            Tok::Ident(w) => Ok(Expr::Ident(w)),
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Punct(p) => err(pos, format!("unexpected '{p}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Expr {
        parse(text, &|w| w == "u64" || w == "pid_t").unwrap()
    }

    fn int(v: u64) -> Box<Expr> {
        Box::new(Expr::Int(v))
    }

    fn id(s: &str) -> Box<Expr> {
        Box::new(Expr::Ident(s.into()))
    }

    #[test]
    fn precedence_follows_c() {
        // * binds tighter than +, + tighter than <<, << tighter than &
        assert_eq!(
            p("1 + 2 * 3"),
            Expr::Binary(
                BinOp::Add,
                int(1),
                Box::new(Expr::Binary(BinOp::Mul, int(2), int(3)))
            )
        );
        assert_eq!(
            p("1 << 2 + 3"),
            Expr::Binary(
                BinOp::Shl,
                int(1),
                Box::new(Expr::Binary(BinOp::Add, int(2), int(3)))
            )
        );
        assert_eq!(
            p("a & 1 == 1"),
            Expr::Binary(
                BinOp::BitAnd,
                id("a"),
                Box::new(Expr::Binary(BinOp::Eq, int(1), int(1)))
            )
        );
        // left associative
        assert_eq!(
            p("8 - 4 - 2"),
            Expr::Binary(
                BinOp::Sub,
                Box::new(Expr::Binary(BinOp::Sub, int(8), int(4))),
                int(2)
            )
        );
        assert_eq!(
            p("a || b && c"),
            Expr::Binary(
                BinOp::Or,
                id("a"),
                Box::new(Expr::Binary(BinOp::And, id("b"), id("c")))
            )
        );
    }

    #[test]
    fn postfix_binds_tighter_than_unary() {
        // &init_task.comm is &(init_task.comm); *p->next is *(p->next)
        assert_eq!(
            p("&init_task.comm"),
            Expr::Unary(
                UnOp::AddrOf,
                Box::new(Expr::Member {
                    base: id("init_task"),
                    name: "comm".into(),
                    arrow: false
                })
            )
        );
        assert_eq!(
            p("*p->next[2]"),
            Expr::Unary(
                UnOp::Deref,
                Box::new(Expr::Index(
                    Box::new(Expr::Member {
                        base: id("p"),
                        name: "next".into(),
                        arrow: true
                    }),
                    int(2)
                ))
            )
        );
    }

    #[test]
    fn casts_and_parenthesised_expressions() {
        let t = |base: &str, stars| TypeName::new(base, stars);
        assert_eq!(
            p("(struct rq *)0xffff8e119a331980"),
            Expr::Cast(t("struct rq", 1), int(0xffff8e119a331980))
        );
        assert_eq!(
            p("*(unsigned long *)&jiffies"),
            Expr::Unary(
                UnOp::Deref,
                Box::new(Expr::Cast(
                    t("unsigned long", 1),
                    Box::new(Expr::Unary(UnOp::AddrOf, id("jiffies")))
                ))
            )
        );
        // a typedef name makes a cast, any other name a parenthesised expression
        assert_eq!(p("(u64)x"), Expr::Cast(t("u64", 0), id("x")));
        assert_eq!(p("(x)"), Expr::Ident("x".into()));
        assert_eq!(
            p("((struct task_struct *)p)->pid"),
            Expr::Member {
                base: Box::new(Expr::Cast(t("struct task_struct", 1), id("p"))),
                name: "pid".into(),
                arrow: true
            }
        );
        assert_eq!(
            p("sizeof(struct task_struct)"),
            Expr::SizeofType(t("struct task_struct", 0))
        );
        assert_eq!(p("sizeof x"), Expr::SizeofExpr(id("x")));
        assert_eq!(
            p("offsetof(struct task_struct, se.vruntime)"),
            Expr::Offsetof(t("struct task_struct", 0), "se.vruntime".into())
        );
        assert_eq!(p("(const char *)0"), Expr::Cast(t("char", 1), int(0)));
    }

    #[test]
    fn function_pointer_casts() {
        let f = |base: &str, stars, fstars, params: Vec<TypeName>, variadic| TypeName {
            base: base.into(),
            stars,
            function: Some(FunctionDeclarator {
                stars: fstars,
                params,
                variadic,
            }),
        };
        let void_fn = f("void", 0, 1, vec![], false);
        assert_eq!(
            p("(void (*)(void))0xffffffff81000000"),
            Expr::Cast(void_fn.clone(), int(0xffffffff81000000))
        );
        assert_eq!(void_fn.to_string(), "void (*)(void)");
        let read = f(
            "long",
            0,
            1,
            vec![
                TypeName::new("struct kiocb", 1),
                TypeName::new("struct iov_iter", 1),
            ],
            false,
        );
        // parameter names are allowed and dropped
        assert_eq!(
            p("(long (*)(struct kiocb *iocb, struct iov_iter *))x"),
            Expr::Cast(read.clone(), id("x"))
        );
        assert_eq!(
            read.to_string(),
            "long (*)(struct kiocb *, struct iov_iter *)"
        );
        let printk = f("int", 0, 2, vec![TypeName::new("char", 1)], true);
        assert_eq!(
            p("*(int (**)(const char *, ...))y"),
            Expr::Unary(UnOp::Deref, Box::new(Expr::Cast(printk.clone(), id("y"))))
        );
        assert_eq!(printk.to_string(), "int (**)(char *, ...)");
        assert_eq!(p("sizeof(void (*)(void))"), Expr::SizeofType(void_fn));
        // malformed declarators are errors, not panics
        for bad in [
            "(void (*)x",
            "(void (*)(void)",
            "(void (*)(1))0",
            "(void (*)(int,))0",
            "(void (*",
            "(void (*)(...",
        ] {
            assert!(parse(bad, &|_| false).is_err(), "{bad}");
        }
    }

    #[test]
    fn literals() {
        assert_eq!(p("0x1F"), Expr::Int(31));
        assert_eq!(p("017"), Expr::Int(15));
        assert_eq!(p("0b101"), Expr::Int(5));
        assert_eq!(p("10UL"), Expr::Int(10));
        assert_eq!(p("4k"), Expr::Int(4096));
        assert_eq!(p("2M"), Expr::Int(2 << 20));
        assert_eq!(p("1g"), Expr::Int(1 << 30));
        assert_eq!(p("'a'"), Expr::Char(b'a'));
        assert_eq!(p(r"'\n'"), Expr::Char(b'\n'));
        assert_eq!(p(r"'\0'"), Expr::Char(0));
        assert_eq!(p(r"'\x41'"), Expr::Char(0x41));
        assert_eq!(p(r#""a\tb""#), Expr::Str(b"a\tb".to_vec()));
        assert_eq!(p("a ? 1 : 2"), Expr::Cond(id("a"), int(1), int(2)));
    }

    #[test]
    fn errors_say_where() {
        let e = |t: &str| parse(t, &|_| false).unwrap_err();
        assert_eq!(e("").msg, "empty expression");
        assert_eq!(e("1 +").pos, 3);
        assert_eq!(e("(1 + 2").msg, "expected ')' at the end");
        assert_eq!(e("1 2").msg, "unexpected number 2");
        assert_eq!(e("a @ b").pos, 2);
        assert_eq!(e("0xzz").msg, "invalid number '0xzz'");
        assert_eq!(
            e("99999999999999999999").msg,
            "invalid number '99999999999999999999'"
        );
        assert_eq!(e("'a").msg, "unterminated character literal");
        assert_eq!(e("a.").msg, "expected a name at the end");
        assert_eq!(e("(struct)x").msg, "expected a name, found ')'");
        assert!(e(&"(".repeat(10_000)).msg.contains("too deeply"));
        assert_eq!(
            e("1 +").to_string(),
            "expression ends too early at column 4"
        );
    }
}
