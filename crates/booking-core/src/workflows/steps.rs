//! The trigger × action matrix a host edits per booking link: each [`Step`] does one
//! [`Action`] when its [`Trigger`] fires, worded by the host's [`Template`] or, for reminders,
//! by the built-in reminder.

use super::template::Template;

/// Longest lead or follow-up time, in minutes (366 days).
pub const MAX_STEP_MINUTES: u32 = 366 * 24 * 60;
/// Most steps a workflow holds.
pub const MAX_STEPS: usize = 20;

/// Why a workflow was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidWorkflow {
    /// An unknown trigger name, or minutes missing, out of range or given where none belong.
    #[error(
        "a step's trigger must be booked, rescheduled, cancelled, no_show, not_reconfirmed, or before_start / after_end with 1 to 527040 minutes"
    )]
    Trigger,
    /// An unknown action name.
    #[error("a step's action must be email_attendee, email_host, text_attendee or webhook")]
    Action,
    /// A mail step without a subject, or a subject too long or on several lines.
    #[error("a mail step needs a subject of at most 200 characters on one line")]
    Subject,
    /// A body empty, too long, or with control characters other than line breaks and tabs.
    #[error(
        "a step's text must be 1 to 5000 characters (200 for a text message) without control characters"
    )]
    Body,
    /// A template names a field that does not exist.
    #[error(
        "unknown field {{{0}}} in a step's text (use attendee_name, start, host_name, title, reschedule_url, cancel_url, reconfirm_url, book_again_url)"
    )]
    UnknownField(String),
    /// A `{` without its `}`.
    #[error("a step's text opens a field with {{ but never closes it with }}")]
    UnclosedField,
    /// A message step needs wording (only reminders before the start have a built-in one); a
    /// webhook step takes none.
    #[error(
        "mail and text steps need their wording (except reminders before the start); webhook steps take none"
    )]
    Wording,
    /// Too many steps.
    #[error("a workflow has at most 20 steps")]
    TooManySteps,
    /// Reconfirmation requests must go out by mail, by text, or both.
    #[error("reconfirmation requests must go by email, by text, or both")]
    ReconfirmationChannel,
}

/// When a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Trigger {
    /// The booking is made.
    Booked,
    /// The booking is moved (the new row's steps).
    Rescheduled,
    /// The booking is cancelled by the attendee, the host or their calendar.
    Cancelled,
    /// This many minutes before the start (skipped when that moment had passed at booking).
    BeforeStart(u32),
    /// This many minutes after the end of a meeting that took place (not cancelled, moved or a
    /// no-show).
    AfterEnd(u32),
    /// The host marks the meeting a no-show.
    NoShow,
    /// The booking is cancelled because it was not reconfirmed by the deadline.
    NotReconfirmed,
}

impl Trigger {
    /// The trigger's name in the API and the editor.
    pub fn name(self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Rescheduled => "rescheduled",
            Self::Cancelled => "cancelled",
            Self::BeforeStart(_) => "before_start",
            Self::AfterEnd(_) => "after_end",
            Self::NoShow => "no_show",
            Self::NotReconfirmed => "not_reconfirmed",
        }
    }

    /// The minutes of a timed trigger.
    pub fn minutes(self) -> Option<u32> {
        match self {
            Self::BeforeStart(m) | Self::AfterEnd(m) => Some(m),
            _ => None,
        }
    }

    /// Reads a trigger from its name and, for the timed ones, its minutes.
    ///
    /// # Errors
    /// [`InvalidWorkflow::Trigger`].
    pub fn parse(name: &str, minutes: Option<i64>) -> Result<Self, InvalidWorkflow> {
        let timed = |m: Option<i64>| {
            m.and_then(|m| u32::try_from(m).ok())
                .filter(|m| (1..=MAX_STEP_MINUTES).contains(m))
                .ok_or(InvalidWorkflow::Trigger)
        };
        let instant = |t: Self| {
            minutes
                .is_none()
                .then_some(t)
                .ok_or(InvalidWorkflow::Trigger)
        };
        match name {
            "booked" => instant(Self::Booked),
            "rescheduled" => instant(Self::Rescheduled),
            "cancelled" => instant(Self::Cancelled),
            "no_show" => instant(Self::NoShow),
            "not_reconfirmed" => instant(Self::NotReconfirmed),
            "before_start" => timed(minutes).map(Self::BeforeStart),
            "after_end" => timed(minutes).map(Self::AfterEnd),
            _ => Err(InvalidWorkflow::Trigger),
        }
    }
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Mail the attendee.
    EmailAttendee,
    /// Mail the host.
    EmailHost,
    /// Text (SMS) the attendee, when they gave a phone number and SMS is configured.
    TextAttendee,
    /// Post a signed `workflowStep` event to the host's webhook subscriptions that asked for
    /// it.
    Webhook,
}

