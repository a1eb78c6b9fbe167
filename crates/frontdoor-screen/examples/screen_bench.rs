//! Screening throughput and per-contact latency, for BENCHMARKS.md:
//!
//! ```text
//! cargo run --release -p frontdoor-screen --example screen_bench [-- --mb 100 --contacts 20000]
//! ```
//!
//! Builds a synthetic corpus (at least `--mb` MiB, fixed seed, ~1 KB narratives), screens every
//! narrative on one thread with the shipped lexicon (negation included), runs a
//! `regex::bytes::RegexSet` baseline over the same phrases in the same run, then times the first
//! `--contacts` narratives (default 20,000) one contact at a time as intake would handle them:
//! screening, then the mentions turned into rule inputs and one shipped protocol evaluated
//! (cycling through all of them, no answers, child aged 14). Latencies go into HDR histograms.

#[path = "../benches/support/corpus.rs"]
mod corpus;

use frontdoor_screen::lexicon::{IndicatorGroup, Lexicon, positive_weight_by_group};
use frontdoor_screen::protocol::{EvalInput, IndicatorHit, ProtocolSet};
use hdrhistogram::Histogram;
use std::hint::black_box;
use std::time::{Duration, Instant};

const LEXICON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/lexicon.toml");
const PROTOCOLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/protocols");
/// The age given to every contact's child: old enough that no under-13 rule fires by default.
const CHILD_AGE: u32 = 14;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut mib, mut contacts): (usize, usize) = (100, 20_000);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--mb" => mib = args.next().ok_or("--mb needs a number")?.parse()?,
            "--contacts" => contacts = args.next().ok_or("--contacts needs a number")?.parse()?,
            other => return Err(format!("unknown argument {other:?} (expected --mb N or --contacts N)").into()),
        }
    }

    let started = Instant::now();
    let lexicon = Lexicon::load(LEXICON)?;
    let build = started.elapsed();
    let phrases = corpus::lexicon_phrases(&lexicon);
    println!(
        "lexicon: {} entries, {} phrases, window {} (loaded and compiled in {:.1} ms)",
        lexicon.entries().len(),
        lexicon.len(),
        lexicon.window(),
        ms(build)
    );

    let sizes: Vec<String> =
        lexicon.groups().iter().map(|g| format!("{} {}/{}", g.group.as_str(), g.entries, g.phrases)).collect();
    println!("groups (entries/phrases): {}", sizes.join(", "));

    let started = Instant::now();
    let narratives = corpus::narratives(&phrases, mib << 20, 1024, corpus::SEED);
    let bytes: usize = narratives.iter().map(String::len).sum();
    println!(
        "corpus: {} narratives, {:.1} MiB (mean {} bytes), seed {:#x}, generated in {:.1} s",
        narratives.len(),
        mib_of(bytes),
        bytes / narratives.len().max(1),
        corpus::SEED,
        started.elapsed().as_secs_f64()
    );

    // Warm caches and the allocator on a slice before measuring.
    for n in narratives.iter().take(2_000) {
        black_box(lexicon.screen(n));
    }

    let started = Instant::now();
    let (mut mentions, mut positive) = (0usize, 0usize);
    for n in &narratives {
        let found = lexicon.screen(black_box(n));
        mentions += found.len();
        positive += found.iter().filter(|m| m.is_positive()).count();
    }
    let ours = started.elapsed();
    // Outside the timing: the weights the rules would receive, as a check that work was done.
    let weight: u64 = narratives
        .iter()
        .take(1_000)
        .map(|n| positive_weight_by_group(&lexicon.screen(n)).values().map(|&w| u64::from(w)).sum::<u64>())
        .sum();
    println!(
        "aho-corasick + negation, per narrative: {:>8.1} MB/s  ({:.2} s; {} mentions, {} positive; weight of the first 1,000: {})",
        mb_per_s(bytes, ours),
        ours.as_secs_f64(),
        mentions,
        positive,
        weight
    );

    let whole = narratives.join("\n\n");
    let started = Instant::now();
    let found = lexicon.screen(black_box(&whole));
    let one_text = started.elapsed();
    println!(
        "aho-corasick + negation, one text:      {:>8.1} MB/s  ({:.2} s; {} mentions)",
        mb_per_s(whole.len(), one_text),
        one_text.as_secs_f64(),
        found.len()
    );
    drop((whole, found));

    let started = Instant::now();
    let set = corpus::regex_baseline(&phrases);
    let set_build = started.elapsed();
    for n in narratives.iter().take(2_000) {
        black_box(set.matches(n.as_bytes()));
    }
    let started = Instant::now();
    let mut hits = 0usize;
    for n in &narratives {
        hits += set.matches(black_box(n.as_bytes())).iter().count();
    }
    let baseline = started.elapsed();
    println!(
        "regex::bytes::RegexSet baseline:        {:>8.1} MB/s  ({:.2} s; {} distinct patterns hit; compiled in {:.0} ms; \
         which patterns matched only: no positions, no negation)",
        mb_per_s(bytes, baseline),
        baseline.as_secs_f64(),
        hits,
        ms(set_build)
    );
    println!("speed-up over the baseline: {:.1}x", baseline.as_secs_f64() / ours.as_secs_f64());
    let rate = mb_per_s(bytes, ours);
    println!(
        "target: matcher >= 200 MB/s on one core: {} ({rate:.1} MB/s)",
        if rate >= 200.0 { "met" } else { "MISSED" }
    );

    per_contact(&lexicon, &narratives, contacts)?;
    Ok(())
}

