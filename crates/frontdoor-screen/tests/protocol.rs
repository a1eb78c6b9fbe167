#![allow(clippy::unwrap_used)]
//! The scripted protocols and rules (F2): the shipped protocol files load; every default rule
//! fires on a crafted contact and not on its near miss; each kind of file error names FILE:LINE;
//! answers are parsed field by field; evaluation is total and never lowers the level when a
//! "yes" or an indicator is added.

use frontdoor_screen::lexicon::IndicatorGroup;
use frontdoor_screen::protocol::{
    ALERT_KINDS, Answer, AnswerDate, EvalInput, Evaluation, IndicatorHit, Protocol, ProtocolError, ProtocolSet,
    QuestionKind,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

const PROTOCOL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/protocols");

/// The twelve indicator groups of the domain reference, as the lexicon spells them.
const GROUPS: [&str; 12] = [
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
    "vulnerabilities",
];

const SHIPPED: [&str; 10] = [
    "cse_concern",
    "domestic_abuse",
    "emotional_wellbeing",
    "general_advice",
    "missing_child",
    "neglect",
    "online_harm",
    "physical_abuse",
    "school_absence",
    "sexual_abuse",
];

fn shipped() -> &'static ProtocolSet {
    static SET: OnceLock<ProtocolSet> = OnceLock::new();
    SET.get_or_init(|| match ProtocolSet::load_dir(PROTOCOL_DIR, &GROUPS) {
        Ok(set) => set,
        Err(errors) => panic!("the shipped protocols do not load:\n{errors}"),
    })
}

fn protocol(id: &str) -> &'static Protocol {
    shipped().get(id).unwrap_or_else(|| panic!("no shipped protocol {id}"))
}

// ---------------------------------------------------------------------------------------------
// The shipped set

#[test]
fn the_shipped_protocols_all_load() {
    let set = shipped();
    assert_eq!(set.ids().collect::<Vec<_>>(), SHIPPED);
    for protocol in set.iter() {
        assert!(!protocol.title().is_empty() && !protocol.description().is_empty(), "{}", protocol.id());
        assert!(protocol.questions().len() >= 4, "{} asks too little", protocol.id());
        assert!(protocol.rules().len() >= 5, "{} has too few rules", protocol.id());
    }
}

#[test]
fn the_test_groups_are_the_lexicon_groups() {
    let lexicon: Vec<&str> = IndicatorGroup::ALL.iter().map(|g| g.as_str()).collect();
    assert_eq!(lexicon, GROUPS);
}

