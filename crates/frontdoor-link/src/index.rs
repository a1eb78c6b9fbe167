//! The person index: every record prepared once, blocked under several keys so that a true
//! match shares at least one block even when a name, a date or an address is wrong, and scored
//! with the model pair by pair.

use crate::compare::{
    COMPARISONS, DOB, FAMILY, GIVEN, HOUSEHOLD, LEVELS, MAX_LEVELS, Memo, NO_DOB, NONE, NULL, Names, Normalised,
    Pattern, Person, Prepared, SEX, UNCOMPARED, Vocab, date_of, epoch_days, normalise, pack,
};
use crate::model::{Evidence, Explanation, Model, probability};
use crate::normalise::Nicknames;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use rphonetic::DoubleMetaphone;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher};

/// Thresholds and sampling sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// At or above this probability a pair is linked automatically.
    pub auto_link: f64,
    /// At or above this (and below `auto_link`) a pair waits for a person to decide.
    pub review: f64,
    /// Blocks with more records than this are skipped (a key that common says nothing).
    pub max_block: usize,
    /// Random pairs sampled to estimate u.
    pub random_pairs: usize,
    /// At most this many records' candidate pairs estimate the prior.
    pub training_records: usize,
    /// At most this many pairs per training session estimate m.
    pub training_pairs: usize,
    /// Seed for the random samples (the same seed and data give the same model).
    pub seed: u64,
}

impl Settings {
    /// These settings with the thresholds a model was stored with, if it was.
    pub fn with_model(&self, model: &Model) -> Settings {
        match model.thresholds {
            Some(t) => Settings { auto_link: t.auto_link, review: t.review, ..self.clone() },
            None => self.clone(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            auto_link: 0.95,
            review: 0.5,
            max_block: 100,
            random_pairs: 1_000_000,
            training_records: 50_000,
            training_pairs: 2_000_000,
            seed: 20_261_129,
        }
    }
}

/// Why a pair may not be linked automatically whatever its weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Guard {
    None,
    /// Same family, same date of birth, different given names: possibly twins. Similar-looking
    /// given names, and two names in their own right one letter apart (Ella and Elsa), go to a
    /// person; wholly different ones are never linked. Two slips of one common name are not
    /// twins' names (see `Vocab::settle_spellings`).
    PossibleTwins,
    /// As above with given names that have nothing in common: never linked.
    Twins,
    /// One side has no given name, so it cannot tell twins or siblings apart: linked only when
    /// every such link of the record points to the same person.
    NoGivenName,
}

/// A scored candidate pair (indexes into the index, `a < b`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPair {
    pub a: u32,
    pub b: u32,
    pub weight: f64,
    pub probability: f64,
    pub guard: Guard,
}

impl ScoredPair {
    /// Whether the pair links without a person.
    pub fn auto(&self, s: &Settings) -> bool {
        matches!(self.guard, Guard::None | Guard::NoGivenName) && self.probability >= s.auto_link
    }

    /// Whether the pair stops chains of links (possible twins).
    pub fn wall(&self) -> bool {
        matches!(self.guard, Guard::PossibleTwins | Guard::Twins)
    }

    /// What the matcher alone says of the pair, for clustering (nothing when it is neither
    /// linked nor a wall).
    pub fn verdict(&self, s: &Settings) -> Option<crate::Verdict> {
        if self.wall() {
            Some(crate::Verdict::Apart)
        } else if self.auto(s) {
            Some(crate::Verdict::Linked { probability: self.probability, weak: self.guard == Guard::NoGivenName })
        } else {
            None
        }
    }

    /// Whether the pair waits for a person.
    pub fn queued(&self, s: &Settings) -> bool {
        self.guard != Guard::Twins && self.probability >= s.review && !self.auto(s)
    }
}

/// Where a record came from: its source and the source's own id.
pub use frontdoor_core::RecordRef as RecordKey;

/// The index.
pub struct Index {
    /// Tells this index's remembered comparisons from another's (see [`MEMO`]).
    id: u64,
    vocab: Vocab,
    records: Vec<Prepared>,
    /// Each record's blocking keys (worked out once; [`NO_KEY`] where it lacks a key's parts).
    blocked: Vec<[u64; RULES]>,
    keys: Vec<RecordKey>,
    /// Each key's position: positions only, hashed by the key they point to in `keys`, so the
    /// index holds each key once.
    positions: hashbrown::HashTable<u32>,
    /// Block key → its records, in index order. The keys are hashes already, so the map's own
    /// hashing need only be fast.
    blocks: FxHashMap<u64, Vec<u32>>,
    max_block: usize,
}

impl Index {
    /// Builds the index (normalising in parallel). A record id seen twice in one source keeps its
    /// last version.
    pub fn build(people: &[Person], nicknames: Nicknames, settings: &Settings) -> Index {
        Index::build_from(people.iter().cloned(), nicknames, settings)
    }

