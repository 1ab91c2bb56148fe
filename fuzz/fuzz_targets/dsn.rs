//! Fuzz target `dsn`: the received-mail classifier (`mailer_core::inbox::classify`); see
//! `mailer_fuzz::targets`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mailer_fuzz::run("dsn", data);
});
