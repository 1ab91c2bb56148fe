//! Fuzz target `kommo_hooks`: see `mailer_fuzz::targets`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mailer_fuzz::run("kommo_hooks", data);
});
