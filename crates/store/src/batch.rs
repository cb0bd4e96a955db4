//! Multi-row statements: rows gathered in memory and written a few hundred per statement,
//! so a batch of thousands is a handful of hand-offs to the database thread, not thousands.

use crate::error::Result;

type Tx = sqlx::Transaction<'static, sqlx::Any>;
type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Rows per multi-row statement: each statement is a round trip to the database's thread.
pub(crate) const BATCH_ROWS: usize = 256;

/// One column value of a batched statement.
pub(crate) enum Val {
    Text(Option<String>),
    Int(Option<i64>),
    Real(Option<f64>),
}

/// The placeholder text of a `VALUES` list: `rows` parenthesised rows of `width` anonymous
/// placeholders each, separated by commas.
///
/// Anonymous, not numbered: SQLite looks a numbered placeholder up by name in a list as
/// long as the statement's parameters, which made wide inserts quadratic (a third of an
/// import's time). The store runs on SQLite only; another engine would need its own form.
pub(crate) fn value_rows(rows: usize, width: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(", "));
    vec![row.as_str(); rows].join(", ")
}

/// Binds `rows`' values in order.
pub(crate) fn bind_rows<'q>(
    mut q: Query<'q>,
    rows: impl IntoIterator<Item = Vec<Val>>,
) -> Query<'q> {
    for row in rows {
        for v in row {
            q = match v {
                Val::Text(s) => q.bind(s),
                Val::Int(i) => q.bind(i),
                Val::Real(f) => q.bind(f),
            };
        }
    }
    q
}

/// Rows for one table, written `BATCH_ROWS` at a time.
pub(crate) struct Batch {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    /// What follows the rows (an `ON CONFLICT` clause), or "".
    pub upsert: &'static str,
    pub rows: Vec<Vec<Val>>,
}

impl Batch {
    pub fn new(table: &'static str, columns: &'static [&'static str]) -> Batch {
        Batch {
            table,
            columns,
            upsert: "",
            rows: Vec::with_capacity(BATCH_ROWS),
        }
    }

    /// The gathered rows as a batch of their own, leaving this one empty.
    pub fn take(&mut self) -> Batch {
        Batch {
            rows: std::mem::replace(&mut self.rows, Vec::with_capacity(BATCH_ROWS)),
            ..*self
        }
    }

    /// Writes the gathered rows, `BATCH_ROWS` per statement.
    pub async fn flush_all(&mut self, tx: &mut Tx) -> Result<()> {
        while self.rows.len() > BATCH_ROWS {
            let rest = self.rows.split_off(BATCH_ROWS);
            self.flush(tx).await?;
            self.rows = rest;
        }
        self.flush(tx).await
    }

    /// Writes the gathered rows in one statement.
    pub async fn flush(&mut self, tx: &mut Tx) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        debug_assert!(self.rows.iter().all(|r| r.len() == self.columns.len()));
        // `OR FAIL` (and, for an import, foreign keys checked at commit): a statement that
        // cannot abort half-way needs no statement journal (a copy of every page a 256-row
        // insert touches). Tables other rows name (findings, work orders, texts) still need
        // one: SQLite checks their referrers' declared-immediate keys per statement. A
        // failure still fails the caller, whose transaction rolls back whole.
        let sql = format!(
            "INSERT OR FAIL INTO {} ({}) VALUES {}{}",
            self.table,
            self.columns.join(", "),
            value_rows(self.rows.len(), self.columns.len()),
            self.upsert
        );
        bind_rows(sqlx::query(&sql), self.rows.drain(..))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
