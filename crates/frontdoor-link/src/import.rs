//! Person records from a source system's CSV export.
//!
//! The canonical layout (no mapping file needed) has the header
//! `record_id,given_name,family_name,date_of_birth,sex,postcode,address,phone`; every field but
//! `record_id` may be empty, dates are `YYYY-MM-DD`. Any other layout is described by a mapping
//! file (TOML):
//!
//! ```toml
//! # Optional: how the export writes dates (chrono format), default "%Y-%m-%d". Above [columns].
//! date_format = "%d/%m/%Y"
//!
//! # Which column of the export holds each field (omit fields the source does not hold).
//! [columns]
//! record_id = "PersonRef"
//! given_name = "Forename"
//! family_name = "Surname"
//! date_of_birth = "DOB"
//! sex = "Gender"
//! postcode = "Post Code"
//! address = "Address Line 1"
//! phone = "Tel"
//! ```
//!
//! A file is accepted whole or not at all: every problem is reported as (line, column, message),
//! lines counted as in the file (the header is line 1).

use crate::FileError;
use chrono::NaiveDate;
use frontdoor_core::{DateOfBirth, PersonName, Postcode, Sex};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// The header of the canonical layout.
pub const CANONICAL_HEADER: &str = "record_id,given_name,family_name,date_of_birth,sex,postcode,address,phone";

/// The fields a person record holds, in canonical order.
const FIELDS: [&str; 8] =
    ["record_id", "given_name", "family_name", "date_of_birth", "sex", "postcode", "address", "phone"];

/// At most this many rows per file.
pub const MAX_ROWS: usize = 2_000_000;

/// How a source's export maps onto the person fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Field → the export's column name.
    columns: BTreeMap<&'static str, String>,
    date_format: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    columns: BTreeMap<String, String>,
    date_format: Option<String>,
}

impl Mapping {
    /// The canonical layout: each field in the column of its own name, dates `YYYY-MM-DD`.
    pub fn canonical() -> Mapping {
        Mapping { columns: FIELDS.iter().map(|f| (*f, (*f).to_owned())).collect(), date_format: "%Y-%m-%d".into() }
    }

    /// Parses a mapping file's text; errors name `file:line`.
    pub fn from_toml(file: &str, text: &str) -> Result<Mapping, FileError> {
        let err = |line: usize, message: String| FileError { file: file.to_owned(), line, message };
        let parsed: MappingFile = toml::from_str(text).map_err(|e| FileError::toml(file, text, &e))?;
        let line_of =
            |needle: &str| text.lines().position(|l| l.trim_start().starts_with(needle)).map(|i| i + 1).unwrap_or(1);
        let mut columns = BTreeMap::new();
        for (field, column) in parsed.columns {
            if field == "date_format" {
                return Err(err(line_of("date_format"), "`date_format` belongs above `[columns]`".into()));
            }
            let Some(known) = FIELDS.iter().find(|f| **f == field) else {
                return Err(err(
                    line_of(&field),
                    format!("`{field}` is not a person field (expected one of {})", FIELDS.join(", ")),
                ));
            };
            if column.trim().is_empty() {
                return Err(err(line_of(&field), format!("`{field}` names an empty column")));
            }
            columns.insert(*known, column.trim().to_owned());
        }
        if !columns.contains_key("record_id") {
            return Err(err(
                line_of("[columns]"),
                "`record_id` must be mapped: it identifies a record in its source".into(),
            ));
        }
        let date_format = parsed.date_format.unwrap_or_else(|| "%Y-%m-%d".into());
        if NaiveDate::parse_from_str("2001-02-03", "%Y-%m-%d")
            .ok()
            .map(|d| d.format(&date_format).to_string())
            .and_then(|s| NaiveDate::parse_from_str(&s, &date_format).ok())
            .is_none()
        {
            return Err(err(
                line_of("date_format"),
                format!("`{date_format}` is not a date format chrono can read back"),
            ));
        }
        Ok(Mapping { columns, date_format })
    }
}

/// One good row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    /// The line of the file the row starts on.
    pub line: usize,
    pub record_id: String,
    pub given_name: Option<PersonName>,
    pub family_name: Option<PersonName>,
    pub date_of_birth: Option<DateOfBirth>,
    pub sex: Option<Sex>,
    pub postcode: Option<Postcode>,
    pub address: Option<String>,
    pub phone: Option<String>,
}

/// Why a file was refused: where (line; the export's column, empty for the whole row) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    pub column: String,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
        }
    }
}

