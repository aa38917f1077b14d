//! Booking links (event types) and the hosts who publish them.

use std::fmt;

use chrono::TimeDelta;

use crate::availability::AvailabilityRules;
use crate::ids::{HostId, LinkId};
use crate::invitee::{Answers, Email, InvalidInput, PersonName, QUESTION_MAX};
use crate::text;
use crate::time::TimeZoneName;
use crate::workflows::Workflow;

/// The URL name of a link: 1–64 of `a-z0-9-`, not starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

/// Why a link setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidLink {
    /// Slug outside `a-z0-9-`, empty, too long, or with a dash at either end.
    #[error("slug must be 1-64 characters of a-z, 0-9 and '-', not starting or ending with '-'")]
    Slug,
    /// Title empty, longer than 200 characters, or with control characters.
    #[error("title must be 1 to 200 characters on one line")]
    Title,
    /// A question empty, longer than 500 characters or with control characters, or more than
    /// 20 questions.
    #[error("ask at most 20 questions, each one line of at most 500 characters")]
    Questions,
    /// The reconfirmation request must come before the auto-cancel deadline.
    #[error(
        "ask for reconfirmation earlier than the auto-cancel deadline (both before the meeting)"
    )]
    Reconfirmation,
    /// Description longer than 5,000 characters, or with control characters other than line
    /// breaks and tabs.
    #[error("description must be at most 5000 characters, without control characters")]
    Description,
    /// Location longer than 500 characters or with line breaks.
    #[error("location must be at most 500 characters without line breaks")]
    Location,
}

impl Slug {
    /// Checks a slug.
    ///
    /// # Errors
    /// [`InvalidLink::Slug`] when it breaks the rule above.
    pub fn parse(text: &str) -> Result<Self, InvalidLink> {
        let ok = (1..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-')
            && !text.ends_with('-');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidLink::Slug)
        }
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Ask attendees to reconfirm `ask_before` the meeting; cancel at `cancel_before` if they did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconfirmationPolicy {
    ask_before: TimeDelta,
    cancel_before: TimeDelta,
}

impl ReconfirmationPolicy {
    /// Checks `ask_before > cancel_before >= 0`.
    ///
    /// # Errors
    /// [`InvalidLink::Reconfirmation`] otherwise.
    pub fn new(ask_before: TimeDelta, cancel_before: TimeDelta) -> Result<Self, InvalidLink> {
        if cancel_before < TimeDelta::zero() || ask_before <= cancel_before {
            return Err(InvalidLink::Reconfirmation);
        }
        Ok(Self {
            ask_before,
            cancel_before,
        })
    }
    /// How long before the meeting the request goes out.
    pub fn ask_before(&self) -> TimeDelta {
        self.ask_before
    }
    /// How long before the meeting an unconfirmed booking is cancelled.
    pub fn cancel_before(&self) -> TimeDelta {
        self.cancel_before
    }
    /// The least time a request must leave the attendee before the deadline for the deadline
    /// to hold: half the time the policy means them to have (`ask_before - cancel_before`). A
    /// request that could only go out later (after downtime) is not sent, and the booking
    /// counts as confirmed; see [`crate::reconfirmation`].
    pub fn fair_notice(&self) -> TimeDelta {
        (self.ask_before - self.cancel_before) / 2
    }
}

/// A link a host publishes at `/book/{slug}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingLink {
    id: LinkId,
    host: HostId,
    slug: Slug,
    title: String,
    rules: AvailabilityRules,
    reconfirmation: Option<ReconfirmationPolicy>,
    create_deal: bool,
    questions: Vec<String>,
    description: Option<String>,
    location: Option<String>,
    workflow: Option<Workflow>,
}

/// The settings of a link other than its identity, ready to be checked.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// Shown on the booking page.
    pub title: String,
    /// When slots are offered.
    pub rules: AvailabilityRules,
    /// Optional reconfirmation workflow.
    pub reconfirmation: Option<ReconfirmationPolicy>,
    /// Whether each booking creates a CRM deal.
    pub create_deal: bool,
    /// Extra questions on the booking form, in order. A question ending in `*` must be
    /// answered; the `*` is not part of its text ([`Question`]).
    pub questions: Vec<String>,
}

