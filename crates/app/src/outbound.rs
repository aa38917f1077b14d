//! The outbound side's wiring, in one place: the production adapters of booking-core's
//! outbound ports (mail from `MAILER_URL`/`MAIL_FROM`, the webhook client, the target check of
//! `WEBHOOKS_ALLOW_PRIVATE_TARGETS`, texts from `SMS_URL`) and the outbox dispatcher built on
//! them. The HTTP
//! server, the dispatcher and the `webhook` commands all take their adapters from here.

use std::sync::Arc;

use anyhow::{Context, Result};
use booking_core::ports::{Notifier, TargetCheck, WebhookSender};
use dispatch::{DealRecorder, Dispatcher, Parts, TextChannel};
use mailer_smtp::MailNotifier;
use sms_out::SmsAdapters;
use webhooks_out::{TargetPolicy, WebhookClient};

use crate::adapters::{SystemClock, os_jitter};
use crate::config::Config;
use crate::storage::Storage;

/// The target policy `WEBHOOKS_ALLOW_PRIVATE_TARGETS` asks for.
fn target_policy(config: &Config) -> TargetPolicy {
    if config.webhooks_allow_private_targets {
        TargetPolicy::allow_private()
    } else {
        TargetPolicy::public_only()
    }
}

/// The target check `WEBHOOKS_ALLOW_PRIVATE_TARGETS` asks for.
pub fn target_check(config: &Config) -> Arc<dyn TargetCheck> {
    Arc::new(target_policy(config))
}

/// The webhook client (5-second timeout), connecting only where the target check allows;
/// one per process, as it pools connections.
///
/// # Errors
/// When the HTTP client cannot start (its TLS backend).
pub fn webhook_sender(config: &Config) -> Result<Arc<dyn WebhookSender>> {
    Ok(Arc::new(
        WebhookClient::new(target_policy(config)).context("the webhook HTTP client")?,
    ))
}

/// The mail notifier `MAILER_URL` and `MAIL_FROM` name.
///
/// # Errors
/// A bad `MAILER_URL` or `MAIL_FROM`.
pub fn notifier(config: &Config) -> Result<Arc<dyn Notifier>> {
    let mailer = mailer_smtp::mailer_from_url(&config.mailer_url, &config.mail_from)
        .context("MAILER_URL / MAIL_FROM")?;
    Ok(Arc::new(MailNotifier::new(Arc::from(mailer))))
}

/// Every outbound adapter the server and the dispatcher share.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// Mails.
    pub notifier: Arc<dyn Notifier>,
    /// Webhooks (deliveries and test events).
    pub webhooks: Arc<dyn WebhookSender>,
    /// Which webhook targets may be reached.
    pub targets: Arc<dyn TargetCheck>,
    /// Text messages and the check of their replies, when `SMS_URL` is set.
    pub texts: Option<SmsAdapters>,
    /// How long a worker holds a claimed entry (`DISPATCH_LEASE_SECONDS`).
    pub lease: chrono::TimeDelta,
}

impl Outbound {
    /// The adapters the configuration names. Call it inside the Tokio runtime.
    ///
    /// # Errors
    /// As [`notifier`] and [`webhook_sender`].
    pub fn from_config(config: &Config) -> Result<Self> {
        Ok(Self {
            notifier: notifier(config)?,
            webhooks: webhook_sender(config)?,
            targets: target_check(config),
            texts: config
                .sms
                .as_ref()
                .map(SmsAdapters::for_url)
                .transpose()
                .context("the SMS HTTP client")?,
            lease: config.dispatch_lease,
        })
    }

    /// The dispatcher for `serve` and `demo`: these adapters, the store's outbox, bookings,
    /// subscriptions and deals (`CreateDeal` effects open Slotkeeper's own deal records), the
    /// system clock, OS-random retry jitter and the configured lease; texts go through
    /// `SMS_URL`'s sender, checked against the store's opt-outs.
    pub fn dispatcher(&self, storage: &Storage, public_base_url: &str) -> Dispatcher {
        let clock = Arc::new(SystemClock);
        let dispatcher = Dispatcher::new(Parts {
            outbox: storage.outbox.clone(),
            bookings: storage.bookings.clone(),
            subscriptions: storage.subscriptions.clone(),
            notifier: self.notifier.clone(),
            webhooks: self.webhooks.clone(),
            targets: self.targets.clone(),
            clock: clock.clone(),
            jitter: Arc::new(os_jitter),
            public_base_url: public_base_url.to_owned(),
        })
        .with_deal_sink(Arc::new(DealRecorder::new(storage.deals.clone(), clock)))
        .with_lease(self.lease);
        let dispatcher = match &storage.wake {
            Some(wake) => dispatcher.with_wake(wake.clone()),
            None => dispatcher,
        };
        match &self.texts {
            Some(texts) => dispatcher.with_texts(TextChannel {
                sender: texts.sender.clone(),
                opt_outs: storage.opt_outs.clone(),
            }),
            None => dispatcher,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn config(dir: &std::path::Path, sms_url: Option<&str>) -> Config {
        let mut args = vec![
            "slotkeeper".to_owned(),
            "--data-dir".into(),
            dir.display().to_string(),
            "--secret-key".into(),
            "k".repeat(32),
            "--database-url".into(),
            format!("sqlite://{}/db.sqlite", dir.display()),
            "--mailer-url".into(),
            format!("file://{}/mail", dir.display()),
        ];
        if let Some(url) = sms_url {
            args.extend(["--sms-url".to_owned(), url.to_owned()]);
        }
        let cli = crate::cli::Cli::try_parse_from(args).expect("flags");
        Config::from_settings(&cli.settings).expect("config")
    }

    #[tokio::test]
    async fn sms_url_gives_the_dispatcher_a_text_channel_on_the_store() {
        let dir = tempfile::tempdir().expect("dir");
        let sms_url = format!("file://{}/sms", dir.path().display());
        let texting = config(dir.path(), Some(&sms_url));
        let storage =
            crate::storage::open(&texting.database_url, texting.derived_key("token-seal"))
                .await
                .expect("store");
        let outbound = Outbound::from_config(&texting).expect("adapters");
        let dispatcher = outbound.dispatcher(&storage, "http://book.test");
        let texts = dispatcher.texts().expect("texts configured");
        texts
            .sender
            .send_text("+447911123456", "hello", "k1")
            .await
            .expect("sent");
        assert!(dir.path().join("sms/k1.txt").exists());
        storage
            .opt_outs
            .set_opted_out("+447911123456", true, chrono::Utc::now())
            .await
            .expect("stop");
        assert!(
            texts
                .opt_outs
                .is_opted_out("+447911123456")
                .await
                .expect("read"),
            "the channel reads the store's opt-outs"
        );

        let without = Outbound::from_config(&config(dir.path(), None)).expect("adapters");
        assert!(without.texts.is_none());
        assert!(
            without
                .dispatcher(&storage, "http://book.test")
                .texts()
                .is_none()
        );
    }
}
