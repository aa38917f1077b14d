//! Who books: the invitee's name, email, phone and zone, their answers and UTM tracking.

use std::fmt;

use crate::time::TimeZoneName;

/// Why a piece of attendee input was refused. Messages are fit to show on a form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    /// Not a plausible email address.
    #[error("{0:?} is not a valid email address")]
    Email(String),
    /// Name empty, too long, or with control characters.
    #[error("name must be 1 to {max} characters without line breaks", max = NAME_MAX)]
    Name,
    /// Phone number with characters other than digits, spaces and `+-().`.
    #[error("phone number may contain only digits, spaces and + - ( ) .")]
    Phone,
    /// A free text (reason, answer) longer than allowed.
    #[error("{field} must be at most {max} characters")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// The limit in characters.
        max: usize,
    },
    /// A question without text, or too many answers.
    #[error("answers must name their question (at most {max} answers)", max = ANSWERS_MAX)]
    Answers,
}

/// Longest accepted name, in characters.
pub const NAME_MAX: usize = 200;
/// Longest accepted free text (reason, answer), in characters.
pub const TEXT_MAX: usize = 10_000;
/// Most answers one booking carries.
pub const ANSWERS_MAX: usize = 50;

/// An email address, trimmed, with its domain lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` with no spaces or control characters, at most 254 chars.
    ///
    /// # Errors
    /// [`InvalidInput::Email`] otherwise.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let text = text.trim();
        let bad = || InvalidInput::Email(text.chars().take(80).collect());
        let (local, domain) = text.rsplit_once('@').ok_or_else(bad)?;
        let clean = |s: &str| {
            !s.chars().any(|c| {
                c.is_whitespace()
                    || c.is_control()
                    || c == '<'
                    || c == '>'
                    || c == ','
                    || c == ';'
                    || c == '"'
            })
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if text.len() > 254 || local.is_empty() || local.len() > 64 || !domain_ok || !clean(text) {
            return Err(bad());
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's display name: 1–200 characters, no control characters (so it can never break
/// a mail header or an .ics line).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

impl PersonName {
    /// Trims and checks a name.
    ///
    /// # Errors
    /// [`InvalidInput::Name`] when empty, too long or containing control characters.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > NAME_MAX || text.chars().any(char::is_control)
        {
            return Err(InvalidInput::Name);
        }
        Ok(Self(text.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number as typed, for text reminders.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts up to 32 digits, spaces and `+-().`, at least 3 digits.
    ///
    /// # Errors
    /// [`InvalidInput::Phone`] otherwise.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let text = text.trim();
        let allowed = text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        let digits = text.chars().filter(char::is_ascii_digit).count();
        if !allowed || digits < 3 || text.len() > 32 {
            return Err(InvalidInput::Phone);
        }
        Ok(Self(text.to_owned()))
    }

    /// The number as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text an attendee or host typed: a cancel or reschedule reason, at most 10,000 chars.
/// Kept verbatim (line breaks included); every output escapes it for its own format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reason(String);

impl Reason {
    /// `None` for blank input.
    ///
    /// # Errors
    /// [`InvalidInput::TooLong`] beyond [`TEXT_MAX`] characters.
    pub fn parse_optional(text: Option<&str>) -> Result<Option<Self>, InvalidInput> {
        match text.map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) if t.chars().count() > TEXT_MAX => Err(InvalidInput::TooLong {
                field: "reason",
                max: TEXT_MAX,
            }),
            Some(t) => Ok(Some(Self(t.to_owned()))),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The person booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitee {
    name: PersonName,
    email: Email,
    phone: Option<Phone>,
    time_zone: TimeZoneName,
}

impl Invitee {
    /// An invitee from already-checked parts.
    pub fn new(
        name: PersonName,
        email: Email,
        phone: Option<Phone>,
        time_zone: TimeZoneName,
    ) -> Self {
        Self {
            name,
            email,
            phone,
            time_zone,
        }
    }
    /// Display name.
    pub fn name(&self) -> &PersonName {
        &self.name
    }
    /// Where their mails go.
    pub fn email(&self) -> &Email {
        &self.email
    }
    /// Phone for text reminders, if given.
    pub fn phone(&self) -> Option<&Phone> {
        self.phone.as_ref()
    }
    /// The zone they see times in.
    pub fn time_zone(&self) -> TimeZoneName {
        self.time_zone
    }
}

/// The booking form's answers, in the order the questions were asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers(Vec<(String, String)>);

impl Answers {
    /// Checks question/answer pairs; blank answers are dropped.
    ///
    /// # Errors
    /// [`InvalidInput::Answers`] for an unnamed question or too many pairs,
    /// [`InvalidInput::TooLong`] for an answer beyond [`TEXT_MAX`] characters.
    pub fn new(pairs: Vec<(String, String)>) -> Result<Self, InvalidInput> {
        if pairs.len() > ANSWERS_MAX {
            return Err(InvalidInput::Answers);
        }
        let mut kept = Vec::with_capacity(pairs.len());
        for (q, a) in pairs {
            let q = q.trim();
            if q.is_empty() || q.chars().count() > 500 {
                return Err(InvalidInput::Answers);
            }
            if a.chars().count() > TEXT_MAX {
                return Err(InvalidInput::TooLong {
                    field: "answer",
                    max: TEXT_MAX,
                });
            }
            if !a.trim().is_empty() {
                kept.push((q.to_owned(), a.trim().to_owned()));
            }
        }
        Ok(Self(kept))
    }

    /// `(question, answer)` pairs in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// The UTM parameters a booking arrived with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UtmParam {
    /// `utm_source`
    Source,
    /// `utm_medium`
    Medium,
    /// `utm_campaign`
    Campaign,
    /// `utm_term`
    Term,
    /// `utm_content`
    Content,
}

impl UtmParam {
    /// All five, in a stable order.
    pub const ALL: [UtmParam; 5] = [
        Self::Source,
        Self::Medium,
        Self::Campaign,
        Self::Term,
        Self::Content,
    ];

    /// The query-string key, e.g. `utm_source`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Source => "utm_source",
            Self::Medium => "utm_medium",
            Self::Campaign => "utm_campaign",
            Self::Term => "utm_term",
            Self::Content => "utm_content",
        }
    }
}

/// UTM tracking captured from the booking page's URL. Values are cut to 500 characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracking([Option<String>; 5]);

impl Tracking {
    /// Picks the `utm_*` keys out of query pairs; other keys and blank values are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut tracking = Self::default();
        for (key, value) in pairs {
            let value = value.trim();
            if let Some(i) = UtmParam::ALL.iter().position(|p| p.key() == key)
                && !value.is_empty()
            {
                tracking.0[i] = Some(value.chars().take(500).collect());
            }
        }
        tracking
    }

    /// One parameter's value.
    pub fn get(&self, param: UtmParam) -> Option<&str> {
        let i = UtmParam::ALL.iter().position(|p| *p == param).unwrap_or(0);
        self.0[i].as_deref()
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "Ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "ann@x",
            "a b@x.com",
            "ann@x..com",
            "a@x.com\r\nBcc: e@v.il",
            "<a@x.com>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_refuse_line_breaks_and_excess() {
        assert!(PersonName::parse("Zoë O'Brien <b>").is_ok());
        assert_eq!(
            PersonName::parse("A\r\nBcc: x@y.z"),
            Err(InvalidInput::Name)
        );
        assert_eq!(PersonName::parse("   "), Err(InvalidInput::Name));
        assert_eq!(PersonName::parse(&"x".repeat(201)), Err(InvalidInput::Name));
    }

    #[test]
    fn reasons_keep_text_up_to_the_limit() {
        assert_eq!(Reason::parse_optional(Some("  ")).unwrap(), None);
        let long = "é".repeat(TEXT_MAX);
        assert_eq!(
            Reason::parse_optional(Some(&long))
                .unwrap()
                .unwrap()
                .as_str(),
            long
        );
        assert!(Reason::parse_optional(Some(&format!("{long}x"))).is_err());
    }

    #[test]
    fn tracking_keeps_only_utm_keys() {
        let t = Tracking::from_pairs([("utm_source", "news"), ("utm_medium", " "), ("x", "y")]);
        assert_eq!(t.get(UtmParam::Source), Some("news"));
        assert_eq!(t.get(UtmParam::Medium), None);
        assert!(!t.is_empty());
    }

    #[test]
    fn phones_and_answers() {
        assert!(Phone::parse("+32 123 12 12 12").is_ok());
        assert!(Phone::parse("call me").is_err());
        let a = Answers::new(vec![
            ("Topic".into(), "Pricing".into()),
            ("Skip".into(), " ".into()),
        ])
        .unwrap();
        assert_eq!(a.pairs().len(), 1);
        assert!(Answers::new(vec![(" ".into(), "x".into())]).is_err());
    }
}
