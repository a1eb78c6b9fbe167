//! Records prepared for comparison, and the comparators: each field pair gets a level, from
//! exact agreement down to disagreement, or no level when either side lacks the field.
//!
//! Five comparisons, each with levels counted from the strongest agreement:
//! given name, family name, date of birth, sex, and household (address, postcode and phone
//! folded into ONE piece of evidence: siblings, twins and parents share all three, so counting
//! them as three independent agreements merges siblings).

use crate::normalise::{self, Nicknames};
use chrono::{Datelike, NaiveDate};
use rphonetic::DoubleMetaphone;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::hash::{DefaultHasher, Hash, Hasher};

/// A person record as a source system holds it; normalised here, never changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub source: String,
    pub record_id: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    /// `M`, `F` or anything else for unknown.
    pub sex: Option<String>,
    pub postcode: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
}

/// No value.
pub(crate) const NONE: u32 = u32::MAX;
/// The level of a comparison where either side lacks the field.
pub const NULL: u8 = 15;
/// A name not compared yet (see [`Vocab::compare_bounded`]); never in a finished pattern.
pub const UNCOMPARED: u8 = 14;

/// How many comparisons a pair gets.
pub const COMPARISONS: usize = 5;
/// At most this many levels per comparison.
pub const MAX_LEVELS: usize = 6;

pub const GIVEN: usize = 0;
pub const FAMILY: usize = 1;
pub const DOB: usize = 2;
pub const SEX: usize = 3;
pub const HOUSEHOLD: usize = 4;

/// Each comparison's field name and level names, strongest agreement first.
pub const LEVELS: [(&str, &[&str]); COMPARISONS] = [
    (
        "given_name",
        &[
            "exact",
            "nickname or short form",
            "one edit or Jaro-Winkler ≥ 0.94",
            "sounds alike",
            "similar or initial",
            "different",
        ],
    ),
    (
        "family_name",
        &[
            "exact",
            "one edit, Jaro-Winkler ≥ 0.94 or one part of a double-barrelled name",
            "sounds alike",
            "similar (Jaro-Winkler ≥ 0.85)",
            "different",
        ],
    ),
    ("date_of_birth", &["exact", "day and month swapped", "one digit wrong", "same year and month", "different"]),
    ("sex", &["same", "different"]),
    (
        "household",
        &[
            "same household (phone, or address with postcode)",
            "same postcode or similar address",
            "same outward code, or the same house number and half the address",
            "different",
        ],
    ),
];

/// The levels of one pair, one per comparison ([`NULL`] when a side lacks the field).
pub type Pattern = [u8; COMPARISONS];

/// Packs a pattern into one integer (4 bits a comparison), for counting.
pub fn pack(p: &Pattern) -> u32 {
    p.iter().fold(0u32, |acc, l| (acc << 4) | u32::from(*l))
}

pub fn unpack(mut x: u32) -> Pattern {
    let mut p = [NULL; COMPARISONS];
    for slot in p.iter_mut().rev() {
        *slot = (x & 0xF) as u8;
        x >>= 4;
    }
    p
}

/// Strings interned per field, with how many records hold each (for term frequencies).
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    text: Vec<Box<str>>,
    count: Vec<u32>,
    /// Records holding any value.
    pub(crate) total: u64,
    /// Values of the record being checked that the index has never seen (ids with
    /// [`TRANSIENT`] set). Kept apart so a lookup never grows, and never rehashes, the index.
    transient: Vec<Box<str>>,
}

/// The id bit of a value held only for the record being checked.
const TRANSIENT: u32 = 1 << 31;

impl Interner {
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        self.total += 1;
        if let Some(id) = self.ids.get(s) {
            if let Some(c) = self.count.get_mut(*id as usize) {
                *c += 1;
            }
            return *id;
        }
        let id = self.text.len() as u32;
        self.ids.insert(s.into(), id);
        self.text.push(s.into());
        self.count.push(1);
        id
    }

    /// Interns without counting a record (for parts of a value).
    pub(crate) fn intern_part(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = self.text.len() as u32;
        self.ids.insert(s.into(), id);
        self.text.push(s.into());
        self.count.push(0);
        id
    }

    /// The id of a known value, or a transient id for one the index has never seen.
    pub(crate) fn lookup(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        self.transient.push(s.into());
        TRANSIENT | (self.transient.len() as u32 - 1)
    }

    pub(crate) fn clear_transient(&mut self) {
        self.transient.clear();
    }

    fn is_transient(id: u32) -> bool {
        id != NONE && id & TRANSIENT != 0
    }

    pub(crate) fn text(&self, id: u32) -> &str {
        let s = if Interner::is_transient(id) {
            self.transient.get((id & !TRANSIENT) as usize)
        } else {
            self.text.get(id as usize)
        };
        s.map(|s| &**s).unwrap_or("")
    }

    /// The share of records holding this value (at least one record's worth).
    pub(crate) fn frequency(&self, id: u32) -> f64 {
        let c = if Interner::is_transient(id) { 1 } else { self.count.get(id as usize).copied().unwrap_or(1) }.max(1);
        f64::from(c) / (self.total.max(1) as f64)
    }
}

/// The normalised text of one record, before interning (built in parallel).
#[derive(Debug, Default, Clone)]
pub(crate) struct Normalised {
    given: Option<String>,
    family: Option<String>,
    /// The family name's words when it has several (double-barrelled).
    family_words: Vec<String>,
    given_codes: [Option<String>; 2],
    family_codes: [Option<String>; 2],
    dob: Option<NaiveDate>,
    sex: u8,
    postcode: Option<(String, String)>,
    phone: Option<String>,
    address: Option<String>,
}

