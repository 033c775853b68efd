//! Hierarchical clustering: balanced, covers every agent, keeps teams together, and gives
//! the same answer however the subproblems are batched.

use qam::orchestrate::PenaltySettings;
use qam::orchestrate::hierarchical;
use qam::orchestrate::{CpuBackend, GenParams, generate, validate};

#[test]
fn clusters_are_balanced_and_independent_of_batching() {
    let s = generate(&GenParams {
        agents: 2000,
        pools: 10,
        tasks: 0,
        seed: 4,
        ..Default::default()
    });
    let inst = validate(&s).unwrap();
    let backend = CpuBackend::default();
    let pen = PenaltySettings::default();
    let a = hierarchical(&inst.traffic, 20, 4, &pen, &backend, 9, 64).unwrap();
    let b = hierarchical(&inst.traffic, 20, 4, &pen, &backend, 9, 3).unwrap();
    assert_eq!(a.cluster_of, b.cluster_of, "batching changed the answer");
    assert_eq!(a.members.len(), 100);
    assert!(
        a.depth >= 3,
        "100 clusters at 4 per split need at least 4 levels, got {}",
        a.depth
    );
    let mut seen = vec![false; 2000];
    for m in &a.members {
        // Leaves hold about 20 agents (10% tolerance per level, compounding).
        assert!(m.len() >= 12 && m.len() <= 28, "cluster of {}", m.len());
        for &v in m {
            assert!(!seen[v as usize]);
            seen[v as usize] = true;
        }
    }
    assert!(seen.iter().all(|&x| x));
    // Groups (clusters of clusters) hold at most 4 clusters.
    assert!(a.groups().iter().all(|g| !g.is_empty() && g.len() <= 4));
    // Traffic mostly stays inside clusters (teams of ~16 talk mostly inside the team).
    let (mut inside, mut total) = (0.0, 0.0);
    for (i, j, w) in inst.traffic.iter_upper() {
        total += w;
        if a.cluster_of[i] == a.cluster_of[j] {
            inside += w;
        }
    }
    assert!(
        inside / total > 0.5,
        "only {:.2} of the traffic inside clusters",
        inside / total
    );
}
