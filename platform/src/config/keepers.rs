//! What `kairos-keepers` reads: the core settings and nothing of the API's. Its jobs' own
//! settings (`KAIROS_KEEPERS__*`, `KAIROS_SOLANA__*`) join the table when the jobs do.

use super::CoreSettings;

/// The settings `kairos-keepers` runs with. Build with [`super::load_keepers`].
#[derive(Debug, Clone)]
pub struct KeeperSettings {
    pub core: CoreSettings,
}
