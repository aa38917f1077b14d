//! Who books: the invitee's name, email, phone and zone, their answers and UTM tracking.

use std::fmt;

use crate::text;
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
    /// Phone number without its country code.
    #[error("phone number must start with + and the country code, e.g. +44 20 7946 0958")]
    PhoneCountryCode,
    /// Phone number that no numbering plan has (wrong length or prefix for its country).
    #[error("{0:?} is not a valid phone number for its country code")]
    PhoneNumber(String),
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
    /// A free text with a control character other than a line break or a tab.
    #[error("{0} must not contain control characters (line breaks and tabs are fine)")]
    ControlCharacter(&'static str),
    /// An answer to a question the link does not ask.
    #[error("{0:?} is not one of this link's questions")]
    UnknownQuestion(String),
    /// Two answers to one question.
    #[error("{0:?} is answered more than once")]
    DuplicateAnswer(String),
    /// No answer to a question the link requires.
    #[error("{0:?} needs an answer")]
    Unanswered(String),
}

/// Longest accepted name, in characters.
pub const NAME_MAX: usize = 200;
/// Longest accepted free text (reason), in characters.
pub const TEXT_MAX: usize = 10_000;
/// Longest accepted answer to one question, in characters: room for a paragraph or two, not
/// for a document to be mailed on the host's behalf.
pub const ANSWER_MAX: usize = 2_000;
/// Most answers one booking carries (a link asks at most this many questions).
pub const ANSWERS_MAX: usize = 20;
/// Longest accepted question, in characters.
pub const QUESTION_MAX: usize = 500;

/// An email address, trimmed, with its domain lower-cased.
///
/// Only a conservative subset of RFC 5321 is accepted, one every mail library can send to:
/// a dot-atom local part (letters, digits and ``!#$%&'*+-/=?^_`{|}~``, dots only between
/// them, no `=?` that could read as an encoded word) and an ASCII host name of at least two
/// labels. Quoted local parts, comments, address literals and non-ASCII addresses are refused:
/// an address accepted here must never be one the mailer then fails to send to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Longest accepted address, in bytes (RFC 5321's path limit less the angle brackets).
pub const EMAIL_MAX: usize = 254;
/// Longest accepted local part, in bytes.
const LOCAL_MAX: usize = 64;

impl Email {
    /// Accepts `local@host.tld` of the subset described above, at most 254 characters.
    ///
    /// # Errors
    /// [`InvalidInput::Email`] otherwise.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let text = text.trim();
        let bad = || InvalidInput::Email(text.chars().take(80).collect());
        let (local, domain) = text.split_once('@').ok_or_else(bad)?;
        if text.len() > EMAIL_MAX || !is_dot_atom_local(local) || !is_host_name(domain) {
            return Err(bad());
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// An address read back from a row written before [`Email::parse`] became strict: only
    /// the looser old check (one `@`, a dotted domain, no spaces, control characters or
    /// `<>,;"`), so such rows stay readable. New input goes through [`Email::parse`].
    ///
    /// # Errors
    /// [`InvalidInput::Email`] when even the old check fails.
    pub fn from_stored(text: &str) -> Result<Self, InvalidInput> {
        if let Ok(email) = Self::parse(text) {
            return Ok(email);
        }
        let text = text.trim();
        let bad = || InvalidInput::Email(text.chars().take(80).collect());
        let (local, domain) = text.rsplit_once('@').ok_or_else(bad)?;
        let clean = !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c));
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if text.len() > EMAIL_MAX
            || local.is_empty()
            || local.len() > LOCAL_MAX
            || !domain_ok
            || !clean
        {
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

/// A dot-atom local part: atoms of letters, digits and RFC 5322 `atext` symbols joined by
/// single dots, without `=?` (the start of an RFC 2047 encoded word).
fn is_dot_atom_local(local: &str) -> bool {
    const SYMBOLS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
    (1..=LOCAL_MAX).contains(&local.len())
        && !local.contains("=?")
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || SYMBOLS.contains(&b))
        })
}

/// An ASCII host name of two or more labels: each 1–63 letters, digits and inner hyphens, the
/// last not all digits (so no bare IP address).
fn is_host_name(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
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

/// A phone number for text messages, in E.164 form (`+4930123456`): the country code and the
/// national number, digits only. Input must carry its country code (a leading `+`); spaces,
/// dashes, dots and parentheses are dropped, and the number must exist in its country's
/// numbering plan (libphonenumber's metadata, through the `phonenumber` crate).
///
/// Rows written before numbers were normalised hold them as typed; [`Phone::from_stored`]
/// reads those leniently, and [`Phone::e164`] tells them apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    text: String,
    e164: bool,
}

