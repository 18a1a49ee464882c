//! In-memory tenant state (URL lists, file hash lists, iterators, request log, faults) and its JSON snapshot.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::{Fault, SimConfig};
use crate::error::SimError;

/// One URL list as the tenant holds it: the pending (editable) content and what was last deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlList {
    /// Tenant-assigned id.
    pub id: u64,
    /// List name (pending value).
    pub name: String,
    /// `exact` or `regex` (pending value).
    pub list_type: String,
    /// Entries (pending value: what `GET` returns).
    pub urls: Vec<String>,
    /// Whether there are changes not yet deployed.
    pub pending: bool,
    /// `Created`, `Edited` or `Deleted`.
    pub modify_type: String,
    /// ISO 8601 UTC time of the last change, e.g. `2026-05-19T13:03:32.000Z`.
    pub modify_time: String,
    /// Who made the last change.
    pub modify_by: String,
    /// The content in force (last deployed), `None` if the list was never deployed.
    pub deployed: Option<DeployedList>,
}

/// The deployed (enforced) content of a URL list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployedList {
    /// Name at deploy time.
    pub name: String,
    /// Type at deploy time.
    pub list_type: String,
    /// Entries at deploy time.
    pub urls: Vec<String>,
}

impl UrlList {
    /// Whether a delete is waiting for deploy.
    pub fn is_deleted(&self) -> bool {
        self.modify_type == "Deleted"
    }

    /// The record as the REST API returns it (reference §2.2 with the §12 corrections).
    pub fn to_record(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "data": {"urls": self.urls, "type": self.list_type, "json_version": 2},
            "modify_by": self.modify_by,
            "modify_time": self.modify_time,
            "modify_type": self.modify_type,
            "pending": u8::from(self.pending),
        })
    }
}

/// A file hash list (replaced wholesale by `POST /api/v1/updateFileHashList`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashList {
    /// List name (pre-created by configuration).
    pub name: String,
    /// Hashes as last submitted (trimmed, empty items dropped).
    pub hashes: Vec<String>,
    /// Number of successful (non-duplicate) updates.
    pub update_count: u64,
}

/// One request received on `/api/` (inspection endpoints are not logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Sequence number from 1.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Status answered; 0 when the connection was dropped by a fault.
    pub status: u16,
    /// Request body size in bytes.
    pub body_len: usize,
    /// Request body as text when it is UTF-8 and at most 64 KiB.
    pub body: Option<String>,
    /// Whether it arrived over HTTPS.
    pub tls: bool,
}

/// Server-side cursor of one named Data Export iterator. A name has one only once `head`, `tail` or an epoch
/// positioned it; until then `next` and `resend` answer empty pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IteratorState {
    /// Index of the next record to send.
    pub cursor: usize,
    /// The last chunk sent, as a `start..end` index range, for `resend`.
    pub previous: Option<(usize, usize)>,
    /// `timestamp_hwm` sent with the last chunk.
    pub timestamp_hwm: i64,
}

/// Everything a snapshot file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Next URL list id to assign.
    pub next_id: u64,
    /// All URL lists, including pending deletes.
    pub url_lists: Vec<UrlList>,
    /// All file hash lists.
    pub hash_lists: Vec<HashList>,
    /// Number of successful deploy calls.
    pub deploy_count: u64,
    /// Data Export iterators by `<endpoint kind>/<type>/<index>`.
    pub iterators: BTreeMap<String, IteratorState>,
}

/// The current one-second rate-limit window: it opens at the first request after the previous one closed.
pub(crate) struct RateWindow {
    pub(crate) opened: Option<Instant>,
    pub(crate) used: u32,
}

pub(crate) struct State {
    pub(crate) next_id: u64,
    pub(crate) lists: BTreeMap<u64, UrlList>,
    pub(crate) hash_lists: BTreeMap<String, HashList>,
    pub(crate) deploy_count: u64,
    pub(crate) iterators: HashMap<String, IteratorState>,
    pub(crate) requests: std::collections::VecDeque<RequestRecord>,
    /// Requests logged since start (or the last clear), for `seq`.
    pub(crate) logged: u64,
    pub(crate) faults: Vec<Fault>,
    pub(crate) rate: RateWindow,
}

