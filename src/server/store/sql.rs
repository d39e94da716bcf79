//! SQL text written once for both backends, and the few places where their dialects differ.
//!
//! Statements use numbered placeholders (`$1`, `$2` …): PostgreSQL needs them and sqlx's SQLite
//! driver binds them by number too. sqlx's own `QueryBuilder<Any>` would emit `?`, which
//! PostgreSQL rejects, hence [`Sql`]. Only `i64`, `f64` and text (optional or not) are bound,
//! and flags are stored as integers, so both backends decode every column the same way.

use sqlx::any::{Any, AnyArguments, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Arguments, Encode, Type};

use super::{StoreError, StoreResult};

/// Which database the store runs on; decided once from the URL in [`super::Store::open`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: one file, one writer.
    Sqlite,
    /// A shared server, possibly with several `keydeck serve` replicas on it.
    Postgres,
}

impl Backend {
    /// PostgreSQL for `postgres://` and `postgresql://` URLs, SQLite for anything else
    /// (`sqlite:PATH` or a plain path).
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// The scalar function that gives the larger of its arguments.
    pub fn greatest(self) -> &'static str {
        match self {
            Backend::Sqlite => "MAX",
            Backend::Postgres => "GREATEST",
        }
    }

    /// `alias.description` contains `search`, ignoring case, through the table's trigram index.
    ///
    /// SQLite: the FTS5 table `fts` (trigram tokenizer) when the search has the three
    /// characters a trigram needs, a scan otherwise. PostgreSQL: `ILIKE`, served by the
    /// pg_trgm GIN index at any length it can use, with `%`, `_` and `\` matching themselves.
    pub fn push_search(self, q: &mut Sql, fts: &str, alias: &str, search: &str) {
        match self {
            Backend::Sqlite if search.chars().count() >= 3 => {
                let phrase = format!("\"{}\"", search.replace('"', "\"\""));
                q.push(&format!(
                    "{alias}.seq IN (SELECT rowid FROM {fts} WHERE {fts} MATCH "
                ))
                .bind(phrase)
                .push(")");
            }
            Backend::Sqlite => {
                q.push(&format!("instr(lower({alias}.description), lower("))
                    .bind(search.to_owned())
                    .push(")) > 0");
            }
            Backend::Postgres => {
                let escaped = search
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                q.push(&format!("{alias}.description ILIKE "))
                    .bind(format!("%{escaped}%"));
            }
        }
    }

    /// ` AND column starts with prefix`. Never `LIKE`, so `%` and `_` in what a user typed
    /// match only themselves; ids are lower-case, so the prefix is lowered too.
    pub fn push_id_prefix(self, q: &mut Sql, column: &str, prefix: &str) {
        self.push_starts_with(q, column, &prefix.to_lowercase());
    }

    /// ` AND column starts with prefix`, case-sensitive.
    pub fn push_starts_with(self, q: &mut Sql, column: &str, prefix: &str) {
        let prefix = prefix.to_owned();
        match self {
            Backend::Sqlite => {
                q.push(&format!(" AND substr({column}, 1, "))
                    .bind(i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX))
                    .push(") = ")
                    .bind(prefix);
            }
            Backend::Postgres => {
                q.push(&format!(" AND starts_with({column}, "))
                    .bind(prefix)
                    .push(")");
            }
        }
    }
}

/// `url` fit for messages and logs: a PostgreSQL URL's password, in its userinfo or as a
/// `password=` parameter, is replaced by `***`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    // The userinfo ends at the last `@` before the path.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _password)) => format!("{user}:***{}", &rest[at..]),
            None => rest.to_owned(),
        },
        None => rest.to_owned(),
    };
    let Some(query) = query else {
        return format!("{scheme}://{rest}");
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{scheme}://{rest}?{}", query.join("&"))
}

/// A statement being built: its text with `$N` placeholders and the values bound to them.
pub struct Sql {
    text: String,
    args: AnyArguments<'static>,
    bound: usize,
    /// The first value that failed to encode; reported when the statement is run.
    error: Option<BoxDynError>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Sql {
            text: text.into(),
            args: AnyArguments::default(),
            bound: 0,
            error: None,
        }
    }

    /// The statement's text so far.
    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends the next placeholder and binds `value` to it.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Encode<'static, Any> + Type<Any>,
    {
        self.bound += 1;
        self.text.push_str(&format!("${}", self.bound));
        if let Err(e) = self.args.add(value)
            && self.error.is_none()
        {
            self.error = Some(e);
        }
        self
    }

    /// `($1, $2, …)` with `values` bound; `(NULL)` for none, which matches nothing.
    pub fn list(&mut self, values: &[String]) -> &mut Self {
        if values.is_empty() {
            return self.push("(NULL)");
        }
        self.push("(");
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value.clone());
        }
        self.push(")")
    }

    /// The statement, ready to run; its values move into it.
    pub fn query(&mut self) -> StoreResult<Query<'_, Any, AnyArguments<'_>>> {
        let args = self.take_args()?;
        Ok(sqlx::query_with(&self.text, args))
    }

    /// The statement as one that returns a single value per row.
    pub fn query_scalar<O>(&mut self) -> StoreResult<QueryScalar<'_, Any, O, AnyArguments<'_>>>
    where
        (O,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let args = self.take_args()?;
        Ok(sqlx::query_scalar_with(&self.text, args))
    }

    /// The statement as one whose rows decode as `T`.
    pub fn query_as<T>(&mut self) -> StoreResult<QueryAs<'_, Any, T, AnyArguments<'_>>>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        let args = self.take_args()?;
        Ok(sqlx::query_as_with(&self.text, args))
    }

    fn take_args(&mut self) -> StoreResult<AnyArguments<'static>> {
        if let Some(e) = self.error.take() {
            return Err(StoreError::Db(sqlx::Error::Encode(e)));
        }
        Ok(std::mem::take(&mut self.args))
    }
}