impl Action {
    /// Every action, in the editor's order.
    pub const ALL: [Self; 4] = [
        Self::EmailAttendee,
        Self::EmailHost,
        Self::TextAttendee,
        Self::Webhook,
    ];

    /// The action's name in the API and the editor.
    pub fn name(self) -> &'static str {
        match self {
            Self::EmailAttendee => "email_attendee",
            Self::EmailHost => "email_host",
            Self::TextAttendee => "text_attendee",
            Self::Webhook => "webhook",
        }
    }

    /// Reads an action from its name.
    ///
    /// # Errors
    /// [`InvalidWorkflow::Action`].
    pub fn parse(name: &str) -> Result<Self, InvalidWorkflow> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or(InvalidWorkflow::Action)
    }
}

/// One cell of the matrix: when, what, and in which words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    id: u16,
    trigger: Trigger,
    action: Action,
    wording: Option<Template>,
}

impl Step {
    /// A step. `wording` is the host's template ([`Template::mail`] for mail actions,
    /// [`Template::text`] for texts); `None` only for a reminder before the start, which
    /// then uses the built-in reminder, and for webhooks.
    ///
    /// # Errors
    /// [`InvalidWorkflow::Wording`] when the wording does not fit the action.
    pub fn new(
        id: u16,
        trigger: Trigger,
        action: Action,
        wording: Option<Template>,
    ) -> Result<Self, InvalidWorkflow> {
        let reminder = matches!(trigger, Trigger::BeforeStart(_));
        let fits = match (action, &wording) {
            (Action::Webhook, None) => true,
            (Action::Webhook, Some(_)) => false,
            (_, None) => reminder,
            (Action::TextAttendee, Some(t)) => t.subject().is_none(),
            (Action::EmailAttendee | Action::EmailHost, Some(t)) => t.subject().is_some(),
        };
        if !fits {
            return Err(InvalidWorkflow::Wording);
        }
        Ok(Self {
            id,
            trigger,
            action,
            wording,
        })
    }

    /// The step's number within its workflow (in outbox keys: `{booking}:step:{id}`).
    pub fn id(&self) -> u16 {
        self.id
    }
    /// When it runs.
    pub fn trigger(&self) -> Trigger {
        self.trigger
    }
    /// What it does.
    pub fn action(&self) -> Action {
        self.action
    }
    /// The host's wording; `None` for the built-in reminder or a webhook.
    pub fn wording(&self) -> Option<&Template> {
        self.wording.as_ref()
    }
}

/// A link's workflow: its steps, and how reconfirmation requests go out (when the link asks
/// for reconfirmation at all, see [`crate::link::ReconfirmationPolicy`]). The change
/// notifications (booked, rescheduled, cancelled mails to both and the webhooks) are always
/// sent and are not steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    steps: Vec<Step>,
    reconfirm_by_email: bool,
    reconfirm_by_text: bool,
}

