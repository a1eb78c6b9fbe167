#![allow(clippy::unwrap_used)]
//! Indicator screening through its public entry points: the shipped lexicon, crafted sentences
//! (positive, negated, hypothetical, tricky), whole words, spans, file errors and a property
//! test that screening never panics.

use frontdoor_screen::lexicon::{IndicatorGroup, Lexicon, LexiconError, Match, positive_weight_by_group};
use proptest::prelude::*;
use std::sync::LazyLock;

const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/lexicon.toml");

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| Lexicon::load(SHIPPED).unwrap());

/// What screening should say about one term in one sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Positive,
    Negated,
    Hypothetical,
    /// Negated and hypothetical at once.
    Both,
    /// Not found at all.
    Absent,
}
use Expect::*;

fn outcome(found: &[Match], term: &str) -> Expect {
    let of_term: Vec<&Match> = found.iter().filter(|m| m.term == term).collect();
    match of_term.first() {
        None => Absent,
        Some(m) => match (m.negated, m.hypothetical) {
            (false, false) => Positive,
            (true, false) => Negated,
            (false, true) => Hypothetical,
            (true, true) => Both,
        },
    }
}

fn check(sentence: &str, term: &str, expected: Expect) {
    let found = LEXICON.screen(sentence);
    let got = outcome(&found, term);
    assert_eq!(got, expected, "{sentence:?}: term {term:?}; all matches: {found:#?}");
}

#[test]
fn crafted_sentences() {
    let table: &[(&str, &str, Expect)] = &[
        // Plain positives.
        ("She has an older boyfriend who picks her up.", "older boyfriend", Positive),
        ("Went missing overnight on Friday.", "missing overnight", Positive),
        ("Mum found a 2nd phone in her bag.", "second phone", Positive),
        ("He has been given new trainers and top ups.", "new trainers", Positive),
        ("He has been given new trainers and top ups.", "phone credit", Positive),
        ("Reported MFH twice this month.", "MFH", Positive),
        ("Police logged her as a misper on Sunday.", "misper", Positive),
        ("Concerns about county lines activity in the area.", "county lines", Positive),
        ("She is sofa-surfing between friends.", "sofa surfing", Positive),
        ("Seen being picked up in a car outside school.", "picked up in a car", Positive),
        ("Staff found a burner phone.", "burner phone", Positive),
        ("She has disclosed self-harm and cutting.", "self harm", Positive),
        ("She has disclosed self-harm and cutting.", "cutting", Positive),
        ("Took the morning after pill (MAP) last week.", "morning after pill", Positive),
        ("Diagnosed with an STI at the clinic.", "STI", Positive),
        ("Sending nudes and sexting with adults online.", "nudes", Positive),
        ("Drinks vodka and smokes weed in the park.", "vodka", Positive),
        ("Taken to a hotel by a taxi driver.", "hotel", Positive),
        ("Works at a takeaway on the high street.", "takeaway", Positive),
        // Negations.
        ("No concerns about an older boyfriend.", "older boyfriend", Negated),
        ("She did not go missing.", "missing", Negated),
        ("She has never been reported missing.", "misper", Negated),
        ("Mum denies he has a second phone.", "second phone", Negated),
        ("There is no evidence of CSE but he is going missing.", "CSE", Negated),
        ("There is no evidence of CSE but he is going missing.", "missing", Positive),
        ("She is no longer going missing.", "missing", Negated),
        ("School say there is no sign of self harm.", "self harm", Negated),
        ("She denied drinking alcohol.", "alcohol", Negated),
        ("He doesn't have a burner phone.", "burner phone", Negated),
        ("He doesn’t have a burner phone.", "burner phone", Negated),
        ("Tested negative for chlamydia.", "chlamydia", Negated),
        ("Neither missing nor absconding.", "absconded", Negated),
        ("Police found no cannabis at the address.", "cannabis", Negated),
        // Scope: terminators end a cue, cues only look forward, the window is bounded.
        ("She denies, but was seen with older men.", "older man", Positive),
        ("Missing again, no one knows where she is.", "repeatedly missing", Positive),
        ("She denies it. Older boyfriend seen outside school.", "older boyfriend", Positive),
        ("No concerns at school; she is going missing at weekends.", "missing", Positive),
        ("No concerns at school however she is going missing at weekends.", "missing", Positive),
        ("She denies that the man she met in town last summer is an older boyfriend.", "older boyfriend", Positive),
        ("He is missing and has no phone.", "missing", Positive),
        // Pseudo-negations and double negatives.
        ("Not only was he an older man, he had a car.", "older man", Positive),
        ("No doubt she has an older boyfriend.", "older boyfriend", Positive),
        ("We cannot rule out CSE.", "CSE", Positive),
        ("CSE cannot be ruled out and she is missing.", "missing", Positive),
        ("It is not unusual for her to go missing.", "missing", Positive),
        ("No further action by police, she remains missing.", "missing", Positive),
        ("She did not return home last night.", "failed to return", Positive),
        ("She has not been seen since Friday.", "not been seen since", Positive),
        ("Nobody knows where she sleeps.", "whereabouts unknown", Positive),
        // Hypotheticals and uncertainty.
        ("Not sure if she went missing.", "missing", Hypothetical),
        ("If she goes missing again call the police.", "missing", Hypothetical),
        ("Worried that he might be groomed.", "groomed", Hypothetical),
        ("Unclear whether she has a second phone.", "second phone", Hypothetical),
        ("She would often come home late with gifts.", "gifts", Positive),
        ("If she does not return home, call 101.", "failed to return", Hypothetical),
        ("If he is not in school, mum is told.", "absent from school", Hypothetical),
        // Absent: whole words only, abbreviations in capitals only.
        ("The map of the estate was out of date.", "morning after pill", Absent),
        ("Mapping of the network is under way.", "morning after pill", Absent),
        ("She was at the top of the class.", "termination", Absent),
        ("She was counselled about missingness.", "missing", Absent),
        ("The family live near the hotels.", "hotel", Positive),
        ("She loves hotelier shows on TV.", "hotel", Absent),
        ("Misspelt: mising and hotl.", "missing", Absent),
    ];
    assert!(table.len() >= 40);
    for &(sentence, term, expected) in table {
        check(sentence, term, expected);
    }
}

