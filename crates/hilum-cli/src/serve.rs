//! `hilum serve`: the UI built for the browser (`ui/dist`) and the app's
//! commands over HTTP on the loopback interface — what the browser tests drive,
//! with the real pipeline behind it. Never listens beyond 127.0.0.1.

use crate::Outcome;
use hilum_app::api::{call, Reply};
use hilum_app::App;
use hilum_phantom::PhantomSpec;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use tiny_http::{Header, Method, Request, Response, Server};

#[derive(clap::Args)]
pub struct Args {
    /// Port on 127.0.0.1 (0 picks a free one; the chosen URL is printed).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The built UI (`npm run build` in ui/).
    #[arg(long, default_value = "ui/dist")]
    ui: PathBuf,
    /// Where reviews, recent studies and the demo study live.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Demo study size: "standard" (512×512×300) or "small" (128×128×96, for tests).
    #[arg(long, default_value = "standard")]
    demo: String,
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("css") => "text/css",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn static_file(ui: &Path, url: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    let rel = url.split('?').next().unwrap_or("/").trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let rel = Path::new(rel);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Response::from_string("bad path").with_status_code(400);
    }
    let path = ui.join(rel);
    match std::fs::read(&path) {
        Ok(bytes) => Response::from_data(bytes)
            .with_header(header("Content-Type", content_type(&path)))
            .with_header(header("Cache-Control", "no-store")),
        Err(_) => Response::from_string("not found").with_status_code(404),
    }
}

fn api(app: &App, command: &str, req: &mut Request) -> Response<std::io::Cursor<Vec<u8>>> {
    let mut body = String::new();
    if let Err(e) = req.as_reader().read_to_string(&mut body) {
        return Response::from_string(e.to_string()).with_status_code(400);
    }
    let args = if body.trim().is_empty() {
        serde_json::Value::Null
    } else {
        match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(e) => return Response::from_string(e.to_string()).with_status_code(400),
        }
    };
    match call(app, command, args) {
        Ok(Reply::Json(v)) => Response::from_data(v.to_string().into_bytes())
            .with_header(header("Content-Type", "application/json")),
        Ok(Reply::Bytes(b)) => {
            Response::from_data(b).with_header(header("Content-Type", "application/octet-stream"))
        }
        Err(e) => Response::from_string(e).with_status_code(422),
    }
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    if !args.ui.join("index.html").is_file() {
        anyhow::bail!(
            "{}: no built UI (run `npm run build` in ui/, or `./x app`)",
            args.ui.display()
        );
    }
    let data_dir = args.data_dir.unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(".local/share/hilum")
    });
    let app = Arc::new(App::new(data_dir));
    app.set_demo_spec(match args.demo.as_str() {
        "small" => PhantomSpec::small(1),
        "standard" => PhantomSpec::standard(1),
        other => anyhow::bail!("--demo {other}: expected standard or small"),
    });
    app.warm_up();
    let server = Server::http(("127.0.0.1", args.port)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let addr = server.server_addr().to_ip().expect("an IP listener");
    println!("http://{addr}/");
    eprintln!("Serving the Hilum UI on loopback only. Decision support, not diagnosis.");
    let workers = 4;
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                for mut req in server.incoming_requests() {
                    let url = req.url().to_string();
                    let resp = match (req.method(), url.strip_prefix("/api/")) {
                        (Method::Post, Some(command)) => api(&app, command, &mut req),
                        (Method::Get, None) => static_file(&args.ui, &url),
                        _ => Response::from_string("method not allowed").with_status_code(405),
                    };
                    let _ = req.respond(resp);
                }
            });
        }
    });
    Ok(Outcome::Ok)
}
