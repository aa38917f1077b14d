//! `host list` and `link list`: what an operator needs to find a host's id or a link's URL,
//! as an aligned table or (`--json`) one JSON array.

use anyhow::{Result, anyhow};
use booking_core::HostId;
use booking_core::link::{BookingLink, Host};
use serde_json::{Value, json};

use crate::cli::{LinkList, Listing};
use crate::storage::Storage;

/// `host list`: every host with its number of links.
///
/// # Errors
/// Storage failures.
pub async fn host_list(storage: &Storage, how: &Listing) -> Result<()> {
    let mut rows = Vec::new();
    for host in storage.links.hosts().await? {
        let links = storage.links.links_of(host.id()).await?.len();
        rows.push((host, links));
    }
    if how.json {
        let hosts: Vec<Value> = rows.iter().map(|(h, n)| host_json(h, *n)).collect();
        println!("{}", Value::Array(hosts));
    } else if rows.is_empty() {
        eprintln!("no hosts yet; add one with `slotkeeper host add`");
    } else {
        print_table(
            &["ID", "NAME", "EMAIL", "ZONE", "LINKS"],
            rows.iter()
                .map(|(h, n)| {
                    vec![
                        h.id().to_string(),
                        h.name().as_str().to_owned(),
                        h.email().as_str().to_owned(),
                        h.time_zone().name().to_owned(),
                        n.to_string(),
                    ]
                })
                .collect(),
        );
    }
    Ok(())
}

/// `link list`: one host's links, or every host's, with their booking URLs under `site`.
///
/// # Errors
/// A bad or unknown `--host`; storage failures.
pub async fn link_list(storage: &Storage, args: &LinkList, site: &str) -> Result<()> {
    let hosts = match &args.host {
        Some(id) => {
            let id = HostId::parse(id)
                .map_err(|_| anyhow!("--host must be a host id as `host list` prints it"))?;
            let host = storage.bookings.host(id).await?.ok_or_else(|| {
                anyhow!("--host: no host with id {id} (see `slotkeeper host list`)")
            })?;
            vec![host]
        }
        None => storage.links.hosts().await?,
    };
    let mut links = Vec::new();
    for host in &hosts {
        links.extend(storage.links.links_of(host.id()).await?);
    }
    let url = |l: &BookingLink| format!("{site}/book/{}", l.slug());
    if args.listing.json {
        let rows: Vec<Value> = links.iter().map(|l| link_json(l, &url(l))).collect();
        println!("{}", Value::Array(rows));
    } else if links.is_empty() {
        eprintln!("no links yet; add one with `slotkeeper link add`");
    } else {
        print_table(
            &["ID", "HOST", "SLUG", "TITLE", "MINUTES", "URL"],
            links
                .iter()
                .map(|l| {
                    vec![
                        l.id().to_string(),
                        l.host().to_string(),
                        l.slug().to_string(),
                        l.title().to_owned(),
                        l.rules().duration().num_minutes().to_string(),
                        url(l),
                    ]
                })
                .collect(),
        );
    }
    Ok(())
}

fn host_json(host: &Host, links: usize) -> Value {
    json!({
        "id": host.id().to_string(),
        "name": host.name().as_str(),
        "email": host.email().as_str(),
        "time_zone": host.time_zone().name(),
        "links": links,
    })
}

fn link_json(link: &BookingLink, url: &str) -> Value {
    let r = link.to_record();
    let questions: Vec<Value> = link
        .form_questions()
        .map(|q| json!({ "text": q.text, "required": q.required }))
        .collect();
    json!({
        "id": link.id().to_string(),
        "host": link.host().to_string(),
        "slug": r.slug,
        "title": r.title,
        "url": url,
        "description": r.description,
        "location": r.location,
        "time_zone": r.time_zone,
        "duration_minutes": r.duration_minutes,
        "interval_minutes": r.interval_minutes,
        "buffer_before_minutes": r.buffer_before_minutes,
        "buffer_after_minutes": r.buffer_after_minutes,
        "minimum_notice_minutes": r.minimum_notice_minutes,
        "max_days_ahead": r.max_days_ahead,
        "weekly_hours": weekly_json(&r.weekly),
        "date_hours": r
            .overrides
            .iter()
            .map(|(date, periods)| (date.format("%Y-%m-%d").to_string(), periods_json(periods)))
            .collect::<serde_json::Map<_, _>>(),
        "questions": questions,
        "create_deal": r.create_deal,
        "reconfirm_ask_minutes": r.reconfirm_ask_minutes,
        "reconfirm_deadline_minutes": r.reconfirm_cancel_minutes,
        "own_workflow": link.workflow().is_some(),
    })
}

/// `{"mon": ["09:00-17:00"], …}`, closed days left out.
fn weekly_json(weekly: &[Vec<(u16, u16)>]) -> Value {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    DAYS.iter()
        .zip(weekly)
        .filter(|(_, periods)| !periods.is_empty())
        .map(|(day, periods)| ((*day).to_owned(), periods_json(periods)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn periods_json(periods: &[(u16, u16)]) -> Value {
    let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
    periods
        .iter()
        .map(|(a, b)| Value::from(format!("{}-{}", hhmm(*a), hhmm(*b))))
        .collect()
}

/// Left-aligned columns two spaces apart, widths by characters.
fn print_table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        println!("{text}");
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}
