use thiserror::Error;

/// What can go wrong in the store.
#[derive(Debug, Error)]
pub enum Error {
    /// The record does not exist, or belongs to another tenant: callers cannot tell which.
    #[error("not found")]
    NotFound,
    /// A unique name is already taken.
    #[error("{0}")]
    Conflict(String),
    /// The input breaks a rule; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The request is well-formed but the record lacks what the change requires (an
    /// incident phase's required records): the message names what is missing.
    #[error("{0}")]
    Unprocessable(String),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Reading or writing a file in the data directory failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A stored value could not be understood.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

impl Error {
    /// True when the database refused a duplicate key.
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
    }
}

/// Result with the store's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
