//! The Hilum desktop app: a Tauri v2 window over `hilum-app`. One command,
//! `call`, forwards the UI's requests to the same command table `hilum serve`
//! uses, answering in raw bytes (`tauri::ipc::Response`: an ArrayBuffer in the
//! webview, never JSON-encoded pixels). The shell adds only what needs the
//! desktop: the native folder picker, drag and drop, and the command line.
//!
//! `hilum-desktop [PATH]` opens PATH; without it the most recent study, or on
//! first launch the demo study. `HILUM_DEMO=small` makes the demo small (tests).

use hilum_app::api::{call as dispatch, Reply};
use hilum_app::App;
use std::path::PathBuf;
use std::sync::Arc;
use tauri::ipc::Response;
use tauri::{Emitter, Manager, State};

struct Shared(Arc<App>);

/// Every UI request. Slow work (loading, rendering) runs off the UI thread.
#[tauri::command]
async fn call(
    app: State<'_, Shared>,
    command: String,
    args: serde_json::Value,
) -> Result<Response, String> {
    if command == "pick_folder" {
        let picked = rfd::AsyncFileDialog::new()
            .set_title("Open a DICOM study folder")
            .pick_folder()
            .await
            .map(|h| h.path().to_path_buf());
        return Ok(Response::new(serde_json::to_vec(&picked).expect("json")));
    }
    let app = app.0.clone();
    tauri::async_runtime::spawn_blocking(move || match dispatch(&app, &command, args)? {
        Reply::Json(v) => Ok(Response::new(v.to_string().into_bytes())),
        Reply::Bytes(b) => Ok(Response::new(b)),
    })
    .await
    .map_err(|e| e.to_string())?
}

fn main() {
    let startup = std::env::args_os().nth(1).map(PathBuf::from);
    tauri::Builder::default()
        .setup(move |tauri_app| {
            let data_dir = tauri_app
                .path()
                .app_data_dir()
                .map_err(|e| format!("no app data folder: {e}"))?;
            let app = App::new(data_dir);
            if std::env::var("HILUM_DEMO").as_deref() == Ok("small") {
                app.set_demo_spec(hilum_phantom::PhantomSpec::small(1));
            }
            app.set_startup_path(startup.clone());
            let app = Arc::new(app);
            app.warm_up();
            tauri_app.manage(Shared(app));
            Ok(())
        })
        .on_window_event(|window, event| {
            // A folder or file dropped on the window opens it.
            if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
                if let Some(path) = paths.first() {
                    let _ = window.emit("hilum://open-path", path);
                }
            }
        })
        .invoke_handler(tauri::generate_handler![call])
        .run(tauri::generate_context!())
        .expect("the Hilum window could not start");
}