#[test]
fn double_cue_marks_both() {
    check("If she is not going missing, fine.", "missing", Both);
}

#[test]
fn window_is_counted_in_tokens() {
    // Five tokens between cue and term: still governed. Six: not.
    check("No a b c d e missing.", "missing", Negated);
    check("No a b c d e f missing.", "missing", Positive);
    assert_eq!(LEXICON.window(), 5);
}

#[test]
fn whole_words_only() {
    for text in ["mapping", "gangster", "hotelier", "cses", "vodkas", "unmissing", "xmfh", "weedy"] {
        let found = LEXICON.screen(text);
        assert!(found.is_empty(), "{text:?} matched {found:?}");
    }
    for (text, term) in [("gang", "gang"), ("CSE", "CSE"), ("vodka!", "vodka"), ("(weed)", "weed"), ("MFH.", "MFH")] {
        assert_eq!(outcome(&LEXICON.screen(text), term), Positive, "{text:?}");
    }
}

#[test]
fn longest_phrase_wins() {
    let found = LEXICON.screen("gang members");
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].term.as_str(), found[0].matched.as_str()), ("gang", "gang members"));
    let found = LEXICON.screen("gang membership");
    assert_eq!((found[0].term.as_str(), found[0].matched.as_str()), ("gang", "gang"));
    let found = LEXICON.screen("older boyfriend");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].group, "older_associate");
}

#[test]
fn spellings_fold_together() {
    for text in ["self-harm", "Self Harm", "SELF  HARM", "self – harm", "self\u{a0}harm", "self/harm"] {
        let found = LEXICON.screen(text);
        assert_eq!(found.len(), 1, "{text:?}");
        assert_eq!(found[0].term, "self harm");
        assert_eq!(found[0].matched, text.trim());
    }
    for text in ["older b/f", "older bf", "Older B/F", "older boyfriend's car", "older b/f's car"] {
        assert_eq!(outcome(&LEXICON.screen(text), "older boyfriend"), Positive, "{text:?}");
    }
}

#[test]
fn spans_point_into_the_original_text() {
    let text = "Zoë 🙂 — “Older B/F” seen; café owner says she’s MISSING again… 😢 self-harm";
    let found = LEXICON.screen(text);
    let written: Vec<&str> = found.iter().map(|m| &text[m.start..m.end]).collect();
    assert_eq!(written, ["Older B/F", "MISSING again", "self-harm"]);
    for m in &found {
        assert_eq!(m.matched, &text[m.start..m.end]);
    }
    // Apostrophes and quotes around a word are not part of its span.
    let text = "She said 'missing' and ‘gangs’.";
    let found = LEXICON.screen(text);
    let written: Vec<&str> = found.iter().map(|m| m.matched.as_str()).collect();
    assert_eq!(written, ["missing", "gangs"]);
}

