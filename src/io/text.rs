//! Line and token helpers shared by the text parsers: every token knows its line, so every
//! error can name the file and line.

use super::IoError;

/// Declared variable counts up to this are always accepted; above it a file must hold at
/// least `n / MAX_VARIABLES_PER_DATA_LINE` data lines (see [`Src::variables`]).
pub(crate) const FREE_VARIABLES: usize = 1 << 20;

/// Variables a file may declare per data line (entry) beyond [`FREE_VARIABLES`]: a graph
/// of mean degree 1/2048 still passes. Comments do not count, so a file padded with
/// comments cannot make a huge header plausible.
pub(crate) const MAX_VARIABLES_PER_DATA_LINE: usize = 4096;

/// The check behind [`Src::variables`]: what is wrong with declaring `n` variables in a
/// file of `data` data lines (entries), if anything.
pub(crate) fn variables_problem(n: usize, data: usize, what: &str) -> Option<String> {
    if n > u32::MAX as usize {
        return Some(format!("{what} {n} exceeds 2^32 - 1"));
    }
    let limit = FREE_VARIABLES.max(MAX_VARIABLES_PER_DATA_LINE.saturating_mul(data));
    (n > limit).then(|| {
        format!(
            "{what} {n} is implausible for a file of {data} data lines (at most {limit} variables are accepted: \
             {FREE_VARIABLES}, or {MAX_VARIABLES_PER_DATA_LINE} per data line; is the header damaged?)"
        )
    })
}

/// Lines that can hold data in the text formats: their first non-blank character is a
/// digit, a sign or a point (comments and headers starting with a letter or `%` do not).
pub(crate) fn count_data_lines(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            l.trim_start()
                .starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.')
        })
        .count()
}

/// Parser state: the source name (file path) for error messages, the text's length (to
/// bound what a header may make us reserve) and its number of data lines (to bound the
/// number of variables a header may declare).
#[derive(Clone, Copy)]
pub(crate) struct Src<'a> {
    pub path: &'a str,
    pub text_len: usize,
    pub data_lines: usize,
}

impl<'a> Src<'a> {
    pub fn err(&self, line: usize, msg: impl Into<String>) -> IoError {
        IoError::Parse {
            path: self.path.to_string(),
            line,
            msg: msg.into(),
        }
    }

    /// Parses a 1-based or 0-based index token and returns it 0-based, checked against `n`.
    pub fn index(&self, line: usize, tok: &str, base: usize, n: usize, what: &str) -> Result<u32, IoError> {
        let v: u64 = tok.parse().map_err(|_| {
            self.err(
                line,
                format!("expected a non-negative integer {what}, found `{}`", clip(tok)),
            )
        })?;
        if (v as u128) < base as u128 || (v - base as u64) >= n as u64 {
            let msg = if n == 0 {
                format!("{what} {v} out of range: the header declares 0 variables")
            } else {
                let (lo, hi) = (base, n as u64 + base as u64 - 1);
                format!("{what} {v} out of range: must be in {lo}..={hi} ({n} variables)")
            };
            return Err(self.err(line, msg));
        }
        Ok((v - base as u64) as u32)
    }

    /// Parses a count or size token.
    pub fn count(&self, line: usize, tok: &str, what: &str) -> Result<usize, IoError> {
        tok.parse::<usize>().map_err(|_| {
            self.err(
                line,
                format!("expected a non-negative integer {what}, found `{}`", clip(tok)),
            )
        })
    }

    /// Parses a declared number of variables and checks it with [`Src::check_variables`].
    pub fn variables(&self, line: usize, tok: &str, what: &str) -> Result<usize, IoError> {
        let n = self.count(line, tok, what)?;
        self.check_variables(line, n, what)?;
        Ok(n)
    }

