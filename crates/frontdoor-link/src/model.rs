//! The Fellegi–Sunter model: for each comparison level, m (how often true matches show it) and
//! u (how often non-matches do); a pair's match weight is the prior log-odds plus the sum of
//! log2(m/u) over its levels, with the u of an exact name or date-of-birth agreement replaced by
//! how common that value is (term-frequency adjustment: two Smiths agree far more often by
//! chance than two Przybylskis). u is estimated from random pairs, m and the prior by EM over the
//! blocked candidate pairs.

use crate::compare::{COMPARISONS, DOB, FAMILY, GIVEN, LEVELS, MAX_LEVELS, NULL, Pattern, unpack};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Probabilities are kept inside these bounds so no weight is infinite or NaN.
const FLOOR: f64 = 1e-6;

/// Estimated parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Prior probability that a candidate pair is a match.
    pub prior: f64,
    /// m per comparison and level.
    pub m: [[f64; MAX_LEVELS]; COMPARISONS],
    /// u per comparison and level among the candidate pairs (blocking makes non-matching
    /// candidates agree more often than random pairs do: siblings share a family name and a home).
    pub u: [[f64; MAX_LEVELS]; COMPARISONS],
    /// u among random pairs: the starting point, and the baseline term frequencies adjust.
    pub u_random: [[f64; MAX_LEVELS]; COMPARISONS],
    /// EM iterations run, and the last change in any parameter.
    pub iterations: u32,
    pub converged_delta: f64,
}

/// One comparison's part in a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub field: String,
    /// The level's description, or "missing" when a side lacks the field.
    pub level: String,
    /// Contribution to the match weight (log2 Bayes factor); 0 when missing.
    pub weight: f64,
    /// Whether the weight was adjusted for how common the agreeing value is.
    pub term_frequency_adjusted: bool,
    pub left: Option<String>,
    pub right: Option<String>,
}

/// A pair's score, field by field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub prior_weight: f64,
    pub evidence: Vec<Evidence>,
    pub weight: f64,
    pub probability: f64,
    /// Rules beyond the weights that applied (names swapped, possible twins).
    pub notes: Vec<String>,
}

fn level_count(c: usize) -> usize {
    LEVELS.get(c).map(|(_, l)| l.len()).unwrap_or(1)
}

/// Turns counts into probabilities per level, never below [`FLOOR`].
fn normalise_rows(counts: &[[f64; MAX_LEVELS]; COMPARISONS]) -> [[f64; MAX_LEVELS]; COMPARISONS] {
    let mut out = [[0.0; MAX_LEVELS]; COMPARISONS];
    for (c, (row, counts)) in out.iter_mut().zip(counts).enumerate() {
        let n = level_count(c);
        let total: f64 = counts.iter().take(n).sum::<f64>() + FLOOR * n as f64;
        for l in 0..n {
            row[l] = ((counts[l] + FLOOR) / total).clamp(FLOOR, 1.0);
        }
    }
    out
}

impl Model {
    /// u from the patterns of random pairs (nearly all non-matches).
    pub fn u_from_random(patterns: &HashMap<u32, u64>) -> [[f64; MAX_LEVELS]; COMPARISONS] {
        let mut counts = [[0.0; MAX_LEVELS]; COMPARISONS];
        for (packed, n) in patterns {
            for (c, l) in unpack(*packed).iter().enumerate() {
                if *l != NULL
                    && let Some(slot) = counts.get_mut(c).and_then(|r| r.get_mut(usize::from(*l)))
                {
                    *slot += *n as f64;
                }
            }
        }
        normalise_rows(&counts)
    }

    /// Starting m: most matches agree exactly, a few at each weaker level.
    fn initial_m() -> [[f64; MAX_LEVELS]; COMPARISONS] {
        let mut counts = [[0.0; MAX_LEVELS]; COMPARISONS];
        for (c, row) in counts.iter_mut().enumerate() {
            let n = level_count(c);
            for (l, slot) in row.iter_mut().take(n).enumerate() {
                *slot = if l == 0 { 0.9 } else { 0.1 / (n - 1) as f64 * 0.5_f64.powi(l as i32 - 1) };
            }
        }
        normalise_rows(&counts)
    }

    /// EM over the candidate pairs' pattern counts: a two-class mixture (match, non-match) whose
    /// u starts from the random pairs' and m from "matches mostly agree".
    pub fn estimate(u: [[f64; MAX_LEVELS]; COMPARISONS], patterns: &HashMap<u32, u64>, max_iterations: u32) -> Model {
        let mut model =
            Model { prior: 0.05, m: Model::initial_m(), u, u_random: u, iterations: 0, converged_delta: f64::NAN };
        let patterns: Vec<(Pattern, f64)> = patterns.iter().map(|(p, n)| (unpack(*p), *n as f64)).collect();
        let total: f64 = patterns.iter().map(|(_, n)| n).sum();
        if total <= 0.0 {
            model.converged_delta = 0.0;
            return model;
        }
        for it in 1..=max_iterations {
            let mut m_counts = [[0.0; MAX_LEVELS]; COMPARISONS];
            let mut u_counts = [[0.0; MAX_LEVELS]; COMPARISONS];
            let mut matches = 0.0;
            for (p, n) in &patterns {
                let q = model.probability_of_pattern(p);
                matches += q * n;
                for (c, l) in p.iter().enumerate() {
                    let l = usize::from(*l);
                    if let (Some(m), Some(u)) =
                        (m_counts.get_mut(c).and_then(|r| r.get_mut(l)), u_counts.get_mut(c).and_then(|r| r.get_mut(l)))
                    {
                        *m += q * n;
                        *u += (1.0 - q) * n;
                    }
                }
            }
            let m = normalise_rows(&m_counts);
            let u = normalise_rows(&u_counts);
            let prior = (matches / total).clamp(FLOOR, 1.0 - FLOOR);
            let mut delta = (prior - model.prior).abs();
            for (a, b) in m.iter().flatten().zip(model.m.iter().flatten()) {
                delta = delta.max((a - b).abs());
            }
            for (a, b) in u.iter().flatten().zip(model.u.iter().flatten()) {
                delta = delta.max((a - b).abs());
            }
            model.m = m;
            model.u = u;
            model.prior = prior;
            model.iterations = it;
            model.converged_delta = delta;
            if delta < 1e-5 {
                break;
            }
        }
        model
    }

