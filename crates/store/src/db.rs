//! Opening the database, running migrations, and serialised write transactions.

use crate::audit;
use crate::error::Result;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Transaction};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard};
use yunshou_model::{AuditEntry, AuditRecord};

/// One versioned migration.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "identity_audit",
        sql: include_str!("../migrations/sqlite/0001_identity_audit.sql"),
    },
    Migration {
        version: 2,
        name: "assets",
        sql: include_str!("../migrations/sqlite/0002_assets.sql"),
    },
    Migration {
        version: 3,
        name: "asset_control",
        sql: include_str!("../migrations/sqlite/0003_asset_control.sql"),
    },
    Migration {
        version: 4,
        name: "asset_indexes",
        sql: include_str!("../migrations/sqlite/0004_asset_indexes.sql"),
    },
    Migration {
        version: 5,
        name: "events",
        sql: include_str!("../migrations/sqlite/0005_events.sql"),
    },
    Migration {
        version: 6,
        name: "saved_searches",
        sql: include_str!("../migrations/sqlite/0006_saved_searches.sql"),
    },
    Migration {
        version: 7,
        name: "detection",
        sql: include_str!("../migrations/sqlite/0007_detection.sql"),
    },
    Migration {
        version: 8,
        name: "rule_sets",
        sql: include_str!("../migrations/sqlite/0008_rule_sets.sql"),
    },
    Migration {
        version: 9,
        name: "findings",
        sql: include_str!("../migrations/sqlite/0009_findings.sql"),
    },
    Migration {
        version: 10,
        name: "risk",
        sql: include_str!("../migrations/sqlite/0010_risk.sql"),
    },
    Migration {
        version: 11,
        name: "incidents",
        sql: include_str!("../migrations/sqlite/0011_incidents.sql"),
    },
    Migration {
        version: 12,
        name: "finding_texts",
        sql: include_str!("../migrations/sqlite/0012_finding_texts.sql"),
    },
    Migration {
        version: 13,
        name: "finding_cves_by_cve",
        sql: include_str!("../migrations/sqlite/0013_finding_cves_by_cve.sql"),
    },
    Migration {
        version: 14,
        name: "findings_unused_index",
        sql: include_str!("../migrations/sqlite/0014_findings_unused_index.sql"),
    },
    Migration {
        version: 15,
        name: "import_keys_at_commit",
        sql: include_str!("../migrations/sqlite/0015_import_keys_at_commit.sql"),
    },
    Migration {
        version: 16,
        name: "alert_events",
        sql: include_str!("../migrations/sqlite/0016_alert_events.sql"),
    },
];

/// The schema version this build migrates to.
pub const SCHEMA_VERSION: i64 = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.len() - 1].version;

/// The state store. Cheap to share behind an `Arc`.
pub struct Store {
    pub(crate) pool: AnyPool,
    /// SQLite has one writer; serialising write transactions here avoids `SQLITE_BUSY`
    /// upgrades and gives the audit chain a single, gap-free order.
    pub(crate) writer: Mutex<()>,
    /// Where the head of the audit chain is mirrored outside the database.
    pub(crate) anchor_path: Option<PathBuf>,
    /// Bumped on every change to identities, grants or credentials, so caches of
    /// authentication results know they are stale.
    identity_generation: AtomicU64,
    /// SQLite write transactions must take the write lock when they begin: a deferred one
    /// that reads first fails with `SQLITE_BUSY_SNAPSHOT` if another connection wrote since.
    begin_statement: &'static str,
}

/// The file name of the embedded database inside the data directory.
pub const DB_FILE: &str = "yunshou.db";
/// The file name of the audit anchor inside the data directory.
pub const ANCHOR_FILE: &str = "audit.anchor";

