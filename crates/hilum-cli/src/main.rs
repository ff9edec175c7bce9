//! `hilum`: the command line over Hilum's crates (see ../shared/design/contracts.md
//! for the interface scripts rely on).
//!
//! Exit codes: 0 success; 1 some inputs failed but the rest were processed;
//! 2 nothing usable or bad arguments.

mod bench;
mod bench_detect;
mod detect;
mod eval;
mod fit_rescorer;
mod info;
mod lidc;
mod phantom;
mod progress;
mod serve;
mod snapshot;
mod train;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hilum",
    version,
    about = "Lung nodule decision support for chest CT (decision support, not diagnosis)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Detect lung nodules in every CT series under PATH.
    Detect(detect::Args),
    /// Train the detector's candidate classifier on phantoms.
    Train(train::Args),
    /// Fit the rescorer (classifier logit + measurement) beside the classifier's weights.
    FitRescorer(fit_rescorer::Args),
    /// Score the detector: FROC/CPM on held-out phantoms and optionally an LIDC scan.
    Eval(eval::Args),
    /// Index PATH (file, series folder or any tree) and print studies, series and geometry checks.
    Info(info::Args),
    /// Write a synthetic chest CT series with known nodules and truth.json.
    Phantom(phantom::Args),
    /// Render PNG views (axial, coronal, sagittal) of the first CT series under PATH.
    Snapshot(snapshot::Args),
    /// Serve the UI's browser build and the app's commands on 127.0.0.1 (for tests).
    Serve(serve::Args),
    /// Print the reader consensus (LUNA16 rules) of an LIDC-IDRI scan folder.
    LidcTruth(lidc::Args),
    /// Time loading against the I/O floor (used by `cargo xtask bench load`).
    #[command(hide = true)]
    BenchLoad(bench::Args),
    /// Time load → findings on every device (used by `cargo xtask bench detect`).
    #[command(hide = true)]
    BenchDetect(bench_detect::Args),
}

/// What a command achieved, mapped to the exit codes of the contract.
pub enum Outcome {
    Ok,
    Partial,
    Failed,
}

fn main() -> ExitCode {
    hilum_gpu::quiet_vulkan_without_display();
    // One line per panic: third-party codecs can panic on corrupt files; the
    // panic is contained and reported as that file's error.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("panic");
        eprintln!("hilum: internal panic{location}: {message}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Info(args) => info::run(args),
        Command::Detect(args) => detect::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::FitRescorer(args) => fit_rescorer::run(args),
        Command::Phantom(args) => phantom::run(args),
        Command::Snapshot(args) => snapshot::run(args),
        Command::BenchLoad(args) => bench::run(args),
        Command::BenchDetect(args) => bench_detect::run(args),
        Command::LidcTruth(args) => lidc::run(args),
        Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Partial) => ExitCode::from(1),
        Ok(Outcome::Failed) => ExitCode::from(2),
        Err(e) => {
            eprintln!("hilum: {e:#}");
            ExitCode::from(2)
        }
    }
}
