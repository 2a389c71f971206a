//! Headless Chromium for the page tests: a chromedriver and one Chromium session spoken to
//! over the W3C WebDriver protocol, phone-sized screenshots, axe-core accessibility checks,
//! and where their results go (`target/test-artifacts/web/`).
//!
//! Chromium and chromedriver are required (Debian: `apt-get install chromium
//! chromium-driver`): without them a browser test fails, it never skips. axe-core is
//! installed from npm into `target/test-artifacts/axe` on the first run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::eventually;

/// The phone-sized window: width.
pub const WIDTH: u32 = 390;
/// The phone-sized window: height.
pub const HEIGHT: u32 = 844;

/// `target/test-artifacts/web`, created.
pub fn artifacts() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target dir");
    let dir = target.join("test-artifacts").join("web");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The path of `program`, or a failed test saying what to install.
pub fn required(program: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "{program} is not installed: these tests need headless Chromium. Install the Debian \
             packages `chromium chromium-driver` (apt-get install -y chromium chromium-driver); \
             CI installs them in .ci/run"
        )
    })
}

/// Asserts `bytes` are a PNG (signature, IHDR first) of `width` x `height` (`None`: any
/// size) with some content; returns its size.
pub fn assert_png(bytes: &[u8], what: &str, size: Option<(u32, u32)>) -> (u32, u32) {
    assert!(bytes.len() > 1_000, "{what}: only {} bytes", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{what}: not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR", "{what}: no IHDR chunk first");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert!(width > 0 && height > 0, "{what}: {width}x{height}");
    if let Some(expected) = size {
        assert_eq!((width, height), expected, "{what}: size");
    }
    assert!(bytes.ends_with(b"IEND\xae\x42\x60\x82"), "{what}: no IEND");
    (width, height)
}

/// Runs `cmd` in a process group of its own, ending the group after `limit`.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> (i32, String) {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = cmd
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} ran longer than {limit:?}; killed. Output:\n{}",
                std::fs::read_to_string(log.path()).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(log.path()).unwrap_or_default();
    (status.code().unwrap_or(-1), output)
}

/// Takes a phone-sized screenshot of `url` with `chromium --headless --screenshot`.
pub async fn screenshot_cli(url: String, name: &str) -> PathBuf {
    let chromium = required("chromium");
    let file = artifacts().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&file);
    let profile = tempfile::tempdir().unwrap();
    let args = vec![
        "--headless".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--no-first-run".into(),
        "--hide-scrollbars".into(),
        format!("--user-data-dir={}", profile.path().display()),
        format!("--screenshot={}", file.display()),
        format!("--window-size={WIDTH},{HEIGHT}"),
        url,
    ];
    let (code, output) = tokio::task::spawn_blocking(move || {
        run_bounded(Command::new(chromium).args(&args), Duration::from_secs(60))
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "chromium failed for {name}:\n{output}");
    let bytes = std::fs::read(&file)
        .unwrap_or_else(|e| panic!("no screenshot {} ({e}):\n{output}", file.display()));
    assert_png(&bytes, name, Some((WIDTH, HEIGHT)));
    drop(profile);
    file
}