impl Store {
    /// Opens (creating if needed) the embedded SQLite store in `data_dir` and migrates it.
    pub async fn open(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir)?;
        let db = data_dir.join(DB_FILE);
        let url = format!("sqlite://{}?mode=rwc", db.display());
        Self::open_url(&url, Some(data_dir.join(ANCHOR_FILE))).await
    }

    /// Opens the store at a database URL. `anchor_path` keeps the audit chain's head outside
    /// the database so truncation is detectable.
    pub async fn open_url(url: &str, anchor_path: Option<PathBuf>) -> Result<Store> {
        Self::open_url_to(url, anchor_path, SCHEMA_VERSION).await
    }

    /// Opens the store in `data_dir` migrated only up to `last`: to test a migration on the
    /// data of the schema before it.
    #[cfg(test)]
    pub(crate) async fn open_to(data_dir: &Path, last: i64) -> Result<Store> {
        let url = format!("sqlite://{}?mode=rwc", data_dir.join(DB_FILE).display());
        Self::open_url_to(&url, Some(data_dir.join(ANCHOR_FILE)), last).await
    }

    async fn open_url_to(url: &str, anchor_path: Option<PathBuf>, last: i64) -> Result<Store> {
        sqlx::any::install_default_drivers();
        configure_sqlite();
        let options: AnyConnectOptions = url.parse()?;
        let is_sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            .max_connections(if is_sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if is_sqlite {
                        // FULL: a committed transaction survives power loss, not only a crash.
                        // A 32 MiB page cache (the default is 2 MiB) keeps a large import's
                        // transaction in memory instead of re-reading it from the log. Statement
                        // journals (multi-row inserts) stay in memory rather than temporary files.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                             PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let store = Store {
            pool,
            writer: Mutex::new(()),
            anchor_path,
            identity_generation: AtomicU64::new(0),
            begin_statement: if is_sqlite {
                "BEGIN IMMEDIATE"
            } else {
                "BEGIN"
            },
        };
        store.migrate(last).await?;
        Ok(store)
    }

    /// Applies the migrations up to `last` (the newest but in tests of a migration).
    pub(crate) async fn migrate(&self, last: i64) -> Result<()> {
        let _w = self.writer.lock().await;
        self.pool
            .execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, \
                 name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )
            .await?;
        for m in SQLITE_MIGRATIONS.iter().filter(|m| m.version <= last) {
            let checksum = crate::crypto::sm3_hex(m.sql.as_bytes());
            let applied: Option<String> =
                sqlx::query_scalar("SELECT checksum FROM schema_migrations WHERE version = $1")
                    .bind(m.version)
                    .fetch_optional(&self.pool)
                    .await?;
            match applied {
                Some(c) if c == checksum => continue,
                Some(_) => {
                    return Err(crate::Error::Corrupt(format!(
                        "migration {} ({}) was changed after it was applied",
                        m.version, m.name
                    )))
                }
                None => {
                    let mut tx = self.pool.begin().await?;
                    sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
                    sqlx::query(
                        "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(m.version)
                    .bind(m.name)
                    .bind(&checksum)
                    .bind(crate::now_text())
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    tracing::info!(version = m.version, name = m.name, "applied migration");
                }
            }
        }
        if last >= 12 {
            crate::finding_texts::fill_digests(&self.pool).await?;
        }
        Ok(())
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .is_ok()
    }

    /// Begins a write transaction whose commit appends one audit record, atomically.
    pub async fn begin_write(&self) -> Result<WriteTx<'_>> {
        let guard = self.writer.lock().await;
        let tx = self.pool.begin_with(self.begin_statement).await?;
        Ok(WriteTx {
            store: self,
            _guard: guard,
            tx,
        })
    }

    /// Refreshes the query planner's statistics (`ANALYZE`, the same on SQLite and
    /// PostgreSQL): after bulk imports and hourly, so filters on large ledgers are planned
    /// from the most selective index.
    pub async fn analyze(&self) -> Result<()> {
        let _lock = self.writer.lock().await;
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }

    /// Takes the writer lock for bookkeeping that no one's action caused (such as a
    /// notification's delivery status), written without an audit record.
    pub(crate) async fn writer_lock(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().await
    }

    /// Appends an audit record on its own (for events that change nothing else, such as a
    /// failed sign-in).
    pub async fn audit(&self, entry: AuditEntry) -> Result<AuditRecord> {
        self.begin_write().await?.commit(entry).await
    }

    /// The current identity generation; see [`Store::bump_identity_generation`].
    pub fn identity_generation(&self) -> u64 {
        self.identity_generation.load(Ordering::Acquire)
    }

    /// Marks every cached authentication result stale.
    pub fn bump_identity_generation(&self) {
        self.identity_generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Configures the SQLite library once, before its first connection (later it refuses).
///
/// Memory statistics off: SQLite counts every allocation under a global mutex, about a
/// twentieth of an import's database time, and nothing here reads the counts.
fn configure_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: called before any connection is opened in this process (the `Once`
        // runs ahead of the first pool); SQLite answers SQLITE_MISUSE, changing nothing, if
        // the library was already initialised, and that answer is ignored on purpose.
        unsafe {
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            );
        }
    });
}

/// A write transaction holding the store's writer lock. Committing it appends the audit
/// record describing the change in the same transaction: no change without its record.
pub struct WriteTx<'a> {
    store: &'a Store,
    _guard: MutexGuard<'a, ()>,
    /// The open transaction; execute statements against `&mut *tx.tx`.
    pub tx: Transaction<'static, sqlx::Any>,
}

/// A [`WriteTx`] whose transaction was handed elsewhere (a [`crate::tx_queue::TxQueue`]):
/// it keeps the writer lock until the transaction comes back.
pub(crate) struct WriteLock<'a> {
    store: &'a Store,
    guard: MutexGuard<'a, ()>,
}

impl<'a> WriteLock<'a> {
    /// Joins the transaction back to its lock.
    pub(crate) fn resume(self, tx: Transaction<'static, sqlx::Any>) -> WriteTx<'a> {
        WriteTx {
            store: self.store,
            _guard: self.guard,
            tx,
        }
    }
}

impl<'a> WriteTx<'a> {
    /// Takes the transaction out, leaving the lock held.
    pub(crate) fn split(self) -> (WriteLock<'a>, Transaction<'static, sqlx::Any>) {
        (
            WriteLock {
                store: self.store,
                guard: self._guard,
            },
            self.tx,
        )
    }

    /// Appends `entry` to the audit chain, commits, and moves the chain's anchor.
    pub async fn commit(mut self, entry: AuditEntry) -> Result<AuditRecord> {
        let record = audit::append(&mut self.tx, entry).await?;
        self.tx.commit().await?;
        if let Some(path) = &self.store.anchor_path {
            audit::write_anchor(path, record.seq, &record.hash)?;
        }
        Ok(record)
    }
}