/// A statement that reads records: `columns` of the rows of `table alias` that its
/// conditions match, in `order`, each decoded as a `T` whose fields follow `columns`.
///
/// Each backend hands them over the way it does it fastest. SQLite gives one JSON text
/// (`json_group_array`) and the service parses it: sqlx hands SQLite's rows over one at a
/// time from the connection's thread, so a page of 50 was 50 handoffs and 50 conversions.
/// PostgreSQL gives rows, which its binary protocol decodes for less than the server would
/// spend writing the JSON (`json_agg` served fewer pages a second in
/// `cargo bench --bench service_load`).
///
/// The caller goes on with the conditions (and any inner order and limit) through `Deref` to
/// [`Sql`], then runs [`Records::fetch`].
pub struct Records {
    sql: Sql,
    backend: Backend,
    tail: String,
}

impl Records {
    pub fn select(backend: Backend, columns: &str, table: &str, alias: &str, order: &str) -> Self {
        let (head, tail) = match backend {
            Backend::Sqlite => (
                format!("json_group_array(json_array({columns}) ORDER BY {order})"),
                format!(") {alias}"),
            ),
            Backend::Postgres => (columns.to_owned(), format!(") {alias} ORDER BY {order}")),
        };
        Records {
            sql: Sql::new(format!(
                "SELECT {head} FROM (SELECT {columns} FROM {table} {alias} WHERE "
            )),
            backend,
            tail,
        }
    }

    /// Runs the statement: the records it matches, in its order, each made into a `T`.
    pub async fn fetch_into<'c, R, T, E>(self, executor: E) -> StoreResult<Vec<T>>
    where
        R: Record,
        T: From<R>,
        E: sqlx::Executor<'c, Database = Any>,
    {
        let records: Vec<R> = self.fetch(executor).await?;
        Ok(records.into_iter().map(T::from).collect())
    }

    /// Like [`Records::fetch_into`], for a statement that matches one record at most.
    pub async fn fetch_one_into<'c, R, T, E>(self, executor: E) -> StoreResult<Option<T>>
    where
        R: Record,
        T: From<R>,
        E: sqlx::Executor<'c, Database = Any>,
    {
        Ok(self
            .fetch_into::<R, T, E>(executor)
            .await?
            .into_iter()
            .next())
    }

    /// Runs the statement: the records it matches, in its order.
    pub async fn fetch<'c, T, E>(self, executor: E) -> StoreResult<Vec<T>>
    where
        T: Record,
        E: sqlx::Executor<'c, Database = Any>,
    {
        let Records {
            mut sql,
            backend,
            tail,
        } = self;
        sql.push(&tail);
        match backend {
            Backend::Sqlite => {
                let text: String = sql.query_scalar()?.fetch_one(executor).await?;
                super::parse_json(&text)
            }
            Backend::Postgres => Ok(sql.query_as()?.fetch_all(executor).await?),
        }
    }
}

/// What a record of [`Records`] decodes from: a JSON array (SQLite) or a row (PostgreSQL),
/// its fields in the order of the statement's columns.
pub trait Record:
    serde::de::DeserializeOwned + for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin
{
}

impl<T> Record for T where
    T: serde::de::DeserializeOwned + for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin
{
}

impl std::ops::Deref for Records {
    type Target = Sql;

    fn deref(&self) -> &Sql {
        &self.sql
    }
}

impl std::ops::DerefMut for Records {
    fn deref_mut(&mut self) -> &mut Sql {
        &mut self.sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut q = Sql::new("SELECT 1 WHERE a = ");
        q.bind(1_i64)
            .push(" AND b IN ")
            .list(&["x".into(), "y".into()]);
        assert_eq!(q.text, "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
        assert_eq!(q.args.len(), 3);
    }

    #[test]
    fn an_empty_list_matches_nothing() {
        let mut q = Sql::new("x IN ");
        q.list(&[]);
        assert_eq!(q.text, "x IN (NULL)");
    }

    #[test]
    fn postgres_search_matches_wildcards_literally() {
        let mut q = Sql::new("");
        Backend::Postgres.push_search(&mut q, "unused", "k", "50%_off\\");
        assert_eq!(q.text, "k.description ILIKE $1");
    }

    #[test]
    fn passwords_do_not_reach_messages() {
        assert_eq!(
            redacted("postgres://kd:s3cr@t@db:5432/kd"),
            "postgres://kd:***@db:5432/kd"
        );
        assert_eq!(redacted("postgres://kd@db/kd"), "postgres://kd@db/kd");
        assert_eq!(redacted("sqlite:/tmp/k.db"), "sqlite:/tmp/k.db");
        assert_eq!(
            redacted("postgres://kd@db/kd?sslmode=require&password=s3cret&application_name=x"),
            "postgres://kd@db/kd?sslmode=require&password=***&application_name=x"
        );
        assert_eq!(
            redacted("postgres://kd:pw@db/kd?password=other"),
            "postgres://kd:***@db/kd?password=***"
        );
    }

    #[test]
    fn backend_follows_the_url_scheme() {
        assert_eq!(Backend::of_url("postgres://h/db"), Backend::Postgres);
        assert_eq!(Backend::of_url("postgresql://h/db"), Backend::Postgres);
        assert_eq!(Backend::of_url("sqlite:/tmp/k.db"), Backend::Sqlite);
        assert_eq!(Backend::of_url("/tmp/k.db"), Backend::Sqlite);
    }
}
