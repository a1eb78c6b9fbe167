//! Reports for the safeguarding board (aggregate figures, no child-level data): referrals by
//! school, with the schools that refer unusually little flagged (the seed's Rec 26: some
//! schools never refer, and that is where to look).

use crate::AppState;
use crate::access::authorize_service;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::pages::{Layout, PageError, render};
use askama::Template;
use axum::Extension;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use frontdoor_core::{Action, AgencyKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq)]
pub struct SchoolRow {
    pub agency: String,
    pub name: String,
    pub referrals: i64,
    /// None in the period, or fewer than half the median school's.
    pub low: bool,
}

/// A school as the report shows it: counts from 1 to 4 are suppressed, as in every aggregate.
#[derive(Serialize, ToSchema, Debug, Clone, PartialEq)]
pub struct SchoolView {
    pub agency: String,
    pub name: String,
    /// None when suppressed (1 to 4).
    pub referrals: Option<i64>,
    pub suppressed: bool,
    /// None in the period, or fewer than half the median school's.
    pub low: bool,
}

impl From<SchoolRow> for SchoolView {
    fn from(r: SchoolRow) -> Self {
        let suppressed = r.referrals > 0 && r.referrals < crate::api::SUPPRESS_BELOW;
        SchoolView {
            agency: r.agency,
            name: r.name,
            referrals: (!suppressed).then_some(r.referrals),
            suppressed,
            low: r.low,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SchoolReport {
    pub months: u32,
    pub schools: Vec<SchoolView>,
    pub median: f64,
    pub flagged: usize,
}

/// Flags the low-referral outliers: a school that referred nobody in the period, or fewer than
/// half the median school. Lowest first.
pub fn flag_low(mut rows: Vec<SchoolRow>) -> (Vec<SchoolRow>, f64) {
    let mut counts: Vec<i64> = rows.iter().map(|r| r.referrals).collect();
    counts.sort_unstable();
    let median = match counts.len() {
        0 => 0.0,
        n if n % 2 == 1 => counts[n / 2] as f64,
        n => (counts[n / 2 - 1] + counts[n / 2]) as f64 / 2.0,
    };
    for r in &mut rows {
        r.low = r.referrals == 0 || (r.referrals as f64) < median / 2.0;
    }
    rows.sort_by(|a, b| a.referrals.cmp(&b.referrals).then_with(|| a.name.cmp(&b.name)));
    (rows, median)
}

#[derive(Deserialize)]
pub(crate) struct ReportQuery {
    #[serde(default = "twelve")]
    months: u32,
}

fn twelve() -> u32 {
    12
}

pub(crate) async fn schools(state: &AppState, user: &CurrentUser, months: u32) -> Result<SchoolReport, AppError> {
    authorize_service(user, Action::ViewAggregates)?;
    let months = months.clamp(1, 60);
    let since = Utc::now() - chrono::Duration::days(i64::from(months) * 365 / 12);
    let counts = state.store.contacts_per_agency(since).await?;
    let rows = state
        .store
        .agencies()
        .await?
        .into_iter()
        .filter(|a| matches!(a.kind, AgencyKind::School | AgencyKind::Education))
        .map(|a| SchoolRow {
            agency: a.id.to_string(),
            referrals: counts.iter().find(|(id, _)| *id == a.id).map_or(0, |(_, n)| *n),
            name: a.name,
            low: false,
        })
        .collect();
    let (rows, median) = flag_low(rows);
    let flagged = rows.iter().filter(|s| s.low).count();
    let schools = rows.into_iter().map(SchoolView::from).collect();
    Ok(SchoolReport { months, schools, median, flagged })
}

#[utoipa::path(get, path = "/api/v1/reports/schools", params(("months" = Option<u32>, Query, description = "the period, default 12")),
    responses((status = 200, body = SchoolReport)), security(("bearer" = [])))]
pub(crate) async fn schools_api(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<ReportQuery>,
) -> Result<Json<SchoolReport>, AppError> {
    Ok(Json(schools(&state, &user, q.months).await?))
}

#[derive(Template)]
#[template(path = "report_schools.html")]
struct SchoolsPage {
    layout: Layout,
    report: SchoolReport,
}

pub(crate) async fn schools_page(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, PageError> {
    let report = schools(&state, &user, q.months).await?;
    render(SchoolsPage { layout: Layout::for_user("Referrals by school", &user), report }, StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, n: i64) -> SchoolRow {
        SchoolRow { agency: name.into(), name: name.into(), referrals: n, low: false }
    }

    #[test]
    fn schools_under_half_the_median_are_flagged_lowest_first() {
        let (rows, median) = flag_low(vec![row("a", 10), row("b", 8), row("c", 3), row("d", 12), row("e", 0)]);
        assert_eq!(median, 8.0);
        let low: Vec<&str> = rows.iter().filter(|r| r.low).map(|r| r.name.as_str()).collect();
        assert_eq!(low, ["e", "c"]);
        assert_eq!(rows[0].name, "e");
        // Most schools refer nobody: those are flagged, not the one that refers.
        let (rows, median) = flag_low(vec![row("a", 0), row("b", 0), row("c", 9)]);
        assert_eq!(median, 0.0);
        let low: Vec<&str> = rows.iter().filter(|r| r.low).map(|r| r.name.as_str()).collect();
        assert_eq!(low, ["a", "b"]);
        let (rows, _) = flag_low(vec![row("a", 0), row("b", 2), row("c", 9), row("d", 3)]);
        assert_eq!(rows.iter().filter(|r| r.low).count(), 1);
    }
}
