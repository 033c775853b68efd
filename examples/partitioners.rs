//! Compares the modes of the crate's one graph partitioner (`qam::decompose::partition`) on
//! the same graphs: the size-capped multilevel mode (decomposition's), the balanced mode
//! with an exact cluster count `ceil(n / cap)` and its greedy split, and the balanced mode
//! with k-way partition QUBOs on the CPU batch solver as its split strategy
//! (`qam::orchestrate::hierarchical`, orchestration's). All get edge weights `|w|`.
//!
//! ```sh
//! cargo run --release --example partitioners -- ../shared/data/gset/G22.txt:20,200 ../shared/data/gset/G81.txt:200
//! ```
//!
//! Arguments `FILE:CAP,CAP...` (a G-set / qbsolv / ... file) or `scenario:AGENTS:POOLS:SEED:CAP`
//! (the traffic graph of a generated scenario). Prints one markdown row per graph, cap and
//! partitioner: clusters, cut weight as a share of the total, balance (largest / mean
//! cluster), smallest and largest cluster, time.

use qam::decompose::partition::{BalancedParams, GrowSplit, balanced};
use qam::decompose::{Graph, PartitionParams, partition};
use qam::io::{ReadOptions, read_file};
use qam::model::Couplings;
use qam::orchestrate::PenaltySettings;
use qam::orchestrate::hierarchical;
use qam::orchestrate::{CpuBackend, GenParams, generate, validate};
use std::time::Instant;

fn row(name: &str, cap: usize, who: &str, g: &Couplings, cluster_of: &[u32], secs: f64) {
    let k = cluster_of.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut sizes = vec![0usize; k];
    for &c in cluster_of {
        sizes[c as usize] += 1;
    }
    let (mut cut, mut total) = (0.0, 0.0);
    for (i, j, w) in g.iter_upper() {
        total += w.abs();
        if cluster_of[i] != cluster_of[j] {
            cut += w.abs();
        }
    }
    let mean = cluster_of.len() as f64 / k as f64;
    let (lo, hi) = (
        sizes.iter().min().copied().unwrap_or(0),
        sizes.iter().max().copied().unwrap_or(0),
    );
    println!(
        "| {name} | {} | {cap} | {who} | {k} | {:.2} | {:.2} | {lo}..{hi} | {secs:.3} |",
        cluster_of.len(),
        100.0 * cut / total.max(f64::MIN_POSITIVE),
        hi as f64 / mean
    );
}

fn compare(name: &str, g: &Couplings, cap: usize, max_k: usize) {
    let abs = Couplings::from_triplets(
        g.num_variables(),
        g.iter_upper().map(|(i, j, w)| (i as u32, j as u32, w.abs())).collect(),
    )
    .expect("same shape");
    let t = Instant::now();
    let p = partition(&Graph::from_couplings(&abs), &PartitionParams::new(cap)).expect("partition");
    row(
        name,
        cap,
        "size-capped multilevel",
        g,
        p.assignment(),
        t.elapsed().as_secs_f64(),
    );
    let t = Instant::now();
    let params = BalancedParams {
        max_k,
        seed: 1,
        ..BalancedParams::new(g.num_variables().div_ceil(cap))
    };
    let b = balanced(&Graph::from_couplings(&abs), &params, &GrowSplit, None).expect("balanced");
    row(
        name,
        cap,
        "balanced, greedy split",
        g,
        &b.cluster_of,
        t.elapsed().as_secs_f64(),
    );
    let t = Instant::now();
    let c = hierarchical(
        &abs,
        cap,
        max_k,
        &PenaltySettings::default(),
        &CpuBackend::default(),
        1,
        64,
    )
    .expect("clustering");
    row(
        name,
        cap,
        "balanced, QUBO split",
        g,
        &c.cluster_of,
        t.elapsed().as_secs_f64(),
    );
}

fn main() {
    println!("| graph | n | cap | partitioner | clusters | cut % | balance | sizes | s |");
    println!("|---|---:|---:|---|---:|---:|---:|---|---:|");
    for arg in std::env::args().skip(1) {
        if let Some(spec) = arg.strip_prefix("scenario:") {
            let f: Vec<usize> = spec.split(':').map(|x| x.parse().expect("a number")).collect();
            let [agents, pools, seed, cap] = f[..] else {
                panic!("scenario:AGENTS:POOLS:SEED:CAP");
            };
            let s = generate(&GenParams {
                agents,
                pools,
                tasks: 0,
                seed: seed as u64,
                ..Default::default()
            });
            let inst = validate(&s).expect("valid scenario");
            compare(&format!("traffic {agents}/{pools} seed {seed}"), &inst.traffic, cap, 8);
        } else {
            let (file, caps) = arg.split_once(':').expect("FILE:CAP,CAP");
            let problem = read_file(file, ReadOptions::default()).expect("readable file");
            let ising = problem.model.to_ising();
            let name = std::path::Path::new(file)
                .file_stem()
                .map_or(file.into(), |s| s.to_string_lossy().to_string());
            for cap in caps.split(',') {
                compare(&name, ising.j(), cap.parse().expect("a cap"), 8);
            }
        }
    }
}