    /// [`Index::build`] from records it may consume: each is dropped as soon as it is in the
    /// index, so the raw text of the whole index is never held alongside the index.
    pub fn build_from(people: impl IntoIterator<Item = Person>, nicknames: Nicknames, settings: &Settings) -> Index {
        const SLICE: usize = 1 << 16;
        let mut people = people.into_iter();
        let expected = people.size_hint().0;
        let mut index = Index {
            id: NEXT_INDEX.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            vocab: Vocab::new(nicknames),
            records: Vec::with_capacity(expected),
            blocked: Vec::new(),
            keys: Vec::with_capacity(expected),
            positions: hashbrown::HashTable::with_capacity(expected),
            blocks: FxHashMap::default(),
            max_block: settings.max_block,
        };
        // Normalised in parallel a slice at a time (so the normalised text of the whole index is
        // never held at once) and interned in order, which is sequential: each slice is interned
        // while the next is normalised.
        let normalise_all = |slice: &[Person]| -> Vec<Normalised> {
            slice.par_iter().map_init(DoubleMetaphone::default, |dm, p| normalise(p, dm)).collect()
        };
        let mut slice: Vec<Person> = people.by_ref().take(SLICE).collect();
        let mut normalised = normalise_all(&slice);
        while !slice.is_empty() {
            let next: Vec<Person> = people.by_ref().take(SLICE).collect();
            let ((), next_normalised) = rayon::join(|| index.intern(slice, normalised), || normalise_all(&next));
            (slice, normalised) = (next, next_normalised);
        }
        // The records' buffer goes before the blocks are made (the peak of the build).
        drop(people);
        index.vocab.settle_spellings();
        index.blocked = index.records.par_iter().map(|r| index.block_keys(r)).collect();
        // Filled in place at its exact size (a parallel collect of a flattened iterator would
        // briefly hold it twice).
        let entries = index.blocked.iter().flatten().filter(|k| **k != NO_KEY).count();
        let mut keyed: Vec<(u64, u32)> = Vec::with_capacity(entries);
        for (i, keys) in index.blocked.iter().enumerate() {
            keyed.extend(keys.iter().filter(|k| **k != NO_KEY).map(|k| (*k, i as u32)));
        }
        keyed.par_sort_unstable();
        index.blocks.reserve(keyed.chunk_by(|x, y| x.0 == y.0).count());
        for g in keyed.chunk_by(|x, y| x.0 == y.0) {
            if let Some((key, _)) = g.first() {
                index.blocks.insert(*key, g.iter().map(|(_, i)| *i).collect());
            }
        }
        index
    }

    /// What the index knows of two indexed records' given names.
    fn names(&self, a: u32, b: u32) -> Names {
        match (self.records.get(a as usize), self.records.get(b as usize)) {
            (Some(x), Some(y)) => self.vocab.read_names(x.given, y.given, true),
            _ => Names::Unknown,
        }
    }

    /// Adds normalised records in order (a record id seen before replaces its record).
    fn intern(&mut self, people: Vec<Person>, normalised: Vec<Normalised>) {
        for (p, n) in people.into_iter().zip(normalised) {
            let prepared = self.vocab.prepare(n);
            let key = RecordKey { source: p.source, record_id: p.record_id };
            match self.position(&key) {
                Some(i) => {
                    if let Some(slot) = self.records.get_mut(i as usize) {
                        *slot = prepared;
                    }
                }
                None => {
                    self.place(key);
                    self.records.push(prepared);
                }
            }
        }
    }

    /// Gives a new key the next position.
    fn place(&mut self, key: RecordKey) -> u32 {
        let i = self.keys.len() as u32;
        let keys = &self.keys;
        let hash = |k: &RecordKey| rustc_hash::FxBuildHasher.hash_one(k);
        self.positions.insert_unique(hash(&key), i, |j| keys.get(*j as usize).map_or(0, hash));
        self.keys.push(key);
        i
    }

    fn insert(&mut self, key: RecordKey, prepared: Prepared) -> u32 {
        let blocked = self.block_keys(&prepared);
        if let Some(i) = self.position(&key) {
            // A changed record: drop it from its old blocks.
            if let Some(old) = self.blocked.get(i as usize) {
                for k in old.iter().filter(|k| **k != NO_KEY) {
                    if let Some(b) = self.blocks.get_mut(k) {
                        b.retain(|x| *x != i);
                    }
                }
            }
            for k in blocked.iter().filter(|k| **k != NO_KEY) {
                let b = self.blocks.entry(*k).or_default();
                let at = b.partition_point(|x| *x < i);
                b.insert(at, i);
            }
            if let (Some(slot), Some(keys)) = (self.records.get_mut(i as usize), self.blocked.get_mut(i as usize)) {
                *slot = prepared;
                *keys = blocked;
            }
            return i;
        }
        let i = self.records.len() as u32;
        for k in blocked.iter().filter(|k| **k != NO_KEY) {
            self.blocks.entry(*k).or_default().push(i);
        }
        self.records.push(prepared);
        self.blocked.push(blocked);
        self.place(key);
        i
    }