/// A chromedriver and one headless Chromium session, spoken to over the W3C WebDriver
/// protocol. Dropping it kills the chromedriver it started.
pub struct Browser {
    client: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// Starts chromedriver and a phone-sized headless Chromium session.
    pub async fn start() -> Self {
        let chromium = required("chromium");
        let chromedriver = required("chromedriver");
        let port = super::free_port();
        let log = artifacts().join("chromedriver.log");
        // A process group of its own: the Chromium it starts is in it, and is ended with it
        // even when a failed test never closed the session.
        let driver = Command::new(chromedriver)
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .arg("--log-level=WARNING")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start chromedriver");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let mut browser = Self {
            client,
            base,
            session: String::new(),
            driver,
        };
        let status_url = format!("{}/status", browser.base);
        let client = browser.client.clone();
        eventually(Duration::from_secs(20), "chromedriver to be ready", || {
            let client = client.clone();
            let url = status_url.clone();
            async move {
                let response = client.get(url).send().await.ok()?;
                let body: Value = response.json().await.ok()?;
                (body["value"]["ready"] == true).then_some(())
            }
        })
        .await;
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
                    format!("--window-size={WIDTH},{HEIGHT}"),
                ],
                // A phone's viewport (a headless window is at least 500 px wide).
                "mobileEmulation": {"deviceMetrics": {
                    "width": WIDTH, "height": HEIGHT, "pixelRatio": 1.0, "touch": true,
                }},
            },
        }}});
        let value = browser
            .cmd(reqwest::Method::POST, "/session", Some(caps))
            .await;
        browser.session = value["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {value}"))
            .to_owned();
        browser
            .cmd(
                reqwest::Method::POST,
                &browser.path("/timeouts"),
                Some(json!({"script": 60_000, "pageLoad": 30_000, "implicit": 0})),
            )
            .await;
        browser
    }

    /// `/session/{id}` + `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Sends a WebDriver command; returns its `value`, failing the test on an error.
    pub async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        } else if method == reqwest::Method::POST {
            request = request.json(&json!({}));
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(
            status.is_success(),
            "WebDriver {method} {path}: {status} {body}"
        );
        body["value"].clone()
    }

    /// Navigates to `url`.
    pub async fn goto(&self, url: &str) {
        self.cmd(
            reqwest::Method::POST,
            &self.path("/url"),
            Some(json!({ "url": url })),
        )
        .await;
    }

    /// The element id of the first match of `css` (the test fails when none does).
    pub async fn find(&self, css: &str) -> String {
        let value = self
            .cmd(
                reqwest::Method::POST,
                &self.path("/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        value[ELEMENT].as_str().unwrap().to_owned()
    }

    /// Clears the field `css` and types `text` into it.
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &self.path(&format!("/element/{id}/clear")),
            None,
        )
        .await;
        self.cmd(
            reqwest::Method::POST,
            &self.path(&format!("/element/{id}/value")),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Clicks the element `css`.
    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &self.path(&format!("/element/{id}/click")),
            None,
        )
        .await;
    }

    /// Runs `script` in the page; returns its value.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.cmd(
            reqwest::Method::POST,
            &self.path("/execute/sync"),
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Runs `script` in the page, waiting for its callback (the last argument).
    pub async fn async_script(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            &self.path("/execute/async"),
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// The page's visible text, once its `h1` says `heading`.
    pub async fn wait_for_heading(&self, heading: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = self
                .script(
                    "return [document.readyState, (document.querySelector('h1') || {}).innerText || '', document.body ? document.body.innerText : ''];",
                    json!([]),
                )
                .await;
            if state[0] == "complete" && state[1].as_str().unwrap_or_default().contains(heading) {
                return state[2].as_str().unwrap_or_default().to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed the heading {heading:?}: {state}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The page's visible text, once it holds `needle`.
    pub async fn wait_for_text(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self
                .script(
                    "return document.body ? document.body.innerText : '';",
                    json!([]),
                )
                .await;
            let text = text.as_str().unwrap_or_default().to_owned();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "the page never said {needle:?}:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a screenshot of the window under `name`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let value = self
            .cmd(reqwest::Method::GET, &self.path("/screenshot"), None)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().unwrap())
            .unwrap();
        let (width, _) = assert_png(&bytes, name, None);
        assert_eq!(width, WIDTH, "{name}: the window is phone-sized");
        let file = artifacts().join(format!("{name}.png"));
        std::fs::write(&file, &bytes).unwrap();
        file
    }

    /// What a user of the page gets: the style sheet applied (the policy allowed it by its
    /// hash), every image loaded, nothing fetched from another origin.
    pub async fn assert_rendered(&self, origin: &str, what: &str) {
        let state = self
            .script(
                "return {\
                   header: getComputedStyle(document.querySelector('header.site')).backgroundColor,\
                   images: Array.from(document.images).map(i => [i.src, i.complete && i.naturalWidth > 0]),\
                   resources: performance.getEntriesByType('resource').map(r => r.name),\
                 };",
                json!([]),
            )
            .await;
        assert_eq!(
            state["header"], "rgb(20, 33, 61)",
            "{what}: the style sheet was not applied: {state}"
        );
        for image in state["images"].as_array().unwrap() {
            assert_eq!(image[1], true, "{what}: an image did not load: {state}");
        }
        for resource in state["resources"].as_array().unwrap() {
            assert!(
                resource.as_str().unwrap().starts_with(origin),
                "{what}: fetched from elsewhere: {state}"
            );
        }
    }

    /// Runs axe-core on the page; fails on a serious or critical violation. The results are
    /// saved as `axe-<name>.json`; returns the counts of violations by impact.
    pub async fn axe(&self, axe_source: &str, name: &str) -> Value {
        self.script(&format!("{axe_source}\n;return typeof axe;"), json!([]))
            .await;
        let result = self
            .async_script(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, {resultTypes: ['violations']})\
                   .then(r => done(JSON.stringify({\
                     version: r.testEngine.version,\
                     violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,\
                       nodes: v.nodes.map(n => n.target.join(' '))})),\
                     passes: r.passes.length})))\
                   .catch(e => done(JSON.stringify({error: String(e)})));",
            )
            .await;
        let result: Value = serde_json::from_str(result.as_str().unwrap()).unwrap();
        assert!(result["error"].is_null(), "axe failed on {name}: {result}");
        std::fs::write(
            artifacts().join(format!("axe-{name}.json")),
            serde_json::to_string_pretty(&result).unwrap(),
        )
        .unwrap();
        let violations = result["violations"].as_array().unwrap();
        let serious: Vec<&Value> = violations
            .iter()
            .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
            .collect();
        assert!(
            serious.is_empty(),
            "axe {}: serious or critical violations on {name}: {serious:#?}",
            result["version"]
        );
        eprintln!(
            "axe {} on {name}: {} violations (none serious or critical): {}",
            result["version"],
            violations.len(),
            violations
                .iter()
                .map(|v| format!("{} ({})", v["id"], v["impact"]))
                .collect::<Vec<_>>()
                .join(", ")
        );
        result
    }

    /// Ends the session (Drop ends chromedriver).
    pub async fn quit(mut self) {
        let path = self.path("");
        let _ = self
            .client
            .delete(format!("{}{path}", self.base))
            .send()
            .await;
        self.session.clear();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A session still open (the test failed): close it, so Chromium exits cleanly.
        if !self.session.is_empty() {
            let _ = delete_session(&self.base, &self.session);
        }
        // Then end chromedriver's process group (chromedriver and any Chromium left).
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.driver.id())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `DELETE /session/{id}` with a blocking, bounded HTTP/1.1 request (for `Drop`, where
/// nothing can be awaited).
pub fn delete_session(base: &str, session: &str) -> std::io::Result<()> {
    use std::io::{Read as _, Write as _};
    let addr = base.trim_start_matches("http://");
    let addr: std::net::SocketAddr = addr
        .parse()
        .map_err(|_| std::io::Error::other("not an address"))?;
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "DELETE /session/{session} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    Ok(())
}

/// axe-core's source, installed from npm into `target/test-artifacts/axe` once (the test
/// fails when npm cannot fetch it: an accessibility check that did not run is not a pass).
pub fn axe_source() -> String {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _once = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let prefix = artifacts().parent().unwrap().join("axe");
    let file = prefix.join("node_modules/axe-core/axe.min.js");
    if !std::fs::metadata(&file).is_ok_and(|m| m.len() > 100_000) {
        let npm = required_npm();
        std::fs::create_dir_all(&prefix).unwrap();
        let (code, output) = run_bounded(
            Command::new(npm)
                .arg("install")
                .arg("--prefix")
                .arg(&prefix)
                .args(["axe-core@4", "--no-audit", "--no-fund", "--no-save"]),
            Duration::from_secs(180),
        );
        assert_eq!(
            code, 0,
            "could not install axe-core with `npm install axe-core@4` (is the npm registry \
             reachable?); the accessibility check cannot run:\n{output}"
        );
    }
    let source = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("axe-core is not at {} ({e})", file.display()));
    assert!(
        source.contains("axe v4."),
        "not axe-core 4: {}",
        file.display()
    );
    source
}

/// The path of npm, or a failed test saying what to install.
pub fn required_npm() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("npm"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("npm is not installed: the accessibility test installs axe-core with it (install Node.js and npm)")
    })
}
