//! CPLEX LP format, the subset for binary programs (read by HiGHS, Gurobi, CPLEX, SCIP,
//! dimod).
//!
//! Sections (case-insensitive, each starting a line, optionally followed by content on the
//! same line): `Minimize`/`Maximize` (also `min`, `max`, `minimum`, `maximum`),
//! `Subject To` (also `st`, `s.t.`, `such that`), `Bounds`, `Binary`/`Binaries`/`Bin`,
//! `General`/`Generals`/`Gen`, `End`. `\` starts a comment. Objective: `[name:] terms`, with
//! an optional constant and quadratic terms in `[ ... ] / 2` (`x * y`, `x ^ 2`; without
//! `/ 2` the bracket's coefficients are taken as written). Constraints:
//! `[name:] terms (<=|=|>=|<|>|=<|=>) number`, over one or more lines; unnamed ones are called
//! `R1`, `R2`, ... by row. Bounds may only keep variables within `0..1`.
//!
//! Refused with `file:line` errors: variables not declared `Binary` (continuous) or
//! `General` with bounds beyond `0..1`; fixed variables; SOS, semi-continuous and other
//! sections; quadratic constraints; ranged constraints; non-finite numbers; duplicate
//! constraint names; anything that does not parse.
//!
//! Variables are numbered in declaration order (`Binary` first, then `General`). Reading
//! marks every `sum x = 1` constraint with unit coefficients over variables not yet grouped
//! as a one-hot group ([`ConstrainedModel::detect_one_hot`]).

use super::{Cmp, ConstrainedModel, CqmError, Sense};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Plus,
    Minus,
    Star,
    Caret,
    Slash,
    LBracket,
    RBracket,
    Colon,
    Cmp(Cmp),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Num(x) => format!("number {x}"),
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Plus => "`+`".into(),
            Tok::Minus => "`-`".into(),
            Tok::Star => "`*`".into(),
            Tok::Caret => "`^`".into(),
            Tok::Slash => "`/`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Cmp(c) => format!("`{c}`"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    None,
    Objective,
    Constraints,
    Bounds,
    Binary,
    General,
    End,
}

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn err(&self, line: usize, msg: impl Into<String>) -> CqmError {
        CqmError::Parse {
            file: self.file.to_string(),
            line,
            msg: msg.into(),
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!\"#$%&(),.;?@_`'{}|~/".contains(c)
}

fn tokenize(ctx: &Ctx, line: &str, lineno: usize) -> Result<Vec<Tok>, CqmError> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '+' => out.push(Tok::Plus),
            '-' => out.push(Tok::Minus),
            '*' => out.push(Tok::Star),
            '^' => out.push(Tok::Caret),
            '/' => out.push(Tok::Slash),
            '[' => out.push(Tok::LBracket),
            ']' => out.push(Tok::RBracket),
            ':' => out.push(Tok::Colon),
            '<' | '>' | '=' => {
                let next = chars.get(i + 1).copied();
                let (cmp, len) = match (c, next) {
                    ('<', Some('=')) | ('=', Some('<')) => (Cmp::Le, 2),
                    ('>', Some('=')) | ('=', Some('>')) => (Cmp::Ge, 2),
                    ('<', _) => (Cmp::Le, 1),
                    ('>', _) => (Cmp::Ge, 1),
                    _ => (Cmp::Eq, 1),
                };
                out.push(Tok::Cmp(cmp));
                i += len;
                continue;
            }
            _ if c.is_ascii_digit() || c == '.' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                    let mut j = i + 1;
                    if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                        j += 1;
                    }
                    if j < chars.len() && chars[j].is_ascii_digit() {
                        while j < chars.len() && chars[j].is_ascii_digit() {
                            j += 1;
                        }
                        i = j;
                    }
                }
                let s: String = chars[start..i].iter().collect();
                let x: f64 = s.parse().map_err(|_| ctx.err(lineno, format!("bad number `{s}`")))?;
                if i < chars.len() && is_name_char(chars[i]) && chars[i] != '/' {
                    let mut j = i;
                    while j < chars.len() && is_name_char(chars[j]) {
                        j += 1;
                    }
                    let s: String = chars[start..j].iter().collect();
                    return Err(ctx.err(
                        lineno,
                        format!("bad number or name `{s}` (names may not start with a digit)"),
                    ));
                }
                out.push(Tok::Num(x));
                continue;
            }
            _ if is_name_char(c) => {
                let start = i;
                while i < chars.len() && is_name_char(chars[i]) {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                let lower = s.to_ascii_lowercase();
                if matches!(lower.as_str(), "inf" | "infinity") {
                    out.push(Tok::Num(f64::INFINITY));
                } else if lower == "nan" {
                    return Err(ctx.err(lineno, "NaN is not a number LP files may contain"));
                } else {
                    out.push(Tok::Ident(s));
                }
                continue;
            }
            _ => return Err(ctx.err(lineno, format!("unexpected character `{c}`"))),
        }
        i += 1;
    }
    Ok(out)
}

