//! What the fake remembers: the account, grants and tokens, events with their change sequence,
//! delta cursors, subscriptions, and the failures it was told to inject.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

/// The one mailbox the fake serves.
pub(crate) const USER_ID: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
/// The directory the account lives in.
pub(crate) const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// Graph's ceiling for subscriptions on Outlook events.
pub(crate) const MAX_SUBSCRIPTION_MINUTES: i64 = 10_080;

/// An event on the fake calendar, as the test inspects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeEvent {
    /// Graph's id.
    pub id: String,
    /// Title.
    pub subject: String,
    /// `html` or `text`.
    pub body_type: String,
    /// Body as stored.
    pub body: String,
    /// Start, UTC.
    pub start: DateTime<Utc>,
    /// End, UTC.
    pub end: DateTime<Utc>,
    /// Location display name.
    pub location: Option<String>,
    /// `showAs`.
    pub show_as: String,
    /// The create's `transactionId`.
    pub transaction_id: Option<String>,
    /// The `attendees` the client sent (Slotkeeper must send none).
    pub attendees: Vec<Value>,
    /// The organizer cancelled it.
    pub is_cancelled: bool,
    /// An all-day event.
    pub is_all_day: bool,
    /// Deleted (kept as a tombstone so the delta query can report it).
    pub deleted: bool,
    /// Change sequence number of the last change.
    pub(crate) seq: u64,
    /// Changed on each write (`changeKey`, etag).
    pub(crate) version: u64,
    pub(crate) created: DateTime<Utc>,
    pub(crate) modified: DateTime<Utc>,
}

impl FakeEvent {
    /// Whether the event overlaps `[start, end)`.
    pub(crate) fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.start < end && start < self.end
    }

    /// The event in Graph's JSON.
    pub(crate) fn to_json(&self, base: &str) -> Value {
        json!({
            "@odata.etag": format!("W/\"{}\"", self.change_key()),
            "id": self.id,
            "createdDateTime": wire_instant(self.created),
            "lastModifiedDateTime": wire_instant(self.modified),
            "changeKey": self.change_key(),
            "categories": [],
            "transactionId": self.transaction_id,
            "originalStartTimeZone": "UTC",
            "originalEndTimeZone": "UTC",
            "iCalUId": format!("040000008200E00074C5B7101A82E008{:016X}", self.version),
            "reminderMinutesBeforeStart": 15,
            "isReminderOn": true,
            "hasAttachments": false,
            "subject": self.subject,
            "bodyPreview": preview(&self.body),
            "importance": "normal",
            "sensitivity": "normal",
            "isAllDay": self.is_all_day,
            "isCancelled": self.is_cancelled,
            "isOrganizer": true,
            "responseRequested": true,
            "seriesMasterId": null,
            "showAs": self.show_as,
            "type": "singleInstance",
            "webLink": format!("{base}/owa/?itemid={}&exvsurl=1&path=/calendar/item", self.id),
            "onlineMeetingUrl": null,
            "isOnlineMeeting": false,
            "responseStatus": { "response": "organizer", "time": "0001-01-01T00:00:00Z" },
            "body": { "contentType": self.body_type, "content": self.body },
            "start": { "dateTime": wire_local(self.start), "timeZone": "UTC" },
            "end": { "dateTime": wire_local(self.end), "timeZone": "UTC" },
            "location": {
                "displayName": self.location.clone().unwrap_or_default(),
                "locationType": "default",
                "uniqueIdType": "unknown",
            },
            "locations": [],
            "recurrence": null,
            "attendees": self.attendees,
            "organizer": { "emailAddress": { "name": "Megan Bowen", "address": "megan@contoso.example" } },
        })
    }

    pub(crate) fn change_key(&self) -> String {
        format!("DwAAABYAAAB{:08}", self.version)
    }
}

fn preview(body: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.chars().take(255).collect()
}

/// `dateTimeTimeZone.dateTime` as Graph writes it: seven fraction digits, no offset.
pub(crate) fn wire_local(at: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}",
        at.format("%Y-%m-%dT%H:%M:%S"),
        at.timestamp_subsec_nanos() / 100
    )
}

/// An instant with `Z`, seven fraction digits, as in `expirationDateTime`.
pub(crate) fn wire_instant(at: DateTime<Utc>) -> String {
    format!("{}Z", wire_local(at))
}

/// A subscription as the fake granted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSubscription {
    /// Graph's id.
    pub id: String,
    /// Watched resource, as sent.
    pub resource: String,
    /// `changeType`, as sent.
    pub change_type: String,
    /// Where change notifications go.
    pub notification_url: String,
    /// Where lifecycle notifications go.
    pub lifecycle_notification_url: Option<String>,
    /// The per-subscription secret.
    pub client_state: Option<String>,
    /// The granted expiry.
    pub expires_at: DateTime<Utc>,
    /// How often `reauthorize` was called.
    pub reauthorizations: u32,
}

impl FakeSubscription {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "applicationId": "24d3b144-21ae-4080-943f-7067b395b913",
            "changeType": self.change_type,
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": null,
            "lifecycleNotificationUrl": self.lifecycle_notification_url,
            "expirationDateTime": wire_instant(self.expires_at),
            "creatorId": USER_ID,
            "includeResourceData": false,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": null,
            "encryptionCertificateId": null,
            "notificationUrlAppId": null,
        })
    }
}