pub(crate) fn normalise(p: &Person, dm: &DoubleMetaphone) -> Normalised {
    let given = p.given_name.as_deref().map(normalise::name_words).and_then(|w| w.into_iter().next());
    let family_words = p.family_name.as_deref().map(normalise::name_words).unwrap_or_default();
    let family = (!family_words.is_empty()).then(|| family_words.concat());
    let codes = |s: &Option<String>| -> [Option<String>; 2] {
        match s {
            None => [None, None],
            Some(s) => {
                let r = dm.double_metaphone(s);
                let (a, b) = (r.primary(), r.alternate());
                let a = (!a.is_empty()).then_some(a);
                let b = (!b.is_empty() && Some(&b) != a.as_ref()).then_some(b);
                [a, b]
            }
        }
    };
    let sex = match p.sex.as_deref().map(str::trim) {
        Some("M" | "m" | "Male" | "male" | "MALE") => 1,
        Some("F" | "f" | "Female" | "female" | "FEMALE") => 2,
        _ => 0,
    };
    let address = p.address.as_deref().map(normalise::address_words).filter(|w| !w.is_empty()).map(|w| w.join(" "));
    Normalised {
        given_codes: codes(&given),
        family_codes: codes(&family),
        given,
        family,
        family_words: if family_words.len() > 1 { family_words } else { Vec::new() },
        dob: p.date_of_birth,
        sex,
        postcode: p.postcode.as_deref().and_then(normalise::postcode),
        phone: p.phone.as_deref().and_then(normalise::phone),
        address,
    }
}

/// One record ready for comparison: every string interned.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) given: u32,
    pub(crate) family: u32,
    /// Double-barrelled family names: each part (interned as family names).
    pub(crate) family_parts: Box<[u32]>,
    pub(crate) given_codes: [u32; 2],
    pub(crate) family_codes: [u32; 2],
    /// The date of birth as the number `YYYYMMDD` (its digits are what a typing slip changes,
    /// and levels are read from them without a calendar), or [`NO_DOB`].
    pub(crate) dob: i32,
    pub(crate) sex: u8,
    pub(crate) postcode: u32,
    pub(crate) outward: u32,
    pub(crate) phone: u32,
    pub(crate) address: u32,
}

pub(crate) const NO_DOB: i32 = i32::MIN;

/// The interned strings of an index.
#[derive(Debug, Default, Clone)]
pub(crate) struct Vocab {
    pub(crate) given: Interner,
    pub(crate) family: Interner,
    pub(crate) codes: Interner,
    pub(crate) places: Interner,
    pub(crate) dobs: FxHashMap<i32, u32>,
    pub(crate) dob_total: u64,
    pub(crate) nicknames: Nicknames,
    /// Nickname groups of each interned given name.
    pub(crate) groups: Vec<Box<[u32]>>,
    /// The numbers of each interned address, by place id: most addresses in one postcode differ
    /// in their house number, with no need to read them.
    pub(crate) house: Vec<Numbers>,
    /// By given-name id: the common name it is a misspelling of, or itself (see
    /// [`Vocab::settle_spellings`]; empty until then, when every name is its own).
    spelling: Vec<u32>,
    /// Each common given name under itself and every one-letter deletion of it, for finding the
    /// common names one slip from a rare one.
    common_variants: FxHashMap<Box<str>, Vec<u32>>,
}

/// A given name held by at least this many records can be what a rarer one misspells.
const COMMON_NAME: u32 = 3;

/// Two names held by numbers of records further apart than this factor may be a name and a
/// recurring slip of it.
const NAMES_APART: u32 = 20;

/// What is known of two different given names (see [`Vocab::read_names`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Names {
    /// One common name misspelt (see [`Vocab::settle_spellings`]).
    Misspelt,
    /// Two names in their own right: each held by several records or known to the nickname
    /// table, and neither a misspelling of the other.
    Distinct,
    /// Neither is known to be either.
    Unknown,
}

/// A name and each of its one-letter deletions: two names one slip apart (a letter wrong,
/// missing, added, or two neighbours swapped) always share one of these.
fn one_slip_variants(name: &str) -> impl Iterator<Item = String> + '_ {
    let chars: Vec<(usize, char)> = name.char_indices().collect();
    std::iter::once(name.to_owned()).chain(chars.into_iter().map(move |(i, c)| {
        let mut v = String::with_capacity(name.len());
        v.push_str(name.get(..i).unwrap_or(""));
        v.push_str(name.get(i + c.len_utf8()..).unwrap_or(""));
        v
    }))
}

/// A date as the number `YYYYMMDD`.
pub(crate) fn ymd(d: NaiveDate) -> i32 {
    d.year() * 10_000 + (d.month() * 100 + d.day()) as i32
}

/// The date a `YYYYMMDD` number stands for.
pub(crate) fn date_of(ymd: i32) -> Option<NaiveDate> {
    let (month, day) = (u32::try_from(ymd / 100 % 100).ok()?, u32::try_from(ymd % 100).ok()?);
    NaiveDate::from_ymd_opt(ymd / 10_000, month, day)
}

/// Days since 1970-01-01.
pub(crate) fn epoch_days(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - 719_163
}

impl Vocab {
    pub(crate) fn new(nicknames: Nicknames) -> Vocab {
        Vocab { nicknames, ..Vocab::default() }
    }

    pub(crate) fn prepare(&mut self, n: Normalised) -> Prepared {
        self.prepare_with(n, true)
    }

    /// Prepares a record that is only compared, never indexed: its values are not counted, and
    /// values the index has never seen are held apart until [`Vocab::clear_transient`].
    pub(crate) fn prepare_probe(&mut self, n: Normalised) -> Prepared {
        self.prepare_with(n, false)
    }

