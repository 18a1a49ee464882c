//! What the writer committed lately ([`CommitLog`]), so that an ingest planned on a read
//! snapshot can tell whether it must be planned again under the writer lock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

/// Commits the writer remembers for ingest plans made on a snapshot (see
/// [`crate::SqliteStore::ingest`]); a plan older than that is made again.
pub(crate) const COMMIT_LOG: usize = 16;

/// What the writer committed lately, so that an ingest planned on a snapshot can tell whether a
/// commit since then wrote any of its indicators (see [`crate::SqliteStore::ingest`]).
pub(crate) struct CommitLog {
    /// `PRAGMA data_version` as of the writer's last transaction; it changes when some other
    /// connection (another process, another store on the same file) commits.
    pub(crate) data_version: i64,
    /// The last [`COMMIT_LOG`] commits, oldest first: generation, and the sorted value keys of the
    /// indicators an ingest wrote (`None`: anything may have changed, as with a commit by another
    /// connection or any write other than an ingest).
    pub(crate) commits: VecDeque<(u64, Option<Vec<i64>>)>,
}

impl CommitLog {
    pub(crate) fn push(&mut self, committed: &AtomicU64, keys: Option<Vec<i64>>) {
        let generation = committed.load(Ordering::Relaxed) + 1;
        if self.commits.len() == COMMIT_LOG {
            self.commits.pop_front();
        }
        self.commits.push_back((generation, keys));
        committed.store(generation, Ordering::Release);
    }

    /// Whether a commit logged after generation `since` may have changed a row of `keys`
    /// (sorted): one that wrote none of them did not.
    pub(crate) fn changed_since(&self, since: u64, keys: &[i64]) -> bool {
        let mut later = self.commits.iter().filter(|(g, _)| *g > since).peekable();
        match later.peek() {
            None => return false,
            // Commits between `since` and the oldest remembered one are forgotten.
            Some((g, _)) if *g != since + 1 => return true,
            Some(_) => {}
        }
        later.any(|(_, written)| match written {
            None => true,
            Some(written) => intersect(written, keys),
        })
    }
}

/// Whether two sorted slices share an element.
fn intersect(a: &[i64], b: &[i64]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commit_log_tells_which_plans_may_be_stale() {
        let committed = AtomicU64::new(0);
        let mut log = CommitLog {
            data_version: 0,
            commits: VecDeque::new(),
        };
        assert!(!log.changed_since(0, &[1, 2, 3]));
        log.push(&committed, Some(vec![2, 5]));
        log.push(&committed, Some(vec![7]));
        assert_eq!(committed.load(Ordering::Relaxed), 2);
        assert!(log.changed_since(0, &[1, 5]));
        assert!(!log.changed_since(0, &[1, 3, 6, 8]));
        assert!(!log.changed_since(1, &[2, 5]));
        assert!(log.changed_since(1, &[7]));
        assert!(!log.changed_since(2, &[2, 5, 7]));
        log.push(&committed, None);
        assert!(log.changed_since(2, &[]));
        // Once the commits after a plan's snapshot are no longer all remembered, it is stale.
        for _ in 0..COMMIT_LOG {
            log.push(&committed, Some(vec![100]));
        }
        assert!(log.changed_since(2, &[1]));
        assert!(!log.changed_since(3, &[1]));
    }
}
