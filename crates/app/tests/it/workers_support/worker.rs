//! One `crmsync worker` child process with its own worker id and a JSON log
//! file. Dropping it kills the process, so a failing test leaves no worker
//! behind.

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct WorkerProcess {
    pub id: String,
    child: Option<Child>,
    log: PathBuf,
}

impl WorkerProcess {
    /// Starts `crmsync --config CONFIG worker` as worker `id`; stderr (the
    /// JSON log) goes to `log_dir/ID.log`.
    pub fn start(config: &Path, id: &str, log_dir: &Path) -> WorkerProcess {
        let log = log_dir.join(format!("{id}.log"));
        let file = std::fs::File::create(&log).expect("worker log file");
        let child = crate::support::crmsync_command()
            .arg("--config")
            .arg(config)
            .arg("worker")
            // The documented way to name a worker (scheduler.worker_id).
            .env("CRMSYNC_SCHEDULER_WORKER_ID", id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start crmsync worker");
        WorkerProcess {
            id: id.to_string(),
            child: Some(child),
            log,
        }
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("the worker was started")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the worker was started").id()
    }

    /// Panics with the worker's log if it has exited (it never should on its own).
    pub fn assert_alive(&mut self) {
        if let Some(status) = self.child().try_wait().expect("poll the worker") {
            panic!(
                "worker {} exited on its own with {status}:\n{}",
                self.id,
                self.log_text()
            );
        }
    }

    /// SIGKILL: the process dies at once, giving nothing back (`Child::kill`
    /// is SIGKILL on Unix).
    pub fn kill(&mut self) {
        self.child().kill().expect("SIGKILL the worker");
        self.child().wait().expect("reap the worker");
    }

    /// SIGTERM, as systemd or a container runtime stops a service.
    pub fn terminate(&mut self) {
        let pid = libc::pid_t::try_from(self.pid()).expect("pid fits pid_t");
        // SAFETY: kill(2) with a pid we spawned and have not reaped yet, so it
        // cannot name another process.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "SIGTERM to worker {}", self.id);
    }

    /// Waits for the process to end on its own (after `terminate`).
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let give_up = Instant::now() + limit;
        loop {
            if let Some(status) = self.child().try_wait().expect("poll the worker") {
                return status;
            }
            assert!(
                Instant::now() < give_up,
                "worker {} did not exit within {limit:?}:\n{}",
                self.id,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The JSON log events (lines that are not JSON, such as the start
    /// banner, are skipped).
    pub fn events(&self) -> Vec<Value> {
        self.log_text()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()
    }

    /// Profiles whose run this worker finished, from the `profile_run` span
    /// of each "profile run finished" event, in log order.
    pub fn finished_runs(&self) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| e["fields"]["message"] == "profile run finished")
            .map(|e| {
                assert_eq!(
                    e["span"]["worker"],
                    self.id.as_str(),
                    "the run's span names its worker: {e}"
                );
                e["span"]["profile"]
                    .as_str()
                    .expect("the span names the profile")
                    .to_string()
            })
            .collect()
    }

    /// True once the log shows the worker took a stop signal.
    pub fn is_stopping(&self) -> bool {
        self.events().iter().any(|e| {
            e["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("stopping"))
        })
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut()
            && child.try_wait().ok().flatten().is_none()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