/// Most questions a link asks.
pub const QUESTIONS_MAX: usize = crate::invitee::ANSWERS_MAX;

/// One question of a link's booking form, as an attendee sees it: the text without the
/// host's trailing `*`, and whether an answer is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question<'a> {
    /// What is asked; answers name their question by this text.
    pub text: &'a str,
    /// Whether a booking needs an answer to it.
    pub required: bool,
}

impl<'a> Question<'a> {
    /// Reads a question as the host wrote it: `Company *` is the required question `Company`.
    pub fn of(written: &'a str) -> Self {
        match written.trim().strip_suffix('*') {
            Some(text) if !text.trim().is_empty() => Self {
                text: text.trim_end(),
                required: true,
            },
            _ => Self {
                text: written.trim(),
                required: false,
            },
        }
    }
}

impl BookingLink {
    /// A link from checked parts.
    ///
    /// # Errors
    /// [`InvalidLink::Title`] for an empty, over-long or multi-line title,
    /// [`InvalidLink::Questions`] for too many questions or a blank, over-long or multi-line
    /// one.
    pub fn new(
        id: LinkId,
        host: HostId,
        slug: Slug,
        settings: LinkSettings,
    ) -> Result<Self, InvalidLink> {
        let title = settings.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > 200 || !text::is_single_line(&title) {
            return Err(InvalidLink::Title);
        }
        let question_ok = |q: &String| {
            !q.trim().is_empty() && q.chars().count() <= QUESTION_MAX && text::is_single_line(q)
        };
        if settings.questions.len() > QUESTIONS_MAX || !settings.questions.iter().all(question_ok) {
            return Err(InvalidLink::Questions);
        }
        Ok(Self {
            id,
            host,
            slug,
            title,
            rules: settings.rules,
            reconfirmation: settings.reconfirmation,
            create_deal: settings.create_deal,
            questions: settings.questions,
            description: None,
            location: None,
            workflow: None,
        })
    }

    /// The same link with its own workflow (`None`: the standard one).
    #[must_use]
    pub fn with_workflow(self, workflow: Option<Workflow>) -> Self {
        Self { workflow, ..self }
    }

    /// The link's own workflow, if the host set one.
    pub fn workflow(&self) -> Option<&Workflow> {
        self.workflow.as_ref()
    }

    /// The workflow the link runs: its own, or [`Workflow::standard`].
    pub fn effective_workflow(&self) -> Workflow {
        self.workflow.clone().unwrap_or_else(Workflow::standard)
    }

    /// The same link with a description (shown on the booking page) and a location (an
    /// address or a video-call URL); blank texts mean none.
    ///
    /// # Errors
    /// [`InvalidLink::Description`], [`InvalidLink::Location`] for over-long texts or a
    /// location with control characters.
    pub fn with_details(
        self,
        description: Option<&str>,
        location: Option<&str>,
    ) -> Result<Self, InvalidLink> {
        fn blank_is_none(t: Option<&str>) -> Option<String> {
            t.map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        }
        let description = match blank_is_none(description) {
            Some(d) if d.chars().count() > 5000 => return Err(InvalidLink::Description),
            Some(d) => Some(text::multiline(&d).ok_or(InvalidLink::Description)?),
            None => None,
        };
        let location = blank_is_none(location);
        if location
            .as_ref()
            .is_some_and(|l| l.chars().count() > 500 || l.chars().any(char::is_control))
        {
            return Err(InvalidLink::Location);
        }
        Ok(Self {
            description,
            location,
            ..self
        })
    }
    /// Id.
    pub fn id(&self) -> LinkId {
        self.id
    }
    /// The host whose calendar it books.
    pub fn host(&self) -> HostId {
        self.host
    }
    /// URL name.
    pub fn slug(&self) -> &Slug {
        &self.slug
    }
    /// Title.
    pub fn title(&self) -> &str {
        &self.title
    }
    /// Availability.
    pub fn rules(&self) -> &AvailabilityRules {
        &self.rules
    }
    /// Reconfirmation workflow, if any.
    pub fn reconfirmation(&self) -> Option<ReconfirmationPolicy> {
        self.reconfirmation
    }
    /// Whether bookings create CRM deals.
    pub fn create_deal(&self) -> bool {
        self.create_deal
    }
    /// Form questions, as the host wrote them.
    pub fn questions(&self) -> &[String] {
        &self.questions
    }