/// Parses a whole export. `Ok` holds every row; `Err` every problem (and nothing is to be
/// imported). `today` bounds dates of birth.
pub fn parse_people(text: &str, mapping: &Mapping, today: NaiveDate) -> Result<Vec<PersonRow>, Vec<RowError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let mut records = reader.records();
    let err = |line: usize, column: &str, message: String| RowError { line, column: column.to_owned(), message };
    let header = match records.next() {
        None => return Err(vec![err(1, "", "the file is empty".into())]),
        Some(Err(e)) => return Err(vec![err(csv_line(&e), "", e.to_string())]),
        Some(Ok(h)) => h,
    };
    let names: Vec<&str> = header.iter().collect();
    let mut index: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut errors = Vec::new();
    // In the fields' own order (record_id first), as the mapping file lists them.
    for field in FIELDS {
        let Some(column) = mapping.columns.get(field) else { continue };
        match names.iter().position(|n| n == column) {
            Some(i) => {
                index.insert(field, i);
            }
            None => errors.push(err(1, column, format!("the header has no column `{column}` (for {field})"))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(csv_line(&e), "", e.to_string()));
                continue;
            }
        };
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() + errors.len() >= MAX_ROWS {
            errors.push(err(line, "", format!("a file holds at most {MAX_ROWS} rows; split it")));
            break;
        }
        if record.len() != names.len() {
            errors.push(err(line, "", format!("has {} fields but the header has {}", record.len(), names.len())));
            continue;
        }
        let get = |field: &str| index.get(field).map(|i| &record[*i]).filter(|v| !v.is_empty());
        let column = |field: &str| mapping.columns.get(field).map(String::as_str).unwrap_or(field).to_owned();
        let mut bad = |field: &str, message: String| errors.push(err(line, &column(field), message));
        let record_id = match get("record_id") {
            None => {
                bad("record_id", "is required: it identifies the record in its source".into());
                continue;
            }
            Some(id) if id.chars().count() > 100 => {
                bad("record_id", "must be at most 100 characters".into());
                continue;
            }
            Some(id) => id.to_owned(),
        };
        if !seen.insert(record_id.clone()) {
            bad("record_id", format!("`{record_id}` appears twice in the file"));
            continue;
        }
        let mut value = |field: &str, parse: &dyn Fn(&str) -> Result<(), String>| {
            if let Some(v) = get(field)
                && let Err(m) = parse(v)
            {
                bad(field, m);
            }
        };
        value("given_name", &|v| PersonName::parse(v).map(|_| ()).map_err(|e| e.to_string()));
        value("family_name", &|v| PersonName::parse(v).map(|_| ()).map_err(|e| e.to_string()));
        value("date_of_birth", &|v| dob(v, &mapping.date_format, today).map(|_| ()));
        value("sex", &|v| Sex::parse(v).map(|_| ()).map_err(|e| e.to_string()));
        value("postcode", &|v| Postcode::parse(v).map(|_| ()).map_err(|e| e.to_string()));
        value("address", &|v| {
            if v.chars().count() > 300 { Err("must be at most 300 characters".into()) } else { Ok(()) }
        });
        value("phone", &|v| {
            let digits = v.chars().filter(char::is_ascii_digit).count();
            if (7..=15).contains(&digits) && v.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) {
                Ok(())
            } else {
                Err("is not a phone number (7 to 15 digits)".into())
            }
        });
        if errors.iter().any(|e| e.line == line) {
            continue;
        }
        rows.push(PersonRow {
            line,
            record_id,
            given_name: get("given_name").and_then(|v| PersonName::parse(v).ok()),
            family_name: get("family_name").and_then(|v| PersonName::parse(v).ok()),
            date_of_birth: get("date_of_birth").and_then(|v| dob(v, &mapping.date_format, today).ok()),
            sex: get("sex").and_then(|v| Sex::parse(v).ok()),
            postcode: get("postcode").and_then(|v| Postcode::parse(v).ok()),
            address: get("address").map(str::to_owned),
            phone: get("phone").map(str::to_owned),
        });
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

fn dob(v: &str, format: &str, today: NaiveDate) -> Result<DateOfBirth, String> {
    let d = NaiveDate::parse_from_str(v, format).map_err(|_| format!("`{v}` is not a date in the form {format}"))?;
    DateOfBirth::from_date(d, today).map_err(|e| e.to_string())
}

fn csv_line(e: &csv::Error) -> usize {
    e.position().map(|p| p.line() as usize).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    #[test]
    fn canonical_rows_parse_and_every_problem_is_named() {
        let text = format!("{CANONICAL_HEADER}\nR1,Amy,Test,2012-05-01,F,LS1 4AP,1 High St,0113 496 0000\nR2,,,,,,,\n");
        let rows = parse_people(&text, &Mapping::canonical(), today()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].postcode.as_ref().unwrap().as_str(), "LS1 4AP");
        assert_eq!(rows[1].line, 3);
        assert!(rows[1].given_name.is_none());

        let bad = format!(
            "{CANONICAL_HEADER}\nR1,Amy,Test,2030-01-01,X,nope,,12\n,Ben,Test,,,,,\nR3,Cat,Test,,,,,\nR3,Dup,Test,,,,,\n"
        );
        let errors = parse_people(&bad, &Mapping::canonical(), today()).unwrap_err();
        let got: Vec<String> = errors.iter().map(|e| format!("{}:{}", e.line, e.column)).collect();
        assert_eq!(got, ["2:date_of_birth", "2:sex", "2:postcode", "2:phone", "3:record_id", "5:record_id"]);
    }

    #[test]
    fn a_mapping_reads_other_layouts_and_its_errors_name_file_and_line() {
        let m = Mapping::from_toml(
            "police.toml",
            "date_format = \"%d/%m/%Y\"\n[columns]\nrecord_id = \"Ref\"\ngiven_name = \"Forename\"\ndate_of_birth = \"DOB\"\n",
        )
        .unwrap();
        let rows = parse_people("Ref,Forename,DOB,Other\nP-9,Amy,01/05/2012,x\n", &m, today()).unwrap();
        assert_eq!(rows[0].date_of_birth.unwrap().to_string(), "2012-05-01");
        let e = Mapping::from_toml("m.toml", "[columns]\nrecord_id = \"Ref\"\nshoe_size = \"S\"\n").unwrap_err();
        assert_eq!(e.to_string().split(':').take(2).collect::<Vec<_>>(), ["m.toml", "3"]);
        assert!(Mapping::from_toml("m.toml", "[columns]\ngiven_name = \"F\"\n").is_err());
        let missing = parse_people("Forename\nAmy\n", &m, today()).unwrap_err();
        assert_eq!(missing[0].column, "Ref");
    }
}
