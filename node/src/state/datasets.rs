//! Rows of the `datasets` table.

use rusqlite::{Connection, OptionalExtension, Row, params};

/// One registered dataset as stored.
#[derive(Debug, Clone)]
pub(crate) struct DatasetRow {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) policy_hash: String,
    pub(crate) snapshot: String,
    pub(crate) size_bytes: u64,
    pub(crate) format: String,
    /// JSON: `[{"name": ..., "type": ...}]`.
    pub(crate) columns: String,
    pub(crate) registered_at: String,
    pub(crate) registered_by: String,
    pub(crate) updated_at: String,
}

const COLUMNS: &str = "name, path, policy_hash, snapshot, size_bytes, format, columns, \
                       registered_at, registered_by, updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<DatasetRow> {
    Ok(DatasetRow {
        name: r.get(0)?,
        path: r.get(1)?,
        policy_hash: r.get(2)?,
        snapshot: r.get(3)?,
        size_bytes: r.get::<_, i64>(4)? as u64,
        format: r.get(5)?,
        columns: r.get(6)?,
        registered_at: r.get(7)?,
        registered_by: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

impl DatasetRow {
    /// The dataset named `name`.
    pub(crate) fn get(conn: &Connection, name: &str) -> rusqlite::Result<Option<Self>> {
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM datasets WHERE name = ?1"),
            [name],
            row,
        )
        .optional()
    }

    /// Every dataset, by name.
    pub(crate) fn list(conn: &Connection) -> rusqlite::Result<Vec<Self>> {
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM datasets ORDER BY name"))?;
        stmt.query_map([], row)?.collect()
    }

    /// Inserts or replaces this row.
    pub(crate) fn upsert(&self, conn: &Connection) -> rusqlite::Result<()> {
        conn.execute(
            &format!(
                "INSERT OR REPLACE INTO datasets ({COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            params![
                self.name,
                self.path,
                self.policy_hash,
                self.snapshot,
                self.size_bytes as i64,
                self.format,
                self.columns,
                self.registered_at,
                self.registered_by,
                self.updated_at
            ],
        )?;
        Ok(())
    }
}
