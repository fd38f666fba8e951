//! The catalog of data products: what a buyer may run over each dataset in
//! its scope — the columns it can reach and how, the trust tier its key
//! would get, the run limits, the prices, and its remaining privacy budget.
//!
//! Derived from each dataset's current policy; `none` columns are left out
//! entirely (a buyer does not learn they exist). Defends against a buyer
//! learning about datasets outside its scope (they are not listed) and
//! against stale answers (every entry is read from the current policy).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use sluice_runtime::policy::Access;
use utoipa::ToSchema;

use crate::http::app::App;
use crate::http::problem::{ApiError, Problem};
use crate::http::roles::Caller;
use crate::keys::Role;

/// A column as a buyer can reach it.
#[derive(Serialize, ToSchema)]
pub(crate) struct CatalogColumn {
    /// Column name.
    name: String,
    /// `int64`, `float64`, `boolean`, `utf8`.
    #[serde(rename = "type")]
    column_type: String,
    /// `raw` (scannable by approved modules) or `aggregate` (host aggregates only).
    access: String,
    /// Whether host aggregates may group by it.
    group_key: bool,
}

/// The caller's remaining differential-privacy budget on a dataset.
#[derive(Serialize, ToSchema)]
pub(crate) struct PrivacyView {
    /// Epsilon charged per aggregate query.
    epsilon_per_query: f64,
    /// Budget per buyer per period.
    budget: f64,
    /// Period after which the budget refreshes, seconds (absent: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_seconds: Option<u64>,
    /// What the caller has left in the current period (buyers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    remaining: Option<f64>,
}

/// One data product.
#[derive(Serialize, ToSchema)]
pub(crate) struct CatalogEntry {
    /// Dataset name.
    dataset: String,
    /// The owner's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// `csv` or `parquet`.
    format: String,
    /// Current policy version and hash.
    policy_version: u64,
    /// SHA-256 of the current policy text.
    policy_hash: String,
    /// Columns a module can reach.
    columns: Vec<CatalogColumn>,
    /// Module hashes the owner approved for raw access.
    approved_modules: Vec<String>,
    /// Whether the caller's key is a trusted signer (host aggregates without approval).
    trusted_signer: bool,
    /// Run limits and release caps.
    #[schema(value_type = Object)]
    limits: serde_json::Value,
    /// Smallest group host aggregates release.
    min_group_size: u64,
    /// Prices, in millionths of the currency unit.
    #[schema(value_type = Object)]
    prices: serde_json::Value,
    /// Differential privacy, when the policy asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    privacy: Option<PrivacyView>,
}

/// `GET /v1/catalog`: the data products the caller may see.
#[utoipa::path(get, path = "/v1/catalog", tag = "datasets", security(("signature" = [])),
    responses((status = 200, description = "Data products", body = Vec<CatalogEntry>),
              (status = 401, description = "Not signed", body = Problem)))]
pub(crate) async fn catalog(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Vec<CatalogEntry>>, ApiError> {
    let entries = app
        .blocking(move |n| {
            let mut out = Vec::new();
            for d in n.datasets()? {
                if !caller.sees_dataset(&d.name) {
                    continue;
                }
                let policy = d.policy.policy()?;
                let privacy = policy.privacy.as_ref().map(|p| {
                    let remaining = (caller.role() == Role::Buyer).then(|| {
                        let spent = n
                            .budget
                            .spent(
                                &caller.key.key_id(),
                                &d.name,
                                p.refresh_seconds.map(Duration::from_secs),
                                SystemTime::now(),
                            )
                            .unwrap_or(p.budget);
                        (p.budget - spent).max(0.0)
                    });
                    PrivacyView {
                        epsilon_per_query: p.epsilon_per_query,
                        budget: p.budget,
                        refresh_seconds: p.refresh_seconds,
                        remaining,
                    }
                });
                let caller_hex = caller.hex().to_string();
                out.push(CatalogEntry {
                    description: policy.description.clone(),
                    format: d.format.clone(),
                    policy_version: policy.version,
                    policy_hash: policy.hash.clone(),
                    columns: d
                        .columns
                        .iter()
                        .filter(|c| c.access != Access::None)
                        .map(|c| CatalogColumn {
                            name: c.name.clone(),
                            column_type: c.column_type.clone(),
                            access: if c.access == Access::Raw {
                                "raw"
                            } else {
                                "aggregate"
                            }
                            .into(),
                            group_key: c.group_key,
                        })
                        .collect(),
                    approved_modules: policy.approvals.iter().map(|a| a.module.clone()).collect(),
                    trusted_signer: policy.trusted_signers.contains(&caller_hex),
                    limits: serde_json::to_value(&policy.limits).unwrap_or_default(),
                    min_group_size: policy.min_group_size,
                    prices: serde_json::to_value(&policy.prices).unwrap_or_default(),
                    privacy,
                    dataset: d.name,
                });
            }
            Ok(out)
        })
        .await?;
    Ok(Json(entries))
}
