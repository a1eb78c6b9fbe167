//! The lexicon file (TOML): its schema, and its validation into the phrases the matcher is built
//! from. Every refusal names `file:line`.

use super::normalise::{Normaliser, TERMINATOR_TOKEN, terminator_char_problem};
use super::{IndicatorGroup, LexiconError, Term};
use crate::lines::Lines;
use serde::Deserialize;
use std::collections::HashMap;
use std::ops::Range;
use toml::Spanned;

/// The window used when the file does not set one, in tokens between cue and term.
pub(super) const DEFAULT_WINDOW: usize = 5;
/// A larger window would let a cue reach across whole paragraphs.
pub(super) const MAX_WINDOW: usize = 50;
const MIN_WEIGHT: i64 = 1;
const MAX_WEIGHT: i64 = 3;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LexiconFile {
    negation: NegationFile,
    #[serde(default, rename = "term")]
    terms: Vec<TermFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NegationFile {
    window: Option<Spanned<i64>>,
    negation_cues: Vec<Spanned<String>>,
    #[serde(default)]
    pseudo_negations: Vec<Spanned<String>>,
    #[serde(default)]
    hypothetical_cues: Vec<Spanned<String>>,
    terminators: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TermFile {
    term: Spanned<String>,
    #[serde(default)]
    variants: Vec<Spanned<String>>,
    #[serde(default)]
    abbreviations: Vec<Spanned<String>>,
    group: Spanned<String>,
    weight: Spanned<i64>,
    #[serde(default)]
    note: Option<String>,
}

/// What a phrase in the matcher stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PhraseKind {
    /// A term or variant of `Lexicon::entries[index]`.
    Term(usize),
    /// An abbreviation of `Lexicon::entries[index]`: matches only when written in capitals.
    Abbreviation(usize),
    Negation,
    Hypothetical,
    /// Text that looks like a cue but is not one ("not only", "cannot rule out"): matching it
    /// swallows the cue word inside it.
    Pseudo,
    /// A word that ends the scope of a cue ("but", "however").
    Terminator,
}

impl PhraseKind {
    fn describe(self) -> &'static str {
        match self {
            PhraseKind::Term(_) => "term",
            PhraseKind::Abbreviation(_) => "abbreviation",
            PhraseKind::Negation => "negation cue",
            PhraseKind::Hypothetical => "hypothetical cue",
            PhraseKind::Pseudo => "pseudo-negation",
            PhraseKind::Terminator => "terminator",
        }
    }
}

/// A validated lexicon, ready for the matcher to be built.
pub(super) struct Parsed {
    pub(super) entries: Vec<Term>,
    pub(super) normaliser: Normaliser,
    pub(super) window: usize,
    /// Folded phrases (without padding) and what each stands for, in file order.
    pub(super) phrases: Vec<(String, PhraseKind)>,
}

