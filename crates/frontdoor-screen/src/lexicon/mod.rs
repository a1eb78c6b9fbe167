//! The indicator lexicon (SPEC F3) and its negation-aware matcher: finds the CSE indicator terms
//! of `config/lexicon.toml` in a contact's narrative, whole words only, and marks each mention
//! that a nearby cue denies ("no concerns about an older boyfriend") or only supposes ("if she
//! goes missing"). Every mention is returned with its byte span in the original narrative, so
//! the page can highlight it; only positive mentions carry weight into the rules.
//!
//! How a narrative is read:
//! 1. It is folded (see `normalise`): lower case, apostrophes removed, punctuation and spacing
//!    collapsed to single spaces, terminator characters kept as tokens.
//! 2. One Aho-Corasick automaton holds every term, variant, abbreviation, cue, pseudo-negation
//!    and terminator word, each padded with a space on both sides, so only whole words can
//!    match. Matching is leftmost-longest: the longest phrase wins, so "not only" (pseudo-
//!    negation) beats "not" (cue), "no fixed abode" (term) beats "no", and "gang members" beats
//!    "gang". For speed the automaton is run anchored, only at the tokens a start filter lets
//!    through (see `normalise`), skipping tokens inside the previous match; that gives exactly
//!    the matches of one unanchored leftmost-longest search over the folded text, which a
//!    property test checks against a plain reference implementation.
//! 3. Walking the matches in order, a cue opens a scope; a terminator closes every open scope;
//!    a term is negated (or hypothetical) when a negation (or hypothetical) cue ends at most
//!    `window` tokens before it within the open scope. Cues only look forward; a mention that is
//!    both is flagged both ways.
//!
//! Inflections are not guessed: "hotel" does not match "hotels". Plurals and other forms are
//! listed as variants in the lexicon. Because apostrophes are removed, a possessive meets its
//! plural ("boyfriend's" reads "boyfriends"), so a plural variant covers both.

mod error;
mod file;
mod normalise;

pub use error::LexiconError;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Anchored, Input, MatchKind, StartKind};
use file::PhraseKind;
use normalise::{Folded, Normaliser, StartFilter};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

/// The twelve CSE indicator groups of the domain reference (section 2), in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorGroup {
    Missing,
    OlderAssociate,
    UnexplainedItems,
    VehiclesPlaces,
    SexualHealth,
    Education,
    Substances,
    EmotionalHealth,
    Online,
    GangsPeers,
    InjuryDisclosure,
    Vulnerabilities,
}

impl IndicatorGroup {
    pub const ALL: [IndicatorGroup; 12] = [
        IndicatorGroup::Missing,
        IndicatorGroup::OlderAssociate,
        IndicatorGroup::UnexplainedItems,
        IndicatorGroup::VehiclesPlaces,
        IndicatorGroup::SexualHealth,
        IndicatorGroup::Education,
        IndicatorGroup::Substances,
        IndicatorGroup::EmotionalHealth,
        IndicatorGroup::Online,
        IndicatorGroup::GangsPeers,
        IndicatorGroup::InjuryDisclosure,
        IndicatorGroup::Vulnerabilities,
    ];

    /// The name used in the lexicon file, in `Match::group` and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorGroup::Missing => "missing",
            IndicatorGroup::OlderAssociate => "older_associate",
            IndicatorGroup::UnexplainedItems => "unexplained_items",
            IndicatorGroup::VehiclesPlaces => "vehicles_places",
            IndicatorGroup::SexualHealth => "sexual_health",
            IndicatorGroup::Education => "education",
            IndicatorGroup::Substances => "substances",
            IndicatorGroup::EmotionalHealth => "emotional_health",
            IndicatorGroup::Online => "online",
            IndicatorGroup::GangsPeers => "gangs_peers",
            IndicatorGroup::InjuryDisclosure => "injury_disclosure",
            IndicatorGroup::Vulnerabilities => "vulnerabilities",
        }
    }

    /// The group named `name` exactly as `as_str` spells it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == name)
    }
}

