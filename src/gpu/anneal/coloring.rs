//! Greedy colouring of the interaction graph: variables of one colour share no coupling,
//! so a whole colour class can be updated in parallel without changing the Metropolis
//! dynamics of any variable.

use crate::model::Couplings;

/// A proper vertex colouring with its classes.
#[derive(Clone, Debug, PartialEq)]
pub struct Coloring {
    /// Colour of every variable.
    pub color: Vec<u32>,
    /// Start of each class in `class_vars` (length `num_colors + 1`).
    pub class_ptr: Vec<u32>,
    /// Variables sorted by colour (increasing index inside a class).
    pub class_vars: Vec<u32>,
}

impl Coloring {
    /// Number of colours used.
    pub fn num_colors(&self) -> usize {
        self.class_ptr.len() - 1
    }

    /// Members of class `c`.
    pub fn class(&self, c: usize) -> &[u32] {
        &self.class_vars[self.class_ptr[c] as usize..self.class_ptr[c + 1] as usize]
    }

    /// True when no coupling joins two variables of the same colour.
    pub fn is_valid(&self, j: &Couplings) -> bool {
        (0..j.num_variables()).all(|i| j.row(i).0.iter().all(|&k| self.color[k as usize] != self.color[i]))
    }
}

/// Welsh–Powell greedy colouring: variables in order of decreasing degree (ties by
/// index), each given the smallest colour none of its coloured neighbours has. Uses at
/// most `max degree + 1` colours; O(n log n + couplings).
pub fn greedy_coloring(j: &Couplings) -> Coloring {
    let n = j.num_variables();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(j.degree(i as usize)), i));
    const NONE: u32 = u32::MAX;
    let mut color = vec![NONE; n];
    // stamp[c] == i + 1 when colour c is taken by a neighbour of the variable i being
    // coloured (avoids clearing a mask per variable).
    let mut stamp: Vec<usize> = Vec::new();
    let mut num_colors = 0u32;
    for &i in &order {
        let (nbrs, _) = j.row(i as usize);
        for &k in nbrs {
            let c = color[k as usize];
            if c != NONE {
                stamp[c as usize] = i as usize + 1;
            }
        }
        let c = (0..num_colors)
            .find(|&c| stamp[c as usize] != i as usize + 1)
            .unwrap_or(num_colors);
        if c == num_colors {
            num_colors += 1;
            stamp.push(0);
        }
        color[i as usize] = c;
    }
    let mut class_ptr = vec![0u32; num_colors as usize + 1];
    for &c in &color {
        class_ptr[c as usize + 1] += 1;
    }
    for c in 0..num_colors as usize {
        class_ptr[c + 1] += class_ptr[c];
    }
    let mut fill = class_ptr.clone();
    let mut class_vars = vec![0u32; n];
    for (i, &c) in color.iter().enumerate() {
        class_vars[fill[c as usize] as usize] = i as u32;
        fill[c as usize] += 1;
    }
    Coloring {
        color,
        class_ptr,
        class_vars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_cycle_needs_three() {
        let j = Couplings::from_triplets(5, (0..5).map(|i| (i, (i + 1) % 5, 1.0)).collect()).unwrap();
        let c = greedy_coloring(&j);
        assert!(c.is_valid(&j));
        assert_eq!(c.num_colors(), 3);
        assert_eq!(c.class_vars.len(), 5);
    }

    #[test]
    fn empty_graph_one_class() {
        let c = greedy_coloring(&Couplings::empty(4));
        assert_eq!(c.num_colors(), 1);
        assert_eq!(c.class(0), &[0, 1, 2, 3]);
    }
}
