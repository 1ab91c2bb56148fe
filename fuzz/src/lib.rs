//! The fuzz targets of mailer as plain functions (see [`targets`]); the binaries in `fuzz_targets/` wrap
//! them for libFuzzer. The configuration loader's target needs the server library: feature `config`.

pub mod targets;

#[cfg(feature = "config")]
pub mod config_target;

pub use targets::{TARGETS, run};
