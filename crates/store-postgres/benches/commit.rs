//! Postgres store benchmark: `TEST_DATABASE_URL=postgres://… cargo bench -p store-postgres
//! --bench commit` (or `cargo xtask bench`). Runs on a database of its own, dropped afterwards;
//! the measuring code is shared with the SQLite bench.

#[path = "../../store-sqlite/benches/commit/driver.rs"]
mod driver;

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

fn main() {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!(
            "TEST_DATABASE_URL is not set: run `cargo xtask bench`, or set it to an admin URL that may CREATE DATABASE"
        );
        std::process::exit(1);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let admin = PgConnectOptions::from_str(&admin).expect("TEST_DATABASE_URL");
        let name = format!("slotkeeper_bench_{}", std::process::id());
        let mut conn = PgConnection::connect_with(&admin).await.expect("connect");
        conn.execute(AssertSqlSafe(format!("create database {name}")))
            .await
            .expect("create database");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(admin.clone().database(&name))
            .await
            .expect("connect");
        let store = store_postgres::PostgresStore::from_pool(pool.clone(), [7; 32])
            .await
            .expect("migrate");
        driver::run("Postgres", store).await;
        pool.close().await;
        conn.execute(AssertSqlSafe(format!("drop database {name} with (force)")))
            .await
            .expect("drop database");
    });
}