/// Parses and validates the text of lexicon file `file`.
pub(super) fn parse(file: &str, text: &str) -> Result<Parsed, LexiconError> {
    let lines = Lines::new(text);
    let at = |span: Range<usize>| lines.of(span.start);
    let raw: LexiconFile = toml::from_str(text).map_err(|e| LexiconError::Syntax {
        file: file.to_owned(),
        line: e.span().map_or(1, &at),
        message: e.message().trim_end().to_owned(),
    })?;
    let negation = raw.negation;

    let window = match negation.window {
        None => DEFAULT_WINDOW,
        Some(w) => {
            let value = *w.get_ref();
            match usize::try_from(value) {
                Ok(ok) if (1..=MAX_WINDOW).contains(&ok) => ok,
                _ => {
                    return Err(LexiconError::BadWindow {
                        file: file.to_owned(),
                        line: at(w.span()),
                        window: value,
                        max: MAX_WINDOW,
                    });
                }
            }
        }
    };

    // Terminator characters first: they decide how every other phrase is folded.
    let mut terminator_chars = Vec::new();
    let mut terminator_words = Vec::new();
    for t in &negation.terminators {
        let value = t.get_ref();
        let mut chars = value.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_alphanumeric() => match terminator_char_problem(c) {
                None => terminator_chars.push(c),
                Some(reason) => {
                    return Err(LexiconError::BadTerminator {
                        file: file.to_owned(),
                        line: at(t.span()),
                        terminator: value.clone(),
                        reason,
                    });
                }
            },
            _ => terminator_words.push(t),
        }
    }
    let normaliser = Normaliser::new(&terminator_chars);

    let mut phrases = Phrases { file, lines: &lines, normaliser: &normaliser, seen: HashMap::new(), list: Vec::new() };
    for t in terminator_words {
        phrases.add(t, PhraseKind::Terminator)?;
    }
    for cue in &negation.negation_cues {
        phrases.add(cue, PhraseKind::Negation)?;
    }
    for cue in &negation.hypothetical_cues {
        phrases.add(cue, PhraseKind::Hypothetical)?;
    }
    for cue in &negation.pseudo_negations {
        phrases.add(cue, PhraseKind::Pseudo)?;
    }

    let mut entries = Vec::with_capacity(raw.terms.len());
    for entry in raw.terms {
        let index = entries.len();
        let group = IndicatorGroup::parse(entry.group.get_ref()).ok_or_else(|| LexiconError::UnknownGroup {
            file: file.to_owned(),
            line: at(entry.group.span()),
            group: entry.group.get_ref().clone(),
            known: IndicatorGroup::ALL.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", "),
        })?;
        let weight_value = *entry.weight.get_ref();
        let weight = u8::try_from(weight_value)
            .ok()
            .filter(|w| (MIN_WEIGHT..=MAX_WEIGHT).contains(&i64::from(*w)))
            .ok_or_else(|| LexiconError::WeightOutOfRange {
                file: file.to_owned(),
                line: at(entry.weight.span()),
                weight: weight_value,
            })?;
        phrases.add(&entry.term, PhraseKind::Term(index))?;
        for variant in &entry.variants {
            phrases.add(variant, PhraseKind::Term(index))?;
        }
        for abbreviation in &entry.abbreviations {
            let written = abbreviation.get_ref();
            if written.chars().any(char::is_lowercase) || !written.chars().any(char::is_uppercase) {
                return Err(LexiconError::BadAbbreviation {
                    file: file.to_owned(),
                    line: at(abbreviation.span()),
                    abbreviation: written.clone(),
                });
            }
            phrases.add(abbreviation, PhraseKind::Abbreviation(index))?;
        }
        entries.push(Term {
            term: entry.term.into_inner(),
            variants: entry.variants.into_iter().map(Spanned::into_inner).collect(),
            abbreviations: entry.abbreviations.into_iter().map(Spanned::into_inner).collect(),
            group,
            weight,
            note: entry.note,
        });
    }

    let list = phrases.list;
    Ok(Parsed { entries, normaliser, window, phrases: list })
}

/// Collects folded phrases, refusing empty ones, ones that hold a terminator and duplicates.
struct Phrases<'a> {
    file: &'a str,
    lines: &'a Lines,
    normaliser: &'a Normaliser,
    /// Folded phrase → line and kind of its first listing.
    seen: HashMap<String, (usize, PhraseKind)>,
    list: Vec<(String, PhraseKind)>,
}

impl Phrases<'_> {
    fn add(&mut self, phrase: &Spanned<String>, kind: PhraseKind) -> Result<(), LexiconError> {
        let line = self.lines.of(phrase.span().start);
        let written = phrase.get_ref();
        let folded = self.normaliser.phrase(written);
        if folded.is_empty() {
            return Err(LexiconError::EmptyPhrase { file: self.file.to_owned(), line, what: kind.describe() });
        }
        if folded.as_bytes().contains(&TERMINATOR_TOKEN) {
            let terminator = written.chars().find(|c| self.normaliser.is_terminator(*c)).unwrap_or('.');
            return Err(LexiconError::ContainsTerminator {
                file: self.file.to_owned(),
                line,
                what: kind.describe(),
                phrase: written.clone(),
                terminator,
            });
        }
        // A phrase listed twice (even as two variants of one entry, or as both a term and a
        // cue) means the file does not say what its author thinks it says.
        if let Some(&(first_line, first_kind)) = self.seen.get(&folded) {
            return Err(LexiconError::DuplicatePhrase {
                file: self.file.to_owned(),
                line,
                phrase: folded,
                first_line,
                first_what: first_kind.describe(),
            });
        }
        self.seen.insert(folded.clone(), (line, kind));
        self.list.push((folded, kind));
        Ok(())
    }
}
