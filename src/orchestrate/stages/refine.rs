//! Stage 4, **refine**: single-agent moves across cluster borders with exact objective
//! deltas ([`crate::orchestrate::refine::refine_moves`]), until no move improves or
//! `refine_passes` passes.

use super::{Ctx, Progress, State};
use crate::orchestrate::refine::refine_moves;
use std::time::Instant;

/// Runs the stage on `st` (skipped when interrupted).
pub(in crate::orchestrate) fn run(ctx: &Ctx, st: &mut State, progress: &mut Progress) {
    let t0 = Instant::now();
    if !ctx.interrupted() {
        refine_moves(&mut st.global, ctx.cfg.refine_passes);
    }
    progress.note_feasible(ctx, st);
    progress.record("refine", t0, 0, Some(st.global.problem.objective(&st.global.placement)));
}
