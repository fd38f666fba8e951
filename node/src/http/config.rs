//! The server's settings: embedded defaults, then a TOML file, then
//! environment variables, each overriding the one before.
//!
//! | key (file) | env var | default | what |
//! |---|---|---|---|
//! | `listen` | `SLUICE_LISTEN` | `127.0.0.1:8080` | address to listen on |
//! | `workers` | `SLUICE_WORKERS` | cores | runs executing at once |
//! | `queue` | `SLUICE_QUEUE` | `64` | runs waiting for a worker; beyond it `503` |
//! | `per_key_runs` | `SLUICE_PER_KEY_RUNS` | `32` | runs one key may have queued or running; beyond it `429` |
//! | `per_key_workers` | `SLUICE_PER_KEY_WORKERS` | `workers - 1` (at least 1) | workers one key's runs may occupy at once, so one buyer's slow guests never hold every worker |
//! | `max_body_bytes` | `SLUICE_MAX_BODY_BYTES` | `1048576` | largest JSON request body |
//! | `max_module_bytes` | `SLUICE_MAX_MODULE_BYTES` | `16777216` | largest module upload |
//! | `signature_window_secs` | `SLUICE_SIGNATURE_WINDOW_SECS` | `300` | how far `created` may be from the node's clock |
//! | `nonce_cache` | `SLUICE_NONCE_CACHE` | `1000000` | most nonces remembered within the window |
//! | `run_wait_ms` | `SLUICE_RUN_WAIT_MS` | `30000` | how long `POST /v1/runs` waits before answering `202` with a job to poll |
//! | `jobs_kept` | `SLUICE_JOBS_KEPT` | `4096` | finished jobs kept for polling |
//! | `shutdown_grace_secs` | `SLUICE_SHUTDOWN_GRACE_SECS` | `60` | how long SIGTERM waits for runs in flight |
//! | `retry_after_secs` | `SLUICE_RETRY_AFTER_SECS` | `1` | `Retry-After` on busy answers |
//!
//! Defends against a typo silently meaning the default (unknown keys in the
//! file and unparsable env values are errors naming the key) and against
//! settings that cannot work (zero workers, a zero window).

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;
use thiserror::Error;

/// Why the configuration cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for these settings.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// An environment variable does not parse.
    #[error("environment variable {name}={value:?}: {message}")]
    Env {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
        /// What is wrong.
        message: String,
    },
    /// A setting cannot work.
    #[error("{0}")]
    Invalid(String),
}

/// How the server runs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Runs executing at once (the blocking pool's size).
    pub workers: usize,
    /// Runs waiting for a worker; beyond it the node answers 503.
    pub queue: usize,
    /// Runs one key may have queued or running; beyond it 429.
    pub per_key_runs: usize,
    /// Workers one key's runs may occupy at once (0: `workers - 1`, at least 1).
    pub per_key_workers: usize,
    /// Largest JSON request body, bytes.
    pub max_body_bytes: usize,
    /// Largest module upload, bytes.
    pub max_module_bytes: usize,
    /// How far a signature's `created` may be from the node's clock, seconds.
    pub signature_window_secs: u64,
    /// Most nonces remembered within the window.
    pub nonce_cache: usize,
    /// How long `POST /v1/runs` waits for the result before answering 202.
    pub run_wait_ms: u64,
    /// Finished jobs kept for polling.
    pub jobs_kept: usize,
    /// How long a SIGTERM waits for runs in flight, seconds.
    pub shutdown_grace_secs: u64,
    /// `Retry-After` on busy answers, seconds.
    pub retry_after_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue: 64,
            per_key_runs: 32,
            per_key_workers: 0,
            max_body_bytes: 1 << 20,
            max_module_bytes: 16 << 20,
            signature_window_secs: 300,
            nonce_cache: 1_000_000,
            run_wait_ms: 30_000,
            jobs_kept: 4096,
            shutdown_grace_secs: 60,
            retry_after_secs: 1,
        }
    }
}

fn env<T: std::str::FromStr>(name: &str, slot: &mut T) -> Result<(), ConfigError>
where
    T::Err: std::fmt::Display,
{
    if let Ok(value) = std::env::var(name) {
        *slot = value.trim().parse().map_err(|e: T::Err| ConfigError::Env {
            name: name.into(),
            value: value.clone(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

impl ServerConfig {
    /// Workers one key may occupy: `per_key_workers`, or `workers - 1`.
    pub fn key_workers(&self) -> usize {
        match self.per_key_workers {
            0 => self.workers.saturating_sub(1).max(1),
            n => n.min(self.workers),
        }
    }

    /// Defaults, then `file` (if given), then the `SLUICE_*` environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        config.apply_env()?;
        config.check()?;
        Ok(config)
    }

    /// The settings of a TOML file (unset keys keep their defaults).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Applies the `SLUICE_*` environment variables.
    pub fn apply_env(&mut self) -> Result<(), ConfigError> {
        env("SLUICE_LISTEN", &mut self.listen)?;
        env("SLUICE_WORKERS", &mut self.workers)?;
        env("SLUICE_QUEUE", &mut self.queue)?;
        env("SLUICE_PER_KEY_RUNS", &mut self.per_key_runs)?;
        env("SLUICE_PER_KEY_WORKERS", &mut self.per_key_workers)?;
        env("SLUICE_MAX_BODY_BYTES", &mut self.max_body_bytes)?;
        env("SLUICE_MAX_MODULE_BYTES", &mut self.max_module_bytes)?;
        env(
            "SLUICE_SIGNATURE_WINDOW_SECS",
            &mut self.signature_window_secs,
        )?;
        env("SLUICE_NONCE_CACHE", &mut self.nonce_cache)?;
        env("SLUICE_RUN_WAIT_MS", &mut self.run_wait_ms)?;
        env("SLUICE_JOBS_KEPT", &mut self.jobs_kept)?;
        env("SLUICE_SHUTDOWN_GRACE_SECS", &mut self.shutdown_grace_secs)?;
        env("SLUICE_RETRY_AFTER_SECS", &mut self.retry_after_secs)?;
        Ok(())
    }

    /// Refuses settings that cannot work.
    pub fn check(&self) -> Result<(), ConfigError> {
        let positive = [
            ("workers", self.workers as u64),
            ("per_key_runs", self.per_key_runs as u64),
            ("max_body_bytes", self.max_body_bytes as u64),
            ("max_module_bytes", self.max_module_bytes as u64),
            ("signature_window_secs", self.signature_window_secs),
            ("nonce_cache", self.nonce_cache as u64),
            ("jobs_kept", self.jobs_kept as u64),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid(format!(
                    "{name} is 0; it must be at least 1"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_overrides_defaults_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serve.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9999\"\nqueue = 5\n").unwrap();
        let c = ServerConfig::from_file(&path).unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.queue, 5);
        assert_eq!(c.workers, ServerConfig::default().workers);
        std::fs::write(&path, "queue_size = 5\n").unwrap();
        let e = ServerConfig::from_file(&path).unwrap_err().to_string();
        assert!(e.contains("queue_size"), "{e}");
    }

    #[test]
    fn zero_workers_is_refused() {
        let c = ServerConfig {
            workers: 0,
            ..ServerConfig::default()
        };
        assert!(c.check().unwrap_err().to_string().contains("workers"));
    }
}