/// Recognises a section keyword at the start of a line; returns the section and the rest
/// of the line.
fn section_of(line: &str) -> Option<(Result<Section, String>, &str)> {
    let t = line.trim_start();
    let lower = t.to_ascii_lowercase();
    let words = [
        ("subject to", Ok(Section::Constraints)),
        ("such that", Ok(Section::Constraints)),
        ("s.t.", Ok(Section::Constraints)),
        ("st", Ok(Section::Constraints)),
        ("minimize", Ok(Section::Objective)),
        ("minimise", Ok(Section::Objective)),
        ("minimum", Ok(Section::Objective)),
        ("min", Ok(Section::Objective)),
        ("maximize", Ok(Section::Objective)),
        ("maximise", Ok(Section::Objective)),
        ("maximum", Ok(Section::Objective)),
        ("max", Ok(Section::Objective)),
        ("bounds", Ok(Section::Bounds)),
        ("bound", Ok(Section::Bounds)),
        ("binaries", Ok(Section::Binary)),
        ("binary", Ok(Section::Binary)),
        ("bin", Ok(Section::Binary)),
        ("generals", Ok(Section::General)),
        ("general", Ok(Section::General)),
        ("gen", Ok(Section::General)),
        ("end", Ok(Section::End)),
        ("semi-continuous", Err("semi-continuous variables")),
        ("semis", Err("semi-continuous variables")),
        ("semi", Err("semi-continuous variables")),
        ("sos", Err("SOS constraints")),
        ("lazy constraints", Err("lazy constraints")),
        ("user cuts", Err("user cuts")),
        ("pwlobj", Err("piecewise-linear objectives")),
        ("general constraints", Err("general constraints")),
    ];
    for (w, s) in words {
        if lower.starts_with(w) {
            let rest = &t[w.len()..];
            let next = rest.chars().next();
            // a keyword must end the word, and must not be a label (`min: ...` names a row)
            let ends_word = next.is_none_or(|c| c.is_whitespace() || w.ends_with('.'));
            if ends_word && !rest.trim_start().starts_with(':') {
                return Some((
                    s.map_err(|what| format!("{what} are not supported (binary programs only)")),
                    rest,
                ));
            }
        }
    }
    None
}

