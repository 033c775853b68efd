//! Sample sets: what every solver returns.

use super::{Model, Vartype};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One state with its energy and how many times it was seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Variable values in the set's vartype (0/1 or -1/+1).
    pub state: Vec<i8>,
    /// Energy of `state` under the model that was solved, computed on the CPU in f64.
    pub energy: f64,
    /// Number of reads that returned this state.
    pub num_occurrences: u64,
}

/// Wall-clock time spent in the phases of a solve, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Model conversion, schedule set-up, uploads.
    pub preprocessing_s: f64,
    /// The search itself.
    pub sampling_s: f64,
    /// Energy recomputation, polishing, sorting.
    pub postprocessing_s: f64,
}

impl Timing {
    /// Phases from instants: preprocessing `t0..t1`, sampling `t1..t2`, postprocessing
    /// `t2..now`.
    pub fn since(t0: std::time::Instant, t1: std::time::Instant, t2: std::time::Instant) -> Self {
        Timing {
            preprocessing_s: (t1 - t0).as_secs_f64(),
            sampling_s: (t2 - t1).as_secs_f64(),
            postprocessing_s: t2.elapsed().as_secs_f64(),
        }
    }

    /// Sum of the three phases.
    pub fn total_s(&self) -> f64 {
        self.preprocessing_s + self.sampling_s + self.postprocessing_s
    }
}

/// Why a solve stopped; the same values for every solver (`stop_reason` in JSON output).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    /// Did all the work it was asked for (sweeps, rounds, evaluations).
    Completed,
    /// Found a state at or below the target energy.
    Target,
    /// The time limit ran out (the result holds only complete anneals, or best-seen states).
    TimeLimit,
    /// The search stopped improving (e.g. `patience` rounds without gain).
    Converged,
    /// Interrupted from outside (Ctrl-C, a cancelled request).
    Interrupted,
    /// Reached its round limit (`max_rounds`).
    MaxRounds,
}

impl StopReason {
    /// The name used in JSON output (`time_limit`, `target`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Completed => "completed",
            StopReason::Target => "target",
            StopReason::TimeLimit => "time_limit",
            StopReason::Converged => "converged",
            StopReason::Interrupted => "interrupted",
            StopReason::MaxRounds => "max_rounds",
        }
    }

    /// True when the work was cut short from outside (time limit or interrupt): the last
    /// anneal of such a run did not finish its schedule.
    pub fn is_cut(self) -> bool {
        matches!(self, StopReason::TimeLimit | StopReason::Interrupted)
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who produced a sample set, how, and how long it took.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SolveInfo {
    /// Solver name (`exact`, `sa`, `greedy`, ...).
    pub solver: String,
    /// Parameters as the solver used them (defaults filled in), e.g. `beta_range`.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Seed of the run, for stochastic solvers.
    pub seed: Option<u64>,
    /// Time per phase.
    pub timing: Timing,
    /// Solver-specific facts (e.g. `num_ground_states`, `device`, flip-attempt counts).
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Why the solve stopped (`None` only from code that predates it).
    #[serde(default)]
    pub stop_reason: Option<StopReason>,
    /// Seconds from the start of the solve until a state at or below the target energy
    /// was found; `None` without a target or when it was not reached.
    #[serde(default)]
    pub time_to_target_s: Option<f64>,
}

/// Samples sorted by energy, lowest first; equal energies are ordered by state
/// (lexicographically), so the order never depends on the order reads finished in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleSet {
    /// Domain of the states.
    pub vartype: Vartype,
    /// Number of variables of every state.
    pub num_variables: usize,
    samples: Vec<Sample>,
    /// Provenance and timing.
    pub info: SolveInfo,
}

impl SampleSet {
    /// Builds a set from samples (sorted here, lowest energy first, ties by state).
    pub fn new(vartype: Vartype, num_variables: usize, mut samples: Vec<Sample>, info: SolveInfo) -> Self {
        samples.sort_by(|a, b| a.energy.total_cmp(&b.energy).then_with(|| a.state.cmp(&b.state)));
        SampleSet {
            vartype,
            num_variables,
            samples,
            info,
        }
    }

