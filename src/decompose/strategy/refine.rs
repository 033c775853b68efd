//! `refine`: large-neighbourhood search over clusters and energy-impact regions.

use super::{Engine, StopReason, sub_id, tolerance};
use crate::decompose::DecomposeError;
use crate::decompose::hierarchy::{HierarchicalQubo, HierarchyParams};
use crate::decompose::subproblem::{Clamp, RegionMap, extract};
use crate::model::Ising;
use crate::rng::{Rng, derive_seed};
use crate::solvers::greedy;
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::VecDeque;

/// Level index used in subproblem ids of energy-impact regions (clusters use level 0).
const REGION_LEVEL: usize = 255;

/// Runs refinement rounds until a stopping rule fires; returns the best spins, their
/// energy and why it stopped.
pub(crate) fn run(e: &mut Engine) -> Result<(Vec<i8>, f64, StopReason), DecomposeError> {
    let base = e.hier.base();
    let n = base.num_variables();
    let resumed = e.resumed("refine");
    let (mut s, mut round, mut stale) = resumed.unwrap_or_else(|| {
        let s = e.initial.take().unwrap_or_else(|| {
            let mut s = Rng::stream(e.seed, u64::MAX).spins(n);
            greedy::descend(base, &mut s);
            s
        });
        (s, 0, 0)
    });
    let mut energy = base.energy(&s);
    let cap = e.hier.params().max_cluster_size;
    // After a round without gain, clusters come from a fresh partition (seeded by the
    // round), so their boundaries move.
    let mut alt: Option<HierarchicalQubo> = None;
    let mut regions_map = RegionMap::new(n);
    loop {
        e.checkpoint("refine", &s, round, stale);
        if let Some(reason) = e.stop(energy, round, stale) {
            return Ok((s, energy, reason));
        }
        let hier = alt.as_ref().unwrap_or(e.hier);
        let colors = hier.cluster_colors(0);
        let num_colors = colors.iter().copied().max().map_or(0, |c| c as usize + 1);
        let before = energy;
        let mut accepted = 0;
        match hier.partition(0) {
            None => {
                let all: Vec<u32> = (0..n as u32).collect();
                accepted += solve_regions(e, base, &mut s, &mut energy, &[all], &mut regions_map, round, 0)?;
            }
            Some(p) => {
                for color in 0..num_colors as u32 {
                    if e.out_of_time() {
                        break;
                    }
                    let clusters: Vec<usize> = (0..p.num_clusters()).filter(|&c| colors[c] == color).collect();
                    let improved = e.router.run(
                        clusters.len(),
                        |i| {
                            let c = clusters[i];
                            Ok(extract(
                                base,
                                &s,
                                energy,
                                p.cluster(c),
                                |v| (p.cluster_of(v as usize) == c).then(|| p.local_index(v as usize) as u32),
                                sub_id(round, 0, c),
                                Clamp::Outside,
                            )?)
                        },
                        |sub, st| improvement(sub.energy(&st) - sub.energy(sub.current()), st, sub.current(), energy),
                        e.seed,
                        &e.sub_ctx,
                    )?;
                    for (i, imp) in improved.into_iter().enumerate() {
                        if let Some((delta, st)) = imp {
                            for (&v, &x) in p.cluster(clusters[i]).iter().zip(&st) {
                                s[v as usize] = x;
                            }
                            energy += delta;
                            accepted += 1;
                        }
                    }
                }
                if !e.out_of_time() {
                    let mut rng = Rng::stream(e.seed, round);
                    let max_regions = (n / cap / 2).max(1);
                    let regions = impact_regions(base, &s, cap, max_regions, &mut rng);
                    accepted += solve_regions(
                        e,
                        base,
                        &mut s,
                        &mut energy,
                        &regions,
                        &mut regions_map,
                        round,
                        REGION_LEVEL,
                    )?;
                }
            }
        }
        if accepted > 0 {
            greedy::descend(base, &mut s);
            energy = base.energy(&s);
        }
        if energy < before - tolerance(before) {
            stale = 0;
        } else {
            stale += 1;
            if hier.partition(0).is_some() {
                let params = HierarchyParams {
                    seed: derive_seed(e.hier.params().seed, round + 1),
                    ..*e.hier.params()
                };
                alt = Some(HierarchicalQubo::build(Cow::Borrowed(base), &params)?);
            }
        }
        e.report("refine", round, energy, accepted);
        round += 1;
    }
}

