//! The HTTP server: the web crate's routes, access logs without tokens, graceful shutdown.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::middleware::Logger;
use actix_web::{App, HttpServer};
use anyhow::{Context, Result};
use booking_core::Scheduler;

use crate::adapters::{NoConnectedCalendars, OsRandom, SystemClock};
use crate::config::Config;
use crate::storage::Storage;

/// The use cases on the production adapters.
pub fn scheduler(storage: &Storage) -> web::DynScheduler {
    Scheduler::new(
        storage.bookings.clone(),
        Arc::new(SystemClock),
        Arc::new(OsRandom),
        Arc::new(NoConnectedCalendars),
    )
}

/// A bound, not yet running server.
#[derive(Debug)]
pub struct Bound {
    /// The address actually listened on.
    pub addr: SocketAddr,
    /// The public URL links point to.
    pub base_url: String,
    listener: TcpListener,
    /// Keys the host session cookie (derived from the secret for this purpose only).
    session_key: crate::host_cmd::SessionKey,
    /// Which webhook targets the host API may subscribe and test
    /// (`WEBHOOKS_ALLOW_PRIVATE_TARGETS`).
    targets: slotkeeper_dispatch::TargetPolicy,
}

/// Binds `config.bind` (port 0 picks a free port).
///
/// # Errors
/// When the address cannot be bound.
pub fn bind(config: &Config) -> Result<Bound> {
    let listener = TcpListener::bind(&config.bind)
        .with_context(|| format!("listening on {} (BIND)", config.bind))?;
    let addr = listener.local_addr()?;
    Ok(Bound {
        addr,
        base_url: config.base_url_for(addr),
        listener,
        session_key: crate::host_cmd::SessionKey(config.derived_key("host-session")),
        targets: crate::webhook_cmd::target_policy(config),
    })
}

/// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish (up to 30 s).
///
/// # Errors
/// When the server fails.
pub async fn run(bound: Bound, storage: &Storage) -> Result<()> {
    let host_side = web::host::HostSide::new(
        storage.accounts.clone(),
        storage.deals.clone(),
        storage.links.clone(),
        Arc::new(OsRandom),
        bound.session_key.0,
        storage.attempts.clone(),
    )
    .with_subscriptions(storage.subscriptions.clone(), bound.targets);
    let state = web::AppState::new(scheduler(storage), &bound.base_url).with_host_side(host_side);
    tracing::info!(addr = %bound.addr, base_url = %bound.base_url, "listening");
    HttpServer::new(move || {
        App::new()
            .wrap(web::security_headers())
            .wrap(
                Logger::new("%{request}xi %s %b %Dms").custom_request_replace("request", |req| {
                    format!("{} {}", req.method(), web::redact_tokens(req.path()))
                }),
            )
            .app_data(actix_web::web::Data::new(state.clone()))
            .configure(web::configure)
    })
    .shutdown_timeout(30)
    .listen(bound.listener)?
    .run()
    .await
    .context("the HTTP server failed")?;
    tracing::info!("stopped");
    Ok(())
}
