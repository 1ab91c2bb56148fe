//! The fuzz targets of mailer as plain functions (see [`targets`]); the binaries in `fuzz_targets/` wrap
//! them for libFuzzer.

pub mod targets;

pub use targets::{TARGETS, run};