    /// Adds or replaces one record (a new import row, an API upsert).
    pub fn upsert(&mut self, person: &Person) -> u32 {
        let n = normalise(person, &DoubleMetaphone::default());
        let prepared = self.vocab.prepare(n);
        self.insert(RecordKey { source: person.source.clone(), record_id: person.record_id.clone() }, prepared)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn key(&self, i: u32) -> Option<&RecordKey> {
        self.keys.get(i as usize)
    }

    pub fn position(&self, key: &RecordKey) -> Option<u32> {
        let hash = rustc_hash::FxBuildHasher.hash_one(key);
        self.positions.find(hash, |i| self.keys.get(*i as usize) == Some(key)).copied()
    }

    /// Every record's key, in index order.
    pub fn keys(&self) -> &[RecordKey] {
        &self.keys
    }

    /// The blocking keys of a record: each is a way a true match can still be found when
    /// something else about it is wrong.
    fn block_keys(&self, r: &Prepared) -> [u64; RULES] {
        let v = &self.vocab;
        let mut keys = [NO_KEY; RULES];
        let initial = |id: u32, i: &crate::compare::Interner| {
            (id != NONE).then(|| u64::from(i.text(id).as_bytes().first().copied().unwrap_or(0)))
        };
        let given_initial = initial(r.given, &v.given);
        let family_initial = initial(r.family, &v.family);
        // Year and month of birth (about 30-day bins): a day typo or a day/month swap stays.
        let month = (r.dob != NO_DOB)
            .then(|| date_of(r.dob))
            .flatten()
            .map(|d| u64::from((epoch_days(d).div_euclid(30) + 100_000) as u32));
        let dob = (r.dob != NO_DOB).then(|| u64::from(r.dob as u32));
        let id = |x: u32| (x != NONE).then_some(u64::from(x));
        // A key exists only when the record holds every part of it; the rule's number is hashed
        // in so that two rules' keys never meet.
        let mut rule = 0u64;
        let mut push = |parts: &[Option<u64>]| {
            rule += 1;
            if parts.iter().all(Option::is_some)
                && let Some(slot) = keys.get_mut(rule as usize - 1)
            {
                let mut h = DefaultHasher::new();
                rule.hash(&mut h);
                parts.iter().flatten().for_each(|p| p.hash(&mut h));
                *slot = h.finish().max(1);
            }
        };
        // 1. family name sound + month of birth + given initial (names spelt differently, date
        // of birth a day out). Without the initial this rule made a quarter of all candidate
        // pairs at 1M records and found 228 true pairs no other rule did; with it, 39.
        push(&[id(r.family_codes[0]), month, given_initial]);
        // 2. postcode + given initial (date of birth wrong or missing)
        push(&[id(r.postcode), given_initial]);
        // 3. date of birth + given initial (family name changed)
        push(&[dob, given_initial]);
        // 4. date of birth + family initial (given name a nickname or a different spelling)
        push(&[dob, family_initial]);
        // 5. phone
        push(&[id(r.phone)]);
        // 6. both names' sounds, in either order (names swapped, date of birth wrong)
        // Two parts in either order: the same key whichever field each was written in.
        let either_order = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => [Some(a.min(b)), Some(a.max(b))],
            _ => [None, None],
        };
        let g = id(r.given_codes[0]);
        push(&either_order(g, id(r.family_codes[0])));
        // 7. given name sound + month of birth + family initial (names spelt differently, date
        // of birth a day out; a changed family name is rule 3's)
        push(&[g, month, family_initial]);
        // 8. address (the same home, written the same way)
        push(&[id(r.address)]);
        // 9. house number + the street's first word + given initial + outward code, or its
        // absence (the same home, written differently, without pairing every child of the house;
        // a home keeps its outward code). Without the outward code this rule made 6.2M pairs at
        // 1M records for 319 true pairs no other rule found; with it, 1.1M for 6, and F1 is the same
        // on all three data sets.
        let house = (r.address != NONE).then(|| house_and_street(v.places.text(r.address))).flatten();
        push(&[house, given_initial, Some(u64::from(r.outward))]);
        // 10. date of birth + both initials in either order (names swapped and one misspelt)
        let [lo, hi] = either_order(given_initial, family_initial);
        push(&[dob, lo, hi]);
        // 11. date of birth + house number + the street's first word (both names changed or
        // written another way: only the same child, or twins, share all three)
        push(&[dob, house]);
        keys
    }

