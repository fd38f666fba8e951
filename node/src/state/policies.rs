//! Rows of the `policy_versions` table (the texts live in `policies/`).

use rusqlite::{Connection, OptionalExtension, Row, params};

/// One policy version as stored.
#[derive(Debug, Clone)]
pub(crate) struct PolicyRow {
    pub(crate) hash: String,
    pub(crate) dataset: String,
    pub(crate) version: u64,
    pub(crate) added_at: String,
    pub(crate) added_by: String,
}

const COLUMNS: &str = "hash, dataset, version, added_at, added_by";

fn row(r: &Row<'_>) -> rusqlite::Result<PolicyRow> {
    Ok(PolicyRow {
        hash: r.get(0)?,
        dataset: r.get(1)?,
        version: r.get::<_, i64>(2)? as u64,
        added_at: r.get(3)?,
        added_by: r.get(4)?,
    })
}

impl PolicyRow {
    /// The version with `hash`.
    pub(crate) fn get(conn: &Connection, hash: &str) -> rusqlite::Result<Option<Self>> {
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM policy_versions WHERE hash = ?1"),
            [hash],
            row,
        )
        .optional()
    }

    /// Every version for `dataset`, oldest first.
    pub(crate) fn of_dataset(conn: &Connection, dataset: &str) -> rusqlite::Result<Vec<Self>> {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM policy_versions WHERE dataset = ?1 ORDER BY seq"
        ))?;
        stmt.query_map([dataset], row)?.collect()
    }

    /// Records a new version.
    pub(crate) fn insert(
        conn: &Connection,
        hash: &str,
        dataset: &str,
        version: u64,
        added_at: &str,
        added_by: &str,
    ) -> rusqlite::Result<()> {
        conn.execute(
            "INSERT INTO policy_versions (hash, dataset, version, added_at, added_by) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![hash, dataset, version as i64, added_at, added_by],
        )?;
        Ok(())
    }
}
