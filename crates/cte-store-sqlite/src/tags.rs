//! Tags (`tags`): names and colours. Which indicators carry a tag is in `source_tags`, written by
//! ingest and bulk edits.

use cte_core::tag::Tag;
use cte_core::StoreResult;
use rusqlite::{params, Transaction};

use crate::error::{conflict_or_sql, found, sql};

pub(crate) fn insert_tag(tx: &Transaction<'_>, tag: &Tag) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO tags (name, color) VALUES (?1, ?2)",
        params![tag.name, tag.color],
    )
    .map_err(|e| {
        conflict_or_sql(e, || {
            format!("Tag with name '{}' already exists.", tag.name)
        })
    })?;
    Ok(())
}

pub(crate) fn tags(tx: &Transaction<'_>) -> StoreResult<Vec<Tag>> {
    let mut stmt = tx
        .prepare("SELECT name, color FROM tags ORDER BY name")
        .map_err(sql)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Tag {
                name: r.get(0)?,
                color: r.get(1)?,
            })
        })
        .map_err(sql)?;
    rows.collect::<Result<_, _>>().map_err(sql)
}

pub(crate) fn missing_tags(tx: &Transaction<'_>, names: &[String]) -> StoreResult<Vec<String>> {
    let mut stmt = tx
        .prepare_cached("SELECT 1 FROM tags WHERE name = ?1")
        .map_err(sql)?;
    let mut missing = Vec::new();
    for n in names {
        if !stmt.exists([n]).map_err(sql)? && !missing.contains(n) {
            missing.push(n.clone());
        }
    }
    Ok(missing)
}

pub(crate) fn delete_tag(tx: &Transaction<'_>, name: &str) -> StoreResult<()> {
    let n = tx
        .execute("DELETE FROM tags WHERE name = ?1", [name])
        .map_err(sql)?;
    found(n, || format!("Tag with name '{name}' does not exist."))
}
