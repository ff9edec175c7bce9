//! `hilum eval` on two small phantoms: the FROC table, then the nodules missed
//! at 4 FP/scan, as many as the FROC leaves out, each with the stage that
//! lost it and what became of its surest candidate; the same in the JSON report.

use serde_json::Value;
use std::process::Command;

#[test]
fn eval_lists_the_nodules_it_misses_at_4_fp_per_scan_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("eval.json");
    let out = Command::new(env!("CARGO_BIN_EXE_hilum"))
        .env("HILUM_DEVICE", "cpu")
        .env_remove("HILUM_MODEL")
        .args(["eval", "--phantoms", "2", "--first-seed", "9000"])
        .args([
            "--size",
            "128x128x96",
            "--slice-mm",
            "2.5",
            "--nodules",
            "6",
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // The report names the generator: a seed's scan changes with it.
    assert_eq!(
        report["phantom_set"]["generation"],
        hilum_phantom::GENERATION,
        "{}",
        report["phantom_set"]
    );
    let phantoms = &report["phantoms"];
    let total = phantoms["nodules_4mm"].as_u64().unwrap() as usize;
    let found = (phantoms["sensitivity_at_4fp"].as_f64().unwrap() * total as f64).round() as usize;
    let nodules = phantoms["nodules"].as_array().unwrap();
    assert_eq!(nodules.len(), total);
    let missed: Vec<&str> = nodules
        .iter()
        .filter_map(|n| n["missed_at_4fp"].as_str())
        .collect();
    assert_eq!(missed.len(), total - found, "{stdout}");
    assert!(missed
        .iter()
        .all(|m| ["no-candidate", "no-finding", "below-cut"].contains(m)));
    // A nodule without a candidate and without a finding is lost before scoring.
    for n in nodules {
        if n["candidate_rank"].is_null() && n["confidence"].is_null() {
            assert_eq!(n["missed_at_4fp"], "no-candidate", "{n}");
        }
    }
    // What became of each nodule's surest candidate agrees with the findings:
    // every candidate is measured (eval asks for every finding), and one that
    // became a finding centred within the nodule's radius is a finding on it.
    let fates = [
        "nothing-measured",
        "suppressed",
        "too-small",
        "part-of-larger",
        "leaked-off-nodule",
        "finding",
    ];
    let mut with_fate = 0;
    for n in nodules {
        assert_eq!(
            n["candidate_rank"].is_null(),
            n["candidate_fate"].is_null(),
            "{n}"
        );
        let Some(fate) = n["candidate_fate"].as_str() else {
            continue;
        };
        with_fate += 1;
        assert!(fates.contains(&fate), "{n}");
        let off = n["candidate_measured_off_mm"].as_f64();
        assert_eq!(off.is_none(), fate == "nothing-measured", "{n}");
        let radius = n["diameter_mm"].as_f64().unwrap() / 2.0;
        if fate == "finding" && off.is_some_and(|d| d <= radius) {
            assert!(!n["confidence"].is_null(), "{n}");
        }
    }
    assert!(with_fate > 0, "no nodule had a candidate: {stdout}");
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("missed at 4 FP/scan (confidence cut "))
        .unwrap_or_else(|| panic!("no summary of the misses in\n{stdout}"));
    assert!(
        summary.contains(&format!(": {} of {total}: ", total - found)),
        "{summary}"
    );
    // Found by where they sit: the sites cover every nodule once.
    let by_site = stdout
        .lines()
        .find_map(|l| l.strip_prefix("found at 4 FP/scan: "))
        .unwrap_or_else(|| panic!("no count by site in\n{stdout}"));
    let (mut found_by_site, mut total_by_site) = (0, 0);
    for cell in by_site.split(", ") {
        let words: Vec<&str> = cell.split(' ').collect();
        let [.., found_here, "of", total_here] = words[..] else {
            panic!("{cell}")
        };
        found_by_site += found_here.parse::<usize>().unwrap();
        total_by_site += total_here.parse::<usize>().unwrap();
    }
    assert_eq!((found_by_site, total_by_site), (found, total), "{by_site}");
    // One table row for each miss.
    let rows = stdout
        .lines()
        .filter(|l| {
            ["| no candidate |", "| no finding |", "| below the cut |"]
                .iter()
                .any(|m| l.contains(m))
        })
        .count();
    assert_eq!(rows, missed.len(), "{stdout}");
}