    fn prepare_with(&mut self, n: Normalised, count: bool) -> Prepared {
        let opt = |i: &mut Interner, s: &Option<String>| match s.as_deref() {
            None => NONE,
            Some(s) if count => i.intern(s),
            Some(s) => i.lookup(s),
        };
        let given = opt(&mut self.given, &n.given);
        if let Some(name) = &n.given
            && !Interner::is_transient(given)
            && self.groups.len() <= given as usize
        {
            let g = self.nicknames.groups_of(name).into();
            self.groups.push(g);
        }
        let family = opt(&mut self.family, &n.family);
        let family_parts = n
            .family_words
            .iter()
            .map(|w| if count { self.family.intern_part(w) } else { self.family.lookup(w) })
            .collect();
        let dob = n.dob.map(ymd).unwrap_or(NO_DOB);
        if dob != NO_DOB && count {
            *self.dobs.entry(dob).or_default() += 1;
            self.dob_total += 1;
        }
        let (postcode, outward) = match &n.postcode {
            Some((full, out)) => {
                (opt(&mut self.places, &Some(full.clone())), opt(&mut self.places, &Some(out.clone())))
            }
            None => (NONE, NONE),
        };
        Prepared {
            given,
            family,
            family_parts,
            given_codes: [opt(&mut self.codes, &n.given_codes[0]), opt(&mut self.codes, &n.given_codes[1])],
            family_codes: [opt(&mut self.codes, &n.family_codes[0]), opt(&mut self.codes, &n.family_codes[1])],
            dob,
            sex: n.sex,
            postcode,
            outward,
            phone: opt(&mut self.places, &n.phone),
            address: {
                let id = opt(&mut self.places, &n.address);
                if let Some(text) = &n.address
                    && id != NONE
                    && !Interner::is_transient(id)
                {
                    if self.house.len() <= id as usize {
                        self.house.resize(id as usize + 1, Numbers::default());
                    }
                    if let Some(slot) = self.house.get_mut(id as usize) {
                        *slot = Numbers::of(text);
                    }
                }
                id
            },
        }
    }

    /// The levels of a pair, and whether the names matched the other way round.
    pub(crate) fn compare(&self, a: &Prepared, b: &Prepared) -> (Pattern, bool) {
        self.compare_with(a, b, None)
    }

    /// As [`Vocab::compare`], remembering name comparisons in `memo` (for many pairs of indexed
    /// records; never for a probe, whose transient ids are reused).
    pub(crate) fn compare_with(&self, a: &Prepared, b: &Prepared, memo: Option<&mut Memo>) -> (Pattern, bool) {
        let whole = self.compare_bounded(a, b, memo, |_, _| true);
        whole.unwrap_or(([NULL; COMPARISONS], false))
    }

    /// As [`Vocab::compare_with`], but the cheap comparisons come first: `worth` sees the date of
    /// birth, sex and household levels with each name [`NULL`] (a side lacks it), `0` (the same)
    /// or [`UNCOMPARED`], and when it says no the names are never compared (`None`). Its second
    /// argument says the household level is still open: only the best the addresses could give,
    /// before reading them; a pair still worth it then has them read and is asked again.
    pub(crate) fn compare_bounded(
        &self,
        a: &Prepared,
        b: &Prepared,
        mut memo: Option<&mut Memo>,
        worth: impl Fn(&Pattern, bool) -> bool,
    ) -> Option<(Pattern, bool)> {
        let mut p = [NULL; COMPARISONS];
        p[DOB] = dob_level(a.dob, b.dob);
        p[SEX] = match (a.sex, b.sex) {
            (0, _) | (_, 0) => NULL,
            (x, y) if x == y => 0,
            _ => 1,
        };
        let (household, open) = self.household(a, b, false);
        p[HOUSEHOLD] = household;
        let cheap = |x: u32, y: u32| match (x, y) {
            (NONE, _) | (_, NONE) => NULL,
            (x, y) if x == y => 0,
            _ => UNCOMPARED,
        };
        p[GIVEN] = cheap(a.given, b.given);
        p[FAMILY] = cheap(a.family, b.family);
        if !worth(&p, open) {
            return None;
        }
        if open {
            p[HOUSEHOLD] = self.household(a, b, true).0;
            if !worth(&p, false) {
                return None;
            }
        }
        if p[GIVEN] == UNCOMPARED {
            p[GIVEN] = match memo.as_deref_mut() {
                Some(m) => *m.given.entry(unordered(a.given, b.given)).or_insert_with(|| self.given_level(a, b)),
                None => self.given_level(a, b),
            };
        }
        if p[FAMILY] == UNCOMPARED {
            p[FAMILY] = match memo.as_deref_mut() {
                // Double-barrelled names' parts are the record's own, not the interned name's.
                Some(m) if a.family_parts.is_empty() && b.family_parts.is_empty() => {
                    *m.family.entry(unordered(a.family, b.family)).or_insert_with(|| self.family_level(a, b))
                }
                _ => self.family_level(a, b),
            };
        }
        let mut swapped = false;
        if p[GIVEN] >= 3 && p[FAMILY] >= 2 && self.names_swapped(a, b, memo) {
            p[GIVEN] = 2;
            p[FAMILY] = 1;
            swapped = true;
        }
        Some((p, swapped))
    }

    fn given_level(&self, a: &Prepared, b: &Prepared) -> u8 {
        if a.given == NONE || b.given == NONE {
            return NULL;
        }
        if a.given == b.given {
            return 0;
        }
        let (ga, gb) = (self.groups_of(a.given), self.groups_of(b.given));
        let (x, y) = (self.given.text(a.given), self.given.text(b.given));
        if ga.iter().any(|g| gb.contains(g)) || short_form(x, y) {
            return 1;
        }
        if close(x, y) {
            return 2;
        }
        if codes_meet(a.given_codes, b.given_codes) {
            return 3;
        }
        let initial = (x.len() == 1 || y.len() == 1) && x.as_bytes().first() == y.as_bytes().first();
        if initial || strsim::jaro_winkler(x, y) >= 0.85 {
            return 4;
        }
        5
    }

    fn family_level(&self, a: &Prepared, b: &Prepared) -> u8 {
        if a.family == NONE || b.family == NONE {
            return NULL;
        }
        if a.family == b.family {
            return 0;
        }
        let part_of = |x: &Prepared, y: &Prepared| x.family_parts.contains(&y.family);
        let shared_part = a.family_parts.iter().any(|p| *p != NONE && b.family_parts.contains(p));
        if part_of(a, b)
            || part_of(b, a)
            || shared_part
            || close(self.family.text(a.family), self.family.text(b.family))
        {
            return 1;
        }
        if codes_meet(a.family_codes, b.family_codes) {
            return 2;
        }
        if strsim::jaro_winkler(self.family.text(a.family), self.family.text(b.family)) >= 0.85 {
            return 3;
        }
        4
    }

