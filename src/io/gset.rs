//! G-set / rudy MaxCut graphs.
//!
//! ```text
//! n m        vertices, edges
//! i j w      m lines, 1-based, undirected, each edge once (w may be omitted: 1)
//! ```
//! Read as the Ising model `E(s) = sum_edges w_ij s_i s_j` (no fields, no offset) whose
//! minimum is the maximum cut: `cut(s) = (W - E(s)) / 2` with `W = sum w_ij`. Lines
//! starting with `#` are comments. Self-loops, repeated edges, out-of-range vertices and
//! an edge count that differs from `m` are errors.

use super::text::{Src, clip, content_lines, lines_with_pair};
use super::{IoError, Problem, ProblemKind, model_err, push_num};
use crate::model::{Couplings, Ising, Model, ModelError};

const COMMENT: &[char] = &['#'];

pub(super) fn read(src: &Src, text: &str) -> Result<Problem, IoError> {
    let mut lines = content_lines(text, COMMENT);
    let Some((hline, header)) = lines.next() else {
        return Err(src.err(1, "empty file: expected a header line `n m`"));
    };
    let [n, m] = super::text::fields::<2>(src, hline, header, "a header `n m`")?;
    let n = src.variables(hline, n, "vertex count n")?;
    let m = src.count(hline, m, "edge count m")?;
    let mut edges: Vec<(u32, u32, f64)> = Vec::with_capacity(src.capacity(m));
    let mut total = 0.0;
    for (line, t) in lines {
        let mut it = t.split_ascii_whitespace();
        let (a, b) = match (it.next(), it.next()) {
            (Some(a), Some(b)) => (a, b),
            _ => return Err(src.err(line, "expected an edge `i j w`")),
        };
        let w = match it.next() {
            Some(w) => src.weight(line, w)?,
            None => 1.0,
        };
        if let Some(extra) = it.next() {
            return Err(src.err(line, format!("expected an edge `i j w`, found extra `{}`", clip(extra))));
        }
        let i = src.index(line, a, 1, n, "vertex")?;
        let j = src.index(line, b, 1, n, "vertex")?;
        if i == j {
            return Err(src.err(line, format!("self-loop on vertex {}", i + 1)));
        }
        if edges.len() == m {
            return Err(src.err(
                line,
                format!("more edges than the {m} announced in the header (line {hline})"),
            ));
        }
        edges.push((i, j, w));
        total += w;
    }
    if edges.len() != m {
        return Err(src.err(
            hline,
            format!("header announces {m} edges but the file has {}", edges.len()),
        ));
    }
    let j = Couplings::from_unique_triplets(n, edges).map_err(|e| match e {
        ModelError::DuplicateCoupling(i, j) => {
            let lines = lines_with_pair(text, COMMENT, i, j, |l| {
                let mut it = l.split_ascii_whitespace();
                let a: usize = it.next()?.parse().ok()?;
                let b: usize = it.next()?.parse().ok()?;
                Some((a.checked_sub(1)?, b.checked_sub(1)?))
            });
            // The header `n m` parses as a pair too: skip it.
            let lines: Vec<usize> = lines.into_iter().filter(|&l| l > hline).collect();
            let at = lines.get(1).copied().unwrap_or(hline);
            src.err(at, format!("edge {} {} listed twice (lines {lines:?})", i + 1, j + 1))
        }
        e => model_err(src, hline, e),
    })?;
    let ising = Ising::new(vec![0.0; n], j, 0.0).map_err(|e| model_err(src, hline, e))?;
    Ok(Problem {
        model: Model::Ising(ising),
        kind: ProblemKind::MaxCut { total_weight: total },
        labels: None,
    })
}

pub(super) fn write(model: &Model) -> Result<String, String> {
    let ising = model.to_ising();
    if ising.h().iter().any(|&h| h != 0.0) || ising.offset() != 0.0 {
        return Err(
            "the G-set format holds only MaxCut graphs: an Ising model with couplings alone \
                    (this model has linear terms or an offset)"
                .into(),
        );
    }
    let n = ising.num_variables();
    let m = ising.j().num_interactions();
    let mut out = String::with_capacity(24 * m + 32);
    out.push_str(&format!("{n} {m}\n"));
    for (i, j, w) in ising.j().iter_upper() {
        out.push_str(&format!("{} {} ", i + 1, j + 1));
        push_num(&mut out, w);
        out.push('\n');
    }
    Ok(out)
}
