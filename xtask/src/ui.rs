//! The web UI (ui/) and the tools that drive it: npm packages, the build the
//! desktop app embeds, tauri-driver for the app's end-to-end test.

use crate::{cache_dir, cargo, root, run};
use anyhow::Result;
use std::path::PathBuf;
use std::process::Command;

fn npm(args: &[&str]) -> Command {
    let mut c = Command::new("npm");
    c.current_dir(root().join("ui")).args(args);
    c
}

/// Installs the UI's npm packages exactly as package-lock.json records them.
pub fn packages() -> Result<()> {
    let lock = root().join("ui/package-lock.json");
    let stamp = root().join("ui/node_modules/.package-lock.json");
    let fresh = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if fresh(&stamp).is_some() && fresh(&stamp) >= fresh(&lock) {
        return Ok(());
    }
    // `npm install --no-save` rather than `npm ci`: npm 11.19 writes a lock that
    // records only this platform's optional packages (rollup's native builds) and
    // then its own `npm ci` refuses that lock as out of sync. With a lock present,
    // `install` takes exactly the locked versions; `--no-save` leaves the lock alone.
    run(
        "npm install: the UI's packages as package-lock.json pins them (Vite, TypeScript, Vitest, ESLint, playwright-core, @tauri-apps/api)",
        &mut npm(&["install", "--no-save", "--no-audit", "--no-fund"]),
    )
}

/// Builds ui/dist, which the desktop app embeds and `hilum serve` serves.
pub fn build() -> Result<()> {
    packages()?;
    run(
        "building the UI (tsc + vite) into ui/dist",
        &mut npm(&["run", "build"]),
    )
}

pub fn lint_and_unit_tests() -> Result<()> {
    packages()?;
    run("UI lint (eslint, tsc --noEmit)", &mut npm(&["run", "lint"]))?;
    run("UI unit tests (vitest)", &mut npm(&["test"]))
}

/// tauri-driver (WebDriver for Tauri apps), installed once per machine.
pub fn tauri_driver() -> Result<PathBuf> {
    let bin = cache_dir().join("bin/tauri-driver");
    if !bin.is_file() {
        run(
            "installing tauri-driver 2.1.0 from crates.io (once per machine)",
            cargo()
                .args([
                    "install",
                    "tauri-driver",
                    "--version",
                    "2.1.0",
                    "--locked",
                    "--root",
                ])
                .arg(cache_dir())
                .env_remove("CARGO_TARGET_DIR"),
        )?;
    }
    Ok(bin)
}

pub fn screenshots() -> PathBuf {
    cache_dir().join("screenshots")
}

/// The UI in Chromium against `hilum serve`, then the real app under Xvfb.
pub fn end_to_end(hilum: &std::path::Path, desktop: &std::path::Path) -> Result<()> {
    run(
        "UI in a real browser: Chromium via playwright-core against `hilum serve` (open, scroll, window, detect, accept)",
        Command::new("node")
            .current_dir(root().join("ui"))
            .arg("e2e/browser.mjs")
            .arg(hilum)
            .arg(screenshots()),
    )?;
    let driver = tauri_driver()?;
    run(
        "the real desktop app under Xvfb: tauri-driver + WebKitWebDriver (open, scroll, window, detect, accept)",
        Command::new("xvfb-run")
            .args(["-a", "-s", "-screen 0 1920x1080x24", "node", "e2e/app.mjs"])
            .arg(desktop)
            .arg(screenshots())
            .env("TAURI_DRIVER", driver)
            .current_dir(root().join("ui")),
    )?;
    eprintln!("Screenshots: {}", screenshots().display());
    Ok(())
}