    fn names_swapped(&self, a: &Prepared, b: &Prepared, mut memo: Option<&mut Memo>) -> bool {
        if [a.given, a.family, b.given, b.family].contains(&NONE) {
            return false;
        }
        // A given name written where a family name was: close enough to be the same word?
        let mut crosses = |given: u32, family: u32| {
            let (g, f) = (self.given.text(given), self.family.text(family));
            match memo.as_deref_mut() {
                Some(m) => *m.cross.entry(u64::from(given) << 32 | u64::from(family)).or_insert_with(|| close(g, f)),
                None => close(g, f),
            }
        };
        crosses(a.given, b.family) && crosses(b.given, a.family)
    }

    /// Whether two addresses surely have different house numbers (as [`address_likeness`] reads
    /// them), known without reading them.
    fn different_houses(&self, a: u32, b: u32) -> bool {
        let numbers = |id: u32| self.house.get(id as usize).copied().unwrap_or_default();
        let (a, b) = (numbers(a), numbers(b));
        let (x, y) = (a.first, b.first);
        // As `address_likeness`: an address that does not start with its number may only have
        // left its house number out, and then the other holding that number is no difference.
        x != 0 && y != 0 && x != y && (a.leading || x != b.second) && (b.leading || y != a.second)
    }

    /// The household level of a pair. Unless `read_addresses`, two different addresses whose
    /// house numbers do not already tell them apart are not read: the level is then the best
    /// they could give, and the second answer is true (the level is still open).
    fn household(&self, a: &Prepared, b: &Prepared, read_addresses: bool) -> (u8, bool) {
        let both = |x: u32, y: u32| x != NONE && y != NONE;
        let comparable = both(a.phone, b.phone) || both(a.postcode, b.postcode) || both(a.address, b.address);
        if !comparable {
            return (NULL, false);
        }
        let same_phone = both(a.phone, b.phone) && a.phone == b.phone;
        if same_phone {
            return (0, false);
        }
        let same_postcode = both(a.postcode, b.postcode) && a.postcode == b.postcode;
        let mut open = false;
        // 3: the same address; else as `address_likeness` says (2 similar, 1 the same house
        // number and half the words, 0 different).
        let address = if both(a.address, b.address) {
            if a.address == b.address {
                3
            } else if self.different_houses(a.address, b.address) {
                0
            } else if !read_addresses {
                open = true;
                2
            } else {
                match address_likeness(self.places.text(a.address), self.places.text(b.address)) {
                    Likeness::Similar => 2,
                    Likeness::SameHouseNumber => 1,
                    Likeness::Different => 0,
                }
            }
        } else {
            0
        };
        let postcode_missing = a.postcode == NONE || b.postcode == NONE;
        if (address == 3 && (same_postcode || postcode_missing)) || (address == 2 && same_postcode) {
            return (0, open);
        }
        if same_postcode || address >= 2 {
            return (1, open);
        }
        let outward = both(a.outward, b.outward).then_some(a.outward == b.outward);
        // The same house number in another area is not the same area.
        if (address == 1 && outward != Some(false)) || outward == Some(true) {
            return (2, false);
        }
        (3, false)
    }

    pub(crate) fn groups_of(&self, given: u32) -> &[u32] {
        if Interner::is_transient(given) {
            return self.nicknames.groups_of(self.given.text(given));
        }
        self.groups.get(given as usize).map(|g| &**g).unwrap_or(&[])
    }

    /// Reads each rare given name as the common name it misspells, once every record is in:
    /// "wiloiam" and "willaim" are both "william" misspelt, not two names. A name is read so when
    /// it has at least five letters, the nickname table does not know it, and exactly one common
    /// name one slip away is held by many more records: at least three times as many when the
    /// name is held by one or two, else more than [`NAMES_APART`] times as many (so neither of
    /// Mason ×100 and Jason ×20 is read as the other). A slip between two common names, such as
    /// "Marxa" between "Maria" and "Marta", is read as itself. The table is made from the counts
    /// at build time: a name added later (an upsert, a record being checked) is read against
    /// them, as one held by one record.
    pub(crate) fn settle_spellings(&mut self) {
        let mut variants: FxHashMap<Box<str>, Vec<u32>> = FxHashMap::default();
        for (id, (text, count)) in self.given.text.iter().zip(&self.given.count).enumerate() {
            if *count >= COMMON_NAME && text.chars().count() >= 4 {
                for v in one_slip_variants(text) {
                    variants.entry(v.into()).or_default().push(id as u32);
                }
            }
        }
        self.common_variants = variants;
        self.spelling = (0..self.given.text.len() as u32).map(|id| self.find_spelling(id)).collect();
    }

    fn find_spelling(&self, id: u32) -> u32 {
        let text = self.given.text(id);
        let count = self.given_count(id);
        // Short names are too near each other to tell a slip from another name, and a name the
        // nickname table knows is a name.
        if text.chars().count() < 5 || self.common_variants.is_empty() || !self.groups_of(id).is_empty() {
            return id;
        }
        let mut found = None;
        for v in one_slip_variants(text) {
            for &c in self.common_variants.get(v.as_str()).map_or(&[][..], |c| c.as_slice()) {
                let common = self.given_count(c);
                let far_more = if count < COMMON_NAME {
                    common >= count.saturating_mul(3)
                } else {
                    common > count.saturating_mul(NAMES_APART)
                };
                if c == id || found == Some(c) || !far_more {
                    continue;
                }
                if strsim::osa_distance(text, self.given.text(c)) > 1 {
                    continue;
                }
                if found.is_some() {
                    return id;
                }
                found = Some(c);
            }
        }
        found.unwrap_or(id)
    }

    /// How many indexed records hold a given name (one for a name the index does not hold).
    fn given_count(&self, id: u32) -> u32 {
        if Interner::is_transient(id) { 1 } else { self.given.count.get(id as usize).copied().unwrap_or(1).max(1) }
    }

