//! Times the matcher's phases on a directory of canonical CSVs (as `frontdoor synth people`
//! writes), without a store: `cargo run --release -p frontdoor-link --example profile -- DIR`.
//! For finding where deduplication spends its time; `frontdoor link dedupe` is the product.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use frontdoor_link::{Index, Nicknames, Person, Settings};
use std::time::Instant;

/// The allocator the product runs with (see `frontdoor`'s main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: profile DIR");
    let t = Instant::now();
    let mut people = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for path in files {
        let source = path.file_stem().unwrap().to_string_lossy().into_owned();
        if source == "labels" || path.extension().is_none_or(|e| e != "csv") {
            continue;
        }
        let mut reader = csv::Reader::from_path(&path).unwrap();
        for row in reader.records() {
            let row = row.unwrap();
            let f = |i: usize| row.get(i).filter(|s| !s.is_empty()).map(str::to_owned);
            people.push(Person {
                source: source.clone(),
                record_id: f(0).unwrap(),
                given_name: f(1),
                family_name: f(2),
                date_of_birth: f(3).and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
                sex: f(4),
                postcode: f(5),
                address: f(6),
                phone: f(7),
            });
        }
    }
    eprintln!("read {} records in {:.2} s", people.len(), t.elapsed().as_secs_f64());
    let mut settings = Settings::default();
    if let Some(m) = std::env::var("PROFILE_MAX_BLOCK").ok().and_then(|m| m.parse().ok()) {
        settings.max_block = m;
    }
    let t = Instant::now();
    let index = Index::build_from(people, Nicknames::builtin(), &settings);
    eprintln!("built the index in {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let pairs = index.candidate_pairs();
    eprintln!("{pairs} candidate pairs, counted in {:.2} s", t.elapsed().as_secs_f64());
    // PROFILE_RULES=1: pairs per blocking rule, and true pairs only one rule finds.
    let rules = std::env::var("PROFILE_RULES").is_ok();
    if rules {
        for (r, (total, new)) in index.pairs_per_rule().iter().enumerate() {
            eprintln!("rule {}: {total} pairs, {new} not made by an earlier rule", r + 1);
        }
    }
    if std::env::var("PROFILE_COUNT_ONLY").is_ok() {
        return;
    }
    let t = Instant::now();
    let model = index.train(&settings);
    eprintln!("trained in {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut scored = index.score_range(&model, 0, index.len() as u32, settings.review);
    // PROFILE_REPEAT=N scores N more times (so that a profiler sees mostly scoring).
    for _ in 0..std::env::var("PROFILE_REPEAT").ok().and_then(|n| n.parse().ok()).unwrap_or(0) {
        scored = index.score_range(&model, 0, index.len() as u32, settings.review);
    }
    eprintln!("scored in {:.2} s: {} kept", t.elapsed().as_secs_f64(), scored.len());
    let t = Instant::now();
    let clusters = frontdoor_link::cluster_pairs(index.len(), &scored, &settings);
    let queued: Vec<_> = scored.iter().filter(|p| p.queued(&settings)).collect();
    let within = queued.iter().filter(|p| clusters[p.a as usize] == clusters[p.b as usize]).count();
    eprintln!("{} pairs queued for a person, {within} of them already within one cluster", queued.len());
    let mut c = clusters.clone();
    c.sort_unstable();
    c.dedup();
    eprintln!("clustered into {} in {:.2} s", c.len(), t.elapsed().as_secs_f64());
    let labels = std::path::Path::new(&dir).join("labels.csv");
    if labels.exists() {
        let mut truth_of = std::collections::HashMap::new();
        for row in csv::Reader::from_path(&labels).unwrap().records() {
            let row = row.unwrap();
            truth_of.insert((row[0].to_owned(), row[1].to_owned()), row[2].parse::<u64>().unwrap());
        }
        let truth: Vec<Option<u64>> = (0..index.len() as u32)
            .map(|i| index.key(i).and_then(|k| truth_of.get(&(k.source.clone(), k.record_id.clone())).copied()))
            .collect();
        if rules {
            let mut by_entity: std::collections::HashMap<u64, Vec<u32>> = Default::default();
            for (i, t) in truth.iter().enumerate() {
                if let Some(t) = t {
                    by_entity.entry(*t).or_default().push(i as u32);
                }
            }
            let (mut total, mut blocked, mut only) = (0u64, 0u64, [0u64; frontdoor_link::index::RULES]);
            for members in by_entity.values() {
                for (n, a) in members.iter().enumerate() {
                    for b in &members[n + 1..] {
                        total += 1;
                        let mask = index.rules_shared(*a, *b);
                        blocked += u64::from(mask != 0);
                        if mask.count_ones() == 1 {
                            only[mask.trailing_zeros() as usize] += 1;
                        }
                    }
                }
            }
            eprintln!("true pairs {total}, {blocked} share a block; found by one rule only, per rule: {only:?}");
        }
        // PROFILE_MISSES=1: why the true pairs that ended in different clusters were not linked.
        if std::env::var("PROFILE_MISSES").is_ok() {
            eprintln!(
                "missed true pairs by reason: {:?}",
                misses(&index, &model, &scored, &clusters, &truth, &settings)
            );
        }
        let s = frontdoor_link::pairwise(&clusters, &truth);
        println!("precision={:.4} recall={:.4} f1={:.4}", s.precision(), s.recall(), s.f1());
    }
}

/// Each true pair split across clusters, counted by why: never a candidate (blocking), scored
/// below the review threshold, a twin guard, no given name, waiting for a person, or linked but
/// kept apart by a wall.
fn misses(
    index: &Index,
    model: &frontdoor_link::Model,
    scored: &[frontdoor_link::ScoredPair],
    clusters: &[u32],
    truth: &[Option<u64>],
    settings: &Settings,
) -> Vec<(&'static str, u64)> {
    use frontdoor_link::Guard;
    let by_pair: std::collections::HashMap<(u32, u32), &frontdoor_link::ScoredPair> =
        scored.iter().map(|p| ((p.a, p.b), p)).collect();
    let mut members: std::collections::HashMap<u64, Vec<u32>> = Default::default();
    for (i, t) in truth.iter().enumerate() {
        if let Some(t) = t {
            members.entry(*t).or_default().push(i as u32);
        }
    }
    let mut counts: std::collections::BTreeMap<&'static str, u64> = Default::default();
    // PROFILE_SAMPLES=N: also prints N missed pairs per reason, field by field.
    let samples: u64 = std::env::var("PROFILE_SAMPLES").ok().and_then(|n| n.parse().ok()).unwrap_or(0);
    let mut entities: Vec<&Vec<u32>> = members.values().collect();
    entities.sort_unstable();
    for m in entities {
        for (n, &a) in m.iter().enumerate() {
            for &b in &m[n + 1..] {
                if clusters[a as usize] == clusters[b as usize] {
                    continue;
                }
                let reason = match by_pair.get(&(a, b)) {
                    None if index.explain(model, a, b).is_some_and(|e| e.probability >= settings.review) => {
                        "not a candidate"
                    }
                    None => "below review",
                    Some(p) => match p.guard {
                        Guard::Twins => "twins",
                        Guard::PossibleTwins => "possible twins",
                        Guard::NoGivenName => "no given name",
                        Guard::None if p.auto(settings) => "linked, kept apart by a wall",
                        Guard::None => "queued for a person",
                    },
                };
                let seen = counts.entry(reason).or_default();
                *seen += 1;
                if *seen <= samples
                    && let Some(e) = index.explain(model, a, b)
                {
                    let fields: Vec<String> = e
                        .evidence
                        .iter()
                        .map(|f| format!("{}: {:?} | {:?} -> {} ({:+.1})", f.field, f.left, f.right, f.level, f.weight))
                        .collect();
                    eprintln!("{reason} p={:.3}\n    {}", e.probability, fields.join("\n    "));
                }
            }
        }
    }
    counts.into_iter().collect()
}
