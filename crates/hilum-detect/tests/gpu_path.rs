//! The real GPU code path on the software Vulkan device (Mesa's lavapipe, which
//! CI installs): the same burn code as on a GPU, checked against burn's CPU
//! backend and against phantom truth.

use burn::tensor::{Tensor, TensorData};
use hilum_detect::filters::{blob_response, dilate_round, gaussian, max_pool3d};
use hilum_detect::model::NoduleNet;
use hilum_detect::{
    detect, find_candidates, lung_mask, to_iso, DetectOptions, ISO_MM, MASK_FACTOR,
};
use hilum_gpu::{adapters, choose_from, cpu_backend, Accelerator, ComputeDevice};
use hilum_phantom::{generate, PhantomSpec};

fn software_vulkan() -> ComputeDevice {
    let d = choose_from("software", &adapters()).unwrap_or_else(|e| {
        panic!("{e}: the GPU code path is tested on lavapipe (`./x setup` installs it)")
    });
    assert_eq!(d.accelerator, Accelerator::SoftwareVulkan);
    d
}

fn filtered(device: &burn::tensor::Device) -> Vec<f32> {
    let n = 20;
    let data: Vec<f32> = (0..n * n * n)
        .map(|i| {
            let (z, y, x) = ((i / (n * n)) as f32, ((i / n) % n) as f32, (i % n) as f32);
            let d2 = (z - 9.5).powi(2) + (y - 10.0).powi(2) + (x - 8.0).powi(2);
            (if d2 < 16.0 { 1.0 } else { 0.1 }) + 0.05 * ((i * 7919 % 13) as f32 / 13.0)
        })
        .collect();
    let v: Tensor<3> = Tensor::from_data(TensorData::new(data, [n, n, n]), device);
    let b = blob_response(gaussian(v, 1.5));
    let p = max_pool3d(b.clone(), 3);
    let mut out: Vec<f32> = b.into_data().try_to_vec().unwrap();
    out.extend(p.into_data().try_to_vec::<f32>().unwrap());
    out
}

#[test]
fn filters_agree_between_software_vulkan_and_the_cpu_backend() {
    let gpu = filtered(&software_vulkan().device);
    let cpu = filtered(&cpu_backend().device);
    let max = cpu.iter().cloned().fold(0f32, f32::max);
    assert!(max > 0.0);
    let worst = gpu
        .iter()
        .zip(&cpu)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        worst <= 1e-4 * max.max(1.0),
        "largest difference {worst} (max value {max})"
    );
}

fn within(c: [f64; 3], n: &hilum_phantom::TruthNodule) -> bool {
    let d = (0..3)
        .map(|a| (c[a] - n.center_lps_mm[a]).powi(2))
        .sum::<f64>()
        .sqrt();
    d <= n.diameter_mm / 2.0
}

#[test]
fn candidates_find_the_phantom_nodules_on_software_vulkan() {
    let device = software_vulkan();
    // Twelve nodules, so that one or two a scan this coarse (2.7 mm pixels)
    // loses, such as one pressed against the aorta, do not decide the test.
    let p = generate(&PhantomSpec {
        nodules: 12,
        ..PhantomSpec::small(21)
    });
    let iso = to_iso(&p.volume, &device.device, ISO_MM);
    let mask = lung_mask(&iso.tensor, ISO_MM, MASK_FACTOR);
    assert!(mask.volume_ml > 1500.0, "lung volume {} mL", mask.volume_ml);
    let candidates = find_candidates(&iso, &mask, 300);
    assert!(
        candidates.len() <= 300 && candidates.len() > 50,
        "{} candidates",
        candidates.len()
    );
    let nodules: Vec<_> = p
        .truth
        .nodules
        .iter()
        .filter(|n| n.diameter_mm >= 4.0)
        .collect();
    let found = nodules
        .iter()
        .filter(|n| candidates.iter().any(|c| within(c.lps_mm, n)))
        .count();
    // Measured on held-out phantoms: 0.95 of nodules ≥ 4 mm (models/detector/MODEL_CARD.md).
    assert!(
        found * 10 >= nodules.len() * 7,
        "{found} of {} nodules ≥ 4 mm among {} candidates",
        nodules.len(),
        candidates.len()
    );
    // The same ranking as burn's CPU backend: the device changes speed, not results.
    let cpu = cpu_backend();
    let iso_cpu = to_iso(&p.volume, &cpu.device, ISO_MM);
    let mask_cpu = lung_mask(&iso_cpu.tensor, ISO_MM, MASK_FACTOR);
    assert_eq!(mask_cpu.labels, mask.labels);
    let on_cpu = find_candidates(&iso_cpu, &mask_cpu, 300);
    let top = |c: &[hilum_detect::Candidate]| c.iter().take(20).map(|c| c.zyx).collect::<Vec<_>>();
    assert_eq!(top(&on_cpu), top(&candidates));
}

