//! `frontdoor link`: deduplicate the person index and measure it; `frontdoor synth people`:
//! synthetic source-system exports with known duplicates.

use crate::StoreArgs;
use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, Utc};
use clap::Subcommand;
use frontdoor_core::{Event, MachinePair, Purpose, RecordRef, ScoredLink};
use frontdoor_link::{Guard, Index, Model, Nicknames, Person, Settings, Thresholds};
use frontdoor_store::{Expected, Meta, NewEvent, Store};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Subcommand)]
pub enum LinkCommand {
    /// Deduplicate the whole person index into people: train the model, score every blocked
    /// pair, link the sure ones, queue the grey zone for a person, cluster. Resumable: an
    /// interrupted run over an unchanged index carries on where it stopped.
    Dedupe {
        #[command(flatten)]
        store: StoreArgs,
        /// Link automatically at or above this match probability (default: the configuration's
        /// `link_auto_link`, 0.95). Stored with the run: record checks then use it too.
        #[arg(long)]
        auto_link: Option<f64>,
        /// Queue for a person at or above this probability, below --auto-link (default: the
        /// configuration's `link_review`, 0.5).
        #[arg(long)]
        review: Option<f64>,
        /// A nickname table (TOML, as config/nicknames.toml) instead of the configuration's
        /// `nicknames_file` (or the shipped one).
        #[arg(long)]
        nicknames: Option<PathBuf>,
        /// Start a new run even if an unfinished one could be resumed.
        #[arg(long)]
        restart: bool,
        /// Records scored per checkpoint (an interruption loses at most one checkpoint's work,
        /// well under a second's at this size; each checkpoint costs a commit).
        #[arg(long, default_value_t = CHUNK)]
        chunk: u32,
        /// Stop after this many checkpoints, as an interruption would (for testing resumption).
        #[arg(long, hide = true)]
        stop_after: Option<u32>,
    },
    /// Check records against the index without storing them (the record check a contact makes),
    /// timing each: prints each query's best match, then
    /// `queries=N mean_ms=… p50_ms=… p99_ms=… index_build_ms=…`.
    Check {
        #[command(flatten)]
        store: StoreArgs,
        /// Canonical CSV of the people to look for (as `import people` reads).
        #[arg(long)]
        queries: PathBuf,
    },
    /// Pairwise precision, recall and F1 of the index's current clustering against ground truth
    /// (CSV header `source,record_id,entity_id`). The last line is `precision=P recall=R f1=F`.
    Evaluate {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        labels: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum SourceCommand {
    /// Register (or re-register) a source system of person records and the agency that runs
    /// it. Its records are shown in record checks to the front-door team and that agency only.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        /// The name used with `import people --source` (lower case letters, digits, `_`).
        #[arg(long)]
        name: String,
        /// How people see it, e.g. "Police (Niche)".
        #[arg(long)]
        label: String,
        /// The owning agency's name or id (see `frontdoor agency list`).
        #[arg(long)]
        agency: String,
        /// The person fields it holds, comma-separated (default: all).
        #[arg(long)]
        fields: Option<String>,
    },
    /// List the registered source systems.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn source(cmd: SourceCommand) -> Result<()> {
    match cmd {
        SourceCommand::Add { store, name, label, agency, fields } => {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                bail!("--name {name:?}: use lower case letters, digits and `_`");
            }
            if label.trim().is_empty() {
                bail!("--label: give the source a name people recognise");
            }
            let known: Vec<&str> = frontdoor_link::CANONICAL_HEADER.split(',').skip(1).collect();
            let fields: Vec<String> = match fields {
                None => known.iter().map(|f| (*f).to_owned()).collect(),
                Some(list) => {
                    let list: Vec<String> =
                        list.split(',').map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()).collect();
                    if let Some(bad) = list.iter().find(|f| !known.contains(&f.as_str())) {
                        bail!("--fields: `{bad}` is not a person field (expected some of {})", known.join(", "));
                    }
                    list
                }
            };
            let (_, store) = store.open().await?;
            let agencies = store.agencies().await?;
            let found = agencies
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(agency.trim()) || a.id.to_string() == agency.trim())
                .ok_or_else(|| {
                    anyhow::anyhow!("--agency: no agency called '{agency}' (see `frontdoor agency list`)")
                })?;
            let event = Event::PersonSourceRegistered {
                name: name.clone(),
                label: label.trim().to_owned(),
                agency_id: found.id,
                fields,
            };
            let meta = Meta::system(Purpose::Administration.as_str(), Utc::now());
            store.append(vec![NewEvent { event, expected: Expected::Any, meta }], vec![], vec![]).await?;
            println!("source {name} registered, run by {}", found.name);
        }
        SourceCommand::List { store } => {
            let (_, store) = store.open().await?;
            for s in store.person_sources().await? {
                println!("{}\t{}\t{}\t{}", s.name, s.label, s.agency_name, s.fields.join(","));
            }
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum SynthCommand {
    /// Write synthetic source-system exports (canonical CSV, one file per source) with siblings,
    /// twins and known duplicates, and `labels.csv` (`source,record_id,entity_id`).
    People {
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// About this many records in all.
        #[arg(long, default_value_t = 200_000)]
        records: usize,
        #[arg(long)]
        out: PathBuf,
        /// The day the people's ages are counted on, YYYY-MM-DD (default: today). The same seed,
        /// size and day give the same files on any machine, on any day.
        #[arg(long, value_parser = parse_day)]
        as_of: Option<NaiveDate>,
    },
}

fn parse_day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| format!("{s:?} is not a date YYYY-MM-DD: {e}"))
}

