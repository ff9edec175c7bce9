//! The one compute device Hilum uses, chosen at run time, never at compile time:
//! a hardware GPU through wgpu when there is one; otherwise the software Vulkan
//! device (Mesa's lavapipe); otherwise burn's pure-Rust CPU backend (flex).
//! `HILUM_DEVICE` = `auto` (default), `gpu`, `software` or `cpu` overrides it.
//!
//! The same burn code runs on all three; only the `Device` differs. On a wgpu
//! device, [`open`] also hands back the exact wgpu device and queue burn runs on,
//! so the viewer ([`render`]) draws on the same device the detector computes on.

pub mod render;

use burn::tensor::{Device, DeviceKind};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accelerator {
    /// A hardware GPU (discrete, integrated or virtual) through wgpu.
    Gpu,
    /// A CPU-backed Vulkan device such as lavapipe: the GPU code path on the CPU.
    SoftwareVulkan,
    /// burn's pure-Rust CPU backend: no Vulkan at all.
    CpuBackend,
}

/// The device chosen, with a label for every output ("wgpu Vulkan: NVIDIA H100 80GB HBM3").
#[derive(Clone)]
pub struct ComputeDevice {
    pub device: Device,
    pub accelerator: Accelerator,
    pub label: String,
    /// burn's own wgpu device and queue, when the runtime was opened through
    /// [`open`]; `None` for the CPU backend or a lazily created device.
    pub wgpu: Option<(wgpu::Device, wgpu::Queue)>,
}

impl fmt::Debug for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", self.label, self.accelerator)
    }
}

/// Switches Mesa's Vulkan device-select layer off in a session without a
/// display. The layer asks the Wayland compositor which GPU drives the
/// screen; with no session (a batch on a server, CI) libwayland prints
/// "error: XDG_RUNTIME_DIR is invalid or not set in the environment." for
/// every Vulkan instance, which reads like Hilum failing. With no display the
/// layer has nothing to ask. Call first thing in `main`, before any thread
/// starts: changing the environment is not safe once other threads read it.
pub fn quiet_vulkan_without_display() {
    let var = |k: &str| std::env::var_os(k);
    if device_select_has_no_display(
        var("XDG_RUNTIME_DIR").as_deref(),
        var("WAYLAND_DISPLAY").as_deref(),
        var("DISPLAY").as_deref(),
    ) && var("NODEVICE_SELECT").is_none()
    {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
}

/// Whether the session has neither a usable Wayland runtime folder nor a
/// display to name.
fn device_select_has_no_display(
    runtime_dir: Option<&std::ffi::OsStr>,
    wayland_display: Option<&std::ffi::OsStr>,
    display: Option<&std::ffi::OsStr>,
) -> bool {
    let set = |v: Option<&std::ffi::OsStr>| v.is_some_and(|v| !v.is_empty());
    let runtime_dir_usable = runtime_dir.is_some_and(|d| std::path::Path::new(d).is_dir());
    !runtime_dir_usable && !set(wayland_display) && !set(display)
}

/// A wgpu adapter as discovered, before any burn device is made from it.
#[derive(Clone, Debug)]
pub struct Adapter {
    pub name: String,
    pub backend: String,
    pub hardware: bool,
}

/// Every adapter wgpu can open (Vulkan, Metal, DX12; not GL, which cannot run compute well).
pub fn adapters() -> Vec<Adapter> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .into_iter()
        .map(|a| {
            let info = a.get_info();
            Adapter {
                name: info.name.clone(),
                backend: format!("{:?}", info.backend),
                hardware: !matches!(info.device_type, wgpu::DeviceType::Cpu),
            }
        })
        .collect()
}

fn wgpu_device(kind: DeviceKind, adapter: &Adapter, accelerator: Accelerator) -> ComputeDevice {
    ComputeDevice {
        device: Device::wgpu(kind),
        accelerator,
        label: format!("wgpu {}: {}", adapter.backend, adapter.name),
        wgpu: None,
    }
}

/// burn's CPU backend.
pub fn cpu_backend() -> ComputeDevice {
    ComputeDevice {
        device: Device::flex(),
        accelerator: Accelerator::CpuBackend,
        label: "burn flex (CPU)".into(),
        wgpu: None,
    }
}

/// Chooses the device, honouring `HILUM_DEVICE`.
pub fn choose() -> Result<ComputeDevice, String> {
    let wanted = std::env::var("HILUM_DEVICE").unwrap_or_else(|_| "auto".into());
    choose_from(&wanted, &adapters_for(&wanted))
}

fn is_cpu_choice(wanted: &str) -> bool {
    matches!(wanted.to_ascii_lowercase().as_str(), "cpu" | "flex")
}

/// The adapters a choice needs to see. Asking for the CPU backend loads no
/// Vulkan driver at all: enumerating adapters maps lavapipe and LLVM into the
/// process (~60 MB resident).
fn adapters_for(wanted: &str) -> Vec<Adapter> {
    if is_cpu_choice(wanted) {
        Vec::new()
    } else {
        adapters()
    }
}

