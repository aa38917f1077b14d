//! Computes the slots of the fixed benchmark input (shared/BENCH-INPUT.md) once and prints how
//! many there are: the workload `cargo xtask bench` counts instructions of under callgrind.

use booking_core::slots::{bench_fixture, offered_slots};

fn main() {
    let rules = bench_fixture::bench_input_rules();
    let busy = bench_fixture::bench_input_busy();
    let slots = offered_slots(
        &rules,
        &bench_fixture::bench_input_window(),
        bench_fixture::bench_input_now(),
        &busy,
    );
    println!("{} slots", slots.len());
}