pub async fn run(cmd: LinkCommand) -> Result<()> {
    match cmd {
        LinkCommand::Dedupe { store, auto_link, review, nicknames, restart, chunk, stop_after } => {
            let cfg = store.config()?;
            let configured = cfg.link_settings().map_err(anyhow::Error::msg)?;
            let (auto_link, review) = (auto_link.unwrap_or(configured.auto_link), review.unwrap_or(configured.review));
            if !(0.0..=1.0).contains(&review) || !(review..=1.0).contains(&auto_link) {
                bail!("--review {review} and --auto-link {auto_link}: need 0 ≤ review ≤ auto-link ≤ 1");
            }
            let settings = Settings { auto_link, review, ..configured };
            let nicknames = match nicknames {
                Some(path) => load_nicknames(&path)?,
                None => cfg.nicknames().map_err(anyhow::Error::msg)?,
            };
            let (_, store) = store.open().await?;
            dedupe(&store, &settings, nicknames, restart, chunk.max(1), stop_after).await
        }
        LinkCommand::Check { store, queries } => {
            let text =
                std::fs::read_to_string(&queries).with_context(|| format!("cannot read {}", queries.display()))?;
            let rows = match frontdoor_link::parse_people(
                &text,
                &frontdoor_link::Mapping::canonical(),
                Utc::now().date_naive(),
            ) {
                Ok(rows) => rows,
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{}:{e}", queries.display());
                    }
                    bail!("{}: refused ({} problems)", queries.display(), errors.len());
                }
            };
            let cfg = store.config()?;
            let settings = cfg.link_settings().map_err(anyhow::Error::msg)?;
            let nicknames = cfg.nicknames().map_err(anyhow::Error::msg)?;
            let (_, store) = store.open().await?;
            check(&store, rows, &settings, nicknames).await
        }
        LinkCommand::Evaluate { store, labels } => {
            let text = std::fs::read_to_string(&labels).with_context(|| format!("cannot read {}", labels.display()))?;
            let truth = parse_labels(&labels, &text)?;
            let (_, store) = store.open().await?;
            evaluate(&store, &truth).await
        }
    }
}

fn load_nicknames(p: &Path) -> Result<Nicknames> {
    let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    Ok(Nicknames::parse(&p.display().to_string(), &text)?)
}

