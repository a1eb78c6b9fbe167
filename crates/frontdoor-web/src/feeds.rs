//! Machine feeds (SPEC F1): CSV files of police missing-person, school absence, helpline and
//! sexual-health service notifications, parsed into contact drafts ready for intake.
//!
//! A feed import is all-or-nothing per file: [`parse_feed`] returns every row, or — when any
//! row (or the header) is bad — nothing but every rejection, each naming the line in the file,
//! the column and what is wrong, so the sender fixes the file in one go and sends it again.
//! Pure: no I/O, no store. The columns and formats are described in `docs/feeds.md`.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use frontdoor_core::contact::{ChildDraft, ContactDraft, FieldError};
use frontdoor_core::values::Channel;
use frontdoor_screen::protocol::ProtocolSet;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

pub use frontdoor_core::{SexualHealthService, Signal};

/// The most data rows one file may hold; a larger export is split into several files.
pub const MAX_ROWS: usize = 10_000;

/// The child columns every feed has.
const CHILD_COLUMNS: [Column; 5] = [
    Column::required("given_name"),
    Column::required("family_name"),
    Column::optional("date_of_birth"),
    Column::optional("sex"),
    Column::optional("postcode"),
];

/// One column of a feed and whether it must be present (in the header, and filled in each row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub required: bool,
}

impl Column {
    const fn required(name: &'static str) -> Column {
        Column { name, required: true }
    }
    const fn optional(name: &'static str) -> Column {
        Column { name, required: false }
    }
}

/// Which machine feed a file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    PoliceMissing,
    SchoolAbsence,
    Helpline,
    SexualHealth,
}

impl FeedKind {
    pub const ALL: [FeedKind; 4] =
        [FeedKind::PoliceMissing, FeedKind::SchoolAbsence, FeedKind::Helpline, FeedKind::SexualHealth];

    /// The name in the URL (`/api/v1/feeds/{kind}`) and on the command line (`--kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::PoliceMissing => "police_missing",
            FeedKind::SchoolAbsence => "school_absence",
            FeedKind::Helpline => "helpline",
            FeedKind::SexualHealth => "sexual_health",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FeedKind::PoliceMissing => "Police missing-person notifications",
            FeedKind::SchoolAbsence => "School absence notifications",
            FeedKind::Helpline => "Helpline notifications",
            FeedKind::SexualHealth => "Sexual-health service notifications",
        }
    }

    pub fn parse(raw: &str) -> Option<FeedKind> {
        let raw = raw.trim();
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// The DfE contact source code every contact from this feed carries.
    pub fn source_code(self) -> &'static str {
        match self {
            FeedKind::PoliceMissing => "6",
            FeedKind::SchoolAbsence => "2A",
            FeedKind::Helpline => "8",
            FeedKind::SexualHealth => "3F",
        }
    }

    /// Every column this feed takes, in the order `docs/feeds.md` lists them.
    pub fn columns(self) -> Vec<Column> {
        let own: &[Column] = match self {
            FeedKind::PoliceMissing => &[
                Column::required("missing_from"),
                Column::optional("returned_at"),
                Column::optional("police_reference"),
                Column::optional("details"),
            ],
            FeedKind::SchoolAbsence => &[
                Column::optional("school"),
                Column::required("days_absent"),
                Column::optional("absent_since"),
                Column::optional("details"),
            ],
            FeedKind::Helpline => &[Column::optional("call_type"), Column::required("details")],
            FeedKind::SexualHealth => {
                &[Column::required("service"), Column::required("occurred_on"), Column::optional("details")]
            }
        };
        CHILD_COLUMNS.iter().chain(own).copied().collect()
    }

    /// The column holding the time of the event, which becomes the contact's `received_at`
    /// (the helpline's contacts are received when imported).
    fn event_column(self) -> Option<&'static str> {
        match self {
            FeedKind::PoliceMissing => Some("missing_from"),
            FeedKind::SchoolAbsence => Some("absent_since"),
            FeedKind::Helpline => None,
            FeedKind::SexualHealth => Some("occurred_on"),
        }
    }

    /// The column a protocol question's answer came from, to name it in a rejection.
    fn answer_column(self, question: &str) -> Option<&'static str> {
        match (self, question) {
            (FeedKind::PoliceMissing, "returned" | "overnight") => Some("returned_at"),
            (FeedKind::PoliceMissing, "last_seen") => Some("missing_from"),
            (FeedKind::SchoolAbsence, "days_unauthorised") => Some("days_absent"),
            (FeedKind::SchoolAbsence, "first_day_absent") => Some("absent_since"),
            (FeedKind::SexualHealth, "sexual_activity") => Some("service"),
            (FeedKind::Helpline, _) => Some("call_type"),
            _ => None,
        }
    }
}

impl fmt::Display for FeedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a row tells beyond its child and narrative: the facts the alert rules (F4) count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeedFacts {
    Missing { missing_from: DateTime<Utc>, returned_at: Option<DateTime<Utc>> },
    Absence { days_absent: u32 },
    Helpline,
    SexualHealth { service: SexualHealthService, occurred_on: NaiveDate },
}

impl FeedFacts {
    /// The signal intake records with the contact (`intake::record_contact_with`); a helpline
    /// notification brings none.
    pub fn signal(&self) -> Option<Signal> {
        match self {
            FeedFacts::Missing { .. } => Some(Signal::MissingEpisode),
            FeedFacts::Absence { days_absent } => Some(Signal::SchoolAbsence { days_absent: *days_absent }),
            FeedFacts::Helpline => None,
            FeedFacts::SexualHealth { service, .. } => Some(Signal::SexualHealth { service: *service }),
        }
    }
}

