//! Folds text into the form the matcher reads — lower-case words separated by single spaces,
//! scope terminators as a `.` token — remembering where each token came from in the original
//! text, and marking the tokens where a lexicon phrase may start.
//!
//! Folding rules (the same for lexicon phrases and narratives, so they always agree):
//! - ASCII letters are lower-cased; other letters and digits go through `char::to_lowercase`.
//! - Apostrophes (straight, curly, modifier, backtick) are removed, so "didn't" reads "didnt"
//!   and "boyfriend's" reads "boyfriends" (a possessive meets the plural variant).
//! - Every other run of non-alphanumeric characters (spaces, hyphens, slashes, quotes, emoji,
//!   non-breaking spaces) becomes one space, so "self-harm" = "self harm" and "b/f" = "b f".
//! - Configured terminator characters (`.`, `;`, newline...) become a `.` token of their own.
//!
//! The start filter is why screening is fast: the automaton is only run, anchored, at tokens
//! that may begin a phrase — a one-token phrase, or the first two tokens of a longer one — as
//! told by two small Bloom filters over token hashes computed while folding. A false positive
//! costs one short anchored search; there are no false negatives, so the result is exactly that
//! of searching from every token. Terminators are known while folding and need no search.

/// The byte that stands for any scope terminator character in folded text. Folded text
/// otherwise holds only lower-case alphanumerics and spaces, so it cannot be confused.
pub(super) const TERMINATOR_TOKEN: u8 = b'.';

// Codes in `Normaliser::table` below 0x20; every other entry is the folded byte itself.
const SEPARATOR: u8 = 0;
const DROPPED: u8 = 1;
const TERMINATOR: u8 = 2;
/// Any byte of a non-ASCII character: decoded and classified on the slow path.
const NON_ASCII: u8 = 3;

/// Characters read as apostrophes: removed, never a word break.
fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '`' | '\u{00B4}')
}

/// Why a single non-alphanumeric character may not be configured as a scope terminator, if it
/// may not. (A single letter or digit is read as a one-letter word terminator.)
pub(super) fn terminator_char_problem(c: char) -> Option<&'static str> {
    if is_apostrophe(c) {
        Some("apostrophes are removed inside words, so they cannot end a scope")
    } else if c == ' ' || c == '\t' {
        Some("a space or tab would end the scope after every word")
    } else {
        None
    }
}

/// One token of folded text: a word or a terminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token {
    /// Offset in the folded bytes of the token's first byte (its leading space is just before).
    pub(super) at: u32,
    /// Byte span in the source text, from the token's first character to the end of its last
    /// (apostrophes and punctuation around the token excluded).
    pub(super) source_start: u32,
    pub(super) source_end: u32,
    /// A scope terminator character, not a word.
    pub(super) terminator: bool,
}

/// Text folded for matching. Reused between calls to keep allocation out of the hot path.
#[derive(Debug, Default)]
pub(super) struct Folded {
    /// The folded text is `bytes[..len]`; what follows is scratch space left from earlier
    /// calls (never cleared, to save zeroing it on every call).
    bytes: Vec<u8>,
    len: usize,
    pub(super) tokens: Vec<Token>,
    /// Indices into `tokens` where a phrase may start, and every terminator, ascending.
    pub(super) candidates: Vec<u32>,
}