    /// The common name a given name misspells, or itself.
    fn spelling(&self, id: u32) -> u32 {
        if Interner::is_transient(id) {
            return self.find_spelling(id);
        }
        // A name added since (an upsert) is looked up as a probe's is.
        self.spelling.get(id as usize).copied().unwrap_or_else(|| self.find_spelling(id))
    }

    /// Two different given names that are one common name misspelt (see
    /// [`Vocab::settle_spellings`]).
    pub(crate) fn same_name_misspelt(&self, a: u32, b: u32) -> bool {
        a != NONE && b != NONE && a != b && self.spelling(a) == self.spelling(b)
    }

    /// What this vocabulary can say of two different given names. `counts_known`: the vocabulary
    /// holds an index's records (so how many hold a name means something); without that, two
    /// different names are taken for two names.
    pub(crate) fn read_names(&self, a: u32, b: u32, counts_known: bool) -> Names {
        if !counts_known {
            return Names::Distinct;
        }
        // Names the nickname table knows are names; otherwise both must be held by several
        // records, and by numbers of records not far apart: a slip of a common name recurs in a
        // large index, but far less often than the name ("noh" and "noah"). Asked first: two
        // names in their own right are never one name misspelt.
        let known = |id: u32| !self.groups_of(id).is_empty();
        let (x, y) = (self.given_count(a), self.given_count(b));
        let (fewer, more) = (x.min(y), x.max(y));
        if (known(a) && known(b)) || (fewer >= COMMON_NAME && more <= fewer.saturating_mul(NAMES_APART)) {
            return Names::Distinct;
        }
        if self.same_name_misspelt(a, b) { Names::Misspelt } else { Names::Unknown }
    }

    /// Forgets the values of the last record checked.
    pub(crate) fn clear_transient(&mut self) {
        for i in [&mut self.given, &mut self.family, &mut self.codes, &mut self.places] {
            i.clear_transient();
        }
    }

    /// Term frequency of an exact agreement, when the comparison adjusts for it.
    pub(crate) fn exact_frequency(&self, comparison: usize, a: &Prepared) -> Option<f64> {
        match comparison {
            GIVEN if a.given != NONE => Some(self.given.frequency(a.given)),
            FAMILY if a.family != NONE => Some(self.family.frequency(a.family)),
            DOB if a.dob != NO_DOB => {
                let c = self.dobs.get(&a.dob).copied().unwrap_or(1).max(1);
                Some(f64::from(c) / self.dob_total.max(1) as f64)
            }
            _ => None,
        }
    }

    /// The normalised values of one comparison, for explanations.
    pub(crate) fn shown(&self, comparison: usize, r: &Prepared) -> Option<String> {
        let text = |i: &Interner, id: u32| (id != NONE).then(|| i.text(id).to_owned());
        match comparison {
            GIVEN => text(&self.given, r.given),
            FAMILY => text(&self.family, r.family),
            DOB => (r.dob != NO_DOB).then(|| date_of(r.dob).map(|d| d.to_string())).flatten(),
            SEX => match r.sex {
                1 => Some("M".into()),
                2 => Some("F".into()),
                _ => None,
            },
            _ => {
                let parts: Vec<String> = [r.address, r.postcode, r.phone]
                    .iter()
                    .filter(|id| **id != NONE)
                    .map(|id| self.places.text(*id).to_owned())
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" · "))
            }
        }
    }
}

/// Name comparisons already made, by interned id: names repeat across pairs, and the string
/// metrics are most of what scoring a pair costs.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    given: FxHashMap<u64, u8>,
    family: FxHashMap<u64, u8>,
    cross: FxHashMap<u64, bool>,
}

impl Memo {
    /// Forgets everything once it holds more than `limit` comparisons (bounded memory).
    pub(crate) fn bound(&mut self, limit: usize) {
        if self.given.len() + self.family.len() + self.cross.len() > limit {
            *self = Memo::default();
        }
    }
}

/// Two ids in either order as one key.
fn unordered(x: u32, y: u32) -> u64 {
    u64::from(x.min(y)) << 32 | u64::from(x.max(y))
}

/// One name is the start of the other, at least three letters long ("Steph" for "Stephanie").
fn short_form(x: &str, y: &str) -> bool {
    let (short, long) = if x.len() <= y.len() { (x, y) } else { (y, x) };
    short.len() >= 3 && long.starts_with(short)
}

/// One slip apart, or very alike.
fn close(x: &str, y: &str) -> bool {
    let short = x.len().min(y.len());
    (short >= 3 && x.len().abs_diff(y.len()) <= 1 && strsim::osa_distance(x, y) <= 1)
        || strsim::jaro_winkler(x, y) >= 0.94
}

fn codes_meet(a: [u32; 2], b: [u32; 2]) -> bool {
    a.iter().any(|x| *x != NONE && b.contains(x))
}

fn dob_level(a: i32, b: i32) -> u8 {
    if a == NO_DOB || b == NO_DOB {
        return NULL;
    }
    if a == b {
        return 0;
    }
    // Both are `YYYYMMDD` numbers.
    let (year, month, day) = (|d: i32| d / 10_000, |d: i32| d / 100 % 100, |d: i32| d % 100);
    if year(a) == year(b) && month(a) == day(b) && day(a) == month(b) {
        return 1;
    }
    if one_digit_apart(a, b) {
        return 2;
    }
    if year(a) == year(b) && month(a) == month(b) {
        return 3;
    }
    4
}