/// One good row: the contact it becomes and the facts it brings.
#[derive(Debug, Clone)]
pub struct FeedRow {
    /// The line of the file the row starts on (the header is line 1).
    pub line: usize,
    /// Its `call_type` and `answers` are set too (the same as the fields below).
    pub draft: ContactDraft,
    pub call_type: String,
    /// Keyed by the protocol's question ids.
    pub answers: Value,
    pub facts: FeedFacts,
}

/// Why a file was refused: the line (where the row starts; the header is line 1), the column
/// (empty when the problem is the whole row or file) and a message safe to show the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedRejection {
    pub line: usize,
    pub column: String,
    pub message: String,
}

impl FeedRejection {
    fn new(line: usize, column: &str, message: impl Into<String>) -> FeedRejection {
        FeedRejection { line, column: column.to_owned(), message: message.into() }
    }
}

impl fmt::Display for FeedRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
        }
    }
}

/// Parses a whole feed file. All-or-nothing: `Ok` holds every data row; `Err` holds every
/// problem found (header, rows, limits) and no row is to be imported. `now` is the import time:
/// dates must not be after it, and helpline contacts are received at it.
///
/// Before recording anything the caller also runs [`check_protocols`] against the front door's
/// protocols (a helpline row names its call type; an authority may edit a question's range),
/// so the import stays all-or-nothing.
pub fn parse_feed(kind: FeedKind, csv_text: &str, now: DateTime<Utc>) -> Result<Vec<FeedRow>, Vec<FeedRejection>> {
    // Spreadsheet programs often save UTF-8 with a byte-order mark.
    let text = csv_text.strip_prefix('\u{feff}').unwrap_or(csv_text);
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        None => {
            return Err(vec![FeedRejection::new(1, "", format!("the file is empty; {}", expected_header(kind)))]);
        }
        Some(Err(e)) => return Err(vec![csv_error(&e)]),
        Some(Ok(record)) => record,
    };
    let header_line = line_of(&header);
    let columns = read_header(kind, &header, header_line)?;

    let mut rows = Vec::new();
    let mut rejections = Vec::new();
    let mut count = 0usize;
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                rejections.push(csv_error(&e));
                continue;
            }
        };
        let line = line_of(&record);
        // A line of nothing but separators carries nothing; it is skipped like a blank line.
        if record.iter().all(str::is_empty) {
            continue;
        }
        count += 1;
        if count > MAX_ROWS {
            rejections.push(FeedRejection::new(
                line,
                "",
                format!("a feed file holds at most {MAX_ROWS} rows; split the file and send each part"),
            ));
            break;
        }
        if record.len() != columns.len() {
            rejections.push(FeedRejection::new(
                line,
                "",
                format!("has {} fields but the header has {}", record.len(), columns.len()),
            ));
            continue;
        }
        let values: BTreeMap<&str, &str> =
            columns.iter().zip(record.iter()).filter(|(_, v)| !v.is_empty()).map(|(c, v)| (*c, v)).collect();
        match parse_row(kind, line, &values, now) {
            Ok(row) => rows.push(row),
            Err(mut bad) => {
                // In the order of the file's columns, as the sender reads the row.
                bad.sort_by_key(|r| columns.iter().position(|c| *c == r.column));
                rejections.append(&mut bad);
            }
        }
    }
    if rejections.is_empty() && count == 0 {
        rejections.push(FeedRejection::new(header_line, "", "the file has a header but no rows"));
    }
    if rejections.is_empty() { Ok(rows) } else { Err(rejections) }
}

/// Checks each row's call type and answers against the protocols intake will apply, naming the
/// row and the column the answer came from. Run it on every row before recording any.
pub fn check_protocols(kind: FeedKind, rows: &[FeedRow], protocols: &ProtocolSet) -> Result<(), Vec<FeedRejection>> {
    let mut rejections = Vec::new();
    for row in rows {
        let Some(protocol) = protocols.get(&row.call_type) else {
            let column = if kind == FeedKind::Helpline { "call_type" } else { "" };
            let known = protocols.ids().collect::<Vec<_>>().join(", ");
            rejections.push(FeedRejection::new(
                row.line,
                column,
                format!("call type `{}` is not one of this front door's: {known}", row.call_type),
            ));
            continue;
        };
        if let Err(errors) = protocol.parse_answers(&row.answers) {
            for FieldError { field, message } in errors {
                let question = field.strip_prefix("answers.").unwrap_or(&field);
                let column = kind.answer_column(question).unwrap_or("");
                let message = if kind == FeedKind::Helpline && message == "is required" {
                    format!(
                        "call type `{}` requires an answer to `{question}`, which a helpline notification cannot \
                         give; use a call type whose questions are all optional, such as general_advice",
                        protocol.id()
                    )
                } else {
                    format!("{message} (question `{question}` of call type `{}`)", protocol.id())
                };
                rejections.push(FeedRejection::new(row.line, column, message));
            }
        }
    }
    if rejections.is_empty() { Ok(()) } else { Err(rejections) }
}

/// The line a record starts on (1 for the header); csv counts lines inside quoted fields.
fn line_of(record: &csv::StringRecord) -> usize {
    record.position().map_or(1, |p| usize::try_from(p.line()).unwrap_or(usize::MAX))
}

