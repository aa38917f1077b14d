//! Once per deployment: the periodic jobs (reconfirmation sweep, calendar polling, calendar
//! renewal) run on every instance's timer, but each run first takes the job's lease
//! ([`JobLeases`]) and only the holder works. The holder extends its lease on every run, so it
//! keeps the job while it lives; a lease outlasts one period by half, so when its holder dies
//! (or stops) another instance takes the job over on its first run after the lease ended.

use std::sync::Arc;
use std::time::Duration;

use booking_core::leases::JobLeases;
use booking_core::ports::{Clock, ReconfirmationSweep};
use chrono::TimeDelta;
use tokio::sync::watch;

/// The lease name of the reconfirmation sweep.
pub const SWEEP_JOB: &str = "reconfirmation-sweep";
/// The lease name of the calendar poll.
pub const POLL_JOB: &str = "calendar-poll";

/// Who asks for job leases: the shared leases, the clock, and this instance's name.
#[derive(Clone)]
pub struct JobLease {
    /// Where leases are kept (the shared database).
    pub leases: Arc<dyn JobLeases>,
    /// Time for the lease.
    pub clock: Arc<dyn Clock>,
    /// This instance's name (unique per process).
    pub holder: String,
}

impl std::fmt::Debug for JobLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobLease")
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl JobLease {
    /// Whether this instance runs `job` now: takes (or, as its holder, extends) the lease for
    /// `span`. A store failure counts as "not this time" (logged): the job runs again next
    /// period, and two instances never both believe they hold it.
    pub async fn take(&self, job: &str, span: TimeDelta) -> bool {
        let now = self.clock.now();
        match self
            .leases
            .try_lease(job, &self.holder, now, now + span)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                tracing::error!(job, error = %crate::error_chain(&e), "taking a job lease failed; skipping this run");
                false
            }
        }
    }
}

/// How long a run every `every` holds its job: one period and a half, so the holder's next
/// run comes before the lease ends, and a dead holder's job is free again after at most that.
pub fn hold_for(every: Duration) -> TimeDelta {
    let period = TimeDelta::from_std(every).unwrap_or(TimeDelta::hours(24));
    period + period / 2
}

/// The reconfirmation sweep of one instance: cancels bookings whose reconfirmation deadline
/// passed, when this instance holds [`SWEEP_JOB`]. A lost race on a booking would change
/// nothing anyway (version check); the lease spares the other instances the work.
#[derive(Clone)]
pub struct SweepJob {
    /// The use case.
    pub sweep: Arc<dyn ReconfirmationSweep>,
    /// This instance's claim on the job.
    pub lease: JobLease,
    /// How often the sweep runs.
    pub every: Duration,
    /// Bookings cancelled per run at most.
    pub limit: u32,
}

impl std::fmt::Debug for SweepJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SweepJob")
            .field("lease", &self.lease)
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

impl SweepJob {
    /// One period's run: `None` when another instance holds the sweep, else how many bookings
    /// it cancelled (`Some(0)` also after a failed sweep, which is logged).
    pub async fn run_once(&self) -> Option<usize> {
        if !self.lease.take(SWEEP_JOB, hold_for(self.every)).await {
            tracing::debug!("another instance runs the reconfirmation sweep");
            return None;
        }
        match self.sweep.expire_unreconfirmed(self.limit).await {
            Ok(0) => Some(0),
            Ok(n) => {
                tracing::info!(cancelled = n, "cancelled bookings not reconfirmed in time");
                Some(n)
            }
            Err(e) => {
                tracing::error!(error = %crate::error_chain(&e), "the reconfirmation sweep failed");
                Some(0)
            }
        }
    }

    /// Runs once per period until `shutdown` turns true.
    pub(crate) async fn run(self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            self.run_once().await;
            tokio::select! {
                () = tokio::time::sleep(self.every) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
