//! OR-Library (Beasley) `bqp` files: several instances per file, whitespace-separated.
//!
//! ```text
//! K                number of instances
//! n nnz            then K times: variables, listed entries
//! i j q            nnz entries, 1-based, each symmetric pair once (diagonal i == j)
//! ```
//! Beasley **maximises** `f(x) = sum_i sum_j q_ij x_i x_j` with `q` symmetric, so a listed
//! off-diagonal entry counts twice: `f(x) = sum_i q_ii x_i + 2 sum_{i<j} q_ij x_i x_j`.
//! qam reads the QUBO `Q_ii = -q_ii`, `Q_ij = -2 q_ij` (so its energy is `-f`) and marks
//! the problem [`ProblemKind::Maximize`]. This reproduces the published best-known
//! values (e.g. bqp50.1 = 2098, bqp1000.1 = 371438).

use super::text::{Src, tokens};
use super::{IoError, Problem, ProblemKind, model_err, push_num};
use crate::model::{Couplings, Model, ModelError, Qubo};

/// The number of instances the file declares (its first token). Every instance takes at
/// least two more tokens (`n nnz`), so a count the rest of the file cannot hold is a damaged
/// header and is refused here: callers loop over the instances (`qam solve` solves each),
/// and `4294967296` on the first line must not make them try four billion times.
pub(super) fn count(src: &Src, text: &str) -> Result<usize, IoError> {
    let mut toks = tokens(text);
    let Some((kline, k)) = toks.next() else {
        return Err(src.err(1, "file ends early: expected the number of instances"));
    };
    let count = src.count(kline, k, "number of instances")?;
    if count == 0 {
        return Err(src.err(kline, "the file declares 0 instances"));
    }
    let room = toks.count() / 2;
    if count > room {
        return Err(src.err(
            kline,
            format!(
                "the file declares {count} instances but the rest of it can hold at most {room} \
                 (each needs an `n nnz` line); is the first line damaged?"
            ),
        ));
    }
    Ok(count)
}

pub(super) fn read(src: &Src, text: &str, instance: usize) -> Result<Problem, IoError> {
    let last_line = text.lines().count().max(1);
    let mut toks = tokens(text);
    let mut next = |what: &str| -> Result<(usize, &str), IoError> {
        toks.next()
            .ok_or_else(|| src.err(last_line, format!("file ends early: expected {what}")))
    };
    let (kline, k) = next("the number of instances")?;
    let count = src.count(kline, k, "number of instances")?;
    if count == 0 {
        return Err(src.err(kline, "the file declares 0 instances"));
    }
    if instance == 0 || instance > count {
        return Err(src.err(
            kline,
            format!("instance {instance} requested but the file holds {count} (1..={count})"),
        ));
    }
    let mut chosen: Option<Qubo> = None;
    for inst in 1..=count {
        let (hline, n) = next(&format!("the `n nnz` line of instance {inst}"))?;
        let n = src.variables(hline, n, "number of variables")?;
        let (nline, nnz) = next(&format!("the entry count of instance {inst}"))?;
        let nnz = src.count(nline, nnz, "number of entries")?;
        let keep = inst == instance;
        let mut linear = if keep { vec![0.0; n] } else { Vec::new() };
        let mut seen_diag = if keep { vec![false; n] } else { Vec::new() };
        let mut pairs: Vec<(u32, u32, f64)> = Vec::with_capacity(if keep { src.capacity(nnz) } else { 0 });
        let mut lines: Vec<usize> = Vec::new();
        for e in 0..nnz {
            let what = format!("entry {} of {nnz} of instance {inst}", e + 1);
            let (l, a) = next(&what)?;
            let (_, b) = next(&what)?;
            let (_, q) = next(&what)?;
            let i = src.index(l, a, 1, n, "index")?;
            let j = src.index(l, b, 1, n, "index")?;
            let q = src.weight(l, q)?;
            if !keep {
                continue;
            }
            if i == j {
                if seen_diag[i as usize] {
                    return Err(src.err(l, format!("diagonal entry {0} {0} listed twice", i + 1)));
                }
                seen_diag[i as usize] = true;
                linear[i as usize] = -q;
            } else {
                pairs.push((i, j, -2.0 * q));
                lines.push(l);
            }
        }
        if keep {
            let quad = Couplings::from_unique_triplets(n, pairs.clone()).map_err(|e| match e {
                ModelError::DuplicateCoupling(i, j) => {
                    let at: Vec<usize> = pairs
                        .iter()
                        .zip(&lines)
                        .filter(|(p, _)| (p.0.min(p.1) as usize, p.0.max(p.1) as usize) == (i, j))
                        .map(|(_, &l)| l)
                        .collect();
                    src.err(
                        at.last().copied().unwrap_or(hline),
                        format!("pair {} {} listed twice (lines {at:?})", i + 1, j + 1),
                    )
                }
                e => model_err(src, hline, e),
            })?;
            chosen = Some(Qubo::new(linear, quad, 0.0).map_err(|e| model_err(src, hline, e))?);
        }
    }
    if let Some((l, t)) = toks.next() {
        return Err(src.err(
            l,
            format!(
                "unexpected `{}` after the last of {count} instances",
                super::text::clip(t)
            ),
        ));
    }
    Ok(Problem {
        model: Model::Qubo(chosen.expect("instance index checked against the count")),
        kind: ProblemKind::Maximize,
        labels: None,
    })
}

pub(super) fn write(model: &Model) -> Result<String, String> {
    let qubo = model.to_qubo();
    if qubo.offset() != 0.0 {
        return Err("the bqp format cannot hold an offset (this model has one); use .qubo, .mtx or .json".into());
    }
    let n = qubo.num_variables();
    let diag: Vec<(usize, f64)> = qubo
        .linear()
        .iter()
        .copied()
        .enumerate()
        .filter(|p| p.1 != 0.0)
        .collect();
    let nnz = diag.len() + qubo.quadratic().num_interactions();
    let mut out = String::with_capacity(24 * nnz + 32);
    out.push_str(&format!("1\n{n} {nnz}\n"));
    // Entries in (i, j) order: each row's diagonal first, then its couplings to j > i.
    let mut d = diag.into_iter().peekable();
    let push = |out: &mut String, i: usize, j: usize, q: f64| {
        out.push_str(&format!("{} {} ", i + 1, j + 1));
        push_num(out, q);
        out.push('\n');
    };
    for (i, j, w) in qubo.quadratic().iter_upper() {
        while let Some(&(k, v)) = d.peek().filter(|p| p.0 <= i) {
            push(&mut out, k, k, -v);
            d.next();
        }
        push(&mut out, i, j, -w / 2.0);
    }
    for (k, v) in d {
        push(&mut out, k, k, -v);
    }
    Ok(out)
}