    /// Form questions as attendees see them, in order.
    pub fn form_questions(&self) -> impl Iterator<Item = Question<'_>> {
        self.questions.iter().map(|q| Question::of(q))
    }

    /// Checks that `answers` answer only this link's questions, each at most once, and every
    /// required one.
    ///
    /// # Errors
    /// [`InvalidInput::UnknownQuestion`], [`InvalidInput::DuplicateAnswer`],
    /// [`InvalidInput::Unanswered`] naming the first offending question.
    pub fn check_answers(&self, answers: &Answers) -> Result<(), InvalidInput> {
        let cut = |q: &str| q.chars().take(80).collect::<String>();
        let mut seen: Vec<&str> = Vec::new();
        for (question, _) in answers.pairs() {
            if !self.form_questions().any(|q| q.text == question) {
                return Err(InvalidInput::UnknownQuestion(cut(question)));
            }
            if seen.contains(&question.as_str()) {
                return Err(InvalidInput::DuplicateAnswer(cut(question)));
            }
            seen.push(question);
        }
        match self
            .form_questions()
            .find(|q| q.required && !seen.contains(&q.text))
        {
            Some(missing) => Err(InvalidInput::Unanswered(cut(missing.text))),
            None => Ok(()),
        }
    }
    /// What the meeting is about, if the host said.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    /// Where it takes place (address or call URL), if the host said.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }
    /// The location when it is a web address (one `http://` or `https://` word, as a video
    /// call's): what pages and mails offer as a "Join" link rather than as a place.
    pub fn location_url(&self) -> Option<&str> {
        self.location.as_deref().filter(|l| is_web_address(l))
    }
}

/// One word starting with `http://` or `https://` and naming a host.
fn is_web_address(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with('/') && !text.chars().any(char::is_whitespace)
    })
}

/// A host: the person whose time is booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    id: HostId,
    name: PersonName,
    email: Email,
    time_zone: TimeZoneName,
}

impl Host {
    /// A host from checked parts.
    pub fn new(id: HostId, name: PersonName, email: Email, time_zone: TimeZoneName) -> Self {
        Self {
            id,
            name,
            email,
            time_zone,
        }
    }
    /// Id.
    pub fn id(&self) -> HostId {
        self.id
    }
    /// Display name.
    pub fn name(&self) -> &PersonName {
        &self.name
    }
    /// Where host notifications go.
    pub fn email(&self) -> &Email {
        &self.email
    }
    /// The zone the dashboard shows times in.
    pub fn time_zone(&self) -> TimeZoneName {
        self.time_zone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(Slug::parse("intro-call-30").is_ok());
        for bad in ["", "-a", "a-", "Intro", "a b", "a/b", &"a".repeat(65)] {
            assert_eq!(Slug::parse(bad), Err(InvalidLink::Slug), "{bad:?}");
        }
    }