/// Longest accepted phone input, in characters.
const PHONE_INPUT_MAX: usize = 32;

impl Phone {
    /// Checks and normalises a number as typed: `+49 (30) 123-4567` becomes `+49301234567`.
    ///
    /// # Errors
    /// [`InvalidInput::Phone`] for characters other than digits, spaces and `+-().` or input
    /// over 32 characters, [`InvalidInput::PhoneCountryCode`] without a leading `+`,
    /// [`InvalidInput::PhoneNumber`] for a number its country does not have.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let text = text.trim();
        let allowed = text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if !allowed || text.chars().count() > PHONE_INPUT_MAX {
            return Err(InvalidInput::Phone);
        }
        if !text.starts_with('+') {
            return Err(InvalidInput::PhoneCountryCode);
        }
        let invalid = || InvalidInput::PhoneNumber(text.to_owned());
        // Separators carry no meaning once the country code leads; the parser is handed the
        // digits alone, so no way of grouping them is refused.
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let number = phonenumber::parse(None, format!("+{digits}")).map_err(|_| invalid())?;
        if !phonenumber::is_valid(&number) {
            return Err(invalid());
        }
        Ok(Self {
            text: number.format().mode(phonenumber::Mode::E164).to_string(),
            e164: true,
        })
    }

    /// A number read back from a stored row. Rows written under the older rule (up to 32
    /// digits, spaces and `+-().`, at least 3 digits, no country code required) are kept as
    /// typed when they do not normalise, rather than lost.
    ///
    /// # Errors
    /// [`InvalidInput::Phone`] when even the old rule fails.
    pub fn from_stored(text: &str) -> Result<Self, InvalidInput> {
        if let Ok(phone) = Self::parse(text) {
            return Ok(phone);
        }
        let text = text.trim();
        let allowed = text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        let digits = text.chars().filter(char::is_ascii_digit).count();
        if !allowed || digits < 3 || text.len() > PHONE_INPUT_MAX {
            return Err(InvalidInput::Phone);
        }
        Ok(Self {
            text: text.to_owned(),
            e164: false,
        })
    }

    /// The number: E.164 for every number accepted by [`Phone::parse`], as typed for an old
    /// row that does not normalise.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The E.164 form, which texts can be sent to; `None` for an old row kept as typed.
    pub fn e164(&self) -> Option<&str> {
        self.e164.then_some(self.text.as_str())
    }
}

/// Free text an attendee or host typed: a cancel or reschedule reason, at most 10,000 chars.
/// Kept verbatim but for line breaks, which become `\n`; no other control character but the
/// tab ([`crate::text`]). Every output escapes it for its own format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reason(String);

