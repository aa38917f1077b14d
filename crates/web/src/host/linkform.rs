//! A booking link's settings as the host types them: from the `/links` form or the JSON API
//! into one input shape, then checked field by field into domain values, collecting every
//! message so the form can come back with all of them at once.

use std::collections::BTreeMap;

use booking_core::TimeZoneName;
use booking_core::availability::{
    AvailabilityRules, DayHours, DayPeriod, InvalidRules, RulesDraft, WeeklyHours,
};
use booking_core::link::{BookingLink, InvalidLink, LinkSettings, ReconfirmationPolicy, Slug};
use chrono::{NaiveDate, TimeDelta, Weekday};
use serde::{Deserialize, Serialize};

use booking_core::workflows::Workflow;

use super::json::{whole, whole_or_null};
use super::workflowform::{self, WorkflowInput};
use crate::forms::FieldErrors;

/// Weekday keys, Monday first, as used in the form (`hours_mon`) and the API (`"mon"`).
pub(crate) const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// When to ask for reconfirmation and when to cancel without it, before the meeting: each in
/// minutes (`ask_minutes_before`) or, as API clients from before minutes did, in whole hours
/// (`ask_hours_before`) — one of the two for each.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Reconfirmation)]
pub(crate) struct ReconfirmInput {
    /// Minutes before the meeting the request goes out; more than the cancel time.
    #[serde(default, deserialize_with = "whole_or_null")]
    #[schema(minimum = 0, maximum = 527040)]
    pub(crate) ask_minutes_before: Option<i64>,
    /// Minutes before the meeting an unconfirmed booking is cancelled.
    #[serde(default, deserialize_with = "whole_or_null")]
    #[schema(minimum = 0, maximum = 527040)]
    pub(crate) cancel_minutes_before: Option<i64>,
    /// The ask time in hours (instead of `ask_minutes_before`).
    #[serde(default, deserialize_with = "whole_or_null")]
    #[schema(minimum = 0, maximum = 8784)]
    pub(crate) ask_hours_before: Option<i64>,
    /// The cancel time in hours (instead of `cancel_minutes_before`).
    #[serde(default, deserialize_with = "whole_or_null")]
    #[schema(minimum = 0, maximum = 8784)]
    pub(crate) cancel_hours_before: Option<i64>,
}

/// Longest reconfirmation lead, in minutes (366 days).
const MAX_LEAD_MINUTES: i64 = 366 * 24 * 60;

impl ReconfirmInput {
    /// Given in minutes.
    pub(crate) fn in_minutes(ask: i64, cancel: i64) -> Self {
        Self {
            ask_minutes_before: Some(ask),
            cancel_minutes_before: Some(cancel),
            ..Self::default()
        }
    }

    /// The ask and cancel times in minutes, or what is wrong with them.
    fn minutes(&self) -> Result<(i64, i64), &'static str> {
        fn one(minutes: Option<i64>, hours: Option<i64>) -> Result<i64, &'static str> {
            let m = match (minutes, hours) {
                (Some(m), None) => m,
                (None, Some(h)) if (0..=MAX_LEAD_MINUTES / 60).contains(&h) => h * 60,
                (None, Some(_)) => return Err("reconfirmation times must be 0 to 8784 hours"),
                (Some(_), Some(_)) => {
                    return Err("give each reconfirmation time in minutes or in hours, not both");
                }
                (None, None) => {
                    return Err("give both reconfirmation times (ask and cancel), in minutes");
                }
            };
            if (0..=MAX_LEAD_MINUTES).contains(&m) {
                Ok(m)
            } else {
                Err("reconfirmation times must be 0 to 527040 minutes (a year)")
            }
        }
        Ok((
            one(self.ask_minutes_before, self.ask_hours_before)?,
            one(self.cancel_minutes_before, self.cancel_hours_before)?,
        ))
    }
}