    /// Refuses variable counts that 32-bit indices cannot address, and counts so far
    /// beyond the file's data that they can only be a damaged header: a file may declare
    /// up to `max(FREE_VARIABLES, MAX_VARIABLES_PER_DATA_LINE * data lines)` variables.
    /// Without this, a 20-byte file could make the reader allocate gigabytes and abort.
    pub fn check_variables(&self, line: usize, n: usize, what: &str) -> Result<(), IoError> {
        match self.variables_problem(n, what) {
            Some(msg) => Err(self.err(line, msg)),
            None => Ok(()),
        }
    }

    /// What is wrong with a declared count of `n` variables, if anything (see
    /// [`Src::check_variables`]).
    pub fn variables_problem(&self, n: usize, what: &str) -> Option<String> {
        variables_problem(n, self.data_lines, what)
    }

    /// Capacity to reserve for `declared` entries: no more than the text can hold (an
    /// entry takes at least 4 bytes), so a damaged count cannot reserve gigabytes.
    pub fn capacity(&self, declared: usize) -> usize {
        declared.min(self.text_len / 4 + 1)
    }

    /// Parses a finite weight.
    pub fn weight(&self, line: usize, tok: &str) -> Result<f64, IoError> {
        let w: f64 = tok
            .parse()
            .map_err(|_| self.err(line, format!("expected a number, found `{}`", clip(tok))))?;
        if !w.is_finite() {
            return Err(self.err(line, format!("weight `{}` is not finite", clip(tok))));
        }
        Ok(w)
    }
}

/// Shortens a token for an error message.
pub(crate) fn clip(tok: &str) -> String {
    if tok.chars().count() > 40 {
        format!("{}…", tok.chars().take(40).collect::<String>())
    } else {
        tok.to_string()
    }
}

/// Non-blank lines with their 1-based numbers, skipping lines whose first non-blank
/// character is one of `comment` (the comment lines are returned by `comments`).
pub(crate) fn content_lines<'t>(text: &'t str, comment: &'t [char]) -> impl Iterator<Item = (usize, &'t str)> + 't {
    text.lines().enumerate().filter_map(move |(k, l)| {
        let t = l.trim();
        if t.is_empty() || t.starts_with(comment) {
            None
        } else {
            Some((k + 1, t))
        }
    })
}

/// Whitespace-separated tokens with their 1-based line numbers.
pub(crate) fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .flat_map(|(k, l)| l.split_ascii_whitespace().map(move |t| (k + 1, t)))
}

/// Splits a line into exactly `N` tokens or explains what is wrong.
pub(crate) fn fields<'l, const N: usize>(
    src: &Src,
    line: usize,
    text: &'l str,
    what: &str,
) -> Result<[&'l str; N], IoError> {
    let mut it = text.split_ascii_whitespace();
    let mut out = [""; N];
    for (k, slot) in out.iter_mut().enumerate() {
        *slot = it
            .next()
            .ok_or_else(|| src.err(line, format!("expected {what} ({N} fields), found {k} field(s)")))?;
    }
    if let Some(extra) = it.next() {
        return Err(src.err(
            line,
            format!("expected {what} ({N} fields), found extra `{}`", clip(extra)),
        ));
    }
    Ok(out)
}

/// Finds the lines where the pair `{i, j}` (0-based) is listed, given a function that
/// extracts a 0-based pair from a content line. Used to explain duplicate-entry errors.
pub(crate) fn lines_with_pair(
    text: &str,
    comment: &[char],
    i: usize,
    j: usize,
    pair: impl Fn(&str) -> Option<(usize, usize)>,
) -> Vec<usize> {
    content_lines(text, comment)
        .filter(|(_, l)| matches!(pair(l), Some((a, b)) if (a, b) == (i, j) || (a, b) == (j, i)))
        .map(|(k, _)| k)
        .collect()
}

/// Decodes bytes as UTF-8, naming the line of the first invalid byte.
pub(crate) fn decode<'b>(path: &str, bytes: &'b [u8]) -> Result<&'b str, IoError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        IoError::Parse {
            path: path.to_string(),
            line,
            msg: "invalid UTF-8 (not a text file?)".into(),
        }
    })
}