/// Times `contacts` narratives one at a time: screening alone, rule evaluation alone, and the
/// two together with the conversion between them (what intake does per contact).
fn per_contact(lexicon: &Lexicon, narratives: &[String], contacts: usize) -> Result<(), Box<dyn std::error::Error>> {
    let groups: Vec<&str> = IndicatorGroup::ALL.iter().map(|g| g.as_str()).collect();
    let protocols = ProtocolSet::load_dir(PROTOCOLS, &groups).map_err(|e| e.to_string())?;
    let protocols: Vec<_> = protocols.iter().collect();
    if protocols.is_empty() {
        return Err("no protocols in config/protocols".into());
    }
    // Nanoseconds, from 1 ns to 60 s, three significant figures.
    let histogram = || Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3);
    let (mut screening, mut rules, mut both) = (histogram()?, histogram()?, histogram()?);
    let (mut level_sum, mut fired) = (0u64, 0usize);
    let sample = narratives.len().min(contacts);
    for (i, narrative) in narratives.iter().take(sample).enumerate() {
        let protocol = protocols[i % protocols.len()];
        let started = Instant::now();
        let mentions = lexicon.screen(black_box(narrative));
        let screened = Instant::now();
        let input = EvalInput {
            answers: Default::default(),
            indicators: mentions
                .iter()
                .map(|m| IndicatorHit {
                    group: m.group.clone(),
                    term: m.term.clone(),
                    weight: m.weight,
                    negated: !m.is_positive(),
                })
                .collect(),
            child_age: Some(CHILD_AGE),
        };
        let evaluating = Instant::now();
        let evaluation = protocol.evaluate(black_box(&input));
        let done = Instant::now();
        screening.record(nanos(screened - started))?;
        rules.record(nanos(done - evaluating))?;
        both.record(nanos(done - started))?;
        level_sum += u64::from(evaluation.level);
        fired += evaluation.fired.len();
        black_box((mentions, evaluation));
    }
    println!(
        "per contact (~1 KB narrative, n = {sample}, {} protocols in turn, no answers, child aged {CHILD_AGE}; \
         {fired} rules fired, mean level {:.2}):",
        protocols.len(),
        level_sum as f64 / sample.max(1) as f64
    );
    for (what, h) in [("screening", &screening), ("screening + rules", &both), ("rules only", &rules)] {
        println!(
            "  {what:<18} p50 {:>7.1} µs, p99 {:>7.1} µs, p99.9 {:>7.1} µs, max {:>8.1} µs",
            h.value_at_quantile(0.50) as f64 / 1e3,
            h.value_at_quantile(0.99) as f64 / 1e3,
            h.value_at_quantile(0.999) as f64 / 1e3,
            h.max() as f64 / 1e3
        );
    }
    let p99 = both.value_at_quantile(0.99) as f64 / 1e6;
    println!("  target: screening + rules p99 <= 1 ms: {} ({p99:.3} ms)", if p99 <= 1.0 { "met" } else { "MISSED" });
    Ok(())
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1)
}

fn mib_of(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn mb_per_s(bytes: usize, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64().max(1e-9)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
