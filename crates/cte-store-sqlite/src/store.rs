//! [`SqliteStore`]: its connections, the read and write transactions, and the port's methods, each
//! a call into the module that does the job (tokens, configurations, tags, tenants, checkpoints,
//! ingest, documents, listing, bulk edits, rules, sharing).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use cte_core::auth::{AccessGrant, ApiToken};
use cte_core::checkpoint::PullCheckpoint;
use cte_core::config::{Configuration, CteSettings, RunStatus};
use cte_core::dashboard::{DashboardQuery, DashboardRow, PullCounts};
use cte_core::filter::Filter;
use cte_core::indicator::Indicator;
use cte_core::query::{ListQuery, Locator};
use cte_core::rule::BusinessRule;
use cte_core::store::{IngestBatch, RunKind, Store, TagUsage};
use cte_core::tag::Tag;
use cte_core::tenant::AlertType;
use cte_core::tenant_config::NetskopeTenant;
use cte_core::{StoreError, StoreResult};
use rusqlite::{Connection, TransactionBehavior};

use crate::commit_log::{CommitLog, COMMIT_LOG};
use crate::error::{sql, SqliteError};
use crate::migrate::migrate;
use crate::rules;
use crate::secrets::{key_path, SecretBox};
use crate::{
    bulk_edits, checkpoints, configurations, dashboard, documents, ingest, listing, paging, tags,
    tenants, tokens,
};

const MAX_IDLE_READERS: usize = 8;

/// The SQLite store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Writer>,
    /// The generation of the writer's last logged commit (see [`CommitLog::commits`]).
    committed: AtomicU64,
    readers: Mutex<Vec<Connection>>,
    secrets: Mutex<Option<std::sync::Arc<SecretBox>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Sets up a connection the way every connection of the store is (public so that a benchmark's
/// bare-SQLite baseline runs with exactly the same settings).
///
/// - 16 KiB pages for a new database (an existing one keeps its page size): an ingest batch
///   inserts its keys at random places of the key index (then a single one, now the small tier
///   of `value_keys`), so each commit rewrites most of that index's leaves; with fewer, larger
///   pages a bare insert of 1,000,000 IoCs ran about 10 % faster than with 4 KiB pages.
/// - WAL with `synchronous = NORMAL`: a commit is not fsynced, a checkpoint is; an application
///   crash loses nothing committed, a power loss may lose the last commits but never corrupts.
/// - a checkpoint every 64 MiB of WAL instead of SQLite's 1,000 pages: a 10,000-IoC ingest batch
///   dirties several MiB of index pages, so with the default every commit ran a checkpoint and
///   its two fsyncs; a page rewritten by several batches is now copied back to the database
///   once. `journal_size_limit` truncates the WAL file back to 64 MiB afterwards.
/// - a 32 MiB page cache per connection.
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA page_size = 16384;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -32768;
         PRAGMA journal_size_limit = 67108864;",
    )?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_BYTES / page_size)
}

/// WAL size at which the writer copies it back into the database (see [`configure`]).
const WAL_CHECKPOINT_BYTES: i64 = 64 << 20;

/// The one write connection, what it committed lately, and what it knows of the key tiers.
struct Writer {
    conn: Connection,
    log: CommitLog,
    tiers: crate::value_key::Tiers,
}

fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
}

