//! Running engine work off the GIL: the work runs on a thread of its own while the calling thread,
//! without the GIL, waits for it and checks every 50 ms for a signal (Ctrl-C in a terminal, the
//! interrupt button of a notebook). On a signal the run's cancellation flag is set, the runner
//! skips the chunks it has not started, and the signal's exception (KeyboardInterrupt) is raised
//! once the work has stopped: nothing is left running and no partial result is returned.

use headroom_montecarlo::Error;
use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How often the waiting thread checks for a signal.
const POLL: Duration = Duration::from_millis(50);

/// Runs `job` without the GIL on a rayon pool of `threads` workers (None: the global pool, one
/// per core), interruptible as the module says. `job` gets the cancellation flag to pass to the
/// runner.
pub fn run_detached<T, F>(py: Python<'_>, threads: Option<usize>, job: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&AtomicBool) -> Result<T, Error> + Send,
{
    let pool = match threads {
        Some(0) => return Err(crate::errors::usage("--threads", "0: must be >= 1".into())),
        Some(t) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| crate::errors::usage("--threads", e.to_string()))?,
        ),
        None => None,
    };
    let cancel = AtomicBool::new(false);
    let (outcome, signal) = py.detach(|| {
        std::thread::scope(|s| {
            let (done, finished) = mpsc::channel::<()>();
            let (pool, cancel) = (&pool, &cancel);
            let worker = s.spawn(move || {
                let r = match pool {
                    Some(p) => p.install(|| job(cancel)),
                    None => job(cancel),
                };
                let _ = done.send(());
                r
            });
            let mut signal: Option<PyErr> = None;
            while let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(POLL) {
                if signal.is_none() {
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        cancel.store(true, Ordering::Relaxed);
                        signal = Some(e);
                    }
                }
            }
            (worker.join(), signal)
        })
    });
    if let Some(e) = signal {
        return Err(e);
    }
    match outcome {
        Ok(r) => r.map_err(crate::errors::to_py),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Err(pyo3::exceptions::PyRuntimeError::new_err(format!("internal error in the engine: {what}")))
        }
    }
}