impl Folded {
    /// `" tok tok . tok "`: starts and ends with a space, one space between tokens.
    pub(super) fn text(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

const FILTER_BITS: u32 = 16;

/// Bloom filters (one hash each) over the first tokens of the lexicon's phrases.
#[derive(Debug, Clone)]
pub(super) struct StartFilter {
    /// One-token phrases.
    single: Vec<u64>,
    /// First two tokens of longer phrases.
    pair: Vec<u64>,
}

impl StartFilter {
    pub(super) fn new() -> Self {
        let words = 1usize << (FILTER_BITS - 6);
        Self { single: vec![0; words], pair: vec![0; words] }
    }

    /// Records folded `phrase` (tokens separated by single spaces) as a possible start.
    pub(super) fn insert(&mut self, phrase: &str) {
        let mut tokens = phrase.split(' ').map(|t| token_key(t.as_bytes()));
        match (tokens.next(), tokens.next()) {
            (Some(first), None) => set_bit(&mut self.single, first),
            (Some(first), Some(second)) => set_bit(&mut self.pair, pair_key(first, second)),
            (None, _) => {}
        }
    }

    #[inline]
    fn single(&self, key: u64) -> bool {
        get_bit(&self.single, key)
    }

    #[inline]
    fn pair(&self, first: u64, second: u64) -> bool {
        get_bit(&self.pair, pair_key(first, second))
    }
}

/// A cheap hash of a token's folded bytes: its first and last eight bytes (zero-padded) and
/// its length, mixed with one multiply. No loop over the bytes, so no branch to mispredict.
/// Collisions only cost a wasted search (see `StartFilter`).
#[inline]
fn token_key(token: &[u8]) -> u64 {
    let n = token.len();
    let head = match token.first_chunk::<8>() {
        Some(first) => u64::from_le_bytes(*first),
        None => {
            let mut padded = [0u8; 8];
            if let Some(dst) = padded.get_mut(..n) {
                dst.copy_from_slice(token);
            }
            u64::from_le_bytes(padded)
        }
    };
    let tail = if n > 8 { token.last_chunk::<8>().map_or(0, |last| u64::from_le_bytes(*last)) } else { 0 };
    (head ^ tail.rotate_left(29) ^ (n as u64).rotate_right(8)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The key of the token at `at..end` of a folding buffer that has room past `end`: reads eight
/// bytes at once and masks off what follows the token, instead of copying it.
#[inline(always)]
fn key_in(buf: &[u8], at: usize, end: usize) -> u64 {
    let n = end.saturating_sub(at);
    if n < 8
        && let Some(window) = buf.get(at..).and_then(|rest| rest.first_chunk::<8>())
    {
        let head = u64::from_le_bytes(*window) & ((1u64 << (8 * n)) - 1);
        return (head ^ (n as u64).rotate_right(8)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    buf.get(at..end).map_or(0, token_key)
}

#[inline]
fn pair_key(first: u64, second: u64) -> u64 {
    (first.rotate_left(31) ^ second).wrapping_mul(0xD6E8_FEB8_6659_FD93)
}

fn set_bit(bits: &mut [u64], key: u64) {
    let bit = key >> (64 - FILTER_BITS);
    if let Some(word) = bits.get_mut((bit >> 6) as usize) {
        *word |= 1 << (bit & 63);
    }
}

#[inline]
fn get_bit(bits: &[u64], key: u64) -> bool {
    let bit = key >> (64 - FILTER_BITS);
    bits.get((bit >> 6) as usize).is_some_and(|word| word & (1 << (bit & 63)) != 0)
}

/// The folding table for one lexicon (the terminator characters are configurable).
#[derive(Debug, Clone)]
pub(super) struct Normaliser {
    /// For each byte: the folded byte, or `SEPARATOR` / `DROPPED` / `TERMINATOR` /
    /// `NON_ASCII` (one table for all 256 values saves a branch per byte in the hot loop).
    table: [u8; 256],
    /// Non-ASCII characters configured as terminators (for example "…"); usually empty.
    extra_terminators: Vec<char>,
}

impl Normaliser {
    /// A normaliser that treats `terminators` (each accepted by `terminator_char_problem`) as
    /// scope terminators.
    pub(super) fn new(terminators: &[char]) -> Self {
        let mut table = [SEPARATOR; 256];
        for (byte, slot) in (0u8..=255).zip(table.iter_mut()) {
            if !byte.is_ascii() {
                *slot = NON_ASCII;
            } else if byte.is_ascii_alphanumeric() {
                *slot = byte.to_ascii_lowercase();
            } else if is_apostrophe(char::from(byte)) {
                *slot = DROPPED;
            }
        }
        let mut extra_terminators = Vec::new();
        for &c in terminators {
            match u8::try_from(c) {
                Ok(byte) if byte < 0x80 => {
                    if let Some(slot) = table.get_mut(usize::from(byte)) {
                        *slot = TERMINATOR;
                    }
                }
                _ => extra_terminators.push(c),
            }
        }
        Self { table, extra_terminators }
    }

    /// Whether `c` ends a negation scope.
    pub(super) fn is_terminator(&self, c: char) -> bool {
        match u8::try_from(c) {
            Ok(byte) if byte < 0x80 => self.table.get(usize::from(byte)) == Some(&TERMINATOR),
            _ => self.extra_terminators.contains(&c),
        }
    }

    /// Folds a lexicon phrase: its tokens separated by single spaces, without padding.
    pub(super) fn phrase(&self, phrase: &str) -> String {
        let mut folded = Folded::default();
        self.fold(phrase, None, &mut folded);
        // Folded bytes are whole UTF-8 characters only (ASCII or encoded `char`s), so the
        // lossy conversion never replaces anything.
        String::from_utf8_lossy(folded.text()).trim_matches(' ').to_owned()
    }

    /// Folds `text` into `out`, listing its tokens and, when a `filter` is given, the tokens
    /// where a phrase may start (and every terminator).
    ///
    /// `text` must be shorter than `u32::MAX` bytes: callers split longer text first.
    pub(super) fn fold(&self, text: &str, filter: Option<&StartFilter>, out: &mut Folded) {
        let src = text.as_bytes();
        let Folded { bytes, len: folded_len, tokens, candidates } = out;
        tokens.clear();
        candidates.clear();
        tokens.reserve(src.len() / 5 + 1);
        // Written by index into a buffer sized for the worst ASCII case (a terminator after a
        // word becomes three bytes), so the hot loop keeps its position in a register; the
        // non-ASCII path makes room itself. Eight spare bytes let `key_in` read a short
        // token's bytes in one load.
        let room = 3 * src.len() + 10;
        if bytes.len() < room {
            bytes.resize(room, 0);
        }
        let mut w = Writer { buf: bytes, len: 0 };
        w.put(b' ');
        let mut starts = Starts { filter, tokens, candidates, waiting: None };
        // The token being built, kept in locals (registers) in the hot loop.
        let mut open: Option<Open> = None;
        let table = &self.table;
        let mut i = 0;
        while let Some(&b) = src.get(i) {
            let mut code = table[usize::from(b)];
            if code != NON_ASCII {
                if code > NON_ASCII {
                    // The common case: a run of ASCII letters and digits, in one tight loop.
                    let mut token = open.unwrap_or(Open { at: w.len, source_start: i, source_end: i });
                    loop {
                        w.put(code);
                        i += 1;
                        code = src.get(i).map_or(SEPARATOR, |&next| table[usize::from(next)]);
                        if code <= NON_ASCII {
                            break;
                        }
                    }
                    token.source_end = i;
                    open = Some(token);
                    continue;
                }
                if code == SEPARATOR {
                    if let Some(token) = open.take() {
                        starts.word(&mut w, token);
                    }
                } else if code == TERMINATOR {
                    if let Some(token) = open.take() {
                        starts.word(&mut w, token);
                    }
                    starts.terminator(&mut w, i, i + 1);
                }
                // DROPPED: an apostrophe; the word goes on.
                i += 1;
                continue;
            }
            // `i` is always a character boundary: it only advances by whole characters.
            let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) else {
                i += 1;
                continue;
            };
            let end = i + c.len_utf8();
            if is_apostrophe(c) {
                // Removed: the word goes on.
            } else if c.is_alphanumeric() && !self.extra_terminators.contains(&c) {
                let mut token = open.unwrap_or(Open { at: w.len, source_start: i, source_end: i });
                let mut buf = [0u8; 4];
                for lower in c.to_lowercase() {
                    for &byte in lower.encode_utf8(&mut buf).as_bytes() {
                        w.put_checked(byte);
                    }
                }
                token.source_end = end;
                open = Some(token);
            } else {
                if let Some(token) = open.take() {
                    starts.word(&mut w, token);
                }
                if self.extra_terminators.contains(&c) {
                    starts.terminator(&mut w, i, end);
                }
            }
            i = end;
        }
        if let Some(token) = open.take() {
            starts.word(&mut w, token);
        }
        starts.settle_waiting();
        *folded_len = w.len;
    }
}

/// Appends to a pre-sized buffer by index.
struct Writer<'a> {
    buf: &'a mut Vec<u8>,
    len: usize,
}

impl Writer<'_> {
    /// Writes one byte; the buffer is sized so that ASCII input never runs out of room.
    #[inline(always)]
    fn put(&mut self, byte: u8) {
        match self.buf.get_mut(self.len) {
            Some(slot) => *slot = byte,
            None => self.buf.push(byte),
        }
        self.len += 1;
    }

    /// Writes one byte of a non-ASCII character, whose lower case may be longer than itself.
    fn put_checked(&mut self, byte: u8) {
        if self.len + 4 > self.buf.len() {
            let grown = self.buf.len() * 2 + 16;
            self.buf.resize(grown, 0);
        }
        self.put(byte);
    }
}

/// A word being folded: where it starts in the folded and source text, and where its last
/// character ends.
#[derive(Clone, Copy)]
struct Open {
    at: usize,
    source_start: usize,
    source_end: usize,
}

/// Collects tokens and decides where phrases may start. A word's candidacy depends on the next
/// token (through the pair filter), so each word waits for its successor.
struct Starts<'a> {
    filter: Option<&'a StartFilter>,
    tokens: &'a mut Vec<Token>,
    candidates: &'a mut Vec<u32>,
    /// The previous word's index and key, while it waits for its successor.
    waiting: Option<(u32, u64)>,
}

// Offsets are stored as u32: the caller of `fold` guarantees the text is shorter than that.
impl Starts<'_> {
    #[inline(always)]
    fn word(&mut self, w: &mut Writer<'_>, word: Open) {
        let key = key_in(w.buf, word.at, w.len);
        let index = self.tokens.len() as u32;
        self.tokens.push(Token {
            at: word.at as u32,
            source_start: word.source_start as u32,
            source_end: word.source_end as u32,
            terminator: false,
        });
        w.put(b' ');
        if let Some(filter) = self.filter {
            if let Some((previous, previous_key)) = self.waiting
                && (filter.single(previous_key) || filter.pair(previous_key, key))
            {
                self.candidates.push(previous);
            }
            self.waiting = Some((index, key));
        }
    }

    fn terminator(&mut self, w: &mut Writer<'_>, source_start: usize, source_end: usize) {
        self.settle_waiting();
        let index = self.tokens.len() as u32;
        self.tokens.push(Token {
            at: w.len as u32,
            source_start: source_start as u32,
            source_end: source_end as u32,
            terminator: true,
        });
        w.put(TERMINATOR_TOKEN);
        w.put(b' ');
        if self.filter.is_some() {
            self.candidates.push(index);
        }
    }

    /// The waiting word has no successor in its scope: only a one-token phrase can start there.
    fn settle_waiting(&mut self) {
        if let (Some(filter), Some((previous, previous_key))) = (self.filter, self.waiting.take())
            && filter.single(previous_key)
        {
            self.candidates.push(previous);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(text: &str) -> (String, Vec<(u32, u32)>) {
        let n = Normaliser::new(&['.', ';', '\n']);
        let mut out = Folded::default();
        n.fold(text, None, &mut out);
        let spans = out.tokens.iter().map(|t| (t.source_start, t.source_end)).collect();
        (String::from_utf8(out.text().to_vec()).unwrap(), spans)
    }

    #[test]
    fn folds_case_punctuation_and_apostrophes() {
        assert_eq!(folded("Self-Harm").0, " self harm ");
        assert_eq!(folded("older  b/f’s car").0, " older b fs car ");
        assert_eq!(folded("She didn't.  Then").0, " she didnt . then ");
        assert_eq!(folded("“MFH” ×3;\nmissing").0, " mfh 3 . . missing ");
        assert_eq!(folded("ÉTÉ 🙂 done").0, " été done ");
        assert_eq!(folded("").0, " ");
        assert_eq!(folded("  ...  ").0, " . . . ");
    }

    #[test]
    fn incremental_and_whole_token_keys_agree() {
        let mut filter = StartFilter::new();
        filter.insert("zoë");
        let n = Normaliser::new(&[]);
        let mut out = Folded::default();
        n.fold("ZOË", Some(&filter), &mut out);
        assert_eq!(out.candidates, vec![0]);
    }

    #[test]
    fn tokens_point_at_their_source() {
        assert_eq!(folded("é-MAP's").1, vec![(0, 2), (3, 8)]);
        assert_eq!(folded("'no'. x").1, vec![(1, 3), (4, 5), (6, 7)]);
    }

    #[test]
    fn candidates_are_single_phrases_and_pair_prefixes() {
        let n = Normaliser::new(&['.']);
        let mut filter = StartFilter::new();
        for phrase in ["missing", "older boyfriend"] {
            filter.insert(phrase);
        }
        let mut out = Folded::default();
        n.fold("Her older boyfriend. Older sister missing", Some(&filter), &mut out);
        // her(0) older(1) boyfriend(2) .(3) older(4) sister(5) missing(6)
        assert_eq!(out.candidates, vec![1, 3, 6]);
    }
}
