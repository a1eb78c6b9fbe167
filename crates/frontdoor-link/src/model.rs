//! The Fellegi–Sunter model: for each comparison level, m (how often true matches show it) and
//! u (how often non-matches do); a pair's match weight is the prior log-odds plus the sum of
//! log2(m/u) over its levels, with the u of an exact name or date-of-birth agreement replaced by
//! how common that value is (term-frequency adjustment: two Smiths agree far more often by
//! chance than two Przybylskis). u is estimated from random pairs, m and the prior by EM over the
//! blocked candidate pairs.

use crate::compare::{COMPARISONS, DOB, FAMILY, GIVEN, HOUSEHOLD, LEVELS, MAX_LEVELS, NULL, Pattern, unpack};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Probabilities are kept inside these bounds so no weight is infinite or NaN.
const FLOOR: f64 = 1e-6;

/// Estimated parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Prior probability that two records picked at random are the same person.
    pub prior: f64,
    /// m per comparison and level.
    pub m: [[f64; MAX_LEVELS]; COMPARISONS],
    /// u per comparison and level, from random pairs (also the average agreement that term
    /// frequencies adjust).
    pub u: [[f64; MAX_LEVELS]; COMPARISONS],
    /// u of the household comparison among non-matching records that share a family name
    /// (siblings, cousins, parents): a shared home is far less telling between two Khans than
    /// between a Khan and a Smith. Used whenever the family names agree. All zero: not estimated.
    #[serde(default)]
    pub u_household_kin: [f64; MAX_LEVELS],
    /// EM iterations run, and the last change in any parameter.
    pub iterations: u32,
    pub converged_delta: f64,
    /// The thresholds the run that stored this model linked and queued by: record checks use
    /// the same, so a "sure match" means what the clustering meant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
}

