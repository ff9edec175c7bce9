//! The commands the UI calls, by name, with JSON arguments: one table that
//! every transport (Tauri IPC, `hilum serve` over loopback HTTP) forwards to.
//! Answers are JSON, or raw bytes for pictures — never JSON or base64 pixels.

use crate::review::{Edit, Manual, Status};
use crate::App;
use hilum_gpu::render::{Frame, Plane, ViewRequest};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;

pub enum Reply {
    Json(Value),
    /// A frame: width and height as little-endian u32, then RGBA8 rows.
    Bytes(Vec<u8>),
}

fn json(v: impl Serialize) -> Result<Reply, String> {
    serde_json::to_value(v)
        .map(Reply::Json)
        .map_err(|e| e.to_string())
}

fn frame(f: Frame) -> Result<Reply, String> {
    let mut out = Vec::with_capacity(8 + f.rgba.len());
    out.extend_from_slice(&f.width.to_le_bytes());
    out.extend_from_slice(&f.height.to_le_bytes());
    out.extend_from_slice(&f.rgba);
    Ok(Reply::Bytes(out))
}

fn args<T: DeserializeOwned>(command: &str, v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("{command}: bad arguments: {e}"))
}

#[derive(Deserialize)]
struct PathArg {
    path: PathBuf,
}
#[derive(Deserialize)]
struct SeriesArg {
    study_uid: String,
    series_uid: String,
}
#[derive(Deserialize)]
struct ThumbArg {
    series_uid: String,
}
#[derive(Deserialize)]
struct ProbeArg {
    plane: Plane,
    slice: usize,
    x: usize,
    y: usize,
}
#[derive(Deserialize)]
struct StatusArg {
    id: u32,
    status: Status,
}
#[derive(Deserialize)]
struct OverArg {
    confidence: f64,
}
#[derive(Deserialize)]
struct EditArg {
    id: u32,
    edit: Edit,
}
#[derive(Deserialize)]
struct TextArg {
    text: Option<String>,
}

#[derive(Serialize)]
struct Info {
    version: &'static str,
    notice: &'static str,
    data_dir: PathBuf,
}

/// Runs one command.
pub fn call(app: &App, command: &str, a: Value) -> Result<Reply, String> {
    match command {
        "info" => json(Info {
            version: env!("CARGO_PKG_VERSION"),
            notice: crate::report::NOTICE,
            data_dir: app.data_dir().to_path_buf(),
        }),
        // The compute device's label, once it is up (waits for the bring-up).
        "device" => json(app.device()?.label.clone()),
        "open_path" => json(app.open_path(&args::<PathArg>(command, a)?.path)?),
        // The path given on the command line, handed out once.
        "startup_path" => json(app.take_startup_path()),
        "open_demo" => json(app.open_path(&app.demo_path(&app.demo_spec())?)?),
        "open_series" => {
            let s: SeriesArg = args(command, a)?;
            json(app.open_series(&s.study_uid, &s.series_uid)?)
        }
        "studies" => json(app.studies()),
        "recent" => json(app.recent()),
        "thumbnail" => frame(app.thumbnail(&args::<ThumbArg>(command, a)?.series_uid)?),
        "render" => frame(app.render(&args::<ViewRequest>(command, a)?)?),
        "probe" => {
            let p: ProbeArg = args(command, a)?;
            json(app.probe(p.plane, p.slice, p.x, p.y)?)
        }
        // Both answer with the detection status the UI polls.
        "start_detection" => {
            app.start_detection()?;
            json(app.detection_status())
        }
        "detection_status" => json(app.detection_status()),
        "cancel_detection" => {
            app.cancel_detection();
            json(app.detection_status())
        }
        "review" => json(app.review()?),
        "set_status" => {
            let s: StatusArg = args(command, a)?;
            json(app.set_status(s.id, s.status)?)
        }
        "accept_all_over" => json(app.accept_all_over(args::<OverArg>(command, a)?.confidence)?),
        "edit_finding" => {
            let e: EditArg = args(command, a)?;
            json(app.edit_finding(e.id, &e.edit)?)
        }
        "add_finding" => json(app.add_finding(&args::<Manual>(command, a)?)?),
        "report" => json(app.report()?),
        "set_report_text" => json(app.set_report_text(args::<TextArg>(command, a)?.text)?),
        other => Err(format!("unknown command {other:?}")),
    }
}