    /// Builds a set from states and their energies, one occurrence each.
    pub fn from_states(vartype: Vartype, num_variables: usize, states: Vec<(Vec<i8>, f64)>, info: SolveInfo) -> Self {
        let samples = states
            .into_iter()
            .map(|(state, energy)| Sample {
                state,
                energy,
                num_occurrences: 1,
            })
            .collect();
        Self::new(vartype, num_variables, samples, info)
    }

    /// Builds a set from states of `model` (in its vartype), one occurrence each, ranked by
    /// their energy *without* the offset (ties by state) and reported with it: a large
    /// offset (1e15 on unit weights) cannot reorder them.
    pub fn from_model_states(model: &Model, states: Vec<Vec<i8>>, info: SolveInfo) -> Self {
        let mut ranked: Vec<(f64, Vec<i8>)> = states
            .into_iter()
            .map(|s| (model.energy_without_offset(&s), s))
            .collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let offset = model.offset();
        let samples = ranked
            .into_iter()
            .map(|(v, state)| Sample {
                state,
                energy: offset + v,
                num_occurrences: 1,
            })
            .collect();
        SampleSet {
            vartype: model.vartype(),
            num_variables: model.num_variables(),
            samples,
            info,
        }
    }

    /// All samples, lowest energy first.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Number of distinct rows.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when the set has no sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The lowest-energy sample, if any.
    pub fn first(&self) -> Option<&Sample> {
        self.samples.first()
    }

    /// Total number of reads represented (sum of occurrences).
    pub fn num_reads(&self) -> u64 {
        self.samples.iter().map(|s| s.num_occurrences).sum()
    }

    /// Merges identical states, summing their occurrences (first-seen position kept).
    pub fn aggregate(&mut self) {
        let mut index: HashMap<Vec<i8>, usize> = HashMap::with_capacity(self.samples.len());
        let mut out: Vec<Sample> = Vec::with_capacity(self.samples.len());
        for s in self.samples.drain(..) {
            match index.get(&s.state) {
                Some(&k) => out[k].num_occurrences += s.num_occurrences,
                None => {
                    index.insert(s.state.clone(), out.len());
                    out.push(s);
                }
            }
        }
        self.samples = out;
    }

    /// Samples whose energy is within `atol + rtol * |E_min|` of the lowest (dimod's
    /// `lowest(rtol=1e-5, atol=1e-8)` semantics).
    pub fn lowest(&self, rtol: f64, atol: f64) -> &[Sample] {
        let Some(first) = self.first() else {
            return &[];
        };
        let tol = atol + rtol * first.energy.abs();
        let end = self.samples.partition_point(|s| s.energy - first.energy <= tol);
        &self.samples[..end]
    }

    /// Keeps the `n` lowest-energy rows.
    pub fn truncate(&mut self, n: usize) {
        self.samples.truncate(n);
    }

    /// Mean energy over all reads (weighted by occurrences); NaN when empty.
    pub fn mean_energy(&self) -> f64 {
        let reads = self.num_reads();
        if reads == 0 {
            return f64::NAN;
        }
        self.samples
            .iter()
            .map(|s| s.energy * s.num_occurrences as f64)
            .sum::<f64>()
            / reads as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> SampleSet {
        SampleSet::from_states(
            Vartype::Binary,
            2,
            vec![
                (vec![0, 1], 2.0),
                (vec![1, 1], -1.0),
                (vec![0, 1], 2.0),
                (vec![1, 0], -1.0 + 1e-12),
            ],
            SolveInfo::default(),
        )
    }

    #[test]
    fn sorted_and_aggregated() {
        let mut s = set();
        assert_eq!(s.first().unwrap().state, vec![1, 1]);
        s.aggregate();
        assert_eq!(s.len(), 3);
        assert_eq!(s.samples()[2].num_occurrences, 2);
        assert_eq!(s.num_reads(), 4);
        assert_eq!(s.lowest(1e-5, 1e-8).len(), 2);
    }

    #[test]
    fn json_round_trip() {
        let s = set();
        let text = serde_json::to_string(&s).unwrap();
        let back: SampleSet = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
    }
}
