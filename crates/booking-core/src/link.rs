//! Booking links (event types) and the hosts who publish them.

use std::fmt;

use chrono::TimeDelta;

use crate::availability::AvailabilityRules;
use crate::ids::{HostId, LinkId};
use crate::invitee::{Email, PersonName};
use crate::time::TimeZoneName;

/// The URL name of a link: 1–64 of `a-z0-9-`, not starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

/// Why a link setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidLink {
    /// Slug outside `a-z0-9-`, empty, too long, or with a dash at either end.
    #[error("slug must be 1-64 characters of a-z, 0-9 and '-', not starting or ending with '-'")]
    Slug,
    /// Title empty or longer than 200 characters.
    #[error("title must be 1 to 200 characters")]
    Title,
    /// The reconfirmation request must come before the auto-cancel deadline.
    #[error(
        "ask for reconfirmation earlier than the auto-cancel deadline (both before the meeting)"
    )]
    Reconfirmation,
    /// Description longer than 5,000 characters.
    #[error("description must be at most 5000 characters")]
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
    /// Extra questions on the booking form, in order.
    pub questions: Vec<String>,
}

impl BookingLink {
    /// A link from checked parts.
    ///
    /// # Errors
    /// [`InvalidLink::Title`] for an empty or over-long title.
    pub fn new(
        id: LinkId,
        host: HostId,
        slug: Slug,
        settings: LinkSettings,
    ) -> Result<Self, InvalidLink> {
        let title = settings.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(InvalidLink::Title);
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
        })
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
        let description = blank_is_none(description);
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 5000)
        {
            return Err(InvalidLink::Description);
        }
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
    /// Form questions.
    pub fn questions(&self) -> &[String] {
        &self.questions
    }
    /// What the meeting is about, if the host said.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    /// Where it takes place (address or call URL), if the host said.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }
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

    #[test]
    fn reconfirmation_asks_before_it_cancels() {
        assert!(ReconfirmationPolicy::new(TimeDelta::hours(24), TimeDelta::hours(2)).is_ok());
        assert!(ReconfirmationPolicy::new(TimeDelta::hours(2), TimeDelta::hours(2)).is_err());
        assert!(ReconfirmationPolicy::new(TimeDelta::hours(2), TimeDelta::hours(-1)).is_err());
    }
}
