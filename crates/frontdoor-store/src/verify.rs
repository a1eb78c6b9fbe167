//! `audit verify`: recompute both hash chains from the first row and report the first row that
//! does not match what was written.

use crate::chain::{self, AccessRow, EventRow};
use crate::db::{Row, vals};
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
        const SQL: &str = "SELECT seq, prev_hash, hash, stream, stream_version, kind, payload, actor_user, actor_agency, purpose, recorded_at \
                           FROM events WHERE seq >= $1 ORDER BY seq LIMIT $2";
        self.walk_chain("events", "events_head", SQL, |r, prev| {
            let (stream, kind, payload, purpose) = (r.text(3)?, r.text(5)?, r.text(6)?, r.text(9)?);
            let (actor_user, actor_agency) = (r.opt_text(7)?, r.opt_text(8)?);
            Ok(EventRow {
                seq: r.int(0)?,
                stream: &stream,
                stream_version: r.int(4)?,
                kind: &kind,
                payload: &payload,
                actor_user: actor_user.as_deref(),
                actor_agency: actor_agency.as_deref(),
                purpose: &purpose,
                recorded_at: r.int(10)?,
                prev_hash: prev,
            }
            .hash())
        })
        .await
    }

    async fn verify_access(&self) -> Result<(i64, Option<ChainBreak>), StoreError> {
        const SQL: &str = "SELECT seq, prev_hash, hash, at, user_id, agency_id, action, record_type, record_id, purpose, outcome, reason \
                           FROM access_log WHERE seq >= $1 ORDER BY seq LIMIT $2";
        self.walk_chain("access_log", "access_head", SQL, |r, prev| {
            let t: Vec<String> = (4..=11).map(|i| r.text(i)).collect::<Result<_, _>>()?;
            Ok(AccessRow {
                seq: r.int(0)?,
                at: r.int(3)?,
                user_id: &t[0],
                agency_id: &t[1],
                action: &t[2],
                record_type: &t[3],
                record_id: &t[4],
                purpose: &t[5],
                outcome: &t[6],
                reason: &t[7],
                prev_hash: prev,
            }
            .hash())
        })
        .await
    }

    /// Walk one chain from its first row, in pages. `sql` selects `seq, prev_hash, hash, ...`;
    /// `rehash` recomputes a row's hash from its columns and the previous row's hash.
    async fn walk_chain(
        &self,
        chain: &'static str,
        head_key: &str,
        sql: &'static str,
        rehash: impl Fn(&Row, &str) -> Result<String, sqlx::Error>,
    ) -> Result<(i64, Option<ChainBreak>), StoreError> {
        let mut expected_seq = 1;
        let mut prev = chain::GENESIS.to_owned();
        loop {
            let rows = self.read().fetch_all(sql, &vals![expected_seq, PAGE]).await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let seq = r.int(0)?;
                let brk = |seq: i64, problem: String| Ok((expected_seq - 1, Some(ChainBreak { chain, seq, problem })));
                if seq != expected_seq {
                    return brk(expected_seq, format!("row {expected_seq} is missing (the next row found is {seq})"));
                }
                if r.text(1)? != prev {
                    return brk(
                        seq,
                        "its previous-hash does not match the row before it (a row was removed, inserted or reordered)"
                            .into(),
                    );
                }
                let stored = r.text(2)?;
                if rehash(r, &prev)? != stored {
                    return brk(seq, "its content does not match its hash (the row was edited)".into());
                }
                prev = stored;
                expected_seq += 1;
            }
        }
        let count = expected_seq - 1;
        Ok((count, self.check_head(chain, head_key, count, &prev).await?))
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