/// A link's reconfirmation timing as the API shows it: minutes, and the same in hours when
/// they are whole hours (as clients from before minutes read it).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ReconfirmationTiming)]
pub(crate) struct ReconfirmBody {
    /// Minutes before the meeting the request goes out.
    pub(crate) ask_minutes_before: i64,
    /// Minutes before the meeting an unconfirmed booking is cancelled.
    pub(crate) cancel_minutes_before: i64,
    /// `ask_minutes_before` in hours, present when it is a whole number of hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ask_hours_before: Option<i64>,
    /// `cancel_minutes_before` in hours, present when it is a whole number of hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cancel_hours_before: Option<i64>,
}

impl ReconfirmBody {
    pub(crate) fn of(ask: i64, cancel: i64) -> Self {
        let hours = |m: i64| (m % 60 == 0).then_some(m / 60);
        Self {
            ask_minutes_before: ask,
            cancel_minutes_before: cancel,
            ask_hours_before: hours(ask),
            cancel_hours_before: hours(cancel),
        }
    }
}

/// Every setting of a link, unchecked (the JSON API's body).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkInput {
    #[schema(pattern = "^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]
    pub(crate) slug: String,
    /// Not blank; one line, no control characters.
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub(crate) title: String,
    /// Line breaks and tabs are kept; other control characters are refused.
    #[serde(default)]
    #[schema(
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub(crate) description: Option<String>,
    /// One line, no control characters.
    #[serde(default)]
    #[schema(max_length = 500, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub(crate) location: Option<String>,
    /// IANA zone of the hours.
    #[schema(value_type = crate::forms::ZoneName)]
    pub(crate) time_zone: String,
    #[serde(deserialize_with = "whole")]
    #[schema(minimum = 1, maximum = 1440)]
    pub(crate) duration_minutes: i64,
    /// Default: the duration.
    #[serde(default, deserialize_with = "whole_or_null")]
    #[schema(minimum = 1, maximum = 1440)]
    pub(crate) interval_minutes: Option<i64>,
    #[serde(default, deserialize_with = "whole")]
    #[schema(minimum = 0, maximum = 527040)]
    pub(crate) buffer_before_minutes: i64,
    #[serde(default, deserialize_with = "whole")]
    #[schema(minimum = 0, maximum = 527040)]
    pub(crate) buffer_after_minutes: i64,
    #[serde(default, deserialize_with = "whole")]
    #[schema(minimum = 0, maximum = 527040)]
    pub(crate) minimum_notice_minutes: i64,
    /// Default: no limit.
    #[serde(default, deserialize_with = "whole_or_null")]
    #[schema(minimum = 1, maximum = 3650)]
    pub(crate) max_days_ahead: Option<i64>,
    /// `"mon": ["09:00-12:00", "13:00-17:00"]`; a missing day is closed.
    #[serde(default)]
    pub(crate) weekly_hours: BTreeMap<String, Vec<String>>,
    /// `"2027-03-03": []` closes a day; periods replace the weekday's hours.
    #[serde(default)]
    pub(crate) date_overrides: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub(crate) questions: Vec<String>,
    #[serde(default)]
    pub(crate) create_deal: bool,
    #[serde(default)]
    pub(crate) reconfirmation: Option<ReconfirmInput>,
    /// The link's own workflow; leave it out (or `null`) for the standard one.
    #[serde(default)]
    pub(crate) workflow: Option<WorkflowInput>,
}

/// A checked link, ready to be saved under an id.
#[derive(Debug, Clone)]
pub(crate) struct CheckedLink {
    pub(crate) slug: Slug,
    pub(crate) settings: LinkSettings,
    pub(crate) description: Option<String>,
    pub(crate) location: Option<String>,
    pub(crate) workflow: Option<Workflow>,
}

impl CheckedLink {
    pub(crate) fn build(
        self,
        id: booking_core::LinkId,
        host: booking_core::HostId,
    ) -> Result<BookingLink, InvalidLink> {
        Ok(BookingLink::new(id, host, self.slug, self.settings)?
            .with_details(self.description.as_deref(), self.location.as_deref())?
            .with_workflow(self.workflow))
    }
}

