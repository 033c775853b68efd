//! Routes each subproblem to the back-end that suits its size.
//!
//! A [`Router`] holds routes `(max_variables, back-end)`, smallest first; a subproblem goes
//! to the first route that takes its size (e.g. exhaustive search up to 12 variables, then
//! the chosen annealer; later: QAOA up to its qubit limit, GPU batches above). When every
//! route is a streaming CPU back-end, each subproblem is extracted and solved in the same
//! rayon task, so extraction and solving overlap across the pool. When a route wants
//! batches (a GPU), subproblems are extracted chunk by chunk and the next chunk is
//! extracted on the CPU while the current one is being solved.

use super::DecomposeError;
use super::backend::{SubSolverKind, SubSolverParams, exact_backend};
use super::subproblem::Clamped;
use crate::batch::{BatchSolver, Subproblem, best_spins};
use crate::rng::derive_seed;
use crate::solvers::SolveContext;
use rayon::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Sizes up to this go to the exhaustive back-end by default (2^12 states: microseconds).
pub const DEFAULT_EXACT_BELOW: usize = 12;

struct Route {
    max_variables: usize,
    name: String,
    backend: Arc<dyn BatchSolver>,
    solved: AtomicU64,
}

/// Size-based dispatch of subproblems to back-ends (see the module docs).
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// A router with no route.
    pub fn new() -> Self {
        Router::default()
    }

    /// Adds a route for subproblems of up to `max_variables` (capped by the back-end's own
    /// limit). Routes are kept smallest first.
    pub fn with_route(mut self, max_variables: usize, backend: Arc<dyn BatchSolver>) -> Self {
        let max_variables = max_variables.min(backend.max_variables());
        let at = self.routes.partition_point(|r| r.max_variables <= max_variables);
        self.routes.insert(
            at,
            Route {
                max_variables,
                name: backend.name(),
                backend,
                solved: AtomicU64::new(0),
            },
        );
        self
    }

    /// The usual router for `--sub-solver kind`: subproblems of up to `exact_below`
    /// variables go to exhaustive search, the rest to `kind`.
    pub fn for_kind(kind: SubSolverKind, params: &SubSolverParams, exact_below: usize) -> Result<Self, DecomposeError> {
        let primary = kind.backend(params)?;
        let mut r = Router::new().with_route(usize::MAX, primary);
        if kind != SubSolverKind::Exact && exact_below > 0 {
            r = r.with_route(exact_below, exact_backend());
        }
        Ok(r)
    }

    /// Largest subproblem any route takes (0 without routes).
    pub fn limit(&self) -> usize {
        self.routes.iter().map(|r| r.max_variables).max().unwrap_or(0)
    }

    /// Name of the back-end that takes the largest subproblems.
    pub fn primary_name(&self) -> &str {
        self.routes.last().map_or("none", |r| &r.name)
    }

    /// How many subproblems each back-end has solved so far, by name.
    pub fn counts(&self) -> Vec<(&str, u64)> {
        self.routes
            .iter()
            .map(|r| (r.name.as_str(), r.solved.load(Ordering::Relaxed)))
            .collect()
    }

    fn pick(&self, n: usize) -> Result<usize, DecomposeError> {
        self.routes
            .iter()
            .position(|r| n <= r.max_variables)
            .ok_or(DecomposeError::NoRoute {
                size: n,
                limit: self.limit(),
            })
    }

    /// Extracts subproblem `k` with `make(k)` for `k in 0..count`, gives it the seed
    /// `derive_seed(seed, sub.id)`, solves it on its route and returns
    /// `consume(&sub, best_state)` (best state as spins) in order of `k`.
    pub fn run<T, M, C>(
        &self,
        count: usize,
        make: M,
        consume: C,
        seed: u64,
        ctx: &SolveContext,
    ) -> Result<Vec<T>, DecomposeError>
    where
        T: Send,
        M: Fn(usize) -> Result<Clamped, DecomposeError> + Sync,
        C: Fn(&Clamped, Vec<i8>) -> T + Sync,
    {
        let make = |k: usize| -> Result<Clamped, DecomposeError> {
            let mut c = make(k)?;
            c.sub.seed = derive_seed(seed, c.sub.id);
            Ok(c)
        };
        let chunk = self.routes.iter().filter_map(|r| r.backend.batch_size()).max();
        let Some(chunk) = chunk else {
            return (0..count)
                .into_par_iter()
                .map(|k| {
                    let c = make(k)?;
                    let r = &self.routes[self.pick(c.len())?];
                    let mut st = r.backend.solve_batch(std::slice::from_ref(&c.sub), ctx)?;
                    r.solved.fetch_add(1, Ordering::Relaxed);
                    Ok(consume(&c, st.pop().as_ref().map(best_spins).unwrap_or_default()))
                })
                .collect();
        };
        let extract = |a: usize, b: usize| -> Result<Vec<Clamped>, DecomposeError> {
            (a..b).into_par_iter().map(&make).collect()
        };
        let starts: Vec<usize> = (0..count).step_by(chunk).collect();
        let mut out = Vec::with_capacity(count);
        let mut next = match starts.first() {
            Some(&a) => Some(extract(a, (a + chunk).min(count))?),
            None => None,
        };
        for (i, _) in starts.iter().enumerate() {
            // The batch layer takes the subproblems alone; their maps back to the global
            // model wait beside them.
            let (subs, maps): (Vec<Subproblem>, Vec<(Vec<u32>, f64)>) = next
                .take()
                .unwrap_or_default()
                .into_iter()
                .map(|c| (c.sub, (c.vars, c.constant)))
                .unzip();
            let following = starts.get(i + 1).map(|&a| (a, (a + chunk).min(count)));
            let (solved, extracted) = std::thread::scope(|s| {
                let handle = following.map(|(a, b)| s.spawn(move || extract(a, b)));
                let solved = self.solve_chunk(&subs, ctx);
                let extracted = handle.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
                (solved, extracted)
            });
            next = extracted.transpose()?;
            for ((sub, (vars, constant)), st) in subs.into_iter().zip(maps).zip(solved?) {
                out.push(consume(&Clamped { sub, vars, constant }, st));
            }
        }
        Ok(out)
    }

    /// Solves already extracted subproblems, grouping them by route.
    fn solve_chunk(&self, subs: &[Subproblem], ctx: &SolveContext) -> Result<Vec<Vec<i8>>, DecomposeError> {
        let mut route_of = Vec::with_capacity(subs.len());
        for s in subs {
            route_of.push(self.pick(s.len())?);
        }
        if let Some(&r) = route_of.first()
            && route_of.iter().all(|&x| x == r)
        {
            let route = &self.routes[r];
            let solved = route.backend.solve_batch(subs, ctx)?;
            route.solved.fetch_add(subs.len() as u64, Ordering::Relaxed);
            return Ok(solved.iter().map(best_spins).collect());
        }
        let mut states: Vec<Vec<i8>> = vec![Vec::new(); subs.len()];
        for (r, route) in self.routes.iter().enumerate() {
            let idx: Vec<usize> = (0..subs.len()).filter(|&k| route_of[k] == r).collect();
            if idx.is_empty() {
                continue;
            }
            let group: Vec<Subproblem> = idx.iter().map(|&k| subs[k].clone()).collect();
            let solved = route.backend.solve_batch(&group, ctx)?;
            route.solved.fetch_add(group.len() as u64, Ordering::Relaxed);
            for (k, set) in idx.into_iter().zip(&solved) {
                states[k] = best_spins(set);
            }
        }
        Ok(states)
    }
}
