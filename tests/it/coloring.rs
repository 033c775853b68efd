//! Greedy colouring of interaction graphs: valid (no coupled pair shares a colour) on
//! random graphs, every variable in exactly one class, at most max degree + 1 colours.

use qam::generate::{Weights, erdos_renyi, regular, torus};
use qam::gpu::anneal::coloring::greedy_coloring;

fn check(j: &qam::model::Couplings, what: &str) {
    let c = greedy_coloring(j);
    assert!(c.is_valid(j), "{what}: invalid colouring");
    let n = j.num_variables();
    let mut seen = vec![false; n];
    for k in 0..c.num_colors() {
        for &v in c.class(k) {
            assert!(!seen[v as usize], "{what}: {v} in two classes");
            seen[v as usize] = true;
            assert_eq!(c.color[v as usize], k as u32);
        }
    }
    assert!(seen.iter().all(|&s| s), "{what}: a variable has no class");
    let max_deg = (0..n).map(|i| j.degree(i)).max().unwrap_or(0);
    assert!(c.num_colors() <= max_deg + 1, "{what}: {} colours", c.num_colors());
}

#[test]
fn colourings_of_random_graphs_are_valid() {
    for seed in 0..5 {
        for (n, p) in [(50, 0.5), (500, 0.02), (2000, 0.01)] {
            let g = erdos_renyi(n, p, Weights::PlusMinusOne, seed).unwrap();
            check(g.model.couplings(), &format!("G({n}, {p}) seed {seed}"));
        }
        let g = regular(10_000, 3, Weights::One, seed).unwrap();
        check(g.model.couplings(), &format!("3-regular seed {seed}"));
        let g = torus(400, Weights::PlusMinusOne, seed).unwrap();
        check(g.model.couplings(), &format!("torus seed {seed}"));
    }
}
