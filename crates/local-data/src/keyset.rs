//! Keyset pagination (issue 17, point 8): a page starts where the previous
//! one ended, found by the sort key of its last row, so page 10,000 costs
//! what page 1 does. `LIMIT … OFFSET n` reads and throws away n rows first.
//!
//! A list's order is a list of [`Key`]s (the sort column's SQL, then the
//! tie-breakers that make it total, e.g. `r.position, q.id`). A page's
//! [`Cursor`] holds the key values of its first or last row; the next page is
//! the rows strictly after those values in the same order, the previous page
//! the rows strictly before, read in reverse and turned back. Keys may be
//! NULL (an empty cell): they sort last in either direction, as
//! [`crate::order_by`] orders them, and the seek condition says so.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row, params_from_iter};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, MAX_PAGE};

/// Where a page of a list begins, relative to a page already shown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PageStart {
    /// The first page.
    #[default]
    First,
    /// The rows right after the page whose `next` cursor this is.
    After(Cursor),
    /// The rows right before the page whose `previous` cursor this is.
    Before(Cursor),
}

/// An opaque position in a sorted list: the sort key of one row. Valid only
/// for the same list in the same order; a cursor from another order is
/// refused rather than read as a wrong position.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// The cursor as text, to hand to a caller and take back unchanged.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for Cursor {
    fn from(text: String) -> Self {
        Cursor(text)
    }
}

impl PageStart {
    /// The start a caller asks for with a cursor it got as a page's
    /// [`KeysetPage::next_token`] or [`KeysetPage::previous_token`]: the
    /// token says which way to read, so the caller only hands it back.
    pub fn from_token(token: &str) -> Result<PageStart, Error> {
        if let Some(cursor) = token.strip_prefix(AFTER) {
            Ok(PageStart::After(Cursor(cursor.to_owned())))
        } else if let Some(cursor) = token.strip_prefix(BEFORE) {
            Ok(PageStart::Before(Cursor(cursor.to_owned())))
        } else {
            Err(stale_cursor())
        }
    }
}

/// The prefixes of a token: which side of its cursor the page is.
const AFTER: &str = "after:";
const BEFORE: &str = "before:";

/// One page of a keyset-paged list.
#[derive(Debug, Clone, PartialEq)]
pub struct KeysetPage<T> {
    pub items: Vec<T>,
    /// Set when rows follow this page: pass it as [`PageStart::After`].
    pub next: Option<Cursor>,
    /// Set when rows precede this page: pass it as [`PageStart::Before`].
    pub previous: Option<Cursor>,
}

impl<T> KeysetPage<T> {
    /// [`Self::next`] as one opaque token for [`PageStart::from_token`].
    pub fn next_token(&self) -> Option<String> {
        self.next.as_ref().map(|cursor| format!("{AFTER}{}", cursor.0))
    }

    /// [`Self::previous`] as one opaque token for [`PageStart::from_token`].
    pub fn previous_token(&self) -> Option<String> {
        self.previous.as_ref().map(|cursor| format!("{BEFORE}{}", cursor.0))
    }
}

/// The refusal of a cursor that is not this list's: never read as a position.
fn stale_cursor() -> Error {
    Error::invalid(
        "cursor",
        "the page cursor does not belong to this list and order (the filter or sort changed, or the cursor is damaged): start again from the first page",
    )
}

/// A short digest of what a list is filtered by, for its order's name: a
/// cursor taken under other filters is then refused instead of starting a
/// page at a position that means nothing in the new list.
pub(crate) fn scope_digest(filters: &impl Serialize) -> String {
    use sha2::{Digest, Sha256};
    // Serialising plain data (numbers, strings, options) cannot fail; an
    // empty text would only make cursors of that list stricter, not wrong.
    let bytes = serde_json::to_vec(filters).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    digest[..8].iter().map(|byte| format!("{byte:02x}")).collect()
}

