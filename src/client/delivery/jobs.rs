//! A lane of one-off jobs, run in order: a connection's async request replies, a JetStream
//! context's publish acknowledgements.

use crate::client::delivery::lane::{Lane, Progress, Work};
use crate::client::delivery::Executor;
use crate::client::error::*;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

pub(crate) type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Jobs {
    state: Mutex<JobState>,
}

#[derive(Default)]
struct JobState {
    jobs: VecDeque<Job>,
    /// No job will be added; the lane finishes once the last one ran.
    closed: bool,
}

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, JobState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Work for Jobs {
    fn run(self: Arc<Self>, budget: usize) -> (usize, Progress) {
        let mut ran = 0;
        while ran < budget {
            let mut s = self.lock();
            let Some(job) = s.jobs.pop_front() else {
                return (ran, if s.closed { Progress::Finished } else { Progress::Idle });
            };
            drop(s);
            job();
            ran += 1;
        }
        (ran, Progress::More)
    }

    fn abandon(&self) {
        let jobs = {
            let mut s = self.lock();
            s.closed = true;
            std::mem::take(&mut s.jobs)
        };
        drop(jobs);
    }
}

/// Adds jobs to a job lane (any number of clones).
#[derive(Clone)]
pub(crate) struct JobSender {
    jobs: Arc<Jobs>,
    lane: Lane,
}

impl JobSender {
    /// Queues `job`; false (and `job` dropped) once the queue was closed.
    pub(crate) fn send(&self, job: Job) -> bool {
        let mut s = self.jobs.lock();
        if s.closed {
            return false;
        }
        s.jobs.push_back(job);
        drop(s);
        self.lane.notify();
        true
    }
}

/// The owner of a job lane: closing (or dropping) it lets the lane finish after the jobs
/// already queued.
pub(crate) struct JobQueue {
    sender: JobSender,
}

impl JobQueue {
    pub(crate) fn start(executor: &Executor, name: &str) -> Result<JobQueue> {
        let jobs = Arc::new(Jobs::default());
        let lane = executor.lane(name, jobs.clone())?;
        Ok(JobQueue { sender: JobSender { jobs, lane } })
    }

    pub(crate) fn sender(&self) -> JobSender {
        self.sender.clone()
    }
}

impl Drop for JobQueue {
    fn drop(&mut self) {
        self.sender.jobs.lock().closed = true;
        self.sender.lane.notify();
    }
}
