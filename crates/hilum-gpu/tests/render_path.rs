//! The viewer's GPU path on the software Vulkan device (lavapipe on CI): every
//! plane and projection matches the host reference pixel for pixel (±1 grey
//! level for float rounding), on a phantom large enough to need several
//! upload slabs; voxels read back from the texture are the host's values.

use hilum_gpu::render::{render_cpu, Plane, Projection, ViewRequest, Viewer};
use hilum_gpu::{open_named, Accelerator};
use hilum_phantom::{generate, PhantomSpec};

#[test]
fn device_views_match_the_host_reference() {
    let device = open_named("software").unwrap_or_else(|e| {
        panic!("{e}: the GPU code path is tested on lavapipe (`./x setup` installs it)")
    });
    assert_eq!(device.accelerator, Accelerator::SoftwareVulkan);
    assert!(device.wgpu.is_some(), "wgpu handles shared with burn");
    let volume = generate(&PhantomSpec::small(7)).volume;
    let viewer = Viewer::new(&device, volume.clone()).unwrap();
    assert!(viewer.on_device());
    assert!(
        viewer.host_volume().is_none(),
        "the texture is the only copy"
    );
    let [nx, ny, nz] = volume.dims;
    for (plane, slice) in [
        (Plane::Axial, nz / 2),
        (Plane::Coronal, ny / 2),
        (Plane::Sagittal, nx / 3),
    ] {
        for (projection, slab) in [
            (Projection::Thin, 1),
            (Projection::Mip, 9),
            (Projection::Minip, 4),
        ] {
            let req = ViewRequest {
                plane,
                slice,
                projection,
                slab,
                level: -600.0,
                width: 1500.0,
            };
            let gpu = viewer.render(&req).unwrap();
            let cpu = render_cpu(&volume, &req);
            assert_eq!((gpu.width, gpu.height), (cpu.width, cpu.height));
            let worst = gpu
                .rgba
                .iter()
                .zip(&cpu.rgba)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            assert!(worst <= 1, "{plane:?} {projection:?}: differs by {worst}");
            let distinct: std::collections::BTreeSet<u8> =
                cpu.rgba.iter().step_by(4).copied().collect();
            assert!(
                distinct.len() > 50,
                "{plane:?}: a real image, not a flat one"
            );
        }
    }
    for voxel in [
        [0, 0, 0],
        [nx / 2, ny / 3, nz / 2],
        [nx - 1, ny - 1, nz - 1],
    ] {
        assert_eq!(
            viewer.voxel(voxel).unwrap(),
            volume.get(voxel[0], voxel[1], voxel[2]),
            "voxel {voxel:?}"
        );
    }
}
