//! A small W3C WebDriver client (the JSON protocol over HTTP/1.1 on the loopback), enough to
//! drive the `headroom serve` page in headless Chromium: sessions, navigation, elements, clicks,
//! keys, properties, scripts, window size and screenshots.

use base64::Engine;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One HTTP request to `addr` (host:port); returns the status and the body (read by its
/// `Content-Length`, chunked, or to the end of the stream).
pub fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(120))).ok();
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("request sent");
    let mut r = BufReader::new(s);
    let mut status_line = String::new();
    r.read_line(&mut status_line).expect("a status line");
    let status: u16 = status_line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("a status");
    let (mut length, mut chunked) = (None, false);
    loop {
        let mut line = String::new();
        r.read_line(&mut line).expect("a header");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut data = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).expect("a chunk size");
            let n = usize::from_str_radix(size.trim(), 16).expect("a hex chunk size");
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).expect("a chunk");
            if n == 0 {
                break;
            }
            data.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = length {
        data.resize(n, 0);
        r.read_exact(&mut data).expect("the body");
    } else {
        r.read_to_end(&mut data).expect("the body");
    }
    (status, String::from_utf8_lossy(&data).into_owned())
}

/// A free port on the loopback (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The chromedriver to use: `HEADROOM_CHROMEDRIVER` when set (none if it is not a file), else
/// `/usr/bin/chromedriver`, else one on the PATH.
pub fn find_chromedriver() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HEADROOM_CHROMEDRIVER") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let fixed = Path::new("/usr/bin/chromedriver");
    if fixed.is_file() {
        return Some(fixed.to_path_buf());
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("chromedriver")).find(|p| p.is_file()))
}

/// A chromedriver process and one headless Chromium session; both end when dropped.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium with a fresh profile and nothing that
    /// reaches the network by itself.
    pub fn start(chromedriver: &Path) -> Browser {
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        // Stopped if anything below fails.
        let mut driver = Stopper(Some(driver));
        let addr = format!("127.0.0.1:{port}");
        let t0 = Instant::now();
        loop {
            if TcpStream::connect(&addr).is_ok() {
                let (status, body) = http(&addr, "GET", "/status", None);
                if status == 200 && body.contains("\"ready\":true") {
                    break;
                }
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().expect("a profile folder");
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--hide-scrollbars".into(),
            format!("--user-data-dir={}", profile.path().display()),
            "--window-size=1280,1600".into(),
        ];
        args.push("--force-device-scale-factor=1".into());
        let mut chrome = json!({ "args": args });
        let binary = std::env::var("HEADROOM_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        if Path::new(&binary).is_file() {
            chrome["binary"] = json!(binary);
        }
        let caps = json!({ "capabilities": { "alwaysMatch": { "goog:chromeOptions": chrome } } });
        let (status, body) = http(&addr, "POST", "/session", Some(&caps.to_string()));
        assert_eq!(status, 200, "new session: {body}");
        let v: Value = serde_json::from_str(&body).expect("JSON");
        let session = v["value"]["sessionId"].as_str().expect("a session id").to_string();
        Browser { driver: driver.0.take().expect("the driver"), addr, session, _profile: profile }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("/session/{}{path}", self.session);
        if std::env::var_os("HEADROOM_WEBDRIVER_TRACE").is_some() {
            eprintln!("webdriver: {method} {path}");
        }
        let text = body.map(|b| b.to_string());
        let (status, answer) =
            http(&self.addr, method, &url, text.as_deref().or(Some("{}")).filter(|_| method == "POST"));
        let v: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{method} {path}: {answer}");
        v["value"].clone()
    }

    /// Loads `url`.
    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    /// The first element matching `css`.
    pub fn find(&self, css: &str) -> String {
        let v = self.call("POST", "/element", Some(json!({ "using": "css selector", "value": css })));
        v.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).expect("an element").to_string()
    }

    /// Every element matching `css`.
    pub fn find_all(&self, css: &str) -> Vec<String> {
        let v = self.call("POST", "/elements", Some(json!({ "using": "css selector", "value": css })));
        v.as_array()
            .map(|a| {
                a.iter().filter_map(|e| e.as_object()?.values().next()?.as_str().map(String::from)).collect()
            })
            .unwrap_or_default()
    }

    /// Clicks the element matching `css` (an `<option>` selects it).
    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    /// Clears the input matching `css` and types `text`.
    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/clear"), Some(json!({})));
        self.call("POST", &format!("/element/{e}/value"), Some(json!({ "text": text })));
    }

    /// A DOM attribute of an element (`data-*` included), if set.
    pub fn attr_of(&self, element: &str, name: &str) -> Option<String> {
        self.call("GET", &format!("/element/{element}/attribute/{name}"), None).as_str().map(String::from)
    }

    /// A DOM attribute of the element matching `css`.
    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        let e = self.find(css);
        self.attr_of(&e, name)
    }

    /// A DOM property (e.g. `textContent`, hidden text included).
    pub fn property(&self, css: &str, name: &str) -> Value {
        let e = self.find(css);
        self.call("GET", &format!("/element/{e}/property/{name}"), None)
    }

    /// Runs `script` in the page and returns its value.
    pub fn script(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", Some(json!({ "script": script, "args": [] })))
    }

    /// Waits (up to 60 s) until `attr` of `css` is `want`.
    pub fn wait_attr(&self, css: &str, attr: &str, want: &str) {
        let t0 = Instant::now();
        loop {
            let got = self.attr(css, attr);
            if got.as_deref() == Some(want) {
                return;
            }
            let error = self.property("#error", "textContent");
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "{css}[{attr}] is {got:?}, not {want:?}; page error: {error}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Resizes the window.
    pub fn size(&self, width: u32, height: u32) {
        self.call("POST", "/window/rect", Some(json!({ "width": width, "height": height })));
    }

    /// Saves a PNG screenshot of the viewport to `file`.
    pub fn screenshot(&self, file: &Path) {
        self.save_png(self.call("GET", "/screenshot", None), file);
    }

    /// Saves a PNG screenshot of the element matching `css` to `file`.
    pub fn element_screenshot(&self, css: &str, file: &Path) {
        let e = self.find(css);
        self.save_png(self.call("GET", &format!("/element/{e}/screenshot"), None), file);
    }

    fn save_png(&self, v: Value, file: &Path) {
        let png =
            base64::engine::general_purpose::STANDARD.decode(v.as_str().expect("base64")).expect("a PNG");
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).expect("the screenshot folder");
        }
        std::fs::write(file, png).expect("the screenshot is written");
    }
}

/// A child process stopped when dropped (unless taken).
struct Stopper(Option<Child>);

impl Drop for Stopper {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(&self.addr, "DELETE", &format!("/session/{}", self.session), None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
