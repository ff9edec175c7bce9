//! The viewer's renderer: axial, coronal and sagittal views of the volume, thin
//! (MPR) or as a maximum / minimum intensity projection over a slab, windowed to
//! RGBA8 on the device (`shaders/view.wgsl`). The volume moves once into a
//! texture (a layer per slice) on the wgpu device burn uses and stays there,
//! alone, while the study is open: the host keeps no second copy.
//!
//! Without a wgpu device (burn's CPU backend) the same math runs on the host;
//! that path is also the reference the GPU path is tested against.

use hilum_core::Volume;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use wgpu::util::DeviceExt;

const SHADER: &str = include_str!("../../../shaders/view.wgsl");
/// Slices per texture write. A slab's staging copy is all the upload holds on
/// top of the volume (4 MiB at 512²); smaller slabs cost more submissions.
const UPLOAD_SLAB: usize = 8;

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
    texture: wgpu::Texture,
    texture_view: wgpu::TextureView,
    dims: [usize; 3],
}

/// Why a volume is not on the device.
#[derive(Debug)]
pub enum UploadError {
    /// Found before anything moved: the volume comes back whole.
    Unsuitable(String, Box<Volume>),
    /// The device failed part-way; the host copy is gone.
    Failed(String),
}

impl GpuViewer {
    /// Moves `volume` into an `R16Sint` 2D array texture, one layer per slice
    /// (no storage-binding size limit, unlike a buffer), slab by slab from the
    /// top, giving each slab's host memory back once it is on the device: the
    /// study is never held twice, which matters where device memory is host
    /// memory (lavapipe, integrated GPUs). An array rather than a 3D texture
    /// because wgpu tracks initialisation per layer: each slab write covers
    /// whole layers, where the first partial write to a 3D texture makes wgpu
    /// zero all of it while the host copy is still whole (2.3× the volume
    /// at peak on lavapipe).
    pub fn new(
        device: wgpu::Device,
        queue: wgpu::Queue,
        mut volume: Volume,
    ) -> Result<Self, UploadError> {
        let [nx, ny, nz] = volume.dims;
        let limits = device.limits();
        let (side, layers) = (
            limits.max_texture_dimension_2d as usize,
            limits.max_texture_array_layers as usize,
        );
        if nx.max(ny) > side || nz > layers {
            return Err(UploadError::Unsuitable(
                format!(
                    "volume {nx}×{ny}×{nz} exceeds the device's texture limits \
                     ({side}² per slice, {layers} slices)"
                ),
                Box::new(volume),
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
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::R16Sint,
            usage: wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_DST
                | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let mut k1 = nz;
        while k1 > 0 {
            let k0 = k1.saturating_sub(UPLOAD_SLAB);
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
                .map_err(|e| UploadError::Failed(format!("uploading the volume: {e}")))?;
            // A large allocation is its own mapping: shrinking it unmaps the
            // tail in place, without a copy.
            volume.data.truncate(nx * ny * k0);
            volume.data.shrink_to_fit();
            k1 = k0;
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
        let texture_view = texture.create_view(&wgpu::TextureViewDescriptor {
            dimension: Some(wgpu::TextureViewDimension::D2Array),
            ..Default::default()
        });
        Ok(Self {
            device,
            queue,
            pipeline,
            texture,
            texture_view,
            dims: volume.dims,
        })
    }

    /// One voxel's HU, read back from the texture (the value under the cursor).
    pub fn voxel(&self, [i, j, k]: [usize; 3]) -> Result<i16, String> {
        let d = &self.device;
        let readback = d.create_buffer(&wgpu::BufferDescriptor {
            label: Some("voxel readback"),
            size: 8,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = d.create_command_encoder(&Default::default());
        enc.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: &self.texture,
                mip_level: 0,
                origin: wgpu::Origin3d {
                    x: i as u32,
                    y: j as u32,
                    z: k as u32,
                },
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: None,
                    rows_per_image: None,
                },
            },
            wgpu::Extent3d {
                width: 1,
                height: 1,
                depth_or_array_layers: 1,
            },
        );
        let submission = self.queue.submit([enc.finish()]);
        let bytes = read_back(d, &readback, submission).map_err(|e| format!("probe: {e}"))?;
        Ok(i16::from_le_bytes([bytes[0], bytes[1]]))
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
        let rgba = read_back(d, &readback, submission).map_err(|e| format!("rendering: {e}"))?;
        Ok(Frame {
            width: w as u32,
            height: h as u32,
            rgba,
        })
    }
}

/// Waits for `submission` and copies the mapped `buffer` out.
fn read_back(
    device: &wgpu::Device,
    buffer: &wgpu::Buffer,
    submission: wgpu::SubmissionIndex,
) -> Result<Vec<u8>, String> {
    let slice = buffer.slice(..);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    device
        .poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: None,
        })
        .map_err(|e| e.to_string())?;
    rx.recv()
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let bytes = slice
        .get_mapped_range()
        .map_err(|e| format!("{e:?}"))?
        .to_vec();
    buffer.unmap();
    Ok(bytes)
}

/// The viewer for one open series. With a wgpu device the volume lives only
/// in the device's texture; without one the host keeps it and draws it.
pub enum Viewer {
    Gpu(Box<GpuViewer>),
    Cpu(Arc<Volume>),
}

impl Viewer {
    /// Takes the volume onto the compute device's wgpu handles when it has
    /// them, otherwise keeps it on the host. Errs only when the device failed
    /// part-way through the upload and the volume is gone: load it again and
    /// use [`Viewer::host`].
    pub fn new(device: &crate::ComputeDevice, volume: Volume) -> Result<Self, String> {
        let Some((d, q)) = &device.wgpu else {
            return Ok(Self::host(volume));
        };
        match GpuViewer::new(d.clone(), q.clone(), volume) {
            Ok(v) => Ok(Viewer::Gpu(Box::new(v))),
            Err(UploadError::Unsuitable(e, volume)) => {
                eprintln!("hilum: rendering on the CPU: {e}");
                Ok(Self::host(*volume))
            }
            Err(UploadError::Failed(e)) => Err(e),
        }
    }

    /// Draws on the host.
    pub fn host(volume: Volume) -> Self {
        Viewer::Cpu(Arc::new(volume))
    }

    pub fn on_device(&self) -> bool {
        matches!(self, Viewer::Gpu(_))
    }

    /// The host copy of the volume, when the viewer keeps one.
    pub fn host_volume(&self) -> Option<&Arc<Volume>> {
        match self {
            Viewer::Gpu(_) => None,
            Viewer::Cpu(v) => Some(v),
        }
    }

    pub fn render(&self, req: &ViewRequest) -> Result<Frame, String> {
        match self {
            Viewer::Gpu(v) => v.render(req),
            Viewer::Cpu(volume) => Ok(render_cpu(volume, req)),
        }
    }

    /// One voxel's HU.
    pub fn voxel(&self, [i, j, k]: [usize; 3]) -> Result<i16, String> {
        match self {
            Viewer::Gpu(v) => v.voxel([i, j, k]),
            Viewer::Cpu(volume) => Ok(volume.get(i, j, k)),
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
            affine: Affine::axis_aligned([0.7, 0.7, 2.5]),
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