fn open_connection(path: &Path) -> Result<Connection, SqliteError> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    crate::value_key::register(&conn)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and applies pending migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, SqliteError> {
        let path = path.as_ref().to_path_buf();
        let mut writer = open_connection(&path)?;
        migrate(&mut writer)?;
        let data_version = data_version(&writer)?;
        Ok(SqliteStore {
            path,
            writer: Mutex::new(Writer {
                conn: writer,
                log: CommitLog {
                    data_version,
                    commits: VecDeque::with_capacity(COMMIT_LOG),
                },
                tiers: crate::value_key::Tiers::new(crate::value_key::SLICES),
            }),
            committed: AtomicU64::new(0),
            readers: Mutex::new(Vec::new()),
            secrets: Mutex::new(None),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token cipher; the key file is created only when `create` is set (on first save).
    pub(crate) fn secret_box(&self, create: bool) -> StoreResult<std::sync::Arc<SecretBox>> {
        let mut slot = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = slot.as_ref() {
            return Ok(b.clone());
        }
        if !create && !key_path(&self.path).exists() {
            return Err(StoreError::from(SqliteError::Key(format!(
                "{} is missing: the tenant tokens in this database cannot be decrypted without it",
                key_path(&self.path).display()
            ))));
        }
        let b = std::sync::Arc::new(SecretBox::open_or_create(&self.path)?);
        *slot = Some(b.clone());
        Ok(b)
    }

    /// Runs `f` in an IMMEDIATE write transaction; commits on `Ok`, rolls back on `Err`.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.write_logging_keys(|tx, _, _| Ok((f(tx)?, None)))
    }

    /// [`Self::write`] for a transaction that knows which indicators it wrote: `f` also gets the
    /// commit log (to ask what changed since a snapshot) and the key tiers (for
    /// [`ingest::apply`] to merge), and returns the sorted value keys of the indicators it wrote, or
    /// `None` if it may have changed anything else.
    fn write_logging_keys<T>(
        &self,
        f: impl FnOnce(
            &rusqlite::Transaction<'_>,
            &CommitLog,
            &mut crate::value_key::Tiers,
        ) -> StoreResult<(T, Option<Vec<i64>>)>,
    ) -> StoreResult<T> {
        let mut guard = self.writer();
        let Writer { conn, log, tiers } = &mut *guard;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        // Nobody else can commit from here until this transaction ends: if somebody did since
        // the writer's last transaction, it is logged as a change to anything.
        let version = data_version(&tx).map_err(sql)?;
        if version != log.data_version {
            log.data_version = version;
            log.push(&self.committed, None);
        }
        let (out, keys) = f(&tx, log, tiers)?;
        tx.commit().map_err(sql)?;
        log.push(&self.committed, keys);
        Ok(out)
    }

    /// The second half of [`Store::ingest`]: writes `planned` (made on a snapshot taken after
    /// generation `since`) if no commit since may have changed what it read, else plans again.
    fn ingest_planned(
        &self,
        batch: &IngestBatch<'_>,
        since: u64,
        planned: Option<ingest::Plan>,
    ) -> StoreResult<Vec<Indicator>> {
        self.write_logging_keys(|tx, log, tiers| {
            let mut plan = match planned {
                Some(plan) if !log.changed_since(since, &plan.keys) => plan,
                _ => ingest::plan(tx, batch)?,
            };
            let keys = std::mem::take(&mut plan.keys);
            Ok((ingest::apply(tx, batch, plan, tiers)?, Some(keys)))
        })
    }

    /// Runs `f` on a read connection inside one deferred transaction (a consistent snapshot).
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => open_connection(&self.path)?,
        };
        let result = (|| {
            let tx = conn.transaction().map_err(sql)?;
            let out = f(&tx)?;
            tx.commit().map_err(sql)?;
            Ok(out)
        })();
        let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if readers.len() < MAX_IDLE_READERS {
            readers.push(conn);
        }
        result
    }
}

impl Store for SqliteStore {
    fn health(&self) -> StoreResult<cte_core::store::StoreHealth> {
        crate::health::health(&self.path)
    }

    fn settings(&self) -> StoreResult<CteSettings> {
        self.read(configurations::read_settings)
    }

    fn update_settings(&self, settings: &CteSettings) -> StoreResult<()> {
        let text = serde_json::to_string(settings)
            .map_err(|e| StoreError::Invalid(format!("settings: {e}")))?;
        self.write(|tx| configurations::update_settings(tx, text))
    }

    fn insert_api_token(&self, t: &ApiToken) -> StoreResult<()> {
        self.write(|tx| tokens::insert_api_token(tx, t))
    }

    fn api_token(&self, client_id: &str) -> StoreResult<Option<ApiToken>> {
        self.read(|tx| tokens::api_token(tx, client_id))
    }

