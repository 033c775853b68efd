//! Symmetric sparse coupling matrix (CSR) shared by [`Qubo`](super::Qubo) and
//! [`Ising`](super::Ising).

use super::ModelError;

/// Symmetric sparse matrix of pairwise couplings in compressed sparse row form.
///
/// Each unordered pair `{i, j}` (`i != j`) with a non-zero weight is stored twice, once in
/// row `i` and once in row `j`, so the neighbours of any variable are one contiguous slice.
/// Columns are sorted inside each row. Memory: 12 bytes per stored entry, i.e. 24 bytes per
/// coupling, plus 8 bytes per variable (1,000,000 variables with 10,000,000 couplings take
/// about 250 MB).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Couplings {
    row_ptr: Vec<usize>,
    cols: Vec<u32>,
    vals: Vec<f64>,
}

impl Couplings {
    /// An empty coupling matrix over `n` variables.
    pub fn empty(n: usize) -> Self {
        Couplings {
            row_ptr: vec![0; n + 1],
            cols: Vec::new(),
            vals: Vec::new(),
        }
    }

    /// Builds the matrix from `(i, j, w)` triplets over `n` variables.
    ///
    /// Pairs may appear in either order and more than once: weights of the same unordered
    /// pair are summed (as dimod does). Pairs whose summed weight is exactly zero are dropped.
    /// Errors on `i == j`, an index `>= n`, or a non-finite weight.
    pub fn from_triplets(n: usize, triplets: Vec<(u32, u32, f64)>) -> Result<Self, ModelError> {
        Self::build(n, triplets, true)
    }

    /// Like [`from_triplets`](Self::from_triplets) but a pair listed twice (in either order)
    /// is an error ([`ModelError::DuplicateCoupling`]), as file formats that list each
    /// pair once require.
    pub fn from_unique_triplets(n: usize, triplets: Vec<(u32, u32, f64)>) -> Result<Self, ModelError> {
        Self::build(n, triplets, false)
    }

    fn build(n: usize, mut triplets: Vec<(u32, u32, f64)>, sum_duplicates: bool) -> Result<Self, ModelError> {
        if n > u32::MAX as usize {
            return Err(ModelError::TooManyVariables(n));
        }
        for &(i, j, w) in &triplets {
            if i as usize >= n || j as usize >= n {
                return Err(ModelError::IndexOutOfRange {
                    index: i.max(j) as usize,
                    n,
                });
            }
            if i == j {
                return Err(ModelError::SelfCoupling(i as usize));
            }
            if !w.is_finite() {
                return Err(ModelError::NonFinite(format!("coupling ({i}, {j}) = {w}")));
            }
        }
        for t in triplets.iter_mut() {
            if t.0 > t.1 {
                std::mem::swap(&mut t.0, &mut t.1);
            }
        }
        triplets.sort_unstable_by_key(|&(i, j, _)| ((i as u64) << 32) | j as u64);
        // Merge duplicates (summing weights), drop exact zeros.
        let mut merged: Vec<(u32, u32, f64)> = Vec::with_capacity(triplets.len());
        for (i, j, w) in triplets {
            match merged.last_mut() {
                Some(last) if last.0 == i && last.1 == j => {
                    if !sum_duplicates {
                        return Err(ModelError::DuplicateCoupling(i as usize, j as usize));
                    }
                    last.2 += w
                }
                _ => merged.push((i, j, w)),
            }
        }
        // Summed duplicates may overflow even when every part is finite.
        if let Some(&(i, j, w)) = merged.iter().find(|t| !t.2.is_finite()) {
            return Err(ModelError::NonFinite(format!(
                "coupling ({i}, {j}) = {w} after summing repeated entries"
            )));
        }
        merged.retain(|t| t.2 != 0.0);
        Ok(Self::from_sorted_upper(n, &merged))
    }

    /// Builds from upper-triangle triplets `(i, j, w)` with `i < j`, sorted by `(i, j)`,
    /// without duplicates or zeros (not checked beyond debug assertions).
    fn from_sorted_upper(n: usize, upper: &[(u32, u32, f64)]) -> Self {
        let mut deg = vec![0usize; n + 1];
        for &(i, j, _) in upper {
            deg[i as usize] += 1;
            deg[j as usize] += 1;
        }
        let mut row_ptr = vec![0usize; n + 1];
        for v in 0..n {
            row_ptr[v + 1] = row_ptr[v] + deg[v];
        }
        let nnz = row_ptr[n];
        let mut cols = vec![0u32; nnz];
        let mut vals = vec![0f64; nnz];
        let mut fill = row_ptr.clone();
        // Lower entries of row j (column i < j) arrive in increasing i because the triplets
        // are sorted by i; upper entries of row i arrive in increasing j. Lower ones all come
        // before the upper ones only if we place them in two passes.
        for &(i, j, w) in upper {
            let p = fill[j as usize];
            cols[p] = i;
            vals[p] = w;
            fill[j as usize] += 1;
        }
        for &(i, j, w) in upper {
            let p = fill[i as usize];
            cols[p] = j;
            vals[p] = w;
            fill[i as usize] += 1;
        }
        debug_assert!((0..n).all(|v| { cols[row_ptr[v]..row_ptr[v + 1]].windows(2).all(|w| w[0] < w[1]) }));
        Couplings { row_ptr, cols, vals }
    }

    /// Number of variables (rows).
    pub fn num_variables(&self) -> usize {
        self.row_ptr.len() - 1
    }