#[test]
fn detection_end_to_end_on_software_vulkan_with_the_committed_weights() {
    let device = software_vulkan();
    let model = hilum_detect::weights::load_built_in(&device.device)
        .expect("the detector built in from models/detector");
    let p = generate(&PhantomSpec::small(22));
    let options = DetectOptions {
        max_candidates: 40,
        min_confidence: 0.0,
        ..DetectOptions::default()
    };
    let result = detect(&p.volume, &device, &model, &options).expect("a chest CT");
    assert!(!result.findings.is_empty());
    assert!(result
        .findings
        .windows(2)
        .all(|w| w[0].confidence >= w[1].confidence));
    for f in &result.findings {
        let m = &f.measurement;
        assert!(
            m.mean_diameter_mm.is_finite() && m.long_axis_mm + 1e-9 >= m.short_axis_mm,
            "{m:?}"
        );
        assert!((0.0..=1.0).contains(&f.confidence));
    }
    // The most confident finding is a real nodule.
    let best = &result.findings[0];
    assert!(
        p.truth
            .nodules
            .iter()
            .any(|n| within(best.center_lps_mm, n)),
        "top finding at {:?} (confidence {:.2}) is no phantom nodule",
        best.center_lps_mm,
        best.confidence
    );
}

/// Deterministic values in about [-1, 1): a hash of the index, not a constant
/// pattern, so a misplaced tap or channel shows.
fn pattern(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5 - 1.0)
        .collect()
}

fn tensor<const D: usize>(
    shape: [usize; D],
    seed: usize,
    device: &burn::tensor::Device,
) -> Tensor<D> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(pattern(n, seed), shape), device)
}

fn largest_difference(a: Vec<f32>, b: Vec<f32>) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}

#[test]
fn the_fused_convolution_matches_burns_on_software_vulkan() {
    use burn::tensor::activation::relu;
    use burn::tensor::module::conv3d;
    use burn::tensor::ops::ConvOptions;
    use hilum_detect::fused_conv::FusedConv;

    let gpu = software_vulkan().device;
    // Every layer shape of the classifier, those that differ in the wider
    // network tried for thick slices (`hilum train --widths 8,16,48,64,96`),
    // and odd sizes and batches.
    let layers = [
        (3, 1, 8, 1, [24, 24, 24]),
        (3, 8, 16, 2, [24, 24, 24]),
        (2, 16, 32, 1, [12, 12, 12]),
        (2, 32, 32, 2, [12, 12, 12]),
        (5, 32, 64, 2, [6, 6, 6]),
        (2, 16, 48, 1, [12, 12, 12]),
        (2, 48, 64, 2, [12, 12, 12]),
        (2, 64, 96, 2, [6, 6, 6]),
        (1, 3, 8, 1, [5, 7, 9]),
        (2, 2, 16, 2, [7, 4, 11]),
    ];
    for (i, (batch, in_c, out_c, stride, [d, h, w])) in layers.into_iter().enumerate() {
        let x = tensor([batch, in_c, d, h, w], i, &gpu);
        let weight = tensor([out_c, in_c, 3, 3, 3], i + 100, &gpu).mul_scalar(0.3);
        let bias = tensor([out_c], i + 200, &gpu).mul_scalar(0.1);
        let fused = FusedConv::prepare(&weight, &bias, stride)
            .and_then(|layer| layer.forward(&x))
            .expect("the fused kernel takes every layer shape on a wgpu device");
        let options = ConvOptions::new([stride; 3], [1; 3], [1; 3], 1);
        let reference = relu(conv3d(x, weight, Some(bias), options));
        assert_eq!(fused.dims(), reference.dims(), "layer {i}");
        let worst = largest_difference(
            fused.into_data().try_to_vec().unwrap(),
            reference.into_data().try_to_vec().unwrap(),
        );
        assert!(
            worst < 1e-4 * in_c as f32,
            "layer {i}: largest difference {worst}"
        );
    }
}

