//! Multi-row statements: rows gathered in memory and written a few hundred per statement,
//! so a batch of thousands is a handful of hand-offs to the database thread, not thousands.

use crate::error::{Error, Result};
use sqlx::any::{AnyArguments, AnyTypeInfo};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Any, Arguments, Database, Encode, Type};

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

impl Type<Any> for Val {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }
}

/// Binds as the value it holds (a `None` as that type's NULL).
impl<'q> Encode<'q, Any> for Val {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        match self {
            Val::Text(s) => <Option<String> as Encode<'q, Any>>::encode_by_ref(s, buf),
            Val::Int(i) => <Option<i64> as Encode<'q, Any>>::encode_by_ref(i, buf),
            Val::Real(f) => <Option<f64> as Encode<'q, Any>>::encode_by_ref(f, buf),
        }
    }

    fn produces(&self) -> Option<AnyTypeInfo> {
        Some(match self {
            Val::Text(_) => <String as Type<Any>>::type_info(),
            Val::Int(_) => <i64 as Type<Any>>::type_info(),
            Val::Real(_) => <f64 as Type<Any>>::type_info(),
        })
    }
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
    for v in rows.into_iter().flatten() {
        q = q.bind(v);
    }
    q
}

/// A statement with its values bound, ready to run.
///
/// Bound by whoever gathered the rows, before the statement is queued: bound by the task
/// running the transaction, between one statement and the next, the database's thread sat
/// idle while a few thousand values were encoded.
pub(crate) struct Bound {
    sql: String,
    args: AnyArguments<'static>,
}

impl Bound {
    /// Runs the statement.
    pub async fn execute(self, tx: &mut Tx) -> Result<()> {
        sqlx::query_with(&self.sql, self.args)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// Runs `statements` in order; the first failure stops the rest.
pub(crate) async fn execute_all(statements: Vec<Bound>, tx: &mut Tx) -> Result<()> {
    for s in statements {
        s.execute(tx).await?;
    }
    Ok(())
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

    /// Writes the gathered rows in one statement.
    pub async fn flush(&mut self, tx: &mut Tx) -> Result<()> {
        match self.bind(self.rows.len())? {
            Some(statement) => statement.execute(tx).await,
            None => Ok(()),
        }
    }

    /// The gathered rows as statements of `BATCH_ROWS` rows, leaving the batch empty.
    pub fn bind_all(&mut self) -> Result<Vec<Bound>> {
        let mut statements = Vec::with_capacity(self.rows.len().div_ceil(BATCH_ROWS));
        while let Some(s) = self.bind(BATCH_ROWS.min(self.rows.len()))? {
            statements.push(s);
        }
        Ok(statements)
    }

    /// The first `n` gathered rows as one statement, or `None` when there are none.
    fn bind(&mut self, n: usize) -> Result<Option<Bound>> {
        if n == 0 {
            return Ok(None);
        }
        debug_assert!(self.rows.iter().all(|r| r.len() == self.columns.len()));
        // `OR FAIL`, and foreign keys checked at commit (declared so by migration 15): a
        // statement that cannot abort half-way needs no statement journal (a copy of every
        // page a 256-row insert touches). An upsert's update still can, so it keeps one. A
        // failure still fails the caller, whose transaction rolls back whole.
        let sql = format!(
            "INSERT OR FAIL INTO {} ({}) VALUES {}{}",
            self.table,
            self.columns.join(", "),
            value_rows(n, self.columns.len()),
            self.upsert
        );
        let mut args = AnyArguments::default();
        for row in self.rows.drain(..n) {
            for v in row {
                args.add(v)
                    .map_err(|e| Error::Invalid(format!("a value for {}: {e}", self.table)))?;
            }
        }
        Ok(Some(Bound { sql, args }))
    }
}