#[test]
fn matches_are_sorted_and_weighted() {
    let text = "Older boyfriend, second phone, no STI, if taxi. Missing overnight.";
    let found = LEXICON.screen(text);
    assert!(found.windows(2).all(|w| w[0].end <= w[1].start));
    let totals = positive_weight_by_group(&found);
    assert_eq!(totals.get("older_associate"), Some(&3));
    assert_eq!(totals.get("unexplained_items"), Some(&3));
    assert_eq!(totals.get("missing"), Some(&3));
    assert_eq!(totals.get("sexual_health"), None, "the STI is negated");
    assert_eq!(totals.get("vehicles_places"), None, "the taxi is hypothetical");
}

#[test]
fn shipped_lexicon_covers_every_group() {
    let lexicon = &*LEXICON;
    assert!(lexicon.len() >= 300, "{} phrases", lexicon.len());
    assert!(lexicon.entries().len() >= 300, "{} entries", lexicon.entries().len());
    let groups = lexicon.groups();
    assert_eq!(groups.len(), 12);
    for g in &groups {
        assert!(g.entries >= 15 && g.phrases >= 100, "{:?}", g);
    }
    let names: Vec<&str> = groups.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(
        names,
        [
            "missing",
            "older_associate",
            "unexplained_items",
            "vehicles_places",
            "sexual_health",
            "education",
            "substances",
            "emotional_health",
            "online",
            "gangs_peers",
            "injury_disclosure",
            "vulnerabilities"
        ]
    );
    assert_eq!(IndicatorGroup::parse("online"), Some(IndicatorGroup::Online));
    assert!(lexicon.entries().iter().all(|e| (1..=3).contains(&e.weight)));
}

// ---- The lexicon file: every error names file:line. ----

const MINIMAL: &str = r#"[negation]
negation_cues = ["no"]
terminators = ["."]

[[term]]
term = "missing"
group = "missing"
weight = 3
"#;