/// One term of an order: fixed SQL (never caller text) over the list's tables.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub sql: String,
    pub descending: bool,
    /// The term is never NULL (a position, an id): lets the first key bound
    /// an index range, which an `OR … IS NULL` would hide from SQLite.
    pub not_null: bool,
}

impl Key {
    pub fn asc(sql: impl Into<String>) -> Key {
        Key { sql: sql.into(), descending: false, not_null: true }
    }

    pub fn nullable(sql: impl Into<String>, descending: bool) -> Key {
        Key { sql: sql.into(), descending, not_null: false }
    }

    pub fn not_null(sql: impl Into<String>, descending: bool) -> Key {
        Key { sql: sql.into(), descending, not_null: true }
    }
}

/// A total order over a list and the name that ties cursors to it.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    /// Which list and sort this is (e.g. `requests:model:desc`), kept in every cursor.
    pub name: String,
    pub keys: Vec<Key>,
}

/// The pieces of a keyset query: `SELECT {columns}, <keys> FROM … WHERE {filter} AND <seek> ORDER BY …`.
pub(crate) struct Query<'a> {
    pub columns: &'a str,
    /// `FROM … WHERE …`, the list's filter, its placeholders numbered for `args`.
    pub from_where: &'a str,
    pub args: Vec<SqlValue>,
    /// How many of `columns` there are: the keys are read after them.
    pub column_count: usize,
}

impl Order {
    /// This order over the list filtered by `filters`: its cursors are
    /// refused by the same order over other filters.
    pub fn scoped(mut self, filters: &impl Serialize) -> Order {
        self.name = format!("{}@{}", self.name, scope_digest(filters));
        self
    }

    /// Reads the page of `query` that `start` asks for, `limit` rows at most.
    pub fn page<T>(
        &self,
        conn: &Connection,
        query: Query<'_>,
        start: &PageStart,
        limit: u32,
        mut read: impl FnMut(&Row<'_>) -> Result<T, Error>,
    ) -> Result<KeysetPage<T>, Error> {
        if limit == 0 || limit > MAX_PAGE {
            return Err(Error::invalid(
                "limit",
                format!("a page holds 1 to {MAX_PAGE} rows, not {limit}: ask for several pages"),
            ));
        }
        let column_count = query.column_count;
        let (sql, args) = self.sql(query, start, limit)?;
        let backward = matches!(start, PageStart::Before(_));
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(&args))?;
        let mut items = Vec::new();
        let mut cursors = Vec::new();
        let mut more = false;
        while let Some(row) = rows.next()? {
            if items.len() == limit as usize {
                more = true;
                break;
            }
            let values = (0..self.keys.len())
                .map(|i| row.get::<_, SqlValue>(column_count + i))
                .collect::<Result<Vec<_>, _>>()?;
            cursors.push(values);
            items.push(read(row)?);
        }
        if backward {
            items.reverse();
            cursors.reverse();
        }
        let first = cursors.first().map(|values| self.encode(values)).transpose()?;
        let last = cursors.last().map(|values| self.encode(values)).transpose()?;
        // Reading forward from a cursor, rows came before it; reading
        // backward, rows follow it. `more` is the other side.
        let (next, previous) = match start {
            PageStart::First => (if more { last } else { None }, None),
            PageStart::After(_) => (if more { last } else { None }, first),
            PageStart::Before(_) => (last, if more { first } else { None }),
        };
        Ok(KeysetPage { items, next, previous })
    }

