//! Which webhook targets may be reached: the policy lives in `webhooks-out` (the host JSON API
//! checks targets too); re-exported here for the dispatcher's users.

pub use webhooks_out::{TargetPolicy, TargetRefused};
