//! The background tasks ackbot cannot run without (the storage writer, the
//! delivery worker, retention): spawned here so that none can end silently.
//! A task that returns or panics is logged with its name, `/readyz` answers
//! 503 naming it, and `serve` stops and exits non-zero, so a supervisor
//! (systemd, Kubernetes) restarts the process instead of it answering 503
//! forever.
//!
//! During shutdown ([`Tasks::stopping`]) tasks end on purpose; that is not a
//! failure.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Clone)]
pub struct Tasks {
    inner: Arc<Inner>,
}

struct Inner {
    stopped: Mutex<Vec<&'static str>>,
    stopping: AtomicBool,
    changed: watch::Sender<usize>,
}

impl Default for Tasks {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                stopped: Mutex::new(Vec::new()),
                stopping: AtomicBool::new(false),
                changed: watch::channel(0).0,
            }),
        }
    }
}

impl Tasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `task`, which should run until shutdown, on the tokio runtime.
    pub fn spawn<F>(&self, name: &'static str, task: F) -> JoinHandle<()>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let outcome = AssertUnwindSafe(task).catch_unwind().await;
            if inner.stopping.load(Ordering::Relaxed) {
                return;
            }
            match outcome {
                Ok(()) => tracing::error!(task = name, "background task ended"),
                Err(panic) => tracing::error!(
                    task = name,
                    panic = panic_message(panic.as_ref()),
                    "background task panicked"
                ),
            }
            inner
                .stopped
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(name);
            inner.changed.send_modify(|n| *n += 1);
        })
    }

    /// The tasks that ended when they should not have.
    pub fn stopped(&self) -> Vec<&'static str> {
        self.inner
            .stopped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Resolves with the name of the first task that ends unexpectedly.
    pub async fn first_stopped(&self) -> &'static str {
        let mut rx = self.inner.changed.subscribe();
        loop {
            if let Some(name) = self.stopped().first() {
                return name;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// From now on, tasks that end are shutting down, not failing.
    pub fn stopping(&self) {
        self.inner.stopping.store(true, Ordering::Relaxed);
    }
}

/// The text of a panic payload (`panic!("…")` carries a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_that_panics_or_ends_is_named() {
        let tasks = Tasks::new();
        tasks.spawn("forever", std::future::pending());
        tasks.spawn("doomed", async { panic!("boom") });
        let name = tokio::time::timeout(std::time::Duration::from_secs(5), tasks.first_stopped())
            .await
            .unwrap();
        assert_eq!(name, "doomed");
        assert_eq!(tasks.stopped(), ["doomed"]);
        tasks.stopping();
        tasks.spawn("quits", async {}).await.unwrap();
        assert_eq!(
            tasks.stopped(),
            ["doomed"],
            "ending during shutdown is fine"
        );
    }
}
