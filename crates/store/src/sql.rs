//! Small helpers shared by the query modules: building SQL with numbered
//! placeholders, time as unix milliseconds, decoding record rows.
//!
//! Placeholders are `$1`, `$2`, … on both backends: PostgreSQL needs them and
//! SQLite accepts them (it numbers `$NNN` parameters the same way), so one SQL
//! text serves both through sqlx's `Any` driver. A built statement ([`Sql`])
//! goes to SQLite with bare `?` instead ([`Sql::query`], R-VDIR-13).

use chrono::{DateTime, Utc};
use crmsync_model::{EntityKind, Record, RecordMeta};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row};

use crate::Backend;
use crate::entity::Entity;
use crate::error::{Result, StoreError};

/// The columns every entity table has, in the order [`record_from_row`] reads.
pub(crate) const RECORD_COLUMNS: &str = "id, owner_id, created_at, modified_at, version, data";

/// A value to bind. `Any` has no chrono or JSON support, so only these.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
    /// A text column that may be NULL.
    OptText(Option<String>),
}

/// SQL text plus its arguments, so placeholder numbers always match.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Sql {
            text: text.into(),
            args: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Adds an argument and returns its placeholder (`$n`) to splice into the text.
    pub(crate) fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// Appends `(p1, p2, …)` with a placeholder per value: one row of a
    /// multi-row `VALUES` list. `values` must not be empty: `()` is a
    /// syntax error on both backends, so callers skip an empty batch.
    pub(crate) fn row(&mut self, values: impl IntoIterator<Item = Arg>) -> &mut Self {
        self.text.push('(');
        let mut values = values.into_iter().peekable();
        debug_assert!(values.peek().is_some(), "an empty SQL row or IN list");
        for (i, value) in values.enumerate() {
            let p = self.arg(value);
            if i > 0 {
                self.text.push_str(", ");
            }
            self.text.push_str(&p);
        }
        self.text.push(')');
        self
    }

    /// Appends `(p1, p2, …)` for a list of ids (the right side of `IN`).
    /// `ids` must not be empty (`IN ()` is a syntax error; see [`Sql::row`]).
    pub(crate) fn in_list<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) -> &mut Self {
        self.row(ids.into_iter().map(|id| Arg::Text(id.to_string())))
    }

    /// The statement for `backend`. On SQLite its `$n` become bare `?`,
    /// each bound in the order it appears (R-VDIR-13): SQLite takes `$n`
    /// for a name, which its parser looks up among the names before it and
    /// sqlx asks back for every parameter it binds, two linear searches per
    /// parameter, so a multi-row statement of n parameters cost O(n²); a
    /// first sync's plan (2,000 parameters a statement) and status batches
    /// spent about a fifth of their CPU there. `?` is numbered in passing.
    pub(crate) fn query(&self, backend: Backend) -> Query<'static, Any, AnyArguments> {
        // Only constant fragments and table names go into the text; every
        // value is bound, so this is not an injection path.
        //
        // Not kept in the connection's prepared-statement cache: a built
        // text's shape follows its data (an IN list or a multi-row VALUES of
        // 1 to 1,000 rows), so each new row count was cached as its own
        // statement, up to the cache's 100 per connection, a large multi-row
        // one holding its whole program; a first sync's peak RSS then grew
        // with the mailbox by about 150 bytes an item between 2,000 and
        // 20,000 items (R-SCALE-11) until the caches filled. Preparing such a
        // statement each time costs less than the rows it writes.
        let (text, args) = match backend {
            Backend::Postgres => (self.text.clone(), self.args.iter().collect()),
            Backend::Sqlite => positional(&self.text, &self.args),
        };
        let mut q = sqlx::query(AssertSqlSafe(text)).persistent(false);
        for arg in args {
            q = match arg {
                Arg::Text(s) => q.bind(s.clone()),
                Arg::Int(i) => q.bind(*i),
                Arg::OptText(s) => q.bind(s.clone()),
            };
        }
        q
    }
}

