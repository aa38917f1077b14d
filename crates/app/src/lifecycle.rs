//! The life of `slotkeeper serve`: the HTTP server, the outbox workers and the calendar jobs
//! run side by side until SIGTERM or Ctrl-C, then stop in an order that leaves nothing
//! leased.

use anyhow::{Context, Result};

use crate::config::Config;
use crate::{adapters, server, storage};

/// Runs the outbox dispatcher (`DISPATCH_WORKERS` workers and the reconfirmation sweep) and the
/// calendar jobs (queued and polled syncs, daily renewal) next to `server` until SIGTERM or
/// Ctrl-C (or the server fails), then stops them cleanly — each worker finishes the delivery
/// in hand and releases the rest of what it holds — and only then the server.
///
/// The order matters: the server's workers run on runtimes of their own, and database
/// connections opened while serving a request belong to them. Stopping the server first
/// would shut those runtimes down under the outbox workers, whose queries on such connections
/// would then fail, leaving entries leased and charging failed attempts.
pub async fn with_dispatch(
    config: &Config,
    storage: &storage::Storage,
    dispatcher: dispatch::Dispatcher,
    calendar_jobs: Option<(
        server::CalendarWiring,
        tokio::sync::mpsc::Receiver<booking_core::connections::ConnectionId>,
    )>,
    server: actix_web::dev::Server,
) -> Result<()> {
    let http = server.handle();
    let mut serving = tokio::spawn(server);
    let background = if config.dispatch_workers == 0 {
        tracing::warn!("DISPATCH_WORKERS=0: this instance delivers no notifications");
        None
    } else {
        Some(start_background(config, storage, dispatcher, calendar_jobs))
    };
    let failed = tokio::select! {
        served = &mut serving => Some(served),
        () = shutdown_signal() => None,
    };
    if let Some(background) = background {
        background.stop().await;
    }
    let served = match failed {
        Some(served) => served,
        None => {
            http.stop(true).await;
            serving.await
        }
    };
    served
        .context("the HTTP server task failed")?
        .context("the HTTP server failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// The outbox workers and the calendar jobs, running until [`Background::stop`].
struct Background {
    stop: tokio::sync::watch::Sender<bool>,
    workers: tokio::task::JoinHandle<()>,
    jobs: Option<tokio::task::JoinHandle<()>>,
}

fn start_background(
    config: &Config,
    storage: &storage::Storage,
    dispatcher: dispatch::Dispatcher,
    calendar_jobs: Option<(
        server::CalendarWiring,
        tokio::sync::mpsc::Receiver<booking_core::connections::ConnectionId>,
    )>,
) -> Background {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // One name per process, so a restarted instance is a new holder of the job leases.
    let lease = dispatch::periodic::JobLease {
        leases: storage.leases.clone(),
        clock: std::sync::Arc::new(adapters::SystemClock),
        holder: adapters::instance_name(),
    };
    let sweep = dispatch::periodic::SweepJob {
        sweep: std::sync::Arc::new(server::scheduler(storage)),
        lease: lease.clone(),
        every: dispatch::SWEEP_EVERY,
        limit: dispatch::SWEEP_LIMIT,
    };
    let jobs = calendar_jobs.map(|(wiring, requests)| {
        let changes: std::sync::Arc<dyn booking_core::calendar_sync::CalendarChanges> =
            std::sync::Arc::new(server::scheduler_on(storage, wiring.calendars.clone()));
        tokio::spawn(dispatch::calendar_jobs::run(
            wiring.calendars,
            changes,
            requests,
            dispatch::calendar_jobs::CalendarSchedule {
                poll_every: config.calendars.poll_every,
                renew_every: std::time::Duration::from_secs(24 * 60 * 60),
            },
            lease,
            stopped.clone(),
        ))
    });
    let workers = tokio::spawn(std::sync::Arc::new(dispatcher).run(
        config.dispatch_workers,
        Some(sweep),
        stopped,
    ));
    Background {
        stop,
        workers,
        jobs,
    }
}

impl Background {
    /// Asks every worker and job to stop, and waits until they have.
    async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.workers.await {
            tracing::error!(error = %e, "the outbox dispatcher failed");
        }
        if let Some(jobs) = self.jobs
            && let Err(e) = jobs.await
        {
            tracing::error!(error = %e, "the calendar jobs failed");
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
async fn shutdown_signal() {
    let terminate = async {
        #[cfg(unix)]
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
                return;
            }
            Err(e) => tracing::error!(error = %e, "cannot listen for SIGTERM; stop with Ctrl-C"),
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        () = terminate => tracing::info!("SIGTERM received; stopping"),
        _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C received; stopping"),
    }
}