/// One parsed linear expression with optional quadratic part.
#[derive(Default)]
struct Expr {
    linear: Vec<(String, f64, usize)>,
    quadratic: Vec<(String, String, f64, usize)>,
    constant: f64,
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    ctx: &'a Ctx<'a>,
    last_line: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }
    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k).map(|(t, _)| t)
    }
    fn line(&self) -> usize {
        self.toks
            .get(self.pos)
            .or(self.toks.last())
            .map(|&(_, l)| l)
            .unwrap_or(self.last_line)
    }
    fn next(&mut self) -> Option<(Tok, usize)> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }
    fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }
    fn err(&self, msg: impl Into<String>) -> CqmError {
        self.ctx.err(self.line(), msg)
    }

    /// Optional `name:` label.
    fn label(&mut self) -> Option<(String, usize)> {
        if let (Some(Tok::Ident(name)), Some(Tok::Colon)) = (self.peek(), self.peek_at(1)) {
            let name = name.clone();
            let line = self.line();
            self.pos += 2;
            return Some((name, line));
        }
        None
    }

    fn number(&mut self, what: &str) -> Result<f64, CqmError> {
        let mut sign = 1.0;
        loop {
            match self.peek() {
                Some(Tok::Plus) => self.pos += 1,
                Some(Tok::Minus) => {
                    sign = -sign;
                    self.pos += 1
                }
                _ => break,
            }
        }
        match self.next() {
            Some((Tok::Num(x), _)) => Ok(sign * x),
            Some((t, l)) => Err(self.ctx.err(l, format!("expected {what}, found {}", t.describe()))),
            None => Err(self.err(format!("expected {what}, found the end of the section"))),
        }
    }

    /// Parses terms until a comparison, a label (`name:`) or the end. `allow_quad` for the
    /// objective.
    fn expr(&mut self, allow_quad: bool) -> Result<Expr, CqmError> {
        let mut e = Expr::default();
        let mut first = true;
        loop {
            match self.peek() {
                None | Some(Tok::Cmp(_)) => break,
                Some(Tok::Ident(_)) if matches!(self.peek_at(1), Some(Tok::Colon)) => break,
                _ => {}
            }
            let mut sign = 1.0;
            let mut had_sign = false;
            while let Some(t) = self.peek() {
                match t {
                    Tok::Plus => had_sign = true,
                    Tok::Minus => {
                        had_sign = true;
                        sign = -sign
                    }
                    _ => break,
                }
                self.pos += 1;
            }
            if !first && !had_sign {
                let t = self.peek().map(|t| t.describe()).unwrap_or_default();
                return Err(self.err(format!("expected `+`, `-` or a comparison, found {t}")));
            }
            first = false;
            let line = self.line();
            match self.next() {
                Some((Tok::LBracket, l)) => {
                    if !allow_quad {
                        return Err(self.ctx.err(l, "quadratic constraints are not supported"));
                    }
                    let q = self.quad_bracket(sign)?;
                    e.quadratic.extend(q);
                }
                Some((Tok::Num(x), _)) => {
                    if !x.is_finite() {
                        return Err(self.ctx.err(line, "infinite coefficient"));
                    }
                    let c = sign * x;
                    if let Some(Tok::Ident(_)) = self.peek() {
                        let Some((Tok::Ident(v), l)) = self.next() else {
                            unreachable!()
                        };
                        e.linear.push((v, c, l));
                    } else if let Some(Tok::Star) = self.peek() {
                        return Err(self.err("products belong inside `[ ... ]`"));
                    } else {
                        e.constant += c;
                    }
                }
                Some((Tok::Ident(v), l)) => {
                    if matches!(self.peek(), Some(Tok::Star | Tok::Caret)) {
                        return Err(self.err("quadratic terms must be inside `[ ... ]`"));
                    }
                    e.linear.push((v, sign, l));
                }
                Some((t, l)) => return Err(self.ctx.err(l, format!("expected a term, found {}", t.describe()))),
                None => return Err(self.err("expected a term after the sign")),
            }
        }
        Ok(e)
    }

    /// After `[`: quadratic terms up to `]`, then an optional `/ 2`.
    fn quad_bracket(&mut self, outer: f64) -> Result<Vec<(String, String, f64, usize)>, CqmError> {
        let mut terms = Vec::new();
        let mut first = true;
        loop {
            if let Some(Tok::RBracket) = self.peek() {
                self.pos += 1;
                break;
            }
            let mut sign = 1.0;
            let mut had_sign = false;
            while let Some(t) = self.peek() {
                match t {
                    Tok::Plus => had_sign = true,
                    Tok::Minus => {
                        had_sign = true;
                        sign = -sign
                    }
                    _ => break,
                }
                self.pos += 1;
            }
            if !first && !had_sign {
                return Err(self.err("expected `+` or `-` between quadratic terms"));
            }
            first = false;
            let mut coef = sign;
            if let Some(Tok::Num(x)) = self.peek() {
                if !x.is_finite() {
                    return Err(self.err("infinite coefficient"));
                }
                coef *= *x;
                self.pos += 1;
            }
            let (u, l) = match self.next() {
                Some((Tok::Ident(u), l)) => (u, l),
                Some((t, l)) => {
                    return Err(self
                        .ctx
                        .err(l, format!("expected a variable in `[ ... ]`, found {}", t.describe())));
                }
                None => return Err(self.err("unclosed `[`")),
            };
            match self.next() {
                Some((Tok::Star, _)) => match self.next() {
                    Some((Tok::Ident(v), _)) => terms.push((u, v, coef, l)),
                    _ => return Err(self.ctx.err(l, "expected a variable after `*`")),
                },
                Some((Tok::Caret, _)) => match self.next() {
                    Some((Tok::Num(2.0), _)) => terms.push((u.clone(), u, coef, l)),
                    _ => return Err(self.ctx.err(l, "only `^ 2` is supported")),
                },
                _ => return Err(self.ctx.err(l, "expected `*` or `^` in a quadratic term")),
            }
        }
        let mut scale = outer;
        if let Some(Tok::Slash) = self.peek() {
            self.pos += 1;
            match self.next() {
                Some((Tok::Num(2.0), _)) => scale *= 0.5,
                _ => return Err(self.err("expected `/ 2` after `]`")),
            }
        }
        Ok(terms.into_iter().map(|(u, v, c, l)| (u, v, c * scale, l)).collect())
    }
}