/// A busy block the test puts on the account's schedule (besides its events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyBlock {
    /// Start, UTC.
    pub start: DateTime<Utc>,
    /// End, UTC.
    pub end: DateTime<Utc>,
    /// getSchedule status: `busy`, `tentative`, `oof`, `workingElsewhere` or `free`.
    pub status: String,
}

/// A pending authorization code.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) scope: String,
}

/// Where a delta round stands: changes after `since`, in `window` (if the round had one).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeltaCursor {
    pub(crate) since: u64,
    pub(crate) window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// A page in progress: the cursor, the sequence number the round stops at, the offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageCursor {
    pub(crate) cursor: DeltaCursor,
    pub(crate) upto: u64,
    pub(crate) offset: usize,
    /// The first round of a window lists events, never removals.
    pub(crate) initial: bool,
}

/// Failures to answer the next calls with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failure {
    pub(crate) status: u16,
    pub(crate) retry_after_seconds: Option<u64>,
}

/// Everything the fake knows.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) base_url: String,
    pub(crate) mail: Option<String>,
    pub(crate) user_principal_name: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) codes: HashMap<String, Grant>,
    /// Access token → when it stops working.
    pub(crate) access_tokens: HashMap<String, DateTime<Utc>>,
    pub(crate) refresh_tokens: Vec<String>,
    pub(crate) grant_revoked: bool,
    pub(crate) last_authorize_query: Option<HashMap<String, String>>,
    pub(crate) token_requests: Vec<HashMap<String, String>>,
    pub(crate) events: BTreeMap<String, FakeEvent>,
    pub(crate) seq: u64,
    pub(crate) create_requests: usize,
    pub(crate) creates: usize,
    pub(crate) drop_next_create: bool,
    pub(crate) conflict_on_repeated_transaction: bool,
    pub(crate) delta_tokens: HashMap<String, DeltaCursor>,
    pub(crate) skip_tokens: HashMap<String, PageCursor>,
    pub(crate) page_size: usize,
    pub(crate) expired_delta_answer: (u16, String),
    pub(crate) delta_requests: usize,
    pub(crate) subscriptions: BTreeMap<String, FakeSubscription>,
    pub(crate) deleted_subscriptions: Vec<String>,
    pub(crate) subscription_cap: TimeDelta,
    pub(crate) validate_notification_urls: bool,
    pub(crate) busy: Vec<BusyBlock>,
    pub(crate) schedule_error: Option<String>,
    pub(crate) failures: Vec<Failure>,
    pub(crate) unmatched: Vec<String>,
    counter: u64,
}

impl State {
    pub(crate) fn new(base_url: String) -> Self {
        Self {
            base_url,
            mail: Some("megan@contoso.example".to_owned()),
            user_principal_name: "megan@contoso.onmicrosoft.example".to_owned(),
            client_id: crate::CLIENT_ID.to_owned(),
            client_secret: crate::CLIENT_SECRET.to_owned(),
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: Vec::new(),
            grant_revoked: false,
            last_authorize_query: None,
            token_requests: Vec::new(),
            events: BTreeMap::new(),
            seq: 0,
            create_requests: 0,
            creates: 0,
            drop_next_create: false,
            conflict_on_repeated_transaction: false,
            delta_tokens: HashMap::new(),
            skip_tokens: HashMap::new(),
            page_size: 10,
            expired_delta_answer: (410, "SyncStateNotFound".to_owned()),
            delta_requests: 0,
            subscriptions: BTreeMap::new(),
            deleted_subscriptions: Vec::new(),
            subscription_cap: TimeDelta::minutes(MAX_SUBSCRIPTION_MINUTES),
            validate_notification_urls: false,
            busy: Vec::new(),
            schedule_error: None,
            failures: Vec::new(),
            unmatched: Vec::new(),
            counter: 0,
        }
    }

    /// A fresh opaque value with `prefix` (ids, tokens, codes).
    pub(crate) fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{:010}", self.counter)
    }

    /// The next change sequence number.
    pub(crate) fn bump(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Issues an access + refresh token pair for the account.
    pub(crate) fn issue_tokens(&mut self) -> (String, String) {
        let access = self.fresh("eyJ0eXAiOiJKV1QiLCJub25jZSI6ImZha2Ui.");
        let refresh = self.fresh("0.AXoAv4j5cvGGr0GRqy180BHbR-");
        self.access_tokens
            .insert(access.clone(), Utc::now() + TimeDelta::seconds(3599));
        self.refresh_tokens.push(refresh.clone());
        (access, refresh)
    }

    /// Whether `token` may call Graph now.
    pub(crate) fn access_ok(&self, token: &str) -> bool {
        !self.grant_revoked
            && self
                .access_tokens
                .get(token)
                .is_some_and(|expires| *expires > Utc::now())
    }

    /// The account's own address for getSchedule.
    pub(crate) fn address(&self) -> &str {
        self.mail.as_deref().unwrap_or(&self.user_principal_name)
    }

    /// A new event id in Graph's style (base64url with padding).
    pub(crate) fn event_id(&mut self) -> String {
        let n = self.fresh("");
        format!("AAMkAGI2THVSAAA{n}AAA=")
    }

    /// Adds or rewrites an event, marking it changed.
    pub(crate) fn touch(&mut self, id: &str) {
        let seq = self.bump();
        if let Some(event) = self.events.get_mut(id) {
            event.seq = seq;
            event.version += 1;
            event.modified = Utc::now();
        }
    }
}
