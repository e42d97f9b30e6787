//! `headroom serve`: a local page where a borrower walks one position toward its trigger
//! (docs/simulator.md), and the small JSON API it asks (docs/serve-api.md).
//!
//! The page (HTML, CSS and hand-written SVG charts in plain JavaScript) is built into the
//! binary; nothing is fetched from outside. The server is synchronous (tiny_http) with a few
//! worker threads; every request runs the engine of `run` in the worker that took it
//! ([`headroom_montecarlo::Experiment::walk`]). A request never brings the server down: input
//! errors are HTTP 400 with the command line's messages, and a panic in a handler (a bug) is
//! caught and answered with HTTP 500.

pub mod api;
pub mod query;
pub mod walk;

use api::{ApiContext, ApiError};
use headroom_montecarlo::Error;
use query::Query;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The flags of `headroom serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to bind (the page is for this machine unless you say otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0: any free port, printed at start).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The hourly ETH/USD history (default: data/eth-usd-1h.csv here, else the source tree's).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Worker threads answering requests.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
}

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// One answer: status, content type, body.
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
}

impl Answer {
    fn json(status: u16, v: &serde_json::Value) -> Answer {
        Answer { status, content_type: "application/json", body: serde_json::to_vec(v).unwrap_or_default() }
    }
    fn text(status: u16, content_type: &'static str, body: &str) -> Answer {
        Answer { status, content_type, body: body.as_bytes().to_vec() }
    }
}

/// Answers `GET url` (path and query). Pure apart from the engine's reads of the history file.
pub fn respond(method: &str, url: &str, ctx: &ApiContext) -> Answer {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    if method != "GET" && method != "HEAD" {
        return Answer::json(405, &serde_json::json!({ "error": format!("{method}: only GET is served") }));
    }
    let q = Query::parse(query);
    let result = match path {
        "/" | "/index.html" => return Answer::text(200, "text/html; charset=utf-8", INDEX_HTML),
        "/app.js" => return Answer::text(200, "text/javascript; charset=utf-8", APP_JS),
        "/style.css" => return Answer::text(200, "text/css; charset=utf-8", STYLE_CSS),
        "/api/options" => Ok(api::options(ctx).to_string()),
        "/api/walk" => walk::walk(&q, ctx).map(|v| v.to_string()),
        "/api/position" => api::position(&q),
        "/api/price" => api::price(&q),
        other => Err(ApiError::NotFound(other.to_string())),
    };
    match result {
        Ok(text) => Answer { status: 200, content_type: "application/json", body: text.into_bytes() },
        Err(ApiError::BadRequest(message, toml)) => {
            Answer::json(400, &serde_json::json!({ "error": message, "toml": toml }))
        }
        Err(ApiError::NotFound(p)) => Answer::json(
            404,
            &serde_json::json!({ "error": format!("{p}: not found (the API is /api/walk, /api/position, /api/price, /api/options)") }),
        ),
    }
}

/// [`respond`], with a panic turned into HTTP 500 (the server goes on).
pub fn respond_safely(method: &str, url: &str, ctx: &ApiContext) -> Answer {
    std::panic::catch_unwind(|| respond(method, url, ctx)).unwrap_or_else(|_| {
        Answer::json(
            500,
            &serde_json::json!({ "error": "internal error: the request failed (please report it)" }),
        )
    })
}

/// Where the bundled history is: `--data`, else `data/eth-usd-1h.csv` in the current folder,
/// else the source tree's.
pub fn find_history(data: Option<&Path>) -> Result<Option<PathBuf>, Error> {
    if let Some(d) = data {
        return match std::fs::canonicalize(d) {
            Ok(p) if p.is_file() => Ok(Some(p)),
            Ok(_) => {
                Err(Error::Usage { flag: "--data".into(), message: format!("{}: not a file", d.display()) })
            }
            Err(e) => Err(Error::Usage { flag: "--data".into(), message: format!("{}: {e}", d.display()) }),
        };
    }
    let here = PathBuf::from("data/eth-usd-1h.csv");
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/eth-usd-1h.csv");
    Ok([here, tree].into_iter().find(|p| p.is_file()).and_then(|p| std::fs::canonicalize(p).ok()))
}

/// Runs the server until the process is stopped.
pub fn serve(a: &ServeArgs) -> Result<(), Error> {
    if a.workers == 0 || a.workers > 64 {
        return Err(Error::Usage {
            flag: "--workers".into(),
            message: format!("{}: must be within [1, 64]", a.workers),
        });
    }
    let ctx = Arc::new(ApiContext { history: find_history(a.data.as_deref())? });
    let addr = format!("{}:{}", a.host, a.port);
    let server = tiny_http::Server::http(&addr).map_err(|e| Error::Usage {
        flag: "--host/--port".into(),
        message: format!("cannot listen on {addr}: {e}"),
    })?;
    let server = Arc::new(server);
    let bound = server.server_addr().to_ip().map_or(addr.clone(), |s| s.to_string());
    match &ctx.history {
        Some(p) => eprintln!("history: {}", p.display()),
        None => eprintln!("history: data/eth-usd-1h.csv not found (history windows are off; see --data)"),
    }
    println!("serving on http://{bound}/ (Ctrl-C stops)");
    let workers: Vec<_> = (0..a.workers)
        .map(|_| {
            let (server, ctx) = (Arc::clone(&server), Arc::clone(&ctx));
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let answer = respond_safely(request.method().as_str(), request.url(), &ctx);
                    let mut response =
                        tiny_http::Response::from_data(answer.body).with_status_code(answer.status);
                    if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", answer.content_type) {
                        response = response.with_header(h);
                    }
                    // A client that went away is not the server's problem.
                    let _ = request.respond(response);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