fn periods(text: &[String], field: &'static str, errors: &mut FieldErrors) -> Option<DayHours> {
    let mut parsed = Vec::new();
    for p in text.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        if !period_shape(p) {
            errors.add(
                field,
                format!(
                    "{p:?} cannot be read: write hours as 09:00-17:00 (24-hour clock, two digits each), \
                     several separated by commas"
                ),
            );
            return None;
        }
        match DayPeriod::parse(p) {
            Ok(p) => parsed.push(p),
            Err(e) => {
                errors.add(field, e.to_string());
                return None;
            }
        }
    }
    DayHours::new(parsed)
        .map_err(|e| errors.add(field, e.to_string()))
        .ok()
}

/// Whether `text` is written like `09:00-17:00` (the one form periods are read in), so that
/// `9-5` is told how to write hours instead of being read as a period that ends too soon.
fn period_shape(text: &str) -> bool {
    let hhmm = |t: &str| {
        let b = t.trim().as_bytes();
        b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit())
    };
    text.split_once('-')
        .is_some_and(|(a, b)| hhmm(a) && hhmm(b))
}

fn minutes(value: i64, field: &'static str, errors: &mut FieldErrors) -> TimeDelta {
    if !(0..=60 * 24 * 366).contains(&value) {
        errors.add(field, "must be between 0 and 527040 minutes");
        return TimeDelta::zero();
    }
    TimeDelta::minutes(value)
}