struct Row {
    name: Option<String>,
    expr: Expr,
    sense: Cmp,
    rhs: f64,
    line: usize,
}

#[derive(Default, Clone, Copy)]
struct Bound {
    lo: Option<f64>,
    hi: Option<f64>,
    line: usize,
}

/// A section and its tokens with line numbers.
type Chunk = (Section, Vec<(Tok, usize)>, usize);

/// Reads an LP file.
pub fn read_file(path: &Path) -> Result<ConstrainedModel, CqmError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| CqmError::Parse {
        file: name.clone(),
        line: 0,
        msg: format!("cannot read: {e}"),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| CqmError::Parse {
        file: name.clone(),
        line: 0,
        msg: format!("not UTF-8: {e}"),
    })?;
    read_str(&text, &name)
}

/// Reads LP text; `file` names it in errors.
pub fn read_str(text: &str, file: &str) -> Result<ConstrainedModel, CqmError> {
    let ctx = Ctx { file };
    // Split into sections of tokens.
    let mut section = Section::None;
    let mut sense = None;
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut seen = HashSet::new();
    let mut last_line = 0;
    for (k, raw) in text.lines().enumerate() {
        let lineno = k + 1;
        last_line = lineno;
        let line = raw.split('\\').next().unwrap_or("");
        if line.trim().is_empty() {
            continue;
        }
        let mut content = line;
        if let Some((s, rest)) = section_of(line) {
            let s = s.map_err(|m| ctx.err(lineno, m))?;
            if s == Section::Objective {
                let lower = line.trim_start().to_ascii_lowercase();
                sense = Some(if lower.starts_with("max") {
                    Sense::Maximize
                } else {
                    Sense::Minimize
                });
            }
            if section == Section::End {
                return Err(ctx.err(lineno, "text after `End`"));
            }
            if !seen.insert(format!("{s:?}")) && s != Section::End {
                return Err(ctx.err(lineno, format!("section {s:?} appears twice")));
            }
            section = s;
            chunks.push((s, Vec::new(), lineno));
            content = rest;
        } else if section == Section::None {
            let word = line.split_whitespace().next().unwrap_or("");
            return Err(ctx.err(
                lineno,
                format!("unknown section `{word}` (expected Minimize or Maximize)"),
            ));
        } else if section == Section::End {
            return Err(ctx.err(lineno, "text after `End`"));
        }
        let toks = tokenize(&ctx, content, lineno)?;
        // A line of bare words where a new statement would start is an unknown section.
        if matches!(section, Section::Objective | Section::Constraints | Section::Bounds)
            && !toks.is_empty()
            && toks
                .iter()
                .all(|t| matches!(t, Tok::Ident(w) if !w.eq_ignore_ascii_case("free")))
        {
            let cur = &chunks.last().expect("a section").1;
            let at_boundary = match section {
                Section::Objective => cur.iter().any(|(t, _)| !matches!(t, Tok::Colon)) && !ends_with_operator(cur),
                _ => cur.is_empty() || matches!(cur.last(), Some((Tok::Num(_), _))),
            };
            if at_boundary {
                let words: Vec<String> = toks.iter().map(|t| t.describe()).collect();
                return Err(ctx.err(lineno, format!("unknown section {}", words.join(" "))));
            }
        }
        chunks
            .last_mut()
            .expect("a section")
            .1
            .extend(toks.into_iter().map(|t| (t, lineno)));
    }
    let Some(sense) = sense else {
        return Err(ctx.err(last_line, "no `Minimize` or `Maximize` section"));
    };

    let mut objective: Option<Expr> = None;
    let mut rows: Vec<Row> = Vec::new();
    let mut bounds: HashMap<String, Bound> = HashMap::new();
    let mut binary: Vec<(String, usize)> = Vec::new();
    let mut general: Vec<(String, usize)> = Vec::new();
    for (s, toks, _) in chunks {
        let mut p = Parser {
            toks,
            pos: 0,
            ctx: &ctx,
            last_line,
        };
        match s {
            Section::Objective => {
                p.label();
                let e = p.expr(true)?;
                if !p.done() {
                    return Err(p.err(format!(
                        "unexpected {} in the objective",
                        p.peek().map(|t| t.describe()).unwrap_or_default()
                    )));
                }
                objective = Some(e);
            }
            Section::Constraints => {
                while !p.done() {
                    let line = p.line();
                    let name = p.label().map(|(n, _)| n);
                    let e = p.expr(false)?;
                    let sense = match p.next() {
                        Some((Tok::Cmp(c), _)) => c,
                        Some((t, l)) => {
                            return Err(ctx.err(l, format!("expected a comparison, found {}", t.describe())));
                        }
                        None => return Err(ctx.err(line, "constraint without a comparison")),
                    };
                    if e.linear.is_empty() && e.quadratic.is_empty() {
                        return Err(ctx.err(line, "ranged constraints and constant left sides are not supported"));
                    }
                    let rhs_line = p.line();
                    let rhs = p.number("a right-hand side number")?;
                    if !rhs.is_finite() {
                        return Err(ctx.err(rhs_line, "infinite right-hand side"));
                    }
                    if let Some(Tok::Cmp(_)) = p.peek() {
                        return Err(p.err("ranged constraints are not supported"));
                    }
                    if let Some(Tok::Ident(_)) = p.peek()
                        && p.line() == rhs_line
                        && !matches!(p.peek_at(1), Some(Tok::Colon))
                    {
                        return Err(p.err("variables on the right-hand side are not supported"));
                    }
                    rows.push(Row {
                        name,
                        expr: e,
                        sense,
                        rhs,
                        line,
                    });
                }
            }
            Section::Bounds => parse_bounds(&mut p, &mut bounds)?,
            Section::Binary | Section::General => {
                while let Some((t, l)) = p.next() {
                    match t {
                        Tok::Ident(v) => {
                            if s == Section::Binary {
                                binary.push((v, l))
                            } else {
                                general.push((v, l))
                            }
                        }
                        t => return Err(ctx.err(l, format!("expected a variable name, found {}", t.describe()))),
                    }
                }
            }
            Section::End | Section::None => {
                if let Some((t, l)) = p.next() {
                    return Err(ctx.err(l, format!("unexpected {}", t.describe())));
                }
            }
        }
    }

    // Variables: declared in order of first appearance anywhere.
    let mut m = ConstrainedModel::new(sense);
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut note = |v: &str, l: usize, first_line: &mut HashMap<String, usize>| {
        if !first_line.contains_key(v) {
            first_line.insert(v.to_string(), l);
            order.push(v.to_string());
        }
    };
    // Declared variables first, in declaration order (so written files read back with the
    // same indices), then any undeclared ones (an error below).
    for (v, l) in binary.iter().chain(&general) {
        note(v, *l, &mut first_line);
    }
    let obj = objective.unwrap_or_default();
    for (v, _, l) in &obj.linear {
        note(v, *l, &mut first_line);
    }
    for (u, v, _, l) in &obj.quadratic {
        note(u, *l, &mut first_line);
        note(v, *l, &mut first_line);
    }
    for r in &rows {
        for (v, _, l) in &r.expr.linear {
            note(v, *l, &mut first_line);
        }
    }
    for (v, b) in &bounds {
        note(v, b.line, &mut first_line);
    }
    let binary_set: HashSet<&str> = binary.iter().map(|(v, _)| v.as_str()).collect();
    let general_set: HashSet<&str> = general.iter().map(|(v, _)| v.as_str()).collect();
    for v in &order {
        let line = first_line[v];
        let b = bounds.get(v).copied().unwrap_or_default();
        let lo = b.lo.unwrap_or(0.0);
        if binary_set.contains(v.as_str()) {
            // binary: bounds may only restate 0..1
        } else if general_set.contains(v.as_str()) {
            let hi = b.hi.unwrap_or(f64::INFINITY);
            if lo < 0.0 || hi > 1.0 {
                return Err(ctx.err(
                    line,
                    format!("general integer `{v}` has bounds [{lo}, {hi}] beyond 0..1 (binary variables only)"),
                ));
            }
        } else {
            return Err(ctx.err(
                line,
                format!("variable `{v}` is not declared Binary (continuous variables are not supported)"),
            ));
        }
        let hi = b.hi.unwrap_or(1.0).min(1.0);
        let lo = lo.max(0.0);
        if lo > 0.0 || hi < 1.0 {
            return Err(ctx.err(
                b.line.max(line),
                format!("bounds [{lo}, {hi}] fix or empty binary `{v}` (not supported)"),
            ));
        }
        m.add_variable(v).map_err(|e| ctx.err(line, e.to_string()))?;
    }
    let index: HashMap<&str, usize> = order.iter().enumerate().map(|(i, v)| (v.as_str(), i)).collect();
    let idx = |v: &str| index[v];
    let lin: Vec<(usize, f64)> = obj.linear.iter().map(|(v, c, _)| (idx(v), *c)).collect();
    let quad: Vec<(usize, usize, f64)> = obj.quadratic.iter().map(|(u, v, q, _)| (idx(u), idx(v), *q)).collect();
    for (v, c) in lin {
        m.add_linear(v, c);
    }
    for (u, v, q) in quad {
        m.add_quadratic(u, v, q);
    }
    m.add_offset(obj.constant);
    let explicit: HashSet<String> = rows.iter().filter_map(|r| r.name.clone()).collect();
    for (k, r) in rows.iter().enumerate() {
        let name = match &r.name {
            Some(n) => n.clone(),
            None => {
                let mut n = format!("R{}", k + 1);
                while explicit.contains(&n) || m.constraint_index(&n).is_some() {
                    n.push('_');
                }
                n
            }
        };
        if m.constraint_index(&name).is_some() {
            return Err(ctx.err(r.line, format!("duplicate constraint name `{name}`")));
        }
        let terms: Vec<(usize, f64)> = r.expr.linear.iter().map(|(v, c, _)| (idx(v), *c)).collect();
        let rhs = r.rhs - r.expr.constant;
        m.add_constraint(&name, terms, r.sense, rhs)
            .map_err(|e| ctx.err(r.line, e.to_string()))?;
    }
    m.detect_one_hot();
    Ok(m)
}

