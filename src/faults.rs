//! Fault points: named places in ackbot where a test can make it fail on
//! purpose, to prove that a failure there loses nothing. Off unless armed,
//! and then cheap: one relaxed atomic load per point.
//!
//! Why not a feature-gated crate: the black-box tests run the real binary
//! (for `kill -9` between two steps) and the real server in-process, both
//! built by a plain `cargo test`, so the points must exist in the normal
//! build; armed, they only ever panic, abort or fail the step they guard.
//!
//! Armed two ways:
//! - in-process, per server: [`Faults::arm`] on the instance a test passes to
//!   `startup::Application::build_with` (parallel tests never share one);
//! - for a spawned binary: `ACKBOT_FAULTS="store.plan=panic,link.commit=abort"`,
//!   read once at start-up ([`Faults::from_env`]); `name=action*N` fires on
//!   the first N hits only.
//!
//! The points: `store.plan` (planning a group-commit batch, inside the
//! writer's guard), `store.writer` (the writer's loop itself, outside it),
//! `link.commit` (a link press, after the link is marked used and the action
//! applied, before the commit).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// What an armed point does when it is hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Panics (the task or request it runs in unwinds).
    Panic,
    /// Ends the process at once, like `kill -9`: nothing after it runs,
    /// nothing uncommitted is committed.
    Abort,
    /// The step fails with an error.
    Error,
}

/// The error a point armed with [`Fault::Error`] returns.
#[derive(Debug, Clone, thiserror::Error)]
#[error("injected fault at `{0}`")]
pub struct Injected(pub String);

#[derive(Default)]
pub struct Faults {
    armed: AtomicBool,
    /// Point name → what it does, and how many more hits it fires on
    /// (`None`: every hit).
    points: Mutex<HashMap<String, (Fault, Option<u32>)>>,
}

impl Faults {
    /// No point armed.
    pub fn none() -> Self {
        Self::default()
    }

    /// The points named in `ACKBOT_FAULTS`, if it is set.
    pub fn from_env() -> Result<Self, String> {
        let faults = Self::none();
        if let Ok(spec) = std::env::var("ACKBOT_FAULTS") {
            for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let (name, action) = item
                    .split_once('=')
                    .ok_or_else(|| format!("ACKBOT_FAULTS: `{item}` is not name=action"))?;
                let (action, times) = match action.split_once('*') {
                    Some((a, n)) => (
                        a,
                        Some(
                            n.parse::<u32>()
                                .map_err(|_| format!("ACKBOT_FAULTS: bad count in `{item}`"))?,
                        ),
                    ),
                    None => (action, None),
                };
                let fault = match action {
                    "panic" => Fault::Panic,
                    "abort" => Fault::Abort,
                    "error" => Fault::Error,
                    _ => {
                        return Err(format!(
                            "ACKBOT_FAULTS: `{action}` is not panic, abort or error"
                        ));
                    }
                };
                faults.arm(name, fault, times);
            }
        }
        Ok(faults)
    }

    /// Arms `name`: its next `times` hits (or every hit) do `fault`.
    pub fn arm(&self, name: &str, fault: Fault, times: Option<u32>) {
        let mut points = self.points.lock().unwrap_or_else(|e| e.into_inner());
        points.insert(name.to_string(), (fault, times));
        self.armed.store(true, Ordering::Relaxed);
    }

    /// Whether any point is armed (logged at start-up).
    pub fn any(&self) -> bool {
        self.armed.load(Ordering::Relaxed)
    }

    /// Passes the point `name`: does nothing unless it is armed.
    pub fn hit(&self, name: &str) -> Result<(), Injected> {
        if !self.armed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let fault = {
            let mut points = self.points.lock().unwrap_or_else(|e| e.into_inner());
            match points.get_mut(name) {
                None => return Ok(()),
                Some((_, Some(0))) => return Ok(()),
                Some((fault, Some(n))) => {
                    *n -= 1;
                    *fault
                }
                Some((fault, None)) => *fault,
            }
        };
        match fault {
            Fault::Panic => panic!("injected fault at `{name}`"),
            Fault::Abort => {
                eprintln!("ackbot: injected fault at `{name}`: aborting");
                std::process::abort()
            }
            Fault::Error => Err(Injected(name.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unarmed_points_pass_and_armed_ones_fire_as_often_as_asked() {
        let f = Faults::none();
        assert!(f.hit("store.plan").is_ok());
        f.arm("store.plan", Fault::Error, Some(2));
        assert!(f.hit("other").is_ok());
        assert!(f.hit("store.plan").is_err());
        assert!(f.hit("store.plan").is_err());
        assert!(f.hit("store.plan").is_ok(), "spent after two");
        f.arm("p", Fault::Panic, None);
        assert!(std::panic::catch_unwind(|| f.hit("p")).is_err());
    }
}
