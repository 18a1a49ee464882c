//! The share cycle: what each sharing configuration of a business rule puts on its tenant list,
//! and pushing it there.
//!
//! - `cycle`: [`share_all`], one run over every rule under the `share` lease, with an outbox row
//!   before each push and an acknowledgement after;
//! - `plan`: [`plan_push`], what a target's next push will be, from the stored state alone;
//! - `execute`: the URL-list and file-hash-list protocols that send it ([`push_url_list`],
//!   [`push_hash_list`]);
//! - `preview`: what the API shows beside a plan ([`exclusions`], [`selection_size`]);
//! - `tagging`: CE's `Unshared` and `Invalid host` tags after a push.

mod cycle;
mod execute;
mod plan;
mod preview;
mod tagging;

pub use cycle::{
    share_all, share_all_until, ShareError, ShareLease, TargetReport, DEFAULT_SHARE_LEASE,
};
pub use execute::{
    hash_list_calls, push_hash_list, push_url_list, url_list_calls, HashPush, PlannedCall,
    UrlListOnTenant, UrlListTarget, UrlPush,
};
pub use plan::{plan_push, plan_target, sharing_filter, PlannedPush};
pub use preview::{exclusions, selection_size, Excluded, SelectionSize};
pub use tagging::{tagging_enabled, INVALID_HOST_TAG, TAG_COLOR, UNSHARED_TAG};
