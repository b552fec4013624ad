//! Who is on call, and "I take tonight": what `GET /api/v1/schedules/{name}`,
//! `POST /api/v1/schedules/{name}/overrides` and the chat command `oncall`
//! share, so that chat and the API always say the same.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::engine::schedule;
use crate::store::{OverrideRecord, Store, StoreError, new_id};
use crate::watch::escalations::{Oncall, to_override};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ShiftView {
    pub person: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// An override, not the rotation.
    pub overridden: bool,
}

impl From<schedule::Shift> for ShiftView {
    fn from(s: schedule::Shift) -> Self {
        Self {
            person: s.person,
            start: s.start,
            end: s.end,
            overridden: s.overridden,
        }
    }
}

/// A schedule as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleView {
    pub name: String,
    pub timezone: String,
    pub members: Vec<String>,
    pub on_call: Option<ShiftView>,
    pub next: Option<ShiftView>,
    pub backup: Option<String>,
    /// Overrides in force or to come.
    pub overrides: Vec<OverrideView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverrideView {
    pub id: String,
    pub person: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub created_by: String,
}

impl OverrideView {
    fn of(o: &OverrideRecord) -> Option<Self> {
        Some(Self {
            id: o.id.clone(),
            person: o.person.clone(),
            start: crate::store::from_ms(o.start_at).ok()?,
            end: crate::store::from_ms(o.end_at).ok()?,
            created_by: o.created_by.clone(),
        })
    }
}

/// The schedule named `name` at `now`; `None`: no such schedule.
pub async fn view(
    store: &dyn Store,
    oncall: &Oncall,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<ScheduleView>, StoreError> {
    let Some(rotation) = oncall.directory.schedule(name) else {
        return Ok(None);
    };
    // One read: the overrides both decide who is on call and are listed.
    let records = store.overrides(&[name], now).await?;
    let list: Vec<schedule::Override> = records.iter().filter_map(to_override).collect();
    Ok(Some(ScheduleView {
        name: name.to_string(),
        timezone: rotation.tz.name().to_string(),
        members: rotation.members.clone(),
        on_call: schedule::on_call(rotation, &list, now).map(Into::into),
        next: schedule::next(rotation, &list, now).map(Into::into),
        backup: schedule::backup(rotation, &list, now),
        overrides: records.iter().filter_map(OverrideView::of).collect(),
    }))
}

/// What chat answers to `oncall [schedule]`.
pub fn say(v: &ScheduleView) -> String {
    let local = |t: DateTime<Utc>| match v.timezone.parse::<chrono_tz::Tz>() {
        Ok(tz) => t.with_timezone(&tz).format("%m-%d %H:%M %Z").to_string(),
        Err(_) => t.format("%m-%d %H:%M UTC").to_string(),
    };
    let mut s = match &v.on_call {
        Some(now) => format!(
            "{}: {} is on call until {}{}",
            v.name,
            now.person,
            local(now.end),
            if now.overridden { " (override)" } else { "" }
        ),
        None => format!("{}: nobody is on call", v.name),
    };
    if let Some(next) = &v.next {
        s.push_str(&format!(
            "; next: {} from {}",
            next.person,
            local(next.start)
        ));
    }
    if let Some(b) = &v.backup {
        s.push_str(&format!("; backup: {b}"));
    }
    s.push('.');
    s
}

/// Why an override was refused.
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    #[error("no schedule named `{0}`")]
    NoSchedule(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The longest override: a month (longer belongs in the rotation).
const MAX_OVERRIDE: chrono::Duration = chrono::Duration::days(31);

/// "I take tonight": `person` is on call on `name` from `start` to `end`.
pub async fn take(
    store: &dyn Store,
    oncall: &Oncall,
    name: &str,
    person: &str,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    by: &str,
    now: DateTime<Utc>,
) -> Result<OverrideRecord, OverrideError> {
    if oncall.directory.schedule(name).is_none() {
        return Err(OverrideError::NoSchedule(name.to_string()));
    }
    if oncall.directory.person(person).is_none() {
        return Err(OverrideError::Invalid(format!(
            "`{}` is not in [[people]]",
            crate::domain::labels::truncate_text(person, 64)
        )));
    }
    if end <= start || end <= now {
        return Err(OverrideError::Invalid(
            "end must be after start and in the future".into(),
        ));
    }
    if end - start > MAX_OVERRIDE {
        return Err(OverrideError::Invalid(
            "an override lasts at most 31 days".into(),
        ));
    }
    let record = OverrideRecord {
        id: new_id(),
        schedule: name.to_string(),
        person: person.to_string(),
        start_at: start.timestamp_millis(),
        end_at: end.timestamp_millis(),
        created_at: now.timestamp_millis(),
        created_by: by.to_string(),
    };
    store.add_override(&record).await?;
    Ok(record)
}
