//! The domain's email rule against the mailer's own parser (issue 13, #6): every address
//! `booking_core::invitee::Email` accepts must be one lettre's `Address` accepts, so a booking
//! can never be made for an attendee the "Booked" mails then cannot be sent to. booking-core
//! may not depend on lettre, so the agreement is checked here, where both are at hand.

use booking_core::invitee::Email;
use lettre::Address;
use proptest::prelude::*;

/// Addresses made of the characters RFC 5322 allows in places and many it does not, so that
/// the domain rule's edges (quotes, comments, brackets, dots, non-ASCII) are all exercised.
fn noisy_address() -> impl Strategy<Value = String> {
    let local = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~.()<>\\[\\]:;@\\\\,\" é\u{202e}-]{1,70}";
    let domain = "[A-Za-z0-9.\\-_\\[\\]é]{1,40}";
    (local, domain).prop_map(|(l, d)| format!("{l}@{d}"))
}

/// Addresses of the subset the domain promises to accept: dot-atoms of `atext` at a host name.
fn dot_atom_address() -> impl Strategy<Value = String> {
    let atom = "[A-Za-z0-9!#$%&'*+/^_`{|}~-][A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{0,9}";
    let label = "[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?";
    let tld = "[A-Za-z][A-Za-z0-9]{1,6}";
    (
        prop::collection::vec(atom, 1..4),
        prop::collection::vec(label, 1..3),
        tld,
    )
        .prop_map(|(atoms, labels, tld)| format!("{}@{}.{tld}", atoms.join("."), labels.join(".")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn every_address_the_domain_accepts_parses_with_lettre(text in noisy_address()) {
        if let Ok(email) = Email::parse(&text) {
            prop_assert!(
                email.as_str().parse::<Address>().is_ok(),
                "the domain accepted {:?}, lettre refuses it", email.as_str()
            );
        }
    }

    #[test]
    fn dot_atoms_at_host_names_are_accepted_by_both(text in dot_atom_address()) {
        prop_assume!(!text.contains("=?"));
        let email = Email::parse(&text);
        prop_assert!(email.is_ok(), "the domain refused {:?}", text);
        let email = email.unwrap();
        prop_assert!(email.as_str().parse::<Address>().is_ok(), "lettre refuses {:?}", text);
    }
}

/// What the adversarial run booked and the mailer then failed to send.
#[test]
fn the_addresses_that_killed_the_booked_mails_are_refused() {
    for bad in [
        "a@b@example.com",
        "a:b@example.com",
        "a(c)@example.com",
        "a\\b@example.com",
        "a.@example.com",
        "a\u{202e}b@example.com",
        "=?utf-8?b?YQ==?=@example.com",
    ] {
        assert!(Email::parse(bad).is_err(), "{bad:?}");
    }
}