    /// The page's SQL and its parameters: the list's query, sought past the
    /// cursor, in order (reversed for a backward read), one row over `limit`.
    pub fn sql(&self, query: Query<'_>, start: &PageStart, limit: u32) -> Result<(String, Vec<SqlValue>), Error> {
        let Query { columns, from_where, mut args, .. } = query;
        let (cursor, backward) = match start {
            PageStart::First => (None, false),
            PageStart::After(cursor) => (Some(self.decode(cursor)?), false),
            PageStart::Before(cursor) => (Some(self.decode(cursor)?), true),
        };
        let seek = match (&cursor, self.keys.first()) {
            (Some(values), _) => format!(" AND {}", self.seek(values, backward, &mut args)),
            // The first page bounds a never-NULL first key too, by a value
            // below every number and text (-9e999 is -infinity), so that
            // SQLite reads it in order from its index, as it does past a
            // cursor, instead of sorting the whole list for one page.
            (None, Some(key)) if key.not_null => format!(" AND {} >= -9e999", key.sql),
            (None, _) => String::new(),
        };
        let keys: Vec<&str> = self.keys.iter().map(|k| k.sql.as_str()).collect();
        // One row more than the page tells whether another page follows.
        let rows = i64::from(limit) + 1;
        if let (Some(values), Some(first)) = (&cursor, self.keys.first())
            && !first.not_null
        {
            return Ok(self.computed_seek_sql(columns, from_where, values, backward, args, rows));
        }
        let sql = format!(
            "SELECT {columns}, {} {from_where}{seek} ORDER BY {} LIMIT {rows}",
            keys.join(", "),
            self.order_by(backward),
        );
        Ok((sql, args))
    }

    /// A page past a cursor when the first key is computed and may be NULL
    /// (a JSON cell, an answer's text): no index can seek it, so every row
    /// is tested, and the seek's `k < ? OR k IS NULL OR (k = ? AND …)`
    /// would compute the key several times a row. A subquery computes the
    /// keys once (its `LIMIT -1` keeps SQLite from merging it into the
    /// outer query, which has a `LIMIT` of its own), and the seek and order
    /// read them as columns.
    fn computed_seek_sql(
        &self,
        columns: &str,
        from_where: &str,
        values: &[SqlValue],
        backward: bool,
        mut args: Vec<SqlValue>,
        rows: i64,
    ) -> (String, Vec<SqlValue>) {
        let computed = Order {
            name: self.name.clone(),
            keys: self
                .keys
                .iter()
                .enumerate()
                .map(|(i, key)| Key { sql: format!("keyset_k{i}"), ..key.clone() })
                .collect(),
        };
        let keys: Vec<String> =
            self.keys.iter().enumerate().map(|(i, key)| format!("{} AS keyset_k{i}", key.sql)).collect();
        let seek = computed.seek(values, backward, &mut args);
        let sql = format!(
            "SELECT * FROM (SELECT {columns}, {} {from_where} LIMIT -1) WHERE {seek} ORDER BY {} LIMIT {rows}",
            keys.join(", "),
            computed.order_by(backward),
        );
        (sql, args)
    }

    /// The `ORDER BY` list, reversed for a backward read. NULLs sort last
    /// in the list's own order whichever the direction, so first backward.
    fn order_by(&self, backward: bool) -> String {
        let terms: Vec<String> = self
            .keys
            .iter()
            .map(|key| {
                let ascending = key.descending == backward;
                let nulls = if backward { "NULLS FIRST" } else { "NULLS LAST" };
                format!("{} {} {nulls}", key.sql, if ascending { "ASC" } else { "DESC" })
            })
            .collect();
        terms.join(", ")
    }

