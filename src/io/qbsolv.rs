//! qbsolv `.qubo` files.
//!
//! ```text
//! c comment lines start with c
//! p qubo 0 maxNodes nNodes nCouplers
//! i i w      nNodes diagonal lines (0-based)
//! i j w      nCouplers coupler lines, i < j
//! ```
//! Minimises `sum Q_ii x_i + sum_{i<j} Q_ij x_i x_j`. qam writes the offset as a comment
//! `c offset <value>` and reads it back; other comments are ignored. Duplicate entries,
//! `i > j`, out-of-range indices and counts that disagree with the header are errors.

use super::text::{Src, content_lines, fields, lines_with_pair};
use super::{IoError, Problem, model_err, push_num};
use crate::model::{Couplings, Model, ModelError, Qubo};

const COMMENT: &[char] = &['c', 'C'];

pub(super) fn read(src: &Src, text: &str) -> Result<Problem, IoError> {
    // `c offset V` (any spacing; `offset` case-insensitive); one such line at most.
    let mut offset = 0.0;
    let mut offset_line: Option<usize> = None;
    for (k, line) in text.lines().enumerate() {
        let toks: Vec<&str> = line.split_ascii_whitespace().take(4).collect();
        if toks.len() < 2 || !matches!(toks[0], "c" | "C") || !toks[1].eq_ignore_ascii_case("offset") {
            continue;
        }
        let [_, _, v] = toks[..] else {
            return Err(src.err(k + 1, "expected `c offset VALUE`"));
        };
        if let Some(first) = offset_line {
            return Err(src.err(k + 1, format!("second offset line (the first is line {first})")));
        }
        offset = src.weight(k + 1, v)?;
        offset_line = Some(k + 1);
    }
    let mut header: Option<(usize, usize, usize, usize)> = None; // (line, n, nodes, couplers)
    let mut linear: Vec<f64> = Vec::new();
    let mut seen_diag: Vec<bool> = Vec::new();
    let mut pairs: Vec<(u32, u32, f64)> = Vec::new();
    let mut diag_count = 0usize;
    for (line, t) in content_lines(text, COMMENT) {
        if t.starts_with(['p', 'P']) {
            if let Some((first, ..)) = header {
                return Err(src.err(line, format!("duplicate `p` header (first one on line {first})")));
            }
            let [_, kind, topo, max_nodes, nodes, couplers] =
                fields::<6>(src, line, t, "`p qubo topology maxNodes nNodes nCouplers`")?;
            if kind != "qubo" {
                return Err(src.err(line, format!("expected `p qubo`, found `p {kind}`")));
            }
            if topo != "0" && topo != "unconstrained" {
                return Err(src.err(
                    line,
                    format!("unsupported topology `{topo}` (expected 0 or unconstrained)"),
                ));
            }
            let n = src.variables(line, max_nodes, "maxNodes")?;
            let nodes = src.count(line, nodes, "nNodes")?;
            let couplers = src.count(line, couplers, "nCouplers")?;
            linear = vec![0.0; n];
            seen_diag = vec![false; n];
            pairs.reserve(src.capacity(couplers));
            header = Some((line, n, nodes, couplers));
            continue;
        }
        let Some((_, n, ..)) = header else {
            return Err(src.err(line, "data before the `p qubo ...` header"));
        };
        let [a, b, w] = fields::<3>(src, line, t, "an entry `i j weight`")?;
        let i = src.index(line, a, 0, n, "index")?;
        let j = src.index(line, b, 0, n, "index")?;
        let w = src.weight(line, w)?;
        if i == j {
            if seen_diag[i as usize] {
                return Err(src.err(line, format!("diagonal entry {i} {i} listed twice")));
            }
            seen_diag[i as usize] = true;
            linear[i as usize] = w;
            diag_count += 1;
        } else if i > j {
            return Err(src.err(line, format!("coupler `{i} {j}` must have i < j")));
        } else {
            pairs.push((i, j, w));
        }
    }
    let Some((hline, n, nodes, couplers)) = header else {
        return Err(src.err(
            text.lines().count().max(1),
            "missing `p qubo 0 maxNodes nNodes nCouplers` header",
        ));
    };
    if diag_count != nodes {
        return Err(src.err(
            hline,
            format!("header says {nodes} diagonal entries (nNodes) but the file has {diag_count}"),
        ));
    }
    if pairs.len() != couplers {
        return Err(src.err(
            hline,
            format!(
                "header says {couplers} couplers (nCouplers) but the file has {}",
                pairs.len()
            ),
        ));
    }
    let quad = Couplings::from_unique_triplets(n, pairs).map_err(|e| match e {
        ModelError::DuplicateCoupling(i, j) => {
            let lines = lines_with_pair(text, COMMENT, i, j, pair_of);
            let at = lines.get(1).copied().unwrap_or(hline);
            src.err(at, format!("coupler {i} {j} listed twice (lines {lines:?})"))
        }
        e => model_err(src, hline, e),
    })?;
    let qubo = Qubo::new(linear, quad, offset).map_err(|e| model_err(src, hline, e))?;
    Ok(Problem::minimize(Model::Qubo(qubo)))
}

fn pair_of(line: &str) -> Option<(usize, usize)> {
    let mut it = line.split_ascii_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

pub(super) fn write(model: &Model) -> String {
    let qubo = model.to_qubo();
    let n = qubo.num_variables();
    let diag: Vec<(usize, f64)> = qubo
        .linear()
        .iter()
        .copied()
        .enumerate()
        .filter(|p| p.1 != 0.0)
        .collect();
    let mut out = String::with_capacity(32 * (diag.len() + qubo.quadratic().num_interactions()) + 64);
    out.push_str("c qbsolv QUBO written by qam: minimise sum_ij Q_ij x_i x_j (+ offset)\n");
    if qubo.offset() != 0.0 {
        out.push_str("c offset ");
        push_num(&mut out, qubo.offset());
        out.push('\n');
    }
    out.push_str(&format!(
        "p qubo 0 {n} {} {}\n",
        diag.len(),
        qubo.quadratic().num_interactions()
    ));
    for (i, w) in diag {
        out.push_str(&format!("{i} {i} "));
        push_num(&mut out, w);
        out.push('\n');
    }
    for (i, j, w) in qubo.quadratic().iter_upper() {
        out.push_str(&format!("{i} {j} "));
        push_num(&mut out, w);
        out.push('\n');
    }
    out
}