    fn api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        self.read(tokens::api_tokens)
    }

    fn delete_api_token(&self, client_id: &str) -> StoreResult<bool> {
        self.write(|tx| tokens::delete_api_token(tx, client_id))
    }

    fn set_login_failures(
        &self,
        client_id: &str,
        failed_attempts: u32,
        locked_until: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        self.write(|tx| tokens::set_login_failures(tx, client_id, failed_attempts, locked_until))
    }

    fn insert_access_grant(&self, g: &AccessGrant, now: DateTime<Utc>) -> StoreResult<()> {
        self.write(|tx| tokens::insert_access_grant(tx, g, now))
    }

    fn access_grant(&self, token_hash: &str) -> StoreResult<Option<AccessGrant>> {
        self.read(|tx| tokens::access_grant(tx, token_hash))
    }

    fn insert_configuration(&self, c: &Configuration) -> StoreResult<()> {
        self.write(|tx| configurations::insert_configuration(tx, c))
    }

    fn configuration(&self, name: &str) -> StoreResult<Option<Configuration>> {
        self.read(|tx| configurations::configuration(tx, name))
    }

    fn configurations(&self) -> StoreResult<Vec<Configuration>> {
        self.read(configurations::configurations)
    }

    fn update_configuration(&self, c: &Configuration) -> StoreResult<()> {
        self.write(|tx| configurations::update_configuration(tx, c))
    }

    fn delete_configuration(&self, name: &str, keep_data: bool) -> StoreResult<()> {
        self.write(|tx| configurations::delete_configuration(tx, name, keep_data))
    }

    fn insert_tag(&self, tag: &Tag) -> StoreResult<()> {
        self.write(|tx| tags::insert_tag(tx, tag))
    }

    fn tags(&self) -> StoreResult<Vec<Tag>> {
        self.read(tags::tags)
    }

    fn missing_tags(&self, names: &[String]) -> StoreResult<Vec<String>> {
        self.read(|tx| tags::missing_tags(tx, names))
    }

    fn delete_tag(&self, name: &str) -> StoreResult<()> {
        self.write(|tx| tags::delete_tag(tx, name))
    }

    fn tag_usage(&self, filter: &Filter) -> StoreResult<TagUsage> {
        self.read(|tx| listing::tag_usage(tx, filter))
    }

    /// Reconciles the batch on a read snapshot, beside whatever the writer is doing at the time
    /// (another batch, say), then writes it under the writer lock, unless a commit since that
    /// snapshot wrote one of the batch's values or may have changed anything else: then it
    /// reconciles again under the lock. Either way the result is what reconciling under the lock
    /// gives; the writer is only held for the writes.
    fn ingest(&self, batch: &IngestBatch<'_>) -> StoreResult<Vec<Indicator>> {
        // Read before the snapshot begins: a commit that lands in between counts as later.
        let since = self.committed.load(Ordering::Acquire);
        // A plan that failed on the snapshot is made again under the lock, for the error as of now.
        let planned = self.read(|tx| ingest::plan(tx, batch)).ok();
        self.ingest_planned(batch, since, planned)
    }

    fn indicator(&self, value: &str) -> StoreResult<Option<Indicator>> {
        self.read(|tx| documents::load_by_value(tx, value))
    }

    fn list_indicators(&self, query: &ListQuery) -> StoreResult<Vec<Indicator>> {
        self.read(|tx| listing::list(tx, query))
    }

    fn count_indicators(&self, filter: &Filter) -> StoreResult<u64> {
        self.read(|tx| listing::count(tx, filter))
    }

    fn set_retracted(&self, value: &str, source: &str, retracted: bool) -> StoreResult<()> {
        self.write(|tx| bulk_edits::set_retracted(tx, value, source, retracted))
    }

    fn edit_tags(&self, locator: &Locator, add: &[String], remove: &[String]) -> StoreResult<u64> {
        self.write(|tx| bulk_edits::edit_tags(tx, locator, add, remove))
    }

    fn delete_indicators(&self, locator: &Locator) -> StoreResult<u64> {
        self.write(|tx| bulk_edits::delete(tx, locator))
    }

    fn record_run(
        &self,
        configuration: &str,
        kind: RunKind,
        status: &RunStatus,
    ) -> StoreResult<()> {
        self.write(|tx| configurations::record_run(tx, configuration, kind, status))
    }

    fn insert_tenant(&self, t: &NetskopeTenant) -> StoreResult<()> {
        let sealed = self.seal_tenant(t)?;
        self.write(|tx| tenants::insert_tenant(tx, t, &sealed))
    }

    fn tenant(&self, name: &str) -> StoreResult<Option<NetskopeTenant>> {
        Ok(self.read_tenants(Some(name))?.into_iter().next())
    }

    fn tenants(&self) -> StoreResult<Vec<NetskopeTenant>> {
        self.read_tenants(None)
    }

    fn update_tenant(&self, t: &NetskopeTenant) -> StoreResult<()> {
        let sealed = self.seal_tenant(t)?;
        self.write(|tx| tenants::update_tenant(tx, t, &sealed))
    }

    fn delete_tenant(&self, name: &str) -> StoreResult<()> {
        self.write(|tx| tenants::delete_tenant(tx, name))
    }

    fn pull_checkpoint(
        &self,
        configuration: &str,
        alert_type: AlertType,
    ) -> StoreResult<Option<PullCheckpoint>> {
        self.read(|tx| checkpoints::pull_checkpoint(tx, configuration, alert_type))
    }

    fn save_pull_checkpoint(&self, checkpoint: &PullCheckpoint) -> StoreResult<()> {
        self.write(|tx| checkpoints::save_checkpoint(tx, checkpoint))
    }

    fn ingest_pull_page(
        &self,
        batch: &IngestBatch<'_>,
        checkpoint: &PullCheckpoint,
    ) -> StoreResult<()> {
        self.write_logging_keys(|tx, _, tiers| {
            let plan = ingest::plan(tx, batch)?;
            ingest::apply(tx, batch, plan, tiers)?;
            checkpoints::save_checkpoint(tx, checkpoint)?;
            Ok(((), None))
        })
    }

    fn insert_business_rule(&self, rule: &BusinessRule) -> StoreResult<()> {
        self.write(|tx| rules::insert(tx, rule))
    }

    fn business_rule(&self, name: &str) -> StoreResult<Option<BusinessRule>> {
        Ok(self
            .read(|tx| rules::load(tx, Some(name)))?
            .into_iter()
            .next())
    }

    fn business_rules(&self) -> StoreResult<Vec<BusinessRule>> {
        self.read(|tx| rules::load(tx, None))
    }

    fn update_business_rule(&self, rule: &BusinessRule) -> StoreResult<()> {
        self.write(|tx| rules::update(tx, rule))
    }

    fn delete_business_rule(&self, name: &str) -> StoreResult<()> {
        self.write(|tx| rules::delete(tx, name))
    }

    fn unmute_due(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.write(|tx| rules::unmute_due(tx, now))
    }

    fn deactivate_expired(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.write(|tx| rules::deactivate_expired(tx, now))
    }

    fn share_candidates(
        &self,
        filter: &Filter,
        source: &str,
    ) -> StoreResult<Vec<cte_core::share::ShareCandidate>> {
        self.read(|tx| crate::share::candidates(tx, filter, source))
    }

    fn source_indicators(&self, filter: &Filter, source: &str) -> StoreResult<Vec<Indicator>> {
        self.read(|tx| listing::of_source(tx, filter, source))
    }

    fn share_records(&self, value: &str) -> StoreResult<Vec<cte_core::share::ShareRecord>> {
        self.read(|tx| crate::share::records(tx, value))
    }

    fn lists_holding(&self, value: &str) -> StoreResult<Vec<cte_core::share::ListHolding>> {
        self.read(|tx| crate::share::lists_holding(tx, value))
    }

    fn list_state(
        &self,
        list: &cte_core::share::ListRef,
    ) -> StoreResult<cte_core::share::ListState> {
        self.read(|tx| crate::share::list_state(tx, list))
    }

    fn begin_push(
        &self,
        list: &cte_core::share::ListRef,
        destination: &str,
        payload_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        self.write(|tx| crate::share::begin_push(tx, list, destination, payload_sha256, now))
    }

    fn ack_push(&self, ack: &cte_core::share::PushAck<'_>, now: DateTime<Utc>) -> StoreResult<()> {
        self.write(|tx| crate::share::ack_push(tx, ack, now))
    }

    fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<(String, DateTime<Utc>)>> {
        self.write(|tx| crate::share::try_lease(tx, name, holder, now, until))
    }

    fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        self.write(|tx| crate::share::release_lease(tx, name, holder))
    }

    fn list_indicators_after(
        &self,
        filter: &Filter,
        after: Option<i64>,
        limit: u64,
    ) -> StoreResult<(Vec<Indicator>, Option<i64>)> {
        self.read(|tx| paging::list_after(tx, filter, after, limit))
    }

    fn dashboard(&self, query: &DashboardQuery) -> StoreResult<Vec<DashboardRow>> {
        self.read(|tx| dashboard::dashboard(tx, query))
    }

    fn pull_dashboard(&self) -> StoreResult<Vec<PullCounts>> {
        self.read(dashboard::pull_counts)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{TimeZone, Utc};
    use cte_core::indicator::{IndicatorKind, Severity};
    use cte_core::reconcile::{Observation, ReportKind, SourcePolicy, TagStrategy};
    use cte_core::store::{IngestBatch, Store};

    use super::*;

    fn policies() -> HashMap<String, SourcePolicy> {
        let policy = SourcePolicy {
            reputation_override: 0,
            age_after_days: 90,
            tag_strategy: TagStrategy::Append,
            internal: false,
        };
        ["a", "b", "c"]
            .iter()
            .map(|name| (name.to_string(), policy.clone()))
            .collect()
    }

    fn report(value: &str, source: &str) -> Observation {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        Observation {
            value: value.into(),
            kind: IndicatorKind::Domain,
            source: source.into(),
            test: false,
            safe: false,
            active: true,
            expires_at: None,
            first_seen: Some(at),
            last_seen: Some(at),
            tags: Vec::new(),
            reputation: 5,
            severity: Severity::High,
            comments: String::new(),
            extended_information: String::new(),
        }
    }

    fn batch<'a>(
        observations: &'a [Observation],
        policies: &'a HashMap<String, SourcePolicy>,
    ) -> IngestBatch<'a> {
        IngestBatch {
            observations,
            policies,
            report: ReportKind::Api,
            now: Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap(),
            return_indicators: true,
        }
    }

    fn sources(doc: &Indicator) -> Vec<&str> {
        doc.sources.iter().map(|s| s.source.as_str()).collect()
    }

    /// A plan is made on a snapshot; `between` then commits; the plan is handed to the writer.
    /// Returns what the ingest returned, and what is stored afterwards.
    fn planned_across(
        s: &SqliteStore,
        planned: &[Observation],
        between: impl FnOnce(),
    ) -> (Indicator, Indicator) {
        let p = policies();
        let b = batch(planned, &p);
        let since = s.committed.load(Ordering::Acquire);
        let plan = s.read(|tx| ingest::plan(tx, &b)).unwrap();
        between();
        let out = s.ingest_planned(&b, since, Some(plan)).unwrap();
        let stored = s.indicator(&planned[0].value).unwrap().unwrap();
        (out.into_iter().next().unwrap(), stored)
    }

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path().join("cte.db")).unwrap();
        (dir, s)
    }

    fn tiers(s: &SqliteStore) -> (i64, i64) {
        s.read(|tx| {
            tx.query_row(
                "SELECT count(*) FILTER (WHERE tier = 0), count(*) FILTER (WHERE tier = 1)
                 FROM value_keys",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(sql)
        })
        .unwrap()
    }

    /// The tier-1 keys, sorted.
    fn recent_keys(s: &SqliteStore) -> Vec<i64> {
        s.read(|tx| {
            let mut stmt = tx
                .prepare("SELECT key FROM value_keys WHERE tier = 1 ORDER BY key")
                .map_err(sql)?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(sql)?;
            rows.collect::<Result<_, _>>().map_err(sql)
        })
        .unwrap()
    }

    #[test]
    fn keys_merge_into_tier_0_by_slices_and_every_value_stays_findable() {
        let (dir, s) = store();
        // Two slices: negative keys, then the others.
        s.writer().tiers = crate::value_key::Tiers::new(2);
        let p = policies();
        let key = |v: &str| crate::value_key::value_key(v);
        let values: Vec<String> = (0..12).map(|i| format!("v{i}.example")).collect();
        assert!(values.iter().any(|v| key(v) < 0) && values.iter().any(|v| key(v) >= 0));
        let batches: Vec<&[String]> = values.chunks(4).collect();
        for chunk in &batches {
            let obs: Vec<Observation> = chunk.iter().map(|v| report(v, "a")).collect();
            s.ingest(&batch(&obs, &p)).unwrap();
        }
        // Batch 3 merged the negative slice; batch 2 merged the other, so only batch 3's
        // non-negative keys are left in tier 1.
        let mut left: Vec<i64> = batches[2]
            .iter()
            .map(|v| key(v))
            .filter(|k| *k >= 0)
            .collect();
        left.sort_unstable();
        assert_eq!(recent_keys(&s), left);
        assert_eq!(tiers(&s), (12 - left.len() as i64, left.len() as i64));

        // Re-reported from another source: found in either tier, not inserted again, and no
        // merge (nothing was inserted).
        let obs: Vec<Observation> = values.iter().map(|v| report(v, "b")).collect();
        let out = s.ingest(&batch(&obs, &p)).unwrap();
        assert!(out.iter().all(|d| sources(d) == ["a", "b"]), "{out:?}");
        assert_eq!(s.count_indicators(&Filter::all()).unwrap(), 12);
        assert_eq!(recent_keys(&s), left);
        for v in &values {
            assert!(s.indicator(v).unwrap().is_some(), "{v}");
            let by_value = cte_core::filter::parse_json(&format!(r#"{{"value": "{v}"}}"#)).unwrap();
            assert_eq!(s.count_indicators(&by_value).unwrap(), 1, "{v}");
        }
        let some = cte_core::filter::parse_json(
            r#"{"value": {"$in": ["v0.example", "v11.example", "nope"]}}"#,
        )
        .unwrap();
        assert_eq!(s.count_indicators(&some).unwrap(), 2);

        // Another store on the file (another process) inserts too; every value stays one row.
        let other = SqliteStore::open(dir.path().join("cte.db")).unwrap();
        let obs: Vec<Observation> = (10..14)
            .map(|i| report(&format!("v{i}.example"), "c"))
            .collect();
        other.ingest(&batch(&obs, &p)).unwrap();
        assert_eq!(s.count_indicators(&Filter::all()).unwrap(), 14);
        let (merged, recent) = tiers(&s);
        assert_eq!(merged + recent, 14);

        // A deleted indicator takes its entry with it, from whichever tier.
        let gone = Locator::Values {
            values: vec!["v3.example".into(), "v13.example".into()],
            source: None,
        };
        assert_eq!(s.delete_indicators(&gone).unwrap(), 2);
        let (merged, recent) = tiers(&s);
        assert_eq!(merged + recent, 12);
        assert!(s.indicator("v3.example").unwrap().is_none());
    }

    #[test]
    fn a_plan_whose_value_was_written_since_its_snapshot_is_made_again() {
        let (_dir, s) = store();
        let p = policies();
        s.ingest(&batch(&[report("x.example", "a")], &p)).unwrap();
        let (out, stored) = planned_across(&s, &[report("x.example", "b")], || {
            s.ingest(&batch(&[report("x.example", "c")], &p)).unwrap();
        });
        // The stale plan knew only of source a: written as is, it would answer without c.
        assert_eq!(sources(&out), ["a", "c", "b"]);
        assert_eq!(out, stored);
    }

    #[test]
    fn a_commit_by_another_connection_counts_as_a_change() {
        let (dir, s) = store();
        let p = policies();
        s.ingest(&batch(&[report("x.example", "a")], &p)).unwrap();
        let other = SqliteStore::open(dir.path().join("cte.db")).unwrap();
        let (out, stored) = planned_across(&s, &[report("x.example", "b")], || {
            other
                .ingest(&batch(&[report("x.example", "c")], &p))
                .unwrap();
        });
        assert_eq!(sources(&out), ["a", "c", "b"]);
        assert_eq!(out, stored);
    }

    #[test]
    fn a_plan_is_kept_when_commits_since_wrote_other_values() {
        let (_dir, s) = store();
        let p = policies();
        s.ingest(&batch(&[report("x.example", "a")], &p)).unwrap();
        let (out, stored) = planned_across(&s, &[report("x.example", "b")], || {
            s.ingest(&batch(&[report("y.example", "c")], &p)).unwrap();
        });
        assert_eq!(sources(&out), ["a", "b"]);
        assert_eq!(out, stored);
    }

    #[test]
    fn new_databases_get_16k_pages_and_existing_ones_keep_theirs() {
        let pragma = |c: &Connection, name: &str| -> i64 {
            c.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .unwrap()
        };
        let (_dir, s) = store();
        let w = s.writer();
        assert_eq!(pragma(&w.conn, "page_size"), 16384);
        assert_eq!(pragma(&w.conn, "wal_autocheckpoint") * 16384, 64 << 20);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (x);")
            .unwrap();
        let s = SqliteStore::open(&path).unwrap();
        let w = s.writer();
        assert_eq!(pragma(&w.conn, "page_size"), 4096);
        assert_eq!(pragma(&w.conn, "wal_autocheckpoint") * 4096, 64 << 20);
    }

    /// The workspace builds the bundled SQLite with `.cargo/config.toml`'s `LIBSQLITE3_FLAGS`
    /// (PERFORMANCE.md, change 16); without them every page a reader loads after another
    /// connection's commit is a `malloc` under a global mutex again.
    #[test]
    fn the_bundled_sqlite_is_built_with_the_workspace_flags() {
        let conn = Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_PCACHE_INITSZ=2048"),
            "{options:?}"
        );
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
    }
}
