//! SQLite store benchmark: `cargo bench -p store-sqlite --bench commit` (a fresh file in a
//! temporary directory; see `driver.rs` beside this file for what is measured).

mod driver;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = store_sqlite::SqliteStore::connect(&url, [7; 32])
            .await
            .expect("open");
        driver::run("SQLite", store).await;
    });
}