impl Workflow {
    /// A workflow of `steps`, numbered 1, 2, … in order.
    ///
    /// # Errors
    /// [`InvalidWorkflow::TooManySteps`] beyond [`MAX_STEPS`],
    /// [`InvalidWorkflow::ReconfirmationChannel`] when neither channel is chosen.
    pub fn new(
        steps: Vec<(Trigger, Action, Option<Template>)>,
        reconfirm_by_email: bool,
        reconfirm_by_text: bool,
    ) -> Result<Self, InvalidWorkflow> {
        if steps.len() > MAX_STEPS {
            return Err(InvalidWorkflow::TooManySteps);
        }
        if !reconfirm_by_email && !reconfirm_by_text {
            return Err(InvalidWorkflow::ReconfirmationChannel);
        }
        let steps = (1u16..)
            .zip(steps)
            .map(|(id, (trigger, action, wording))| Step::new(id, trigger, action, wording))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            steps,
            reconfirm_by_email,
            reconfirm_by_text,
        })
    }

    /// What a link without a workflow of its own does: a reminder 24 hours before by mail and
    /// by text, reconfirmation requests by mail and by text.
    pub fn standard() -> Self {
        let day = 24 * 60;
        Self::new(
            vec![
                (Trigger::BeforeStart(day), Action::EmailAttendee, None),
                (Trigger::BeforeStart(day), Action::TextAttendee, None),
            ],
            true,
            true,
        )
        .unwrap_or_else(|_| unreachable!("the standard workflow is valid"))
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The step numbered `id`.
    pub fn step(&self, id: u16) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Whether reconfirmation requests are mailed.
    pub fn reconfirm_by_email(&self) -> bool {
        self.reconfirm_by_email
    }

    /// Whether reconfirmation requests are texted (to attendees who gave a phone number).
    pub fn reconfirm_by_text(&self) -> bool {
        self.reconfirm_by_text
    }
}

/// A step as text, the shape the API, the editor and the stores write it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepText<'a> {
    /// [`Trigger::name`].
    pub trigger: &'a str,
    /// [`Trigger::minutes`].
    pub minutes: Option<i64>,
    /// [`Action::name`].
    pub action: &'a str,
    /// A mail's subject.
    pub subject: Option<&'a str>,
    /// The wording; none (or blank) for a built-in reminder or a webhook.
    pub body: Option<&'a str>,
}

impl Step {
    /// The step as text.
    pub fn to_text(&self) -> StepText<'_> {
        StepText {
            trigger: self.trigger.name(),
            minutes: self.trigger.minutes().map(i64::from),
            action: self.action.name(),
            subject: self.wording.as_ref().and_then(Template::subject),
            body: self.wording.as_ref().map(Template::body),
        }
    }
}