/// `Some((delta, state))` when `state` is better than `current`, or as good but different
/// (a move along a plateau, which lets later subproblems see a new neighbourhood).
fn improvement(delta: f64, st: Vec<i8>, current: &[i8], energy: f64) -> Option<(f64, Vec<i8>)> {
    let tol = tolerance(energy);
    (delta < -tol || (delta <= tol && st != current)).then_some((delta, st))
}

/// Solves disjoint, mutually uncoupled regions around `s` and applies every improvement.
/// Returns how many were accepted.
#[allow(clippy::too_many_arguments)]
fn solve_regions(
    e: &Engine,
    model: &Ising,
    s: &mut [i8],
    energy: &mut f64,
    regions: &[Vec<u32>],
    map: &mut RegionMap,
    round: u64,
    level: usize,
) -> Result<usize, DecomposeError> {
    map.set(regions);
    let state: &[i8] = s;
    let e0 = *energy;
    let result = e.router.run(
        regions.len(),
        |r| {
            Ok(extract(
                model,
                state,
                e0,
                &regions[r],
                |v| map.local_in(r, v),
                sub_id(round, level, r),
                Clamp::Outside,
            )?)
        },
        |sub, st| improvement(sub.energy(&st) - sub.energy(sub.current()), st, sub.current(), e0),
        e.seed,
        &e.sub_ctx,
    );
    map.clear(regions);
    let mut accepted = 0;
    for (r, imp) in result?.into_iter().enumerate() {
        if let Some((delta, st)) = imp {
            for (&v, &x) in regions[r].iter().zip(&st) {
                s[v as usize] = x;
            }
            *energy += delta;
            accepted += 1;
        }
    }
    Ok(accepted)
}

/// Up to `max_regions` regions of at most `cap` variables, grown breadth-first from the
/// variables whose flip costs least (ties in random order), no two regions coupled.
fn impact_regions(model: &Ising, s: &[i8], cap: usize, max_regions: usize, rng: &mut Rng) -> Vec<Vec<u32>> {
    let n = model.num_variables();
    let jitter: Vec<u32> = (0..n).map(|_| rng.next_u64() as u32).collect();
    let mut ranked: Vec<(f64, u32, u32)> = (0..n)
        .into_par_iter()
        .map(|i| (model.flip_delta(s, i), jitter[i], i as u32))
        .collect();
    drop(jitter);
    let key = |a: &(f64, u32, u32), b: &(f64, u32, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    // Only the most promising seeds matter: sort the best quarter.
    let keep = (n / 4).max(max_regions.min(n)).min(n);
    if keep < n {
        ranked.select_nth_unstable_by(keep, key);
        ranked.truncate(keep);
    }
    ranked.sort_unstable_by(key);
    const FREE: u8 = 0;
    const TAKEN: u8 = 1;
    const BLOCKED: u8 = 2;
    let mut mark = vec![FREE; n];
    let mut regions: Vec<Vec<u32>> = Vec::new();
    let mut queue: VecDeque<u32> = VecDeque::new();
    for &(_, _, seed) in &ranked {
        if regions.len() >= max_regions {
            break;
        }
        if mark[seed as usize] != FREE {
            continue;
        }
        let mut region = Vec::new();
        queue.clear();
        queue.push_back(seed);
        while let Some(v) = queue.pop_front() {
            if region.len() >= cap {
                break;
            }
            if mark[v as usize] != FREE {
                continue;
            }
            mark[v as usize] = TAKEN;
            region.push(v);
            for &u in model.j().row(v as usize).0 {
                if mark[u as usize] == FREE {
                    queue.push_back(u);
                }
            }
        }
        for &v in &region {
            for &u in model.j().row(v as usize).0 {
                if mark[u as usize] == FREE {
                    mark[u as usize] = BLOCKED;
                }
            }
        }
        regions.push(region);
    }
    regions
}
