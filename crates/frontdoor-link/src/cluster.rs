//! From linked pairs to people: union–find over the links, strongest first, where a human
//! "not the same person" (or a twin guard) is a wall no chain of links may cross, and a human
//! "same person" is joined before anything else. Then pairwise precision and recall against
//! ground truth, counted from cluster × entity overlaps without enumerating pairs.

use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::HashMap;

/// What is known of a pair of records, for clustering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// A person said they are the same person: joined first, whatever else says.
    Same,
    /// A person said they are not, or they may be twins: no chain of links may join them.
    Apart,
    /// Linked by the matcher; `weak` when one side has no given name.
    Linked { probability: f64, weak: bool },
}

/// Clusters `n` records from what is known of pairs of them (see [`cluster`]).
pub fn cluster_verdicts(n: usize, verdicts: impl IntoIterator<Item = (u32, u32, Verdict)>) -> Vec<u32> {
    let (mut same, mut links, mut weak, mut apart) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (a, b, v) in verdicts {
        match v {
            Verdict::Same => same.push((a, b)),
            Verdict::Apart => apart.push((a, b)),
            Verdict::Linked { probability, weak: false } => links.push((a, b, probability)),
            Verdict::Linked { probability, weak: true } => weak.push((a, b, probability)),
        }
    }
    cluster(n, &same, &links, &weak, &apart)
}

/// Clusters `n` records. `must` pairs are joined first (people's confirmations), then `links` in
/// order of falling probability, skipping any join that would put a `cannot` pair together.
/// `weak` links (a record without a given name) come last, and join a record only when all its
/// weak links point into one cluster: a nameless record matching both twins joins neither.
/// Returns each record's cluster, named by its smallest member.
pub fn cluster(
    n: usize,
    must: &[(u32, u32)],
    links: &[(u32, u32, f64)],
    weak: &[(u32, u32, f64)],
    cannot: &[(u32, u32)],
) -> Vec<u32> {
    let mut uf = UnionFind::new(n);
    for &(a, b) in cannot {
        uf.forbid(a, b);
    }
    for &(a, b) in must {
        uf.union(a, b, true);
    }
    let mut order: Vec<&(u32, u32, f64)> = links.iter().collect();
    order.sort_by(|x, y| y.2.total_cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
    for &&(a, b, _) in &order {
        uf.union(a, b, false);
    }
    // Each record's weak partners' clusters, as the strong links left them.
    let mut partners: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for &(a, b, _) in weak {
        let (ra, rb) = (uf.find(a), uf.find(b));
        partners.entry(a).or_default().push(rb);
        partners.entry(b).or_default().push(ra);
    }
    let mut ambiguous: FxHashSet<u32> = FxHashSet::default();
    for (record, clusters) in &partners {
        let own = uf.find(*record);
        let mut others: Vec<u32> = clusters.iter().copied().filter(|c| *c != own).collect();
        others.sort_unstable();
        others.dedup();
        if others.len() > 1 {
            ambiguous.insert(*record);
        }
    }
    for &(a, b, _) in weak {
        if !ambiguous.contains(&a) && !ambiguous.contains(&b) {
            uf.union(a, b, false);
        }
    }
    // Each root's smallest member: the first record seen with that root.
    let mut smallest = vec![u32::MAX; n];
    let roots: Vec<u32> = (0..n as u32).map(|i| uf.find(i)).collect();
    for (i, r) in roots.iter().enumerate() {
        if let Some(slot) = smallest.get_mut(*r as usize)
            && *slot == u32::MAX
        {
            *slot = i as u32;
        }
    }
    roots.iter().map(|r| smallest.get(*r as usize).copied().filter(|s| *s != u32::MAX).unwrap_or(*r)).collect()
}

struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
    /// Per root: records its component may never join.
    walls: FxHashMap<u32, Vec<u32>>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind { parent: (0..n as u32).collect(), size: vec![1; n], walls: FxHashMap::default() }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        if x as usize >= self.parent.len() {
            return x;
        }
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    fn forbid(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        self.walls.entry(ra).or_default().push(b);
        self.walls.entry(rb).or_default().push(a);
    }

    /// Joins the components of `a` and `b` unless a wall separates them (`force` ignores walls:
    /// a person's confirmation wins).
    fn union(&mut self, a: u32, b: u32, force: bool) -> bool {
        if a as usize >= self.parent.len() || b as usize >= self.parent.len() {
            return false;
        }
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        if !force {
            let blocked = |uf: &mut Self, from: u32, to: u32| {
                let Some(walls) = uf.walls.get(&from).cloned() else { return false };
                walls.into_iter().any(|w| uf.find(w) == to)
            };
            if blocked(self, ra, rb) || blocked(self, rb, ra) {
                return false;
            }
        }
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] { (ra, rb) } else { (rb, ra) };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        if let Some(w) = self.walls.remove(&small) {
            self.walls.entry(big).or_default().extend(w);
        }
        true
    }
}

