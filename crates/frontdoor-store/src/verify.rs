//! `audit verify`: recompute both hash chains from the first row and report the first row that
//! does not match what was written.

use crate::chain::{self, ACCESS_DOMAIN, EVENT_DOMAIN};
use crate::db::vals;
use crate::{Store, StoreError};
use std::fmt;

/// The first place a chain stops being what was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// `events` or `access_log`.
    pub chain: &'static str,
    /// The sequence number of the first row that does not verify (or where one is missing).
    pub seq: i64,
    pub problem: String,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} chain broken at seq {}: {}", self.chain, self.seq, self.problem)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: i64,
    pub access_entries: i64,
    pub breaks: Vec<ChainBreak>,
}

impl VerifyReport {
    pub fn intact(&self) -> bool {
        self.breaks.is_empty()
    }
}

const PAGE: i64 = 5000;

impl Store {
    /// Verify both chains. Reads in pages, so memory stays flat on a large log.
    pub async fn verify_chains(&self) -> Result<VerifyReport, StoreError> {
        let mut breaks = Vec::new();
        let (events, b) = self.verify_events().await?;
        breaks.extend(b);
        let (access_entries, b) = self.verify_access().await?;
        breaks.extend(b);
        Ok(VerifyReport { events, access_entries, breaks })
    }

    async fn verify_events(&self) -> Result<(i64, Option<ChainBreak>), StoreError> {
        let mut expected_seq = 1;
        let mut prev = chain::GENESIS.to_owned();
        loop {
            let rows = self
                .read()
                .fetch_all(
                    "SELECT seq, stream, stream_version, kind, payload, actor_user, actor_agency, purpose, recorded_at, prev_hash, hash \
                     FROM events WHERE seq >= $1 ORDER BY seq LIMIT $2",
                    &vals![expected_seq, PAGE],
                )
                .await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let seq = r.int(0)?;
                let brk = |problem: String| Some(ChainBreak { chain: "events", seq, problem });
                if seq != expected_seq {
                    let problem = format!("row {expected_seq} is missing (the next row found is {seq})");
                    return Ok((expected_seq - 1, Some(ChainBreak { chain: "events", seq: expected_seq, problem })));
                }
                let (seq_s, version_s, at_s) = (seq.to_string(), r.int(2)?.to_string(), r.int(8)?.to_string());
                let (stream, kind, payload, purpose) = (r.text(1)?, r.text(3)?, r.text(4)?, r.text(7)?);
                let (actor_user, actor_agency) = (r.opt_text(5)?, r.opt_text(6)?);
                let (stored_prev, stored_hash) = (r.text(9)?, r.text(10)?);
                if stored_prev != prev {
                    return Ok((seq - 1, brk("its previous-hash does not match the row before it (a row was removed, inserted or reordered)".into())));
                }
                let h = chain::row_hash(
                    EVENT_DOMAIN,
                    &[
                        Some(&seq_s),
                        Some(&stream),
                        Some(&version_s),
                        Some(&kind),
                        Some(&payload),
                        actor_user.as_deref(),
                        actor_agency.as_deref(),
                        Some(&purpose),
                        Some(&at_s),
                        Some(&prev),
                    ],
                );
                if h != stored_hash {
                    return Ok((seq - 1, brk("its content does not match its hash (the row was edited)".into())));
                }
                prev = stored_hash;
                expected_seq += 1;
            }
        }
        let count = expected_seq - 1;
        Ok((count, self.check_head("events", "events_head", count, &prev).await?))
    }

    async fn verify_access(&self) -> Result<(i64, Option<ChainBreak>), StoreError> {
        let mut expected_seq = 1;
        let mut prev = chain::GENESIS.to_owned();
        loop {
            let rows = self
                .read()
                .fetch_all(
                    "SELECT seq, at, user_id, agency_id, action, record_type, record_id, purpose, outcome, reason, prev_hash, hash \
                     FROM access_log WHERE seq >= $1 ORDER BY seq LIMIT $2",
                    &vals![expected_seq, PAGE],
                )
                .await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let seq = r.int(0)?;
                let brk = |problem: String| Some(ChainBreak { chain: "access_log", seq, problem });
                if seq != expected_seq {
                    let problem = format!("row {expected_seq} is missing (the next row found is {seq})");
                    return Ok((
                        expected_seq - 1,
                        Some(ChainBreak { chain: "access_log", seq: expected_seq, problem }),
                    ));
                }
                let texts: Vec<String> = (2..=9).map(|i| r.text(i)).collect::<Result<_, _>>()?;
                let (seq_s, at_s) = (seq.to_string(), r.int(1)?.to_string());
                let (stored_prev, stored_hash) = (r.text(10)?, r.text(11)?);
                if stored_prev != prev {
                    return Ok((seq - 1, brk("its previous-hash does not match the row before it (a row was removed, inserted or reordered)".into())));
                }
                let mut fields: Vec<Option<&str>> = vec![Some(&seq_s), Some(&at_s)];
                fields.extend(texts.iter().map(|t| Some(t.as_str())));
                fields.push(Some(&prev));
                if chain::row_hash(ACCESS_DOMAIN, &fields) != stored_hash {
                    return Ok((seq - 1, brk("its content does not match its hash (the row was edited)".into())));
                }
                prev = stored_hash;
                expected_seq += 1;
            }
        }
        let count = expected_seq - 1;
        Ok((count, self.check_head("access_log", "access_head", count, &prev).await?))
    }

    /// The head written with each commit must match the last row, or the tail was cut off.
    async fn check_head(
        &self,
        chain: &'static str,
        key: &str,
        count: i64,
        last_hash: &str,
    ) -> Result<Option<ChainBreak>, StoreError> {
        let head = self.read().fetch_optional("SELECT value FROM meta WHERE key = $1", &vals![key]).await?;
        let Some(head) = head.map(|r| r.text(0)).transpose()? else {
            return Ok((count > 0).then(|| ChainBreak {
                chain,
                seq: count,
                problem: "the recorded chain head is missing".into(),
            }));
        };
        let (seq, hash) = head.split_once(':').unwrap_or(("", ""));
        let seq: i64 = seq.parse().unwrap_or(-1);
        if seq != count || hash != last_hash {
            return Ok(Some(ChainBreak {
                chain,
                seq: seq.max(count),
                problem: format!(
                    "the chain ends at seq {count} but its recorded head is seq {seq} (rows were removed from the end)"
                ),
            }));
        }
        Ok(None)
    }
}
