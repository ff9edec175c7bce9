//! The viewer's renderer: axial, coronal and sagittal views of the volume, thin
//! (MPR) or as a maximum / minimum intensity projection over a slab, windowed to
//! RGBA8 on the device (`shaders/view.wgsl`). The volume is uploaded once, as a
//! 3D texture on the wgpu device burn uses, and stays there while the study is open.
//!
//! Without a wgpu device (burn's CPU backend) the same math runs on the host;
//! that path is also the reference the GPU path is tested against.

use hilum_core::Volume;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use wgpu::util::DeviceExt;

const SHADER: &str = include_str!("../../../shaders/view.wgsl");
/// Slices per texture write: keeps wgpu's staging buffer far below lavapipe's limits.
const UPLOAD_SLAB: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plane {
    Axial,
    Coronal,
    Sagittal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Projection {
    /// One slice.
    #[default]
    Thin,
    /// Maximum intensity over the slab: vessels and nodules stand out.
    Mip,
    /// Minimum intensity over the slab: airways and emphysema.
    Minip,
}

/// What to draw. `slice` indexes along the plane's normal (k for axial, j for
/// coronal, i for sagittal); the slab is centred on it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewRequest {
    pub plane: Plane,
    pub slice: usize,
    #[serde(default)]
    pub projection: Projection,
    /// Slab thickness in slices along the normal (1 = thin).
    #[serde(default = "one")]
    pub slab: usize,
    /// Window centre and width in HU.
    pub level: f32,
    pub width: f32,
}

fn one() -> usize {
    1
}

/// A rendered view: `width × height` RGBA8 pixels, row 0 at the top.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// Output size of a plane: (columns, rows, slices along the normal).
pub fn plane_dims(dims: [usize; 3], plane: Plane) -> (usize, usize, usize) {
    let [nx, ny, nz] = dims;
    match plane {
        Plane::Axial => (nx, ny, nz),
        Plane::Coronal => (nx, nz, ny),
        Plane::Sagittal => (ny, nz, nx),
    }
}

/// Output pixel (x, y) at depth t along the normal → voxel (i, j, k); the same
/// mapping as `voxel()` in the shader.
pub fn plane_voxel(dims: [usize; 3], plane: Plane, x: usize, y: usize, t: usize) -> [usize; 3] {
    let nz = dims[2];
    match plane {
        Plane::Axial => [x, y, t],
        Plane::Coronal => [x, t, nz - 1 - y],
        Plane::Sagittal => [t, x, nz - 1 - y],
    }
}

/// The first and last slice of the slab, clamped to the volume.
fn slab_range(req: &ViewRequest, depth: usize) -> (usize, usize) {
    let centre = req.slice.min(depth - 1);
    if req.projection == Projection::Thin || req.slab <= 1 {
        return (centre, centre);
    }
    let before = (req.slab - 1) / 2;
    let after = req.slab - 1 - before;
    (
        centre.saturating_sub(before),
        (centre + after).min(depth - 1),
    )
}

fn grey(value: i16, lo: f32, inv_width: f32) -> u8 {
    ((f32::from(value) - lo) * inv_width)
        .clamp(0.0, 1.0)
        .mul_add(255.0, 0.5) as u8
}

fn window_lo(req: &ViewRequest) -> (f32, f32) {
    let width = req.width.max(1.0);
    (req.level - width / 2.0, 1.0 / width)
}

/// Renders on the host; the reference for the device path.
pub fn render_cpu(volume: &Volume, req: &ViewRequest) -> Frame {
    let (w, h, depth) = plane_dims(volume.dims, req.plane);
    let (first, last) = slab_range(req, depth);
    let (lo, inv) = window_lo(req);
    let mut rgba = vec![0u8; w * h * 4];
    rgba.par_chunks_mut(w * 4).enumerate().for_each(|(y, row)| {
        for x in 0..w {
            let at = |t| {
                let [i, j, k] = plane_voxel(volume.dims, req.plane, x, y, t);
                volume.get(i, j, k)
            };
            let mut value = at(first);
            for t in first + 1..=last {
                value = match req.projection {
                    Projection::Minip => value.min(at(t)),
                    _ => value.max(at(t)),
                };
            }
            let g = grey(value, lo, inv);
            row[x * 4..x * 4 + 4].copy_from_slice(&[g, g, g, 255]);
        }
    });
    Frame {
        width: w as u32,
        height: h as u32,
        rgba,
    }
}

