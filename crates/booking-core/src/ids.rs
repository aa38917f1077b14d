//! Identifiers of hosts, booking links and bookings.

use std::fmt;

use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID read from storage or made by an id source.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses the hyphenated UUID form.
            ///
            /// # Errors
            /// [`uuid::Error`] when `text` is not a UUID.
            pub fn parse(text: &str) -> Result<Self, uuid::Error> {
                Uuid::try_parse(text).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id_type!(
    /// A host: the person whose calendar is booked.
    HostId
);
id_type!(
    /// A booking link (event type) a host publishes.
    LinkId
);
id_type!(
    /// One row of `scheduling_calendar_events`: one version of a meeting.
    BookingId
);
id_type!(
    /// A meeting across its reschedules: the id of the chain's first booking. It is the
    /// webhook's `event.uuid` and the calendar invite's UID.
    ChainId
);

impl ChainId {
    /// The chain a first booking starts.
    pub const fn started_by(first: BookingId) -> Self {
        Self(first.0)
    }
}