/// Pairwise precision, recall and F1 of a clustering against ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PairwiseScores {
    pub true_positives: u64,
    pub predicted_pairs: u64,
    pub true_pairs: u64,
}

impl PairwiseScores {
    pub fn precision(&self) -> f64 {
        if self.predicted_pairs == 0 { 0.0 } else { self.true_positives as f64 / self.predicted_pairs as f64 }
    }

    pub fn recall(&self) -> f64 {
        if self.true_pairs == 0 { 0.0 } else { self.true_positives as f64 / self.true_pairs as f64 }
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Scores a clustering over the records that have a ground-truth entity (`None`: unlabelled,
/// left out of both sides).
pub fn pairwise(clusters: &[u32], truth: &[Option<u64>]) -> PairwiseScores {
    let mut by_cluster: HashMap<u32, u64> = HashMap::new();
    let mut by_entity: HashMap<u64, u64> = HashMap::new();
    let mut by_both: HashMap<(u32, u64), u64> = HashMap::new();
    for (c, t) in clusters.iter().zip(truth) {
        let Some(t) = t else { continue };
        *by_cluster.entry(*c).or_default() += 1;
        *by_entity.entry(*t).or_default() += 1;
        *by_both.entry((*c, *t)).or_default() += 1;
    }
    PairwiseScores {
        true_positives: by_both.values().map(|n| pairs(*n)).sum(),
        predicted_pairs: by_cluster.values().map(|n| pairs(*n)).sum(),
        true_pairs: by_entity.values().map(|n| pairs(*n)).sum(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn links_chain_into_clusters_but_not_across_a_wall() {
        // 0-1-2 chain; 3-4 linked; a wall between 0 and 4 stops the 2-3 link from joining them.
        let links = [(0, 1, 0.99), (1, 2, 0.98), (3, 4, 0.97), (2, 3, 0.96)];
        let c = cluster(6, &[], &links, &[], &[(0, 4)]);
        assert_eq!(c, [0, 0, 0, 3, 3, 5]);
        // Without the wall they join.
        assert_eq!(cluster(6, &[], &links, &[], &[]), [0, 0, 0, 0, 0, 5]);
        // A person's confirmation crosses a wall.
        assert_eq!(cluster(3, &[(0, 2)], &[], &[], &[(0, 2)]), [0, 1, 0]);
    }

    #[test]
    fn a_nameless_record_joins_one_person_but_not_either_twin() {
        // 0 and 1 are twins (a wall); 2 has no given name and matches both; 3 matches only 4.
        let weak = [(0, 2, 0.99), (1, 2, 0.99), (3, 4, 0.99)];
        assert_eq!(cluster(5, &[], &[], &weak, &[(0, 1)]), [0, 1, 2, 3, 3]);
    }

    #[test]
    fn pairwise_scores_count_pairs() {
        // Truth: {0,1,2} and {3,4}. Predicted: {0,1}, {2,3,4}.
        let truth = [Some(1), Some(1), Some(1), Some(2), Some(2), None];
        let s = pairwise(&[0, 0, 2, 2, 2, 5], &truth);
        assert_eq!((s.true_positives, s.predicted_pairs, s.true_pairs), (2, 4, 4));
        assert!((s.f1() - 0.5).abs() < 1e-9);
        assert_eq!(pairwise(&[], &[]).f1(), 0.0);
    }
}
