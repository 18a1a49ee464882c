//! The storage port: everything the engine and the API need from a database, in core types only,
//! so that another backend can implement it without touching the crates above.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::auth::{AccessGrant, ApiToken};
use crate::checkpoint::PullCheckpoint;
use crate::config::{Configuration, CteSettings, RunStatus};
use crate::dashboard::{DashboardQuery, DashboardRow, PullCounts};
use crate::error::StoreResult;
use crate::filter::Filter;
use crate::indicator::Indicator;
use crate::query::{ListQuery, Locator};
use crate::reconcile::{Observation, ReportKind, SourcePolicy};
use crate::rule::BusinessRule;
use crate::share::{ListHolding, ListRef, ListState, PushAck, ShareCandidate, ShareRecord};
use crate::tag::Tag;
use crate::tenant::AlertType;
use crate::tenant_config::NetskopeTenant;

/// A batch of reports to reconcile into the store in one transaction.
#[derive(Debug, Clone)]
pub struct IngestBatch<'a> {
    /// Reports; values already normalised, tags already known to exist.
    pub observations: &'a [Observation],
    /// Policy of each reporting source, by configuration name.
    pub policies: &'a HashMap<String, SourcePolicy>,
    /// What kind of report this is.
    pub report: ReportKind,
    /// The clock value for defaults.
    pub now: DateTime<Utc>,
    /// Return the stored indicators (in the order of first appearance of each value).
    pub return_indicators: bool,
}

/// Tag counts over a set of indicators, for CE's `appliedOn`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagUsage {
    /// Indicators in the set.
    pub total: u64,
    /// For each tag used in the set, how many indicators of the set carry it (on any source).
    pub per_tag: HashMap<String, u64>,
}

/// Which run of a configuration a [`RunStatus`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// Pulling IoCs.
    Pull,
    /// Sharing IoCs.
    Share,
}

/// What the store can tell about itself, for health checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreHealth {
    /// The schema version the database is at.
    pub schema_version: u32,
    /// The newest schema version this build knows; a database at a newer one was migrated by a
    /// newer program.
    pub schema_latest: u32,
}

/// The storage port. Each method is one transaction. Implementations are synchronous; async
/// callers run them on a blocking thread.
pub trait Store: Send + Sync {
    /// Reads the schema version in one round trip to the database: an error means the database
    /// cannot be reached.
    fn health(&self) -> StoreResult<StoreHealth>;

    /// Global CTE settings.
    fn settings(&self) -> StoreResult<CteSettings>;
    /// Replaces the global CTE settings.
    fn update_settings(&self, settings: &CteSettings) -> StoreResult<()>;