    /// The rows strictly after (or before) `values` in this order:
    /// `k1 ▷ v1 OR (k1 = v1 AND k2 ▷ v2) OR …`, with the NULL cases spelt
    /// out, since `NULL > x` is neither true nor false in SQL.
    fn seek(&self, values: &[SqlValue], backward: bool, args: &mut Vec<SqlValue>) -> String {
        let mut place = |value: &SqlValue| {
            args.push(value.clone());
            format!("?{}", args.len())
        };
        let mut alternatives = Vec::new();
        let mut equal_so_far: Vec<String> = Vec::new();
        for (key, value) in self.keys.iter().zip(values) {
            let null = matches!(value, SqlValue::Null);
            let beyond = match (null, backward) {
                // Nothing sorts after NULL in its key (NULLs are last).
                (true, false) => None,
                (true, true) => Some(format!("{} IS NOT NULL", key.sql)),
                (false, _) => {
                    let placeholder = place(value);
                    let forward_op = if key.descending { "<" } else { ">" };
                    let backward_op = if key.descending { ">" } else { "<" };
                    Some(if backward {
                        format!("{} {backward_op} {placeholder}", key.sql)
                    } else if key.not_null {
                        format!("{} {forward_op} {placeholder}", key.sql)
                    } else {
                        format!("({} {forward_op} {placeholder} OR {} IS NULL)", key.sql, key.sql)
                    })
                }
            };
            if let Some(beyond) = beyond {
                let mut terms = equal_so_far.clone();
                terms.push(beyond);
                alternatives.push(format!("({})", terms.join(" AND ")));
            }
            if equal_so_far.len() + 1 == self.keys.len() {
                // The last key's equality would only ever serve a key after it.
                break;
            }
            equal_so_far.push(if null {
                format!("{} IS NULL", key.sql)
            } else {
                format!("{} = {}", key.sql, place(value))
            });
        }
        let mut seek =
            if alternatives.is_empty() { "0".to_owned() } else { format!("({})", alternatives.join(" OR ")) };
        // A never-NULL first key also bounds the range on its own, so that
        // SQLite seeks its index instead of testing the OR on every row.
        if let (Some(key), Some(value)) = (self.keys.first(), values.first())
            && key.not_null
            && !matches!(value, SqlValue::Null)
        {
            let op = if key.descending != backward { "<=" } else { ">=" };
            seek = format!("({} {op} {} AND {seek})", key.sql, place(value));
        }
        seek
    }

    pub(crate) fn encode(&self, values: &[SqlValue]) -> Result<Cursor, Error> {
        let keys = values
            .iter()
            .map(|value| match value {
                SqlValue::Null => Ok(Value::Null),
                SqlValue::Integer(n) => Ok(Value::from(*n)),
                // A real is kept apart from an integer (SQLite compares them
                // equal, but the key must come back as it was).
                SqlValue::Real(x) => Ok(serde_json::json!({ "real": x })),
                SqlValue::Text(text) => Ok(Value::from(text.as_str())),
                SqlValue::Blob(_) => Err(Error::State(format!("a sort key of {} is binary", self.name))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Cursor(serde_json::json!({ "order": self.name, "keys": keys }).to_string()))
    }

    fn decode(&self, cursor: &Cursor) -> Result<Vec<SqlValue>, Error> {
        let stale = stale_cursor;
        let parsed: Value = serde_json::from_str(&cursor.0).map_err(|_| stale())?;
        if parsed["order"].as_str() != Some(self.name.as_str()) {
            return Err(stale());
        }
        let keys = parsed["keys"].as_array().ok_or_else(stale)?;
        if keys.len() != self.keys.len() {
            return Err(stale());
        }
        keys.iter()
            .map(|key| match key {
                Value::Null => Ok(SqlValue::Null),
                Value::String(text) => Ok(SqlValue::Text(text.clone())),
                Value::Number(n) => n.as_i64().map(SqlValue::Integer).ok_or_else(stale),
                Value::Object(real) => real.get("real").and_then(Value::as_f64).map(SqlValue::Real).ok_or_else(stale),
                _ => Err(stale()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Order {
        Order { name: "t:v:asc".into(), keys: vec![Key::nullable("v", false), Key::asc("id")] }
    }

    #[test]
    fn cursors_round_trip_every_sql_type_and_refuse_another_order() {
        let values = vec![SqlValue::Real(3.0), SqlValue::Integer(7)];
        let cursor = order().encode(&values).unwrap();
        assert_eq!(order().decode(&cursor).unwrap(), values, "a real stays a real");
        let text = vec![SqlValue::Text("a \"b\"".into()), SqlValue::Null];
        assert_eq!(order().decode(&order().encode(&text).unwrap()).unwrap(), text);

        let other = Order { name: "t:v:desc".into(), ..order() };
        assert_eq!(other.decode(&cursor).unwrap_err().code(), "invalid_input");
        assert_eq!(order().decode(&Cursor("not json".into())).unwrap_err().code(), "invalid_input");
    }
}
