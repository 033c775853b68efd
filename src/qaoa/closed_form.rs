//! Closed forms for `p = 1` QAOA on unweighted MaxCut (Wang, Hadfield, Jiang, Rieffel,
//! PRA 97 022304, arXiv:1706.02998), in the cut convention of the literature:
//! cost `C' = Σ_(u,v) (1 − Z_u Z_v)/2`, state `e^{−iβB} e^{−iγC'} |+⟩^n`.
//!
//! For edge `(u, v)` with `d_u = deg(u) − 1`, `d_v = deg(v) − 1` and `λ` triangles through
//! it:
//! `⟨C'_uv⟩ = ½ + ¼ sin 4β sin γ (cos^{d_u} γ + cos^{d_v} γ)
//!            − ¼ sin² 2β cos^{d_u + d_v − 2λ} γ (1 − cos^λ 2γ)`.
//!
//! In qam's energy convention (MaxCut as the Ising `E = Σ s_u s_v`), use
//! `γ_cut = −2γ` (see [`Angles::to_cut_convention`](super::Angles::to_cut_convention)) and
//! `⟨E⟩ = |E| − 2 ⟨C'⟩`.

use std::collections::HashSet;

/// `⟨C'_uv⟩` of one edge from its endpoint degrees and triangle count.
pub fn edge_expectation(deg_u: usize, deg_v: usize, triangles: usize, gamma_cut: f64, beta: f64) -> f64 {
    let (du, dv, l) = (deg_u as i32 - 1, deg_v as i32 - 1, triangles as i32);
    let c = gamma_cut.cos();
    0.5 + 0.25 * (4.0 * beta).sin() * gamma_cut.sin() * (c.powi(du) + c.powi(dv))
        - 0.25 * (2.0 * beta).sin().powi(2) * c.powi(du + dv - 2 * l) * (1.0 - (2.0 * gamma_cut).cos().powi(l))
}

/// Expected cut `⟨C'⟩` of the unweighted graph on `n` vertices with `edges` (each listed
/// once, no self-loops) at `p = 1`, cut convention.
pub fn expected_cut(n: usize, edges: &[(u32, u32)], gamma_cut: f64, beta: f64) -> f64 {
    let mut adj: Vec<HashSet<u32>> = vec![HashSet::new(); n];
    for &(u, v) in edges {
        adj[u as usize].insert(v);
        adj[v as usize].insert(u);
    }
    edges
        .iter()
        .map(|&(u, v)| {
            let (a, b) = (&adj[u as usize], &adj[v as usize]);
            let triangles = a.intersection(b).count();
            edge_expectation(a.len(), b.len(), triangles, gamma_cut, beta)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangle_free_cubic_optimum() {
        // Notes: triangle-free 3-regular, β = π/8, γ = arctan(1/√2) gives ½ + 1/(3√3).
        let g = (1.0f64 / 2f64.sqrt()).atan();
        let e = edge_expectation(3, 3, 0, g, std::f64::consts::PI / 8.0);
        assert!((e - (0.5 + 1.0 / (3.0 * 3f64.sqrt()))).abs() < 1e-12);
    }
}