    fn link(questions: &[&str]) -> Result<BookingLink, InvalidLink> {
        use crate::availability::{AvailabilityRules, DayPeriod, RulesDraft};
        let rules = RulesDraft::weekdays(
            TimeZoneName::parse("UTC").unwrap(),
            DayPeriod::parse("09:00-17:00").unwrap(),
            TimeDelta::minutes(30),
        );
        BookingLink::new(
            LinkId::from_uuid(uuid::Uuid::from_u128(1)),
            HostId::from_uuid(uuid::Uuid::from_u128(2)),
            Slug::parse("intro").unwrap(),
            LinkSettings {
                title: "Intro".into(),
                rules: AvailabilityRules::new(rules).unwrap(),
                reconfirmation: None,
                create_deal: false,
                questions: questions.iter().map(|q| (*q).to_owned()).collect(),
            },
        )
    }

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        Answers::new(
            pairs
                .iter()
                .map(|(q, a)| ((*q).to_owned(), (*a).to_owned()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn a_trailing_star_makes_a_question_required() {
        assert_eq!(
            Question::of("Company *"),
            Question {
                text: "Company",
                required: true
            }
        );
        assert_eq!(
            Question::of("Topic"),
            Question {
                text: "Topic",
                required: false
            }
        );
        assert!(!Question::of("*").required);
    }

    #[test]
    fn answers_must_be_to_the_links_own_questions() {
        let l = link(&["Topic", "Company *"]).unwrap();
        assert_eq!(l.check_answers(&answers(&[("Company", "Acme")])), Ok(()));
        assert_eq!(
            l.check_answers(&answers(&[("Topic", "x"), ("Company", "Acme")])),
            Ok(())
        );
        assert_eq!(
            l.check_answers(&answers(&[("Paid in full?", "YES"), ("Company", "A")])),
            Err(InvalidInput::UnknownQuestion("Paid in full?".into()))
        );
        assert_eq!(
            l.check_answers(&answers(&[("Topic", "x")])),
            Err(InvalidInput::Unanswered("Company".into()))
        );
        // A blank answer is no answer.
        assert_eq!(
            l.check_answers(&answers(&[("Company", "  ")])),
            Err(InvalidInput::Unanswered("Company".into()))
        );
        assert_eq!(
            l.check_answers(&answers(&[("Company", "A"), ("Company", "B")])),
            Err(InvalidInput::DuplicateAnswer("Company".into()))
        );
    }

    #[test]
    fn only_a_one_word_web_address_is_a_join_url() {
        let with = |location: &str| {
            link(&[])
                .unwrap()
                .with_details(None, Some(location))
                .unwrap()
        };
        for url in [
            "https://meet.example.com/abc-def",
            "HTTP://zoom.test/j/1?pwd=x",
        ] {
            assert_eq!(with(url).location_url(), Some(url), "{url}");
        }
        for place in [
            "Room 4, Main Street 1",
            "https://",
            "https:///path",
            "see https://meet.example.com",
            "https://meet.example.com and room 4",
            "ftp://files.example.com",
        ] {
            assert_eq!(with(place).location_url(), None, "{place}");
            assert_eq!(with(place).location(), Some(place));
        }
    }

    #[test]
    fn link_texts_refuse_control_characters() {
        assert!(link(&["Topic"]).is_ok());
        assert_eq!(link(&["To\0pic"]), Err(InvalidLink::Questions));
        assert_eq!(link(&["Two\nlines"]), Err(InvalidLink::Questions));
        assert_eq!(link(&[" "]), Err(InvalidLink::Questions));
        let l = link(&[]).unwrap();
        assert_eq!(
            l.clone().with_details(Some("a\0b"), None),
            Err(InvalidLink::Description)
        );
        assert_eq!(
            l.with_details(Some("line\r\nnext\ttab"), None)
                .unwrap()
                .description(),
            Some("line\nnext\ttab")
        );
        let mut titled = link(&[]).unwrap();
        titled.title = String::new();
        let settings = |title: &str| LinkSettings {
            title: title.to_owned(),
            rules: titled.rules.clone(),
            reconfirmation: None,
            create_deal: false,
            questions: Vec::new(),
        };
        let make = |title: &str| {
            BookingLink::new(titled.id, titled.host, titled.slug.clone(), settings(title))
        };
        assert_eq!(make("Intro\0"), Err(InvalidLink::Title));
        assert_eq!(make("Intro\ncall"), Err(InvalidLink::Title));
        assert!(make("Intro – call").is_ok());
    }

    #[test]
    fn reconfirmation_asks_before_it_cancels() {
        assert!(ReconfirmationPolicy::new(TimeDelta::hours(24), TimeDelta::hours(2)).is_ok());
        assert!(ReconfirmationPolicy::new(TimeDelta::hours(2), TimeDelta::hours(2)).is_err());
        assert!(ReconfirmationPolicy::new(TimeDelta::hours(2), TimeDelta::hours(-1)).is_err());
    }
}
