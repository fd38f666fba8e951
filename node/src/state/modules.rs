//! Rows of the `modules` table (the bytes live in `modules/`).

use rusqlite::{Connection, OptionalExtension, Row, params};

/// One stored module as indexed.
#[derive(Debug, Clone)]
pub(crate) struct ModuleRow {
    pub(crate) hash: String,
    pub(crate) size: u64,
    pub(crate) signer: Option<String>,
    pub(crate) stored_at: String,
}

fn row(r: &Row<'_>) -> rusqlite::Result<ModuleRow> {
    Ok(ModuleRow {
        hash: r.get(0)?,
        size: r.get::<_, i64>(1)? as u64,
        signer: r.get(2)?,
        stored_at: r.get(3)?,
    })
}

impl ModuleRow {
    /// The module with `hash`.
    pub(crate) fn get(conn: &Connection, hash: &str) -> rusqlite::Result<Option<Self>> {
        conn.query_row(
            "SELECT hash, size, signer, stored_at FROM modules WHERE hash = ?1",
            [hash],
            row,
        )
        .optional()
    }

    /// Every stored module, oldest first.
    pub(crate) fn list(conn: &Connection) -> rusqlite::Result<Vec<Self>> {
        let mut stmt = conn
            .prepare_cached("SELECT hash, size, signer, stored_at FROM modules ORDER BY rowid")?;
        stmt.query_map([], row)?.collect()
    }

    /// Records the module unless it is already indexed.
    pub(crate) fn insert(&self, conn: &Connection) -> rusqlite::Result<()> {
        conn.execute(
            "INSERT OR IGNORE INTO modules (hash, size, signer, stored_at) VALUES (?1, ?2, ?3, ?4)",
            params![self.hash, self.size as i64, self.signer, self.stored_at],
        )?;
        Ok(())
    }
}