fn error(text: &str) -> String {
    match Lexicon::from_toml("lex.toml", text) {
        Ok(_) => format!("loaded without error:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn minimal_file_loads_with_defaults() {
    let lexicon = Lexicon::from_toml("lex.toml", MINIMAL).unwrap();
    assert_eq!((lexicon.len(), lexicon.window()), (1, 5));
    assert!(lexicon.screen("No missing.")[0].negated);
}

#[test]
fn errors_name_file_and_line() {
    let cases: &[(String, &str)] = &[
        (MINIMAL.replace("weight = 3", "weight = 3\ncolour = \"red\""), "lex.toml:9: unknown field `colour`"),
        (MINIMAL.replace("term = \"missing\"", "term = \" - \""), "lex.toml:6: empty term"),
        (MINIMAL.replace("group = \"missing\"", "group = \"lost\""), "lex.toml:7: unknown group \"lost\""),
        (MINIMAL.replace("weight = 3", "weight = 4"), "lex.toml:8: weight 4 out of range"),
        (MINIMAL.replace("weight = 3", "weight = 0"), "lex.toml:8: weight 0 out of range"),
        (MINIMAL.replace("[negation]", "[negation]\nwindow = 0"), "lex.toml:2: bad window 0"),
        (MINIMAL.replace("[negation]", "[negation]\nwindow = 500"), "lex.toml:2: bad window 500"),
        (
            format!("{MINIMAL}\n[[term]]\nterm = \"Missing!\"\ngroup = \"missing\"\nweight = 1\n"),
            "lex.toml:11: duplicate phrase \"missing\": already listed at line 6 as a term",
        ),
        (
            MINIMAL
                .replace("term = \"missing\"", "term = \"missing\"\nvariants = [\"went missing\", \"went-missing\"]"),
            "lex.toml:7: duplicate phrase \"went missing\"",
        ),
        (
            MINIMAL.replace("negation_cues = [\"no\"]", "negation_cues = [\"no\", \"missing\"]"),
            "lex.toml:6: duplicate phrase",
        ),
        (
            MINIMAL.replace("term = \"missing\"", "term = \"m.f.h\""),
            "lex.toml:6: term \"m.f.h\" contains the scope terminator '.'",
        ),
        (
            MINIMAL.replace("terminators = [\".\"]", "terminators = [\".\", \"'\"]"),
            "lex.toml:3: bad terminator \"'\": apostrophes",
        ),
        (MINIMAL.replace("terminators = [\".\"]", "terminators = [\" \"]"), "lex.toml:3: bad terminator \" \""),
        (
            MINIMAL.replace("weight = 3", "weight = 3\nabbreviations = [\"Mfh\"]"),
            "lex.toml:9: abbreviation \"Mfh\" must be written in capitals",
        ),
        (MINIMAL.replace("weight = 3", "weight = \"high\""), "lex.toml:8: invalid type"),
        (MINIMAL.replace("[[term]]", "[[term]\n"), "lex.toml:5:"),
        (MINIMAL.replace("negation_cues = [\"no\"]\n", ""), "lex.toml:1: missing field `negation_cues`"),
        (
            MINIMAL.replace("terminators = [\".\"]", "terminators = [\".\"]\nnegation_cue = []"),
            "lex.toml:4: unknown field `negation_cue`",
        ),
    ];
    for (text, expected) in cases {
        let got = error(text);
        assert!(got.starts_with(expected), "expected {expected:?}, got {got:?}\nfor:\n{text}");
    }
}

#[test]
fn unreadable_file_names_the_path() {
    let err = Lexicon::load("/nonexistent/lexicon.toml").unwrap_err();
    assert!(matches!(err, LexiconError::Read { .. }));
    assert!(err.to_string().starts_with("/nonexistent/lexicon.toml: cannot read the lexicon"), "{err}");
}

#[test]
fn configurable_cues_and_window() {
    let text = r#"[negation]
window = 1
negation_cues = ["nope"]
pseudo_negations = ["nope nope"]
hypothetical_cues = ["perhaps"]
terminators = ["|", "and then"]

[[term]]
term = "kebab shop"
variants = ["kebab shops"]
abbreviations = ["KS"]
group = "vehicles_places"
weight = 2
note = "test"
"#;
    let lexicon = Lexicon::from_toml("custom.toml", text).unwrap();
    assert_eq!(lexicon.len(), 3);
    let flags = |s: &str| lexicon.screen(s).iter().map(|m| (m.negated, m.hypothetical)).collect::<Vec<_>>();
    assert_eq!(flags("nope kebab shop"), [(true, false)]);
    assert_eq!(flags("nope the kebab shops"), [(true, false)]);
    assert_eq!(flags("nope the big kebab shop"), [(false, false)], "window of one token");
    assert_eq!(flags("nope nope kebab shop"), [(false, false)], "pseudo-negation");
    assert_eq!(flags("nope | kebab shop"), [(false, false)], "punctuation terminator");
    assert_eq!(flags("nope and then kebab shop"), [(false, false)], "phrase terminator");
    assert_eq!(flags("perhaps KS"), [(false, true)]);
    assert_eq!(flags("ks"), [], "abbreviations match in capitals only");
    // A full stop is not a terminator here, so it separates words like any punctuation.
    assert_eq!(flags("nope. kebab shop"), [(true, false)]);
}

// ---- Never panics. ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn screening_never_panics_and_spans_are_sound(text in any::<String>()) {
        check_spans(&text);
    }

    #[test]
    fn screening_lexicon_words_never_panics(
        words in proptest::collection::vec(prop_oneof![
            Just("no"), Just("not"), Just("never"), Just("if"), Just("but"), Just("denies"), Just("not only"),
            Just("older"), Just("boyfriend"), Just("b/f"), Just("missing"), Just("MAP"), Just("map"), Just("self"),
            Just("harm"), Just("’s"), Just("'"), Just("."), Just(";"), Just("\n"), Just("…"), Just("🙂"), Just("É"),
            Just("-"), Just("  "), Just("İ"), Just("ß"), Just("ǅ"), Just("\u{301}"), Just("x"),
        ], 0..40),
        separators in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-"), Just("\u{a0}")], 40),
    ) {
        let text: String = words.iter().zip(&separators).flat_map(|(w, s)| [*w, *s]).collect();
        check_spans(&text);
    }
}

fn check_spans(text: &str) {
    let found = LEXICON.screen(text);
    let mut previous_end = 0;
    for m in &found {
        assert!(m.start < m.end && m.end <= text.len(), "{m:?} in {text:?}");
        assert!(text.is_char_boundary(m.start) && text.is_char_boundary(m.end), "{m:?} in {text:?}");
        assert_eq!(m.matched, &text[m.start..m.end]);
        assert!(m.start >= previous_end, "overlapping or unsorted: {found:?}");
        previous_end = m.end;
        assert!(IndicatorGroup::parse(&m.group).is_some());
    }
}
