//! Subproblems of a decomposition as jobs: encoding, and the handler that solves one.
//!
//! A job carries everything the local back-end needs to give the same answer on any
//! process: the job seed, the sub-solver kind and its parameters, the subproblem's id
//! (from which the back-end derives the subproblem's own seed), its local model and its
//! current state. The result is the best local spin state.

use super::codec::{CodecError, Reader, Writer, decode_model, encode_model};
use crate::decompose::backend::solve_one;
use crate::decompose::{SubSolverKind, SubSolverParams, SubStart, Subproblem};

/// Job kind of a subproblem solve.
pub const KIND_SUBPROBLEM: u8 = 2;

fn kind_code(k: SubSolverKind) -> u8 {
    match k {
        SubSolverKind::Exact => 0,
        SubSolverKind::Sa => 1,
        SubSolverKind::Greedy => 2,
        SubSolverKind::GpuSa => 3,
        SubSolverKind::Qaoa => 4,
    }
}

fn kind_of(code: u8) -> Result<SubSolverKind, CodecError> {
    Ok(match code {
        0 => SubSolverKind::Exact,
        1 => SubSolverKind::Sa,
        2 => SubSolverKind::Greedy,
        3 => SubSolverKind::GpuSa,
        4 => SubSolverKind::Qaoa,
        c => {
            return Err(CodecError::Invalid {
                field: "sub-solver",
                reason: format!("unknown code {c}"),
            });
        }
    })
}

/// Encodes the job "solve `sub` (with its own seed) with `kind` / `params`".
pub fn encode_subproblem(sub: &Subproblem, kind: SubSolverKind, params: &SubSolverParams) -> Vec<u8> {
    let mut w = Writer::default();
    w.u64(sub.seed).u8(kind_code(kind));
    w.u64(params.num_reads as u64).u64(params.num_sweeps as u64);
    match params.beta_range {
        Some((a, b)) => w.u8(1).f64(a).f64(b),
        None => w.u8(0),
    };
    w.u8(match params.start {
        SubStart::Random => 0,
        SubStart::Current => 1,
    });
    w.u64(params.qaoa_layers as u64).u64(params.qaoa_shots as u64);
    w.u64(sub.id).state(sub.warm_start.as_deref().unwrap_or_default());
    encode_model(&sub.model, &mut w);
    w.buf
}

/// Decodes a job written by [`encode_subproblem`].
pub fn decode_subproblem(payload: &[u8]) -> Result<(Subproblem, SubSolverKind, SubSolverParams), CodecError> {
    let mut r = Reader::new(payload);
    let seed = r.u64("seed")?;
    let kind = kind_of(r.u8("sub-solver")?)?;
    let num_reads = r.u64("num_reads")? as usize;
    let num_sweeps = r.u64("num_sweeps")? as usize;
    let beta_range = match r.u8("beta_range flag")? {
        0 => None,
        _ => Some((r.f64("beta_range hot")?, r.f64("beta_range cold")?)),
    };
    let start = match r.u8("start")? {
        0 => SubStart::Random,
        _ => SubStart::Current,
    };
    let qaoa_layers = r.u64("qaoa layers")? as usize;
    let qaoa_shots = r.u64("qaoa shots")? as usize;
    let id = r.u64("subproblem id")?;
    let current = r.state("current state")?;
    let model = decode_model(&mut r)?;
    let n = model.num_variables();
    if !current.is_empty() && current.len() != n {
        return Err(CodecError::Invalid {
            field: "current state",
            reason: format!("{} values for {n} variables", current.len()),
        });
    }
    let sub = Subproblem {
        id,
        model,
        warm_start: (!current.is_empty()).then_some(current),
        seed,
    };
    let params = SubSolverParams {
        num_reads,
        num_sweeps,
        beta_range,
        start,
        qaoa_layers,
        qaoa_shots,
        // Speed knobs only: a rank uses the defaults (not sent over MPI).
        qaoa_tuning: Default::default(),
    };
    Ok((sub, kind, params))
}

/// Solves one encoded subproblem job with this process's own back-end; returns the best
/// local spin state, encoded.
pub fn handle_subproblem(payload: &[u8]) -> Result<Vec<u8>, String> {
    let (sub, kind, params) = decode_subproblem(payload).map_err(|e| e.to_string())?;
    let backend = kind.backend(&params).map_err(|e| e.to_string())?;
    let state = solve_one(&*backend, &sub).map_err(|e| e.to_string())?;
    let mut w = Writer::default();
    w.state(&state);
    Ok(w.buf)
}

/// Decodes the result of [`handle_subproblem`].
pub fn decode_state(bytes: &[u8]) -> Result<Vec<i8>, CodecError> {
    Reader::new(bytes).state("result state")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Ising, Model};

    #[test]
    fn job_round_trip_gives_the_local_answer() {
        let ising = Ising::from_entries(
            6,
            &[
                (0, 1, 1.0),
                (1, 2, -1.0),
                (2, 3, 0.5),
                (3, 4, 1.0),
                (4, 5, -2.0),
                (0, 0, 0.3),
            ],
            0.0,
        )
        .unwrap();
        let sub = Subproblem {
            id: 42,
            model: Model::Ising(ising),
            warm_start: Some(vec![1, -1, 1, -1, 1, -1]),
            seed: 7,
        };
        let params = SubSolverParams {
            num_reads: 3,
            num_sweeps: 50,
            beta_range: Some((0.1, 3.0)),
            start: SubStart::Current,
            qaoa_layers: 2,
            qaoa_shots: 50,
            qaoa_tuning: Default::default(),
        };
        let job = encode_subproblem(&sub, SubSolverKind::Sa, &params);
        let (back, kind, p2) = decode_subproblem(&job).unwrap();
        assert_eq!(
            (back.seed, kind, &p2, back.id, &back.warm_start),
            (7, SubSolverKind::Sa, &params, 42, &sub.warm_start)
        );
        let remote = decode_state(&handle_subproblem(&job).unwrap()).unwrap();
        let local = solve_one(&*SubSolverKind::Sa.backend(&params).unwrap(), &sub).unwrap();
        assert_eq!(remote, local);
        assert!(decode_subproblem(&job[..job.len() - 3]).is_err());
    }
}
