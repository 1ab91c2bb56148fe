//! Fuzz target `config`: see `mailer_fuzz::config_target` (needs `--features config`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mailer_fuzz::config_target::config_loader(data);
});
