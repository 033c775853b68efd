//! `merge`: solve clusters, then decide which to flip one level up, recursively.

use super::{Engine, StopReason, sub_id, tolerance};
use crate::decompose::DecomposeError;
use crate::decompose::hierarchy::{HierarchicalQubo, HierarchyParams, apply_flips, merge_model};
use crate::decompose::subproblem::{Clamp, extract};
use crate::model::Ising;
use crate::rng::derive_seed;
use crate::solvers::greedy;
use std::borrow::Cow;

/// Runs merge V-cycles until a stopping rule fires; returns the best spins, their energy
/// and why it stopped. After a cycle without gain the next cycle uses a fresh partition
/// (seeded by the round), so cluster boundaries move.
pub(crate) fn run(e: &mut Engine) -> Result<(Vec<i8>, f64, StopReason), DecomposeError> {
    let base = e.hier.base();
    let mut alt: Option<HierarchicalQubo> = None;
    let (mut s, mut round, mut stale) = match e.resumed("merge") {
        Some(r) => r,
        None => {
            let s = match e.initial.take() {
                Some(s) => s,
                None => solve_level(e, e.hier, 0, base, None, 0)?,
            };
            let clusters = e.hier.levels()[0].stats().map_or(1, |st| st.num_clusters);
            e.report("merge", 0, base.energy(&s), clusters);
            (s, 1, 0)
        }
    };
    let mut energy = base.energy(&s);
    loop {
        e.checkpoint("merge", &s, round, stale);
        if let Some(reason) = e.stop(energy, round, stale) {
            return Ok((s, energy, reason));
        }
        let hier = alt.as_ref().unwrap_or(e.hier);
        let next = solve_level(e, hier, 0, base, Some(&s), round)?;
        let next_energy = base.energy(&next);
        let gained = next_energy < energy - tolerance(energy);
        if gained {
            s = next;
            energy = next_energy;
            stale = 0;
        } else {
            stale += 1;
            let params = HierarchyParams {
                seed: derive_seed(e.hier.params().seed, round),
                ..*e.hier.params()
            };
            alt = Some(HierarchicalQubo::build(Cow::Borrowed(base), &params)?);
        }
        e.report("merge", round, energy, usize::from(gained));
        round += 1;
    }
}

/// One V-cycle at level `k` of the hierarchy on `model` (that level's Ising for the
/// current state of the level below). With `current`, clusters are solved with the
/// outside clamped to it and the result is never worse than `current`; without, clusters
/// are solved on their own. Returns the new level-`k` spins.
pub(crate) fn solve_level(
    e: &Engine,
    hier: &HierarchicalQubo,
    k: usize,
    model: &Ising,
    current: Option<&[i8]>,
    round: u64,
) -> Result<Vec<i8>, DecomposeError> {
    let n = model.num_variables();
    let cur: Vec<i8> = current.map_or_else(|| vec![1; n], <[i8]>::to_vec);
    let energy = model.energy(&cur);
    let Some(p) = hier.partition(k) else {
        // Top level: one subproblem holding every variable.
        let all: Vec<u32> = (0..n as u32).collect();
        let mut out = e.router.run(
            1,
            |_| {
                Ok(extract(
                    model,
                    &cur,
                    energy,
                    &all,
                    Some,
                    sub_id(round, k, 0),
                    if current.is_some() {
                        Clamp::Outside
                    } else {
                        Clamp::Ignore
                    },
                )?)
            },
            |sub, st| {
                if current.is_some() && worse(sub.energy(&st), sub.energy(sub.current())) {
                    sub.current().to_vec()
                } else {
                    st
                }
            },
            e.seed,
            &e.sub_ctx,
        )?;
        let mut s = out.pop().unwrap_or(cur);
        greedy::descend(model, &mut s);
        return Ok(s);
    };
    let clamp = if current.is_some() {
        Clamp::Outside
    } else {
        Clamp::Ignore
    };
    let solved = e.router.run(
        p.num_clusters(),
        |c| {
            Ok(extract(
                model,
                &cur,
                energy,
                p.cluster(c),
                |v| (p.cluster_of(v as usize) == c).then(|| p.local_index(v as usize) as u32),
                sub_id(round, k, c),
                clamp,
            )?)
        },
        |sub, st| {
            // Under clamping, keep the current cluster state when the new one is worse;
            // take equally good ones (moves along plateaus let the level above see new
            // cluster configurations).
            if clamp == Clamp::Outside && worse(sub.energy(&st), sub.energy(sub.current())) {
                sub.current().to_vec()
            } else {
                st
            }
        },
        e.seed,
        &e.sub_ctx,
    )?;
    let mut s = vec![1i8; n];
    for (c, st) in solved.into_iter().enumerate() {
        for (&v, &x) in p.cluster(c).iter().zip(&st) {
            s[v as usize] = x;
        }
    }
    e.ctx.message(&format!(
        "merge round {round}: level {k}: {} clusters solved, merging",
        p.num_clusters()
    ));
    let upper = merge_model(model, p, &s)?;
    let keep = vec![1i8; upper.num_variables()];
    let flips = solve_level(e, hier, k + 1, &upper, Some(&keep), round)?;
    apply_flips(p, &mut s, &flips);
    greedy::descend(model, &mut s);
    if let Some(c) = current
        && model.energy(&s) > model.energy(c)
    {
        return Ok(c.to_vec());
    }
    Ok(s)
}

/// True when `new` is worse than `old` beyond rounding.
fn worse(new: f64, old: f64) -> bool {
    new > old + tolerance(old)
}