/// One lexicon entry: a canonical term, the other ways it is written, and what it weighs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The canonical spelling, reported in `Match::term` whichever variant was written.
    pub term: String,
    pub variants: Vec<String>,
    /// Forms that match only when written without lower-case letters: "MAP" is the morning
    /// after pill, "map" is not; "TOP" is a termination, "top" is not.
    pub abbreviations: Vec<String>,
    pub group: IndicatorGroup,
    /// 1 = low, 2 = medium, 3 = high.
    pub weight: u8,
    pub note: Option<String>,
}

impl Term {
    /// How many phrases this entry can match: the term, its variants and its abbreviations.
    pub fn phrase_count(&self) -> usize {
        1 + self.variants.len() + self.abbreviations.len()
    }
}

/// One mention of a lexicon term in a narrative: the domain's `IndicatorMention`, so what the
/// matcher finds is exactly what the event log records (byte offsets into the original text,
/// always on character boundaries; negated and hypothetical mentions carry no weight).
pub use frontdoor_core::IndicatorMention as Match;

/// How many entries and matchable phrases (terms plus variants) a group has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSize {
    pub group: IndicatorGroup,
    pub entries: usize,
    pub phrases: usize,
}

/// A validated lexicon with its compiled matcher. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct Lexicon {
    entries: Vec<Term>,
    /// What each automaton pattern stands for, by pattern id.
    kinds: Vec<PhraseKind>,
    matcher: AhoCorasick,
    normaliser: Normaliser,
    /// Which tokens may start a phrase, so the automaton runs only there.
    filter: StartFilter,
    window: usize,
}

/// Narratives are folded in pieces of at most this many bytes, cut after a newline or full
/// stop where there is one (see `chunk_end`). This keeps offsets in `u32` and the scratch
/// buffers in cache (a 100 MB text in 1 MiB pieces screened measurably slower). A narrative
/// (at most 20,000 characters) is one piece unless it is mostly multi-byte characters.
const CHUNK_BYTES: usize = 1 << 16;

