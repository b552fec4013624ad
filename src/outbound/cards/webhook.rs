//! The generic webhook payload: stable JSON for programs, not people.
//!
//! Schema, version `"1"` (fields are only ever added within a version):
//!
//! ```json
//! {
//!   "version": "1",
//!   "kind": "firing" | "resolved" | "aggregated" | "repeat",
//!   "alerts": [ <alert>, ... ],
//!   "omitted": 0,
//!   "occurrences": 0,
//!   "digest": false,
//!   "more_url": null,
//!   "links": [ {"alert_id": "A-42", "ack": "https://…/a/…", "silence": "…", "resolve": "…"} ]
//! }
//! ```
//!
//! - `alerts`: the alerts of the message, the first being the headline, each
//!   exactly as the API shows an alert (the serde form of
//!   [`AlertRecord`](crate::store::AlertRecord): `id`, `fingerprint`, `title`,
//!   `content`, `severity`, `service`, `labels`, `annotations`, `state`,
//!   `acked_by`, `acked_at`, `silenced_until`, `count`, `first_seen`,
//!   `last_seen`, `trace_id`, `request_id`, `starts_at`, `resolved_at`; times
//!   are RFC 3339 UTC).
//! - `omitted`: alerts folded into this notification but not listed.
//! - `occurrences`: occurrences in the aggregation window (`aggregated`).
//! - `digest`: `true` when the channel's rate budget was short and this one
//!   message carries everything that was due; `more_url`, when set, is a
//!   signed page listing every firing alert.
//! - `links`: the signed action links, for the alerts that have them (none
//!   when links are not configured), whatever the kind.
//!
//! Nothing is escaped or truncated: JSON needs no escaping beyond its own,
//! the receiver renders as it likes, and alert content is already bounded at
//! ingestion (16 KiB).

use serde_json::{Value, json};

use super::Message;

/// The `version` field.
pub const VERSION: &str = "1";

/// The payload for a message.
pub fn payload(msg: &Message) -> Value {
    let alerts: Vec<_> = msg.items.iter().map(|i| &i.alert).collect();
    let links: Vec<Value> = msg
        .items
        .iter()
        .filter_map(|i| {
            let l = i.links.as_ref()?;
            Some(json!({
                "alert_id": i.alert.id,
                "ack": l.ack,
                "silence": l.silence,
                "resolve": l.resolve,
            }))
        })
        .collect();
    json!({
        "version": VERSION,
        "kind": msg.kind.as_str(),
        "alerts": alerts,
        "omitted": msg.omitted,
        "occurrences": msg.occurrences,
        "digest": msg.digest.is_some(),
        "more_url": msg.digest.as_ref().and_then(|d| d.more_url.as_deref()),
        "links": links,
    })
}

#[cfg(test)]
mod tests {
    use super::super::text::fixtures::*;
    use super::*;
    use crate::engine::NoticeKind;

    #[test]
    fn firing_critical_with_links() {
        let m = critical();
        let v = payload(&m);
        assert_eq!(v["version"], "1");
        assert_eq!(v["kind"], "firing");
        assert_eq!(v["omitted"], 0);
        assert_eq!(v["occurrences"], 0);
        let alert = &v["alerts"][0];
        assert_eq!(*alert, serde_json::to_value(&m.items[0].alert).unwrap());
        assert_eq!(alert["id"], "A-42");
        assert_eq!(alert["severity"], "critical");
        assert_eq!(alert["state"], "firing");
        assert_eq!(alert["labels"], json!({"env": "prod", "team": "db"}));
        assert_eq!(alert["first_seen"], "2026-11-22T10:00:00Z");
        assert_eq!(
            v["links"],
            json!([{
                "alert_id": "A-42",
                "ack": "https://ackbot.example.com/a/ack-A-42",
                "silence": "https://ackbot.example.com/a/silence-A-42",
                "resolve": "https://ackbot.example.com/a/resolve-A-42",
            }])
        );
    }

    #[test]
    fn kinds_and_counts() {
        assert_eq!(payload(&resolved_msg())["kind"], "resolved");
        let v = payload(&aggregated());
        assert_eq!(v["kind"], "aggregated");
        assert_eq!(v["occurrences"], 57);
        let mut m = critical();
        m.kind = NoticeKind::Repeat;
        assert_eq!(payload(&m)["kind"], "repeat");
    }

    #[test]
    fn group_lists_all_alerts_and_links_only_where_present() {
        let mut m = group3();
        m.items[1].links = None;
        let v = payload(&m);
        assert_eq!(v["alerts"].as_array().unwrap().len(), 3);
        assert_eq!(v["omitted"], 5);
        let ids: Vec<&Value> = v["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| &l["alert_id"])
            .collect();
        assert_eq!(ids, ["A-1", "A-3"]);
    }

    #[test]
    fn content_and_hostile_text_pass_through_as_json() {
        let m = huge();
        let v = payload(&m);
        assert_eq!(v["alerts"][0]["content"], m.items[0].alert.content);
        let m = evil(EVIL_TITLES[1]);
        let text = payload(&m).to_string();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["alerts"][0]["title"], EVIL_TITLES[1]);
    }
}