    /// Number of distinct couplings (unordered pairs).
    pub fn num_interactions(&self) -> usize {
        self.cols.len() / 2
    }

    /// Neighbours of `i` and the coupling weight to each, sorted by neighbour index.
    #[inline]
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.row_ptr[i], self.row_ptr[i + 1]);
        (&self.cols[a..b], &self.vals[a..b])
    }

    /// Number of neighbours of `i`.
    #[inline]
    pub fn degree(&self, i: usize) -> usize {
        self.row_ptr[i + 1] - self.row_ptr[i]
    }

    /// Weight of the coupling between `i` and `j` (0 when absent). O(log degree).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        let (c, v) = self.row(i);
        match c.binary_search(&(j as u32)) {
            Ok(p) => v[p],
            Err(_) => 0.0,
        }
    }

    /// The raw CSR arrays `(row_ptr, cols, vals)`; row `i` is `row_ptr[i]..row_ptr[i+1]`.
    pub fn csr(&self) -> (&[usize], &[u32], &[f64]) {
        (&self.row_ptr, &self.cols, &self.vals)
    }

    /// Iterates over each coupling once as `(i, j, w)` with `i < j`, in `(i, j)` order.
    pub fn iter_upper(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        (0..self.num_variables()).flat_map(move |i| {
            let (c, v) = self.row(i);
            let start = c.partition_point(|&j| (j as usize) < i);
            c[start..]
                .iter()
                .zip(&v[start..])
                .map(move |(&j, &w)| (i, j as usize, w))
        })
    }

    /// Same structure with every weight mapped by `f` (zeros produced by `f` are kept).
    pub fn map_weights(&self, f: impl Fn(f64) -> f64) -> Self {
        Couplings {
            row_ptr: self.row_ptr.clone(),
            cols: self.cols.clone(),
            vals: self.vals.iter().map(|&w| f(w)).collect(),
        }
    }

    /// Sum over `j` of the weights in row `i`.
    pub fn row_sum(&self, i: usize) -> f64 {
        self.row(i).1.iter().sum()
    }

    /// Breadth-first order of the coupling graph: each variable's neighbours are queued by
    /// decreasing weight (ties: lower index first); each new component starts from the next
    /// not yet visited variable of `starts`. Variables missing from `starts` and unreachable
    /// from them are left out. Puts strongly coupled variables next to each other.
    pub fn bfs_order_heavy_first(&self, starts: impl IntoIterator<Item = usize>) -> Vec<usize> {
        let n = self.num_variables();
        let mut seen = vec![false; n];
        let mut order = Vec::with_capacity(n);
        let mut queue = std::collections::VecDeque::new();
        for s in starts {
            if seen[s] {
                continue;
            }
            seen[s] = true;
            queue.push_back(s);
            while let Some(u) = queue.pop_front() {
                order.push(u);
                let (cols, w) = self.row(u);
                let mut nb: Vec<(usize, f64)> = cols.iter().zip(w).map(|(&v, &w)| (v as usize, w)).collect();
                nb.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                for (v, _) in nb {
                    if !seen[v] {
                        seen[v] = true;
                        queue.push_back(v);
                    }
                }
            }
        }
        order
    }

    /// Bytes held by the arrays (for memory reports).
    pub fn heap_bytes(&self) -> usize {
        self.row_ptr.len() * 8 + self.cols.len() * 4 + self.vals.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_duplicates_and_orders() {
        let c = Couplings::from_triplets(4, vec![(2, 0, 1.0), (0, 2, 0.5), (1, 3, -2.0), (3, 1, 2.0)]).unwrap();
        assert_eq!(c.num_interactions(), 1);
        assert_eq!(c.get(0, 2), 1.5);
        assert_eq!(c.get(2, 0), 1.5);
        assert_eq!(c.get(1, 3), 0.0);
        let up: Vec<_> = c.iter_upper().collect();
        assert_eq!(up, vec![(0, 2, 1.5)]);
    }

    #[test]
    fn rejects_bad_triplets() {
        assert!(matches!(
            Couplings::from_triplets(2, vec![(0, 2, 1.0)]),
            Err(ModelError::IndexOutOfRange { .. })
        ));
        assert!(matches!(
            Couplings::from_triplets(2, vec![(1, 1, 1.0)]),
            Err(ModelError::SelfCoupling(1))
        ));
        assert!(matches!(
            Couplings::from_triplets(2, vec![(0, 1, f64::NAN)]),
            Err(ModelError::NonFinite(_))
        ));
    }

    #[test]
    fn bfs_heavy_first() {
        // 0 -1- 1, 0 -5- 2, 2 -1- 3; 4 isolated.
        let c = Couplings::from_triplets(5, vec![(0, 1, 1.0), (0, 2, 5.0), (2, 3, 1.0)]).unwrap();
        assert_eq!(c.bfs_order_heavy_first(0..5), vec![0, 2, 1, 3, 4]);
        assert_eq!(c.bfs_order_heavy_first([3]), vec![3, 2, 0, 1]);
    }

    #[test]
    fn rows_sorted() {
        let t = vec![(3, 1, 1.0), (0, 3, 2.0), (2, 3, 3.0), (1, 2, 4.0), (0, 1, 5.0)];
        let c = Couplings::from_triplets(4, t).unwrap();
        assert_eq!(c.row(3).0, &[0, 1, 2]);
        assert_eq!(c.row(1).0, &[0, 2, 3]);
        assert_eq!(c.row(1).1, &[5.0, 4.0, 1.0]);
    }
}