    /// Stores a new API token; `Conflict` if the client id exists.
    fn insert_api_token(&self, token: &ApiToken) -> StoreResult<()>;
    /// One API token.
    fn api_token(&self, client_id: &str) -> StoreResult<Option<ApiToken>>;
    /// All API tokens, oldest first.
    fn api_tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// Deletes a token and every access grant issued to it; false if it did not exist.
    fn delete_api_token(&self, client_id: &str) -> StoreResult<bool>;
    /// Records the failed-login counter and lock of a token.
    fn set_login_failures(
        &self,
        client_id: &str,
        failed_attempts: u32,
        locked_until: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// Stores an access grant and drops the grants that expired before `now`.
    fn insert_access_grant(&self, grant: &AccessGrant, now: DateTime<Utc>) -> StoreResult<()>;
    /// Looks up an access grant by token hash.
    fn access_grant(&self, token_hash: &str) -> StoreResult<Option<AccessGrant>>;

    /// Stores a new configuration; `Conflict` if the name exists.
    fn insert_configuration(&self, config: &Configuration) -> StoreResult<()>;
    /// One configuration.
    fn configuration(&self, name: &str) -> StoreResult<Option<Configuration>>;
    /// All configurations, by name.
    fn configurations(&self) -> StoreResult<Vec<Configuration>>;
    /// Replaces a configuration (matched by name); `NotFound` if absent.
    fn update_configuration(&self, config: &Configuration) -> StoreResult<()>;
    /// Deletes a configuration. Unless `keep_data`, its source records go too, and indicators
    /// left without any source are deleted. Either way it leaves every business rule's
    /// `sharedWith`, as a source and as a destination (CE does the same). `NotFound` if absent.
    fn delete_configuration(&self, name: &str, keep_data: bool) -> StoreResult<()>;

    /// Creates a tag; `Conflict` if the name exists.
    fn insert_tag(&self, tag: &Tag) -> StoreResult<()>;
    /// All tags, by name.
    fn tags(&self) -> StoreResult<Vec<Tag>>;
    /// The names among `names` that are not tags.
    fn missing_tags(&self, names: &[String]) -> StoreResult<Vec<String>>;
    /// Deletes a tag and removes it from every indicator; `NotFound` if absent.
    fn delete_tag(&self, name: &str) -> StoreResult<()>;
    /// How many indicators matching `filter` carry each tag.
    fn tag_usage(&self, filter: &Filter) -> StoreResult<TagUsage>;

    /// Reconciles a batch of reports (see [`crate::reconcile::merge`]) all-or-nothing.
    fn ingest(&self, batch: &IngestBatch<'_>) -> StoreResult<Vec<Indicator>>;
    /// One indicator by normalised value.
    fn indicator(&self, value: &str) -> StoreResult<Option<Indicator>>;
    /// A page of indicators.
    fn list_indicators(&self, query: &ListQuery) -> StoreResult<Vec<Indicator>>;
    /// How many indicators match.
    fn count_indicators(&self, filter: &Filter) -> StoreResult<u64>;
    /// Sets one source's `retracted` flag; `NotFound` if the value or that source's record is absent.
    fn set_retracted(&self, value: &str, source: &str, retracted: bool) -> StoreResult<()>;
    /// Adds and removes tags on the located indicators; returns how many indicators matched.
    fn edit_tags(&self, locator: &Locator, add: &[String], remove: &[String]) -> StoreResult<u64>;
    /// Deletes the located indicators; returns how many.
    fn delete_indicators(&self, locator: &Locator) -> StoreResult<u64>;

    /// Records the outcome of a pull or share run of a configuration; `NotFound` if absent.
    fn record_run(&self, configuration: &str, kind: RunKind, status: &RunStatus)
        -> StoreResult<()>;

    /// Stores a new Netskope tenant (tokens encrypted at rest); `Conflict` if the name exists.
    fn insert_tenant(&self, tenant: &NetskopeTenant) -> StoreResult<()>;
    /// One tenant, tokens decrypted.
    fn tenant(&self, name: &str) -> StoreResult<Option<NetskopeTenant>>;
    /// All tenants, by name.
    fn tenants(&self) -> StoreResult<Vec<NetskopeTenant>>;
    /// Replaces a tenant (matched by name); `NotFound` if absent.
    fn update_tenant(&self, tenant: &NetskopeTenant) -> StoreResult<()>;
    /// Deletes a tenant; `NotFound` if absent, `Conflict` if a configuration uses it.
    fn delete_tenant(&self, name: &str) -> StoreResult<()>;

    /// The pull position of a configuration for an alert type.
    fn pull_checkpoint(
        &self,
        configuration: &str,
        alert_type: AlertType,
    ) -> StoreResult<Option<PullCheckpoint>>;
    /// Saves a pull position.
    fn save_pull_checkpoint(&self, checkpoint: &PullCheckpoint) -> StoreResult<()>;
    /// Reconciles a pulled page and saves the pull position in the same transaction.
    fn ingest_pull_page(
        &self,
        batch: &IngestBatch<'_>,
        checkpoint: &PullCheckpoint,
    ) -> StoreResult<()>;

    /// Stores a new business rule with its sharing configurations; `Conflict` if the name exists,
    /// `Invalid` if a sharing configuration names a configuration that does not exist. Callers
    /// check the rule with [`crate::rule::validate_rule`] first.
    fn insert_business_rule(&self, rule: &BusinessRule) -> StoreResult<()>;
    /// One business rule.
    fn business_rule(&self, name: &str) -> StoreResult<Option<BusinessRule>>;
    /// All business rules, oldest first.
    fn business_rules(&self) -> StoreResult<Vec<BusinessRule>>;
    /// Replaces a business rule (matched by name) and its sharing configurations; `NotFound` if
    /// absent.
    fn update_business_rule(&self, rule: &BusinessRule) -> StoreResult<()>;
    /// Deletes a business rule; `NotFound` if absent.
    fn delete_business_rule(&self, name: &str) -> StoreResult<()>;
    /// Unmutes the muted rules whose `unmute_at` is at or before `now` (clearing `unmute_at`);
    /// returns how many.
    fn unmute_due(&self, now: DateTime<Utc>) -> StoreResult<u64>;
    /// Marks inactive the active indicators whose `expires_at` is at or before `now`; returns how
    /// many. An indicator without `expires_at` never expires: CE's aging task also deactivates
    /// those (reference §1.6, §6), which would turn every `ageAfterDays = 0` ("never") indicator
    /// off at the next run, so we deliberately do not.
    fn deactivate_expired(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    /// The indicators `filter` selects that `source` reported, newest `lastSeen` of that source
    /// first.
    fn share_candidates(&self, filter: &Filter, source: &str) -> StoreResult<Vec<ShareCandidate>>;
    /// Every indicator `filter` selects that `source` reported, whole, newest `lastSeen` of that
    /// source first (for a preview to tell why each one is or is not on a list).
    fn source_indicators(&self, filter: &Filter, source: &str) -> StoreResult<Vec<Indicator>>;
    /// The share statuses recorded for an indicator, with rule, list and time.
    fn share_records(&self, value: &str) -> StoreResult<Vec<ShareRecord>>;
    /// The lists whose acknowledged content holds `value`.
    fn lists_holding(&self, value: &str) -> StoreResult<Vec<ListHolding>>;
    /// What is known of a tenant list.
    fn list_state(&self, list: &ListRef) -> StoreResult<ListState>;
    /// Writes an outbox row before a push is sent; returns its id. `payload_sha256` identifies the
    /// content being pushed.
    fn begin_push(
        &self,
        list: &ListRef,
        destination: &str,
        payload_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// Acknowledges a push: the outbox row, the list's content, and every indicator's status, in
    /// one transaction.
    fn ack_push(&self, ack: &PushAck<'_>, now: DateTime<Utc>) -> StoreResult<()>;
    /// Takes the named lease for `holder` until `until` unless someone else holds an unexpired one;
    /// returns the current holder and expiry when it is taken by someone else.
    fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<(String, DateTime<Utc>)>>;
    /// Gives the lease back if `holder` has it.
    fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;

    /// Indicators matching `filter` with a row id above `after`, in row-id order, at most
    /// `limit`; also the row id to continue after when more match (keyset paging: rows inserted
    /// meanwhile get higher ids, so pages neither repeat nor skip a row).
    fn list_indicators_after(
        &self,
        filter: &Filter,
        after: Option<i64>,
        limit: u64,
    ) -> StoreResult<(Vec<Indicator>, Option<i64>)>;
    /// Groups and counts indicators (see [`crate::dashboard`]), largest counts first unless
    /// `ascending`.
    fn dashboard(&self, query: &DashboardQuery) -> StoreResult<Vec<DashboardRow>>;
    /// Source records by indicator type and source, with how many are retracted.
    fn pull_dashboard(&self) -> StoreResult<Vec<PullCounts>>;
}
