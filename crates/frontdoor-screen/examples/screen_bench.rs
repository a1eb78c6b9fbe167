//! Screening throughput and per-contact latency, for BENCHMARKS.md:
//!
//! ```text
//! cargo run --release -p frontdoor-screen --example screen_bench [-- --mb 100]
//! ```
//!
//! Builds a synthetic corpus (at least `--mb` MiB, fixed seed, ~1 KB narratives), screens every
//! narrative on one thread with the shipped lexicon (negation included), runs a
//! `regex::bytes::RegexSet` baseline over the same phrases in the same run, then times each
//! ~1 KB narrative on its own for p50/p99.

#[path = "../benches/support/corpus.rs"]
mod corpus;

use frontdoor_screen::lexicon::{Lexicon, positive_weight_by_group};
use std::hint::black_box;
use std::time::{Duration, Instant};

const LEXICON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/lexicon.toml");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut mib: usize = 100;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--mb" => mib = args.next().ok_or("--mb needs a number")?.parse()?,
            other => return Err(format!("unknown argument {other:?} (expected --mb N)").into()),
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

    let sample = narratives.len().min(100_000);
    let mut times: Vec<Duration> = Vec::with_capacity(sample);
    for n in narratives.iter().take(sample) {
        let started = Instant::now();
        black_box(lexicon.screen(black_box(n)));
        times.push(started.elapsed());
    }
    times.sort_unstable();
    let at = |q: f64| times.get(((times.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
    println!(
        "per contact (~1 KB narrative, n = {}): p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
        times.len(),
        us(at(0.50)),
        us(at(0.99)),
        us(at(0.999)),
        us(at(1.0))
    );
    Ok(())
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

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