/// The volume on the device, with the pipeline that draws it.
pub struct GpuViewer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    texture_view: wgpu::TextureView,
    dims: [usize; 3],
}

impl GpuViewer {
    /// Uploads `volume` as an `R16Sint` 3D texture (no storage-binding size
    /// limit, unlike a buffer) in slabs of slices.
    pub fn new(device: wgpu::Device, queue: wgpu::Queue, volume: &Volume) -> Result<Self, String> {
        let [nx, ny, nz] = volume.dims;
        let limit = device.limits().max_texture_dimension_3d as usize;
        if nx.max(ny).max(nz) > limit {
            return Err(format!(
                "volume {nx}×{ny}×{nz} exceeds the device's 3D texture limit of {limit}"
            ));
        }
        let size = wgpu::Extent3d {
            width: nx as u32,
            height: ny as u32,
            depth_or_array_layers: nz as u32,
        };
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("hilum volume"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D3,
            format: wgpu::TextureFormat::R16Sint,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        for k0 in (0..nz).step_by(UPLOAD_SLAB) {
            let k1 = (k0 + UPLOAD_SLAB).min(nz);
            let bytes: &[u8] = bytemuck::cast_slice(&volume.data[nx * ny * k0..nx * ny * k1]);
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d {
                        x: 0,
                        y: 0,
                        z: k0 as u32,
                    },
                    aspect: wgpu::TextureAspect::All,
                },
                bytes,
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(nx as u32 * 2),
                    rows_per_image: Some(ny as u32),
                },
                wgpu::Extent3d {
                    depth_or_array_layers: (k1 - k0) as u32,
                    ..size
                },
            );
            // Submit and wait slab by slab: wgpu stages every queued write
            // until its submission completes, so queuing them all would hold a
            // second copy of the whole volume in host memory.
            let submission = queue.submit([]);
            device
                .poll(wgpu::PollType::Wait {
                    submission_index: Some(submission),
                    timeout: None,
                })
                .map_err(|e| format!("uploading the volume: {e}"))?;
        }
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("view.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("view"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let texture_view = texture.create_view(&Default::default());
        Ok(Self {
            device,
            queue,
            pipeline,
            texture_view,
            dims: volume.dims,
        })
    }

    pub fn render(&self, req: &ViewRequest) -> Result<Frame, String> {
        let (w, h, depth) = plane_dims(self.dims, req.plane);
        let (first, last) = slab_range(req, depth);
        let (lo, inv) = window_lo(req);
        let mode = match req.projection {
            Projection::Thin => 0u32,
            Projection::Mip => 1,
            Projection::Minip => 2,
        };
        let plane = match req.plane {
            Plane::Axial => 0u32,
            Plane::Coronal => 1,
            Plane::Sagittal => 2,
        };
        let [nx, ny, nz] = self.dims.map(|d| d as u32);
        let mut params = [0u8; 48];
        params[..32].copy_from_slice(bytemuck::cast_slice(&[
            nx,
            ny,
            nz,
            plane,
            first as u32,
            last as u32,
            mode,
            w as u32,
        ]));
        params[32..].copy_from_slice(bytemuck::cast_slice(&[lo, inv, h as f32, 0.0]));
        let d = &self.device;
        let uniform = d.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("view params"),
            contents: &params,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bytes = (w * h * 4) as u64;
        let pixels = d.create_buffer(&wgpu::BufferDescriptor {
            label: Some("view pixels"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readback = d.create_buffer(&wgpu::BufferDescriptor {
            label: Some("view readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&self.texture_view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: pixels.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: uniform.as_entire_binding(),
                },
            ],
        });
        let mut enc = d.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups((w as u32).div_ceil(16), (h as u32).div_ceil(16), 1);
        }
        enc.copy_buffer_to_buffer(&pixels, 0, &readback, 0, bytes);
        let submission = self.queue.submit([enc.finish()]);
        let slice = readback.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        d.poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: None,
        })
        .map_err(|e| format!("rendering: {e}"))?;
        rx.recv()
            .map_err(|e| format!("rendering: {e}"))?
            .map_err(|e| format!("rendering: {e}"))?;
        let rgba = slice
            .get_mapped_range()
            .map_err(|e| format!("rendering: {e:?}"))?
            .to_vec();
        readback.unmap();
        Ok(Frame {
            width: w as u32,
            height: h as u32,
            rgba,
        })
    }
}

