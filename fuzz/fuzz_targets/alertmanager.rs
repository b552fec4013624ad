//! Alertmanager and Grafana webhook bodies: split into alerts and each
//! repaired into an alert, as `/api/v1/alertmanager` and `/grafana` do.
#![no_main]
use ackbot::ingest::alertmanager::{self, Flavor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for flavor in [Flavor::Alertmanager, Flavor::Grafana] {
        if let Ok(alerts) = alertmanager::alerts(data, flavor) {
            for (i, raw) in alerts.iter().enumerate() {
                let _ = alertmanager::convert(raw, i);
            }
        }
    }
});
