//! One client session: the key, the node, a small runtime, and how answers
//! become output and exit codes.

use std::path::Path;
use std::process::ExitCode;

use anyhow::anyhow;
use sluice_node::http::Method;
use sluice_node::http::{Answer, Client, RequestSigner, SignOptions};
use sluice_runtime::signing::SecretKey;

use crate::cli::Failure;

/// A node, a key, and a runtime to talk with.
pub(super) struct Session {
    client: Client,
    runtime: tokio::runtime::Runtime,
}

impl Session {
    /// Opens a session with the node at `node`, signing with the key file `key`.
    pub(super) fn open(node: &str, key: Option<&Path>) -> Result<Self, Failure> {
        let signer = key
            .map(|path| {
                SecretKey::from_file(path)
                    .map(|k| RequestSigner::new(&k))
                    .map_err(|e| Failure::usage(anyhow!("--key {}: {e}", path.display())))
            })
            .transpose()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Failure::internal)?;
        Ok(Self {
            client: runtime.block_on(async { Client::new(node, signer) }),
            runtime,
        })
    }

    fn call(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        ct: Option<&str>,
    ) -> Result<Answer, Failure> {
        self.runtime
            .block_on(
                self.client
                    .send(method, path, body, ct, &SignOptions::default()),
            )
            .map_err(Failure::internal)
    }

    /// `GET path`.
    pub(super) fn get(&self, path: &str) -> Result<Answer, Failure> {
        self.call(Method::GET, path, Vec::new(), None)
    }

    /// `POST path` with a JSON body.
    pub(super) fn post(&self, path: &str, body: &serde_json::Value) -> Result<Answer, Failure> {
        let bytes = serde_json::to_vec(body).map_err(Failure::internal)?;
        self.call(Method::POST, path, bytes, Some("application/json"))
    }

    /// `POST path` with raw bytes.
    pub(super) fn post_bytes(
        &self,
        path: &str,
        body: Vec<u8>,
        ct: &str,
    ) -> Result<Answer, Failure> {
        self.call(Method::POST, path, body, Some(ct))
    }

    /// Prints a successful answer's JSON, or fails with its problem.
    pub(super) fn show(&self, answer: Answer) -> Result<ExitCode, Failure> {
        let value = ok(answer)?;
        print_value(&value)?;
        Ok(ExitCode::SUCCESS)
    }
}

static FIELD: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Prints only `field` of every answer from now on (`--get`).
pub(super) fn select_field(field: Option<String>) {
    let _ = FIELD.set(field);
}

/// Pretty JSON on stdout, or the selected field as text.
pub(super) fn print_value(value: &serde_json::Value) -> Result<(), Failure> {
    match FIELD.get().and_then(Option::as_deref) {
        Some(field) => match value.get(field) {
            Some(serde_json::Value::String(s)) => {
                println!("{s}");
                Ok(())
            }
            Some(v) => crate::cli::print_json(v),
            None => Err(Failure::usage(anyhow!("the answer has no field `{field}`"))),
        },
        None => crate::cli::print_json(value),
    }
}

/// The answer's JSON if it succeeded; its problem as a failure otherwise.
pub(super) fn ok(answer: Answer) -> Result<serde_json::Value, Failure> {
    if answer.status.is_success() {
        return Ok(answer.json());
    }
    Err(problem(&answer))
}

/// A failure naming the problem's type and detail.
pub(super) fn problem(answer: &Answer) -> Failure {
    let p = answer.json();
    let code = p["type"].as_str().unwrap_or("unknown");
    let detail = p["detail"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).into_owned());
    let error = anyhow!("{} {code}: {detail}", answer.status.as_u16());
    if answer.status.is_client_error() {
        Failure::usage(error)
    } else {
        Failure::internal(error)
    }
}