fn ends_with_operator(toks: &[(Tok, usize)]) -> bool {
    matches!(
        toks.last(),
        Some((
            Tok::Plus | Tok::Minus | Tok::Star | Tok::Caret | Tok::Slash | Tok::LBracket | Tok::Colon,
            _
        ))
    )
}

fn parse_bounds(p: &mut Parser, bounds: &mut HashMap<String, Bound>) -> Result<(), CqmError> {
    while !p.done() {
        let line = p.line();
        // forms: x free | x (cmp) num | num (cmp) x [(cmp) num]
        let set = |v: &str, cmp: Cmp, x: f64, var_left: bool, bounds: &mut HashMap<String, Bound>| {
            let b = bounds.entry(v.to_string()).or_default();
            b.line = line;
            let cmp = if var_left {
                cmp
            } else {
                match cmp {
                    Cmp::Le => Cmp::Ge,
                    Cmp::Ge => Cmp::Le,
                    Cmp::Eq => Cmp::Eq,
                }
            };
            match cmp {
                Cmp::Le => b.hi = Some(x),
                Cmp::Ge => b.lo = Some(x),
                Cmp::Eq => {
                    b.lo = Some(x);
                    b.hi = Some(x)
                }
            }
        };
        if let Some(Tok::Ident(v)) = p.peek().cloned() {
            p.pos += 1;
            if let Some(Tok::Ident(w)) = p.peek()
                && w.eq_ignore_ascii_case("free")
            {
                return Err(p.err(format!("free variable `{v}` (binary variables only)")));
            }
            let cmp = match p.next() {
                Some((Tok::Cmp(c), _)) => c,
                _ => return Err(p.ctx.err(line, format!("expected a bound on `{v}`"))),
            };
            let x = p.number("a bound")?;
            set(&v, cmp, x, true, bounds);
        } else {
            let x = p.number("a bound or variable")?;
            let cmp = match p.next() {
                Some((Tok::Cmp(c), _)) => c,
                _ => return Err(p.ctx.err(line, "expected a comparison in the bound")),
            };
            let v = match p.next() {
                Some((Tok::Ident(v), _)) => v,
                _ => return Err(p.ctx.err(line, "expected a variable in the bound")),
            };
            set(&v, cmp, x, false, bounds);
            if let Some(Tok::Cmp(c)) = p.peek().cloned() {
                p.pos += 1;
                let y = p.number("a bound")?;
                set(&v, c, y, true, bounds);
            }
        }
    }
    Ok(())
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(c0) = chars.next() else { return false };
    let lower = s.to_ascii_lowercase();
    is_name_char(c0)
        && !c0.is_ascii_digit()
        && c0 != '.'
        && c0 != '/'
        && s.chars().all(is_name_char)
        && !matches!(lower.as_str(), "inf" | "infinity" | "nan" | "free")
        && section_of(s).is_none()
}

