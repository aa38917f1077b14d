//! A link's workflow as the host types it — the JSON API's `workflow` object or the editor's
//! rows of the trigger × action matrix — checked into booking-core's `Workflow`.

use std::collections::BTreeMap;

use booking_core::workflows::{Step, StepText, Workflow, preset};
use serde::{Deserialize, Serialize};

use crate::forms::FieldErrors;

/// A link's own workflow: its steps and how reconfirmation requests go out. Without one a link
/// runs the standard workflow (a reminder 24 hours before by email and text; requests by email
/// and text).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Workflow)]
pub(crate) struct WorkflowInput {
    /// At most 20 steps, run in this order when their trigger fires.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub(crate) steps: Vec<StepInput>,
    /// Mail reconfirmation requests (default true).
    #[serde(default = "yes")]
    pub(crate) reconfirm_by_email: bool,
    /// Text reconfirmation requests to attendees who gave a phone number (default true).
    #[serde(default = "yes")]
    pub(crate) reconfirm_by_text: bool,
}

fn yes() -> bool {
    true
}

/// When a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = WorkflowTrigger)]
pub(crate) enum TriggerName {
    Booked,
    Rescheduled,
    Cancelled,
    BeforeStart,
    AfterEnd,
    NoShow,
    NotReconfirmed,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = WorkflowAction)]
pub(crate) enum ActionName {
    EmailAttendee,
    EmailHost,
    TextAttendee,
    Webhook,
}

/// One step: a trigger, an action and its wording. Fields in braces are filled in:
/// `{attendee_name}`, `{start}` (in the attendee's zone), `{host_name}`, `{title}`,
/// `{reschedule_url}`, `{cancel_url}`, `{reconfirm_url}`, `{book_again_url}`; any other name
/// is refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WorkflowStep)]
pub(crate) struct StepInput {
    pub(crate) trigger: TriggerName,
    /// For `before_start` and `after_end` only: how many minutes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::json::whole_or_null"
    )]
    #[schema(minimum = 1, maximum = 527040)]
    pub(crate) minutes: Option<i64>,
    pub(crate) action: ActionName,
    /// A mail's subject (one line, at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub(crate) subject: Option<String>,
    /// The wording (mail: at most 5000 characters; text: at most 200). Leave it out for a
    /// webhook, or for the built-in reminder on a `before_start` step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 5000)]
    pub(crate) body: Option<String>,
}

fn name_of<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn by_name<T: for<'de> Deserialize<'de>>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

impl WorkflowInput {
    /// The input of an existing workflow.
    pub(crate) fn of(workflow: &Workflow) -> Self {
        Self {
            steps: workflow.steps().iter().filter_map(step_input).collect(),
            reconfirm_by_email: workflow.reconfirm_by_email(),
            reconfirm_by_text: workflow.reconfirm_by_text(),
        }
    }

    /// The checked workflow, or the message under the `workflow` field.
    pub(crate) fn check(&self, errors: &mut FieldErrors) -> Option<Workflow> {
        let names: Vec<(String, String)> = self
            .steps
            .iter()
            .map(|s| (name_of(s.trigger), name_of(s.action)))
            .collect();
        let steps: Vec<StepText<'_>> = self
            .steps
            .iter()
            .zip(&names)
            .map(|(s, (trigger, action))| StepText {
                trigger,
                minutes: s.minutes,
                action,
                subject: s.subject.as_deref(),
                body: s.body.as_deref(),
            })
            .collect();
        Workflow::parse(&steps, self.reconfirm_by_email, self.reconfirm_by_text)
            .map_err(|e| errors.add("workflow", e.to_string()))
            .ok()
    }
}

fn step_input(step: &Step) -> Option<StepInput> {
    let text = step.to_text();
    Some(StepInput {
        trigger: by_name(text.trigger)?,
        minutes: text.minutes,
        action: by_name(text.action)?,
        subject: text.subject.map(str::to_owned),
        body: text.body.map(str::to_owned),
    })
}

/// How many empty rows the editor offers below the steps.
pub(crate) const BLANK_ROWS: usize = 2;

