//! Follow-up audits of CSE referrals (F9, the seed's Rec 23): a random, reproducible sample
//! (10% by default) of the referrals made in a period, recorded with its seed, and the findings
//! on each sampled case.
//!
//! The sample ranks each case by SHA-256 of the seed and the case id and keeps the lowest: the
//! same period, seed and percentage draw the same cases on any machine, in any version.

use crate::service::{ServiceError, append_by};
use chrono::{DateTime, Days, NaiveDate, Utc};
use frontdoor_core::contact::FieldError;
use frontdoor_core::pathway::AuditRating;
use frontdoor_core::{Actor, AuditId, CaseId, Event, Purpose};
use frontdoor_store::{AuditRecord, Expected, Store};
use sha2::{Digest, Sha256};

/// The cases of `population` a sample of `percent` with `seed` holds (at least one when the
/// population is not empty), in id order.
pub fn sample(population: &[CaseId], seed: u64, percent: u32) -> Vec<CaseId> {
    let take = (population.len() * percent.min(100) as usize).div_ceil(100);
    let mut ranked: Vec<([u8; 32], CaseId)> = population
        .iter()
        .map(|id| {
            let mut h = Sha256::new();
            h.update(seed.to_le_bytes());
            h.update(id.to_string().as_bytes());
            (h.finalize().into(), *id)
        })
        .collect();
    ranked.sort();
    let mut chosen: Vec<CaseId> = ranked.into_iter().take(take).map(|(_, id)| id).collect();
    chosen.sort();
    chosen
}

fn period(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = from.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
    let end = (to + Days::new(1)).and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
    (start, end)
}

/// Draws and records a sample. `seed` empty: a fresh random seed (recorded, so the draw can be
/// re-run); `percent` empty: 10.
pub async fn draw(
    store: &Store,
    actor: &Actor,
    from: &str,
    to: &str,
    seed: &str,
    percent: &str,
    now: DateTime<Utc>,
) -> Result<AuditId, ServiceError> {
    let mut errors = Vec::new();
    let mut date = |field: &str, s: &str| match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        Ok(d) if d > now.date_naive() => {
            errors.push(FieldError { field: field.into(), message: "cannot be in the future".into() });
            None
        }
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError { field: field.into(), message: "a date as YYYY-MM-DD".into() });
            None
        }
    };
    let (from, to) = (date("from", from), date("to", to));
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        errors.push(FieldError { field: "to".into(), message: "must not be before from".into() });
    }
    let seed = match seed.trim() {
        "" => Some(rand::random::<u64>()),
        s => s.parse::<u64>().ok().or_else(|| {
            errors.push(FieldError { field: "seed".into(), message: "a whole number (or empty for a new one)".into() });
            None
        }),
    };
    let percent = match percent.trim() {
        "" => Some(10),
        s => s.parse::<u32>().ok().filter(|p| (1..=100).contains(p)).or_else(|| {
            errors.push(FieldError { field: "percent".into(), message: "a whole number from 1 to 100".into() });
            None
        }),
    };
    let (Some(from), Some(to), Some(seed), Some(percent)) = (from, to, seed, percent) else {
        return Err(ServiceError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    let (start, end) = period(from, to);
    let population = store.cse_cases_referred_between(start, end).await?;
    let cases = sample(&population, seed, percent);
    let audit_id = AuditId::new();
    let event = Event::AuditSampleDrawn {
        audit_id,
        from,
        to,
        seed,
        percent,
        population: u32::try_from(population.len()).unwrap_or(u32::MAX),
        cases,
    };
    append_by(store, actor, event, Expected::NoStream, Purpose::Audit, now).await?;
    Ok(audit_id)
}

/// Draws the audit's sample again from today's records: true when it is the one recorded.
pub async fn reproduces(store: &Store, audit: &AuditRecord) -> Result<bool, ServiceError> {
    let (start, end) = period(audit.from, audit.to);
    let population = store.cse_cases_referred_between(start, end).await?;
    Ok(sample(&population, audit.seed, audit.percent) == audit.cases)
}

/// Records (or revises) the finding on one sampled case.
pub async fn record_finding(
    store: &Store,
    actor: &Actor,
    audit: &AuditRecord,
    case_id: &str,
    rating: &str,
    finding: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let mut errors = Vec::new();
    let case = case_id.trim().parse::<CaseId>().ok().filter(|c| audit.cases.contains(c));
    if case.is_none() {
        errors.push(FieldError { field: "case_id".into(), message: "not a case in this audit's sample".into() });
    }
    let rating = AuditRating::parse(rating);
    if rating.is_none() {
        errors
            .push(FieldError { field: "rating".into(), message: format!("choose one of {}", AuditRating::expected()) });
    }
    let finding = finding.trim();
    if finding.is_empty() || finding.chars().count() > 5_000 {
        errors.push(FieldError {
            field: "finding".into(),
            message: "say what the audit found (at most 5,000 characters)".into(),
        });
    }
    let (Some(case_id), Some(rating)) = (case, rating) else { return Err(ServiceError::Invalid(errors)) };
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    let child_id = store.cse_case(case_id).await?.ok_or_else(|| ServiceError::NotFound("case".into()))?.child_id;
    let event =
        Event::AuditFindingRecorded { audit_id: audit.id, case_id, child_id, rating, finding: finding.to_owned() };
    append_by(store, actor, event, Expected::Any, Purpose::Audit, now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<CaseId> {
        let mut v: Vec<CaseId> = (0..n).map(|i| CaseId(uuid::Uuid::from_u128(i as u128 * 7919 + 1))).collect();
        v.sort();
        v
    }

    #[test]
    fn a_sample_is_reproducible_from_its_seed_and_about_the_percentage() {
        let pop = ids(200);
        let a = sample(&pop, 42, 10);
        assert_eq!(a.len(), 20);
        assert_eq!(a, sample(&pop, 42, 10), "same seed, same sample");
        let mut shuffled = pop.clone();
        shuffled.reverse();
        assert_eq!(a, sample(&shuffled, 42, 10), "the population's order does not matter");
        assert_ne!(a, sample(&pop, 43, 10), "another seed, another sample");
        assert_eq!(sample(&ids(3), 1, 10).len(), 1, "at least one case from a small period");
        assert!(sample(&[], 1, 10).is_empty());
        // Pinned (computed independently with Python's hashlib): the ranking must never change
        // between versions, or recorded audits could not be re-run.
        let pinned = |i: u128| CaseId(uuid::Uuid::from_u128(i * 7919 + 1));
        let mut expected = vec![pinned(6), pinned(4)];
        expected.sort();
        assert_eq!(sample(&ids(10), 7, 20), expected);
    }
}