fn spinner(message: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_message(message.to_owned());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

/// The index in its stable order (it holds each record's key), and each record's number.
async fn load_index(store: &Store, nicknames: Nicknames, settings: &Settings) -> Result<(Index, Vec<i64>)> {
    let t = Instant::now();
    let rows = store.person_index().await?;
    let read = t.elapsed();
    let t = Instant::now();
    let (index, nums) = frontdoor_web::records::index_of(rows, nicknames, settings);
    eprintln!(
        "read {} records in {:.1} s, built the index in {:.1} s",
        index.len(),
        read.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    Ok((index, nums))
}

/// Records scored per checkpoint by default. At 1M records, 20,000 (50 commits) spent 8.4-8.9 s
/// scoring and storing; 50,000 to 200,000, 6.7-7.6 s.
pub const CHUNK: u32 = 50_000;

pub async fn dedupe(
    store: &Store,
    settings: &Settings,
    nicknames: Nicknames,
    restart: bool,
    chunk: u32,
    stop_after: Option<u32>,
) -> Result<()> {
    let started = Instant::now();
    let (records, last_seq) = store.person_index_fingerprint().await?;
    let pb = spinner(&format!("indexing {records} person records"));
    let (index, nums) = load_index(store, nicknames, settings).await?;
    let n = index.len() as u32;
    pb.finish_and_clear();
    eprintln!("indexed {n} records in {:.1} s", started.elapsed().as_secs_f64());
    let meta = || Meta::system(Purpose::Administration.as_str(), Utc::now());

    let resumable = if restart { None } else { store.open_link_run(records, last_seq).await? };
    let (run, model, from) = match resumable {
        Some(r) => {
            let model: Model = serde_json::from_str(&r.model).context("the unfinished run's model is unreadable")?;
            eprintln!("resuming run {} at record {} of {n}", r.run, r.next_record);
            (r.run, model, u32::try_from(r.next_record).unwrap_or(n))
        }
        None => {
            let pb = spinner("training the model (u from random pairs, m by EM)");
            let t = Instant::now();
            let mut model = index.train(settings);
            model.thresholds = Some(Thresholds { auto_link: settings.auto_link, review: settings.review });
            pb.finish_and_clear();
            eprintln!("trained the model in {:.1} s", t.elapsed().as_secs_f64());
            let run = uuid::Uuid::now_v7().to_string();
            let event = Event::PersonDedupeStarted {
                run: run.clone(),
                records: records as u64,
                last_record_seq: last_seq,
                model: serde_json::to_string(&model)?,
            };
            store.append(vec![NewEvent { event, expected: Expected::Any, meta: meta() }], vec![], vec![]).await?;
            (run, model, 0)
        }
    };
    // A resumed run goes on with the thresholds it started with.
    let settings = &settings.with_model(&model);
    for line in model.describe() {
        eprintln!("model: {line}");
    }

    let bar = ProgressBar::new(u64::from(n));
    bar.set_style(
        ProgressStyle::with_template("{spinner} scoring [{bar:40}] {pos}/{len} records ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_position(u64::from(from));
    let keep = settings.review.min(settings.auto_link);
    let (scoring, mut storing) = (Instant::now(), std::time::Duration::ZERO);
    let mut at = from;
    let mut chunks = 0;
    // This run's pairs, for clustering at the end (read back from its events if it resumed).
    let mut run_pairs: Vec<MachinePair> = Vec::new();
    // The next chunk is scored (on the blocking pool) while this one is being stored.
    let (index, shared_model) = (std::sync::Arc::new(index), std::sync::Arc::new(model.clone()));
    let score = |from: u32| {
        let to = from.saturating_add(chunk).min(n);
        let (index, model) = (index.clone(), shared_model.clone());
        (to, tokio::task::spawn_blocking(move || index.score_range(&model, from, to, keep)))
    };
    let mut next = (at < n).then(|| score(at));
    while let Some((to, job)) = next.take() {
        if stop_after.is_some_and(|s| chunks >= s) {
            bar.finish_and_clear();
            bail!("stopped after {chunks} checkpoints at record {at} of {n} (run {run}); run again to resume");
        }
        chunks += 1;
        let scored = job.await.context("scoring a chunk failed")?;
        if to < n {
            next = Some(score(to));
        }
        let ppm = |p: &frontdoor_link::ScoredPair| (p.probability * 1e6).round().clamp(0.0, 1e6) as u32;
        // People see the queued pairs by name; the rest travel compactly, by record number.
        let links: Vec<ScoredLink> = scored
            .iter()
            .filter(|p| p.queued(settings))
            .filter_map(|p| {
                Some(ScoredLink {
                    a: index.key(p.a)?.clone(),
                    b: index.key(p.b)?.clone(),
                    probability_ppm: ppm(p),
                    auto: false,
                    queued: true,
                    guard: p.wall(),
                    weak: p.guard == Guard::NoGivenName,
                })
            })
            .collect();
        let pairs: Vec<MachinePair> = scored
            .iter()
            .filter(|p| !p.queued(settings) && (p.auto(settings) || p.wall()))
            .filter_map(|p| {
                let flags = (u8::from(p.auto(settings)) * MachinePair::AUTO)
                    | (u8::from(p.wall()) * MachinePair::WALL)
                    | (u8::from(p.guard == Guard::NoGivenName) * MachinePair::WEAK);
                Some(MachinePair(*nums.get(p.a as usize)?, *nums.get(p.b as usize)?, ppm(p), flags))
            })
            .collect();
        run_pairs.extend_from_slice(&pairs);
        let event = Event::PersonLinksScored { run: run.clone(), from: u64::from(at), to: u64::from(to), links, pairs };
        let t = Instant::now();
        store.append(vec![NewEvent { event, expected: Expected::Any, meta: meta() }], vec![], vec![]).await?;
        storing += t.elapsed();
        bar.set_position(u64::from(to));
        at = to;
    }
    bar.finish_and_clear();
    eprintln!(
        "scored and stored in {:.1} s ({:.1} s of it storing, while the next chunk was scored)",
        scoring.elapsed().as_secs_f64(),
        storing.as_secs_f64()
    );

    let t = Instant::now();
    let clustering = if from == 0 {
        frontdoor_web::records::clusters_of(store, &run_pairs, index.keys(), &nums).await?
    } else {
        frontdoor_web::records::clusters(store, Some(&run), index.keys(), &nums).await?
    };
    let people = clustering.people();
    let (auto_linked, decided) = (clustering.auto_linked, clustering.decided);
    let queued = store.queued_link_count().await? as u64;
    eprintln!("clustered in {:.1} s", t.elapsed().as_secs_f64());
    let event =
        Event::PersonDedupeFinished { run: run.clone(), records: u64::from(n), clusters: people, auto_linked, queued };
    store.append(vec![NewEvent { event, expected: Expected::Any, meta: meta() }], vec![], vec![]).await?;
    println!(
        "deduplicated {n} records into {people} people in {:.1} s: {auto_linked} pairs linked automatically, \
         {queued} queued for review, {decided} decided by people (run {run})",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn check(
    store: &Store,
    rows: Vec<frontdoor_link::PersonRow>,
    settings: &Settings,
    nicknames: Nicknames,
) -> Result<()> {
    let started = Instant::now();
    let (mut index, _) = load_index(store, nicknames, settings).await?;
    let build = started.elapsed();
    let model = match store.latest_link_model().await? {
        Some(m) => serde_json::from_str::<Model>(&m).context("the stored model is unreadable")?,
        None => {
            eprintln!("no deduplication run yet: training a model for this check");
            index.train(settings)
        }
    };
    let settings = settings.with_model(&model);
    let mut hist = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut total = std::time::Duration::ZERO;
    let mut warmed = false;
    for r in &rows {
        let person = Person {
            source: "query".into(),
            record_id: r.record_id.clone(),
            given_name: r.given_name.as_ref().map(|n| n.as_str().to_owned()),
            family_name: r.family_name.as_ref().map(|n| n.as_str().to_owned()),
            date_of_birth: r.date_of_birth.map(|d| d.date()),
            sex: r.sex.map(|s| s.as_str().to_owned()),
            postcode: r.postcode.as_ref().map(|p| p.as_str().to_owned()),
            address: r.address.clone(),
            phone: r.phone.clone(),
        };
        if !warmed {
            // The first check touches the index's memory for the first time; not a user's wait.
            index.check(&person, &model, settings.review, 10);
            warmed = true;
        }
        let t = Instant::now();
        let hits = index.check(&person, &model, settings.review, 10);
        let took = t.elapsed();
        total += took;
        hist.record(took.as_micros().max(1) as u64)?;
        match hits.first().and_then(|(pos, s)| Some((index.key(*pos)?, s))) {
            Some((k, s)) => println!(
                "{}\t{k}\t{:.4}\t{} candidates\t{:.3} ms",
                r.record_id,
                s.probability,
                hits.len(),
                took.as_secs_f64() * 1e3
            ),
            None => println!("{}\tno match\t\t0 candidates", r.record_id),
        }
    }
    let n = rows.len().max(1) as f64;
    println!(
        "queries={} mean_ms={:.3} p50_ms={:.3} p99_ms={:.3} index_build_ms={:.0}",
        rows.len(),
        total.as_secs_f64() * 1e3 / n,
        hist.value_at_quantile(0.5) as f64 / 1e3,
        hist.value_at_quantile(0.99) as f64 / 1e3,
        build.as_secs_f64() * 1e3
    );
    Ok(())
}

/// Ground truth: record → entity.
fn parse_labels(path: &Path, text: &str) -> Result<HashMap<RecordRef, String>> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    if header != ["source", "record_id", "entity_id"] {
        bail!("{}:1: the header must be `source,record_id,entity_id` (found `{}`)", path.display(), header.join(","));
    }
    let mut truth = HashMap::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("{}:{line}: not CSV", path.display()))?;
        let (Some(source), Some(record_id), Some(entity)) = (row.get(0), row.get(1), row.get(2)) else {
            bail!("{}:{line}: needs three fields", path.display());
        };
        if source.is_empty() || record_id.is_empty() || entity.is_empty() {
            bail!("{}:{line}: source, record_id and entity_id are all required", path.display());
        }
        let key = RecordRef { source: source.to_owned(), record_id: record_id.to_owned() };
        if truth.insert(key, entity.to_owned()).is_some() {
            bail!("{}:{line}: {source}/{record_id} is labelled twice", path.display());
        }
    }
    Ok(truth)
}

async fn evaluate(store: &Store, truth: &HashMap<RecordRef, String>) -> Result<()> {
    let (keys, nums): (Vec<RecordRef>, Vec<i64>) = store
        .person_index()
        .await?
        .into_iter()
        .map(|(source, p)| (RecordRef { source, record_id: p.record_id }, p.num))
        .unzip();
    let run = store.latest_finished_run().await?;
    let clusters = frontdoor_web::records::clusters(store, run.as_deref(), &keys, &nums).await?.cluster;
    let mut entities: HashMap<&str, u64> = HashMap::new();
    let labels: Vec<Option<u64>> = keys
        .iter()
        .map(|k| {
            truth.get(k).map(|e| {
                let next = entities.len() as u64;
                *entities.entry(e.as_str()).or_insert(next)
            })
        })
        .collect();
    let labelled = labels.iter().filter(|l| l.is_some()).count();
    let missing = truth.len() - labelled;
    if missing > 0 {
        eprintln!("warning: {missing} labelled records are not in the index (left out of the scores)");
    }
    if run.is_none() && !keys.is_empty() {
        eprintln!("warning: the index has not been deduplicated yet; run `frontdoor link dedupe` first");
    }
    let s = frontdoor_link::pairwise(&clusters, &labels);
    println!("records in the index: {}, labelled: {labelled}", keys.len());
    println!("pairs: {} predicted, {} true, {} correct", s.predicted_pairs, s.true_pairs, s.true_positives);
    println!("precision={:.3} recall={:.3} f1={:.3}", s.precision(), s.recall(), s.f1());
    Ok(())
}

pub fn synth(cmd: SynthCommand) -> Result<()> {
    let SynthCommand::People { seed, records, out, as_of } = cmd;
    // About 2.3 records per child at the default mix of sources.
    let children = (records as f64 / 2.3).ceil() as usize;
    let today = as_of.unwrap_or_else(|| Utc::now().date_naive());
    let pb = spinner(&format!("generating about {records} records"));
    let b = frontdoor_synth::generate(seed, today, &frontdoor_synth::Params { children, contacts: 0, years: 1 });
    pb.finish_and_clear();
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut files: BTreeMap<&str, csv::Writer<Vec<u8>>> = BTreeMap::new();
    for r in &b.person_records {
        let w = match files.entry(r.source.as_str()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(frontdoor_link::CANONICAL_HEADER.split(','))?;
                e.insert(w)
            }
        };
        let dob = r.date_of_birth.map(|d| d.to_string()).unwrap_or_default();
        w.write_record([
            r.record_id.as_str(),
            r.given_name.as_deref().unwrap_or(""),
            r.family_name.as_deref().unwrap_or(""),
            &dob,
            r.sex.map(|s| s.as_str()).unwrap_or(""),
            r.postcode.as_deref().unwrap_or(""),
            r.address.as_deref().unwrap_or(""),
            r.phone.as_deref().unwrap_or(""),
        ])?;
    }
    let sources = files.len();
    for (name, w) in files {
        let path = out.join(format!("{name}.csv"));
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error()))?;
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    std::fs::write(out.join("labels.csv"), frontdoor_synth::labels_csv(&b))
        .with_context(|| format!("cannot write {}", out.join("labels.csv").display()))?;
    let twins = b.children.iter().filter(|c| c.twin_of.is_some()).count() / 2;
    println!(
        "wrote {} records of {} children ({twins} twin pairs) in {} sources to {} (+ labels.csv)",
        b.person_records.len(),
        b.children.len(),
        sources,
        out.display()
    );
    Ok(())
}
