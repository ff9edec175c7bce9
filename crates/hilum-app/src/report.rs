//! The findings text of a report, from accepted findings only. A template, not
//! free generation: every number in it is a field of a reviewed finding.

use crate::review::{Review, ReviewedFinding, Source};
use hilum_core::{Lobe, LungRads, NoduleKind};

pub const NOTICE: &str =
    "Hilum is decision support, not diagnosis: every finding was reviewed by the reading clinician.";

fn lobe_name(l: Option<Lobe>) -> &'static str {
    match l {
        Some(Lobe::RUL) => "right upper lobe",
        Some(Lobe::RML) => "right middle lobe",
        Some(Lobe::RLL) => "right lower lobe",
        Some(Lobe::LUL) => "left upper lobe",
        Some(Lobe::LLL) => "left lower lobe",
        None => "lobe not assigned",
    }
}

fn sentence(n: usize, f: &ReviewedFinding, slices: usize) -> String {
    let mut s = format!(
        "{n}. {}: {} nodule, mean diameter {:.1} mm ({:.1} × {:.1} mm)",
        capitalise(lobe_name(f.lobe)),
        f.kind,
        f.diameter_mm,
        f.long_axis_mm,
        f.short_axis_mm
    );
    if let (NoduleKind::PartSolid, Some(solid)) = (f.kind, f.solid_diameter_mm) {
        s += &format!(", solid component {solid:.1} mm");
    }
    if let Some(v) = f.volume_mm3 {
        s += &format!(", volume {v:.0} mm³");
    }
    s += &format!(
        ", image {} of {slices}. Lung-RADS {}.",
        f.slice_index + 1,
        f.lung_rads
    );
    if f.source == Source::Clinician {
        s += " (Measured by the reader.)";
    }
    s
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The generated findings text for `review` on a series of `slices` slices.
pub fn findings_text(review: &Review, slices: usize) -> String {
    let mut accepted: Vec<&ReviewedFinding> = review.accepted().collect();
    accepted.sort_by(|a, b| b.diameter_mm.total_cmp(&a.diameter_mm));
    let category = review.lung_rads();
    let mut out = String::from("FINDINGS\n");
    if accepted.is_empty() {
        out += "Lungs: no pulmonary nodule accepted on review.\n";
    } else {
        let n = accepted.len();
        out += &format!(
            "Lungs: {n} pulmonary nodule{} accepted on review.\n",
            if n == 1 { "" } else { "s" }
        );
        for (i, f) in accepted.iter().enumerate() {
            out += &sentence(i + 1, f, slices);
            out.push('\n');
        }
    }
    out += "\nIMPRESSION\n";
    let reason = match category {
        LungRads::C1 if accepted.is_empty() => "no nodules".to_string(),
        LungRads::C1 => "benign (calcified) nodules only".to_string(),
        _ => {
            let largest = accepted
                .iter()
                .filter(|f| f.lung_rads == category)
                .max_by(|a, b| a.diameter_mm.total_cmp(&b.diameter_mm))
                .expect("the category comes from an accepted finding");
            format!(
                "{:.1} mm {} nodule, {}",
                largest.diameter_mm,
                largest.kind,
                lobe_name(largest.lobe)
            )
        }
    };
    out += &format!(
        "Lung-RADS v2022 category {category} ({reason}). Recommendation: {}.\n",
        category.management()
    );
    out += &format!("\n{NOTICE}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::{Manual, Status};

    #[test]
    fn only_accepted_findings_reach_the_text_with_their_measured_numbers() {
        let mut r = Review::new("s", "t");
        let keep = r
            .add(&Manual {
                center_lps_mm: [0.0; 3],
                long_axis_mm: 9.2,
                short_axis_mm: Some(7.6),
                kind: None,
                lobe: Some(Lobe::RUL),
                slice_index: 56,
            })
            .unwrap();
        let drop = r
            .add(&Manual {
                center_lps_mm: [9.0; 3],
                long_axis_mm: 21.0,
                short_axis_mm: None,
                kind: None,
                lobe: Some(Lobe::LLL),
                slice_index: 10,
            })
            .unwrap();
        r.set_status(drop, Status::Rejected).unwrap();
        let text = findings_text(&r, 300);
        assert!(text.contains("1 pulmonary nodule accepted"), "{text}");
        assert!(
            text.contains("Right upper lobe: solid nodule, mean diameter 8.4 mm (9.2 × 7.6 mm)"),
            "{text}"
        );
        assert!(text.contains("image 57 of 300. Lung-RADS 4A."), "{text}");
        assert!(text.contains("category 4A (8.4 mm solid nodule, right upper lobe)"));
        assert!(!text.contains("21.0"), "a rejected finding leaked: {text}");
        assert!(text.contains("decision support, not diagnosis"));
        let _ = keep;
    }

    #[test]
    fn no_accepted_findings_reads_as_category_1() {
        let text = findings_text(&Review::new("s", "t"), 100);
        assert!(text.contains("no pulmonary nodule accepted"));
        assert!(text.contains("category 1 (no nodules)"));
    }
}
