//! Criterion benchmarks for indicator screening: throughput on a 1 MiB slice of the synthetic
//! corpus (ours and the `RegexSet` baseline) and one ~1 KB contact. The ≥ 100 MB measured pass
//! for BENCHMARKS.md is the `screen_bench` example.

#[path = "support/corpus.rs"]
mod corpus;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use frontdoor_screen::lexicon::Lexicon;
use std::hint::black_box;

const LEXICON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/lexicon.toml");

fn screening(c: &mut Criterion) {
    let lexicon = Lexicon::load(LEXICON).expect("the shipped lexicon loads");
    let phrases = corpus::lexicon_phrases(&lexicon);
    let narratives = corpus::narratives(&phrases, 1 << 20, 1024, corpus::SEED);
    let bytes: usize = narratives.iter().map(String::len).sum();
    let set = corpus::regex_baseline(&phrases);

    let mut group = c.benchmark_group("screening_1MiB");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function(BenchmarkId::new("aho_corasick_negation", bytes), |b| {
        b.iter(|| narratives.iter().map(|n| lexicon.screen(black_box(n)).len()).sum::<usize>())
    });
    group.bench_function(BenchmarkId::new("regex_set_baseline", bytes), |b| {
        b.iter(|| narratives.iter().map(|n| set.matches(black_box(n.as_bytes())).iter().count()).sum::<usize>())
    });
    group.finish();

    let contact = &narratives[0];
    let mut group = c.benchmark_group("per_contact");
    group.throughput(Throughput::Bytes(contact.len() as u64));
    group.bench_function("screen_1KB", |b| b.iter(|| lexicon.screen(black_box(contact))));
    group.finish();
}

criterion_group!(benches, screening);
criterion_main!(benches);
