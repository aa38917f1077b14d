//! The host's side from the command line: passwords for `host add` and `host password`, and
//! the demo's login and its past meeting.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, anyhow, bail};
use booking_core::accounts::{Account, AccountStore, SaveAccountError};
use booking_core::booking::{Booking, NewBooking, Write as RowWrite};
use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
use booking_core::ports::{BookingStore, Change, DashboardTab, Page, TokenSource};
use booking_core::sessions::change_password;
use booking_core::{HostId, TimeRange};
use chrono::{DurationRound, TimeDelta, Utc};
use web::host::Passwords;

use crate::adapters::OsRandom;
use crate::cli::{HostAdd, HostPassword};
use crate::storage::Storage;

/// The key of the host session cookie; never printed.
#[derive(Clone, Copy)]
pub struct SessionKey(pub [u8; 32]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

/// The environment variable a password may come from (for scripts; beware of shell history).
pub const PASSWORD_ENV: &str = "SLOTKEEPER_HOST_PASSWORD";

/// The password from `--password`, `SLOTKEEPER_HOST_PASSWORD`, or typed at a terminal (not
/// echoed). `None` when none is given and nobody is at a terminal to ask.
fn password_from(flag: Option<&str>) -> Result<Option<String>> {
    if let Some(p) = flag {
        return Ok(Some(p.to_owned()));
    }
    if let Ok(p) = std::env::var(PASSWORD_ENV)
        && !p.is_empty()
    {
        return Ok(Some(p));
    }
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let first = prompt("Password for the host's login (at least 8 characters): ")?;
    let second = prompt("Same password again: ")?;
    if first != second {
        bail!("the two passwords differ");
    }
    Ok(Some(first))
}

/// Reads a line from the terminal with echo off (`stty -echo`), echo restored afterwards.
fn prompt(text: &str) -> Result<String> {
    eprint!("{text}");
    std::io::stderr().flush().ok();
    let silent = std::process::Command::new("stty")
        .arg("-echo")
        .stdin(std::process::Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success());
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if silent {
        let _ = std::process::Command::new("stty")
            .arg("echo")
            .stdin(std::process::Stdio::inherit())
            .status();
        eprintln!();
    }
    read.context("reading the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Saves `host`'s login (its email address) with `password` and ends every session of the
/// host (nobody is logged in from the command line, so none is kept); returns how many ended.
async fn set_login(storage: &Storage, host: HostId, email: &Email, password: &str) -> Result<u64> {
    let hash = Passwords::default().hash(password).context("--password")?;
    let created = match storage.accounts.account(host).await? {
        Some(existing) => existing.created_at(),
        None => Utc::now(),
    };
    let account = Account::new(host, email, hash, created);
    match change_password(&*storage.accounts, &*storage.sessions, &account, None).await {
        Ok(ended) => Ok(ended),
        Err(SaveAccountError::LoginTaken) => {
            bail!("another host already logs in as {email}")
        }
        Err(SaveAccountError::UnknownHost) => bail!("no host with id {host}"),
        Err(SaveAccountError::Store(e)) => Err(e.into()),
    }
}

/// `host add`: creates the host and, with a password, its login; returns the host id.
///
/// # Errors
/// Invalid input, a login used by another host, storage failures.
pub async fn host_add(storage: &Storage, args: &HostAdd) -> Result<HostId> {
    let password = password_from(args.password.as_deref())?;
    let email = Email::parse(&args.email).context("--email")?;
    if let Some(p) = &password {
        // Refuse a bad password or a taken login before anything is written.
        Passwords::with_cost(8, 1, 1)?
            .hash(p)
            .context("--password")?;
        if storage.accounts.account_by_login(&email).await?.is_some() {
            bail!("another host already logs in as {email}");
        }
    }
    let id = crate::commands::host_add(storage, args).await?;
    match password {
        Some(p) => {
            set_login(storage, id, &email, &p).await?;
        }
        None => eprintln!(
            "note: no password given, so this host cannot log in yet; set one with \
             `slotkeeper host password --email {email}` (or pass --password / {PASSWORD_ENV})"
        ),
    }
    Ok(id)
}

/// `host password`: sets or resets the password of the host with that email address, and ends
/// every session of the host on every instance.
///
/// # Errors
/// No such host login, a bad password, storage failures.
pub async fn host_password(storage: &Storage, args: &HostPassword) -> Result<HostId> {
    let email = Email::parse(&args.email).context("--email")?;
    let host = match storage.accounts.account_by_login(&email).await? {
        Some(account) => account.host(),
        None => match &args.host {
            Some(id) => HostId::parse(id).map_err(|_| anyhow!("--host must be a host id"))?,
            None => bail!(
                "no host logs in as {email}; for a host made without a password, pass its id with --host"
            ),
        },
    };
    let password = password_from(args.password.as_deref())?.ok_or_else(|| {
        anyhow!("give the password with --password or {PASSWORD_ENV}, or run this at a terminal")
    })?;
    let ended = set_login(storage, host, &email, &password).await?;
    if ended > 0 {
        eprintln!("logged the host out of {ended} session(s) started with the old password");
    }
    Ok(host)
}

/// The demo host's login: its email and a fresh random password (set on every start).
///
/// # Errors
/// Storage failures.
pub async fn demo_login(storage: &Storage, host: HostId) -> Result<(String, String)> {
    let email = storage
        .bookings
        .host(host)
        .await?
        .ok_or_else(|| anyhow!("the demo host is missing"))?
        .email()
        .clone();
    let password = format!("demo-{}", &OsRandom.new_token().expose()[..12]);
    set_login(storage, host, &email, &password).await?;
    Ok((email.as_str().to_owned(), password))
}

/// Gives the demo a meeting that already took place (yesterday), so the dashboard's Past tab
/// and the no-show action have something to show. A booking in the past cannot be made
/// through the use cases (they only offer future slots), so this row is written straight
/// through the store's commit — with no effects: no mail, no webhook, for a made-up meeting.
/// Runs only while the host has no past meeting and no no-show.
///
/// # Errors
/// Storage failures.
pub async fn seed_demo_past_meeting(storage: &Storage, sample: &Booking) -> Result<()> {
    let now = Utc::now();
    let page = storage
        .bookings
        .dashboard(
            sample.host(),
            DashboardTab::Past,
            now,
            Page {
                offset: 0,
                limit: 1,
            },
        )
        .await?;
    if page.counts.past + page.counts.no_shows > 0 {
        return Ok(());
    }
    let start = (now - TimeDelta::days(1))
        .duration_trunc(TimeDelta::hours(1))
        .unwrap_or(now - TimeDelta::days(1));
    let slot = TimeRange::new(start, start + TimeDelta::minutes(30))?;
    let past = Booking::confirmed(NewBooking {
        id: OsRandom.new_booking_id(),
        host: sample.host(),
        link: sample.link(),
        slot,
        blocked: slot,
        token: OsRandom.new_token(),
        invitee: Invitee::new(
            PersonName::parse("Pat Past")?,
            Email::parse("pat@demo.slotkeeper.test")?,
            None,
            sample.invitee().time_zone(),
        ),
        answers: Answers::default(),
        tracking: Tracking::default(),
        reconfirm_by: None,
        created_at: start - TimeDelta::days(2),
    })
    .result;
    storage
        .bookings
        .commit(Change {
            writes: vec![RowWrite::Insert(past)],
            effects: Vec::new(),
        })
        .await
        .context("seeding the demo's past meeting")?;
    Ok(())
}