impl LinkInput {
    /// Checks every field; `None` when any is wrong (the messages are in `errors`).
    pub(crate) fn check(&self, errors: &mut FieldErrors) -> Option<CheckedLink> {
        let slug = Slug::parse(self.slug.trim())
            .map_err(|e| errors.add("slug", e.to_string()))
            .ok();
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            errors.add("title", InvalidLink::Title.to_string());
        }
        let zone = TimeZoneName::parse(self.time_zone.trim())
            .map_err(|e| errors.add("time_zone", e.to_string()))
            .ok();
        let mut weekly = WeeklyHours::default();
        for key in self.weekly_hours.keys() {
            if !DAYS.iter().any(|(k, _)| k == key) {
                errors.add(
                    "weekly_hours",
                    format!("{key:?} is not a weekday (use mon … sun)"),
                );
            }
        }
        for (key, day) in DAYS {
            let field = day_field(key);
            if let Some(text) = self.weekly_hours.get(key)
                && let Some(hours) = periods(text, field, errors)
            {
                weekly = weekly.with_day(day, hours);
            }
        }
        let mut overrides = BTreeMap::new();
        for (date, text) in &self.date_overrides {
            match NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d") {
                Ok(d) => {
                    if let Some(hours) = periods(text, "date_overrides", errors) {
                        overrides.insert(d, hours);
                    }
                }
                Err(_) => errors.add(
                    "date_overrides",
                    format!("{date:?} is not a date like 2027-03-01"),
                ),
            }
        }
        // An empty interval follows the duration: only the duration is then told off.
        let interval = self.interval_minutes.unwrap_or(self.duration_minutes);
        let max_days_ahead = match self.max_days_ahead {
            None => None,
            Some(d) => match u32::try_from(d) {
                Ok(d) if (1..=3650).contains(&d) => Some(d),
                _ => {
                    errors.add(
                        "max_days_ahead",
                        "must be between 1 and 3650 days (or empty)",
                    );
                    None
                }
            },
        };
        let day = 60 * 24;
        let mut length_ok = true;
        if !(1..=day).contains(&self.duration_minutes) {
            errors.add("duration_minutes", InvalidRules::Duration.to_string());
            length_ok = false;
        }
        if self.interval_minutes.is_some() && !(1..=day).contains(&interval) {
            errors.add(
                "interval_minutes",
                format!(
                    "{} (leave it empty to use the duration)",
                    InvalidRules::Interval
                ),
            );
            length_ok = false;
        }
        let buffer_before = minutes(self.buffer_before_minutes, "buffer_before_minutes", errors);
        let buffer_after = minutes(self.buffer_after_minutes, "buffer_after_minutes", errors);
        let minimum_notice = minutes(
            self.minimum_notice_minutes,
            "minimum_notice_minutes",
            errors,
        );
        let rules = zone.filter(|_| length_ok).and_then(|zone| {
            AvailabilityRules::new(RulesDraft {
                zone,
                weekly,
                overrides,
                duration: TimeDelta::minutes(self.duration_minutes),
                interval: TimeDelta::minutes(interval),
                buffer_before,
                buffer_after,
                minimum_notice,
                max_days_ahead,
            })
            .map_err(|e| errors.add("weekly_hours", e.to_string()))
            .ok()
        });
        let reconfirmation = match &self.reconfirmation {
            None => Some(None),
            Some(r) => match r.minutes() {
                Err(message) => {
                    errors.add("reconfirmation", message);
                    None
                }
                Ok((ask, cancel)) => {
                    ReconfirmationPolicy::new(TimeDelta::minutes(ask), TimeDelta::minutes(cancel))
                        .map(Some)
                        .map_err(|e| errors.add("reconfirmation", e.to_string()))
                        .ok()
                }
            },
        };
        let workflow = match &self.workflow {
            None => Some(None),
            Some(w) => w.check(errors).map(Some),
        };
        let mut questions = Vec::new();
        for q in self
            .questions
            .iter()
            .map(|q| q.trim())
            .filter(|q| !q.is_empty())
        {
            if q.chars().count() > 500 || q.chars().any(char::is_control) {
                errors.add(
                    "questions",
                    "each question must be one line of at most 500 characters",
                );
            } else {
                questions.push(q.to_owned());
            }
        }
        if questions.len() > 20 {
            errors.add("questions", "ask at most 20 questions");
        }
        let description = self.description.clone();
        let location = self.location.clone();
        // The details are checked by the domain; run the check now to report it on the form.
        if let (Some(slug), Some(rules)) = (slug.clone(), rules.clone()) {
            let probe = BookingLink::new(
                booking_core::LinkId::from_uuid(uuid::Uuid::nil()),
                booking_core::HostId::from_uuid(uuid::Uuid::nil()),
                slug,
                LinkSettings {
                    title: "probe".into(),
                    rules,
                    reconfirmation: None,
                    create_deal: false,
                    questions: Vec::new(),
                },
            );
            if let Ok(probe) = probe
                && let Err(e) = probe.with_details(description.as_deref(), location.as_deref())
            {
                let field = if e == InvalidLink::Description {
                    "description"
                } else {
                    "location"
                };
                errors.add(field, e.to_string());
            }
        }
        if !errors.is_empty() {
            return None;
        }
        Some(CheckedLink {
            slug: slug?,
            settings: LinkSettings {
                title: title.to_owned(),
                rules: rules?,
                reconfirmation: reconfirmation?,
                create_deal: self.create_deal,
                questions,
            },
            description,
            location,
            workflow: workflow?,
        })
    }

    /// The input of an existing link (for the edit form).
    pub(crate) fn of(link: &BookingLink) -> Self {
        let r = link.to_record();
        let text = |p: &[(u16, u16)]| -> Vec<String> {
            p.iter()
                .map(|(a, b)| format!("{:02}:{:02}-{:02}:{:02}", a / 60, a % 60, b / 60, b % 60))
                .collect()
        };
        Self {
            slug: r.slug,
            title: r.title,
            description: r.description,
            location: r.location,
            time_zone: r.time_zone,
            duration_minutes: r.duration_minutes,
            interval_minutes: Some(r.interval_minutes),
            buffer_before_minutes: r.buffer_before_minutes,
            buffer_after_minutes: r.buffer_after_minutes,
            minimum_notice_minutes: r.minimum_notice_minutes,
            max_days_ahead: r.max_days_ahead,
            weekly_hours: DAYS
                .iter()
                .zip(&r.weekly)
                .filter(|(_, p)| !p.is_empty())
                .map(|((k, _), p)| ((*k).to_owned(), text(p)))
                .collect(),
            date_overrides: r
                .overrides
                .iter()
                .map(|(d, p)| (d.format("%Y-%m-%d").to_string(), text(p)))
                .collect(),
            questions: r.questions,
            create_deal: r.create_deal,
            reconfirmation: match (r.reconfirm_ask_minutes, r.reconfirm_cancel_minutes) {
                (Some(a), Some(c)) => Some(ReconfirmInput::in_minutes(a, c)),
                _ => None,
            },
            workflow: link.workflow().map(WorkflowInput::of),
        }
    }

    /// A new link's defaults: 30 minutes, weekdays 09:00–17:00 in `zone`.
    pub(crate) fn blank(zone: TimeZoneName) -> Self {
        Self {
            slug: String::new(),
            title: String::new(),
            description: None,
            location: None,
            time_zone: zone.name().to_owned(),
            duration_minutes: 30,
            interval_minutes: None,
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
            minimum_notice_minutes: 0,
            max_days_ahead: None,
            weekly_hours: DAYS[..5]
                .iter()
                .map(|(k, _)| ((*k).to_owned(), vec!["09:00-17:00".to_owned()]))
                .collect(),
            date_overrides: BTreeMap::new(),
            questions: Vec::new(),
            create_deal: false,
            reconfirmation: None,
            workflow: None,
        }
    }

    /// Reads the HTML form: numbers as text, one period list per weekday (`hours_mon`:
    /// `09:00-12:00, 13:00-17:00`), overrides one per line (`2027-03-03 closed` or
    /// `2027-03-06 10:00-12:00`), questions one per line.
    pub(crate) fn from_form(form: &LinkForm, errors: &mut FieldErrors) -> Self {
        let text = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
        let optional = |k: &str| Some(text(k)).filter(|v| !v.is_empty());
        let mut number = |k: &'static str, default: Option<i64>| -> Option<i64> {
            match optional(k) {
                None => default,
                Some(v) => match v.parse::<i64>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        errors.add(k, "must be a whole number");
                        default
                    }
                },
            }
        };
        let duration = number("duration_minutes", Some(0)).unwrap_or(0);
        let interval = number("interval_minutes", None);
        let before = number("buffer_before_minutes", Some(0)).unwrap_or(0);
        let after = number("buffer_after_minutes", Some(0)).unwrap_or(0);
        let notice = number("minimum_notice_minutes", Some(0)).unwrap_or(0);
        let horizon = number("max_days_ahead", None);
        let ask = number("reconfirm_ask_minutes", None);
        let cancel = number("reconfirm_cancel_minutes", None);
        let reconfirmation = match (ask, cancel) {
            (None, None) => None,
            (Some(a), Some(c)) => Some(ReconfirmInput::in_minutes(a, c)),
            _ => {
                errors.add(
                    "reconfirmation",
                    "give both times in minutes (ask and cancel), or neither to turn reconfirmation off",
                );
                None
            }
        };
        let split = |v: &str| -> Vec<String> {
            v.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect()
        };
        let weekly_hours = DAYS
            .iter()
            .filter_map(|(k, _)| {
                let v = text(&format!("hours_{k}"));
                (!v.is_empty()).then(|| ((*k).to_owned(), split(&v)))
            })
            .collect();
        let mut date_overrides = BTreeMap::new();
        for line in text("date_overrides")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let (date, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let rest = rest.trim();
            let periods = if rest.eq_ignore_ascii_case("closed") || rest.is_empty() {
                Vec::new()
            } else {
                split(rest)
            };
            date_overrides.insert(date.to_owned(), periods);
        }
        Self {
            slug: text("slug"),
            title: text("title"),
            description: optional("description"),
            location: optional("location"),
            time_zone: text("time_zone"),
            duration_minutes: duration,
            interval_minutes: interval,
            buffer_before_minutes: before,
            buffer_after_minutes: after,
            minimum_notice_minutes: notice,
            max_days_ahead: horizon,
            weekly_hours,
            date_overrides,
            questions: text("questions").lines().map(str::to_owned).collect(),
            create_deal: form
                .get("create_deal")
                .is_some_and(|v| v == "on" || v == "true"),
            reconfirmation,
            workflow: workflowform::from_form(&form.rest, errors),
        }
    }
}

