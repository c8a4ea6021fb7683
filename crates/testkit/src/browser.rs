//! [`Browser`]: a real headless Chromium driven over WebDriver (Debian's
//! `chromium` and `chromium-driver`), for the dashboard's end-to-end tests.
//! Missing binaries fail the test with what to install; they never skip it.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::peer::{find_tool, free_port};

/// How long chromedriver may take to answer its first request: a bound on
/// a busy machine, not a sleep (the test goes on as soon as it answers).
const DRIVER_START: Duration = Duration::from_secs(60);

/// The flags that work in a container as root, without a display or network.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1200,900",
];

/// A headless Chromium with a fresh profile, and the chromedriver driving
/// it; both end when this is dropped.
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
    screenshots: PathBuf,
}

fn need(name: &str) -> PathBuf {
    find_tool(name).unwrap_or_else(|_| {
        panic!(
            "`{name}` is not installed: the dashboard's browser tests need Debian's `chromium` and \
             `chromium-driver` (`apt-get install chromium chromium-driver`; scripts/test-env.sh and .ci/run install them)"
        )
    })
}

impl Browser {
    /// Starts chromedriver on a free port and a Chromium session; pictures
    /// taken with [`Browser::screenshot`] go to `screenshots`.
    pub async fn start(screenshots: impl Into<PathBuf>) -> Browser {
        let chromium = need("chromium");
        let chromedriver = need("chromedriver");
        let screenshots = screenshots.into();
        std::fs::create_dir_all(&screenshots).expect("the screenshot folder");
        let port = free_port();
        // Its own process group, which the Chromium it starts joins: a test
        // that panics before `close` still ends the browser on drop.
        let driver = Command::new(&chromedriver)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} did not start: {e}", chromedriver.display()));
        let profile = tempfile::tempdir().expect("a browser profile folder");
        let mut browser = Browser {
            client: None,
            driver,
            _profile: profile,
            screenshots,
        };
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", browser._profile.path().display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        // chromedriver refuses connections until it listens: retry until it
        // answers, within the bound.
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if started.elapsed() < DRIVER_START => {
                    if let Ok(Some(status)) = browser.driver.try_wait() {
                        panic!("chromedriver exited ({status}) before it answered: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no Chromium session within {DRIVER_START:?}: {e}"),
            }
        };
        browser.client = Some(client);
        browser
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("a session")
    }

    /// Writes the current page as `<name>.png` in the screenshot folder.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client().screenshot().await.expect("a screenshot");
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("the screenshot is written");
        path
    }

    pub fn screenshots(&self) -> &Path {
        &self.screenshots
    }

    /// Ends the session (closing Chromium) and the driver.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: chromedriver and the Chromium it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
