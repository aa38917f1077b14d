//! Workflow step effects: the step is read from the booking's link when it is due (a step the
//! host removed or changed since is taken as it is now, or skipped when gone), checked against
//! what happened to the booking meanwhile, then delivered by its action: a mail (the host's
//! wording, or the built-in reminder), a text, or a `workflowStep` webhook.

use booking_core::effects::{EmailKind, Recipient, TextKind, WebhookEvent};
use booking_core::ids::BookingId;
use booking_core::ports::{NotifyError, OutboxEntry, StoreError};
use booking_core::workflows::{Action, step_skip_reason, step_text_body, text_body};
use chrono::{DateTime, Utc};

use crate::context::Rows;
use crate::{Outcome, Parts, TextChannel, text, webhook};

pub(crate) async fn deliver(
    parts: &Parts,
    rows: &Rows<'_>,
    texts: Option<&TextChannel>,
    entry: &OutboxEntry,
    booking: BookingId,
    id: u16,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    let loaded = match rows.load(booking).await? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    let Some(step) = loaded.link.workflow().and_then(|w| w.step(id)).cloned() else {
        return Ok(Outcome::Skipped(
            "the step is no longer in the link's workflow",
        ));
    };
    let step = &step;
    if let Some(why) = step_skip_reason(step, &loaded.booking, now) {
        return Ok(Outcome::Skipped(why));
    }
    let ctx = loaded.notification(&parts.public_base_url);
    let mail = |to: Recipient| async move {
        let sent = match step.wording() {
            Some(wording) => {
                let message = wording.render(&ctx, usize::MAX);
                parts
                    .notifier
                    .notify_written(to, &ctx, &message, &entry.key)
                    .await
            }
            None => {
                parts
                    .notifier
                    .notify(EmailKind::Reminder, to, &ctx, &entry.key)
                    .await
            }
        };
        match sent {
            Ok(()) => Outcome::Delivered,
            Err(NotifyError::Permanent(e)) => Outcome::Permanent(e),
            Err(NotifyError::Transient(e)) => Outcome::Failed(e),
        }
    };
    Ok(match step.action() {
        Action::EmailAttendee => mail(Recipient::Attendee).await,
        Action::EmailHost => mail(Recipient::Host).await,
        Action::TextAttendee => {
            let body = match step.wording() {
                Some(wording) => step_text_body(wording, &ctx),
                None => text_body(TextKind::Reminder, &ctx),
            };
            text::send(texts, &loaded.booking, &body, &entry.key).await?
        }
        Action::Webhook => {
            webhook::deliver(parts, rows, entry, WebhookEvent::WorkflowStep, booking, now).await?
        }
    })
}
