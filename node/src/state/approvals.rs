//! Rows of the `approval_requests` table: a buyer's request that a dataset's
//! owner approve one module, and the owner's decision.
//!
//! The table is created by [`SCHEMA`] when the registry opens (a migration
//! that only adds a table, so registries written before it open unchanged).
//! Rows are never deleted: a decided request keeps who decided, when, and
//! the policy version an approval produced.

use rusqlite::{Connection, OptionalExtension, Row, params};

/// The migration: the approval requests table and its index.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS approval_requests (
    id             TEXT PRIMARY KEY,
    dataset        TEXT NOT NULL,
    module_hash    TEXT NOT NULL,
    module_size    INTEGER NOT NULL,
    module_signer  TEXT,
    module_imports TEXT NOT NULL,   -- JSON array of WIT import names
    buyer          TEXT NOT NULL,   -- hex public key of the requester
    buyer_key_id   TEXT NOT NULL,
    note           TEXT,
    status         TEXT NOT NULL,   -- pending | approved | rejected
    created_at     TEXT NOT NULL,
    decided_at     TEXT,
    decided_by     TEXT,
    decision_note  TEXT,
    expires        TEXT,
    policy_hash    TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS approval_requests_by_dataset ON approval_requests (dataset, status);
";

/// One approval request as stored.
#[derive(Debug, Clone, Default)]
pub(crate) struct ApprovalRow {
    pub(crate) id: String,
    pub(crate) dataset: String,
    pub(crate) module_hash: String,
    pub(crate) module_size: u64,
    pub(crate) module_signer: Option<String>,
    pub(crate) module_imports: String,
    pub(crate) buyer: String,
    pub(crate) buyer_key_id: String,
    pub(crate) note: Option<String>,
    pub(crate) status: String,
    pub(crate) created_at: String,
    pub(crate) decided_at: Option<String>,
    pub(crate) decided_by: Option<String>,
    pub(crate) decision_note: Option<String>,
    pub(crate) expires: Option<String>,
    pub(crate) policy_hash: Option<String>,
}

const COLUMNS: &str = "id, dataset, module_hash, module_size, module_signer, module_imports, \
    buyer, buyer_key_id, note, status, created_at, decided_at, decided_by, decision_note, \
    expires, policy_hash";

fn row(r: &Row<'_>) -> rusqlite::Result<ApprovalRow> {
    Ok(ApprovalRow {
        id: r.get(0)?,
        dataset: r.get(1)?,
        module_hash: r.get(2)?,
        module_size: r.get::<_, i64>(3)? as u64,
        module_signer: r.get(4)?,
        module_imports: r.get(5)?,
        buyer: r.get(6)?,
        buyer_key_id: r.get(7)?,
        note: r.get(8)?,
        status: r.get(9)?,
        created_at: r.get(10)?,
        decided_at: r.get(11)?,
        decided_by: r.get(12)?,
        decision_note: r.get(13)?,
        expires: r.get(14)?,
        policy_hash: r.get(15)?,
    })
}

impl ApprovalRow {
    /// The request with `id`.
    pub(crate) fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Self>> {
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM approval_requests WHERE id = ?1"),
            [id],
            row,
        )
        .optional()
    }

    /// Every request, oldest first.
    pub(crate) fn list(conn: &Connection) -> rusqlite::Result<Vec<Self>> {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM approval_requests ORDER BY rowid"
        ))?;
        stmt.query_map([], row)?.collect()
    }

    /// A pending request of `buyer` for `module_hash` on `dataset`, if any.
    pub(crate) fn pending(
        conn: &Connection,
        dataset: &str,
        module_hash: &str,
        buyer: &str,
    ) -> rusqlite::Result<Option<Self>> {
        conn.query_row(
            &format!(
                "SELECT {COLUMNS} FROM approval_requests WHERE dataset = ?1 AND module_hash = ?2 \
                 AND buyer = ?3 AND status = 'pending'"
            ),
            [dataset, module_hash, buyer],
            row,
        )
        .optional()
    }

    /// Inserts or replaces this row.
    pub(crate) fn upsert(&self, conn: &Connection) -> rusqlite::Result<()> {
        conn.execute(
            &format!(
                "INSERT OR REPLACE INTO approval_requests ({COLUMNS}) VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            ),
            params![
                self.id,
                self.dataset,
                self.module_hash,
                self.module_size as i64,
                self.module_signer,
                self.module_imports,
                self.buyer,
                self.buyer_key_id,
                self.note,
                self.status,
                self.created_at,
                self.decided_at,
                self.decided_by,
                self.decision_note,
                self.expires,
                self.policy_hash
            ],
        )?;
        Ok(())
    }
}
