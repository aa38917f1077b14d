//! The web crate's integration tests: every page state and every API error, through actix's
//! test service on the in-memory store with a fixed clock.

mod answers;
mod api;
mod booking_page;
mod helpers;
mod input;
mod layering;
mod no_dead_ends;
mod observe;
mod outage;
mod pages;
mod sms;