/// The dates one slip away from `date` (day and month swapped, one digit wrong, two neighbouring
/// digits swapped) that fall within `earliest..=latest`, in order: where a record of the same
/// person may sit when a date of birth was mistyped. The comparator reads each of them as
/// "day and month swapped" or "one digit wrong".
pub fn slipped_dates(date: NaiveDate, earliest: NaiveDate, latest: NaiveDate) -> Vec<NaiveDate> {
    let text = date.format("%Y%m%d").to_string();
    let digits: Vec<u8> = text.bytes().collect();
    let mut out = std::collections::BTreeSet::new();
    let mut keep = |d: &[u8]| {
        if let Some(found) = std::str::from_utf8(d).ok().and_then(|t| NaiveDate::parse_from_str(t, "%Y%m%d").ok())
            && found != date
            && (earliest..=latest).contains(&found)
        {
            out.insert(found);
        }
    };
    for i in 0..digits.len() {
        for c in b'0'..=b'9' {
            let mut d = digits.clone();
            d[i] = c;
            keep(&d);
        }
        if i + 1 < digits.len() {
            let mut d = digits.clone();
            d.swap(i, i + 1);
            keep(&d);
        }
    }
    let swapped = [&digits[..4], &digits[6..8], &digits[4..6]].concat();
    keep(&swapped);
    out.into_iter().collect()
}

/// Dates (`YYYYMMDD` numbers) whose digits differ by one slip (one digit wrong, or two
/// neighbours swapped); on the scoring path, so without allocating.
fn one_digit_apart(x: i32, y: i32) -> bool {
    let digits = |d: i32| {
        let mut out = [0u8; 8];
        let mut n = d.unsigned_abs();
        for slot in out.iter_mut().rev() {
            *slot = (n % 10) as u8;
            n /= 10;
        }
        out
    };
    let (a, b) = (digits(x), digits(y));
    let mut differ = (0..8).filter(|&i| a[i] != b[i]);
    match (differ.next(), differ.next(), differ.next()) {
        (Some(_), None, None) => true,
        (Some(i), Some(j), None) => j == i + 1 && a[i] == b[j] && a[j] == b[i],
        _ => false,
    }
}

/// Whether a word of an address is a number (has a digit in it: "12", "12a", "2/14").
fn is_number(word: &str) -> bool {
    word.bytes().any(|c| c.is_ascii_digit())
}

/// What [`Vocab::different_houses`] knows of an address without reading it: hashes of its first
/// two numbers (0 for none; both 0 when it has more than two, so that it is read), and whether
/// it starts with its first.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Numbers {
    first: u64,
    second: u64,
    leading: bool,
}

impl Numbers {
    fn of(address: &str) -> Numbers {
        let hash = |w: &str| {
            let mut h = DefaultHasher::new();
            w.hash(&mut h);
            h.finish().max(1)
        };
        let mut numbers = address.split(' ').filter(|w| is_number(w));
        match (numbers.next(), numbers.next(), numbers.next()) {
            (first, second, None) => Numbers {
                first: first.map_or(0, hash),
                second: second.map_or(0, hash),
                leading: address.split(' ').next().is_some_and(is_number),
            },
            _ => Numbers::default(),
        }
    }
}

/// An address's house number: its first word with a digit in it.
fn house_number(address: &str) -> Option<&str> {
    address.split(' ').find(|w| is_number(w))
}

/// How alike two addresses are, as [`address_likeness`] reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Likeness {
    Different,
    /// The same house number (both have one) and at least two of the other words, half of them
    /// or more: the same house number on what is likely the same street, the rest written
    /// differently or corrupted (evidence of the same area, not of the same home).
    SameHouseNumber,
    /// The same home written differently.
    Similar,
}

