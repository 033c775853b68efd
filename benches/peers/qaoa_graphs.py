"""Writes the benchmark graphs networkx.random_regular_graph(3, n, seed=1), n = 16..26 even,
as G-set files (1-based, weight 1) into benches/peers/qaoa_graphs/, so that qam, Qiskit Aer
and QOKit run on the same graphs. Usage: python3 benches/peers/qaoa_graphs.py"""
import os

import networkx as nx

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "qaoa_graphs")


def write(n, seed=1):
    g = nx.random_regular_graph(3, n, seed=seed)
    edges = sorted(tuple(sorted(e)) for e in g.edges())
    path = os.path.join(HERE, f"rr3_n{n}_s{seed}.gset")
    with open(path, "w") as f:
        f.write(f"{n} {len(edges)}\n")
        for u, v in edges:
            f.write(f"{u + 1} {v + 1} 1\n")
    return path


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    for n in range(16, 27, 2):
        print(write(n))
