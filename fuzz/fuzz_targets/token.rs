//! Fuzz target `token`: see `mailer_fuzz::targets`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mailer_fuzz::run("token", data);
});