impl Reason {
    /// `None` for blank input.
    ///
    /// # Errors
    /// [`InvalidInput::TooLong`] beyond [`TEXT_MAX`] characters,
    /// [`InvalidInput::ControlCharacter`] for a control character other than a line break or
    /// a tab.
    pub fn parse_optional(text: Option<&str>) -> Result<Option<Self>, InvalidInput> {
        match text.map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) if t.chars().count() > TEXT_MAX => Err(InvalidInput::TooLong {
                field: "reason",
                max: TEXT_MAX,
            }),
            Some(t) => text::multiline(t)
                .map(|t| Some(Self(t)))
                .ok_or(InvalidInput::ControlCharacter("reason")),
        }
    }

    /// A reason read back from a row written before the control-character rule: refused
    /// characters are dropped rather than the row lost.
    ///
    /// # Errors
    /// [`InvalidInput::TooLong`] beyond [`TEXT_MAX`] characters.
    pub fn from_stored(text: Option<&str>) -> Result<Option<Self>, InvalidInput> {
        Self::parse_optional(text.map(text::scrubbed).as_deref())
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
    /// Checks question/answer pairs as typed; blank answers are dropped, line breaks become
    /// `\n`. Whether the questions are the link's own is the link's check
    /// ([`BookingLink::check_answers`](crate::link::BookingLink::check_answers)).
    ///
    /// # Errors
    /// [`InvalidInput::Answers`] for an unnamed or over-long question or more than
    /// [`ANSWERS_MAX`] pairs, [`InvalidInput::TooLong`] for an answer beyond [`ANSWER_MAX`]
    /// characters, [`InvalidInput::ControlCharacter`] for a control character (other than a
    /// line break or tab in an answer).
    pub fn new(pairs: Vec<(String, String)>) -> Result<Self, InvalidInput> {
        if pairs.len() > ANSWERS_MAX {
            return Err(InvalidInput::Answers);
        }
        let mut kept = Vec::with_capacity(pairs.len());
        for (q, a) in pairs {
            let q = q.trim();
            if q.is_empty() || q.chars().count() > QUESTION_MAX {
                return Err(InvalidInput::Answers);
            }
            if !text::is_single_line(q) {
                return Err(InvalidInput::ControlCharacter("question"));
            }
            let a = a.trim();
            if a.chars().count() > ANSWER_MAX {
                return Err(InvalidInput::TooLong {
                    field: "answer",
                    max: ANSWER_MAX,
                });
            }
            let a = text::multiline(a).ok_or(InvalidInput::ControlCharacter("answer"))?;
            if !a.is_empty() {
                kept.push((q.to_owned(), a));
            }
        }
        Ok(Self(kept))
    }

    /// Answers read back from a stored row, kept as they were written (also rows written
    /// under older, looser limits), refused characters dropped.
    pub fn from_stored(pairs: Vec<(String, String)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(q, a)| (text::scrubbed(&q), text::scrubbed(&a)))
                .collect(),
        )
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
    /// Picks the `utm_*` keys out of query pairs; other keys, blank values and values with
    /// control characters (never part of a real campaign name) are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut tracking = Self::default();
        for (key, value) in pairs {
            let value = value.trim();
            if let Some(i) = UtmParam::ALL.iter().position(|p| p.key() == key)
                && !value.is_empty()
                && text::is_single_line(value)
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
        for good in [
            "o'brien+tag@mail.example.co.uk",
            "a.b-c_d@x-y.io",
            "#!$%&*/=^?`{|}~@example.org",
        ] {
            assert!(Email::parse(good).is_ok(), "{good:?}");
        }
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

    /// What the adversarial run got accepted and the mailer could not send (issue 13, #6).
    #[test]
    fn emails_the_mailer_cannot_send_are_refused() {
        for bad in [
            "a@b@example.com",
            "a:b@example.com",
            "a(c)@example.com",
            "a\\b@example.com",
            "a.@example.com",
            ".a@example.com",
            "a..b@example.com",
            "a\u{202e}b@example.com",
            "=?utf-8?q?a?=@example.com",
            "\"a b\"@example.com",
            "a@[127.0.0.1]",
            "a@127.0.0.1",
            "zoë@example.com",
            "a@exämple.com",
            "a@-x.com",
            "a@x-.com",
            &format!("{}@example.com", "a".repeat(65)),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stored_emails_of_the_old_rule_stay_readable() {
        let old = Email::from_stored("a(c)@Example.com").unwrap();
        assert_eq!(old.as_str(), "a(c)@example.com");
        assert!(Email::from_stored("a b@example.com").is_err());
    }

    #[test]
    fn free_texts_refuse_control_characters() {
        assert_eq!(
            Reason::parse_optional(Some("late\r\nsorry\tx"))
                .unwrap()
                .unwrap()
                .as_str(),
            "late\nsorry\tx"
        );
        for bad in ["a\0b", "bell\x07", "esc\x1b", "del\x7f"] {
            assert_eq!(
                Reason::parse_optional(Some(bad)),
                Err(InvalidInput::ControlCharacter("reason")),
                "{bad:?}"
            );
            assert_eq!(
                Answers::new(vec![("Topic".into(), bad.into())]),
                Err(InvalidInput::ControlCharacter("answer"))
            );
            assert_eq!(
                Answers::new(vec![(format!("Topic{bad}"), "x".into())]),
                Err(InvalidInput::ControlCharacter("question"))
            );
            assert_eq!(PersonName::parse(bad), Err(InvalidInput::Name));
        }
        assert_eq!(
            Reason::from_stored(Some("a\0b")).unwrap().unwrap().as_str(),
            "ab"
        );
    }

    #[test]
    fn tracking_ignores_values_with_control_characters() {
        let t = Tracking::from_pairs([("utm_source", "news\0"), ("utm_medium", "mail")]);
        assert_eq!(t.get(UtmParam::Source), None);
        assert_eq!(t.get(UtmParam::Medium), Some("mail"));
    }

    #[test]
    fn answers_are_capped_in_size_and_number() {
        let long = "x".repeat(ANSWER_MAX + 1);
        assert_eq!(
            Answers::new(vec![("Topic".into(), long)]),
            Err(InvalidInput::TooLong {
                field: "answer",
                max: ANSWER_MAX
            })
        );
        let many = (0..=ANSWERS_MAX)
            .map(|i| (format!("Q{i}"), "a".to_owned()))
            .collect();
        assert_eq!(Answers::new(many), Err(InvalidInput::Answers));
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
    fn phones_are_normalised_to_e164() {
        for (typed, e164) in [
            ("+49 (30) 123-4567", "+49301234567"),
            ("+49301234567", "+49301234567"),
            ("+1 212-555-0100", "+12125550100"),
            (" +1 (212) 555.0100 ", "+12125550100"),
            ("+44 20 7946 0958", "+442079460958"),
            ("+44 7911 123456", "+447911123456"),
            ("+32 470 12 34 56", "+32470123456"),
            ("+33 6 12 34 56 78", "+33612345678"),
            ("+81 3-1234-5678", "+81312345678"),
        ] {
            let phone = Phone::parse(typed).unwrap_or_else(|e| panic!("{typed:?}: {e}"));
            assert_eq!(phone.as_str(), e164, "{typed:?}");
            assert_eq!(phone.e164(), Some(e164));
        }
    }

    #[test]
    fn phones_without_country_code_or_plan_are_refused() {
        assert_eq!(Phone::parse("call me"), Err(InvalidInput::Phone));
        assert_eq!(
            Phone::parse("+1 212 555 0100 ext 3"),
            Err(InvalidInput::Phone)
        );
        assert_eq!(
            Phone::parse(&format!("+{}", "1".repeat(40))),
            Err(InvalidInput::Phone)
        );
        for national in [
            "030 1234567",
            "(212) 555-0100",
            "0470 12 34 56",
            "00 49 30 1234567",
        ] {
            assert_eq!(
                Phone::parse(national),
                Err(InvalidInput::PhoneCountryCode),
                "{national:?}"
            );
        }
        assert!(
            InvalidInput::PhoneCountryCode
                .to_string()
                .contains("start with + and the country code")
        );
        for unplanned in [
            "+1 212 555",
            "+49 1",
            "+999 1234567",
            "+",
            "+44 20 7946 09581234",
            "+1 012 555 0100",
        ] {
            assert!(
                matches!(Phone::parse(unplanned), Err(InvalidInput::PhoneNumber(_))),
                "{unplanned:?}"
            );
        }
    }

    #[test]
    fn stored_phones_of_the_old_rule_stay_readable() {
        let old = Phone::from_stored("0470 12 34 56").unwrap();
        assert_eq!(old.as_str(), "0470 12 34 56");
        assert_eq!(old.e164(), None, "not textable: no country code");
        let normalised = Phone::from_stored("+49 (30) 123-4567").unwrap();
        assert_eq!(normalised.e164(), Some("+49301234567"));
        assert_eq!(Phone::from_stored("call me"), Err(InvalidInput::Phone));
        assert_eq!(Phone::from_stored("12"), Err(InvalidInput::Phone));
    }

    /// Valid numbers of a few countries, written the way people type them: separators
    /// anywhere between the digits, the last two digits free.
    fn typed_numbers() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let bases = vec![
            "+12125550100",
            "+49301234567",
            "+442079460958",
            "+447911123456",
            "+32470123456",
            "+33612345678",
            "+81312345678",
        ];
        (
            proptest::sample::select(bases),
            "[0-9]{2}",
            proptest::collection::vec(
                proptest::sample::select(vec!["", " ", "-", ".", " (", ") "]),
                16,
            ),
        )
            .prop_map(|(base, tail, separators)| {
                let digits = format!("{}{tail}", &base[1..base.len() - 2]);
                let mut typed = String::from("+");
                for (i, d) in digits.chars().enumerate() {
                    typed.push(d);
                    if i + 1 < digits.len() {
                        typed.push_str(separators[i]);
                    }
                }
                typed.chars().take(PHONE_INPUT_MAX).collect()
            })
    }

    proptest::proptest! {
        /// A normalised number normalises to itself: storing and reading back, or a second
        /// pass through any adapter, never changes it.
        #[test]
        fn normalised_phones_are_stable(typed in typed_numbers()) {
            let Ok(phone) = Phone::parse(&typed) else {
                // Only input cut at 32 characters may fail; everything else is a real number.
                proptest::prop_assert_eq!(typed.chars().count(), PHONE_INPUT_MAX);
                return Ok(());
            };
            let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
            proptest::prop_assert_eq!(phone.as_str(), format!("+{digits}"));
            let again = Phone::parse(phone.as_str()).expect("a normalised number parses");
            proptest::prop_assert_eq!(&again, &phone);
            proptest::prop_assert_eq!(Phone::from_stored(phone.as_str()).expect("stored"), phone);
        }
    }

    #[test]
    fn answers_drop_blanks() {
        let a = Answers::new(vec![
            ("Topic".into(), "Pricing".into()),
            ("Skip".into(), " ".into()),
        ])
        .unwrap();
        assert_eq!(a.pairs().len(), 1);
        assert!(Answers::new(vec![(" ".into(), "x".into())]).is_err());
    }
}
