//! A synthetic front-door narrative corpus for screening benchmarks, built from phrase
//! templates with a fixed seed: the same bytes on every run and machine. Narratives are about
//! 1 KB, mostly ordinary case-note prose with indicator mentions (positive, negated,
//! hypothetical) at roughly the density of real contacts, a few accented names and curly
//! apostrophes so the non-ASCII path is exercised too.

/// SplitMix64: tiny, fast and deterministic; statistical quality is irrelevant here.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The seed every benchmark uses.
pub const SEED: u64 = 0x5AFE_6A4D_2024;

const NAMES: &[&str] = &["Jordan", "Aisha", "Zoë", "Siobhán", "Kacper", "Tyler", "Mia", "Renée", "Callum", "Amara"];

const OPENERS: &[&str] = &[
    "Contact received from the Designated Safeguarding Lead at {N}'s school.",
    "Police notification (PPN) received overnight regarding {N}.",
    "Call from {N}’s mother to the front door this morning.",
    "Referral from the school nurse following a drop-in session with {N}.",
    "Anonymous caller reporting concerns about a young person known as {N}.",
    "Health visitor contact about the household; {N} is the eldest child.",
];

const FILLER: &[&str] = &[
    "The family live in a three bedroom council property with two younger siblings.",
    "Mum works shifts at the hospital and dad has little contact with the children.",
    "{N} is in Year 10 and is described by staff as bright and well liked.",
    "The caller was advised about the process and agreed to information being shared.",
    "There have been previous contacts in 2021 relating to housing conditions.",
    "{N} has a good relationship with her grandmother who lives nearby.",
    "Staff have spoken with {N} who was quiet and did not want to say much.",
    "The advisor checked the records and found the family known to early help.",
    "{N} enjoys football and attends a youth club on Thursday evenings.",
    "Mum said she was grateful for the call and would like some support.",
    "The school have tried to contact dad by telephone without success.",
    "Neighbours report that the house is often noisy late into the evening.",
    "{N} said that things at home are “okay” and that she wants to be left alone.",
    "The GP surgery confirmed {N} is registered and immunisations are up to date.",
    "The caller will email a copy of the chronology to the front door inbox.",
];

const POSITIVE: &[&str] = &[
    "Staff are worried about {P}.",
    "Mum reports {P} over the weekend.",
    "Police have recorded {P} on two occasions this month.",
    "{N} has spoken about {P} to a friend.",
    "There are concerns about {P} and {Q}.",
    "The teacher noticed {P} and informed the DSL.",
    "Not only was there {P}, there was also {Q}.",
    "She denies {P}, but was seen with {Q}.",
    "It is not unusual for {N} to mention {P}.",
];

const NEGATED: &[&str] = &[
    "There are no concerns about {P}.",
    "{N} denies {P}.",
    "There is no evidence of {P} at this time.",
    "Mum said there has never been {P}.",
    "No {P} has been reported by the school.",
    "Dad denied {P} when asked by police.",
];

const HYPOTHETICAL: &[&str] = &[
    "If there is {P} again the school will call the police.",
    "Staff are not sure if there was {P}.",
    "Mum worries that there might be {P}.",
];

/// One narrative of at least `target` bytes, mentioning `phrases` from the lexicon.
pub fn narrative(rng: &mut Rng, phrases: &[String], target: usize) -> String {
    let name = *rng.pick(NAMES);
    let mut text = rng.pick(OPENERS).replace("{N}", name);
    while text.len() < target {
        let roll = rng.below(100);
        let template = if roll < 62 {
            rng.pick(FILLER)
        } else if roll < 84 {
            rng.pick(POSITIVE)
        } else if roll < 95 {
            rng.pick(NEGATED)
        } else {
            rng.pick(HYPOTHETICAL)
        };
        let sentence = template
            .replace("{N}", name)
            .replace("{P}", rng.pick(phrases).as_str())
            .replace("{Q}", rng.pick(phrases).as_str());
        text.push(if rng.below(8) == 0 { '\n' } else { ' ' });
        text.push_str(&sentence);
    }
    text
}

/// Narratives of about `each` bytes until they add up to at least `total` bytes.
pub fn narratives(phrases: &[String], total: usize, each: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    let mut bytes = 0;
    while bytes < total {
        let n = narrative(&mut rng, phrases, each);
        bytes += n.len();
        out.push(n);
    }
    out
}

/// Every term and variant of the lexicon as written in its file (abbreviations included): the
/// phrases the corpus mentions and the baseline matches.
pub fn lexicon_phrases(lexicon: &frontdoor_screen::lexicon::Lexicon) -> Vec<String> {
    lexicon
        .entries()
        .iter()
        .flat_map(|e| std::iter::once(&e.term).chain(&e.variants).chain(&e.abbreviations))
        .cloned()
        .collect()
}

/// The `regex::bytes::RegexSet` baseline over the same phrases: ASCII case-insensitive, ASCII
/// word boundaries, any run of non-word characters between words (as the folding allows).
/// A set only says which patterns matched, not where, so it does less work than screening:
/// no spans, no negation; it is a throughput floor to compare against, not an equivalent.
pub fn regex_baseline(phrases: &[String]) -> regex::bytes::RegexSet {
    let patterns: Vec<String> = phrases
        .iter()
        .map(|p| {
            let words: Vec<String> = p
                .split(|c: char| !c.is_alphanumeric() && c != '\'')
                .filter(|w| !w.is_empty())
                .map(regex::escape)
                .collect();
            format!(r"(?i-u)\b{}\b", words.join(r"\W+"))
        })
        .collect();
    regex::bytes::RegexSetBuilder::new(patterns)
        .size_limit(1 << 30)
        .dfa_size_limit(1 << 30)
        .build()
        .expect("the baseline regex set compiles")
}