/// The link form as posted: every field is text (numbers are checked by
/// [`LinkInput::from_form`], so that what was typed can be shown back with its error).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LinkForm {
    #[serde(default)]
    pub(crate) csrf: String,
    pub(crate) slug: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) location: Option<String>,
    pub(crate) time_zone: Option<String>,
    pub(crate) duration_minutes: Option<String>,
    pub(crate) interval_minutes: Option<String>,
    pub(crate) buffer_before_minutes: Option<String>,
    pub(crate) buffer_after_minutes: Option<String>,
    pub(crate) minimum_notice_minutes: Option<String>,
    pub(crate) max_days_ahead: Option<String>,
    pub(crate) reconfirm_ask_minutes: Option<String>,
    pub(crate) reconfirm_cancel_minutes: Option<String>,
    pub(crate) hours_mon: Option<String>,
    pub(crate) hours_tue: Option<String>,
    pub(crate) hours_wed: Option<String>,
    pub(crate) hours_thu: Option<String>,
    pub(crate) hours_fri: Option<String>,
    pub(crate) hours_sat: Option<String>,
    pub(crate) hours_sun: Option<String>,
    pub(crate) date_overrides: Option<String>,
    pub(crate) questions: Option<String>,
    pub(crate) create_deal: Option<String>,
    /// The workflow editor's fields (`workflow_custom`, `step0_trigger`, …), read by
    /// [`workflowform::from_form`].
    #[serde(flatten)]
    pub(crate) rest: BTreeMap<String, String>,
}

