//! Alertmanager matchers, as silences and chat commands take them, and
//! matching them against labels.
#![no_main]
use ackbot::domain::{Labels, Matcher, matcher};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let items: Vec<String> = text.split('\n').map(str::to_string).collect();
    if let Ok(matchers) = matcher::parse_list(&items) {
        let labels = Labels::parse(
            "labels",
            [("team", "db"), ("env", "prod"), ("alertname", "Disk")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .expect("valid labels");
        let _ = matcher::all_match(&matchers, &labels);
        let _ = matcher::match_unlabelled(&matchers);
        for m in &matchers {
            // Shown and parsed again: the same matcher.
            let again = Matcher::parse(&m.to_string()).expect("a shown matcher parses");
            assert_eq!(again.to_string(), m.to_string());
        }
    }
});