fn csv_error(e: &csv::Error) -> FeedRejection {
    let line = e.position().map_or(1, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
    FeedRejection::new(line, "", format!("cannot be read as CSV: {e}"))
}

fn expected_header(kind: FeedKind) -> String {
    let names: Vec<_> = kind.columns().iter().map(|c| c.name).collect();
    format!("the first line must name the columns, e.g. {}", names.join(","))
}

/// The header's column names, or every problem with it (all on its line).
fn read_header(kind: FeedKind, header: &csv::StringRecord, line: usize) -> Result<Vec<&str>, Vec<FeedRejection>> {
    let known = kind.columns();
    let mut rejections = Vec::new();
    let mut seen = HashSet::new();
    for name in header.iter() {
        if name.is_empty() {
            rejections.push(FeedRejection::new(line, "", "a column has no name"));
        } else if !known.iter().any(|c| c.name == name) {
            let names: Vec<_> = known.iter().map(|c| c.name).collect();
            rejections.push(FeedRejection::new(
                line,
                name,
                format!("is not a column of the {} feed (its columns: {})", kind.as_str(), names.join(", ")),
            ));
        } else if !seen.insert(name) {
            rejections.push(FeedRejection::new(line, name, "is named twice"));
        }
    }
    for column in known.iter().filter(|c| c.required && !seen.contains(c.name)) {
        rejections.push(FeedRejection::new(line, column.name, "is a required column but the header lacks it"));
    }
    if rejections.is_empty() { Ok(header.iter().collect()) } else { Err(rejections) }
}

/// Collects a row's rejections, keeping the first for each column (a column already refused by
/// the feed's own checks is not refused again by the contact's).
struct RowProblems {
    line: usize,
    found: Vec<FeedRejection>,
    columns: BTreeSet<String>,
}

impl RowProblems {
    fn add(&mut self, column: &str, message: impl Into<String>) {
        if self.columns.insert(column.to_owned()) {
            self.found.push(FeedRejection::new(self.line, column, message));
        }
    }
    fn has(&self, column: &str) -> bool {
        self.columns.contains(column)
    }
}

/// What the kind-specific columns of one row parsed into.
struct Parsed {
    facts: FeedFacts,
    received_at: Option<DateTime<Utc>>,
    summary: String,
    call_type: String,
    answers: Map<String, Value>,
}

fn parse_row(
    kind: FeedKind,
    line: usize,
    values: &BTreeMap<&str, &str>,
    now: DateTime<Utc>,
) -> Result<FeedRow, Vec<FeedRejection>> {
    let mut problems = RowProblems { line, found: Vec::new(), columns: BTreeSet::new() };
    let get = |column: &str| values.get(column).copied();
    let parsed = match kind {
        FeedKind::PoliceMissing => police_missing(get, now, &mut problems),
        FeedKind::SchoolAbsence => school_absence(get, now, &mut problems),
        FeedKind::Helpline => helpline(get, now, &mut problems),
        FeedKind::SexualHealth => sexual_health(get, now, &mut problems),
    };
    let details = get("details");
    if kind == FeedKind::Helpline && details.is_none() {
        problems.add("details", "is required: say what the helpline was told");
    }
    let narrative = match (details, &parsed) {
        // The police reference is kept whatever the narrative, so the episode can be traced.
        (Some(d), Some(_)) if kind == FeedKind::PoliceMissing && get("police_reference").is_some() => {
            format!("{d}\n\nPolice reference: {}.", get("police_reference").unwrap_or_default())
        }
        (Some(d), _) => d.to_owned(),
        (None, Some(p)) => p.summary.clone(),
        // The row is refused anyway; a stand-in keeps the contact's own checks on the other columns.
        (None, None) => "(not parsed)".to_owned(),
    };
    let draft = ContactDraft {
        channel: Channel::Feed.as_str().to_owned(),
        source_code: kind.source_code().to_owned(),
        child: ChildDraft {
            given_name: get("given_name").unwrap_or_default().to_owned(),
            family_name: get("family_name").unwrap_or_default().to_owned(),
            date_of_birth: get("date_of_birth").map(str::to_owned),
            sex: get("sex").map(str::to_owned),
            postcode: get("postcode").map(str::to_owned),
        },
        narrative,
        received_at: parsed.as_ref().and_then(|p| p.received_at).map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        call_type: parsed.as_ref().map(|p| p.call_type.clone()),
        answers: parsed.as_ref().map(|p| Value::Object(p.answers.clone())),
        ..Default::default()
    };
    if let Err(e) = draft.parse(now) {
        for FieldError { field, message } in e.0 {
            let column = match field.as_str() {
                "narrative" => "details",
                "received_at" => kind.event_column().unwrap_or(""),
                other => other.strip_prefix("child.").unwrap_or(""),
            };
            problems.add(column, message);
        }
    }
    match parsed {
        Some(p) if problems.found.is_empty() => {
            Ok(FeedRow { line, draft, call_type: p.call_type, answers: Value::Object(p.answers), facts: p.facts })
        }
        _ => Err(problems.found),
    }
}

/// A date written YYYY-MM-DD, from 1900 up to `today`.
fn parse_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, &'static str> {
    let d = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| "must be a date written YYYY-MM-DD")?;
    // chrono accepts "2026-1-5"; only the canonical form is unambiguous.
    if d.format("%Y-%m-%d").to_string() != raw {
        return Err("must be a date written YYYY-MM-DD");
    }
    if d > today {
        return Err("must not be in the future");
    }
    if d < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN) {
        return Err("must not be before 1900");
    }
    Ok(d)
}

