//! Steepest-descent local search: flip the single variable that lowers the energy most,
//! until no flip lowers it. Used on its own, to polish annealer output, and by the
//! decomposition and QAOA solvers.

use super::{SolveContext, SolveError, Solver, invalid};
use super::{initial_spins, spin_samples};
use crate::model::{Ising, Model, SampleSet, SolveInfo, Timing, spins_as, to_spins};
use crate::rng::Rng;
use rayon::prelude::*;
use serde_json::json;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Descends `spins` (±1) to a local minimum of `ising` by steepest descent.
///
/// Each step flips the spin with the most negative energy change (lowest index on ties),
/// kept in a heap with lazy invalidation, so a step costs O(degree · log n). Returns the
/// number of flips made. The result is a 1-flip local minimum: no single flip lowers
/// the energy by more than `1e-12 * (1 + |ΔE scale|)`.
pub fn descend(ising: &Ising, spins: &mut [i8]) -> usize {
    let n = ising.num_variables();
    let mut field: Vec<f64> = (0..n).map(|i| ising.local_field(spins, i)).collect();
    let delta = |i: usize, spins: &[i8], field: &[f64]| -2.0 * spins[i] as f64 * field[i];
    let mut version = vec![0u32; n];
    let mut heap: BinaryHeap<Entry> = (0..n)
        .filter_map(|i| {
            let d = delta(i, spins, &field);
            (d < -tolerance(&field, i)).then_some(Entry {
                delta: d,
                var: i,
                version: 0,
            })
        })
        .collect();
    let mut flips = 0;
    while let Some(e) = heap.pop() {
        if e.version != version[e.var] {
            continue;
        }
        let i = e.var;
        spins[i] = -spins[i];
        flips += 1;
        version[i] += 1;
        let step = 2.0 * spins[i] as f64;
        let (cols, vals) = ising.j().row(i);
        for (&j, &w) in cols.iter().zip(vals) {
            let j = j as usize;
            field[j] += w * step;
            version[j] += 1;
            let d = delta(j, spins, &field);
            if d < -tolerance(&field, j) {
                heap.push(Entry {
                    delta: d,
                    var: j,
                    version: version[j],
                });
            }
        }
    }
    flips
}

/// Polishes one state of `model` (in the model's vartype: 0/1 for a QUBO, ±1 for an
/// Ising model) to a 1-flip local minimum by steepest descent ([`descend`] on `ising`,
/// which must be `model.to_ising()`, passed in so a caller polishing many states converts
/// once). Returns the polished state (same vartype) and its energy on `model` (offset
/// included). This is the one polish of the crate: annealer output, warm starts, sampled
/// QAOA bitstrings and `qam solve --polish` all go through it or through [`polish_set`].
pub fn polish(model: &Model, ising: &Ising, state: &[i8]) -> (Vec<i8>, f64) {
    let vt = model.vartype();
    let mut spins = to_spins(vt, state);
    descend(ising, &mut spins);
    let x = spins_as(vt, &spins);
    let e = model.energy(&x);
    (x, e)
}

/// Polishes every read of `set` (each occurrence separately) with [`polish`]; the result
/// keeps `set`'s info (plus `"polished": true` in `info.extra`), ranked afresh.
pub fn polish_set(model: &Model, set: &SampleSet) -> SampleSet {
    let ising = model.to_ising();
    let states = set
        .samples()
        .iter()
        .flat_map(|s| std::iter::repeat_n(&s.state, s.num_occurrences as usize))
        .map(|st| polish(model, &ising, st).0)
        .collect();
    let mut info = set.info.clone();
    info.extra.insert("polished".into(), json!(true));
    SampleSet::from_model_states(model, states, info)
}

/// Gains smaller than this are treated as zero, so rounding noise cannot cause cycling.
fn tolerance(field: &[f64], i: usize) -> f64 {
    1e-12 * (1.0 + field[i].abs())
}

#[derive(PartialEq)]
struct Entry {
    delta: f64,
    var: usize,
    version: u32,
}

