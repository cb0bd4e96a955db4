//! A write transaction fed through a queue: the caller hands over statements and goes on
//! preparing the next ones while the database runs the earlier ones on its own thread.
//!
//! An import spends about half its time in SQLite and half preparing rows (parsing,
//! assessment, JSON). Awaiting each statement kept them in turn; queued, they overlap on
//! two cores. Statements run in the order they were queued; the first failure stops the
//! rest and is returned by [`TxQueue::finish`], whose caller then drops the transaction
//! (rolling everything back), so nothing is half-applied.

use crate::error::{Error, Result};
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// One queued piece of work on the transaction.
pub(crate) type Op = Box<dyn for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, Result<()>> + Send>;

/// Ops waiting at most: bounds the memory of rows prepared ahead of the database.
const QUEUE_OPS: usize = 8;

/// Makes an [`Op`] from a closure (the explicit signature lets the closure borrow the
/// transaction for as long as its future runs).
pub(crate) fn op<F>(f: F) -> Op
where
    F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, Result<()>> + Send + 'static,
{
    Box::new(f)
}

/// A transaction owned by a task that runs queued ops in order.
///
/// Dropped unfinished, the task is aborted: the transaction is dropped with it and rolls
/// back.
pub(crate) struct TxQueue {
    ops: Option<mpsc::Sender<Op>>,
    task: Option<JoinHandle<(Tx, Option<Error>)>>,
}

impl TxQueue {
    /// Hands `tx` to a new task on the current runtime.
    pub(crate) fn start(mut tx: Tx) -> TxQueue {
        let (ops, mut queue) = mpsc::channel::<Op>(QUEUE_OPS);
        let task = tokio::spawn(async move {
            let mut failed = None;
            while let Some(op) = queue.recv().await {
                // After a failure the rest are dropped unrun: the transaction is lost anyway.
                if failed.is_none() {
                    if let Err(e) = op(&mut tx).await {
                        failed = Some(e);
                    }
                }
            }
            (tx, failed)
        });
        TxQueue {
            ops: Some(ops),
            task: Some(task),
        }
    }

    /// Queues `op`; waits only while the queue is full.
    pub(crate) async fn push(&self, op: Op) -> Result<()> {
        let ops = self.ops.as_ref().expect("pushed before finishing");
        ops.send(op)
            .await
            .map_err(|_| Error::Invalid("the import's writer stopped".into()))
    }

    /// Runs everything queued and gives the transaction back, or the first failure.
    pub(crate) async fn finish(mut self) -> Result<Tx> {
        drop(self.ops.take());
        let task = self.task.take().expect("finished once");
        let (tx, failed) = task
            .await
            .map_err(|e| Error::Invalid(format!("the import's writer failed: {e}")))?;
        match failed {
            Some(e) => Err(e),
            None => Ok(tx),
        }
    }
}

impl Drop for TxQueue {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn memory_tx() -> (sqlx::AnyPool, Tx) {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let tx = pool.begin().await.unwrap();
        (pool, tx)
    }

    fn insert(n: Option<i64>) -> Op {
        op(move |tx| {
            Box::pin(async move {
                sqlx::query("INSERT INTO t (n) VALUES ($1)")
                    .bind(n)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            })
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_ops_in_order_and_returns_the_transaction() {
        let (_pool, tx) = memory_tx().await;
        let q = TxQueue::start(tx);
        for n in 0..100 {
            q.push(insert(Some(n))).await.unwrap();
        }
        let mut tx = q.finish().await.unwrap();
        let got: Vec<i64> = sqlx::query_scalar("SELECT n FROM t ORDER BY rowid")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_first_failure_stops_the_rest_and_is_returned() {
        let (_pool, tx) = memory_tx().await;
        let q = TxQueue::start(tx);
        q.push(insert(Some(1))).await.unwrap();
        q.push(insert(None)).await.unwrap(); // NOT NULL fails
        q.push(op(|_| Box::pin(async { panic!("ran after a failure") })))
            .await
            .unwrap();
        let Err(err) = q.finish().await else {
            panic!("the failure was lost");
        };
        assert!(err.to_string().contains("NOT NULL"), "{err}");
    }
}
