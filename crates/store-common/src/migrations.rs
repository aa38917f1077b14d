//! What migrating at connect did, so `slotkeeper migrate` can say which migrations it applied
//! rather than that the database is up to date.

use sqlx::migrate::Migrator;

/// One migration of this build, named as its file is (`20261130140500_reconfirm_requested_at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// The version (the file name's leading number).
    pub version: i64,
    /// The file name without `.sql`.
    pub name: String,
}

/// The migrations one connect applied (none when the database was up to date) and how many
/// up-migrations this build has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Applied by this connect, oldest first.
    pub applied: Vec<AppliedMigration>,
    /// Every up-migration of this build (applied now or before).
    pub known: usize,
}

impl MigrationReport {
    /// The report of running `migrator` on a database where `pending` (versions, as
    /// `StoreHealth::pending_migrations` answers) had not been applied yet. Another instance
    /// migrating the same database at the same moment may have applied some of them instead.
    pub fn after(migrator: &Migrator, pending: &[i64]) -> Self {
        let ups = || {
            migrator
                .iter()
                .filter(|m| !m.migration_type.is_down_migration())
        };
        Self {
            applied: ups()
                .filter(|m| pending.contains(&m.version))
                .map(|m| AppliedMigration {
                    version: m.version,
                    name: format!("{}_{}", m.version, m.description.replace(' ', "_")),
                })
                .collect(),
            known: ups().count(),
        }
    }
}