impl State {
    pub(crate) fn new(config: &SimConfig) -> Self {
        let hash_lists = config
            .hash_lists
            .iter()
            .map(|n| {
                (
                    n.clone(),
                    HashList {
                        name: n.clone(),
                        hashes: Vec::new(),
                        update_count: 0,
                    },
                )
            })
            .collect();
        State {
            next_id: 1,
            lists: BTreeMap::new(),
            hash_lists,
            deploy_count: 0,
            iterators: HashMap::new(),
            requests: std::collections::VecDeque::new(),
            logged: 0,
            faults: config.faults.clone(),
            rate: RateWindow {
                opened: None,
                used: 0,
            },
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            next_id: self.next_id,
            url_lists: self.lists.values().cloned().collect(),
            hash_lists: self.hash_lists.values().cloned().collect(),
            deploy_count: self.deploy_count,
            iterators: self
                .iterators
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// Replaces the tenant data with a snapshot. Hash lists named in the configuration but absent from the snapshot
    /// are kept (empty), so a snapshot cannot remove a configured list.
    pub(crate) fn restore(&mut self, snapshot: Snapshot) {
        let max_id = snapshot.url_lists.iter().map(|l| l.id).max().unwrap_or(0);
        self.next_id = snapshot.next_id.max(max_id + 1);
        self.lists = snapshot.url_lists.into_iter().map(|l| (l.id, l)).collect();
        for list in snapshot.hash_lists {
            self.hash_lists.insert(list.name.clone(), list);
        }
        self.deploy_count = snapshot.deploy_count;
        self.iterators = snapshot.iterators.into_iter().collect();
    }
}

pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) malware: Vec<Value>,
    pub(crate) malsite: Vec<Value>,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(config: SimConfig) -> Result<Self, SimError> {
        let (malware, malsite) = crate::alerts::generate_alerts(&config.alerts);
        let mut state = State::new(&config);
        if let Some(path) = &config.snapshot {
            if path.exists() {
                state.restore(load_snapshot(path)?);
            }
        }
        Ok(Shared {
            config,
            malware,
            malsite,
            state: Mutex::new(state),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent-enough test data; keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(crate) fn load_snapshot(path: &Path) -> Result<Snapshot, SimError> {
    let text = std::fs::read_to_string(path).map_err(|source| SimError::Snapshot {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| SimError::SnapshotFormat {
        path: path.to_owned(),
        source,
    })
}

pub(crate) fn save_snapshot(path: &Path, snapshot: &Snapshot) -> Result<(), SimError> {
    let text =
        serde_json::to_string_pretty(snapshot).map_err(|source| SimError::SnapshotFormat {
            path: path.to_owned(),
            source,
        })?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|source| SimError::Snapshot {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| SimError::Snapshot {
        path: path.to_owned(),
        source,
    })
}

/// Read access to the running tenant's state, for assertions in tests. Cheap to clone.
#[derive(Clone)]
pub struct SimState {
    pub(crate) shared: Arc<Shared>,
}

impl SimState {
    /// All URL lists, including those whose deletion is pending.
    pub fn url_lists(&self) -> Vec<UrlList> {
        self.shared.lock().lists.values().cloned().collect()
    }

    /// The URL list with this (pending) name.
    pub fn url_list(&self, name: &str) -> Option<UrlList> {
        self.shared
            .lock()
            .lists
            .values()
            .find(|l| l.name == name)
            .cloned()
    }

    /// The deployed entries of the list with this deployed name, i.e. what the tenant enforces.
    pub fn deployed_urls(&self, name: &str) -> Option<Vec<String>> {
        self.shared
            .lock()
            .lists
            .values()
            .find_map(|l| match &l.deployed {
                Some(d) if d.name == name => Some(d.urls.clone()),
                _ => None,
            })
    }

    /// All file hash lists.
    pub fn hash_lists(&self) -> Vec<HashList> {
        self.shared.lock().hash_lists.values().cloned().collect()
    }

    /// The hashes of one file hash list.
    pub fn hash_list(&self, name: &str) -> Option<Vec<String>> {
        self.shared
            .lock()
            .hash_lists
            .get(name)
            .map(|l| l.hashes.clone())
    }

    /// Number of successful URL list deploy calls.
    pub fn deploy_count(&self) -> u64 {
        self.shared.lock().deploy_count
    }

    /// Requests received on `/api/`, oldest first (the most recent 10,000).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests.iter().cloned().collect()
    }

    /// Forgets the request log; `seq` starts again from 1.
    pub fn clear_requests(&self) {
        let mut state = self.shared.lock();
        state.requests.clear();
        state.logged = 0;
    }

    /// Faults still armed.
    pub fn faults(&self) -> Vec<Fault> {
        self.shared.lock().faults.clone()
    }

    /// The tenant data as a snapshot (the same JSON shape as the snapshot file).
    pub fn snapshot(&self) -> Snapshot {
        self.shared.lock().snapshot()
    }

    /// The alerts the Data Export iterator serves: `(malware, malsite)`.
    pub fn alerts(&self) -> (&[Value], &[Value]) {
        (&self.shared.malware, &self.shared.malsite)
    }

    /// Back to the configured initial state: no URL lists, empty hash lists, no iterators, no requests, the
    /// configured faults. The snapshot file is not reread.
    pub fn reset(&self) {
        *self.shared.lock() = State::new(&self.shared.config);
    }
}