/// Chooses the device (as [`choose`]) and brings its runtime up now, keeping
/// the wgpu handles so the renderer can share them. Call once per process,
/// before any tensor work on that device.
pub fn open() -> Result<ComputeDevice, String> {
    let wanted = std::env::var("HILUM_DEVICE").unwrap_or_else(|_| "auto".into());
    open_named(&wanted)
}

/// [`open`] for a named choice (`auto`, `gpu`, `software`, `cpu`).
pub fn open_named(wanted: &str) -> Result<ComputeDevice, String> {
    let mut chosen = choose_from(wanted, &adapters_for(wanted))?;
    let kind = match chosen.accelerator {
        Accelerator::Gpu => DeviceKind::DefaultDevice,
        Accelerator::SoftwareVulkan => DeviceKind::Cpu,
        Accelerator::CpuBackend => return Ok(chosen),
    };
    match Device::wgpu_options().device_kind(kind).init_with_setup() {
        Ok((device, setup)) => {
            chosen.device = device;
            chosen.wgpu = Some((setup.device, setup.queue));
        }
        // Already brought up lazily elsewhere in this process: compute still
        // works, the viewer falls back to the host.
        Err(e) => eprintln!("hilum: wgpu handles not shared with the viewer: {e}"),
    }
    Ok(chosen)
}

/// The choice itself, separated from discovery so it can be tested.
pub fn choose_from(wanted: &str, found: &[Adapter]) -> Result<ComputeDevice, String> {
    let hardware = found.iter().find(|a| a.hardware);
    let software = found.iter().find(|a| !a.hardware);
    let gpu = |a: &Adapter| wgpu_device(DeviceKind::DefaultDevice, a, Accelerator::Gpu);
    let soft = |a: &Adapter| wgpu_device(DeviceKind::Cpu, a, Accelerator::SoftwareVulkan);
    match wanted.to_ascii_lowercase().as_str() {
        "auto" | "" => Ok(hardware
            .map(gpu)
            .or_else(|| software.map(soft))
            .unwrap_or_else(cpu_backend)),
        "gpu" => hardware
            .map(gpu)
            .ok_or_else(|| "HILUM_DEVICE=gpu: no hardware GPU adapter found".into()),
        "software" | "lavapipe" => software.map(soft).ok_or_else(|| {
            "HILUM_DEVICE=software: no software Vulkan device (install mesa-vulkan-drivers)".into()
        }),
        w if is_cpu_choice(w) => Ok(cpu_backend()),
        other => Err(format!(
            "HILUM_DEVICE={other}: expected auto, gpu, software or cpu"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_select_layer_is_switched_off_only_without_any_display() {
        let os = |s: &'static str| Some(std::ffi::OsStr::new(s));
        let tmp = std::env::temp_dir();
        let tmp = Some(tmp.as_os_str());
        assert!(device_select_has_no_display(None, None, None), "a server");
        assert!(
            device_select_has_no_display(os("/no/such/folder"), None, os("")),
            "a runtime folder that is not there, an empty DISPLAY"
        );
        assert!(
            !device_select_has_no_display(tmp, None, None),
            "a desktop session"
        );
        assert!(
            !device_select_has_no_display(None, None, os(":0")),
            "X11 without a runtime folder"
        );
        assert!(
            !device_select_has_no_display(None, os("wayland-0"), None),
            "a Wayland display named"
        );
    }

    fn lavapipe() -> Adapter {
        Adapter {
            name: "llvmpipe (LLVM 15.0.6, 256 bits)".into(),
            backend: "Vulkan".into(),
            hardware: false,
        }
    }
    fn h100() -> Adapter {
        Adapter {
            name: "NVIDIA H100 80GB HBM3".into(),
            backend: "Vulkan".into(),
            hardware: true,
        }
    }

    #[test]
    fn auto_prefers_gpu_then_software_then_cpu() {
        let d = choose_from("auto", &[lavapipe(), h100()]).unwrap();
        assert_eq!(d.accelerator, Accelerator::Gpu);
        assert_eq!(d.label, "wgpu Vulkan: NVIDIA H100 80GB HBM3");
        let d = choose_from("auto", &[lavapipe()]).unwrap();
        assert_eq!(d.accelerator, Accelerator::SoftwareVulkan);
        let d = choose_from("auto", &[]).unwrap();
        assert_eq!(d.accelerator, Accelerator::CpuBackend);
    }

    #[test]
    fn overrides_are_honoured_or_refused_clearly() {
        assert_eq!(
            choose_from("cpu", &[h100()]).unwrap().accelerator,
            Accelerator::CpuBackend
        );
        assert_eq!(
            choose_from("software", &[h100(), lavapipe()])
                .unwrap()
                .accelerator,
            Accelerator::SoftwareVulkan
        );
        assert!(choose_from("gpu", &[lavapipe()])
            .unwrap_err()
            .contains("no hardware GPU"));
        assert!(choose_from("tpu", &[])
            .unwrap_err()
            .contains("expected auto"));
    }
}