impl Eq for Entry {}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Max-heap: the most negative delta first, then the lowest index.
        other
            .delta
            .total_cmp(&self.delta)
            .then_with(|| other.var.cmp(&self.var))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Steepest-descent solver (`greedy`): descends each initial state (or `num_reads`
/// random states drawn from `seed`) to a local minimum.
#[derive(Clone, Debug)]
pub struct GreedySolver {
    /// Random starts when `initial_states` is `None` (default 10).
    pub num_reads: usize,
    /// Seed of the random starts.
    pub seed: u64,
    /// States to polish, in the model's vartype.
    pub initial_states: Option<Vec<Vec<i8>>>,
}

impl Default for GreedySolver {
    fn default() -> Self {
        GreedySolver {
            num_reads: 10,
            seed: 0,
            initial_states: None,
        }
    }
}

impl Solver for GreedySolver {
    fn name(&self) -> &'static str {
        "greedy"
    }

    fn solve_with(&self, model: &Model, ctx: &SolveContext) -> Result<SampleSet, SolveError> {
        let t0 = Instant::now();
        let n = model.num_variables();
        self.validate(n)?;
        let starts: Vec<Vec<i8>> = match &self.initial_states {
            Some(states) => initial_spins(states, model)?,
            None if self.num_reads == 0 => return Err(invalid("num_reads", "must be at least 1")),
            None => (0..self.num_reads)
                .map(|r| Rng::stream(self.seed, r as u64).spins(n))
                .collect(),
        };
        let ising = model.to_ising();
        let t1 = Instant::now();
        ctx.set_total(starts.len() as u64);
        let results: Vec<(Vec<i8>, usize)> = starts
            .into_par_iter()
            .map(|mut s| {
                let flips = descend(&ising, &mut s);
                ctx.advance(1);
                (s, flips)
            })
            .collect();
        let t2 = Instant::now();
        let total_flips: usize = results.iter().map(|r| r.1).sum();
        let states = spin_samples(model, results.into_iter().map(|(s, _)| s));
        let mut info = SolveInfo {
            solver: self.name().into(),
            seed: self.initial_states.is_none().then_some(self.seed),
            ..Default::default()
        };
        info.extra.insert("flips".into(), json!(total_flips));
        let mut set = SampleSet::from_model_states(model, states, info);
        let (r, t) = super::anytime::finished(set.first().map(|s| s.energy), ctx, ctx.start.unwrap_or(t0));
        (set.info.stop_reason, set.info.time_to_target_s) = (Some(r), t);
        set.info.timing = Timing::since(t0, t1, t2);
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random fields in [-0.5, 0.5) and couplings in [-1, 1) on about one pair in `one_in`.
    fn random_entries(rng: &mut Rng, n: usize, one_in: u64) -> Vec<(u32, u32, f64)> {
        let mut entries = Vec::new();
        for i in 0..n as u32 {
            entries.push((i, i, rng.next_f64() - 0.5));
            for j in i + 1..n as u32 {
                if rng.below(one_in) == 0 {
                    entries.push((i, j, rng.next_f64() * 2.0 - 1.0));
                }
            }
        }
        entries
    }

    #[test]
    fn reaches_local_minimum() {
        let mut rng = Rng::new(5);
        let n = 40;
        let entries = random_entries(&mut rng, n, 4);
        let ising = Ising::from_entries(n, &entries, 0.0).unwrap();
        let mut s = rng.spins(n);
        let e0 = ising.energy(&s);
        descend(&ising, &mut s);
        let e1 = ising.energy(&s);
        assert!(e1 <= e0);
        for i in 0..n {
            assert!(ising.flip_delta(&s, i) >= -1e-9, "flip {i} still improves");
        }
    }

    #[test]
    fn polish_gives_a_binary_local_minimum_with_its_energy() {
        use crate::model::Qubo;
        let mut rng = Rng::new(9);
        let n = 30;
        let entries = random_entries(&mut rng, n, 3);
        let model = Model::Qubo(Qubo::from_entries(n, &entries, 2.5).unwrap());
        let ising = model.to_ising();
        let x0: Vec<i8> = (0..n).map(|_| rng.below(2) as i8).collect();
        let (x, e) = polish(&model, &ising, &x0);
        assert!(x.iter().all(|&b| b == 0 || b == 1));
        assert!((e - model.energy(&x)).abs() < 1e-12);
        assert!(e <= model.energy(&x0) + 1e-12);
        for i in 0..n {
            let mut y = x.clone();
            y[i] = 1 - y[i];
            assert!(model.energy(&y) >= e - 1e-9, "flip {i} still improves");
        }
        let set = SampleSet::from_model_states(&model, vec![x0.clone(), x0], SolveInfo::default());
        let p = polish_set(&model, &set);
        assert_eq!(p.num_reads(), 2);
        assert_eq!(p.first().unwrap().state, x);
        assert_eq!(p.info.extra["polished"], json!(true));
    }
}