#[test]
fn the_hand_written_filter_kernels_match_burns_on_software_vulkan() {
    use hilum_detect::axis_filters::{convolve_axis, max_axis};
    use hilum_detect::axis_resampling::resample_axis_on_device;
    use hilum_detect::blob_strength::blob_strength;
    use hilum_detect::filters::{
        blobness, convolve_axis_with_burn, gaussian_kernel, hessian, linear_samples, resample_axis,
    };

    let gpu = software_vulkan().device;
    let cpu = cpu_backend().device;
    // Odd sizes (runs of four cut short at the end of an axis), an axis
    // shorter than the kernel, and a view cut from a larger volume.
    for (i, dims) in [[7, 11, 13], [3, 9, 5], [12, 4, 10]]
        .into_iter()
        .enumerate()
    {
        let on = |device| tensor(dims, i, device).mul_scalar(2.0);
        // Blobs need curvature: noise smoothed once, the same values on both devices.
        let noise = tensor([dims[0] + 2, dims[1], dims[2]], i + 50, &cpu);
        let bumps: Vec<f32> = gaussian(noise, 0.7).into_data().try_to_vec().unwrap();
        let whole = |device| {
            let shape = [dims[0] + 2, dims[1], dims[2]];
            Tensor::<3>::from_data(TensorData::new(bumps.clone(), shape), device)
        };
        let view = |device| whole(device).narrow(0, 1, dims[0]);
        for sigma in [0.6, 1.3, 2.0] {
            let taps = gaussian_kernel(sigma);
            for axis in 0..3 {
                let fast = convolve_axis(&on(&gpu), axis, &taps)
                    .expect("the kernel takes every volume on a wgpu device");
                let reference = convolve_axis_with_burn(on(&cpu), axis, &taps);
                let worst = largest_difference(
                    fast.into_data().try_to_vec().unwrap(),
                    reference.into_data().try_to_vec().unwrap(),
                );
                assert!(worst < 1e-5, "{dims:?} σ {sigma} axis {axis}: {worst}");
            }
        }
        for (name, v_gpu, v_cpu) in [
            ("whole", on(&gpu), on(&cpu)),
            ("view", view(&gpu), view(&cpu)),
        ] {
            let fast = blob_strength(&v_gpu).expect("the kernel takes every volume");
            let reference = blobness(hessian(v_cpu));
            let reference: Vec<f32> = reference.into_data().try_to_vec().unwrap();
            let max = reference.iter().cloned().fold(0f32, f32::max);
            assert!(max > 0.0, "{dims:?} {name}: some voxel is a blob");
            let worst = largest_difference(fast.into_data().try_to_vec().unwrap(), reference);
            assert!(worst < 1e-4 * max, "{dims:?} {name}: {worst} (max {max})");
        }
    }
    // 3D max pooling: the kernel's three passes against burn's pooling.
    for (i, dims) in [[7, 11, 13], [3, 9, 5], [12, 4, 10]]
        .into_iter()
        .enumerate()
    {
        for window in [3, 5, 9] {
            let on = |device| tensor(dims, i + 90, device);
            let whole = |device| tensor([dims[0] + 2, dims[1], dims[2]], i + 95, device);
            for (name, fast, reference) in [
                (
                    "whole",
                    max_pool3d(on(&gpu), window),
                    max_pool3d(on(&cpu), window),
                ),
                (
                    "view",
                    max_pool3d(whole(&gpu).narrow(0, 1, dims[0]), window),
                    max_pool3d(whole(&cpu).narrow(0, 1, dims[0]), window),
                ),
            ] {
                let fast: Vec<f32> = fast.into_data().try_to_vec().unwrap();
                let reference: Vec<f32> = reference.into_data().try_to_vec().unwrap();
                assert_eq!(fast, reference, "{dims:?} window {window} {name}");
            }
            assert!(max_axis(&on(&gpu), 1, window).is_some());
        }
        // The rounded window's cross steps: single-axis passes.
        let on = |device| tensor(dims, i + 99, device);
        let fast: Vec<f32> = dilate_round(on(&gpu), 3).into_data().try_to_vec().unwrap();
        let reference: Vec<f32> = dilate_round(on(&cpu), 3).into_data().try_to_vec().unwrap();
        assert_eq!(fast, reference, "{dims:?} rounded window");
    }
    // Resampling: finer and coarser steps, a start between voxels, positions
    // clamped at the far end; the kernel's output against burn's gathers.
    for (i, dims) in [[7, 11, 13], [3, 9, 5]].into_iter().enumerate() {
        for (start, step) in [(0.0, 0.7), (0.25, 1.3), (0.0, 2.1)] {
            for axis in 0..3 {
                let n_out = ((dims[axis] - 1) as f64 / step) as usize + 2;
                let on = |device| tensor(dims, i + 70, device);
                let (lo, hi, w) = linear_samples(dims[axis], n_out, start, step);
                let fast = resample_axis_on_device(&on(&gpu), axis, &lo, &hi, &w)
                    .expect("the kernel takes every volume on a wgpu device");
                let reference = resample_axis(on(&cpu), axis, n_out, start, step);
                assert_eq!(fast.dims(), reference.dims());
                let worst = largest_difference(
                    fast.into_data().try_to_vec().unwrap(),
                    reference.into_data().try_to_vec().unwrap(),
                );
                assert!(worst < 1e-6, "{dims:?} axis {axis} step {step}: {worst}");
            }
        }
    }
    let cpu_volume = tensor([4, 4, 4], 0, &cpu);
    assert!(resample_axis_on_device(&cpu_volume, 0, &[0, 1], &[1, 2], &[0.5, 0.5]).is_none());
    assert!(convolve_axis(&cpu_volume, 0, &[0.5, 0.5, 0.0]).is_none());
    assert!(max_axis(&cpu_volume, 0, 3).is_none());
    assert!(blob_strength(&cpu_volume).is_none());
}

