//! Jobs: runs that outlive their request. `POST /v1/runs` waits for the
//! result up to `run_wait_ms`; past that it answers 202 with a job id, and
//! `GET /v1/jobs/{id}` tells whether the run is queued, running or finished
//! (then with the same body and status the submission would have had).
//!
//! Defends against unbounded memory (finished jobs beyond `jobs_kept` are
//! forgotten oldest first; their runs stay in the ledger) and against one
//! key reading another's results (a job answers only the key that
//! submitted it).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;
use utoipa::ToSchema;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// Executing.
    Running,
    /// Recorded; `result` holds the answer.
    Finished,
}

/// A job as its submitter sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct JobView {
    /// The job id.
    pub(crate) job_id: String,
    /// Where it stands.
    pub(crate) status: JobStatus,
    /// The HTTP status the submission would have answered with, once finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) http_status: Option<u16>,
    /// The body it would have answered with, once finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub(crate) result: Option<serde_json::Value>,
}

struct Job {
    owner: String,
    status: JobStatus,
    http_status: Option<u16>,
    result: Option<serde_json::Value>,
}

#[derive(Default)]
struct Inner {
    jobs: HashMap<String, Job>,
    finished: VecDeque<String>,
}

/// Jobs by id.
pub(crate) struct Jobs {
    inner: Mutex<Inner>,
    kept: usize,
}

impl Jobs {
    /// Keeps at most `kept` finished jobs.
    pub(crate) fn new(kept: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            kept,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new queued job of `owner` (hex key).
    pub(crate) fn create(&self, owner: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.lock().jobs.insert(
            id.clone(),
            Job {
                owner: owner.into(),
                status: JobStatus::Queued,
                http_status: None,
                result: None,
            },
        );
        id
    }

    /// The job started executing.
    pub(crate) fn start(&self, id: &str) {
        if let Some(j) = self.lock().jobs.get_mut(id) {
            j.status = JobStatus::Running;
        }
    }

    /// The job finished with `status` and `body`.
    pub(crate) fn finish(&self, id: &str, status: u16, body: serde_json::Value) {
        let mut inner = self.lock();
        if let Some(j) = inner.jobs.get_mut(id) {
            j.status = JobStatus::Finished;
            j.http_status = Some(status);
            j.result = Some(body);
            inner.finished.push_back(id.to_string());
        }
        while inner.finished.len() > self.kept {
            if let Some(old) = inner.finished.pop_front() {
                inner.jobs.remove(&old);
            }
        }
    }

    /// Job `id` if `owner` submitted it.
    pub(crate) fn get(&self, id: &str, owner: &str) -> Option<JobView> {
        let inner = self.lock();
        let j = inner.jobs.get(id).filter(|j| j.owner == owner)?;
        Some(JobView {
            job_id: id.into(),
            status: j.status,
            http_status: j.http_status,
            result: j.result.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_submitter_sees_a_job_and_old_finished_jobs_are_forgotten() {
        let jobs = Jobs::new(1);
        let a = jobs.create("alice");
        assert!(jobs.get(&a, "bob").is_none());
        assert_eq!(jobs.get(&a, "alice").unwrap().status, JobStatus::Queued);
        jobs.finish(&a, 200, serde_json::json!({"ok": true}));
        assert_eq!(jobs.get(&a, "alice").unwrap().http_status, Some(200));
        let b = jobs.create("alice");
        jobs.finish(&b, 200, serde_json::json!({}));
        assert!(jobs.get(&a, "alice").is_none());
        assert!(jobs.get(&b, "alice").is_some());
    }
}