    /// Records sharing a block with record `i`, with a larger index (each pair once).
    fn candidates_after(&self, i: u32, out: &mut Vec<u32>) {
        out.clear();
        let Some(keys) = self.blocked.get(i as usize) else { return };
        for k in keys.iter().filter(|k| **k != NO_KEY) {
            if let Some(b) = self.blocks.get(k)
                && b.len() <= self.max_block
            {
                let from = b.partition_point(|x| *x <= i);
                out.extend_from_slice(&b[from..]);
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// For tuning blocking: per rule, the pairs its blocks make and how many of them no earlier
    /// rule makes too.
    pub fn pairs_per_rule(&self) -> [(u64, u64); RULES] {
        let mut out = [(0u64, 0u64); RULES];
        for (k, members) in &self.blocks {
            if members.len() < 2 || members.len() > self.max_block {
                continue;
            }
            let rule = members.first().and_then(|f| self.blocked.get(*f as usize)?.iter().position(|x| x == k));
            let Some(rule) = rule else { continue };
            for (n, a) in members.iter().enumerate() {
                for b in &members[n + 1..] {
                    out[rule].0 += 1;
                    if self.rules_shared(*a, *b).trailing_zeros() as usize >= rule {
                        out[rule].1 += 1;
                    }
                }
            }
        }
        out
    }

    /// For tuning blocking: the rules (bit `r` for rule `r + 1`) under which two records share
    /// a block small enough to be scored.
    pub fn rules_shared(&self, a: u32, b: u32) -> u16 {
        let usable = |k: &u64| *k != NO_KEY && self.blocks.get(k).is_some_and(|b| b.len() <= self.max_block);
        let (Some(x), Some(y)) = (self.blocked.get(a as usize), self.blocked.get(b as usize)) else { return 0 };
        (0..RULES).filter(|&r| x[r] == y[r] && usable(&x[r])).fold(0u16, |m, r| m | 1 << r)
    }

    /// How many candidate pairs blocking produces (for reports).
    pub fn candidate_pairs(&self) -> u64 {
        (0..self.records.len() as u32)
            .into_par_iter()
            .map_init(Vec::new, |buf, i| {
                self.candidates_after(i, buf);
                buf.len() as u64
            })
            .sum()
    }

    /// The levels of two indexed records (name and address comparisons remembered per thread).
    fn pattern(&self, a: u32, b: u32) -> Option<(Pattern, bool)> {
        self.pattern_if(a, b, |_, _| true)
    }

    /// As [`Index::pattern`], but only if `worth` says the cheap levels leave the pair worth
    /// comparing names for (see [`Vocab::compare_bounded`]).
    fn pattern_if(&self, a: u32, b: u32, worth: impl Fn(&Pattern, bool) -> bool) -> Option<(Pattern, bool)> {
        let (x, y) = (self.records.get(a as usize)?, self.records.get(b as usize)?);
        MEMO.with_borrow_mut(|(owner, memo)| {
            if *owner != self.id {
                *owner = self.id;
                *memo = Memo::default();
            }
            memo.bound(MEMO_LIMIT);
            self.vocab.compare_bounded(x, y, Some(memo), worth)
        })
    }

    /// Estimates the model: u from random pairs, then m and the prior by EM over the candidate
    /// pairs of (a sample of) the records.
    pub fn train(&self, settings: &Settings) -> Model {
        let n = self.records.len();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(settings.seed);
        let mut random: HashMap<u32, u64> = HashMap::new();
        if n >= 2 {
            let pairs: Vec<(u32, u32)> = (0..settings.random_pairs)
                .map(|_| {
                    let a = rng.random_range(0..n) as u32;
                    let mut b = rng.random_range(0..n - 1) as u32;
                    if b >= a {
                        b += 1;
                    }
                    (a, b)
                })
                .collect();
            random = count_patterns(pairs.par_iter().filter_map(|(a, b)| self.pattern(*a, *b).map(|p| pack(&p.0))));
        }
        let u = Model::u_from_random(&random);

        // m from training sessions blocked on identity keys, so that siblings (who share a
        // family name and a home but not a birthday or a given name) seldom appear and cannot
        // pass for matches. Each session learns only the fields it is not blocked on.
        let initial = |i: &crate::compare::Interner, id: u32| {
            (id != NONE).then(|| u64::from(i.text(id).as_bytes().first().copied().unwrap_or(0)))
        };
        let v = &self.vocab;
        let dob = |r: &Prepared| (r.dob != NO_DOB).then_some(u64::from(r.dob as u32));
        let both = |a: Option<u64>, b: Option<u64>| Some(a? << 32 ^ b?);
        let id = |x: u32| (x != NONE).then_some(u64::from(x));
        type Key<'a> = Box<dyn Fn(&Prepared) -> Option<u64> + Sync + 'a>;
        let sessions: [(Key, [bool; COMPARISONS]); 3] = [
            // date of birth + given initial: learns family name, sex, household
            (Box::new(|r| both(dob(r), initial(&v.given, r.given))), [false, true, false, true, true]),
            // both names' sounds: learns date of birth, sex, household
            (Box::new(|r| both(id(r.given_codes[0]), id(r.family_codes[0]))), [false, false, true, true, true]),
            // date of birth + family initial: learns given name, sex, household
            (Box::new(|r| both(dob(r), initial(&v.family, r.family))), [true, false, false, true, true]),
        ];
        let mut model = Model::new(u);
        let mut sums = [[0.0; MAX_LEVELS]; COMPARISONS];
        let mut learned = [0u32; COMPARISONS];
        for (key, used) in &sessions {
            let patterns = self.session_patterns(key, settings.training_pairs);
            let mut session = Model::new(u);
            session.em(&patterns, *used, true, 100);
            model.iterations += session.iterations;
            for c in (0..COMPARISONS).filter(|c| used[*c]) {
                learned[c] += 1;
                for (sum, m) in sums[c].iter_mut().zip(session.m[c]) {
                    *sum += m;
                }
            }
        }
        for c in 0..COMPARISONS {
            if learned[c] > 0 {
                model.m[c] = sums[c].map(|x| x / f64::from(learned[c]));
            }
        }

        // The prior: EM over (a sample of) the candidate pairs with m and u fixed, then rescaled
        // from "among candidates" to "among all pairs" (blocking only chooses what is looked at).
        let stride = n.div_ceil(settings.training_records.max(1)).max(1);
        let sample: Vec<u32> = (0..n as u32).step_by(stride).collect();
        let candidates = count_patterns(
            sample
                .par_iter()
                .map_init(Vec::new, |buf, &i| {
                    self.candidates_after(i, buf);
                    buf.iter().filter_map(|&j| self.pattern(i, j).map(|p| pack(&p.0))).collect::<Vec<_>>()
                })
                .flatten(),
        );
        let kin = self.session_patterns(&|r: &Prepared| id(r.family), settings.training_pairs);
        model.u_household_kin = Model::household_u_from_kin(&kin);
        model.prior = 1e-4;
        let among_candidates = model.em(&candidates, [true; COMPARISONS], false, 100);
        let candidate_pairs: u64 = candidates.values().sum();
        let all_pairs: f64 = sample.iter().map(|&i| (n - 1 - i as usize) as f64).sum();
        model.prior = (among_candidates * candidate_pairs as f64 / all_pairs.max(1.0)).clamp(1e-12, 0.5);
        model
    }

    /// The patterns of the pairs sharing a training key (blocks larger than the index's cap
    /// skipped; at most `max_pairs`, whole blocks in key order, so the sample is reproducible).
    fn session_patterns(&self, key: &(dyn Fn(&Prepared) -> Option<u64> + Sync), max_pairs: usize) -> HashMap<u32, u64> {
        let mut keyed: Vec<(u64, u32)> =
            self.records.iter().enumerate().filter_map(|(i, r)| key(r).map(|k| (k, i as u32))).collect();
        keyed.sort_unstable();
        let mut blocks: Vec<&[(u64, u32)]> = Vec::new();
        let mut pairs = 0usize;
        for block in keyed.chunk_by(|x, y| x.0 == y.0) {
            let n = block.len();
            if n < 2 || n > self.max_block {
                continue;
            }
            pairs += n * (n - 1) / 2;
            if pairs > max_pairs {
                break;
            }
            blocks.push(block);
        }
        count_patterns(
            blocks
                .par_iter()
                .map(|block| {
                    let mut out = Vec::with_capacity(block.len() * block.len() / 2);
                    for x in 0..block.len() {
                        for y in x + 1..block.len() {
                            out.extend(self.pattern(block[x].1, block[y].1).map(|p| pack(&p.0)));
                        }
                    }
                    out
                })
                .flatten(),
        )
    }

    /// Scores the candidate pairs of records `from..to` (each pair once, from its smaller
    /// record), keeping those at or above `keep` probability, or guarded as possible twins.
    pub fn score_range(&self, model: &Model, from: u32, to: u32, keep: f64) -> Vec<ScoredPair> {
        let scorer = Scorer::new(model);
        let to = to.min(self.records.len() as u32);
        // Below this weight a pair is dropped (unless it may be twins, which needs the same date
        // of birth): pairs whose cheap levels cannot reach it never have their names compared.
        let keep_weight = if keep > 0.0 { (keep / (1.0 - keep)).log2() } else { f64::NEG_INFINITY };
        let mut out: Vec<ScoredPair> = (from..to)
            .into_par_iter()
            .map_init(Vec::new, |buf, i| {
                self.candidates_after(i, buf);
                self.touch(buf);
                let exact = self.records.get(i as usize).map(|x| scorer.exact(&self.vocab, x));
                buf.iter()
                    .filter_map(|&j| {
                        let exact = exact.as_ref()?;
                        let worth =
                            |p: &Pattern, open: bool| p[DOB] == 0 || scorer.best_case(p, exact, open) >= keep_weight;
                        let (p, swapped) = self.pattern_if(i, j, worth)?;
                        let weight = scorer.weight(&p, exact);
                        let names = || self.names(i, j);
                        let s = ScoredPair {
                            a: i,
                            b: j,
                            weight,
                            probability: probability(weight),
                            guard: guard(&p, swapped, names),
                        };
                        (s.probability >= keep || s.wall()).then_some(s)
                    })
                    .collect::<Vec<_>>()
            })
            .flatten()
            .collect();
        out.sort_unstable_by_key(|s| (s.a, s.b));
        out
    }

    /// Reads the fields of `records` that scoring reads first, in one tight loop: the reads are
    /// independent, so the processor fetches many records' memory at once instead of waiting
    /// for each in turn inside the scoring loop (where the work between reads hides the next).
    fn touch(&self, records: &[u32]) {
        let mut acc = 0u32;
        for &j in records {
            if let Some(r) = self.records.get(j as usize) {
                acc = acc.wrapping_add(r.dob as u32 ^ r.address);
            }
        }
        std::hint::black_box(acc);
    }

    /// Every indexed record that could be this person, best first, with at least `keep`
    /// probability (the record check). The person is added to the vocabulary, not the index.
    pub fn check(&mut self, person: &Person, model: &Model, keep: f64, limit: usize) -> Vec<(u32, ScoredPair)> {
        let n = normalise(person, &DoubleMetaphone::default());
        self.vocab.clear_transient();
        let probe = self.vocab.prepare_probe(n);
        let scorer = Scorer::new(model);
        let mut seen: Vec<u32> = Vec::new();
        for k in self.block_keys(&probe).iter().filter(|k| **k != NO_KEY) {
            if let Some(b) = self.blocks.get(k)
                && b.len() <= self.max_block
            {
                seen.extend_from_slice(b);
            }
        }
        seen.sort_unstable();
        seen.dedup();
        let mut out: Vec<(u32, ScoredPair)> = seen
            .into_iter()
            .filter_map(|j| {
                let y = self.records.get(j as usize)?;
                let (p, swapped) = self.vocab.compare(&probe, y);
                let weight = scorer.weight(&p, &scorer.exact(&self.vocab, y));
                let names = || self.vocab.read_names(probe.given, y.given, true);
                let s = ScoredPair {
                    a: j,
                    b: j,
                    weight,
                    probability: probability(weight),
                    guard: guard(&p, swapped, names),
                };
                (s.probability >= keep && s.guard != Guard::Twins).then_some((j, s))
            })
            .collect();
        out.sort_by(|x, y| y.1.weight.total_cmp(&x.1.weight));
        out.truncate(limit);
        out
    }

    /// The score of two indexed records, field by field.
    pub fn explain(&self, model: &Model, a: u32, b: u32) -> Option<Explanation> {
        let (x, y) = (self.records.get(a as usize)?, self.records.get(b as usize)?);
        Some(self.explain_prepared(model, x, y))
    }

    /// The score of a person (not in the index) against an indexed record.
    pub fn explain_person(&mut self, model: &Model, person: &Person, b: u32) -> Option<Explanation> {
        let n = normalise(person, &DoubleMetaphone::default());
        self.vocab.clear_transient();
        let probe = self.vocab.prepare_probe(n);
        let y = self.records.get(b as usize)?.clone();
        Some(self.explain_prepared(model, &probe, &y))
    }

    fn explain_prepared(&self, model: &Model, x: &Prepared, y: &Prepared) -> Explanation {
        explain_in(&self.vocab, model, x, y, true).0
    }
}

/// Records weighed by the model alone, outside any index: `probe` against each of `others`,
/// without term-frequency adjustment (how common a name is among a handful of records means
/// nothing). The front door weighs a contact's child this way against the children it has
/// recorded with the same date of birth. Each answer comes with its guard: whatever the
/// probability, only [`Guard::None`] may link without a person.
pub fn weigh(model: &Model, nicknames: &Nicknames, probe: &Person, others: &[Person]) -> Vec<(Explanation, Guard)> {
    let dm = DoubleMetaphone::default();
    let mut vocab = Vocab::new(nicknames.clone());
    let x = vocab.prepare(normalise(probe, &dm));
    let others: Vec<Prepared> = others.iter().map(|o| vocab.prepare(normalise(o, &dm))).collect();
    others.iter().map(|y| explain_in(&vocab, model, &x, y, false)).collect()
}

/// A pair's explanation and guard; `frequencies`: adjust exact agreements for how common the
/// value is in `vocab`.
fn explain_in(vocab: &Vocab, model: &Model, x: &Prepared, y: &Prepared, frequencies: bool) -> (Explanation, Guard) {
    let scorer = Scorer::new(model);
    let (p, swapped) = vocab.compare(x, y);
    let mut evidence = Vec::with_capacity(COMPARISONS);
    let mut weight = model.prior_weight();
    let exact = if frequencies { scorer.exact(vocab, y) } else { scorer.unadjusted() };
    for (c, l) in p.iter().enumerate() {
        let (field, levels) = LEVELS[c];
        let (contribution, adjusted) = scorer.contribution(&p, c, &exact);
        weight += contribution;
        evidence.push(Evidence {
            field: field.to_owned(),
            level: if *l == NULL {
                "missing".into()
            } else {
                levels.get(usize::from(*l)).copied().unwrap_or("?").to_owned()
            },
            weight: contribution,
            term_frequency_adjusted: adjusted,
            left: vocab.shown(c, x),
            right: vocab.shown(c, y),
        });
    }
    let mut notes = Vec::new();
    if swapped {
        notes.push("given and family names are swapped between the records".into());
    }
    let g = guard(&p, swapped, || vocab.read_names(x.given, y.given, frequencies));
    match g {
        Guard::None => {}
        Guard::PossibleTwins => notes.push(
            "same family name and date of birth but different given names: possibly twins, never linked without a person"
                .into(),
        ),
        Guard::Twins => notes.push(
            "same family name and date of birth, given names with nothing in common: treated as twins, never linked"
                .into(),
        ),
        Guard::NoGivenName => notes.push(
            "no given name on one side: linked only if it points to one person (it cannot tell twins apart)".into(),
        ),
    }
    (Explanation { prior_weight: model.prior_weight(), evidence, weight, probability: probability(weight), notes }, g)
}

/// How many blocking rules there are (see [`Index::block_keys`]).
pub const RULES: usize = 11;
/// A rule a record has no key under (key hashes are never 0).
const NO_KEY: u64 = 0;

static NEXT_INDEX: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

thread_local! {
    /// Each thread's remembered comparisons, and the index they belong to (ids are per index).
    static MEMO: std::cell::RefCell<(u64, Memo)> = std::cell::RefCell::new((0, Memo::default()));
}

/// Name comparisons a scoring thread remembers before starting afresh (~80 MB at most).
const MEMO_LIMIT: usize = 4_000_000;

/// A hash of an address's house number and the word after it ("25 madsen"), if it has both.
fn house_and_street(address: &str) -> Option<u64> {
    let mut words = address.split(' ');
    let number = words.by_ref().find(|w| w.bytes().any(|c| c.is_ascii_digit()))?;
    let street = words.find(|w| w.len() >= 3 && w.bytes().all(|c| c.is_ascii_alphabetic()))?;
    let mut h = DefaultHasher::new();
    (number, street).hash(&mut h);
    Some(h.finish())
}

/// A model's level weights, worked out once for a scoring pass.
struct Scorer<'m> {
    model: &'m Model,
    prior: f64,
    levels: [[f64; MAX_LEVELS]; COMPARISONS],
    /// The household row when the family names agree.
    kin: [f64; MAX_LEVELS],
    /// The most a given name, then a family name, that is not the same can add.
    differing_name: [f64; 2],
}

/// What an exact agreement with one record's values weighs, per comparison (term frequencies
/// looked up once per record rather than once per pair), and whether term frequency adjusted it.
#[derive(Debug, Clone, Copy)]
struct Exact {
    weight: [f64; COMPARISONS],
    adjusted: [bool; COMPARISONS],
}

impl<'m> Scorer<'m> {
    fn new(model: &'m Model) -> Self {
        let mut levels = [[0.0; MAX_LEVELS]; COMPARISONS];
        for (c, row) in levels.iter_mut().enumerate() {
            for (l, slot) in row.iter_mut().enumerate() {
                *slot = model.level_weight(c, l as u8);
            }
        }
        let kin = std::array::from_fn(|l| model.weight_of(HOUSEHOLD, l as u8, true));
        let differing_name = [GIVEN, FAMILY]
            .map(|c| (1..LEVELS[c].1.len()).map(|l| model.level_weight(c, l as u8)).fold(f64::NEG_INFINITY, f64::max));
        Scorer { model, prior: model.prior_weight(), levels, kin, differing_name }
    }

    /// The exact-agreement weights whatever the values.
    fn unadjusted(&self) -> Exact {
        Exact { weight: std::array::from_fn(|c| self.levels[c][0]), adjusted: [false; COMPARISONS] }
    }

    /// The exact-agreement weights for pairs whose values are `r`'s.
    fn exact(&self, vocab: &Vocab, r: &Prepared) -> Exact {
        let mut e = self.unadjusted();
        for c in [GIVEN, FAMILY, DOB] {
            if let Some(freq) = vocab.exact_frequency(c, r) {
                e.weight[c] = self.model.exact_weight_for(c, freq);
                e.adjusted[c] = true;
            }
        }
        e
    }

    /// The most a pair can weigh, from a pattern whose names may be [`UNCOMPARED`] (each then
    /// taken at its best level short of the same name) and whose household level, when
    /// `household_open`, is only the best the addresses could still give (any weaker level is
    /// then possible too).
    fn best_case(&self, p: &Pattern, exact: &Exact, household_open: bool) -> f64 {
        let mut w = self.prior;
        for c in [DOB, SEX] {
            w += self.contribution(p, c, exact).0;
        }
        for (slot, c) in [GIVEN, FAMILY].into_iter().enumerate() {
            w += match p[c] {
                UNCOMPARED => self.differing_name[slot],
                _ => self.contribution(p, c, exact).0,
            };
        }
        if p[HOUSEHOLD] == NULL {
            return w;
        }
        let from = usize::from(p[HOUSEHOLD]);
        let to = if household_open { LEVELS[HOUSEHOLD].1.len() } else { from + 1 };
        let rows: &[&[f64; MAX_LEVELS]] = match p[FAMILY] {
            0 => &[&self.kin],
            UNCOMPARED => &[&self.levels[HOUSEHOLD], &self.kin],
            _ => &[&self.levels[HOUSEHOLD]],
        };
        let best = rows
            .iter()
            .flat_map(|row| row.get(from..to).unwrap_or(&[]).iter().copied())
            .fold(f64::NEG_INFINITY, f64::max);
        w + if best.is_finite() { best } else { 0.0 }
    }

    /// What one level contributes to a pair's weight (an exact agreement weighed as `exact`
    /// says), and whether term frequency adjusted it.
    fn contribution(&self, p: &Pattern, c: usize, exact: &Exact) -> (f64, bool) {
        let l = p[c];
        if l == NULL {
            return (0.0, false);
        }
        if c == HOUSEHOLD && Model::kin(p) {
            return (self.kin.get(usize::from(l)).copied().unwrap_or(0.0), false);
        }
        if l == 0 {
            return (exact.weight[c], exact.adjusted[c]);
        }
        (self.levels.get(c).and_then(|row| row.get(usize::from(l))).copied().unwrap_or(0.0), false)
    }

    /// A pair's match weight.
    fn weight(&self, p: &Pattern, exact: &Exact) -> f64 {
        self.prior + (0..COMPARISONS).map(|c| self.contribution(p, c, exact).0).sum::<f64>()
    }
}

/// Twins share everything but the given name (a record without a family name may be either
/// twin). A record without a given name cannot tell twins (or siblings) apart at all: its links
/// hold only when they all point to one person.
/// What is known of the two given names (`names`, asked only when it matters) tells a slip from
/// a twin's name: one common name misspelt twice is no twin's, and two names in their own right
/// one letter apart (Ella and Elsa) may be twins'. Names found `swapped` between the fields are
/// taken as one slip apart, which says nothing of twins.
fn guard(p: &Pattern, swapped: bool, names: impl FnOnce() -> Names) -> Guard {
    let given = p[GIVEN];
    if given == NULL {
        return Guard::NoGivenName;
    }
    // A missing family name cannot tell twins apart either.
    if p[DOB] != 0 || !matches!(p[FAMILY], 0 | 1 | NULL) || given <= 1 || swapped {
        return Guard::None;
    }
    if given == 5 {
        return Guard::Twins;
    }
    // Names that sound alike or look alike (3, 4) may still be twins (Ella and Ellen): a person
    // decides. (Tried: leaving "look alike" to the weights merged synthetic twins.) One slip (2)
    // is a twin's name only between two names in their own right.
    match (given, names()) {
        (2, Names::Distinct) => Guard::PossibleTwins,
        (2, _) | (_, Names::Misspelt) => Guard::None,
        _ => Guard::PossibleTwins,
    }
}

fn count_patterns(it: impl ParallelIterator<Item = u32>) -> HashMap<u32, u64> {
    it.fold(HashMap::new, |mut m: HashMap<u32, u64>, p| {
        *m.entry(p).or_default() += 1;
        m
    })
    .reduce(HashMap::new, |mut a, b| {
        for (k, v) in b {
            *a.entry(k).or_default() += v;
        }
        a
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::NaiveDate;

    pub(crate) fn person(source: &str, id: &str, given: &str, family: &str, dob: &str, postcode: &str) -> Person {
        Person {
            source: source.into(),
            record_id: id.into(),
            given_name: (!given.is_empty()).then(|| given.into()),
            family_name: (!family.is_empty()).then(|| family.into()),
            date_of_birth: NaiveDate::parse_from_str(dob, "%Y-%m-%d").ok(),
            postcode: (!postcode.is_empty()).then(|| postcode.into()),
            ..Person::default()
        }
    }

    #[test]
    fn every_key_has_one_position_and_a_repeated_id_keeps_its_last_version() {
        let key = |source: &str, id: &str| RecordKey { source: source.into(), record_id: id.into() };
        let mut people: Vec<Person> =
            (0..3000).map(|i| person(["a", "b"][i % 2], &format!("r{i}"), "Amy", "Khan", "2012-05-01", "")).collect();
        // The same id in another source is another record; the same id in the same source, the same one.
        people.push(person("b", "r0", "Zara", "Ngata", "2011-01-02", ""));
        people.push(person("a", "r0", "Zoe", "Khan", "2012-05-01", ""));
        let mut index = Index::build(&people, Nicknames::builtin(), &Settings::default());
        assert_eq!(index.len(), 3001);
        for (i, k) in index.keys().iter().enumerate() {
            assert_eq!(index.position(k), Some(i as u32), "{k:?}");
        }
        assert_eq!(index.position(&key("b", "r0")), Some(3000));
        let last = index.position(&key("a", "r0")).unwrap();
        assert_eq!(index.vocab.given.text(index.records[last as usize].given), "zoe");
        assert_eq!(index.position(&key("c", "r0")), None);
        // An upsert replaces in place or appends, and finds its key again.
        assert_eq!(index.upsert(&person("b", "r1", "Amy", "Khan", "2012-05-01", "")), 1);
        assert_eq!(index.upsert(&person("c", "new", "Amy", "Khan", "2012-05-01", "")), 3001);
        assert_eq!(index.position(&key("c", "new")), Some(3001));
        assert_eq!(index.keys().len(), 3002);
    }

    #[test]
    fn swapped_names_with_a_slip_that_changes_their_sound_are_still_candidates() {
        let people = [
            person("a", "1", "Amelia", "Kowalski", "2012-05-01", ""),
            person("b", "1", "Kozalski", "Amelia", "2012-05-01", ""),
            person("b", "2", "Kozalski", "Amelia", "2012-05-02", ""),
        ];
        let index = Index::build(&people, Nicknames::builtin(), &Settings::default());
        let mut buf = Vec::new();
        index.candidates_after(0, &mut buf);
        // The same date of birth and the same two initials, either way round; not another day.
        assert_eq!(buf, [1]);
    }

    #[test]
    fn blocking_finds_a_match_whatever_single_field_is_wrong() {
        let base = person("a", "1", "Amelia", "Kowalski", "2012-05-01", "WK1 2AB");
        let variants = [
            person("b", "1", "Millie", "Kowalski", "2012-05-01", "WK1 2AB"),
            person("b", "2", "Amelia", "Kowalska", "2012-05-01", "WK1 2AB"),
            person("b", "3", "Amelia", "Kowalski", "2013-05-01", "WK1 2AB"),
            person("b", "4", "Amelia", "Kowalski", "2012-05-01", "WK9 9ZZ"),
            person("b", "5", "Kowalski", "Amelia", "2012-05-01", ""),
            person("b", "6", "Amelia", "Smith", "2012-05-01", "LS1 1AA"),
        ];
        let mut people = vec![base];
        people.extend(variants);
        let index = Index::build(&people, Nicknames::builtin(), &Settings::default());
        let mut buf = Vec::new();
        index.candidates_after(0, &mut buf);
        assert_eq!(buf, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_child_known_by_other_names_is_found_by_birthday_and_home() {
        let at = |p: Person, address: &str| Person { address: Some(address.into()), ..p };
        let people = [
            at(person("a", "1", "Amelia", "Kowalski", "2012-05-01", ""), "12 Mill Lane, Wrenhollow"),
            // Both names recorded otherwise, the address written another way.
            at(person("b", "1", "Zofia", "Nowak", "2012-05-01", ""), "12 Mill Ln"),
            // Another birthday at that home, or that birthday at another number: not candidates.
            at(person("b", "2", "Zofia", "Nowak", "2013-05-01", ""), "12 Mill Ln"),
            at(person("b", "3", "Zofia", "Nowak", "2012-05-01", ""), "14 Mill Ln"),
        ];
        let index = Index::build(&people, Nicknames::builtin(), &Settings::default());
        let mut buf = Vec::new();
        index.candidates_after(0, &mut buf);
        assert_eq!(buf, [1]);
    }
}
