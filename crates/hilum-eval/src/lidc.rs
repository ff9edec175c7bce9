//! Ground truth from LIDC-IDRI reader annotations (the LIDC XML beside each scan),
//! turned into LUNA16 truth: nodules ≥ 3 mm marked by at least 3 of the 4
//! readers count; every other mark (nodules < 3 mm, non-nodules, nodules fewer
//! readers agreed on) is an ignored region.

use crate::froc::TruthNodule;
use hilum_core::Affine;

/// One reader's mark, in image coordinates.
#[derive(Clone, Debug)]
pub struct ReaderMark {
    pub reader: usize,
    /// Column, row (pixels) of the centroid.
    pub center_px: [f64; 2],
    pub z_mm: f64,
    /// Equivalent diameter of the largest outlined slice; `None` for point marks.
    pub diameter_mm: Option<f64>,
    pub is_nodule: bool,
}

/// One outlined slice of a reader's nodule.
struct Outline {
    centroid: [f64; 2],
    z: f64,
    area_mm2: f64,
}

fn child<'a>(n: roxmltree::Node<'a, 'a>, name: &str) -> Option<roxmltree::Node<'a, 'a>> {
    n.children().find(|c| c.tag_name().name() == name)
}
fn children<'a>(
    n: roxmltree::Node<'a, 'a>,
    name: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'a>> + 'a {
    n.children().filter(move |c| c.tag_name().name() == name)
}
fn number(n: roxmltree::Node, name: &str) -> Option<f64> {
    child(n, name)?.text()?.trim().parse().ok()
}

/// Parses every reader's marks. `pixel_spacing` = (column, row) mm per pixel.
pub fn parse_reader_marks(xml: &str, pixel_spacing: [f64; 2]) -> Result<Vec<ReaderMark>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("not LIDC XML: {e}"))?;
    let mut marks = Vec::new();
    for (reader, session) in children(doc.root_element(), "readingSession").enumerate() {
        for nodule in children(session, "unblindedReadNodule") {
            let large = child(nodule, "characteristics").is_some();
            // Per outlined slice: polygon area (mm²) and centroid.
            let mut slices = Vec::new();
            for roi in children(nodule, "roi") {
                let included = child(roi, "inclusion")
                    .and_then(|i| i.text())
                    .is_none_or(|t| t.trim().eq_ignore_ascii_case("TRUE"));
                let Some(z) = number(roi, "imageZposition") else {
                    continue;
                };
                let points: Vec<[f64; 2]> = children(roi, "edgeMap")
                    .filter_map(|e| Some([number(e, "xCoord")?, number(e, "yCoord")?]))
                    .collect();
                if !included || points.is_empty() {
                    continue;
                }
                let n = points.len() as f64;
                let centroid = [
                    points.iter().map(|p| p[0]).sum::<f64>() / n,
                    points.iter().map(|p| p[1]).sum::<f64>() / n,
                ];
                let twice_area: f64 = points
                    .iter()
                    .zip(points.iter().cycle().skip(1))
                    .map(|(a, b)| a[0] * b[1] - b[0] * a[1])
                    .sum();
                let area_mm2 = 0.5 * twice_area.abs() * pixel_spacing[0] * pixel_spacing[1];
                slices.push(Outline {
                    centroid,
                    z,
                    area_mm2,
                });
            }
            if slices.is_empty() {
                continue;
            }
            // Centroid weighted by outlined area (points weigh equally when all are 0).
            let weights: Vec<f64> = slices.iter().map(|s| s.area_mm2.max(1e-6)).collect();
            let total: f64 = weights.iter().sum();
            let mean = |f: fn(&Outline) -> f64| {
                slices
                    .iter()
                    .zip(&weights)
                    .map(|(s, w)| f(s) * w)
                    .sum::<f64>()
                    / total
            };
            let largest = slices.iter().map(|s| s.area_mm2).fold(0.0, f64::max);
            marks.push(ReaderMark {
                reader,
                center_px: [mean(|s| s.centroid[0]), mean(|s| s.centroid[1])],
                z_mm: mean(|s| s.z),
                diameter_mm: (large && largest > 0.0)
                    .then(|| 2.0 * (largest / std::f64::consts::PI).sqrt()),
                is_nodule: true,
            });
        }
        for non in children(session, "nonNodule") {
            let (Some(z), Some(locus)) = (number(non, "imageZposition"), child(non, "locus"))
            else {
                continue;
            };
            if let (Some(x), Some(y)) = (number(locus, "xCoord"), number(locus, "yCoord")) {
                marks.push(ReaderMark {
                    reader,
                    center_px: [x, y],
                    z_mm: z,
                    diameter_mm: None,
                    is_nodule: false,
                });
            }
        }
    }
    Ok(marks)
}

/// A nodule as the readers agreed on it.
#[derive(Clone, Debug)]
pub struct ReaderConsensus {
    pub center_lps_mm: [f64; 3],
    pub diameter_mm: f64,
    pub readers: usize,
}