#[test]
fn the_fused_convolution_leaves_the_cpu_backend_to_burn() {
    let cpu = cpu_backend().device;
    let weight = tensor([8, 1, 3, 3, 3], 2, &cpu);
    let bias = tensor([8], 3, &cpu);
    assert!(hilum_detect::fused_conv::FusedConv::prepare(&weight, &bias, 1).is_none());
}

#[test]
fn the_classifier_scores_alike_on_software_vulkan_and_the_cpu_backend() {
    use hilum_detect::model::{Classifier, PATCH};
    let path = hilum_detect::weights::default_path();
    let net = |device: &burn::tensor::Device| {
        hilum_detect::weights::load_net(&path, device).expect("committed weights")
    };
    let patches =
        |device: &burn::tensor::Device| tensor([4, 1, PATCH, PATCH, PATCH], 7, device).abs();
    let values = |t: Tensor<1>| -> Vec<f32> { t.into_data().try_to_vec().unwrap() };
    let (gpu, cpu) = (software_vulkan().device, cpu_backend().device);
    assert!(
        net(&gpu).fused_layers().is_some(),
        "the fused kernel on wgpu"
    );
    assert!(
        net(&cpu).fused_layers().is_none(),
        "burn on the CPU backend"
    );
    // The classifier through the fused kernel, the network through burn's
    // own convolution on the same device, and burn's CPU backend.
    let fused = values(Classifier::new(vec![net(&gpu)]).logits(patches(&gpu)));
    let burn_on_gpu = values(net(&gpu).logits(patches(&gpu)));
    let reference = values(net(&cpu).logits(patches(&cpu)));
    for (name, scores) in [("fused", &fused), ("burn on wgpu", &burn_on_gpu)] {
        let worst = largest_difference(scores.clone(), reference.clone());
        assert!(
            worst < 1e-3,
            "software Vulkan ({name}) {scores:?} vs CPU backend {reference:?}"
        );
    }
}

#[test]
fn a_scan_is_scored_by_the_networks_for_its_slice_thickness() {
    use hilum_detect::model::Classifier;
    use hilum_detect::rescore::Rescorer;
    use hilum_detect::weights::{default_path, load_net, Detector};
    let device = software_vulkan();
    let net = |name: &str| load_net(&default_path().with_file_name(name), &device.device).unwrap();
    let (thin, thick) = (
        net("nodule_net.safetensors"),
        net("nodule_net-2.safetensors"),
    );
    let detector = |classifier: &NoduleNet, for_thick_slices: Option<&NoduleNet>| Detector {
        classifier: Classifier::new(vec![classifier.clone()]),
        thick_slice_classifier: for_thick_slices.map(|n| (2.0, Classifier::new(vec![n.clone()]))),
        rescorer: Rescorer::cnn_only(),
    };
    let options = DetectOptions {
        max_candidates: 20,
        min_confidence: 0.0,
        ..DetectOptions::default()
    };
    let logits = |spec: &PhantomSpec, d: &Detector| -> Vec<f64> {
        let result = detect(&generate(spec).volume, &device, d, &options).expect("a chest CT");
        result.findings.iter().map(|f| f.cnn_logit).collect()
    };
    let both = detector(&thin, Some(&thick));
    let thick_slices = PhantomSpec::small(23);
    assert_eq!(thick_slices.slice_mm, 2.5);
    let by_thick = logits(&thick_slices, &both);
    assert!(!by_thick.is_empty());
    assert_eq!(by_thick, logits(&thick_slices, &detector(&thick, None)));
    assert_ne!(by_thick, logits(&thick_slices, &detector(&thin, None)));
    let thin_slices = PhantomSpec {
        slice_mm: 1.5,
        ..PhantomSpec::small(23)
    };
    assert_eq!(
        logits(&thin_slices, &both),
        logits(&thin_slices, &detector(&thin, None))
    );
}