/// A time in RFC 3339 (`2026-11-20T21:00:00Z`, any offset) or `YYYY-MM-DD HH:MM`, taken as UTC;
/// from 1900 up to `now`. Kept in the offset it was written in (its date is the sender's date).
fn parse_time(raw: &str, now: DateTime<Utc>) -> Result<DateTime<FixedOffset>, &'static str> {
    const FORMAT: &str = "must be a date and time in RFC 3339 (2026-11-20T21:00:00Z) or written YYYY-MM-DD HH:MM (UTC)";
    let t = match DateTime::parse_from_rfc3339(raw) {
        Ok(t) => t,
        Err(_) => {
            let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M").map_err(|_| FORMAT)?;
            if naive.format("%Y-%m-%d %H:%M").to_string() != raw {
                return Err(FORMAT);
            }
            naive.and_utc().fixed_offset()
        }
    };
    if t.with_timezone(&Utc) > now {
        return Err("must not be in the future");
    }
    if t.date_naive() < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN) {
        return Err("must not be before 1900");
    }
    Ok(t)
}

/// A short identifier or name on one line (a police reference, a school's name).
fn one_line(raw: &str, max: usize) -> Result<&str, String> {
    if raw.chars().count() > max || raw.chars().any(char::is_control) {
        Err(format!("must be at most {max} characters on one line"))
    } else {
        Ok(raw)
    }
}

fn utc_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn police_missing<'v>(
    get: impl Fn(&str) -> Option<&'v str>,
    now: DateTime<Utc>,
    problems: &mut RowProblems,
) -> Option<Parsed> {
    let missing_from = match get("missing_from").map(|raw| parse_time(raw, now)) {
        None => {
            problems.add("missing_from", "is required: when the child went missing");
            None
        }
        Some(Err(e)) => {
            problems.add("missing_from", e);
            None
        }
        Some(Ok(t)) => Some(t),
    };
    let returned_at = match get("returned_at").map(|raw| parse_time(raw, now)).transpose() {
        Err(e) => {
            problems.add("returned_at", e);
            None
        }
        Ok(t) => Some(t),
    };
    if let (Some(from), Some(Some(back))) = (missing_from, returned_at)
        && back < from
    {
        problems.add("returned_at", format!("must not be before missing_from ({})", utc_text(from.to_utc())));
    }
    let reference = get("police_reference").map(|r| one_line(r, 64));
    if let Some(Err(e)) = &reference {
        problems.add("police_reference", e.clone());
    }
    if problems.has("returned_at") || problems.has("police_reference") {
        return None;
    }
    let (missing_from, returned_at) = (missing_from?, returned_at?);
    let from_utc = missing_from.to_utc();
    let back_utc = returned_at.map(|t| t.to_utc());
    let reference = reference.and_then(Result::ok);
    let summary = format!(
        "Police missing-person notification{}: missing from {}, {}.",
        reference.map(|r| format!(" {r}")).unwrap_or_default(),
        utc_text(from_utc),
        back_utc.map_or("no return reported".to_owned(), |t| format!("returned {}", utc_text(t)))
    );
    // missing_child's questions the notification answers. A police missing-person notification
    // records the child as missing (not "absent"); "last seen" is when the episode began;
    // "overnight" is known only once the child is back (the episode crossed midnight, in the
    // offset the police wrote).
    let mut answers = Map::new();
    answers.insert("police_category".into(), json!("missing"));
    answers.insert("returned".into(), json!(returned_at.is_some()));
    answers.insert("last_seen".into(), json!(missing_from.date_naive().format("%Y-%m-%d").to_string()));
    if let Some(back) = returned_at {
        let overnight = back.with_timezone(missing_from.offset()).date_naive() > missing_from.date_naive();
        answers.insert("overnight".into(), json!(overnight));
    }
    Some(Parsed {
        facts: FeedFacts::Missing { missing_from: from_utc, returned_at: back_utc },
        received_at: Some(from_utc),
        summary,
        call_type: "missing_child".into(),
        answers,
    })
}

fn school_absence<'v>(
    get: impl Fn(&str) -> Option<&'v str>,
    now: DateTime<Utc>,
    problems: &mut RowProblems,
) -> Option<Parsed> {
    const DAYS: &str = "must be a whole number of days from 1 to 365";
    let days_absent = match get("days_absent").map(str::parse::<u32>) {
        None => {
            problems.add("days_absent", format!("is required: {DAYS}"));
            None
        }
        Some(Ok(n)) if (1..=365).contains(&n) => Some(n),
        Some(_) => {
            problems.add("days_absent", DAYS);
            None
        }
    };
    let absent_since = match get("absent_since").map(|raw| parse_date(raw, now.date_naive())).transpose() {
        Err(e) => {
            problems.add("absent_since", e);
            None
        }
        Ok(d) => Some(d),
    };
    let school = get("school").map(|s| one_line(s, 200));
    if let Some(Err(e)) = &school {
        problems.add("school", e.clone());
    }
    if problems.has("school") {
        return None;
    }
    let (days_absent, absent_since) = (days_absent?, absent_since?);
    let school = school.and_then(Result::ok);
    let summary = format!(
        "School absence notification{}: {days_absent} {} absent{}.",
        school.map(|s| format!(" from {s}")).unwrap_or_default(),
        if days_absent == 1 { "day" } else { "days" },
        absent_since.map(|d| format!(" since {}", d.format("%Y-%m-%d"))).unwrap_or_default()
    );
    // school_absence's questions: the days are unauthorised absence (what schools must report);
    // whether they were continuous the notification does not say.
    let mut answers = Map::new();
    answers.insert("days_unauthorised".into(), json!(days_absent));
    if let Some(d) = absent_since {
        answers.insert("first_day_absent".into(), json!(d.format("%Y-%m-%d").to_string()));
    }
    Some(Parsed {
        facts: FeedFacts::Absence { days_absent },
        received_at: Some(absent_since.map_or(now, |d| d.and_time(chrono::NaiveTime::MIN).and_utc())),
        summary,
        call_type: "school_absence".into(),
        answers,
    })
}