impl Workflow {
    /// Reads a workflow written as text, checking every step.
    ///
    /// # Errors
    /// [`InvalidWorkflow`] for the first step (or setting) that does not hold.
    pub fn parse(
        steps: &[StepText<'_>],
        reconfirm_by_email: bool,
        reconfirm_by_text: bool,
    ) -> Result<Self, InvalidWorkflow> {
        fn blank(t: Option<&str>) -> Option<&str> {
            t.map(str::trim).filter(|t| !t.is_empty())
        }
        let mut parsed = Vec::with_capacity(steps.len());
        for step in steps {
            let trigger = Trigger::parse(step.trigger, step.minutes)?;
            let action = Action::parse(step.action)?;
            let wording = match (action, blank(step.subject), blank(step.body)) {
                (_, None, None) => None,
                (Action::TextAttendee, None, Some(body)) => Some(Template::text(body)?),
                (Action::EmailAttendee | Action::EmailHost, subject, Some(body)) => {
                    Some(Template::mail(subject.unwrap_or_default(), body)?)
                }
                (Action::EmailAttendee | Action::EmailHost, Some(_), None) => {
                    return Err(InvalidWorkflow::Body);
                }
                _ => return Err(InvalidWorkflow::Wording),
            };
            parsed.push((trigger, action, wording));
        }
        Self::new(parsed, reconfirm_by_email, reconfirm_by_text)
    }
}

/// The presets the editor offers, by name: `no_show_follow_up` ("sorry we missed you — book
/// again" to the attendee when the host marks a no-show), `thank_you` (a thank-you mail an
/// hour after the meeting) and `reminder_2h` (a text two hours before).
pub fn preset(name: &str) -> Option<(Trigger, Action, Template)> {
    let mail = |subject: &str, body: &str| Template::mail(subject, body).ok();
    Some(match name {
        "no_show_follow_up" => (
            Trigger::NoShow,
            Action::EmailAttendee,
            mail(
                "Sorry we missed you: {title}",
                "Hi {attendee_name},\n\nwe missed you at {title} with {host_name} on {start}. \
                 If you would still like to meet, please book a new time:\n{book_again_url}",
            )?,
        ),
        "thank_you" => (
            Trigger::AfterEnd(60),
            Action::EmailAttendee,
            mail(
                "Thank you for meeting {host_name}",
                "Hi {attendee_name},\n\nthank you for your time at {title}. To meet again, \
                 book here:\n{book_again_url}",
            )?,
        ),
        "reminder_2h" => (
            Trigger::BeforeStart(120),
            Action::TextAttendee,
            Template::text(
                "{title} with {host_name} starts at {start}. Change it: {reschedule_url}",
            )
            .ok()?,
        ),
        _ => return None,
    })
}

/// The presets' names, in the editor's order.
pub const PRESETS: [(&str, &str); 3] = [
    (
        "no_show_follow_up",
        "No-show follow-up: “sorry we missed you — book again”",
    ),
    ("thank_you", "Thank-you mail an hour after the meeting"),
    ("reminder_2h", "Text reminder two hours before"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_round_trip_and_check_their_minutes() {
        for t in [
            Trigger::Booked,
            Trigger::Rescheduled,
            Trigger::Cancelled,
            Trigger::BeforeStart(1440),
            Trigger::AfterEnd(30),
            Trigger::NoShow,
            Trigger::NotReconfirmed,
        ] {
            assert_eq!(Trigger::parse(t.name(), t.minutes().map(i64::from)), Ok(t));
        }
        for (name, minutes) in [
            ("before_start", None),
            ("before_start", Some(0)),
            ("after_end", Some(527_041)),
            ("booked", Some(5)),
            ("sometime", None),
        ] {
            assert_eq!(Trigger::parse(name, minutes), Err(InvalidWorkflow::Trigger));
        }
        assert_eq!(Action::parse("fax"), Err(InvalidWorkflow::Action));
    }

    #[test]
    fn wording_must_fit_the_action() {
        let mail = Template::mail("Hi", "Body").unwrap();
        let text = Template::text("Body").unwrap();
        let before = Trigger::BeforeStart(60);
        assert!(Step::new(1, before, Action::TextAttendee, None).is_ok());
        assert!(Step::new(1, Trigger::Booked, Action::EmailHost, None).is_err());
        assert!(Step::new(1, Trigger::Booked, Action::EmailHost, Some(text.clone())).is_err());
        assert!(Step::new(1, Trigger::Booked, Action::TextAttendee, Some(mail.clone())).is_err());
        assert!(Step::new(1, Trigger::Booked, Action::Webhook, Some(mail)).is_err());
        assert!(Step::new(1, Trigger::NoShow, Action::TextAttendee, Some(text)).is_ok());
    }

    #[test]
    fn workflows_number_their_steps_and_need_a_reconfirmation_channel() {
        let w = Workflow::standard();
        assert_eq!(w.steps().len(), 2);
        assert_eq!(w.step(2).map(Step::action), Some(Action::TextAttendee));
        assert_eq!(
            Workflow::new(vec![], false, false),
            Err(InvalidWorkflow::ReconfirmationChannel)
        );
        let many = vec![(Trigger::Booked, Action::Webhook, None); 21];
        assert_eq!(
            Workflow::new(many, true, false),
            Err(InvalidWorkflow::TooManySteps)
        );
        let text: Vec<StepText<'_>> = w.steps().iter().map(Step::to_text).collect();
        assert_eq!(Workflow::parse(&text, true, true), Ok(w.clone()));
        let bad = StepText {
            trigger: "booked",
            minutes: None,
            action: "webhook",
            subject: None,
            body: Some("no words for webhooks"),
        };
        assert_eq!(
            Workflow::parse(&[bad], true, true),
            Err(InvalidWorkflow::Wording)
        );
        for (name, _) in PRESETS {
            let (trigger, action, wording) = preset(name).unwrap();
            assert!(
                Step::new(1, trigger, action, Some(wording)).is_ok(),
                "{name}"
            );
        }
    }
}
