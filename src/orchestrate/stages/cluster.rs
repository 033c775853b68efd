//! Stage 1, **cluster**: the traffic graph split into balanced clusters of about
//! `cluster_size` agents ([`crate::orchestrate::cluster::hierarchical`]; the interrupt
//! stops it between levels); the parents of the
//! clusters in its hierarchy are the groups (clusters of clusters) that the
//! [`place`](super::place) stage places one after another.

use super::{Ctx, Progress};
use crate::orchestrate::OrchestrateError;
use crate::orchestrate::cluster::{Clustering, QuboSplit, cluster, cluster_params};
use crate::orchestrate::orchestrator::Interrupt;
use crate::rng::derive_seed;
use std::time::Instant;

/// Agents per cluster: `cluster_size`, or `clamp(agents / (2 pools), 4, 32)`.
fn cluster_size(ctx: &Ctx) -> usize {
    let (aa, pp) = (ctx.inst.num_agents(), ctx.inst.num_pools());
    ctx.cfg
        .cluster_size
        .unwrap_or_else(|| (aa / (2 * pp).max(1)).clamp(4, 32))
}

/// Runs the stage.
pub(in crate::orchestrate) fn run(ctx: &Ctx, progress: &mut Progress) -> Result<Clustering, OrchestrateError> {
    let t0 = Instant::now();
    let cfg = ctx.cfg;
    let params = cluster_params(
        ctx.inst.num_agents(),
        cluster_size(ctx),
        cfg.max_k,
        derive_seed(cfg.seed, 1),
    );
    let split = QuboSplit {
        penalties: &cfg.penalties,
        backend: ctx.backend,
        batch_size: cfg.batch_size,
    };
    let clustering = cluster(
        &ctx.inst.traffic,
        &params,
        &split,
        cfg.interrupt.as_ref().map(Interrupt::flag),
    )?;
    progress.record("cluster", t0, clustering.splits, None);
    Ok(clustering)
}
