//! The host side's integration tests: login, sessions, CSRF, the calendar dashboard, booking
//! detail and its actions, links, deals, API keys and the host JSON API (webhook subscriptions
//! included) — every action and every authorisation rule, through actix's test service on the
//! in-memory store (one module on a real SQLite file, and one with three app instances sharing
//! sessions over one SQLite file and over one Postgres database).

mod api;
mod auth;
mod calendar;
mod conformance;
mod dashboard;
mod deals;
mod detail;
mod helpers;
mod home;
mod instances;
mod integrations;
mod links;
mod moving;
mod openapi;
mod reconfirmation;
mod sqlite;
mod webhooks;