/// The viewer for one open series: on the device when there is a wgpu device,
/// otherwise on the host.
pub enum Viewer {
    Gpu(GpuViewer),
    Cpu,
}

impl Viewer {
    /// Uses the compute device's wgpu handles when it has them.
    pub fn new(device: &crate::ComputeDevice, volume: &Volume) -> Self {
        match &device.wgpu {
            Some((d, q)) => match GpuViewer::new(d.clone(), q.clone(), volume) {
                Ok(v) => Viewer::Gpu(v),
                Err(e) => {
                    eprintln!("hilum: rendering on the CPU: {e}");
                    Viewer::Cpu
                }
            },
            None => Viewer::Cpu,
        }
    }

    pub fn on_device(&self) -> bool {
        matches!(self, Viewer::Gpu(_))
    }

    pub fn render(&self, volume: &Volume, req: &ViewRequest) -> Result<Frame, String> {
        match self {
            Viewer::Gpu(v) => v.render(req),
            Viewer::Cpu => Ok(render_cpu(volume, req)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hilum_core::Affine;

    fn ramp(dims: [usize; 3]) -> Volume {
        let [nx, ny, nz] = dims;
        let mut data = Vec::with_capacity(nx * ny * nz);
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    data.push((i as i16 * 7 + j as i16 * 3 - k as i16 * 5) * 4 - 1000);
                }
            }
        }
        Volume {
            dims,
            affine: Affine {
                origin: [0.0; 3],
                col_step: [0.7, 0.0, 0.0],
                row_step: [0.0, 0.7, 0.0],
                slice_step: [0.0, 0.0, 2.5],
            },
            data,
        }
    }

    #[test]
    fn thin_views_follow_the_plane_mapping() {
        let v = ramp([10, 8, 6]);
        let req = ViewRequest {
            plane: Plane::Coronal,
            slice: 3,
            projection: Projection::Thin,
            slab: 1,
            level: -1000.0 + 64.0,
            width: 128.0,
        };
        let f = render_cpu(&v, &req);
        assert_eq!((f.width, f.height), (10, 6));
        // Top row of a coronal view is the last (superior) slice.
        let expected = grey(v.get(2, 3, 5), -1000.0, 1.0 / 128.0);
        assert_eq!(f.rgba[2 * 4], expected);
    }

    #[test]
    fn mip_takes_the_slab_maximum_and_minip_the_minimum() {
        let mut v = ramp([6, 6, 9]);
        let bright = v.index(2, 2, 5);
        v.data[bright] = 400;
        let req = |projection, slab| ViewRequest {
            plane: Plane::Axial,
            slice: 4,
            projection,
            slab,
            level: 0.0,
            width: 1000.0,
        };
        let at = |f: &Frame| f.rgba[(2 * 6 + 2) * 4];
        assert_eq!(
            at(&render_cpu(&v, &req(Projection::Mip, 3))),
            grey(400, -500.0, 0.001)
        );
        assert!(at(&render_cpu(&v, &req(Projection::Thin, 3))) < 10);
        let minip = render_cpu(&v, &req(Projection::Minip, 3));
        assert_eq!(
            at(&minip),
            grey(v.get(2, 2, 5).min(v.get(2, 2, 3)), -500.0, 0.001)
        );
    }

    #[test]
    fn slab_is_centred_and_clamped() {
        let req = ViewRequest {
            plane: Plane::Axial,
            slice: 1,
            projection: Projection::Mip,
            slab: 5,
            level: 0.0,
            width: 1.0,
        };
        assert_eq!(slab_range(&req, 10), (0, 3));
        assert_eq!(slab_range(&ViewRequest { slice: 9, ..req }, 10), (7, 9));
        assert_eq!(
            slab_range(
                &ViewRequest {
                    projection: Projection::Thin,
                    ..req
                },
                10
            ),
            (1, 1)
        );
    }
}