    /// log2(m/u) of one level.
    pub fn level_weight(&self, c: usize, l: u8) -> f64 {
        if l == NULL {
            return 0.0;
        }
        let l = usize::from(l);
        let m = self.m.get(c).and_then(|r| r.get(l)).copied().unwrap_or(FLOOR).max(FLOOR);
        let u = self.u.get(c).and_then(|r| r.get(l)).copied().unwrap_or(1.0).max(FLOOR);
        (m / u).log2()
    }

    pub fn prior_weight(&self) -> f64 {
        (self.prior / (1.0 - self.prior)).log2()
    }

    /// Match weight of a pattern without term-frequency adjustment.
    pub fn pattern_weight(&self, p: &Pattern) -> f64 {
        self.prior_weight() + p.iter().enumerate().map(|(c, l)| self.level_weight(c, *l)).sum::<f64>()
    }

    fn probability_of_pattern(&self, p: &Pattern) -> f64 {
        probability(self.pattern_weight(p))
    }

    /// The weight of an exact agreement on a value held by `frequency` of records: the exact
    /// level's weight, adjusted by how much rarer (or commoner) this value is than the average
    /// agreement among random pairs.
    pub fn exact_weight_for(&self, c: usize, frequency: f64) -> f64 {
        let average = self.u_random.get(c).and_then(|r| r.first()).copied().unwrap_or(FLOOR).max(FLOOR);
        self.level_weight(c, 0) + (average / frequency.clamp(FLOOR, 1.0)).log2()
    }

    /// Whether a comparison's exact level is adjusted for term frequency.
    pub fn adjusts(c: usize) -> bool {
        matches!(c, GIVEN | FAMILY | DOB)
    }

    /// The weights, one line a comparison, for logs and the model page.
    pub fn describe(&self) -> Vec<String> {
        let mut out = vec![format!("prior {:.5} ({} EM iterations)", self.prior, self.iterations)];
        for (c, (field, levels)) in LEVELS.iter().enumerate() {
            let parts: Vec<String> = levels
                .iter()
                .enumerate()
                .map(|(l, name)| format!("{name}: {:+.2}", self.level_weight(c, l as u8)))
                .collect();
            out.push(format!("{field}: {}", parts.join("; ")));
        }
        out
    }
}

/// Probability from a match weight.
pub fn probability(weight: f64) -> f64 {
    let p = 1.0 / (1.0 + (-weight).exp2());
    if p.is_nan() { 0.0 } else { p }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::compare::pack;

    #[test]
    fn em_separates_matches_from_non_matches() {
        // 100 matching pairs agreeing on nearly everything, 10,000 non-matches agreeing on little.
        let mut patterns = HashMap::new();
        patterns.insert(pack(&[0, 0, 0, 0, 0]), 90);
        patterns.insert(pack(&[1, 0, 2, 0, 0]), 10);
        patterns.insert(pack(&[5, 0, 4, 1, 3]), 6_000);
        patterns.insert(pack(&[5, 3, 4, 0, 3]), 4_000);
        let mut random = HashMap::new();
        random.insert(pack(&[5, 3, 4, 0, 3]), 50_000);
        random.insert(pack(&[5, 3, 4, 1, 3]), 50_000);
        random.insert(pack(&[0, 3, 4, 0, 3]), 1_000);
        random.insert(pack(&[5, 0, 4, 0, 3]), 500);
        let u = Model::u_from_random(&random);
        let model = Model::estimate(u, &patterns, 100);
        assert!((model.prior - 100.0 / 10_100.0).abs() < 0.01, "prior {}", model.prior);
        assert!(probability(model.pattern_weight(&[0, 0, 0, 0, 0])) > 0.99);
        assert!(probability(model.pattern_weight(&[5, 0, 4, 1, 3])) < 0.01);
        for row in model.m.iter().chain(model.u.iter()) {
            assert!(row.iter().all(|x| x.is_finite() && *x >= 0.0));
        }
    }

    #[test]
    fn common_values_weigh_less_than_rare_ones() {
        let mut random = HashMap::new();
        random.insert(pack(&[5, 3, 4, 0, 3]), 1_000);
        let model = Model::estimate(Model::u_from_random(&random), &HashMap::new(), 10);
        assert!(model.exact_weight_for(FAMILY, 0.02) < model.exact_weight_for(FAMILY, 0.0001));
        assert!(probability(f64::NAN) == 0.0);
    }
}
