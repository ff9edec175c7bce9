//! System packages: installed with apt when running as root and missing,
//! otherwise named so the user can install them.

use anyhow::{bail, Result};
use std::process::Command;

/// (command that proves the package is there, Debian package, why)
const NEEDED: &[(&str, &str, &str)] = &[
    ("cmake", "cmake", "builds CharLS, the JPEG-LS codec"),
    ("c++", "g++", "compiles CharLS"),
    (
        "dcmdump",
        "dcmtk",
        "DCMTK validates the DICOM files Hilum writes",
    ),
    (
        "dciodvfy",
        "dicom3tools",
        "dciodvfy checks written objects against the IODs",
    ),
];

fn has(command: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {command}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

pub fn apt_install(packages: &[&str], why: &str) -> Result<()> {
    if !is_root() {
        bail!(
            "missing {} ({why}); install with: sudo apt-get install {}",
            packages.join(" "),
            packages.join(" ")
        );
    }
    eprintln!("==> apt-get install {} ({why})", packages.join(" "));
    let quiet = |c: &mut Command| c.env("DEBIAN_FRONTEND", "noninteractive").status();
    if !quiet(Command::new("apt-get").args(["update", "-qq"]))?.success() {
        bail!("apt-get update failed");
    }
    if !quiet(
        Command::new("apt-get")
            .args(["install", "-y", "-qq"])
            .args(packages),
    )?
    .success()
    {
        bail!("apt-get install {} failed", packages.join(" "));
    }
    Ok(())
}

/// (file or command that proves the package is there, Debian package, why):
/// the desktop app's build and its tests.
const DESKTOP: &[(&str, &str, &str)] = &[
    (
        "/usr/lib/x86_64-linux-gnu/pkgconfig/webkit2gtk-4.1.pc",
        "libwebkit2gtk-4.1-dev",
        "the Tauri webview (WebKitGTK)",
    ),
    (
        "/usr/lib/x86_64-linux-gnu/pkgconfig/gtk+-3.0.pc",
        "libgtk-3-dev",
        "the native window and folder picker",
    ),
    (
        "/usr/lib/x86_64-linux-gnu/pkgconfig/librsvg-2.0.pc",
        "librsvg2-dev",
        "Tauri's icons",
    ),
    (
        "/usr/bin/pkg-config",
        "pkg-config",
        "finds the GTK libraries",
    ),
    (
        "/usr/bin/Xvfb",
        "xvfb",
        "a virtual display for the app's tests",
    ),
    ("/usr/bin/xvfb-run", "xauth", "xvfb-run needs xauth"),
    (
        "/usr/bin/WebKitWebDriver",
        "webkit2gtk-driver",
        "WebDriver for the real app (tauri-driver)",
    ),
    (
        "/usr/bin/chromium",
        "chromium",
        "the UI in a real browser (playwright-core)",
    ),
    ("node", "nodejs", "builds the UI"),
    ("npm", "npm", "installs the UI's packages"),
];

pub fn system_packages() -> Result<()> {
    let missing: Vec<_> = NEEDED
        .iter()
        .filter(|(cmd, _, _)| !has(cmd))
        .chain(
            DESKTOP
                .iter()
                .filter(|(probe, _, _)| match probe.strip_prefix('/') {
                    Some(_) => !std::path::Path::new(probe).exists(),
                    None => !has(probe),
                }),
        )
        .collect();
    let mut packages: Vec<&str> = missing.iter().map(|(_, p, _)| *p).collect();
    let mut why: Vec<&str> = missing.iter().map(|(_, _, w)| *w).collect();
    let has_vulkan_loader = std::path::Path::new("/usr/lib/x86_64-linux-gnu/libvulkan.so.1")
        .exists()
        || std::path::Path::new("/usr/lib/aarch64-linux-gnu/libvulkan.so.1").exists();
    let has_lavapipe = std::path::Path::new("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json").exists()
        || std::path::Path::new("/usr/share/vulkan/icd.d/lvp_icd.aarch64.json").exists();
    if !(has_vulkan_loader && has_lavapipe) {
        packages.extend(["mesa-vulkan-drivers", "libvulkan1"]);
        why.push("a software Vulkan device (lavapipe) for the GPU code path without a GPU");
    }
    if packages.is_empty() {
        return Ok(());
    }
    apt_install(&packages, &why.join("; "))
}
