//! Log lines: the Loki push decoders (JSON, legacy JSON, snappy +
//! protobuf), the label-set parser and the plain-line reader on any body,
//! then every entry through a rule set with captures, a JSON field and a
//! window. Input: a mode byte, then the body.
#![no_main]
use std::sync::OnceLock;

use ackbot::config::logs::LogRuleConfig;
use ackbot::engine::logrules::{Line, RuleSet, Windows};
use ackbot::ingest::{lines, loki};
use libfuzzer_sys::fuzz_target;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        let rules: Vec<LogRuleConfig> = toml::from_str::<toml::Table>(
            r#"
[[rules]]
name = "app-errors"
regex = '(?P<timestamp>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) \[(?P<level>\w+)\] (?P<service>\w+) - (?P<message>.+)'
level = "capture:level"
service = "capture:service"
severity_map = { ERROR = "error", INFO = "none" }
count = 2
window = "1m"
group_by = ["service", "message"]
title = "{service}: {message} x{count} ({labels.job})"
[[rules]]
name = "json"
regex = 'timeout (?P<n>\d+)'
json_field = "message"
title = "{n} {first_line} {last_line}"
"#,
        )
        .unwrap()["rules"]
            .clone()
            .try_into()
            .unwrap();
        RuleSet::compile(&rules).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let limits = loki::Limits {
        max_decoded: 1 << 20,
        ..Default::default()
    };
    let _ = loki::parse_label_set(&String::from_utf8_lossy(body));
    let streams = match mode % 5 {
        0 => loki::decode(body, loki::Format::Json, &limits),
        1 => loki::decode(body, loki::Format::LegacyJson, &limits),
        2 => loki::decode(body, loki::Format::Protobuf, &limits),
        3 => lines::parse(body, lines::LineFormat::Text, 0, &limits).map(|entries| {
            vec![loki::Stream {
                labels: vec![],
                entries,
            }]
        }),
        _ => lines::parse(body, lines::LineFormat::NdJson, 0, &limits).map(|entries| {
            vec![loki::Stream {
                labels: vec![],
                entries,
            }]
        }),
    };
    let Ok(streams) = streams else { return };
    let rules = rules();
    let mut windows = Windows::new(16);
    let mut hits = Vec::new();
    for s in &streams {
        let for_stream = rules.for_stream(&s.labels);
        for e in &s.entries {
            for_stream.matches(
                &Line {
                    text: &e.line,
                    labels: &s.labels,
                    metadata: &e.metadata,
                    ts_ns: e.ts_ns,
                },
                &mut hits,
            );
        }
    }
    for h in &hits {
        if let Some(fire) = windows.record(rules, h, 0) {
            assert!(fire.title.len() <= 256);
        }
    }
});