#[test]
fn every_shipped_yes_no_question_is_asked_so_that_yes_is_the_concern() {
    // Rules only test for "yes", which keeps evaluation monotone (see the property below).
    for protocol in shipped().iter() {
        for rule in protocol.rules() {
            let text = rule.condition_text();
            assert!(!text.contains(" is no"), "{}: rule `{}` tests for a no: {text}", protocol.id(), rule.id());
            assert!(!text.contains(" not "), "{}: rule `{}` uses not: {text}", protocol.id(), rule.id());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Every default rule: a crafted contact that fires it, and its near miss that does not.

/// A contact for the rule table: answers (merged over the protocol's neutral baseline),
/// indicator mentions and the child's age.
#[derive(Clone, Default)]
struct Case {
    answers: Value,
    indicators: Vec<IndicatorHit>,
    age: Option<u32>,
}

fn case(answers: Value) -> Case {
    Case { answers, ..Case::default() }
}

/// A case from JSON answers: `given!({"disclosure": true}).age(12)`.
macro_rules! given {
    ($($answers:tt)+) => {
        case(json!($($answers)+))
    };
}

fn hit(group: &str, weight: u8, negated: bool) -> IndicatorHit {
    IndicatorHit { group: group.to_owned(), term: format!("a {group} term"), weight, negated }
}

impl Case {
    fn age(mut self, years: u32) -> Self {
        self.age = Some(years);
        self
    }

    fn with(mut self, groups: &[&str]) -> Self {
        self.indicators.extend(groups.iter().map(|g| hit(g, 2, false)));
        self
    }

    fn high(mut self, group: &str) -> Self {
        self.indicators.push(hit(group, 3, false));
        self
    }

    fn denied(mut self, groups: &[&str]) -> Self {
        self.indicators.extend(groups.iter().map(|g| hit(g, 2, true)));
        self
    }
}

/// Answers to each protocol's required questions that fire no rule.
fn baseline(protocol: &str) -> Value {
    match protocol {
        "cse_concern" | "sexual_abuse" => json!({"disclosure": false}),
        "missing_child" => json!({"police_category": "absent", "returned": false}),
        "neglect" => json!({"needs_not_met": ["other"]}),
        "physical_abuse" => json!({"injury_seen": false}),
        "domestic_abuse" => json!({"child_present": false}),
        "online_harm" => json!({"harm_type": ["other"]}),
        "school_absence" => json!({"days_unauthorised": 0}),
        "emotional_wellbeing" => json!({"self_harm": false}),
        "general_advice" => json!({"topic": "other"}),
        other => panic!("no baseline for {other}"),
    }
}

/// Evaluates `case` as the API would: answers through `parse_answers`, then `evaluate`.
fn run(protocol_id: &str, case: &Case) -> Evaluation {
    let protocol = protocol(protocol_id);
    let mut answers = baseline(protocol_id);
    if let (Some(base), Some(extra)) = (answers.as_object_mut(), case.answers.as_object()) {
        base.extend(extra.clone());
    }
    let answers = protocol.parse_answers(&answers).unwrap_or_else(|e| panic!("{protocol_id}: bad test answers: {e:?}"));
    protocol.evaluate(&EvalInput { answers, indicators: case.indicators.clone(), child_age: case.age })
}

/// A rule, a contact that fires it and its near miss, which must not.
struct Row {
    rule: &'static str,
    fires: Case,
    near_miss: Case,
}

fn row(rule: &'static str, fires: Case, near_miss: Case) -> Row {
    Row { rule, fires, near_miss }
}

/// The commonest row: the rule fires on a "yes" to `question` and not on a "no".
fn yes(rule: &'static str, question: &str) -> Row {
    row(rule, case(json!({ question: true })), case(json!({ question: false })))
}

/// Every default rule, by protocol. `every_default_rule_has_a_crafted_case` keeps it complete.
fn rule_table() -> Vec<(&'static str, Vec<Row>)> {
    vec![
        (
            "cse_concern",
            vec![
                yes("disclosure_of_cse", "disclosure"),
                row(
                    "under_13_sexual_activity",
                    given!({"sexual_activity": true}).age(12),
                    given!({"sexual_activity": true}).age(13),
                ),
                yes("held_or_abducted", "held_or_abducted"),
                row("hotels_taxis_takeaways", given!({"places": ["taxi"]}), given!({"places": ["party_house"]})),
                row("paid_to_recruit_peers", given!({"recruiting_peers": "yes"}), given!({"recruiting_peers": "no"})),
                yes("missing_overnight", "missing_overnight"),
                row("older_associate", given!({"associate_age": 18}), given!({"associate_age": 17})),
                yes("unexplained_items", "unexplained_items"),
                row(
                    "cars_and_unknown_places",
                    given!({"places": ["town_with_no_link"]}),
                    given!({"places": ["none_known"]}),
                ),
                row(
                    "older_associate_and_missing",
                    given!({"missing_overnight": true}).with(&["older_associate"]),
                    given!({"missing_overnight": true}).denied(&["older_associate"]),
                ),
                row("repeat_missing", given!({"missing_episodes_90_days": 3}), given!({"missing_episodes_90_days": 2})),
                yes("known_association", "known_associate_flagged"),
                row(
                    "three_indicator_groups",
                    given!({}).with(&["missing", "online", "substances"]),
                    given!({}).with(&["missing", "online", "education"]),
                ),
                row("young_child_high_indicator", given!({}).high("online").age(13), given!({}).high("online").age(14)),
                row(
                    "never_low_for_under_13_or_learning_disability",
                    given!({}).with(&["education"]).age(12),
                    given!({}).with(&["education"]).age(13),
                ),
                row(
                    "never_low_for_under_13_or_learning_disability",
                    given!({"learning_disability": true}).with(&["substances"]),
                    given!({"learning_disability": true}).with(&["vulnerabilities"]),
                ),
            ],
        ),
        (
            "missing_child",
            vec![
                row("missing_episode", given!({"police_category": "missing"}), given!({"police_category": "absent"})),
                row(
                    "return_home_interview",
                    given!({"police_category": "missing", "returned": true}),
                    given!({"police_category": "missing", "returned": false}),
                ),
                row(
                    "high_risk_missing",
                    given!({"police_risk_grade": "high"}),
                    given!({"police_risk_grade": "medium"}),
                ),
                row(
                    "medium_risk_missing",
                    given!({"police_risk_grade": "medium"}),
                    given!({"police_risk_grade": "low"}),
                ),
                row("young_child_overnight", given!({"overnight": true}).age(12), given!({"overnight": true}).age(13)),
                row("repeat_missing_90_days", given!({"episodes_90_days": 3}), given!({"episodes_90_days": 2})),
                row("repeat_missing_30_days", given!({"episodes_30_days": 3}), given!({"episodes_30_days": 2})),
                yes("looked_after_child", "looked_after"),
                row(
                    "found_in_risky_place",
                    given!({"found_location": "hotel"}),
                    given!({"found_location": "friend_or_relative"}),
                ),
                yes("seen_with_unknown_adults", "seen_with_adults"),
                row(
                    "missing_with_exploitation_indicators",
                    given!({"police_category": "missing"}).with(&["substances", "gangs_peers"]),
                    given!({"police_category": "absent"}).with(&["substances", "gangs_peers"]),
                ),
            ],
        ),
        (
            "neglect",
            vec![
                row(
                    "basic_needs_unmet",
                    given!({"needs_not_met": ["food"]}),
                    given!({"needs_not_met": ["dental_care"]}),
                ),
                row(
                    "untreated_medical_need",
                    given!({"needs_not_met": ["medical_care"]}),
                    given!({"needs_not_met": ["dental_care"]}),
                ),
                row(
                    "young_child_left_alone",
                    given!({"left_alone": true}).age(11),
                    given!({"left_alone": true}).age(12),
                ),
                row("hazardous_home", given!({"home_conditions": "hazardous"}), given!({"home_conditions": "poor"})),
                row("poor_home", given!({"home_conditions": "poor"}), given!({"home_conditions": "adequate"})),
                yes("parental_substance_misuse", "parent_substance_misuse"),
                row(
                    "chronic_neglect",
                    given!({"needs_not_met": ["food"], "weeks_known": 12}),
                    given!({"needs_not_met": ["food"], "weeks_known": 11}),
                ),
                row(
                    "help_refused",
                    given!({"needs_not_met": ["warmth"], "parents_refused_help": true}),
                    given!({"needs_not_met": ["other"], "parents_refused_help": true}),
                ),
                yes("attendance_concern", "attendance_concern"),
            ],
        ),
        (
            "physical_abuse",
            vec![
                yes("injury_seen", "injury_seen"),
                row(
                    "injured_non_mobile_baby",
                    given!({"injury_seen": true, "non_mobile_baby": true}),
                    given!({"injury_seen": false, "non_mobile_baby": true}),
                ),
                row(
                    "injured_non_mobile_baby",
                    given!({"injury_seen": true}).age(0),
                    given!({"injury_seen": true}).age(1),
                ),
                yes("disclosure_of_physical_harm", "disclosure"),
                row(
                    "unexplained_injury",
                    given!({"injury_seen": true, "explanation_inconsistent": true}),
                    given!({"injury_seen": false, "explanation_inconsistent": true}),
                ),
                row(
                    "injury_to_head_or_protected_area",
                    given!({"injury_location": ["ears"]}),
                    given!({"injury_location": ["arms"]}),
                ),
                row("burn_bite_or_fracture", given!({"injury_type": ["bite"]}), given!({"injury_type": ["bruise"]})),
                yes("needs_medical_attention", "needs_medical_attention"),
                row(
                    "afraid_to_go_home",
                    given!({"injury_seen": true, "afraid_to_go_home": true}),
                    given!({"injury_seen": false, "afraid_to_go_home": true}),
                ),
                row(
                    "repeated_injuries",
                    given!({"previous_injury_concerns": 2}),
                    given!({"previous_injury_concerns": 1}),
                ),
            ],
        ),
        (
            "sexual_abuse",
            vec![
                yes("disclosure_of_sexual_abuse", "disclosure"),
                row(
                    "under_13_sexual_activity",
                    given!({"sexual_health_signs": ["emergency_contraception"]}).age(12),
                    given!({"sexual_health_signs": ["emergency_contraception"]}).age(13),
                ),
                row(
                    "under_16_sexual_activity",
                    given!({"sexual_activity": true}).age(15),
                    given!({"sexual_activity": true}).age(16),
                ),
                row("adult_partner", given!({"partner_age": 18}), given!({"partner_age": 17})),
                row(
                    "adult_partner_of_under_16",
                    given!({"partner_age": 18}).age(15),
                    given!({"partner_age": 18}).age(16),
                ),
                yes("abuser_still_has_access", "abuser_has_access"),
                yes("forensic_window", "within_7_days"),
                row(
                    "sexual_health_signs",
                    given!({"sexual_health_signs": ["sti"]}),
                    given!({"sexual_health_signs": ["none_known"]}),
                ),
                row(
                    "genital_injury",
                    given!({"sexual_health_signs": ["genital_injury"]}),
                    given!({"sexual_health_signs": ["none_known"]}),
                ),
                row(
                    "harmful_sexual_behaviour_by_a_child",
                    given!({"alleged_abuser": "another_child"}),
                    given!({"alleged_abuser": "known_adult"}),
                ),
                yes("sexualised_behaviour", "sexualised_behaviour"),
            ],
        ),
        (
            "domestic_abuse",
            vec![
                yes("child_exposed", "child_present"),
                yes("child_injured", "child_injured"),
                row(
                    "weapon_or_strangulation_with_child_present",
                    given!({"child_present": true, "strangulation": true}),
                    given!({"child_present": false, "strangulation": true}),
                ),
                row("high_risk_dash", given!({"dash_risk": "high"}), given!({"dash_risk": "medium"})),
                row("repeat_incidents", given!({"incidents_12_months": 3}), given!({"incidents_12_months": 2})),
                row(
                    "pregnancy_or_baby",
                    given!({"child_present": true, "pregnancy_or_baby": true}),
                    given!({"child_present": false, "pregnancy_or_baby": true}),
                ),
                yes("marac_referral", "marac_referral"),
            ],
        ),
        (
            "online_harm",
            vec![
                row("online_indicator", given!({"harm_type": ["grooming"]}), given!({"harm_type": ["bullying"]})),
                yes("sexual_images_of_child", "images_shared"),
                row(
                    "adult_soliciting_images",
                    given!({"images_shared": true, "contact_is_adult": true}),
                    given!({"images_shared": true, "contact_is_adult": false}),
                ),
                row(
                    "under_13_sexual_images",
                    given!({"images_shared": true}).age(12),
                    given!({"images_shared": true}).age(13),
                ),
                yes("sextortion", "threats_or_blackmail"),
                row(
                    "meeting_adult_contact",
                    given!({"met_in_person": true, "contact_is_adult": true}),
                    given!({"met_in_person": true, "contact_is_adult": false}),
                ),
                yes("adult_online_contact", "contact_is_adult"),
                yes("gifts_from_contact", "gifts_from_contact"),
                row("cyberbullying", given!({"harm_type": ["bullying"]}), given!({"harm_type": ["harmful_content"]})),
                row(
                    "online_exploitation_pattern",
                    given!({"harm_type": ["grooming"]}).with(&["missing", "sexual_health"]),
                    given!({"harm_type": ["grooming"]}).with(&["missing"]).denied(&["sexual_health"]),
                ),
            ],
        ),
        (
            "school_absence",
            vec![
                row("ten_days_unauthorised", given!({"days_unauthorised": 10}), given!({"days_unauthorised": 9})),
                row(
                    "twenty_days_continuous",
                    given!({"days_unauthorised": 20, "days_continuous": 20}),
                    given!({"days_unauthorised": 20, "days_continuous": 19}),
                ),
                yes("whereabouts_unknown", "whereabouts_unknown"),
                row(
                    "child_missing_education",
                    given!({"whereabouts_unknown": true, "family_not_contactable": true}),
                    given!({"whereabouts_unknown": false, "family_not_contactable": true}),
                ),
                yes("excluded", "excluded"),
                yes("seen_with_older_people", "seen_with_older_people"),
                row(
                    "absence_with_exploitation_indicators",
                    given!({"days_unauthorised": 10}).with(&["substances", "gangs_peers"]),
                    given!({"days_unauthorised": 9}).with(&["substances", "gangs_peers"]),
                ),
            ],
        ),
        (
            "emotional_wellbeing",
            vec![
                yes("emotional_health_indicator", "eating_concerns"),
                yes("plan_means_or_attempt", "recent_attempt"),
                yes("suicidal_thoughts", "suicidal_thoughts"),
                row(
                    "self_harm_needing_treatment",
                    given!({"self_harm": true, "injury_needs_treatment": true}),
                    given!({"self_harm": false, "injury_needs_treatment": true}),
                ),
                row(
                    "young_child_self_harming",
                    given!({"self_harm": true}).age(12),
                    given!({"self_harm": true}).age(13),
                ),
                row(
                    "carers_cannot_keep_safe",
                    given!({"suicidal_thoughts": true, "carers_cannot_keep_safe": true}),
                    given!({"self_harm": true, "carers_cannot_keep_safe": true}),
                ),
                row(
                    "exploitation_behind_it",
                    given!({"known_triggers": ["exploitation"]}),
                    given!({"known_triggers": ["exam_stress"]}),
                ),
                row(
                    "online_abuse_behind_it",
                    given!({"known_triggers": ["online_abuse"]}),
                    given!({"known_triggers": ["bullying"]}),
                ),
            ],
        ),
        (
            "general_advice",
            vec![
                yes("worried_about_safety", "worried_about_safety"),
                yes("family_support", "wants_family_support"),
                yes("disability", "child_has_disability"),
                yes("young_carer", "young_carer"),
                row("indicators_in_narrative", given!({}).with(&["substances"]), given!({}).denied(&["substances"])),
                row(
                    "several_indicators",
                    given!({}).with(&["substances", "online", "education"]),
                    given!({}).with(&["substances", "online", "vulnerabilities"]),
                ),
            ],
        ),
    ]
}

fn fired(evaluation: &Evaluation, rule: &str) -> bool {
    evaluation.fired.iter().any(|f| f.rule_id == rule)
}

#[test]
fn every_default_rule_fires_on_its_crafted_contact_and_not_on_its_near_miss() {
    let mut failures = Vec::new();
    let rows = rule_table().into_iter().flat_map(|(p, rows)| rows.into_iter().map(move |r| (p, r)));
    for (protocol_id, Row { rule: rule_id, fires, near_miss }) in rows {
        let rule = protocol(protocol_id)
            .rules()
            .iter()
            .find(|r| r.id() == rule_id)
            .unwrap_or_else(|| panic!("the table names {protocol_id}/{rule_id}, which does not exist"));
        let hot = run(protocol_id, &fires);
        if !fired(&hot, rule_id) {
            failures.push(format!("{protocol_id}/{rule_id} did not fire: {:?}", hot.explanation));
            continue;
        }
        // The rule's effects are visible in the outcome.
        let effects = rule.effects();
        if let Some(level) = effects.raise_level {
            assert!(hot.level >= level, "{protocol_id}/{rule_id}: level {} below {level}", hot.level);
        }
        if let Some(kind) = &effects.raise_alert {
            assert!(hot.alerts.contains(kind), "{protocol_id}/{rule_id}: no alert {kind}");
        }
        if effects.require_manager_decision {
            assert!(hot.manager_decision, "{protocol_id}/{rule_id}: no manager decision");
        }
        let line = hot.explanation.iter().find(|l| l.contains(&format!("`{rule_id}`"))).unwrap();
        assert!(line.ends_with('.'), "{line}");
        let cold = run(protocol_id, &near_miss);
        if fired(&cold, rule_id) {
            failures.push(format!("{protocol_id}/{rule_id} fired on its near miss: {:?}", cold.explanation));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_default_rule_has_a_crafted_case() {
    let table: BTreeSet<(&str, &str)> =
        rule_table().iter().flat_map(|(p, rows)| rows.iter().map(|r| (*p, r.rule))).collect();
    let missing: Vec<String> = shipped()
        .iter()
        .flat_map(|p| p.rules().iter().map(move |r| (p.id(), r.id())))
        .filter(|key| !table.contains(key))
        .map(|(p, r)| format!("{p}/{r}"))
        .collect();
    assert!(missing.is_empty(), "rules without a crafted case: {}", missing.join(", "));
}

#[test]
fn the_baselines_fire_nothing() {
    for id in SHIPPED {
        let evaluation = run(id, &case(json!({})));
        assert_eq!(evaluation.level, 1, "{id}: {:?}", evaluation.explanation);
        assert!(evaluation.fired.is_empty());
        assert_eq!(
            evaluation.explanation,
            vec![format!("No rule of protocol `{id}` fired: level of need 1 (universal).")]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation: explanations, fixed point, domain overrides

#[test]
fn the_explanation_names_the_rule_the_level_and_the_facts() {
    let evaluation = run("cse_concern", &case(json!({"missing_overnight": true, "older_associate": true})));
    assert_eq!(evaluation.level, 3);
    assert_eq!(
        evaluation.explanation,
        vec![
            "Level raised to 2 (early help) by rule `missing_overnight`: answer `missing_overnight` is yes; \
             indicator missing added.",
            "Rule `older_associate` fired (level 2, early help, already reached): answer `older_associate` is yes; \
             indicator older_associate added.",
            "Level raised to 3 (complex) by rule `older_associate_and_missing`: indicators missing, older_associate \
             are present; a manager must decide.",
        ]
    );
    assert_eq!(evaluation.indicators_added, ["missing", "older_associate"]);
    assert!(evaluation.manager_decision);
    assert_eq!(
        evaluation.fired[2].description,
        "Going missing while associating with an older person is the pattern of grooming."
    );
}

#[test]
fn explanations_give_the_values_that_made_a_rule_fire() {
    let evaluation = run("cse_concern", &case(json!({"missing_episodes_90_days": 4})).with(&["online", "substances"]));
    let line = evaluation.explanation.iter().find(|l| l.contains("`repeat_missing`")).unwrap();
    assert_eq!(
        line,
        "Level raised to 3 (complex) by rule `repeat_missing`: answer `missing_episodes_90_days` is 4 (at least 3); \
         alert repeat_missing raised."
    );
    let evaluation = run("cse_concern", &case(json!({})).high("older_associate").age(12));
    let line = evaluation.explanation.iter().find(|l| l.contains("`young_child_high_indicator`")).unwrap();
    assert!(
        line.contains("the child is 12 (under 14) and the indicator \"a older_associate term\" has weight 3"),
        "{line}"
    );
    let evaluation = run("cse_concern", &case(json!({})).with(&["missing", "online", "gangs_peers"]));
    let line = evaluation.explanation.iter().find(|l| l.contains("`three_indicator_groups`")).unwrap();
    assert!(line.contains("3 of the indicators"), "{line}");
    assert!(line.contains("are present (gangs_peers, missing, online; at least 3 needed)"), "{line}");
}

#[test]
fn domain_overrides_go_straight_to_acute() {
    let acute = |protocol: &str, c: Case| {
        let evaluation = run(protocol, &c);
        assert_eq!(evaluation.level, 4, "{protocol}: {:?}", evaluation.explanation);
        assert!(evaluation.manager_decision);
        evaluation
    };
    // Under 13 and any sexual activity.
    let e = acute("cse_concern", case(json!({"sexual_activity": true})).age(12));
    assert!(e.alerts.contains(&"police_notification".to_owned()));
    acute("sexual_abuse", case(json!({"sexual_activity": true})).age(11));
    // Disclosure of CSE.
    acute("cse_concern", case(json!({"disclosure": true})));
    // Hotels, taxis and takeaways; being held.
    acute("cse_concern", case(json!({"places": ["hotel"]})));
    acute("cse_concern", case(json!({"places": ["takeaway"]})));
    acute("cse_concern", case(json!({"held_or_abducted": true})));
    acute("missing_child", case(json!({"police_category": "missing", "found_location": "hotel"})));
}

#[test]
fn ordinary_teenage_behaviour_alone_is_not_acute() {
    // A text match flags for review and never decides: one indicator in a narrative is not 3+.
    let evaluation = run("cse_concern", &case(json!({})).with(&["substances"]).age(15));
    assert_eq!(evaluation.level, 1);
    let evaluation = run("general_advice", &case(json!({})).with(&["substances"]).age(15));
    assert_eq!(evaluation.level, 2);
    assert!(evaluation.manager_decision);
}

fn custom(text: &str) -> Protocol {
    Protocol::from_toml("custom.toml", text, &GROUPS).unwrap_or_else(|e| panic!("{e}"))
}

const HEADER: &str = "id = \"custom\"\ntitle = \"Custom\"\ndescription = \"A test protocol.\"\n";

#[test]
fn rules_fire_until_nothing_changes_whatever_their_order() {
    // The first rule depends on an indicator the second adds and the level the third raises.
    let protocol = custom(&format!(
        "{HEADER}
[[questions]]
id = \"seen\"
text = \"Seen?\"
type = \"yes_no\"

[[rules]]
id = \"combination\"
description = \"Needs the later rules.\"
when.all = [{{ indicator = \"missing\" }}, {{ level_at_least = 2 }}]
raise_level = 4

[[rules]]
id = \"adds_missing\"
description = \"Adds an indicator.\"
when = {{ answer = \"seen\", is_yes = true }}
add_indicator = \"missing\"

[[rules]]
id = \"raises\"
description = \"Raises the level.\"
when = {{ indicator = \"missing\" }}
raise_level = 2
"
    ));
    let answers = protocol.parse_answers(&json!({"seen": true})).unwrap();
    let evaluation = protocol.evaluate(&EvalInput { answers, ..EvalInput::default() });
    assert_eq!(evaluation.level, 4);
    let order: Vec<&str> = evaluation.fired.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(order, ["adds_missing", "raises", "combination"]);
}

#[test]
fn every_condition_form_evaluates_and_explains() {
    let protocol = custom(&format!(
        "{HEADER}
[[questions]]
id = \"grade\"
text = \"Grade?\"
type = \"choice\"
options = [\"low\", \"medium\", \"high\"]

[[questions]]
id = \"seen_on\"
text = \"Seen on?\"
type = \"date\"

[[questions]]
id = \"hours\"
text = \"Hours?\"
type = \"number\"

[[rules]]
id = \"not_low\"
description = \"Grade not low.\"
when.all = [{{ not = {{ answer = \"grade\", equals = \"low\" }} }}, {{ answer = \"grade\", in = [\"medium\", \"high\"] }}]
raise_level = 2

[[rules]]
id = \"recent\"
description = \"Seen this school year.\"
when = {{ answer = \"seen_on\", gte = 2025-09-01 }}
raise_alert = \"missing_episode\"

[[rules]]
id = \"long\"
description = \"Long.\"
when.any = [{{ answer = \"hours\", gt = 24.5 }}, {{ term = \"Older Boyfriend\" }}]
add_indicator = \"missing\"

[[rules]]
id = \"no_heavy\"
description = \"Nothing heavy and the child's age unknown.\"
when.all = [{{ not = {{ indicator_weight_at_least = 3 }} }}, {{ not = {{ age_under = 18 }} }}]
require_manager_decision = true
"
    ));
    let answers = protocol.parse_answers(&json!({"grade": "high", "seen_on": "2025-09-01", "hours": "30"})).unwrap();
    let input = EvalInput {
        answers,
        indicators: vec![IndicatorHit {
            group: "older_associate".into(),
            term: "older boyfriend".into(),
            weight: 2,
            negated: false,
        }],
        child_age: None,
    };
    let evaluation = protocol.evaluate(&input);
    assert_eq!(
        evaluation.explanation,
        vec![
            "Level raised to 2 (early help) by rule `not_low`: answer `grade` is not \"low\" and answer `grade` is \
             \"high\" (one of \"medium\", \"high\").",
            "Rule `recent` fired: answer `seen_on` is 2025-09-01 (on or after 2025-09-01); alert missing_episode raised.",
            "Rule `long` fired: answer `hours` is 30 (more than 24.5) and the term \"older boyfriend\" is mentioned; \
             indicator missing added.",
            "Rule `no_heavy` fired: no indicator of weight at least 3 is present and the child is not known to be \
             under 18; a manager must decide.",
        ]
    );
    let evaluation = protocol.evaluate(&EvalInput { child_age: Some(17), ..input });
    assert!(!fired(&evaluation, "no_heavy"));
}

#[test]
fn answers_of_the_wrong_type_are_ignored_not_trusted() {
    let protocol = protocol("cse_concern");
    let mut answers = BTreeMap::new();
    answers.insert("disclosure".to_owned(), Answer::Text("yes".into()));
    answers.insert("missing_episodes_90_days".to_owned(), Answer::Number(f64::NAN));
    answers.insert("no_such_question".to_owned(), Answer::YesNo(true));
    let evaluation = protocol.evaluate(&EvalInput { answers, ..EvalInput::default() });
    assert_eq!(evaluation.level, 1);
}

// ---------------------------------------------------------------------------------------------
// File errors: every kind names FILE:LINE

fn errors(text: &str) -> Vec<String> {
    match Protocol::from_toml("protocols/custom.toml", text, &GROUPS) {
        Ok(_) => panic!("the file was accepted"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// A valid protocol (header on lines 1-3) with a yes_no (line 6), a choice (line 11) and a
/// number (line 17) question; `rules` starts on line 23.
fn with_rules(rules: &str) -> String {
    format!(
        "{HEADER}
[[questions]]
id = \"seen\"
text = \"Seen?\"
type = \"yes_no\"

[[questions]]
id = \"grade\"
text = \"Grade?\"
type = \"choice\"
options = [\"low\", \"high\"]

[[questions]]
id = \"hours\"
text = \"Hours?\"
type = \"number\"
min = 0
max = 72

{rules}"
    )
}

#[test]
fn the_test_file_template_is_valid() {
    custom(&with_rules(
        "[[rules]]\nid = \"ok\"\ndescription = \"d\"\nwhen = { answer = \"seen\", is_yes = true }\nraise_level = 2\n",
    ));
}

/// (what, file text, the expected messages).
fn error_table() -> Vec<(&'static str, String, Vec<&'static str>)> {
    let rule = |when: &str, effect: &str| {
        with_rules(&format!("[[rules]]\nid = \"r\"\ndescription = \"d\"\nwhen = {when}\n{effect}\n"))
    };
    let raise = "raise_level = 2";
    vec![
        (
            "TOML syntax",
            format!("{HEADER}\n[[questions]]\nid = \"seen\"\ntext \"Seen?\"\n"),
            vec!["protocols/custom.toml:7: key with no value, expected `=`"],
        ),
        (
            "unknown key in a question",
            format!("{HEADER}\n[[questions]]\nid = \"seen\"\ntext = \"Seen?\"\ntype = \"yes_no\"\ncolour = \"red\"\n"),
            vec![
                "protocols/custom.toml:9: unknown field `colour`, expected one of `id`, `text`, `type`, `options`, \
                 `required`, `min`, `max`, `help`",
            ],
        ),
        (
            "unknown question type",
            format!("{HEADER}\n[[questions]]\nid = \"seen\"\ntext = \"Seen?\"\ntype = \"yesno\"\n"),
            vec![
                "protocols/custom.toml:8: unknown variant `yesno`, expected one of `yes_no`, `choice`, \
                 `multi_choice`, `number`, `date`, `text`",
            ],
        ),
        (
            "unknown key in a condition",
            rule("{ answer = \"seen\", is = true }", raise),
            vec![
                "protocols/custom.toml:26: unknown field `is`, expected one of `all`, `any`, `not`, `answer`, `equals`, `in`, `gt`, `gte`, `lt`, `lte`, `contains`, `is_yes`, `indicator`, `term`, `indicators_at_least`, `indicator_weight_at_least`, `age_under`, `level_at_least`",
            ],
        ),
        (
            "unknown question",
            rule("{ answer = \"sen\", is_yes = true }", raise),
            vec!["protocols/custom.toml:26: rule `r` refers to unknown question `sen`"],
        ),
        (
            "gt on a yes_no question",
            rule("{ answer = \"seen\", gt = 1 }", raise),
            vec!["protocols/custom.toml:26: rule `r`: `gt` does not apply to yes_no question `seen` (use is_yes)"],
        ),
        (
            "is_yes on a choice question",
            rule("{ answer = \"grade\", is_yes = true }", raise),
            vec![
                "protocols/custom.toml:26: rule `r`: `is_yes` does not apply to choice question `grade` (use equals or in)",
            ],
        ),
        (
            "a string compared with a number",
            rule("{ answer = \"hours\", gte = \"ten\" }", raise),
            vec![
                "protocols/custom.toml:26: rule `r`: `gte` on number question `hours` needs a finite number, not a string",
            ],
        ),
        (
            "an option not in the choice list",
            rule("{ answer = \"grade\", equals = \"medium\" }", raise),
            vec![
                "protocols/custom.toml:26: rule `r`: \"medium\" is not an option of question `grade` (options: low, high)",
            ],
        ),
        (
            "duplicate question id",
            format!(
                "{HEADER}\n[[questions]]\nid = \"seen\"\ntext = \"Seen?\"\ntype = \"yes_no\"\n\n[[questions]]\nid = \"seen\"\ntext = \"Seen again?\"\ntype = \"yes_no\"\n"
            ),
            vec!["protocols/custom.toml:11: duplicate question \"seen\" (first at line 6)"],
        ),
        (
            "duplicate rule id",
            with_rules(
                "[[rules]]\nid = \"r\"\ndescription = \"d\"\nwhen = { answer = \"seen\", is_yes = true }\nraise_level = 2\n\n[[rules]]\nid = \"r\"\ndescription = \"d\"\nwhen = { answer = \"seen\", is_yes = true }\nraise_level = 3\n",
            ),
            vec!["protocols/custom.toml:30: duplicate rule \"r\" (first at line 24)"],
        ),
        (
            "unreachable: X and not X",
            with_rules(
                "[[rules]]\nid = \"r\"\ndescription = \"d\"\nwhen.all = [\n  { answer = \"seen\", is_yes = true },\n  { not = { answer = \"seen\", is_yes = true } },\n]\nraise_level = 2\n",
            ),
            vec!["protocols/custom.toml:28: rule `r` can never fire: no answer to `seen` is yes and not yes"],
        ),
        (
            "unreachable: an in with no valid option",
            rule("{ answer = \"grade\", in = [] }", raise),
            vec!["protocols/custom.toml:26: rule `r` can never fire: `in` lists no valid option of question `grade`"],
        ),
        (
            "unreachable: a number beyond the question's max",
            rule("{ answer = \"hours\", gt = 72 }", raise),
            vec![
                "protocols/custom.toml:26: rule `r` can never fire: no answer to `hours` is more than 72 (its range is 0 to 72)",
            ],
        ),
        (
            "unreachable: contradictory bounds",
            with_rules(
                "[[rules]]\nid = \"r\"\ndescription = \"d\"\nwhen.all = [\n  { answer = \"hours\", gte = 10 },\n  { answer = \"hours\", lt = 5 },\n]\nraise_level = 2\n",
            ),
            vec![
                "protocols/custom.toml:28: rule `r` can never fire: no answer to `hours` is at least 10 and less than 5 (its range is 0 to 72)",
            ],
        ),
        (
            "unreachable: an indicator present and absent",
            rule(
                "{ all = [{ indicator = \"missing\" }, { not = { any = [{ indicator = \"online\" }, { indicator = \"missing\" }] } }] }",
                raise,
            ),
            vec![
                "protocols/custom.toml:26: rule `r` can never fire: indicator missing would have to be both present and not present",
            ],
        ),
        (
            "unreachable: more groups than listed",
            rule("{ indicators_at_least = { count = 3, of = [\"missing\", \"online\"] } }", raise),
            vec!["protocols/custom.toml:26: rule `r` can never fire: it needs 3 distinct groups but `of` lists only 2"],
        ),
        (
            "unreachable: ages",
            rule("{ all = [{ age_under = 13 }, { not = { age_under = 16 } }] }", raise),
            vec![
                "protocols/custom.toml:26: rule `r` can never fire: the child cannot be both under 13 and not under 16",
            ],
        ),
        (
            "unreachable: every branch of an any",
            with_rules(
                "[[rules]]\nid = \"r\"\ndescription = \"d\"\nwhen.any = [\n  { not = { level_at_least = 1 } },\n  { all = [{ age_under = 13 }, { not = { age_under = 13 } }] },\n]\nraise_level = 2\n",
            ),
            vec![
                "protocols/custom.toml:26: rule `r` can never fire: none of its 2 alternatives can be true (the first: the level of need is never below 1)",
            ],
        ),
        (
            "unreachable: under 0",
            rule("{ age_under = 0 }", raise),
            vec!["protocols/custom.toml:26: rule `r` can never fire: no child is under 0"],
        ),
        (
            "unreachable: the level is never below 1",
            rule("{ not = { level_at_least = 1 } }", raise),
            vec!["protocols/custom.toml:26: rule `r` can never fire: the level of need is never below 1"],
        ),
        (
            "raise_level out of range",
            rule("{ answer = \"seen\", is_yes = true }", "raise_level = 5"),
            vec![
                "protocols/custom.toml:27: rule `r`: raise_level = 5 is out of range (2 early help, 3 complex or 4 acute; every contact starts at 1)",
            ],
        ),
        (
            "raise_level 1 does nothing",
            rule("{ answer = \"seen\", is_yes = true }", "raise_level = 1"),
            vec![
                "protocols/custom.toml:27: rule `r`: raise_level = 1 is out of range (2 early help, 3 complex or 4 acute; every contact starts at 1)",
            ],
        ),
        (
            "level_at_least out of range",
            rule("{ level_at_least = 0 }", raise),
            vec!["protocols/custom.toml:26: rule `r`: level_at_least = 0 is out of range (1 universal to 4 acute)"],
        ),
        (
            "unknown indicator group",
            rule("{ indicator = \"older_boyfriend\" }", "add_indicator = \"gangs\""),
            vec![
                "protocols/custom.toml:26: rule `r`: unknown indicator group \"older_boyfriend\" (known groups: missing, older_associate, unexplained_items, vehicles_places, sexual_health, education, substances, emotional_health, online, gangs_peers, injury_disclosure, vulnerabilities)",
                "protocols/custom.toml:27: rule `r`: unknown indicator group \"gangs\" (known groups: missing, older_associate, unexplained_items, vehicles_places, sexual_health, education, substances, emotional_health, online, gangs_peers, injury_disclosure, vulnerabilities)",
            ],
        ),
        (
            "unknown alert kind",
            rule("{ answer = \"seen\", is_yes = true }", "raise_alert = \"missing\""),
            vec![
                "protocols/custom.toml:27: rule `r`: unknown alert kind \"missing\" (known kinds: repeat_contacts, missing_episode, repeat_missing, school_absence, sexual_health, protection_flag, known_association, threshold_reached, decision_overdue, police_notification, return_interview)",
            ],
        ),
        (
            "a rule with no effect",
            rule("{ answer = \"seen\", is_yes = true }", "require_manager_decision = false"),
            vec![
                "protocols/custom.toml:24: rule `r` has no effect (give it raise_level, add_indicator, raise_alert or require_manager_decision = true)",
            ],
        ),
        (
            "an id that does not match the file name",
            "id = \"cse\"\ntitle = \"t\"\ndescription = \"d\"\n".to_owned(),
            vec!["protocols/custom.toml:1: protocol id \"cse\" does not match the file name (expected \"custom\")"],
        ),
        (
            "an id that is not snake_case",
            with_rules(
                "[[rules]]\nid = \"Rule-1\"\ndescription = \"d\"\nwhen = { answer = \"seen\", is_yes = true }\nraise_level = 2\n",
            ),
            vec![
                "protocols/custom.toml:24: rule id \"Rule-1\" must be snake_case (a-z, 0-9 and _, starting with a letter)",
            ],
        ),
        (
            "a question that does not fit its type",
            format!(
                "{HEADER}\n[[questions]]\nid = \"seen\"\ntext = \"Seen?\"\ntype = \"yes_no\"\noptions = [\"a\", \"b\"]\n\n[[questions]]\nid = \"hours\"\ntext = \"Hours?\"\ntype = \"number\"\nmin = 5\nmax = 1\n"
            ),
            vec![
                "protocols/custom.toml:9: question `seen`: options are only for choice and multi_choice questions, not yes_no",
                "protocols/custom.toml:16: question `hours`: min 5 is greater than max 1",
            ],
        ),
        (
            "free text compared",
            format!(
                "{HEADER}\n[[questions]]\nid = \"notes\"\ntext = \"Notes?\"\ntype = \"text\"\n\n[[rules]]\nid = \"r\"\ndescription = \"d\"\nwhen = {{ answer = \"notes\", equals = \"hotel\" }}\nraise_level = 2\n"
            ),
            vec![
                "protocols/custom.toml:13: rule `r`: question `notes` is free text, which rules cannot compare: narratives and text are screened by the lexicon (use indicator or term)",
            ],
        ),
        (
            "two forms in one condition",
            rule("{ answer = \"seen\", is_yes = true, age_under = 13 }", raise),
            vec![
                "protocols/custom.toml:26: rule `r`: a condition has one form, but this one has answer, age_under: combine them with all = [...]",
            ],
        ),
        (
            "a comparison without an answer",
            rule("{ is_yes = true }", raise),
            vec!["protocols/custom.toml:26: rule `r`: `is_yes` compares an answer: add answer = \"question_id\""],
        ),
    ]
}

#[test]
fn each_kind_of_file_error_names_file_and_line() {
    let mut failures = Vec::new();
    for (what, text, expected) in error_table() {
        let found = errors(&text);
        if found != expected {
            failures.push(format!("{what}:\n  expected {expected:#?}\n  found {found:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_file_reports_all_its_problems_at_once_sorted_by_line() {
    let text = with_rules(
        "[[rules]]\nid = \"a\"\ndescription = \"d\"\nwhen = { answer = \"nope\", is_yes = true }\nraise_level = 9\n\n\
         [[rules]]\nid = \"b\"\ndescription = \"d\"\nwhen = { indicator = \"gangs\" }\nraise_alert = \"x\"\n",
    );
    let found = errors(&text);
    assert_eq!(found.len(), 4, "{found:#?}");
    let lines: Vec<&str> = found.iter().map(|e| e.split(':').nth(1).unwrap()).collect();
    assert_eq!(lines, ["26", "27", "32", "33"]);
}

#[test]
fn a_directory_load_collects_the_errors_of_every_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.toml"), "id = \"good\"\ntitle = \"t\"\ndescription = \"d\"\n").unwrap();
    std::fs::write(dir.path().join("bad_a.toml"), "id = \"bad_a\"\ntitle = \"t\"\n").unwrap();
    std::fs::write(dir.path().join("bad_b.toml"), "id = \"other\"\ntitle = \"t\"\ndescription = \"d\"\n").unwrap();
    std::fs::write(dir.path().join("README.md"), "not a protocol").unwrap();
    let errors = ProtocolSet::load_dir(dir.path(), &GROUPS).unwrap_err();
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let a = dir.path().join("bad_a.toml").display().to_string();
    let b = dir.path().join("bad_b.toml").display().to_string();
    assert_eq!(
        messages,
        [
            format!("{a}:1: missing field `description`"),
            format!("{b}:1: protocol id \"other\" does not match the file name (expected \"bad_b\")"),
        ]
    );
    assert_eq!(errors.to_string(), messages.join("\n"));
    assert!(matches!(errors.iter().next(), Some(ProtocolError::Syntax { line: 1, .. })));

    std::fs::remove_file(dir.path().join("bad_a.toml")).unwrap();
    std::fs::remove_file(dir.path().join("bad_b.toml")).unwrap();
    let set = ProtocolSet::load_dir(dir.path(), &GROUPS).unwrap();
    assert_eq!(set.ids().collect::<Vec<_>>(), ["good"]);
}

#[test]
fn an_empty_or_missing_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let errors = ProtocolSet::load_dir(dir.path(), &GROUPS).unwrap_err();
    assert_eq!(errors.to_string(), format!("{}: no protocol files (*.toml) found", dir.path().display()));
    let missing = dir.path().join("nowhere");
    let errors = ProtocolSet::load_dir(&missing, &GROUPS).unwrap_err();
    assert!(matches!(errors.iter().next(), Some(ProtocolError::Read { .. })), "{errors}");
}

#[test]
fn every_shipped_alert_kind_is_a_known_kind() {
    for protocol in shipped().iter() {
        for rule in protocol.rules() {
            if let Some(kind) = &rule.effects().raise_alert {
                assert!(ALERT_KINDS.contains(&kind.as_str()));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing answers

fn field_errors(protocol_id: &str, answers: Value) -> Vec<(String, String)> {
    protocol(protocol_id).parse_answers(&answers).unwrap_err().into_iter().map(|e| (e.field, e.message)).collect()
}

#[test]
fn answers_of_the_wrong_type_are_refused_by_field() {
    let found = field_errors(
        "cse_concern",
        json!({
            "disclosure": "maybe",
            "missing_episodes_90_days": "lots",
            "associate_age": 101,
            "places": "hotel",
            "held_or_abducted": 1,
        }),
    );
    assert_eq!(
        found,
        [
            ("answers.disclosure".to_owned(), "must be yes or no (true or false), not \"maybe\"".to_owned()),
            ("answers.missing_episodes_90_days".to_owned(), "must be a number, not \"lots\"".to_owned()),
            ("answers.associate_age".to_owned(), "must be at most 100".to_owned()),
            (
                "answers.places".to_owned(),
                "must be a list of options from: hotel, taxi, takeaway, party_house, car_with_unknown_adults, \
                 town_with_no_link, none_known"
                    .to_owned()
            ),
            ("answers.held_or_abducted".to_owned(), "must be yes or no (true or false), not 1".to_owned()),
        ]
    );
}

#[test]
fn unknown_questions_and_missing_required_ones_are_refused() {
    let found = field_errors("missing_child", json!({"police_category": "lost", "colour": "red"}));
    assert_eq!(
        found,
        [
            ("answers.police_category".to_owned(), "\"lost\" is not one of: missing, absent".to_owned()),
            ("answers.returned".to_owned(), "is required".to_owned()),
            ("answers.colour".to_owned(), "is not a question of protocol `missing_child`".to_owned()),
        ]
    );
    assert_eq!(
        field_errors("missing_child", json!(["missing"])),
        [("answers".to_owned(), "must be an object keyed by question id".to_owned())]
    );
}

#[test]
fn blank_answers_count_as_unanswered() {
    let found = field_errors("neglect", json!({"needs_not_met": [], "home_conditions": "", "weeks_known": null}));
    assert_eq!(found, [("answers.needs_not_met".to_owned(), "is required".to_owned())]);
    let answers =
        protocol("neglect").parse_answers(&json!({"needs_not_met": ["food"], "home_conditions": " "})).unwrap();
    assert_eq!(answers.len(), 1);
}

#[test]
fn form_strings_are_accepted_where_unambiguous() {
    let answers = protocol("missing_child")
        .parse_answers(&json!({
            "police_category": "missing",
            "returned": "Yes",
            "episodes_90_days": " 3 ",
            "last_seen": "2024-02-29",
        }))
        .unwrap();
    assert_eq!(answers["returned"], Answer::YesNo(true));
    assert_eq!(answers["episodes_90_days"], Answer::Number(3.0));
    assert_eq!(answers["last_seen"], Answer::Date(AnswerDate::parse("2024-02-29").unwrap()));
}

#[test]
fn dates_must_exist_and_options_be_listed_once() {
    let found = field_errors(
        "missing_child",
        json!({"police_category": "missing", "returned": false, "last_seen": "2023-02-29"}),
    );
    assert_eq!(
        found,
        [("answers.last_seen".to_owned(), "must be a date written YYYY-MM-DD, not \"2023-02-29\"".to_owned())]
    );
    let found = field_errors("neglect", json!({"needs_not_met": ["food", "food"]}));
    assert_eq!(found, [("answers.needs_not_met".to_owned(), "option \"food\" is listed twice".to_owned())]);
    for bad in ["2024-13-01", "2024-1-01", "24-01-01", "2024-01-32", "1899-12-31", "2024/01/01", "+024-01-01"] {
        assert!(AnswerDate::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn multi_choice_answers_are_kept_in_the_question_order() {
    let answers = protocol("neglect").parse_answers(&json!({"needs_not_met": ["warmth", "food"]})).unwrap();
    assert_eq!(answers["needs_not_met"], Answer::Multi(vec!["food".into(), "warmth".into()]));
}

// ---------------------------------------------------------------------------------------------
// Properties

/// Any answer at all, typed or not, for any key.
fn any_answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        any::<bool>().prop_map(Answer::YesNo),
        "[a-z_]{0,12}".prop_map(Answer::Choice),
        prop::collection::vec("[a-z_]{0,12}", 0..4).prop_map(Answer::Multi),
        any::<f64>().prop_map(Answer::Number),
        Just(Answer::Number(f64::NAN)),
        Just(Answer::Number(f64::INFINITY)),
        (1900u16..2100, 1u8..13, 1u8..29)
            .prop_map(|(y, m, d)| Answer::Date(AnswerDate::parse(&format!("{y:04}-{m:02}-{d:02}")).unwrap())),
        ".{0,20}".prop_map(Answer::Text),
    ]
}

fn any_group() -> impl Strategy<Value = String> {
    prop_oneof![prop::sample::select(GROUPS.to_vec()).prop_map(str::to_owned), "[a-z_]{0,10}"]
}

fn any_hit() -> impl Strategy<Value = IndicatorHit> {
    (any_group(), ".{0,12}", any::<u8>(), any::<bool>()).prop_map(|(group, term, weight, negated)| IndicatorHit {
        group,
        term,
        weight,
        negated,
    })
}

/// A valid answer to `question` drawn from `seed`, or none.
fn answer_from_seed(kind: &QuestionKind, required: bool, seed: u64) -> Option<Answer> {
    if !required && seed.is_multiple_of(3) {
        return None;
    }
    let pick = (seed / 3) as usize;
    Some(match kind {
        QuestionKind::YesNo => Answer::YesNo(pick.is_multiple_of(2)),
        QuestionKind::Choice { options } => Answer::Choice(options[pick % options.len()].clone()),
        QuestionKind::MultiChoice { options } => {
            let chosen: Vec<String> =
                options.iter().enumerate().filter(|(i, _)| (pick >> i) & 1 == 1).map(|(_, o)| o.clone()).collect();
            if chosen.is_empty() { Answer::Multi(vec![options[0].clone()]) } else { Answer::Multi(chosen) }
        }
        QuestionKind::Number { min, max } => {
            let low = min.unwrap_or(0.0);
            let high = max.unwrap_or(1000.0);
            Answer::Number((low + (pick % 1000) as f64 / 999.0 * (high - low)).round().clamp(low, high))
        }
        QuestionKind::Date => {
            Answer::Date(AnswerDate::parse(&format!("20{:02}-0{}-1{}", pick % 30, 1 + pick % 9, pick % 9)).unwrap())
        }
        QuestionKind::Text => Answer::Text(format!("note {pick}")),
    })
}

fn valid_input(protocol: &Protocol, seeds: &[u64], hits: Vec<IndicatorHit>, age: Option<u32>) -> EvalInput {
    let answers = protocol
        .questions()
        .iter()
        .zip(seeds.iter().cycle())
        .filter_map(|(q, seed)| answer_from_seed(&q.kind, q.required, *seed).map(|a| (q.id.clone(), a)))
        .collect();
    EvalInput { answers, indicators: hits, child_age: age }
}

fn known_hit() -> impl Strategy<Value = IndicatorHit> {
    (prop::sample::select(GROUPS.to_vec()), 1u8..=3, any::<bool>()).prop_map(|(group, weight, negated)| IndicatorHit {
        group: group.to_owned(),
        term: format!("{group} term"),
        weight,
        negated,
    })
}

fn check_outcome(protocol: &Protocol, evaluation: &Evaluation) {
    assert!((1..=4).contains(&evaluation.level));
    assert!(!evaluation.explanation.is_empty());
    let ids: BTreeSet<&str> = evaluation.fired.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(ids.len(), evaluation.fired.len(), "a rule fired twice");
    let wants_manager =
        protocol.rules().iter().filter(|r| ids.contains(r.id())).any(|r| r.effects().require_manager_decision);
    assert_eq!(evaluation.manager_decision, wants_manager);
    let raised = protocol.rules().iter().filter(|r| ids.contains(r.id())).filter_map(|r| r.effects().raise_level).max();
    assert_eq!(evaluation.level, raised.unwrap_or(1));
}

proptest! {
    #[test]
    fn evaluation_never_panics_on_arbitrary_input(
        protocol_index in 0..SHIPPED.len(),
        answers in prop::collection::vec((prop_oneof![
            prop::sample::select((0..40usize).collect::<Vec<_>>()).prop_map(Some),
            Just(None),
        ], "[a-z_]{1,12}", any_answer()), 0..16),
        hits in prop::collection::vec(any_hit(), 0..12),
        age in prop::option::of(any::<u32>()),
    ) {
        let protocol = protocol(SHIPPED[protocol_index]);
        let questions = protocol.questions();
        let answers = answers
            .into_iter()
            .map(|(index, random_key, answer)| {
                let key = index.and_then(|i| questions.get(i % questions.len())).map_or(random_key, |q| q.id.clone());
                (key, answer)
            })
            .collect();
        let evaluation = protocol.evaluate(&EvalInput { answers, indicators: hits, child_age: age });
        check_outcome(protocol, &evaluation);
    }

    #[test]
    fn adding_a_yes_or_an_indicator_never_lowers_the_level(
        protocol_index in 0..SHIPPED.len(),
        seeds in prop::collection::vec(any::<u64>(), 1..16),
        hits in prop::collection::vec(known_hit(), 0..6),
        age in prop::option::of(0u32..19),
        pick in any::<usize>(),
        extra in known_hit(),
    ) {
        let protocol = protocol(SHIPPED[protocol_index]);
        let input = valid_input(protocol, &seeds, hits, age);
        let before = protocol.evaluate(&input);
        check_outcome(protocol, &before);
        let fired_before: BTreeSet<String> = before.fired.iter().map(|f| f.rule_id.clone()).collect();

        let yes_no: Vec<&str> = protocol
            .questions()
            .iter()
            .filter(|q| q.kind == QuestionKind::YesNo)
            .map(|q| q.id.as_str())
            .collect();
        let mut with_yes = input.clone();
        with_yes.answers.insert(yes_no[pick % yes_no.len()].to_owned(), Answer::YesNo(true));
        let mut with_indicator = input.clone();
        with_indicator.indicators.push(IndicatorHit { negated: false, ..extra });

        for after in [protocol.evaluate(&with_yes), protocol.evaluate(&with_indicator)] {
            prop_assert!(after.level >= before.level, "{:?}\nthen\n{:?}", before.explanation, after.explanation);
            let fired_after: BTreeSet<String> = after.fired.iter().map(|f| f.rule_id.clone()).collect();
            prop_assert!(fired_after.is_superset(&fired_before));
        }
    }

    #[test]
    fn valid_answers_round_trip_through_json(
        protocol_index in 0..SHIPPED.len(),
        seeds in prop::collection::vec(any::<u64>(), 1..16),
    ) {
        let protocol = protocol(SHIPPED[protocol_index]);
        let input = valid_input(protocol, &seeds, Vec::new(), None);
        let json = serde_json::to_value(&input.answers).unwrap();
        prop_assert_eq!(protocol.parse_answers(&json).unwrap(), input.answers);
    }

    #[test]
    fn parsing_arbitrary_answers_never_panics(
        protocol_index in 0..SHIPPED.len(),
        entries in prop::collection::vec(("[a-z_]{1,20}", prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,30}".prop_map(Value::from),
            prop::collection::vec(".{0,8}", 0..4).prop_map(Value::from),
        ]), 0..10),
    ) {
        let protocol = protocol(SHIPPED[protocol_index]);
        let raw = Value::Object(entries.into_iter().collect());
        if let Err(errors) = protocol.parse_answers(&raw) {
            prop_assert!(errors.iter().all(|e| e.field.starts_with("answers")));
        }
    }
}
