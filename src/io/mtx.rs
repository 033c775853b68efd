//! MatrixMarket coordinate files.
//!
//! ```text
//! %%MatrixMarket matrix coordinate real|integer|pattern general|symmetric
//! % comments (qam writes `% vartype SPIN|BINARY` and `% offset <value>`)
//! rows cols nnz
//! i j v      1-based; `symmetric` lists one triangle, `pattern` has no value (1)
//! ```
//! The matrix `M` defines `E(v) = sum_i M_ii v_i + sum_{i != j} M_ij v_i v_j + offset`
//! (for binary variables this is exactly `x^T M x + offset`; for spins the diagonal holds
//! the fields `h`). In a `symmetric` file an off-diagonal entry stands for both `M_ij` and
//! `M_ji`, so the coupling is `2 M_ij`; in a `general` file the coupling is
//! `M_ij + M_ji`. The vartype defaults to BINARY.

use super::text::{Src, clip, content_lines, fields};
use super::{IoError, Problem, model_err, push_num};
use crate::model::{Couplings, Ising, Model, ModelError, Qubo, Vartype};

pub(super) fn read(src: &Src, text: &str) -> Result<Problem, IoError> {
    let banner = text.lines().next().unwrap_or("");
    let words: Vec<String> = banner
        .split_ascii_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    if words.first().map(String::as_str) != Some("%%matrixmarket") {
        return Err(src.err(
            1,
            "expected the banner `%%MatrixMarket matrix coordinate real general|symmetric`",
        ));
    }
    if words.len() != 5 || words[1] != "matrix" || words[2] != "coordinate" {
        return Err(src.err(
            1,
            format!(
                "unsupported banner `{}`: only `matrix coordinate` files are read",
                clip(banner)
            ),
        ));
    }
    let pattern = match words[3].as_str() {
        "real" | "integer" | "double" => false,
        "pattern" => true,
        f => {
            return Err(src.err(1, format!("unsupported field `{f}` (real, integer or pattern)")));
        }
    };
    let symmetric = match words[4].as_str() {
        "general" => false,
        "symmetric" => true,
        s => {
            return Err(src.err(1, format!("unsupported symmetry `{s}` (general or symmetric)")));
        }
    };
    // qam's comments `% vartype SPIN|BINARY` and `% offset V`: keywords and vartype words
    // case-insensitive, each at most once, anything else after the keyword refused.
    let mut vartype = Vartype::Binary;
    let mut offset = 0.0;
    let (mut seen_vartype, mut seen_offset) = (None::<usize>, None::<usize>);
    for (k, line) in text.lines().enumerate().skip(1) {
        let t = line.trim();
        if !t.starts_with('%') {
            continue;
        }
        let toks: Vec<&str> = t.trim_start_matches('%').split_ascii_whitespace().take(3).collect();
        let Some(key) = toks.first().map(|w| w.to_ascii_lowercase()) else {
            continue;
        };
        let seen = match key.as_str() {
            "vartype" => &mut seen_vartype,
            "offset" => &mut seen_offset,
            _ => continue,
        };
        if let Some(first) = *seen {
            return Err(src.err(k + 1, format!("second `% {key}` line (the first is line {first})")));
        }
        *seen = Some(k + 1);
        match (key.as_str(), &toks[1..]) {
            ("vartype", [w]) if w.eq_ignore_ascii_case("SPIN") => vartype = Vartype::Spin,
            ("vartype", [w]) if w.eq_ignore_ascii_case("BINARY") => vartype = Vartype::Binary,
            ("vartype", _) => return Err(src.err(k + 1, "expected `% vartype SPIN` or `% vartype BINARY`")),
            ("offset", [v]) => offset = src.weight(k + 1, v)?,
            _ => return Err(src.err(k + 1, "expected `% offset VALUE`")),
        }
    }
    let mut lines = content_lines(text, &['%']);
    let Some((sline, size)) = lines.next() else {
        return Err(src.err(text.lines().count().max(1), "missing the size line `rows cols nnz`"));
    };
    let [r, c, nnz] = fields::<3>(src, sline, size, "a size line `rows cols nnz`")?;
    let rows = src.count(sline, r, "row count")?;
    let cols = src.count(sline, c, "column count")?;
    let nnz = src.count(sline, nnz, "entry count")?;
    if rows != cols {
        return Err(src.err(
            sline,
            format!("matrix is {rows} x {cols}; a QUBO needs a square matrix"),
        ));
    }
    let n = rows;
    src.check_variables(sline, n, "row count")?;
    let mut linear = vec![0.0; n];
    let mut seen_diag = vec![false; n];
    let mut pairs: Vec<(u32, u32, f64)> = Vec::with_capacity(src.capacity(nnz));
    let mut count = 0usize;
    for (line, t) in lines {
        count += 1;
        if count > nnz {
            return Err(src.err(line, format!("more entries than the {nnz} announced on line {sline}")));
        }
        let (a, b, v) = if pattern {
            let [a, b] = fields::<2>(src, line, t, "a pattern entry `i j`")?;
            (a, b, 1.0)
        } else {
            let [a, b, v] = fields::<3>(src, line, t, "an entry `i j value`")?;
            (a, b, src.weight(line, v)?)
        };
        let i = src.index(line, a, 1, n, "row")?;
        let j = src.index(line, b, 1, n, "column")?;
        if i == j {
            if seen_diag[i as usize] {
                return Err(src.err(line, format!("diagonal entry {0} {0} listed twice", i + 1)));
            }
            seen_diag[i as usize] = true;
            linear[i as usize] = v;
        } else {
            pairs.push((i, j, if symmetric { 2.0 * v } else { v }));
        }
    }
    if count != nnz {
        return Err(src.err(
            sline,
            format!("size line announces {nnz} entries but the file has {count}"),
        ));
    }
    // A general matrix lists (i,j) and (j,i) separately: their sum is the coupling. A
    // symmetric one must list each pair once. A repeat is reported at its own line.
    let duplicate = |i: usize, j: usize| {
        let at: Vec<usize> = content_lines(text, &['%'])
            .filter(|&(l, t)| {
                let mut it = t.split_ascii_whitespace().map(|x| x.parse::<usize>().ok());
                let (Some(Some(a)), Some(Some(b))) = (it.next(), it.next()) else {
                    return false;
                };
                l > sline && ((a, b) == (i + 1, j + 1) || (symmetric && (b, a) == (i + 1, j + 1)))
            })
            .map(|(l, _)| l)
            .collect();
        src.err(
            at.get(1).copied().unwrap_or(sline),
            format!("entry ({}, {}) listed more than once (lines {at:?})", i + 1, j + 1),
        )
    };
    let quad = if symmetric {
        Couplings::from_unique_triplets(n, pairs)
    } else {
        check_general_duplicates(&pairs).and_then(|_| Couplings::from_triplets(n, pairs))
    }
    .map_err(|e| match e {
        ModelError::DuplicateCoupling(i, j) => duplicate(i, j),
        e => model_err(src, sline, e),
    })?;
    let model = match vartype {
        Vartype::Binary => Model::Qubo(Qubo::new(linear, quad, offset).map_err(|e| model_err(src, sline, e))?),
        Vartype::Spin => Model::Ising(Ising::new(linear, quad, offset).map_err(|e| model_err(src, sline, e))?),
    };
    Ok(Problem::minimize(model))
}