fn num(x: f64) -> String {
    // Rust's shortest round-trip representation; LP wants no bare exponent-only forms.
    format!("{x:?}")
}

fn push_term(out: &mut String, first: &mut bool, c: f64, var: &str) {
    if *first {
        if c < 0.0 {
            let _ = write!(out, " - {} {var}", num(-c));
        } else {
            let _ = write!(out, " {} {var}", num(c));
        }
    } else if c < 0.0 {
        let _ = write!(out, " - {} {var}", num(-c));
    } else {
        let _ = write!(out, " + {} {var}", num(c));
    }
    *first = false;
}

/// Writes `m` as LP text. Errors when a variable or constraint name is not a valid LP name.
pub fn write_string(m: &ConstrainedModel) -> Result<String, CqmError> {
    let names = m.variable_names();
    for n in names {
        if !valid_name(n) {
            return Err(CqmError::Write(format!("variable name `{n}` is not a valid LP name")));
        }
    }
    for c in m.constraints() {
        if !valid_name(&c.name) {
            return Err(CqmError::Write(format!(
                "constraint name `{}` is not a valid LP name",
                c.name
            )));
        }
    }
    let mut out = String::from("\\ written by qam\n");
    out += match m.sense() {
        Sense::Minimize => "Minimize\n",
        Sense::Maximize => "Maximize\n",
    };
    out += " obj:";
    let mut first = true;
    let mut count = 0;
    for (i, &c) in m.linear().iter().enumerate() {
        if c != 0.0 {
            push_term(&mut out, &mut first, c, &names[i]);
            count += 1;
            if count % 8 == 0 {
                out += "\n";
            }
        }
    }
    let quad = m.quadratic();
    if !quad.is_empty() {
        out += if first { " [" } else { " + [" };
        let mut qfirst = true;
        for (k, &(i, j, q)) in quad.iter().enumerate() {
            push_term(&mut out, &mut qfirst, 2.0 * q, &format!("{} * {}", names[i], names[j]));
            if (k + 1) % 8 == 0 {
                out += "\n";
            }
        }
        out += " ] / 2";
        first = false;
    }
    if m.offset() != 0.0 || first {
        let o = m.offset();
        if first {
            let _ = write!(out, " {}", num(o));
        } else if o < 0.0 {
            let _ = write!(out, " - {}", num(-o));
        } else {
            let _ = write!(out, " + {}", num(o));
        }
    }
    out += "\nSubject To\n";
    for c in m.constraints() {
        let _ = write!(out, " {}:", c.name);
        let mut first = true;
        for (k, &(v, a)) in c.terms.iter().enumerate() {
            push_term(&mut out, &mut first, a, &names[v]);
            if (k + 1) % 8 == 0 && k + 1 < c.terms.len() {
                out += "\n";
            }
        }
        if c.terms.is_empty() {
            // an empty row is not valid LP: write 0 x for some variable
            return Err(CqmError::Write(format!("constraint `{}` has no terms", c.name)));
        }
        let _ = writeln!(out, " {} {}", c.sense, num(c.rhs));
    }
    out += "Binary\n";
    for (k, n) in names.iter().enumerate() {
        let _ = write!(out, " {n}");
        if (k + 1) % 10 == 0 {
            out += "\n";
        }
    }
    out += "\nEnd\n";
    Ok(out)
}
