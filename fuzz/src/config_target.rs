//! The fuzz target of the server's configuration loader (`mailer-http/src/bin/mailer-server/config.rs`,
//! included with `#[path]`): with the fuzz crate's feature `config`, and in the plain replay test.

use crate::targets::pieces;

#[allow(dead_code, unreachable_pub, clippy::all)]
#[path = "../../mailer-http/src/bin/mailer-server/config.rs"]
mod config;

/// The server's configuration loader: the TOML text, then NUL, then `KEY=VALUE` lines as the environment
/// (keys naming files, `…_FILE`, are dropped so the fuzzer reads no file). Loaded or refused with an error
/// that names a key; a loaded configuration loads again the same from its own values.
pub fn config_loader(data: &[u8]) {
    let [text, env]: [String; 2] = pieces(data, 2).try_into().expect("two pieces");
    if text.to_ascii_lowercase().contains("file") {
        // `secret_key_file` and `token_file` read files: the fuzzer must not read /dev/zero.
        return;
    }
    let env: config::Env = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| !k.ends_with("_FILE"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let path = std::path::Path::new("fuzz.toml");
    match config::Config::from_toml(&text, path, &env) {
        Ok(config) => {
            let again = config::Config::from_toml(&text, path, &env).expect("loads twice");
            assert_eq!(config, again);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