/// `text` with each `$n` outside quotes replaced by `?`, and the argument
/// each stands for, in the order they appear (a `$n` used twice is bound
/// twice).
fn positional<'a>(text: &str, args: &'a [Arg]) -> (String, Vec<&'a Arg>) {
    let mut out = String::with_capacity(text.len());
    let mut bound = Vec::with_capacity(args.len());
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '$') if chars.peek().is_some_and(|(_, d)| d.is_ascii_digit()) => {
                let mut end = at + 1;
                while let Some((i, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
                    end = i + d.len_utf8();
                    chars.next();
                }
                let n: usize = text[at + 1..end].parse().expect("digits");
                bound.push(&args[n - 1]);
                out.push('?');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    (out, bound)
}

/// A query whose text is built from trusted pieces (table names), values bound.
pub(crate) fn dynamic(text: String) -> Query<'static, Any, AnyArguments> {
    sqlx::query(AssertSqlSafe(text))
}

/// Now, cut to the millisecond the database keeps, so the record returned by
/// a write equals the one read back.
pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    // Only a hand-edited database holds a value out of chrono's range.
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(crate) fn to_json<T: serde::Serialize>(entity: EntityKind, id: &str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
        entity,
        id: id.to_string(),
        reason: format!("cannot encode as JSON: {e}"),
    })
}

pub(crate) fn get_i64(row: &AnyRow, col: &str) -> Result<i64> {
    row.try_get(col).map_err(StoreError::db("reading a row"))
}

pub(crate) fn get_text(row: &AnyRow, col: &str) -> Result<String> {
    row.try_get(col).map_err(StoreError::db("reading a row"))
}

pub(crate) fn get_opt_text(row: &AnyRow, col: &str) -> Result<Option<String>> {
    row.try_get(col).map_err(StoreError::db("reading a row"))
}

/// Decodes a row selected with [`RECORD_COLUMNS`].
pub(crate) fn record_from_row<F: Entity>(row: &AnyRow) -> Result<Record<F>> {
    let id = get_text(row, "id")?;
    let data = get_text(row, "data")?;
    let fields: F = serde_json::from_str(&data).map_err(|e| StoreError::Corrupt {
        entity: F::KIND,
        id: id.clone(),
        reason: e.to_string(),
    })?;
    Ok(Record {
        meta: RecordMeta {
            owner_id: get_text(row, "owner_id")?,
            created_at: from_ms(get_i64(row, "created_at")?),
            modified_at: from_ms(get_i64(row, "modified_at")?),
            version: get_i64(row, "version")?,
            id,
        },
        fields,
    })
}

/// Flags are stored as 0/1 integers: the one boolean form both backends
/// and the `Any` driver agree on.
pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

#[cfg(test)]
mod tests {
    use super::{Arg, positional};

    fn texts(args: &[&Arg]) -> Vec<String> {
        args.iter()
            .map(|a| match a {
                Arg::Text(s) => s.clone(),
                Arg::Int(i) => i.to_string(),
                Arg::OptText(s) => format!("{s:?}"),
            })
            .collect()
    }

    // R-VDIR-13: SQLite gets bare `?`, each bound in the order it appears,
    // a placeholder used twice bound twice; a `$` inside quotes stays text.
    #[test]
    fn r_vdir_13_sqlite_placeholders_are_positional_in_order_of_appearance() {
        let args: Vec<Arg> = (1..=10).map(|i| Arg::Text(format!("a{i}"))).collect();
        let (text, bound) = positional("INSERT INTO t VALUES ($1, $10, '$2', \"$3\"), ($1, $3)", &args);
        assert_eq!(text, "INSERT INTO t VALUES (?, ?, '$2', \"$3\"), (?, ?)");
        assert_eq!(texts(&bound), ["a1", "a10", "a1", "a3"]);
    }
}