impl LinkForm {
    /// A field by its form name.
    pub(crate) fn get(&self, key: &str) -> Option<&String> {
        match key {
            "slug" => self.slug.as_ref(),
            "title" => self.title.as_ref(),
            "description" => self.description.as_ref(),
            "location" => self.location.as_ref(),
            "time_zone" => self.time_zone.as_ref(),
            "duration_minutes" => self.duration_minutes.as_ref(),
            "interval_minutes" => self.interval_minutes.as_ref(),
            "buffer_before_minutes" => self.buffer_before_minutes.as_ref(),
            "buffer_after_minutes" => self.buffer_after_minutes.as_ref(),
            "minimum_notice_minutes" => self.minimum_notice_minutes.as_ref(),
            "max_days_ahead" => self.max_days_ahead.as_ref(),
            "reconfirm_ask_minutes" => self.reconfirm_ask_minutes.as_ref(),
            "reconfirm_cancel_minutes" => self.reconfirm_cancel_minutes.as_ref(),
            "hours_mon" => self.hours_mon.as_ref(),
            "hours_tue" => self.hours_tue.as_ref(),
            "hours_wed" => self.hours_wed.as_ref(),
            "hours_thu" => self.hours_thu.as_ref(),
            "hours_fri" => self.hours_fri.as_ref(),
            "hours_sat" => self.hours_sat.as_ref(),
            "hours_sun" => self.hours_sun.as_ref(),
            "date_overrides" => self.date_overrides.as_ref(),
            "questions" => self.questions.as_ref(),
            "create_deal" => self.create_deal.as_ref(),
            other => self.rest.get(other),
        }
    }
}

