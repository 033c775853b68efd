//! Best-known values of the standard benchmark instances, for quality reports.
//!
//! G-set: read from a `best_known.csv` beside the graph file (as in `shared/data/gset/`,
//! column `best_known_cut`). OR-Library bqp: the published table below (maximisation
//! objective; bqp500.2 = 128339 as verified in shared/data/README.md).

use std::path::Path;

/// Best-known objective of OR-Library `bqp{n}.{instance}` (maximised `f(x)`).
fn bqp(n: usize, instance: usize) -> Option<f64> {
    let row: &[f64] = match n {
        50 => &[2098., 3702., 4626., 3544., 4012., 3693., 4520., 4216., 3780., 3507.],
        100 => &[
            7970., 11036., 12723., 10368., 9083., 10210., 10125., 11435., 11455., 12565.,
        ],
        250 => &[
            45607., 44810., 49037., 41274., 47961., 41014., 46757., 35726., 48916., 40442.,
        ],
        500 => &[
            116586., 128339., 130812., 130097., 125487., 121772., 122201., 123559., 120798., 130619.,
        ],
        1000 => &[
            371438., 354932., 371236., 370675., 352760., 359629., 371193., 351994., 349337., 351415.,
        ],
        2500 => &[
            1515944., 1471392., 1414192., 1507701., 1491816., 1469162., 1479040., 1484199., 1482413., 1483355.,
        ],
        _ => return None,
    };
    row.get(instance.checked_sub(1)?).copied()
}

/// Best-known value of the instance in `file`, in the user's units (cut for G-set,
/// objective for bqp), if known.
pub fn lookup(file: &Path, instance: Option<usize>) -> Option<f64> {
    let stem = file.file_stem()?.to_str()?;
    if let Some(n) = stem.strip_prefix("bqp").and_then(|s| s.parse::<usize>().ok()) {
        return bqp(n, instance.unwrap_or(1));
    }
    let csv = std::fs::read_to_string(file.parent()?.join("best_known.csv")).ok()?;
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    let col = header.iter().position(|h| *h == "best_known_cut")?;
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&stem))
        .and_then(|f| f.get(col)?.parse().ok())
}
