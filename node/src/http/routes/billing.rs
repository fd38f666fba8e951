//! Billing: the report the exchange bills from, recomputed from the usage
//! events' own figures and prices, over the events the caller may see.
//!
//! A buyer's report covers only its own runs, an owner's only runs over its
//! datasets; the operator and auditors see everything. Every recorded
//! charge is recomputed; mismatches are listed. Defends against a buyer
//! learning other buyers' spending and against trusting the node's stored
//! totals (the report is recomputed from the signed events).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use sluice_ledger::billing::{self, GroupBy};
use utoipa::IntoParams;

use super::Query;
use super::datasets::to_json;
use super::runs::sees_run;
use crate::http::app::App;
use crate::http::problem::{ApiError, Problem};
use crate::http::roles::Caller;

/// What the report covers.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BillingQuery {
    /// `buyer` (default) or `dataset`.
    #[param(value_type = Option<String>, pattern = "^(buyer|dataset)$")]
    group_by: Option<GroupBy>,
    /// Start, inclusive: `YYYY-MM-DD` or RFC 3339.
    from: Option<String>,
    /// End, exclusive: `YYYY-MM-DD` or RFC 3339.
    to: Option<String>,
}

/// `GET /v1/billing`: the billing report over the runs the caller may see.
#[utoipa::path(get, path = "/v1/billing", tag = "billing", security(("signature" = [])),
    params(BillingQuery),
    responses((status = 200, description = "The report, with recomputation mismatches", body = serde_json::Value),
              (status = 400, description = "Bad period or grouping", body = Problem),
              (status = 401, description = "Not signed", body = Problem)))]
pub(crate) async fn report(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(q): Query<BillingQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let recomputed = app
        .blocking(move |n| {
            let len = n.ledger().len().map_err(crate::NodeError::from)?;
            let mut events = Vec::new();
            let mut at = 0;
            while at < len {
                let page = n.events(at, 4096)?;
                if page.is_empty() {
                    break;
                }
                at = page.last().map_or(len, |e| e.index + 1);
                events.extend(
                    page.into_iter()
                        .filter(|e| e.envelope.run().is_some_and(|r| sees_run(&caller, r)))
                        .map(|e| e.envelope),
                );
            }
            billing::recompute(
                &events,
                q.group_by.unwrap_or(GroupBy::Buyer),
                q.from.as_deref(),
                q.to.as_deref(),
            )
            .map_err(|e| match e {
                billing::BillingError::BadPeriod(m) => ApiError::invalid(
                    "period",
                    format!("bad period bound: {m}; use YYYY-MM-DD or 2026-01-31T00:00:00Z"),
                ),
                other => ApiError::internal("internal.billing", other),
            })
        })
        .await?;
    Ok(Json(to_json(&recomputed)?))
}