/// In a general matrix each ordered entry may appear once.
fn check_general_duplicates(pairs: &[(u32, u32, f64)]) -> Result<(), ModelError> {
    let mut keys: Vec<u64> = pairs.iter().map(|&(i, j, _)| ((i as u64) << 32) | j as u64).collect();
    keys.sort_unstable();
    match keys.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(ModelError::DuplicateCoupling(
            (w[0] >> 32) as usize,
            (w[0] & 0xFFFF_FFFF) as usize,
        )),
        None => Ok(()),
    }
}

pub(super) fn write(model: &Model) -> String {
    let n = model.num_variables();
    let diag: Vec<(usize, f64)> = model
        .linear()
        .iter()
        .copied()
        .enumerate()
        .filter(|p| p.1 != 0.0)
        .collect();
    let nnz = diag.len() + model.num_interactions();
    let mut out = String::with_capacity(24 * nnz + 128);
    out.push_str("%%MatrixMarket matrix coordinate real symmetric\n");
    out.push_str("% written by qam: E = sum_i M_ii v_i + sum_{i != j} M_ij v_i v_j + offset\n");
    out.push_str(&format!("% vartype {}\n", model.vartype().as_str()));
    if model.offset() != 0.0 {
        out.push_str("% offset ");
        push_num(&mut out, model.offset());
        out.push('\n');
    }
    out.push_str(&format!("{n} {n} {nnz}\n"));
    for (i, v) in diag {
        out.push_str(&format!("{0} {0} ", i + 1));
        push_num(&mut out, v);
        out.push('\n');
    }
    // Lower triangle: row j > column i, entry M_ji = coupling / 2.
    for (i, j, w) in model.couplings().iter_upper() {
        out.push_str(&format!("{} {} ", j + 1, i + 1));
        push_num(&mut out, w / 2.0);
        out.push('\n');
    }
    out
}
