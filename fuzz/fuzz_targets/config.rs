//! Config loading: TOML of any shape, with `${VAR}` expansion.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let env = |name: &str| (name == "SET").then(|| "value".to_string());
    let _ = ackbot::config::Config::from_toml(&text, "fuzz", &env);
});
