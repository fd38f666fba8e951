//! Rows of the `keys` table.

use rusqlite::{Connection, OptionalExtension, Row, params};

/// One known key as stored.
#[derive(Debug, Clone)]
pub(crate) struct KeyRow {
    pub(crate) key: String,
    pub(crate) key_id: String,
    pub(crate) role: String,
    /// JSON array of dataset names; empty: every dataset.
    pub(crate) datasets: String,
    pub(crate) added_at: String,
    pub(crate) added_by: String,
}

const COLUMNS: &str = "key, key_id, role, datasets, added_at, added_by";

fn row(r: &Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok(KeyRow {
        key: r.get(0)?,
        key_id: r.get(1)?,
        role: r.get(2)?,
        datasets: r.get(3)?,
        added_at: r.get(4)?,
        added_by: r.get(5)?,
    })
}

impl KeyRow {
    /// The key (hex).
    pub(crate) fn get(conn: &Connection, key: &str) -> rusqlite::Result<Option<Self>> {
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM keys WHERE key = ?1"),
            [key],
            row,
        )
        .optional()
    }

    /// Every key, in the order added.
    pub(crate) fn list(conn: &Connection) -> rusqlite::Result<Vec<Self>> {
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM keys ORDER BY rowid"))?;
        stmt.query_map([], row)?.collect()
    }

    /// Inserts or replaces this row.
    pub(crate) fn upsert(&self, conn: &Connection) -> rusqlite::Result<()> {
        conn.execute(
            &format!("INSERT OR REPLACE INTO keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            params![
                self.key,
                self.key_id,
                self.role,
                self.datasets,
                self.added_at,
                self.added_by
            ],
        )?;
        Ok(())
    }
}