impl super::extract::HostForm for LinkForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The form field of a weekday's hours.
pub(crate) fn day_field(key: &str) -> &'static str {
    match key {
        "mon" => "hours_mon",
        "tue" => "hours_tue",
        "wed" => "hours_wed",
        "thu" => "hours_thu",
        "fri" => "hours_fri",
        "sat" => "hours_sat",
        _ => "hours_sun",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> LinkForm {
        let map: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
            .collect();
        serde_json::from_value(serde_json::Value::Object(map)).expect("a link form")
    }

    #[test]
    fn a_full_form_makes_a_link() {
        let mut errors = FieldErrors::default();
        let input = LinkInput::from_form(
            &form(&[
                ("slug", "demo-call"),
                ("title", "Demo call"),
                ("time_zone", "Europe/Berlin"),
                ("duration_minutes", "45"),
                ("interval_minutes", "15"),
                ("buffer_after_minutes", "10"),
                ("max_days_ahead", "30"),
                ("hours_mon", "09:00-12:00, 13:00-17:00"),
                ("hours_sat", ""),
                (
                    "date_overrides",
                    "2027-03-03 closed\n2027-03-06 10:00-12:00",
                ),
                ("questions", "Company?\n\nTeam size?"),
                ("create_deal", "on"),
                ("reconfirm_ask_minutes", "90"),
                ("reconfirm_cancel_minutes", "45"),
                ("location", "https://meet.example.com/x"),
            ]),
            &mut errors,
        );
        let checked = input
            .check(&mut errors)
            .unwrap_or_else(|| panic!("{errors:?}"));
        let rules = &checked.settings.rules;
        assert_eq!(rules.weekly().day(Weekday::Mon).periods().len(), 2);
        assert!(rules.weekly().day(Weekday::Tue).is_closed());
        assert_eq!(rules.overrides().len(), 2);
        assert_eq!(checked.settings.questions, vec!["Company?", "Team size?"]);
        assert!(checked.settings.create_deal);
        let policy = checked.settings.reconfirmation.unwrap();
        assert_eq!(
            (policy.ask_before(), policy.cancel_before()),
            (TimeDelta::minutes(90), TimeDelta::minutes(45))
        );
        let back = LinkInput::of(
            &checked
                .build(
                    booking_core::LinkId::from_uuid(uuid::Uuid::from_u128(1)),
                    booking_core::HostId::from_uuid(uuid::Uuid::from_u128(2)),
                )
                .unwrap(),
        );
        assert_eq!(back.weekly_hours["mon"], vec!["09:00-12:00", "13:00-17:00"]);
        assert_eq!(back.date_overrides["2027-03-03"], Vec::<String>::new());
        let r = back.reconfirmation.unwrap();
        assert_eq!(
            (r.ask_minutes_before, r.cancel_minutes_before),
            (Some(90), Some(45))
        );
    }

    fn api_minutes(json: serde_json::Value) -> Result<(i64, i64), &'static str> {
        serde_json::from_value::<ReconfirmInput>(json)
            .unwrap()
            .minutes()
    }

    #[test]
    fn the_api_takes_minutes_or_whole_hours_for_each_time() {
        use serde_json::json;
        let both = json!({"ask_minutes_before": 90, "cancel_minutes_before": 30});
        assert_eq!(api_minutes(both), Ok((90, 30)));
        let hours = json!({"ask_hours_before": 24, "cancel_hours_before": 2});
        assert_eq!(api_minutes(hours), Ok((1440, 120)));
        let mixed = json!({"ask_hours_before": 2, "cancel_minutes_before": 45});
        assert_eq!(api_minutes(mixed), Ok((120, 45)));
        assert!(api_minutes(json!({"ask_minutes_before": 90})).is_err());
        let twice =
            json!({"ask_minutes_before": 90, "ask_hours_before": 2, "cancel_minutes_before": 1});
        assert!(api_minutes(twice).is_err());
        let too_far = json!({"ask_minutes_before": 527041, "cancel_minutes_before": 1});
        assert!(api_minutes(too_far).is_err());
        let body = serde_json::to_value(ReconfirmBody::of(90, 120)).unwrap();
        assert_eq!(
            body,
            json!({"ask_minutes_before": 90, "cancel_minutes_before": 120, "cancel_hours_before": 2})
        );
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut errors = FieldErrors::default();
        let input = LinkInput::from_form(
            &form(&[
                ("slug", "Bad Slug"),
                ("title", ""),
                ("time_zone", "Mars/Base"),
                ("duration_minutes", "abc"),
                ("hours_mon", "17:00-09:00"),
                ("date_overrides", "tomorrow closed"),
                ("reconfirm_ask_minutes", "2"),
            ]),
            &mut errors,
        );
        assert!(input.check(&mut errors).is_none());
        for field in [
            "slug",
            "title",
            "time_zone",
            "duration_minutes",
            "hours_mon",
            "date_overrides",
            "reconfirmation",
        ] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
    }
}
