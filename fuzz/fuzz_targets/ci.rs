//! CI/CD webhooks: the signature and token checks on any header text, then
//! every sender's payload parser (and the Jenkins API build reader) on any
//! body, then the failure-streak step and the alert text of what parsed.
//! Input: a mode byte, then `header\nbody`.
#![no_main]
use ackbot::config::ci::CiRule;
use ackbot::engine::streak::{SeriesId, SeriesState, counted};
use ackbot::ingest::ci::{Event, System, gitee, github, gitlab, jenkins};
use ackbot::verify::ci as sig;
use libfuzzer_sys::fuzz_target;

const NOW_MS: i64 = 1_700_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (header, body) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&rest[..0], rest),
    };
    let header = String::from_utf8_lossy(header);
    let h = Some(header.as_ref());
    let _ = sig::verify_github("secret", h, body);
    let _ = sig::verify_github_sha1("secret", h, body);
    let _ = sig::verify_gitea("secret", h, h, body);
    let _ = sig::verify_gitlab_token("token", h);
    let key = sig::SigningKey::from_token("whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=")
        .expect("the vector's token");
    let headers = sig::StandardHeaders {
        id: Some("msg"),
        timestamp: Some("1700000000"),
        signature: h,
    };
    let _ = sig::verify_gitlab_signature(&key, headers, body, NOW_MS / 1000);
    let _ = sig::verify_gitee_signature("secret", h, Some("1700000000000"), NOW_MS);
    let _ = sig::verify_gitee_signature("secret", Some("x"), h, NOW_MS);
    let _ = sig::verify_basic("ackbot", "pw", h);
    let _ = sig::SigningKey::from_token(&header);

    let (system, event) = match mode % 8 {
        0 => (System::Github, github::parse("workflow_run", body)),
        1 => (System::Github, github::parse("workflow_job", body)),
        2 => (System::Gitlab, gitlab::parse("Pipeline Hook", body)),
        3 => (System::Gitee, gitee::parse(None, body)),
        4 => (System::Gitee, gitee::parse(Some("Push Hook"), body)),
        5 => (System::Jenkins, jenkins::parse(body)),
        6 => (System::Gitea, github::parse(&header, body)),
        _ => (
            System::Jenkins,
            jenkins::api_build(&header, "job", "main", body)
                .map(|r| r.map_or(Event::Ignored(String::new()), Event::Finished)),
        ),
    };
    if let Ok(Event::Finished(run)) = event {
        let rule = CiRule::default();
        let mut state = SeriesState::default();
        let id = SeriesId {
            system,
            source: "s".into(),
            series: run.series.clone(),
        };
        for _ in 0..2 {
            state.step(&run, counted(run.outcome, &rule), 1, NOW_MS);
        }
        let alert = state.alert(&id, ackbot::domain::Severity::Error, NOW_MS);
        assert!(alert.title.len() <= ackbot::domain::alert::MAX_TITLE_LEN);
        assert!(alert.content.len() <= ackbot::domain::alert::MAX_CONTENT_LEN);
    }
});
