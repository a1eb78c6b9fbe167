//! Seeded randomness: one ChaCha8 stream per generation stage, and the few sampling helpers the
//! stages share (a frequency-skewed index, weighted choice, choice from a table).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The stages of generation. Each draws from its own stream of the same seed, so a change to
/// how one stage draws leaves the others' output untouched.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stage {
    Places = 1,
    People = 2,
    Records = 3,
    RecordIds = 4,
    Contacts = 5,
}

pub(crate) fn stream(seed: u64, stage: Stage) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stage as u64);
    rng
}

/// True with probability `p`; any `p` is accepted (values outside 0..=1 saturate).
pub(crate) fn chance(rng: &mut impl Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// A uniformly chosen element; `T::default()` only for an empty table, which the tables in this
/// crate never are (their tests check it).
pub(crate) fn pick<T: Copy + Default>(rng: &mut impl Rng, items: &[T]) -> T {
    if items.is_empty() {
        return T::default();
    }
    items[rng.random_range(0..items.len())]
}

/// A choice weighted by the second element of each pair; `None` only if every weight is zero.
pub(crate) fn weighted<T: Copy>(rng: &mut impl Rng, items: &[(T, u32)]) -> Option<T> {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    if total == 0 {
        return None;
    }
    let mut r = rng.random_range(0..total);
    for (item, w) in items {
        if r < *w {
            return Some(*item);
        }
        r -= w;
    }
    None
}

/// Draws an index with probability proportional to a weight; for names, weight 1/(rank+3)^s, so
/// the first entries of a list are much more common than the last, as real names are.
#[derive(Debug, Clone)]
pub(crate) struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    pub(crate) fn new(len: usize, exponent: f64) -> Self {
        Self::from_weights((0..len).map(|rank| 1.0 / (rank as f64 + 3.0).powf(exponent)))
    }

    pub(crate) fn from_weights(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        Self { cumulative }
    }

    /// An index below the number of weights (0 when there are none).
    pub(crate) fn sample(&self, rng: &mut impl Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        if total <= 0.0 {
            return 0;
        }
        let r = rng.random::<f64>() * total;
        self.cumulative.partition_point(|&c| c <= r).min(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_favours_the_head_and_stays_in_range() {
        let z = Zipf::new(150, 1.0);
        let mut rng = stream(7, Stage::People);
        let mut counts = [0u32; 150];
        for _ in 0..30_000 {
            counts[z.sample(&mut rng)] += 1;
        }
        assert!(counts[0] > 10 * counts[149].max(1));
        assert_eq!(Zipf::new(0, 1.0).sample(&mut rng), 0);
    }

    #[test]
    fn weighted_never_picks_a_zero_weight() {
        let mut rng = stream(1, Stage::Contacts);
        for _ in 0..1000 {
            assert_eq!(weighted(&mut rng, &[('a', 0), ('b', 3), ('c', 0)]), Some('b'));
        }
        assert_eq!(weighted::<char>(&mut rng, &[]), None);
    }
}
