//! Normalisation: the forms in which two systems' spellings of one fact become comparable.
//! Names lose case, accents, punctuation and titles; hyphens and spaces stop mattering for
//! family names; postcodes lose spacing; phone numbers become UK national digits; addresses
//! become tokens with the usual abbreviations expanded. A nickname table (config, editable by the
//! authority) makes Bill and William equivalent.

use crate::FileError;
use serde::Deserialize;
use std::collections::HashMap;

/// The nickname table shipped with Frontdoor (`config/nicknames.toml`).
pub const DEFAULT_NICKNAMES: &str = include_str!("../../../config/nicknames.toml");

/// Titles and honorifics dropped from the front of a name.
const TITLES: &[&str] = &["mr", "mrs", "miss", "ms", "mx", "master", "dr", "prof", "rev", "sir", "lady", "dame"];

/// Lower-case ASCII words of a name: accents transliterated, punctuation dropped (apostrophes
/// join: O'Brien → obrien), hyphens and other separators split words, leading titles removed.
pub fn name_words(raw: &str) -> Vec<String> {
    let ascii = deunicode::deunicode(raw).to_ascii_lowercase();
    let mut words = Vec::new();
    let mut word = String::new();
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else if c == '\'' || c == '`' || c == '.' {
            // O'Brien, St. John: part of the word.
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    while words.len() > 1 && words.first().is_some_and(|w| TITLES.contains(&w.as_str())) {
        words.remove(0);
    }
    words
}

/// A UK postcode without spaces, upper case, when it has the shape of one; with its outward code.
pub fn postcode(raw: &str) -> Option<(String, String)> {
    let compact: String = raw.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    if !(5..=7).contains(&compact.len()) {
        return None;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let i = inward.as_bytes();
    let o = outward.as_bytes();
    let ok = i[0].is_ascii_digit()
        && i[1].is_ascii_alphabetic()
        && i[2].is_ascii_alphabetic()
        && o[0].is_ascii_alphabetic()
        && o.iter().any(u8::is_ascii_digit);
    ok.then(|| (compact.clone(), outward.to_owned()))
}

/// A phone number as UK national digits (`07700900123`): `+44`/`0044` become `0`; anything with
/// fewer than 7 digits is not a phone number.
pub fn phone(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let national = if let Some(rest) = digits.strip_prefix("0044") {
        format!("0{rest}")
    } else if digits.len() == 12 && digits.starts_with("44") {
        format!("0{}", &digits[2..])
    } else {
        digits
    };
    (national.len() >= 7).then_some(national)
}

/// Street words written short, and what they stand for.
const ADDRESS_WORDS: &[(&str, &str)] = &[
    ("st", "street"),
    ("rd", "road"),
    ("ave", "avenue"),
    ("av", "avenue"),
    ("ln", "lane"),
    ("dr", "drive"),
    ("cres", "crescent"),
    ("cl", "close"),
    ("ct", "court"),
    ("gdns", "gardens"),
    ("gr", "grove"),
    ("pl", "place"),
    ("sq", "square"),
    ("tce", "terrace"),
    ("ter", "terrace"),
    ("pde", "parade"),
    ("hse", "house"),
    ("apt", "flat"),
    ("apartment", "flat"),
    ("fl", "flat"),
];

/// Address words: lower-case ASCII, abbreviations expanded, punctuation dropped.
pub fn address_words(raw: &str) -> Vec<String> {
    let ascii = deunicode::deunicode(raw).to_ascii_lowercase();
    ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| ADDRESS_WORDS.iter().find(|(short, _)| *short == w).map(|(_, long)| *long).unwrap_or(w).to_owned())
        .collect()
}

/// Given-name equivalence groups: two names are equivalent when some group holds both.
#[derive(Debug, Clone, Default)]
pub struct Nicknames {
    groups: HashMap<String, Vec<u32>>,
    count: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NicknameFile {
    groups: std::collections::BTreeMap<String, Vec<String>>,
}

impl Nicknames {
    /// The shipped table.
    pub fn builtin() -> Nicknames {
        // The shipped file is checked by a unit test; an empty table is the only fallback.
        Nicknames::parse("config/nicknames.toml", DEFAULT_NICKNAMES).unwrap_or_default()
    }

    /// Parses a table; errors name `file:line`.
    pub fn parse(file: &str, text: &str) -> Result<Nicknames, FileError> {
        let err = |line: usize, message: String| FileError { file: file.to_owned(), line, message };
        let parsed: NicknameFile = toml::from_str(text).map_err(|e| FileError::toml(file, text, &e))?;
        let line_of = |key: &str| {
            text.lines()
                .position(|l| l.trim_start().strip_prefix(key).is_some_and(|r| r.trim_start().starts_with('=')))
                .map(|i| i + 1)
                .unwrap_or(1)
        };
        let mut groups: HashMap<String, Vec<u32>> = HashMap::new();
        for (id, (formal, names)) in parsed.groups.iter().enumerate() {
            let id = u32::try_from(id).map_err(|_| err(1, "too many groups".into()))?;
            for name in std::iter::once(formal).chain(names) {
                // Hyphenated names (abdul-aziz) are kept whole, as one word.
                let word = name_words(name).concat();
                if word.is_empty() || name.trim().contains(char::is_whitespace) {
                    return Err(err(line_of(formal), format!("`{name}` is not a single given name")));
                }
                let ids = groups.entry(word).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        Ok(Nicknames { groups, count: parsed.groups.len() })
    }

    /// How many groups the table holds.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The groups a normalised given name belongs to (sorted).
    pub fn groups_of(&self, name: &str) -> &[u32] {
        self.groups.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether two normalised given names are nicknames or variants of each other.
    pub fn equivalent(&self, a: &str, b: &str) -> bool {
        let (ga, gb) = (self.groups_of(a), self.groups_of(b));
        ga.iter().any(|g| gb.contains(g))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_lose_case_accents_punctuation_and_titles() {
        assert_eq!(name_words("  Zoë "), ["zoe"]);
        assert_eq!(name_words("O'Brien"), ["obrien"]);
        assert_eq!(name_words("Smith-Jones"), ["smith", "jones"]);
        assert_eq!(name_words("Mrs. Ann-Marie"), ["ann", "marie"]);
        assert_eq!(name_words("Mr"), ["mr"], "a lone title is kept: it may be a name");
        assert_eq!(name_words("ŁUKASZ"), ["lukasz"]);
        assert!(name_words(" - ").is_empty());
    }

    #[test]
    fn postcodes_phones_and_addresses_normalise() {
        assert_eq!(postcode("ls1 4ap"), Some(("LS14AP".into(), "LS1".into())));
        assert_eq!(postcode("SW1A1AA"), Some(("SW1A1AA".into(), "SW1A".into())));
        assert_eq!(postcode("2600"), None);
        assert_eq!(postcode("LS1 A4P"), None);
        assert_eq!(phone("+44 7700 900123").as_deref(), Some("07700900123"));
        assert_eq!(phone("0044 113 496 0000").as_deref(), Some("01134960000"));
        assert_eq!(phone("(0113) 496-0000").as_deref(), Some("01134960000"));
        assert_eq!(phone("123"), None);
        assert_eq!(address_words("12a High St., Flat 3"), ["12a", "high", "street", "flat", "3"]);
    }

    #[test]
    fn the_shipped_nickname_table_loads_and_links_the_usual_pairs() {
        let n = Nicknames::parse("config/nicknames.toml", DEFAULT_NICKNAMES).unwrap();
        assert!(n.len() >= 300, "only {} groups", n.len());
        for (a, b) in [("bill", "william"), ("kate", "katherine"), ("peggy", "margaret"), ("liz", "elizabeth")] {
            assert!(n.equivalent(a, b), "{a} / {b}");
            assert!(n.equivalent(b, a), "{b} / {a}");
        }
        assert!(!n.equivalent("william", "katherine"));
        assert!(!n.equivalent("zzz", "zzz"), "names outside the table are not nicknames of anything");
    }

    #[test]
    fn a_bad_nickname_table_names_file_and_line() {
        let e = Nicknames::parse("n.toml", "[groups]\nwilliam = [\"bill\"]\nkate = [\"two words\"]\n").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("n.toml", 3));
        let e = Nicknames::parse("n.toml", "[groups]\nwilliam = \"bill\"\n").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
