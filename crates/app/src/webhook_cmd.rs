//! `slotkeeper webhook …` and `slotkeeper outbox …`: webhook subscriptions and dead outbox
//! entries from the command line (hosts also manage subscriptions over the host JSON API).

use anyhow::{Context, Result, anyhow};
use booking_core::HostId;
use booking_core::ports::DeliveryReport;
use booking_core::subscriptions::{
    SubscriptionId, SubscriptionSecret, TargetUrl, TestEvent, WebhookSubscription, events_to_text,
    parse_events, send_test_event,
};
use chrono::Utc;
use clap::{Args, Subcommand};
use webhooks_out::WebhookSecret;

use crate::adapters::OsRandom;
use crate::config::Config;
use crate::outbound;
use crate::storage::Storage;

/// `webhook …`
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Subscribe a URL to a host's booking events; prints the id and the signing secret
    /// (shown only this once).
    Add(WebhookAdd),
    /// List a host's subscriptions.
    List(HostArg),
    /// Delete a subscription and its delivery log.
    Remove(SubscriptionArg),
    /// Send a signed test event now and print the answer.
    Test(SubscriptionArg),
    /// Show a subscription's delivery log, newest first.
    Deliveries(DeliveriesArgs),
}

/// `outbox …`
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Print dead entries (every attempt failed) as JSON lines, most recent first.
    Dead {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// `webhook add`
#[derive(Debug, Args)]
pub struct WebhookAdd {
    /// The host's id.
    #[arg(long)]
    pub host: String,
    /// Where to POST: an http:// or https:// URL.
    #[arg(long)]
    pub url: String,
    /// Events, comma-separated (default: all three).
    #[arg(long, default_value = "callBooked,callRescheduled,callCancelled")]
    pub events: String,
}

/// `--host`
#[derive(Debug, Args)]
pub struct HostArg {
    /// The host's id.
    #[arg(long)]
    pub host: String,
}

/// `--host --id`
#[derive(Debug, Args)]
pub struct SubscriptionArg {
    /// The host's id.
    #[arg(long)]
    pub host: String,
    /// The subscription's id, as printed by `webhook add`.
    #[arg(long)]
    pub id: String,
}

/// `webhook deliveries`
#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    /// The host's id.
    #[arg(long)]
    pub host: String,
    /// The subscription's id.
    #[arg(long)]
    pub id: String,
    /// At most this many attempts.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("the OS random source failed: {e}"))?;
    Ok(bytes)
}

fn host_id(text: &str) -> Result<HostId> {
    HostId::parse(text).map_err(|_| anyhow!("--host must be a host id as printed by `host add`"))
}

fn subscription_id(text: &str) -> Result<SubscriptionId> {
    SubscriptionId::parse(text)
        .map_err(|_| anyhow!("--id must be a subscription id as printed by `webhook add`"))
}

/// Runs a `webhook` subcommand, printing to stdout.
///
/// # Errors
/// Bad arguments, an unknown host or subscription, storage failures.
pub async fn webhook(config: &Config, storage: &Storage, command: WebhookCommand) -> Result<()> {
    let subs = &storage.subscriptions;
    match command {
        WebhookCommand::Add(args) => {
            let host = host_id(&args.host)?;
            let url = TargetUrl::parse(&args.url).context("--url")?;
            outbound::target_check(config)
                .check(url.as_str())
                .await
                .context("--url")?;
            let events = parse_events(&args.events).context("--events")?;
            let secret = WebhookSecret::generate(random()?).expose();
            let subscription = WebhookSubscription {
                id: SubscriptionId::from_uuid(
                    uuid::Builder::from_random_bytes(random()?).into_uuid(),
                ),
                host,
                url,
                secret: SubscriptionSecret::parse(&secret)?,
                events,
                active: true,
                created_at: Utc::now(),
            };
            subs.create_subscription(&subscription)
                .await
                .with_context(|| format!("host {host}"))?;
            println!("id:     {}", subscription.id);
            println!("secret: {secret}");
            println!("events: {}", events_to_text(&subscription.events));
            println!("(the secret is shown only now; receivers verify signatures with it)");
        }
        WebhookCommand::List(args) => {
            for s in subs.subscriptions(host_id(&args.host)?).await? {
                println!(
                    "{}  {}  {}  {}",
                    s.id,
                    if s.active { "active  " } else { "inactive" },
                    events_to_text(&s.events),
                    s.url
                );
            }
        }
        WebhookCommand::Remove(args) => {
            subs.delete_subscription(host_id(&args.host)?, subscription_id(&args.id)?)
                .await?;
            println!("removed");
        }
        WebhookCommand::Test(args) => {
            let host = host_id(&args.host)?;
            let subscription = subs
                .subscription(host, subscription_id(&args.id)?)
                .await?
                .ok_or_else(|| anyhow!("no such webhook subscription"))?;
            let sent = send_test_event(
                subs.as_ref(),
                outbound::target_check(config).as_ref(),
                outbound::webhook_sender(config)?.as_ref(),
                &subscription,
                &OsRandom,
                Utc::now(),
            )
            .await?;
            // A refused target is reported like a failed attempt (nothing was sent).
            let r = &match sent {
                TestEvent::Sent { report, .. } => report,
                TestEvent::Refused(refused) => DeliveryReport::not_sent(refused.to_string()),
            };
            println!(
                "{} status={} latency={}ms{}",
                if r.delivered { "delivered" } else { "FAILED" },
                r.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                r.latency_ms,
                r.error
                    .as_deref()
                    .map(|e| format!(" error={e}"))
                    .unwrap_or_default()
            );
            if !r.delivered {
                anyhow::bail!("the test event was not delivered");
            }
        }
        WebhookCommand::Deliveries(args) => {
            let log = subs
                .deliveries(host_id(&args.host)?, subscription_id(&args.id)?, args.limit)
                .await?;
            for a in log {
                let line = serde_json::json!({
                    "at": a.at.to_rfc3339(),
                    "webhook_id": a.effect_key,
                    "attempt": a.attempt,
                    "status": a.status,
                    "latency_ms": a.latency_ms,
                    "delivered": a.delivered,
                    "error": a.error,
                });
                println!("{line}");
            }
        }
    }
    Ok(())
}

/// Runs an `outbox` subcommand.
///
/// # Errors
/// Storage failures.
pub async fn outbox(storage: &Storage, command: OutboxCommand) -> Result<()> {
    match command {
        OutboxCommand::Dead { limit } => {
            for dead in storage.outbox.dead_entries(limit).await? {
                let line = serde_json::json!({
                    "key": dead.entry.key,
                    "effect": dead.entry.effect.code(),
                    "booking": dead.entry.effect.booking().to_string(),
                    "attempts": dead.entry.attempts,
                    "last_error": dead.last_error,
                    "died_at": dead.died_at.to_rfc3339(),
                });
                println!("{line}");
            }
        }
    }
    Ok(())
}
