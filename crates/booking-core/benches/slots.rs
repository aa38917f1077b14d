//! Criterion benchmark of the slot engine on the fixed `BENCH-INPUT` recipe; with
//! `SLOTKEEPER_EMIT_SLOTS=<path>` it first writes the offered slot starts there as JSON.

use std::hint::black_box;
use std::time::Duration;
use std::{env, fs, process};

use booking_core::slots::bench_fixture::{
    bench_input_busy, bench_input_now, bench_input_rules, bench_input_window,
};
use booking_core::slots::offered_slots;
use criterion::{Criterion, criterion_group, criterion_main};

/// Names the file the slot starts are written to, for diffing against other engines.
const EMIT_VAR: &str = "SLOTKEEPER_EMIT_SLOTS";

fn slot_engine(c: &mut Criterion) {
    let rules = bench_input_rules();
    let window = bench_input_window();
    let now = bench_input_now();
    let busy = bench_input_busy();

    if let Some(path) = env::var_os(EMIT_VAR) {
        let mut starts: Vec<String> = offered_slots(&rules, &window, now, &busy)
            .iter()
            .map(|slot| slot.start().format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .collect();
        starts.sort();
        // RFC 3339 strings need no JSON escaping.
        let json = format!(
            "[{}]\n",
            starts
                .iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        if let Err(err) = fs::write(&path, json) {
            eprintln!("cannot write slots to {}: {err}", path.to_string_lossy());
            process::exit(1);
        }
        println!(
            "{} slots written to {}",
            starts.len(),
            path.to_string_lossy()
        );
    }

    c.bench_function("offered_slots/bench_input_60d_2000_busy", |b| {
        b.iter(|| {
            offered_slots(
                black_box(&rules),
                black_box(&window),
                black_box(now),
                black_box(&busy),
            )
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = slot_engine
}
criterion_main!(benches);