/// Groups the ≥ 3 mm nodule marks of different readers that describe one
/// nodule (centres closer than the larger radius), and splits truth into
/// counted nodules (≥ 3 readers) and ignored regions (everything else).
pub fn luna_truth(
    marks: &[ReaderMark],
    affine: &Affine,
) -> (Vec<ReaderConsensus>, Vec<TruthNodule>) {
    let to_lps = |m: &ReaderMark| {
        let k = (m.z_mm - affine.origin[2]) / affine.slice_step[2];
        let mut p = affine.voxel_to_lps([m.center_px[0], m.center_px[1], k]);
        p[2] = m.z_mm;
        p
    };
    let mut clusters: Vec<Vec<(&ReaderMark, [f64; 3])>> = Vec::new();
    let mut ignored = Vec::new();
    for m in marks {
        let p = to_lps(m);
        match (m.is_nodule, m.diameter_mm) {
            (true, Some(d)) => {
                let near = clusters.iter_mut().find(|c| {
                    c.iter().all(|(o, q)| {
                        let dist =
                            ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2))
                                .sqrt();
                        o.reader != m.reader
                            && dist <= d.max(o.diameter_mm.unwrap_or(0.0)) / 2.0 + 1.5
                    })
                });
                match near {
                    Some(c) => c.push((m, p)),
                    None => clusters.push(vec![(m, p)]),
                }
            }
            _ => ignored.push(TruthNodule {
                center_lps_mm: p,
                diameter_mm: 3.0,
            }),
        }
    }
    let mut consensus = Vec::new();
    for c in clusters {
        let n = c.len() as f64;
        let center = [0, 1, 2].map(|i| c.iter().map(|(_, p)| p[i]).sum::<f64>() / n);
        let diameter = c
            .iter()
            .map(|(m, _)| m.diameter_mm.unwrap_or(0.0))
            .sum::<f64>()
            / n;
        if c.len() >= 3 {
            consensus.push(ReaderConsensus {
                center_lps_mm: center,
                diameter_mm: diameter,
                readers: c.len(),
            });
        } else {
            ignored.push(TruthNodule {
                center_lps_mm: center,
                diameter_mm: diameter,
            });
        }
    }
    (consensus, ignored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(x: f64, radius_px: f64, z: f64) -> String {
        let points: String = (0..16)
            .map(|i| {
                let a = i as f64 / 16.0 * std::f64::consts::TAU;
                format!(
                    "<edgeMap><xCoord>{}</xCoord><yCoord>{}</yCoord></edgeMap>",
                    x + radius_px * a.cos(),
                    200.0 + radius_px * a.sin()
                )
            })
            .collect();
        format!(
            "<readingSession><unblindedReadNodule><noduleID>1</noduleID><characteristics><texture>5</texture></characteristics>\
             <roi><imageZposition>{z}</imageZposition><inclusion>TRUE</inclusion>{points}</roi></unblindedReadNodule>\
             <unblindedReadNodule><noduleID>2</noduleID><roi><imageZposition>-50</imageZposition><inclusion>TRUE</inclusion>\
             <edgeMap><xCoord>10</xCoord><yCoord>10</yCoord></edgeMap></roi></unblindedReadNodule>\
             <nonNodule><nonNoduleID>n</nonNoduleID><imageZposition>-60</imageZposition><locus><xCoord>5</xCoord><yCoord>6</yCoord></locus></nonNodule>\
             </readingSession>"
        )
    }

    #[test]
    fn three_readers_make_a_nodule_and_the_rest_is_ignored() {
        let xml = format!(
            "<?xml version=\"1.0\"?><LidcReadMessage xmlns=\"http://www.nih.gov\">{}{}{}{}</LidcReadMessage>",
            session(100.0, 10.0, -100.0),
            session(101.0, 11.0, -100.0),
            session(99.0, 9.0, -102.5),
            session(300.0, 5.0, -100.0), // the fourth reader saw something else
        );
        let marks = parse_reader_marks(&xml, [0.5, 0.5]).unwrap();
        assert_eq!(marks.len(), 12);
        let affine = Affine {
            origin: [-100.0, -100.0, -200.0],
            col_step: [0.5, 0.0, 0.0],
            row_step: [0.0, 0.5, 0.0],
            slice_step: [0.0, 0.0, 2.5],
        };
        let (nodules, ignored) = luna_truth(&marks, &affine);
        assert_eq!(nodules.len(), 1, "{nodules:?}");
        let n = &nodules[0];
        assert_eq!(n.readers, 3);
        // 16-gon of radius ~10 px at 0.5 mm: equivalent diameter a little under 10 mm.
        assert!((n.diameter_mm - 9.8).abs() < 0.6, "{}", n.diameter_mm);
        assert!((n.center_lps_mm[0] - (-100.0 + 100.0 * 0.5)).abs() < 0.5);
        assert!((n.center_lps_mm[2] - (-100.0 - 2.5 / 3.0)).abs() < 1e-9);
        // 4 small nodules + 4 non-nodules + the lone reader's nodule.
        assert_eq!(ignored.len(), 9);
    }
}
