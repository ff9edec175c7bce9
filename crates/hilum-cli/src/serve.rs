//! `hilum serve`: the UI built for the browser (`ui/dist`) and the app's
//! commands over HTTP on the loopback interface — what the browser tests drive,
//! with the real pipeline behind it. Never listens beyond 127.0.0.1.
//!
//! One task per connection (hyper on tokio); each command runs on tokio's
//! blocking pool, because the app's calls render, read files and wait on locks.

use crate::Outcome;
use hilum_app::api::{call, Reply};
use hilum_app::App;
use hilum_phantom::PhantomSpec;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

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

type HttpReply = Response<Full<Bytes>>;

fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> HttpReply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    let headers = r.headers_mut();
    headers.insert(
        "Content-Type",
        content_type.parse().expect("a valid header value"),
    );
    headers.insert("Cache-Control", "no-store".parse().expect("valid"));
    r
}

fn text(status: StatusCode, message: impl Into<String>) -> HttpReply {
    reply(status, "text/plain; charset=utf-8", message.into())
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

fn static_file(ui: &Path, url_path: &str) -> HttpReply {
    let rel = url_path.trim_start_matches('/');
    let rel = Path::new(if rel.is_empty() { "index.html" } else { rel });
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return text(StatusCode::BAD_REQUEST, "bad path");
    }
    let path = ui.join(rel);
    match std::fs::read(&path) {
        Ok(bytes) => reply(StatusCode::OK, content_type(&path), bytes),
        Err(_) => text(StatusCode::NOT_FOUND, "not found"),
    }
}

fn api(app: &App, command: &str, body: &[u8]) -> HttpReply {
    let args = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
        }
    };
    match call(app, command, args) {
        Ok(Reply::Json(v)) => reply(StatusCode::OK, "application/json", v.to_string()),
        Ok(Reply::Bytes(b)) => reply(StatusCode::OK, "application/octet-stream", b),
        Err(e) => text(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

async fn handle(app: Arc<App>, ui: Arc<PathBuf>, req: Request<Incoming>) -> HttpReply {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let command = path.strip_prefix("/api/").map(str::to_string);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let answer = tokio::task::spawn_blocking(move || match (method, command) {
        (Method::POST, Some(command)) => api(&app, &command, &body),
        (Method::GET, None) => static_file(&ui, &path),
        _ => text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
    });
    answer.await.unwrap_or_else(|e| {
        text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the command failed: {e}"),
        )
    })
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
    let ui = Arc::new(args.ui);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
        println!("http://{}/", listener.local_addr()?);
        eprintln!("Serving the Hilum UI on loopback only. Decision support, not diagnosis.");
        loop {
            let (stream, _) = listener.accept().await?;
            let (app, ui) = (app.clone(), ui.clone());
            let service = hyper::service::service_fn(move |req| {
                let (app, ui) = (app.clone(), ui.clone());
                async move { Ok::<_, std::convert::Infallible>(handle(app, ui, req).await) }
            });
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                // A browser closing a connection mid-request is not the server's error.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    })
}