/// Link automatically at or above `auto_link`; queue for a person at or above `review`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub auto_link: f64,
    pub review: f64,
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

    /// A model with u from random pairs and m and the prior still to be estimated.
    pub fn new(u: [[f64; MAX_LEVELS]; COMPARISONS]) -> Model {
        Model {
            prior: 0.05,
            m: Model::initial_m(),
            u,
            u_household_kin: [0.0; MAX_LEVELS],
            iterations: 0,
            converged_delta: f64::NAN,
            thresholds: None,
        }
    }

    /// EM over pairs' pattern counts with u held fixed. Only the comparisons marked `used` enter
    /// the likelihood (a training session blocked on a field learns nothing about it: every pair
    /// agrees); their m is updated when `learn_m`. Returns the prior among these pairs.
    pub fn em(
        &mut self,
        patterns: &HashMap<u32, u64>,
        used: [bool; COMPARISONS],
        learn_m: bool,
        max_iterations: u32,
    ) -> f64 {
        let learn = used.map(|u| u && learn_m);
        let masked = |p: Pattern| -> Pattern {
            let mut p = p;
            for (l, keep) in p.iter_mut().zip(used) {
                if !keep {
                    *l = NULL;
                }
            }
            p
        };
        let patterns: Vec<(Pattern, f64)> = patterns.iter().map(|(p, n)| (masked(unpack(*p)), *n as f64)).collect();
        let total: f64 = patterns.iter().map(|(_, n)| n).sum();
        let mut prior = self.prior;
        if total <= 0.0 {
            return prior;
        }
        for it in 1..=max_iterations {
            let mut counts = [[0.0; MAX_LEVELS]; COMPARISONS];
            let mut matches = 0.0;
            let model = Model { prior, ..self.clone() };
            for (p, n) in &patterns {
                let q = model.probability_of_pattern(p) * n;
                matches += q;
                for (c, l) in p.iter().enumerate() {
                    if let Some(slot) = counts.get_mut(c).and_then(|r| r.get_mut(usize::from(*l))) {
                        *slot += q;
                    }
                }
            }
            let m = normalise_rows(&counts);
            let next = (matches / total).clamp(FLOOR, 1.0 - FLOOR);
            let mut delta = (next - prior).abs();
            for (c, keep) in learn.iter().enumerate() {
                if *keep {
                    for (a, b) in m[c].iter().zip(self.m[c].iter()) {
                        delta = delta.max((a - b).abs());
                    }
                    self.m[c] = m[c];
                }
            }
            prior = next;
            self.iterations += 1;
            self.converged_delta = delta;
            if delta < 1e-5 || it == max_iterations {
                break;
            }
        }
        prior
    }

    /// log2(m/u) of one level.
    pub fn level_weight(&self, c: usize, l: u8) -> f64 {
        self.weight_of(c, l, false)
    }

    /// log2(m/u) of one level; `kin`: the family names agree, so the household comparison is
    /// weighed against non-matches who share a family name.
    pub fn weight_of(&self, c: usize, l: u8, kin: bool) -> f64 {
        if l == NULL {
            return 0.0;
        }
        let l = usize::from(l);
        let m = self.m.get(c).and_then(|r| r.get(l)).copied().unwrap_or(FLOOR).max(FLOOR);
        let kin_u = self.u_household_kin.get(l).copied().filter(|u| kin && c == HOUSEHOLD && *u > 0.0);
        let u = kin_u.or_else(|| self.u.get(c).and_then(|r| r.get(l)).copied()).unwrap_or(1.0).max(FLOOR);
        (m / u).log2()
    }

    /// Whether a pattern's household comparison is weighed as between kin.
    pub fn kin(p: &Pattern) -> bool {
        matches!(p[FAMILY], 0 | 1)
    }

    /// u of the household comparison from the patterns of non-matching pairs sharing a family
    /// name (their other fields decide which are surely not the same person).
    pub fn household_u_from_kin(patterns: &HashMap<u32, u64>) -> [f64; MAX_LEVELS] {
        let mut counts = [[0.0; MAX_LEVELS]; COMPARISONS];
        for (packed, n) in patterns {
            let p = unpack(*packed);
            let surely_apart = p[GIVEN] == 5 && p[DOB] == 4;
            if surely_apart
                && Model::kin(&p)
                && let Some(slot) = counts[HOUSEHOLD].get_mut(usize::from(p[HOUSEHOLD]))
            {
                *slot += *n as f64;
            }
        }
        if counts[HOUSEHOLD].iter().sum::<f64>() < 100.0 {
            return [0.0; MAX_LEVELS];
        }
        normalise_rows(&counts)[HOUSEHOLD]
    }

    pub fn prior_weight(&self) -> f64 {
        (self.prior / (1.0 - self.prior)).log2()
    }

    /// Match weight of a pattern without term-frequency adjustment.
    pub fn pattern_weight(&self, p: &Pattern) -> f64 {
        let kin = Model::kin(p);
        self.prior_weight() + p.iter().enumerate().map(|(c, l)| self.weight_of(c, *l, kin)).sum::<f64>()
    }

    fn probability_of_pattern(&self, p: &Pattern) -> f64 {
        probability(self.pattern_weight(p))
    }

    /// The weight of an exact agreement on a value held by `frequency` of records: the exact
    /// level's weight, adjusted by how much rarer (or commoner) this value is than the average
    /// agreement among random pairs.
    pub fn exact_weight_for(&self, c: usize, frequency: f64) -> f64 {
        let average = self.u.get(c).and_then(|r| r.first()).copied().unwrap_or(FLOOR).max(FLOOR);
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
        if self.u_household_kin.iter().any(|u| *u > 0.0) {
            let parts: Vec<String> = LEVELS[HOUSEHOLD]
                .1
                .iter()
                .enumerate()
                .map(|(l, name)| format!("{name}: {:+.2}", self.weight_of(HOUSEHOLD, l as u8, true)))
                .collect();
            out.push(format!("household when the family names agree: {}", parts.join("; ")));
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
        let mut model = Model::new(Model::u_from_random(&random));
        let prior = model.em(&patterns, [true; COMPARISONS], true, 100);
        assert!((prior - 100.0 / 10_100.0).abs() < 0.01, "prior {prior}");
        model.prior = prior;
        assert!(probability(model.pattern_weight(&[0, 0, 0, 0, 0])) > 0.99);
        assert!(probability(model.pattern_weight(&[5, 0, 4, 1, 3])) < 0.01);
        for row in model.m.iter().chain(model.u.iter()) {
            assert!(row.iter().all(|x| x.is_finite() && *x >= 0.0));
        }
        // A comparison left out keeps its m.
        let before = model.m[0];
        model.em(&patterns, [false, true, true, true, true], true, 10);
        assert_eq!(model.m[0], before);
    }

    #[test]
    fn common_values_weigh_less_than_rare_ones() {
        let mut random = HashMap::new();
        random.insert(pack(&[5, 3, 4, 0, 3]), 1_000);
        let model = Model::new(Model::u_from_random(&random));
        assert!(model.exact_weight_for(FAMILY, 0.02) < model.exact_weight_for(FAMILY, 0.0001));
        assert!(probability(f64::NAN) == 0.0);
    }
}