/// Addresses with the same house number (when both have one) that share most of their words,
/// a word matching when it is the same or one slip away, or that are one short string apart
/// once the spaces go (a word split or run together, a few typos), are [`Likeness::Similar`].
fn address_likeness(a: &str, b: &str) -> Likeness {
    let numbers = (house_number(a), house_number(b));
    let wa: Vec<&str> = a.split(' ').collect();
    let wb: Vec<&str> = b.split(' ').collect();
    // Different house numbers are different homes, unless an address that does not start with
    // its number (a postcode, a block at the end) left its house number out and the other holds
    // that number further on: "Kadina Crescent 3199" against "14 Kadina Crescent 3199".
    let leading = |w: &[&str]| w.first().is_some_and(|f| is_number(f));
    if let (Some(x), Some(y)) = numbers
        && x != y
        && (leading(&wa) || !wb.contains(&x))
        && (leading(&wb) || !wa.contains(&y))
    {
        return Likeness::Different;
    }
    let alike = |x: &str, y: &str| {
        x == y || (x.len() >= 4 && y.len() >= 4 && x.len().abs_diff(y.len()) <= 1 && strsim::osa_distance(x, y) <= 1)
    };
    // Counted from both sides and the smaller taken, so that a repeated word ("z z" against "z")
    // counts once and the answer is the same whichever address comes first.
    let from_a = wa.iter().filter(|x| wb.iter().any(|y| alike(x, y))).count();
    let from_b = wb.iter().filter(|y| wa.iter().any(|x| alike(x, y))).count();
    let shared = from_a.min(from_b);
    let union = (wa.len() + wb.len()).saturating_sub(shared);
    if union > 0 && shared * 3 >= union * 2 {
        return Likeness::Similar;
    }
    // Words split or run together: worth the string distance only when a third already match.
    if shared * 3 < union {
        return Likeness::Different;
    }
    let (ca, cb): (String, String) = (wa.concat(), wb.concat());
    if strsim::jaro_winkler(&ca, &cb) >= 0.93 {
        return Likeness::Similar;
    }
    // The same house number is one of the shared words; the rest must carry the likeness.
    let (shared, union) = (shared.saturating_sub(1), union.saturating_sub(1));
    if numbers.0.is_some() && numbers.0 == numbers.1 && shared >= 2 && shared * 2 >= union {
        return Likeness::SameHouseNumber;
    }
    Likeness::Different
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn person(given: &str, family: &str, dob: &str) -> Person {
        Person {
            given_name: (!given.is_empty()).then(|| given.into()),
            family_name: (!family.is_empty()).then(|| family.into()),
            date_of_birth: NaiveDate::parse_from_str(dob, "%Y-%m-%d").ok(),
            ..Person::default()
        }
    }

    fn levels(a: &Person, b: &Person) -> Pattern {
        let dm = DoubleMetaphone::default();
        let mut v = Vocab::new(Nicknames::builtin());
        let (x, y) = (normalise(a, &dm), normalise(b, &dm));
        let (x, y) = (v.prepare(x), v.prepare(y));
        v.compare(&x, &y).0
    }

    #[test]
    fn given_name_levels() {
        let l = |a: &str, b: &str| levels(&person(a, "", ""), &person(b, "", ""))[GIVEN];
        assert_eq!(l("Amy", "AMY"), 0);
        assert_eq!(l("Bill", "William"), 1);
        assert_eq!(l("Steph", "Stephanie"), 1, "a short form");
        assert_eq!(l("Jonathna", "Jonathan"), 2, "a slip");
        assert_eq!(l("Stephen", "Steven"), 1, "variants in the table");
        assert_eq!(l("Katelyn", "Caitlin"), 1, "spelling variants in the table");
        assert_eq!(l("Fillip", "Philip"), 3, "sounds alike");
        assert_eq!(l("J", "James"), 4, "an initial");
        assert_eq!(l("Amy", "Zoe"), 5);
        assert_eq!(l("", "Zoe"), NULL);
    }

    #[test]
    fn family_name_levels_and_swaps() {
        let l = |a: &str, b: &str| levels(&person("", a, ""), &person("", b, ""))[FAMILY];
        assert_eq!(l("O'Brien", "obrien"), 0);
        assert_eq!(l("Smith-Jones", "Smith Jones"), 0);
        assert_eq!(l("Smith-Jones", "Jones"), 1);
        assert_eq!(l("Thompson", "Thomson"), 1);
        assert_eq!(l("Smyth", "Smith"), 1);
        assert_eq!(l("Philips", "Fillips"), 2);
        assert_eq!(l("Mccattmhy", "Mccarthy"), 3, "similar");
        assert_eq!(l("Khan", "Walker"), 4);
        let swapped = levels(&person("Ahmed", "Ali", ""), &person("Ali", "Ahmed", ""));
        assert_eq!((swapped[GIVEN], swapped[FAMILY]), (2, 1));
    }

    #[test]
    fn date_of_birth_levels() {
        let l = |a: &str, b: &str| levels(&person("", "", a), &person("", "", b))[DOB];
        assert_eq!(l("2012-05-01", "2012-05-01"), 0);
        assert_eq!(l("2012-05-01", "2012-01-05"), 1);
        assert_eq!(l("2012-05-01", "2013-05-01"), 2);
        assert_eq!(l("2012-05-12", "2012-05-21"), 2, "neighbouring digits swapped");
        assert_eq!(l("2012-05-01", "2012-05-19"), 3);
        assert_eq!(l("2012-05-01", "2014-08-20"), 4);
        assert_eq!(l("2012-05-01", ""), NULL);
    }

    #[test]
    fn address_similarity_does_not_depend_on_the_order() {
        // Found by the symmetry proptest: a repeated word counted twice from one side only.
        for (a, b) in [("z z", "z"), ("12 high street", "12 high high street"), ("flat 2 mill lane", "2 mill lane")] {
            assert_eq!(address_likeness(a, b), address_likeness(b, a), "{a} / {b}");
        }
        assert_eq!(address_likeness("12 high street", "12 high st"), Likeness::Similar);
    }

    #[test]
    fn household_is_one_piece_of_evidence() {
        let home = |address: &str, postcode: &str, phone: &str| Person {
            address: (!address.is_empty()).then(|| address.into()),
            postcode: (!postcode.is_empty()).then(|| postcode.into()),
            phone: (!phone.is_empty()).then(|| phone.into()),
            ..Person::default()
        };
        let l = |a: Person, b: Person| levels(&a, &b)[HOUSEHOLD];
        assert_eq!(l(home("1 High St", "WK1 2AB", ""), home("1 High Street", "wk12ab", "")), 0);
        assert_eq!(l(home("", "", "07700 900123"), home("", "", "+44 7700 900123")), 0);
        assert_eq!(l(home("1 High St", "WK1 2AB", ""), home("9 Low Rd", "WK1 2AB", "")), 1);
        assert_eq!(l(home("16 wilshiredstreet erinsavle", "", ""), home("16 wilshire street erinsvale", "", "")), 1);
        assert_eq!(l(home("16 Wilshire Street", "", ""), home("18 Wilshire Street", "", "")), 3, "neighbours");
        // The same house number and half the words, the rest corrupted: the same area, not home.
        let corrupted = (
            home("150 heard street sumemfset 5344 qld", "", ""),
            home("150 heard sreet summerset street agnes 5344 qld", "", ""),
        );
        assert_eq!(l(corrupted.0, corrupted.1), 2);
        assert_eq!(l(home("12 acacia road", "", ""), home("12 birch lane", "", "")), 3, "only the number");
        assert_eq!(l(home("12 church road", "", ""), home("12 station road", "", "")), 3, "the number and 'road'");
        let elsewhere = |outward: &str| home("150 heard street sumemfset 5344 qld", outward, "");
        assert_eq!(l(elsewhere("WK1 2AB"), home("150 heard sreet summerset street agnes 5344 qld", "LS2 9ZZ", "")), 3);
        assert_eq!(l(home("12 high street", "", ""), home("high street", "", "")), 1, "no number on one side");
        // A number further on (a postcode, a block) is not the house number when the house number
        // was left out; it still tells neighbours and flats apart.
        let (no_number, numbered) =
            ("kadina crescent regents park 3199 qld", "14 kadina crescent regents park 3199 qld");
        assert_eq!(l(home(no_number, "", ""), home(numbered, "", "")), 1, "the house number left out");
        assert_eq!(l(home(numbered, "", ""), home(no_number, "", "")), 1, "either way round");
        assert_eq!(
            l(home("16 wilshire street 3199", "", ""), home("18 wilshire street 3199", "", "")),
            3,
            "neighbours"
        );
        assert_eq!(l(home("Flat 3, 12 Mill Lane", "", ""), home("Flat 4, 12 Mill Lane", "", "")), 3, "another flat");
        assert_eq!(l(home("Flat 3, 12 Mill Lane", "", ""), home("3/12 Mill Lane", "", "")), 1, "the short way");
        // A house number of its own is the house number, wherever else the other has that number.
        assert_eq!(l(home("4 Mill Lane", "", ""), home("12 Mill Lane 4", "", "")), 3, "4 is this one's house");
        // A left-out house number with a different street is no nearer for the shared postcode.
        let other_street = ("mill lane north 3199 qld", "14 mill lane south 3199 qld");
        assert_eq!(l(home(other_street.0, "", ""), home(other_street.1, "", "")), 3, "not the same house number");
        assert_eq!(l(home("", "WK1 2AB", ""), home("", "WK1 9ZZ", "")), 2);
        assert_eq!(l(home("", "WK1 2AB", ""), home("", "LS2 9ZZ", "")), 3);
        assert_eq!(l(home("", "WK1 2AB", ""), home("", "", "07700 900123")), NULL);
    }

    #[test]
    fn rare_names_are_read_as_the_one_common_name_they_misspell() {
        let mut v = Vocab::new(Nicknames::builtin());
        let mut id = |name: &str, times: usize| {
            let ids: Vec<u32> = (0..times)
                .map(|_| v.prepare(normalise(&person(name, "", ""), &DoubleMetaphone::default())).given)
                .collect();
            ids[0]
        };
        let (william, willaim, wiloiam) = (id("william", 3), id("willaim", 1), id("wiloiam", 1));
        let (maria, marta, marxa) = (id("maria", 3), id("marta", 3), id("marxa", 1));
        let (larry, harry) = (id("larry", 3), id("harry", 1));
        let (lisa, lixa) = (id("lisa", 3), id("lixa", 1));
        v.settle_spellings();
        assert!(v.same_name_misspelt(willaim, wiloiam));
        assert!(v.same_name_misspelt(william, willaim));
        assert!(!v.same_name_misspelt(maria, marta), "two common names");
        assert!(!v.same_name_misspelt(marxa, maria) && !v.same_name_misspelt(marxa, marta), "one slip from both");
        assert!(!v.same_name_misspelt(larry, harry), "a name the nickname table knows");
        assert!(!v.same_name_misspelt(lisa, lixa), "too short to tell a slip from another name");
        assert!(!v.same_name_misspelt(william, william), "the same name is not misspelt");
        // A name never indexed (a record being checked) is read the same way.
        let probe = v.given.lookup("wilpiam");
        assert!(v.same_name_misspelt(probe, wiloiam));
    }

    #[test]
    fn names_in_their_own_right_are_told_from_slips() {
        let mut v = Vocab::new(Nicknames::builtin());
        let mut id = |name: &str, times: usize| {
            let ids: Vec<u32> = (0..times)
                .map(|_| v.prepare(normalise(&person(name, "", ""), &DoubleMetaphone::default())).given)
                .collect();
            ids[0]
        };
        let (noah, noh, nosh) = (id("noah", 400), id("noh", 5), id("nosh", 1));
        let (elsa, ella, elza) = (id("elsa", 30), id("ella", 200), id("elza", 2));
        let (harry, larry) = (id("harry", 1), id("larry", 1));
        let (william, willaim) = (id("william", 100), id("willaim", 1));
        let (mason, jason) = (id("mason", 100), id("jason", 20));
        let (jayden, jaden, jaydon) = (id("jayden", 400), id("jaden", 60), id("jaydon", 30));
        v.settle_spellings();
        assert_eq!(v.read_names(mason, jason, true), Names::Distinct, "five letters, both common");
        assert!(!v.same_name_misspelt(jason, mason), "Jason is no slip of Mason");
        assert_eq!(v.read_names(jaden, jaydon, true), Names::Distinct, "two names, each one slip from a third");
        assert_eq!(v.read_names(jayden, jaden, true), Names::Distinct);
        assert_eq!(v.read_names(elsa, ella, true), Names::Distinct, "both held by many, not far apart");
        assert_eq!(v.read_names(noah, noh, true), Names::Unknown, "a slip recurring far less often than the name");
        assert_eq!(v.read_names(elsa, elza, true), Names::Unknown, "held by too few to be sure");
        assert_eq!(v.read_names(noh, nosh, true), Names::Unknown);
        assert_eq!(v.read_names(harry, larry, true), Names::Distinct, "the nickname table knows both");
        assert_eq!(v.read_names(william, willaim, true), Names::Misspelt);
        assert_eq!(v.read_names(noah, noh, false), Names::Distinct, "nothing known of how common they are");
    }

    #[test]
    fn slipped_dates_are_the_dates_the_comparator_reads_as_one_slip() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let (earliest, latest) = (day("2000-01-01"), day("2026-12-05"));
        for date in [day("2012-05-01"), day("2019-11-30"), day("2026-12-04"), day("2009-02-28")] {
            let found = slipped_dates(date, earliest, latest);
            // Every date in the window that the comparator reads as swapped or one digit wrong,
            // and no other.
            let mut all = Vec::new();
            let mut d = earliest;
            while d <= latest {
                if matches!(dob_level(ymd(date), ymd(d)), 1 | 2) {
                    all.push(d);
                }
                d = d.succ_opt().unwrap();
            }
            assert_eq!(found, all, "{date}");
            assert!(found.len() < 60, "{date}: {}", found.len());
        }
        let found = slipped_dates(day("2012-05-01"), earliest, latest);
        assert!(
            found.contains(&day("2012-01-05"))
                && found.contains(&day("2012-05-11"))
                && found.contains(&day("2021-05-01"))
        );
        assert!(!found.contains(&day("2012-05-01")));
        // Nothing outside the window (2102 is no date of birth yet).
        assert!(slipped_dates(day("2012-05-01"), earliest, latest).iter().all(|d| *d <= latest && *d >= earliest));
    }

    #[test]
    fn patterns_pack_and_unpack() {
        let p = [0, 5, NULL, 1, 3];
        assert_eq!(unpack(pack(&p)), p);
    }
}
