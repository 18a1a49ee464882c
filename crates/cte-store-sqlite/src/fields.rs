//! Where the store keeps each of CE's indicator fields ([`Field`]): the one table from CE's names
//! to SQL columns, which list sorts (`listing.rs`), dashboard groups (`dashboard.rs`) and
//! filters (`filter_sql.rs`) read.
//!
//! A field of the indicator is a column of `indicators`, which every query aliases `i`; a field
//! of a source record ([`Field::is_per_source`]) is a column of `indicator_sources`, whose alias
//! each query chooses.

use cte_core::field::Field;

/// How a column holds its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    /// TEXT, never NULL.
    Text,
    /// INTEGER, never NULL (a severity is stored as its rank).
    Integer,
    /// INTEGER 0 or 1.
    Boolean,
    /// Milliseconds since the epoch, UTC; NULL only where `nullable` (a missing `expiresAt`).
    Time { nullable: bool },
    /// A JSON array of strings, as TEXT.
    JsonArray,
}

/// The column of one field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    field: Field,
    /// How the column holds the field.
    pub(crate) stored: Stored,
}

/// The column `field` is kept in. Every column is named after its field, CE's last path segment
/// in snake case (`sources.lastSeen` is `indicator_sources.last_seen`); what differs between
/// fields is how they are stored.
pub(crate) fn column(field: Field) -> Column {
    use Stored::*;
    let stored = match field {
        Field::Value | Field::Type | Field::Source | Field::Comments => Text,
        Field::ExtendedInformation => Text,
        Field::Test | Field::Safe | Field::Active | Field::Retracted => Boolean,
        Field::InternalHits | Field::ExternalHits | Field::Reputation | Field::Severity => Integer,
        Field::SourceInternalHits | Field::SourceExternalHits => Integer,
        Field::ExpiresAt => Time { nullable: true },
        Field::FirstSeen | Field::LastSeen => Time { nullable: false },
        Field::SharedWith => JsonArray,
    };
    Column { field, stored }
}

impl Column {
    /// The column's name in its table.
    fn name(&self) -> String {
        let mut name = String::new();
        for c in self.field.name().chars() {
            if c.is_ascii_uppercase() {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        }
        name
    }

    /// The column qualified by its table's alias: `i.expires_at`, or `s.last_seen` for a source
    /// record's column when `source` is `s`.
    pub(crate) fn sql(&self, source: &str) -> String {
        let table = if self.field.is_per_source() {
            source
        } else {
            "i"
        };
        format!("{table}.{}", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field's column exists in its table, with the NULL-ness the table says.
    #[test]
    fn every_column_is_in_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        drop(crate::SqliteStore::open(dir.path().join("cols.db")).unwrap());
        let conn = rusqlite::Connection::open(dir.path().join("cols.db")).unwrap();
        for field in Field::all() {
            let c = column(field);
            let table = if field.is_per_source() {
                "indicator_sources"
            } else {
                "indicators"
            };
            let not_null: bool = conn
                .query_row(
                    "SELECT \"notnull\" FROM pragma_table_info(?1) WHERE name = ?2",
                    [table, &c.name()],
                    |r| r.get(0),
                )
                .unwrap_or_else(|e| panic!("{field:?}: {table}.{}: {e}", c.name()));
            let nullable = matches!(c.stored, Stored::Time { nullable: true });
            assert_eq!(not_null, !nullable, "{field:?}");
        }
        assert_eq!(column(Field::LastSeen).sql("fs"), "fs.last_seen");
        assert_eq!(
            column(Field::SourceExternalHits).sql("s"),
            "s.external_hits"
        );
        assert_eq!(column(Field::ExpiresAt).sql("fs"), "i.expires_at");
    }
}