/// The editor's workflow fields as posted: `workflow_custom` (on: the link's own workflow),
/// `reconfirm_by_email` / `reconfirm_by_text`, `add_preset`, and per row `step{N}_trigger`,
/// `step{N}_minutes`, `step{N}_action`, `step{N}_subject`, `step{N}_body`. A row without a
/// trigger is dropped; a preset adds its step at the end.
pub(crate) fn from_form(
    fields: &BTreeMap<String, String>,
    errors: &mut FieldErrors,
) -> Option<WorkflowInput> {
    let on = |k: &str| fields.get(k).is_some_and(|v| v == "on" || v == "true");
    if !on("workflow_custom") {
        return None;
    }
    let text = |k: String| {
        fields
            .get(&k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut steps = Vec::new();
    for row in 0..booking_core::workflows::MAX_STEPS + BLANK_ROWS {
        let Some(trigger) = text(format!("step{row}_trigger")) else {
            continue;
        };
        let (Some(trigger), Some(action)) = (
            by_name::<TriggerName>(&trigger),
            text(format!("step{row}_action")).and_then(|a| by_name::<ActionName>(&a)),
        ) else {
            errors.add(
                "workflow",
                format!("step {}: choose a trigger and an action", row + 1),
            );
            continue;
        };
        let minutes = match text(format!("step{row}_minutes")).map(|m| m.parse::<i64>()) {
            None => None,
            Some(Ok(m)) => Some(m),
            Some(Err(_)) => {
                errors.add(
                    "workflow",
                    format!("step {}: minutes must be a whole number", row + 1),
                );
                None
            }
        };
        steps.push(StepInput {
            trigger,
            minutes,
            action,
            subject: text(format!("step{row}_subject")),
            body: text(format!("step{row}_body")),
        });
    }
    if let Some(name) = text("add_preset".to_owned()) {
        match preset(&name) {
            Some((trigger, action, wording)) => {
                if let Ok(step) = Step::new(0, trigger, action, Some(wording))
                    && let Some(input) = step_input(&step)
                {
                    steps.push(input);
                }
            }
            None => errors.add("workflow", format!("there is no preset {name:?}")),
        }
    }
    Some(WorkflowInput {
        steps,
        reconfirm_by_email: on("reconfirm_by_email"),
        reconfirm_by_text: on("reconfirm_by_text"),
    })
}

/// One row of the editor's matrix, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StepRow {
    pub(crate) trigger: String,
    pub(crate) minutes: String,
    pub(crate) action: String,
    pub(crate) subject: String,
    pub(crate) body: String,
}

/// The editor's rows for `input` (the standard workflow's when it is `None`), plus blank ones.
pub(crate) fn rows(input: Option<&WorkflowInput>) -> Vec<StepRow> {
    let standard = WorkflowInput::of(&Workflow::standard());
    let input = input.unwrap_or(&standard);
    let mut rows: Vec<StepRow> = input
        .steps
        .iter()
        .map(|s| StepRow {
            trigger: name_of(s.trigger),
            minutes: s.minutes.map(|m| m.to_string()).unwrap_or_default(),
            action: name_of(s.action),
            subject: s.subject.clone().unwrap_or_default(),
            body: s.body.clone().unwrap_or_default(),
        })
        .collect();
    rows.extend(std::iter::repeat_n(StepRow::default(), BLANK_ROWS));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_editor_rows_make_a_workflow_and_a_preset_adds_a_step() {
        let mut errors = FieldErrors::default();
        let input = from_form(
            &posted(&[
                ("workflow_custom", "on"),
                ("reconfirm_by_email", "on"),
                ("step0_trigger", "before_start"),
                ("step0_minutes", "120"),
                ("step0_action", "text_attendee"),
                ("step1_trigger", ""),
                ("step1_action", "email_host"),
                ("step2_trigger", "booked"),
                ("step2_action", "email_host"),
                ("step2_subject", "New: {attendee_name}"),
                ("step2_body", "At {start}"),
                ("add_preset", "no_show_follow_up"),
            ]),
            &mut errors,
        )
        .unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        let workflow = input.check(&mut errors).unwrap();
        let triggers: Vec<&str> = workflow
            .steps()
            .iter()
            .map(|s| s.trigger().name())
            .collect();
        assert_eq!(triggers, ["before_start", "booked", "no_show"]);
        assert!(workflow.reconfirm_by_email() && !workflow.reconfirm_by_text());
        assert_eq!(WorkflowInput::of(&workflow), input);
        assert_eq!(rows(Some(&input)).len(), 3 + BLANK_ROWS);
    }

    #[test]
    fn unknown_fields_and_a_standard_workflow() {
        let mut errors = FieldErrors::default();
        assert_eq!(
            from_form(&posted(&[("step0_trigger", "booked")]), &mut errors),
            None
        );
        let input = from_form(
            &posted(&[
                ("workflow_custom", "on"),
                ("reconfirm_by_text", "on"),
                ("step0_trigger", "booked"),
                ("step0_action", "email_attendee"),
                ("step0_subject", "Hi {nickname}"),
                ("step0_body", "x"),
            ]),
            &mut errors,
        )
        .unwrap();
        assert!(input.check(&mut errors).is_none());
        let message = errors.get("workflow").unwrap();
        assert!(message.contains("unknown field {nickname}"), "{message}");
    }
}
