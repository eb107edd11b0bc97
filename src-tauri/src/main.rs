//! The `augment-desktop` binary: parse the command line, check there is a
//! display to draw on, run the shell.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let launch = augment_desktop::Launch::parse();
    augment_desktop::init_logging();
    if let Err(message) = augment_desktop::display_available() {
        eprintln!("{message}");
        return ExitCode::from(2);
    }
    match augment_desktop::run(launch) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("augment-desktop: {err:#}");
            ExitCode::FAILURE
        }
    }
}