impl Lexicon {
    /// Reads and validates the lexicon file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, LexiconError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LexiconError::Read { file: file.clone(), source })?;
        Self::from_toml(&file, &text)
    }

    /// Validates lexicon `text`; `file_name` is only used to name the file in errors.
    pub fn from_toml(file_name: &str, text: &str) -> Result<Self, LexiconError> {
        let parsed = file::parse(file_name, text)?;
        let mut filter = StartFilter::new();
        for (phrase, _) in &parsed.phrases {
            filter.insert(phrase);
        }
        let patterns: Vec<String> = parsed.phrases.iter().map(|(phrase, _)| format!(" {phrase} ")).collect();
        let kinds = parsed.phrases.iter().map(|(_, kind)| *kind).collect();
        let build = |kind| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .start_kind(StartKind::Anchored)
                .kind(kind)
                .build(&patterns)
        };
        // The contiguous NFA measured faster than the DFA here: searches are short and anchored,
        // so what counts is that its ~250 KB stays in cache (the DFA is ~5 MB). Should it ever
        // fail to build, the crate's own choice still works.
        let matcher = build(Some(AhoCorasickKind::ContiguousNFA))
            .or_else(|_| build(None))
            .map_err(|e| LexiconError::Build { file: file_name.to_owned(), message: e.to_string() })?;
        Ok(Self {
            entries: parsed.entries,
            kinds,
            matcher,
            normaliser: parsed.normaliser,
            filter,
            window: parsed.window,
        })
    }

    /// Number of matchable phrases: every term, variant and abbreviation.
    pub fn len(&self) -> usize {
        self.entries.iter().map(Term::phrase_count).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The lexicon's entries, in file order.
    pub fn entries(&self) -> &[Term] {
        &self.entries
    }

    /// The size of each of the twelve groups, in the reference's order (empty groups included).
    pub fn groups(&self) -> Vec<GroupSize> {
        IndicatorGroup::ALL
            .into_iter()
            .map(|group| {
                let of_group = self.entries.iter().filter(|e| e.group == group);
                GroupSize { group, entries: of_group.clone().count(), phrases: of_group.map(Term::phrase_count).sum() }
            })
            .collect()
    }

    /// How many tokens may stand between a cue and the term it governs.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Every mention of a lexicon term in `narrative`, sorted by start, negated and hypothetical
    /// mentions included (flagged). Never panics, whatever the input.
    pub fn screen(&self, narrative: &str) -> Vec<Match> {
        self.screen_in_chunks(narrative, CHUNK_BYTES)
    }

    fn screen_in_chunks(&self, narrative: &str, chunk_bytes: usize) -> Vec<Match> {
        // Scratch buffers are kept per thread: allocating them afresh would cost about as much
        // as screening a short narrative. A nested call (impossible today), or one made while
        // the thread is being torn down, gets buffers of its own.
        SCRATCH
            .try_with(|cell| match cell.try_borrow_mut() {
                Ok(mut scratch) => self.screen_with(narrative, chunk_bytes, &mut scratch),
                Err(_) => self.screen_with(narrative, chunk_bytes, &mut Scratch::default()),
            })
            .unwrap_or_else(|_| self.screen_with(narrative, chunk_bytes, &mut Scratch::default()))
    }

    fn screen_with(&self, narrative: &str, chunk_bytes: usize, scratch: &mut Scratch) -> Vec<Match> {
        let mut found = Vec::new();
        let mut base = 0;
        while base < narrative.len() {
            let end = chunk_end(narrative, base, chunk_bytes);
            if let Some(chunk) = narrative.get(base..end) {
                self.screen_chunk(narrative, base, chunk, scratch, &mut found);
            }
            base = end;
        }
        found
    }

    /// Screens `chunk`, which starts at byte `base` of `narrative`, appending to `found`.
    fn screen_chunk(&self, narrative: &str, base: usize, chunk: &str, scratch: &mut Scratch, found: &mut Vec<Match>) {
        let Scratch { folded, cues } = scratch;
        self.normaliser.fold(chunk, Some(&self.filter), folded);
        cues.clear();
        let tokens = &folded.tokens;
        // The first token not inside an earlier match: matches never overlap, as with an
        // unanchored leftmost-longest search over the whole text.
        let mut next_free = 0;
        for &candidate in &folded.candidates {
            let first = candidate as usize;
            if first < next_free {
                continue;
            }
            let Some(token) = tokens.get(first) else { continue };
            if token.terminator {
                cues.clear();
                next_free = first + 1;
                continue;
            }
            // Anchored at the token's leading space: every pattern is padded with spaces.
            let (haystack, lead) = (folded.text(), (token.at as usize).saturating_sub(1));
            if lead >= haystack.len() {
                continue;
            }
            let input = Input::new(haystack).range(lead..).anchored(Anchored::Yes);
            let Ok(Some(m)) = self.matcher.try_find(input) else { continue };
            // The match ends just past its trailing space, where the next token begins.
            let mut last = first;
            while tokens.get(last + 1).is_some_and(|t| (t.at as usize) < m.end()) {
                last += 1;
            }
            next_free = last + 1;
            match self.kinds.get(m.pattern().as_usize()) {
                Some(PhraseKind::Terminator) => cues.clear(),
                Some(PhraseKind::Negation) => cues.push(Cue { next: next_free, negation: true }),
                Some(PhraseKind::Hypothetical) => cues.push(Cue { next: next_free, negation: false }),
                Some(&kind @ (PhraseKind::Term(index) | PhraseKind::Abbreviation(index))) => {
                    let (Some(entry), Some(head), Some(tail)) =
                        (self.entries.get(index), tokens.get(first), tokens.get(last))
                    else {
                        continue;
                    };
                    let (start, end) = (base + head.source_start as usize, base + tail.source_end as usize);
                    let Some(matched) = narrative.get(start..end) else { continue };
                    if kind != PhraseKind::Term(index) && matched.chars().any(char::is_lowercase) {
                        // An abbreviation written in lower case is an ordinary word ("map").
                        continue;
                    }
                    let (negated, hypothetical) = governing_cues(cues, first, self.window);
                    found.push(Match {
                        term: entry.term.clone(),
                        matched: matched.to_owned(),
                        group: entry.group.as_str().to_owned(),
                        weight: entry.weight,
                        negated,
                        hypothetical,
                        start,
                        end,
                    });
                }
                Some(PhraseKind::Pseudo) | None => {}
            }
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Reusable buffers for `screen`.
#[derive(Default)]
struct Scratch {
    folded: Folded,
    cues: Vec<Cue>,
}

/// A cue seen since the last terminator; `next` is the index of the first token after it.
#[derive(Debug, Clone, Copy)]
struct Cue {
    next: usize,
    negation: bool,
}

/// Whether a negation and whether a hypothetical cue governs a term whose first token is
/// `term`: a cue does when at most `window` tokens stand between them. Cues out of reach are
/// dropped from `cues`, as they are out of reach of every later term too.
fn governing_cues(cues: &mut Vec<Cue>, term: usize, window: usize) -> (bool, bool) {
    let (mut negated, mut hypothetical) = (false, false);
    for i in (0..cues.len()).rev() {
        let Some(cue) = cues.get(i) else { continue };
        if term.saturating_sub(cue.next) > window {
            cues.drain(..=i);
            break;
        }
        if cue.negation {
            negated = true;
        } else {
            hypothetical = true;
        }
    }
    (negated, hypothetical)
}

/// Where the piece of `text` starting at `start` ends: at most `limit` bytes on, cut after the
/// last newline, else the last full stop, else the last space, else at a character boundary.
/// Cutting at a sentence or line end keeps every cue in the same piece as the terms it governs.
fn chunk_end(text: &str, start: usize, limit: usize) -> usize {
    let hard = start.saturating_add(limit.max(4));
    if hard >= text.len() {
        return text.len();
    }
    let mut end = hard;
    while end > start + 1 && !text.is_char_boundary(end) {
        end -= 1;
    }
    let piece = text.as_bytes().get(start..end).unwrap_or_default();
    for cut_after in [b'\n', b'.', b' '] {
        if let Some(i) = piece.iter().rposition(|&b| b == cut_after) {
            return start + i + 1;
        }
    }
    end
}

/// Sum of the weights of positive mentions (neither negated nor hypothetical), by group name.
/// Groups with no positive mention are absent.
pub fn positive_weight_by_group(matches: &[Match]) -> BTreeMap<String, u32> {
    let mut totals = BTreeMap::new();
    for m in matches.iter().filter(|m| m.is_positive()) {
        *totals.entry(m.group.clone()).or_insert(0) += u32::from(m.weight);
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::file::{PhraseKind, parse};
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    const SMALL: &str = r#"
[negation]
negation_cues = ["no", "denies"]
terminators = [".", "but"]

[[term]]
term = "missing"
group = "missing"
weight = 3

[[term]]
term = "older boyfriend"
group = "older_associate"
weight = 3
"#;

    const SHIPPED: &str = include_str!("../../../../config/lexicon.toml");

    #[test]
    fn chunked_screening_agrees_with_whole_text() {
        let lexicon = Lexicon::from_toml("small.toml", SMALL).unwrap();
        let sentence = "She denies an older boyfriend. Missing again but no older boyfriend seen.\n";
        let text = sentence.repeat(40);
        let whole = lexicon.screen_in_chunks(&text, usize::MAX);
        assert_eq!(whole.len(), 120);
        for limit in [1, 7, 50, 100, 333] {
            assert!(lexicon.screen_in_chunks(&text, limit).len() <= whole.len());
        }
        assert_eq!(lexicon.screen_in_chunks(&text, 100), whole);
        assert_eq!(lexicon.screen_in_chunks(&text, 333), whole);
    }

    #[test]
    fn chunks_cover_the_text_on_char_boundaries() {
        let text = "ééé 🙂🙂 abc.def\nxyz";
        for limit in 0..30 {
            let mut start = 0;
            while start < text.len() {
                let end = chunk_end(text, start, limit);
                assert!(end > start && text.is_char_boundary(end), "limit {limit}");
                start = end;
            }
        }
    }

    /// The screening rules written as plainly as possible — tokenise by characters, try every
    /// phrase length at every token — to check the fast path (folding into one buffer, Bloom
    /// start filters, anchored automaton searches) against.
    fn reference(text: &str) -> Vec<(String, usize, usize, bool, bool)> {
        static PARSED: std::sync::LazyLock<file::Parsed> =
            std::sync::LazyLock::new(|| parse("lexicon.toml", SHIPPED).unwrap());
        let parsed = &*PARSED;
        let apostrophe = |c: char| matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '`' | '\u{00B4}');
        // (folded token, source start, source end, terminator)
        let mut tokens: Vec<(String, usize, usize, bool)> = Vec::new();
        let mut open: Option<(String, usize, usize)> = None;
        for (i, c) in text.char_indices() {
            if apostrophe(c) {
                continue;
            }
            if c.is_alphanumeric() && !parsed.normaliser.is_terminator(c) {
                let token = open.get_or_insert_with(|| (String::new(), i, i));
                token.0.extend(c.to_lowercase());
                token.2 = i + c.len_utf8();
                continue;
            }
            if let Some((word, start, end)) = open.take() {
                tokens.push((word, start, end, false));
            }
            if parsed.normaliser.is_terminator(c) {
                tokens.push((".".into(), i, i + c.len_utf8(), true));
            }
        }
        if let Some((word, start, end)) = open.take() {
            tokens.push((word, start, end, false));
        }
        let phrases: HashMap<Vec<String>, PhraseKind> =
            parsed.phrases.iter().map(|(p, kind)| (p.split(' ').map(str::to_owned).collect(), *kind)).collect();
        let longest = phrases.keys().map(Vec::len).max().unwrap_or(0);
        let mut found = Vec::new();
        let mut cues: Vec<(usize, bool)> = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            if tokens[i].3 {
                cues.clear();
                i += 1;
                continue;
            }
            let hit = (1..=longest).rev().find_map(|len| {
                let words: Vec<String> = tokens.get(i..i + len)?.iter().map(|t| t.0.clone()).collect();
                phrases.get(&words).map(|kind| (len, *kind))
            });
            let Some((len, kind)) = hit else {
                i += 1;
                continue;
            };
            let (start, end) = (tokens[i].1, tokens[i + len - 1].2);
            match kind {
                PhraseKind::Terminator => cues.clear(),
                PhraseKind::Negation => cues.push((i + len, true)),
                PhraseKind::Hypothetical => cues.push((i + len, false)),
                PhraseKind::Pseudo => {}
                PhraseKind::Term(index) | PhraseKind::Abbreviation(index) => {
                    let abbreviation = matches!(kind, PhraseKind::Abbreviation(_));
                    if !abbreviation || !text[start..end].chars().any(char::is_lowercase) {
                        let near =
                            |negation: bool| cues.iter().any(|&(next, n)| n == negation && i - next <= parsed.window);
                        found.push((parsed.entries[index].term.clone(), start, end, near(true), near(false)));
                    }
                }
            }
            i += len;
        }
        found
    }

    fn fast(lexicon: &Lexicon, text: &str) -> Vec<(String, usize, usize, bool, bool)> {
        lexicon.screen(text).into_iter().map(|m| (m.term, m.start, m.end, m.negated, m.hypothetical)).collect()
    }

    fn vocabulary() -> Vec<String> {
        let parsed = parse("lexicon.toml", SHIPPED).unwrap();
        let mut words: Vec<String> =
            parsed.phrases.iter().flat_map(|(p, _)| p.split(' ').map(str::to_owned).collect::<Vec<_>>()).collect();
        words.sort();
        words.dedup();
        words.extend(["the", "she", "was", "seen", "with", "MAP", "TOP", "Missing", "OLDER", "zoë"].map(String::from));
        words
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn fast_path_agrees_with_reference(
            picks in proptest::collection::vec((any::<proptest::sample::Index>(), 0usize..12), 0..60),
        ) {
            static LEXICON: std::sync::LazyLock<(Lexicon, Vec<String>)> = std::sync::LazyLock::new(|| {
                (Lexicon::from_toml("lexicon.toml", SHIPPED).unwrap(), vocabulary())
            });
            let (lexicon, words) = &*LEXICON;
            let separators = [" ", " ", " ", " ", "-", ", ", ". ", "; ", "\n", " ’", "/", " 🙂 "];
            let mut text = String::new();
            for (word, separator) in &picks {
                text.push_str(word.get::<String>(words));
                text.push_str(separators[*separator]);
            }
            prop_assert_eq!(fast(lexicon, &text), reference(&text), "{:?}", text);
        }
    }
}
