//! A WHERE clause under construction for the list queries (findings, work orders, alerts):
//! fixed vocabularies go in as literals, anything a user typed is bound.

/// Conditions joined by AND, always starting with the tenant, and their bound values.
pub(crate) struct Clauses {
    clauses: Vec<String>,
    binds: Vec<String>,
}

impl Clauses {
    /// Starts with `tenant_column = $1`.
    pub(crate) fn new(tenant_column: &str, tenant_id: &str) -> Clauses {
        Clauses {
            clauses: vec![format!("{tenant_column} = $1")],
            binds: vec![tenant_id.into()],
        }
    }

    /// Adds a condition with no user input in it.
    pub(crate) fn literal(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// Adds a condition whose every `?` takes `value` (one value may be used twice, as in
    /// `(title LIKE ? OR name LIKE ?)`).
    pub(crate) fn bind(&mut self, clause: &str, value: String) {
        self.binds.push(value);
        self.clauses
            .push(clause.replace('?', &format!("${}", self.binds.len())));
    }

    /// The conditions, for after `WHERE`.
    pub(crate) fn sql(&self) -> String {
        self.clauses.join(" AND ")
    }

    /// `sql` with the bound values.
    pub(crate) fn query<'q>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(sql);
        for b in &self.binds {
            q = q.bind(b);
        }
        q
    }
}