fn helpline<'v>(
    get: impl Fn(&str) -> Option<&'v str>,
    now: DateTime<Utc>,
    problems: &mut RowProblems,
) -> Option<Parsed> {
    let call_type = get("call_type").unwrap_or(crate::screening::DEFAULT_CALL_TYPE);
    let well_formed = (1..=64).contains(&call_type.len())
        && call_type.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        problems.add("call_type", "must be a call type (protocol id) such as general_advice or cse_concern");
        return None;
    }
    Some(Parsed {
        facts: FeedFacts::Helpline,
        received_at: Some(now),
        // `details` is required for the helpline and is always the narrative.
        summary: String::new(),
        call_type: call_type.to_owned(),
        answers: Map::new(),
    })
}

fn sexual_health<'v>(
    get: impl Fn(&str) -> Option<&'v str>,
    now: DateTime<Utc>,
    problems: &mut RowProblems,
) -> Option<Parsed> {
    let service = match get("service").map(|s| (s, SexualHealthService::parse(s))) {
        None => {
            problems.add("service", format!("is required: one of {}", SexualHealthService::expected()));
            None
        }
        Some((_, Some(s))) => Some(s),
        Some((raw, None)) => {
            let shown: String = raw.chars().take(40).collect();
            problems.add("service", format!("{shown:?} is not one of {}", SexualHealthService::expected()));
            None
        }
    };
    let occurred_on = match get("occurred_on").map(|raw| parse_date(raw, now.date_naive())) {
        None => {
            problems.add("occurred_on", "is required: the date of the service, YYYY-MM-DD");
            None
        }
        Some(Err(e)) => {
            problems.add("occurred_on", e);
            None
        }
        Some(Ok(d)) => Some(d),
    };
    let (service, occurred_on) = (service?, occurred_on?);
    let what = match service {
        SexualHealthService::EmergencyContraception => "emergency contraception",
        SexualHealthService::CondomCard => "condom card use",
    };
    let summary = format!("Sexual health service notification: {what} on {}.", occurred_on.format("%Y-%m-%d"));
    // cse_concern (see docs/feeds.md): a notification is not a disclosure, and the protocol
    // requires that answer; emergency contraception means the child is sexually active (so an
    // under-13 goes straight to level 4), a condom card alone does not establish it.
    let mut answers = Map::new();
    answers.insert("disclosure".into(), json!(false));
    if service == SexualHealthService::EmergencyContraception {
        answers.insert("sexual_activity".into(), json!(true));
    }
    Some(Parsed {
        facts: FeedFacts::SexualHealth { service, occurred_on },
        received_at: Some(occurred_on.and_time(chrono::NaiveTime::MIN).and_utc()),
        summary,
        call_type: "cse_concern".into(),
        answers,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use frontdoor_screen::lexicon::IndicatorGroup;
    use std::sync::OnceLock;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z").unwrap().to_utc()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// The protocols as shipped in `config/protocols/`.
    fn shipped() -> &'static ProtocolSet {
        static SET: OnceLock<ProtocolSet> = OnceLock::new();
        SET.get_or_init(|| {
            let groups: Vec<&str> = IndicatorGroup::ALL.iter().map(|g| g.as_str()).collect();
            match ProtocolSet::load_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/protocols"), &groups) {
                Ok(set) => set,
                Err(e) => panic!("the shipped protocols do not load:\n{e}"),
            }
        })
    }

    /// Parses a file that must be good, and checks every row against the shipped protocols the
    /// way intake will.
    fn good(kind: FeedKind, text: &str) -> Vec<FeedRow> {
        let rows = match parse_feed(kind, text, now()) {
            Ok(rows) => rows,
            Err(e) => panic!("refused: {}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")),
        };
        check_protocols(kind, &rows, shipped()).unwrap();
        for row in &rows {
            let protocol = shipped().get(&row.call_type).unwrap();
            protocol.parse_answers(&row.answers).unwrap();
            assert_eq!(row.draft.call_type.as_deref(), Some(row.call_type.as_str()));
            assert_eq!(row.draft.answers.as_ref(), Some(&row.answers));
            assert_eq!(row.draft.channel, "feed");
            assert_eq!(row.draft.source_code, kind.source_code());
            row.draft.parse(now()).unwrap();
        }
        rows
    }

    /// Parses a file that must be refused; the rejections as `(line, column)`.
    fn bad(kind: FeedKind, text: &str) -> Vec<(usize, String)> {
        match parse_feed(kind, text, now()) {
            Ok(rows) => panic!("accepted {} rows", rows.len()),
            Err(e) => e.into_iter().map(|r| (r.line, r.column)).collect(),
        }
    }

    fn lc(line: usize, column: &str) -> (usize, String) {
        (line, column.to_owned())
    }

    fn messages(kind: FeedKind, text: &str) -> Vec<String> {
        parse_feed(kind, text, now()).unwrap_err().iter().map(ToString::to_string).collect()
    }

    const POLICE_HEADER: &str =
        "given_name,family_name,date_of_birth,sex,postcode,missing_from,returned_at,police_reference,details";

    #[test]
    fn a_good_police_file() {
        let text = format!(
            "{POLICE_HEADER}\n\
             Amy,Test,2012-05-01,F,tf3 4aa,2026-11-20 21:00,2026-11-21T09:00:00Z,PM/123,\n\
             Ben,Other,,,,2026-11-27T18:30:00+00:00,,PM/124,Left the children's home after an argument.\n\
             Cal,Third,,,,2026-11-26 10:00,2026-11-26 15:00,,\n"
        );
        let rows = good(FeedKind::PoliceMissing, &text);
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 4]);
        let amy = &rows[0];
        assert_eq!(amy.call_type, "missing_child");
        assert_eq!(
            amy.facts,
            FeedFacts::Missing {
                missing_from: at("2026-11-20T21:00:00Z"),
                returned_at: Some(at("2026-11-21T09:00:00Z"))
            }
        );
        assert_eq!(amy.facts.signal(), Some(Signal::MissingEpisode));
        assert_eq!(
            amy.draft.narrative,
            "Police missing-person notification PM/123: missing from 2026-11-20 21:00 UTC, returned 2026-11-21 \
             09:00 UTC."
        );
        assert_eq!(amy.draft.received_at.as_deref(), Some("2026-11-20T21:00:00Z"));
        assert_eq!(
            amy.answers,
            json!({"police_category": "missing", "returned": true, "last_seen": "2026-11-20", "overnight": true})
        );
        let child = amy.draft.parse(now()).unwrap().child;
        assert_eq!(child.postcode.unwrap().as_str(), "TF3 4AA");
        // Details are the narrative; the police reference is kept with them.
        let ben = &rows[1];
        assert_eq!(ben.draft.narrative, "Left the children's home after an argument.\n\nPolice reference: PM/124.");
        assert_eq!(ben.answers, json!({"police_category": "missing", "returned": false, "last_seen": "2026-11-27"}));
        assert_eq!(ben.facts, FeedFacts::Missing { missing_from: at("2026-11-27T18:30:00Z"), returned_at: None });
        // Back the same day: not overnight; no reference, so none in the sentence.
        let cal = &rows[2];
        assert_eq!(cal.answers["overnight"], json!(false));
        assert_eq!(
            cal.draft.narrative,
            "Police missing-person notification: missing from 2026-11-26 10:00 UTC, returned 2026-11-26 15:00 UTC."
        );
    }

    #[test]
    fn a_good_school_file() {
        let text = "given_name,family_name,school,days_absent,absent_since\n\
                    Amy,Test,,12,2026-11-01\n\
                    Ben,Other,Hill Top Academy,3,\n";
        let rows = good(FeedKind::SchoolAbsence, text);
        let amy = &rows[0];
        assert_eq!(amy.call_type, "school_absence");
        assert_eq!(amy.facts, FeedFacts::Absence { days_absent: 12 });
        assert_eq!(amy.facts.signal(), Some(Signal::SchoolAbsence { days_absent: 12 }));
        assert_eq!(amy.draft.narrative, "School absence notification: 12 days absent since 2026-11-01.");
        assert_eq!(amy.draft.received_at.as_deref(), Some("2026-11-01T00:00:00Z"));
        assert_eq!(amy.answers, json!({"days_unauthorised": 12, "first_day_absent": "2026-11-01"}));
        let ben = &rows[1];
        assert_eq!(ben.draft.narrative, "School absence notification from Hill Top Academy: 3 days absent.");
        assert_eq!(ben.draft.received_at.as_deref(), Some("2026-11-28T12:00:00Z"));
        assert_eq!(ben.answers, json!({"days_unauthorised": 3}));
    }

    #[test]
    fn a_good_helpline_file() {
        let text = "given_name,family_name,call_type,details\n\
                    Amy,Test,,Mother asked about parenting courses.\n\
                    Ben,Other,general_advice,Caller asked where to find a youth club.\n";
        let rows = good(FeedKind::Helpline, text);
        assert!(rows.iter().all(|r| r.call_type == "general_advice" && r.answers == json!({})));
        assert_eq!(rows[0].facts, FeedFacts::Helpline);
        assert_eq!(rows[0].facts.signal(), None);
        assert_eq!(rows[0].draft.narrative, "Mother asked about parenting courses.");
        assert_eq!(rows[0].draft.received_at.as_deref(), Some("2026-11-28T12:00:00Z"));
        assert_eq!(rows[0].draft.source_code, "8");
    }

    #[test]
    fn a_good_sexual_health_file() {
        let text = "given_name,family_name,date_of_birth,service,occurred_on\n\
                    Amy,Test,2012-05-01,emergency_contraception,2026-11-02\n\
                    Ben,Other,,condom_card,2026-11-28\n";
        let rows = good(FeedKind::SexualHealth, text);
        let amy = &rows[0];
        assert_eq!(amy.call_type, "cse_concern");
        assert_eq!(
            amy.facts,
            FeedFacts::SexualHealth {
                service: SexualHealthService::EmergencyContraception,
                occurred_on: date("2026-11-02")
            }
        );
        assert_eq!(
            amy.facts.signal(),
            Some(Signal::SexualHealth { service: SexualHealthService::EmergencyContraception })
        );
        assert_eq!(amy.draft.narrative, "Sexual health service notification: emergency contraception on 2026-11-02.");
        assert_eq!(amy.draft.received_at.as_deref(), Some("2026-11-02T00:00:00Z"));
        assert_eq!(amy.answers, json!({"disclosure": false, "sexual_activity": true}));
        let ben = &rows[1];
        assert_eq!(ben.draft.narrative, "Sexual health service notification: condom card use on 2026-11-28.");
        assert_eq!(ben.answers, json!({"disclosure": false}));
        assert_eq!(ben.draft.source_code, "3F");
    }

    #[test]
    fn bad_rows_anywhere_are_all_reported_and_nothing_is_returned() {
        let text = format!(
            "{POLICE_HEADER}\n\
             Amy,Test,,,,2026-11-20 21:00,,,\n\
             ,Test,2030-01-01,X,nope,2026-11-20 21:00,,,\n\
             Ben,Other,,,,2026-11-20 21:00,,,\n\
             Cal,Third,,,,yesterday,,,\n\
             Dee,Fourth,,,,,,,\n\
             Eve,Fifth,,,,2026-11-20 21:00,,,\n\
             Fay,Sixth,,,,2026-11-29 09:00,,,\n"
        );
        assert_eq!(
            bad(FeedKind::PoliceMissing, &text),
            [
                lc(3, "given_name"),
                lc(3, "date_of_birth"),
                lc(3, "sex"),
                lc(3, "postcode"),
                lc(5, "missing_from"),
                lc(6, "missing_from"),
                lc(8, "missing_from"),
            ]
        );
        let text = "given_name,family_name,days_absent\nAmy,Test,12\nBen,,0\nCal,Third,4\nDee,Fourth,\n";
        assert_eq!(
            bad(FeedKind::SchoolAbsence, text),
            [lc(3, "family_name"), lc(3, "days_absent"), lc(5, "days_absent")]
        );
    }

    #[test]
    fn every_message_names_line_and_column() {
        let text = "given_name,family_name,service,occurred_on\nAmy,Test,pill,2026-11-02\n";
        assert_eq!(
            messages(FeedKind::SexualHealth, text),
            ["line 2, column service: \"pill\" is not one of emergency_contraception, condom_card"]
        );
    }

    #[test]
    fn the_header_must_name_the_feeds_columns() {
        let text = "given_name,family_name,colour,missing_from,missing_from\nAmy,Test,red,2026-11-20 21:00,\n";
        assert_eq!(bad(FeedKind::PoliceMissing, text), [lc(1, "colour"), lc(1, "missing_from")]);
        assert_eq!(
            messages(FeedKind::PoliceMissing, text)[0],
            "line 1, column colour: is not a column of the police_missing feed (its columns: given_name, \
             family_name, date_of_birth, sex, postcode, missing_from, returned_at, police_reference, details)"
        );
        // Required columns must be there even when a row would leave them empty.
        assert_eq!(
            bad(FeedKind::SexualHealth, "given_name,service\nAmy,condom_card\n"),
            [lc(1, "family_name"), lc(1, "occurred_on")]
        );
        assert_eq!(bad(FeedKind::Helpline, "given_name,family_name,call_type\n"), [lc(1, "details")]);
    }

    #[test]
    fn empty_and_header_only_files_are_refused() {
        for text in ["", "\n\n", "\u{feff}"] {
            assert_eq!(bad(FeedKind::Helpline, text), [lc(1, "")], "{text:?}");
        }
        assert_eq!(
            messages(FeedKind::Helpline, "given_name,family_name,details\n"),
            ["line 1: the file has a header but no rows"]
        );
        assert_eq!(bad(FeedKind::Helpline, "given_name,family_name,details\n\n,,\n"), [lc(1, "")]);
    }

    #[test]
    fn a_return_before_the_episode_is_refused() {
        let text = format!("{POLICE_HEADER}\nAmy,Test,,,,2026-11-20 21:00,2026-11-20T20:59:00Z,,\n");
        assert_eq!(
            messages(FeedKind::PoliceMissing, &text),
            ["line 2, column returned_at: must not be before missing_from (2026-11-20 21:00 UTC)"]
        );
        // Offsets count: 21:30+01:00 is 20:30 UTC, before the episode began.
        let text = format!("{POLICE_HEADER}\nAmy,Test,,,,2026-11-20 21:00,2026-11-20T21:30:00+01:00,,\n");
        assert_eq!(bad(FeedKind::PoliceMissing, &text), [lc(2, "returned_at")]);
        // A time in the future is refused once, on its own column.
        let text = format!("{POLICE_HEADER}\nAmy,Test,,,,2026-11-20 21:00,2026-11-28T12:01:00Z,,\n");
        assert_eq!(messages(FeedKind::PoliceMissing, &text), ["line 2, column returned_at: must not be in the future"]);
        let text = format!("{POLICE_HEADER}\nAmy,Test,,,,2026-11-20 9:00,,,\n");
        assert_eq!(bad(FeedKind::PoliceMissing, &text), [lc(2, "missing_from")]);
    }

    #[test]
    fn days_absent_is_a_whole_number_from_1_to_365() {
        let file = |days: &str| format!("given_name,family_name,days_absent\nAmy,Test,{days}\n");
        for days in ["0", "ten", "366", "-1", "2.5", "1e3"] {
            assert_eq!(
                messages(FeedKind::SchoolAbsence, &file(days)),
                ["line 2, column days_absent: must be a whole number of days from 1 to 365"],
                "{days}"
            );
        }
        for days in ["1", "365"] {
            assert!(parse_feed(FeedKind::SchoolAbsence, &file(days), now()).is_ok(), "{days}");
        }
        let text = "given_name,family_name,days_absent,absent_since\nAmy,Test,3,2026-12-01\nBen,Other,3,1/11/2026\n";
        assert_eq!(bad(FeedKind::SchoolAbsence, text), [lc(2, "absent_since"), lc(3, "absent_since")]);
    }

    #[test]
    fn a_count_the_protocol_does_not_take_is_refused_before_anything_is_recorded() {
        // 365 is a valid feed value, but school_absence asks about at most 200 days in a term.
        let text = "given_name,family_name,days_absent\nAmy,Test,12\nBen,Other,250\n";
        let rows = parse_feed(FeedKind::SchoolAbsence, text, now()).unwrap();
        let err = check_protocols(FeedKind::SchoolAbsence, &rows, shipped()).unwrap_err();
        assert_eq!(
            err.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["line 3, column days_absent: must be at most 200 (question `days_unauthorised` of call type \
              `school_absence`)"]
        );
    }

    #[test]
    fn a_helpline_call_type_must_be_one_the_feed_can_answer() {
        let text = "given_name,family_name,call_type,details\n\
                    Amy,Test,cse_concern,Older boyfriend collects her from school.\n\
                    Ben,Other,knitting,Asked about wool.\n\
                    Cal,Third,Not An Id,Asked about a club.\n";
        assert_eq!(bad(FeedKind::Helpline, text), [lc(4, "call_type")]);
        let rows = parse_feed(FeedKind::Helpline, &text.replace("Not An Id", ""), now()).unwrap();
        let err = check_protocols(FeedKind::Helpline, &rows, shipped()).unwrap_err();
        assert_eq!(
            err.iter().map(|r| (r.line, r.column.as_str())).collect::<Vec<_>>(),
            [(2, "call_type"), (3, "call_type")]
        );
        assert!(err[0].message.contains("requires an answer to `disclosure`"), "{}", err[0].message);
        assert!(err[1].message.starts_with("call type `knitting` is not one of"), "{}", err[1].message);
        // Details are the helpline's narrative: required in every row.
        assert_eq!(bad(FeedKind::Helpline, "given_name,family_name,details\nAmy,Test,\n"), [lc(2, "details")]);
    }

    #[test]
    fn sexual_health_service_and_date() {
        let file =
            |service: &str, on: &str| format!("given_name,family_name,service,occurred_on\nAmy,Test,{service},{on}\n");
        assert_eq!(bad(FeedKind::SexualHealth, &file("pill", "2026-11-02")), [lc(2, "service")]);
        assert_eq!(
            messages(FeedKind::SexualHealth, &file("condom_card", "2026-11-29")),
            ["line 2, column occurred_on: must not be in the future"]
        );
        assert_eq!(bad(FeedKind::SexualHealth, &file("", "2026-11-2")), [lc(2, "service"), lc(2, "occurred_on")]);
    }

    #[test]
    fn quoted_fields_keep_commas_and_newlines_and_lines_stay_right() {
        let text = "given_name,family_name,details\n\
                    Amy,Test,\"Mother called, upset.\nShe said:\n\"\"he takes her in a car, at night\"\"\"\n\
                    Ben,,\"one, two\"\n\
                    Cal,Third,\"Line one\n\nline three\"\n\
                    ,Fourth,x\n";
        assert_eq!(bad(FeedKind::Helpline, text), [lc(5, "family_name"), lc(9, "given_name")]);
        let text = "given_name,family_name,details\n\
                    Amy,Test,\"Mother called, upset.\nShe said:\n\"\"he takes her in a car, at night\"\"\"\n\
                    Ben,Other,\"one, two\"\n";
        let rows = good(FeedKind::Helpline, text);
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 5]);
        assert_eq!(rows[0].draft.narrative, "Mother called, upset.\nShe said:\n\"he takes her in a car, at night\"");
        assert_eq!(rows[1].draft.narrative, "one, two");
    }

    #[test]
    fn a_byte_order_mark_and_surrounding_spaces_are_tolerated() {
        let text =
            "\u{feff}given_name , family_name,days_absent  ,absent_since\r\n  Amy  ,Test ,  12 ,2026-11-01  \r\n";
        let rows = good(FeedKind::SchoolAbsence, text);
        assert_eq!(rows[0].draft.child.given_name, "Amy");
        assert_eq!(rows[0].facts, FeedFacts::Absence { days_absent: 12 });
        assert_eq!(rows[0].answers["first_day_absent"], json!("2026-11-01"));
    }

    #[test]
    fn a_row_with_the_wrong_number_of_fields_is_refused() {
        let text = "given_name,family_name,details\nAmy,Test\nBen,Other,x,y\nCal,Third,fine\n";
        assert_eq!(
            messages(FeedKind::Helpline, text),
            ["line 2: has 2 fields but the header has 3", "line 3: has 4 fields but the header has 3"]
        );
    }

    #[test]
    fn a_file_of_more_than_10000_rows_is_refused() {
        let mut text = String::from("given_name,family_name,details\n");
        for _ in 0..MAX_ROWS {
            text.push_str("Amy,Test,asked for advice\n");
        }
        assert_eq!(parse_feed(FeedKind::Helpline, &text, now()).unwrap().len(), MAX_ROWS);
        text.push_str("Amy,Test,one too many\n");
        assert_eq!(
            messages(FeedKind::Helpline, &text),
            [format!("line {}: a feed file holds at most 10000 rows; split the file and send each part", MAX_ROWS + 2)]
        );
    }

    #[test]
    fn the_documented_examples_import() {
        let doc = include_str!("../../../docs/feeds.md");
        for kind in FeedKind::ALL {
            let section = doc.split(&format!("## `{kind}`")).nth(1).unwrap();
            let example = section.split("```csv\n").nth(1).unwrap().split("```").next().unwrap();
            assert!(!good(kind, example).is_empty(), "{kind}");
        }
    }

    #[test]
    fn feed_kinds_round_trip() {
        for kind in FeedKind::ALL {
            assert_eq!(FeedKind::parse(kind.as_str()), Some(kind));
            assert!(!kind.label().is_empty());
            assert!(kind.columns().iter().filter(|c| c.required).count() >= 3, "{kind}");
        }
        assert_eq!(FeedKind::parse("sexual-health"), None);
        assert_eq!(SexualHealthService::CondomCard.as_str(), "condom_card");
        assert_eq!(SexualHealthService::EmergencyContraception.as_str(), "emergency_contraception");
    }
}
