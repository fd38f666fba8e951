//! The server's shared state: the node, the settings, the known keys, the
//! replay cache, the run pool, the jobs and the metrics.
//!
//! Every node call that touches SQLite or files runs on tokio's blocking
//! pool ([`App::blocking`]); runs go through the bounded [`RunPool`]. The
//! key table is cached in memory and reloaded whenever a key changes
//! through this server (the data directory's lock keeps other writers out).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::Node;
use crate::http::auth::nonce::NonceCache;
use crate::http::config::ServerConfig;
use crate::http::jobs::Jobs;
use crate::http::pool::RunPool;
use crate::http::problem::ApiError;
use crate::http::telemetry::Metrics;
use crate::keys::KeyRecord;

/// What every handler shares.
pub struct App {
    /// The node.
    pub(crate) node: Arc<Node>,
    /// The settings.
    pub(crate) config: ServerConfig,
    /// Nonces seen within the signature window.
    pub(crate) nonces: NonceCache,
    /// Known keys by hex.
    keys: RwLock<HashMap<String, KeyRecord>>,
    /// The bounded run pool.
    pub(crate) pool: Arc<RunPool>,
    /// Runs that outlived their request.
    pub(crate) jobs: Jobs,
    /// Metric instruments.
    pub(crate) metrics: Metrics,
}

impl App {
    /// The state for serving `node` with `config`, recording metrics with `metrics`.
    pub fn new(
        node: Arc<Node>,
        config: ServerConfig,
        metrics: Metrics,
    ) -> Result<Arc<Self>, crate::NodeError> {
        let app = Self {
            nonces: NonceCache::new(config.nonce_cache),
            keys: RwLock::new(HashMap::new()),
            pool: Arc::new(RunPool::new(
                config.workers,
                config.queue,
                config.per_key_runs,
                config.key_workers(),
                config.retry_after_secs,
                metrics.clone(),
            )),
            jobs: Jobs::new(config.jobs_kept),
            metrics,
            config,
            node,
        };
        app.reload_keys()?;
        Ok(Arc::new(app))
    }

    /// Rereads the key table.
    pub(crate) fn reload_keys(&self) -> Result<(), crate::NodeError> {
        let fresh: HashMap<String, KeyRecord> = self
            .node
            .keys()?
            .into_iter()
            .map(|k| (k.key.clone(), k))
            .collect();
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    /// The key record of `hex`, if the node knows it.
    pub(crate) fn key(&self, hex: &str) -> Option<KeyRecord> {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(hex)
            .cloned()
    }

    /// Runs `f` with the node on the blocking pool.
    pub(crate) async fn blocking<T, F>(self: &Arc<Self>, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Node) -> Result<T, ApiError> + Send + 'static,
    {
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || f(&node))
            .await
            .map_err(|e| ApiError::internal("internal.task", e))?
    }
}
