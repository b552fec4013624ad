//! Which claimed rows travel together. Rows of one channel with the same
//! group key and kind become one message (a notification group's flush).
//! When the channel's budget covers fewer messages than are due, the last
//! message it allows becomes a digest of the rest, lane by lane: critical
//! messages take the budget first and are only ever digested with other
//! critical ones; the others get what is left, and their digest may absorb
//! more of the channel's due rows ([`Planned::absorbs`]).

use crate::store::Claimed;

/// One message to send: its rows, and whether it is a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub rows: Vec<Claimed>,
    pub digest: bool,
    /// A digest below critical, which stands for every due row of the
    /// channel: the worker claims more rows into it.
    pub absorbs: bool,
}

impl Planned {
    fn one(rows: Vec<Claimed>) -> Self {
        Self {
            rows,
            digest: false,
            absorbs: false,
        }
    }
}

/// Groups one channel's rows, keeping the order in which they fell due.
pub fn group(mut rows: Vec<Claimed>) -> Vec<Vec<Claimed>> {
    rows.sort_by_key(|r| (r.due_at, r.id));
    let mut out: Vec<Vec<Claimed>> = Vec::new();
    for row in rows {
        match out
            .iter_mut()
            .find(|m| m[0].group_key == row.group_key && m[0].kind == row.kind)
        {
            Some(message) => message.push(row),
            None => out.push(vec![row]),
        }
    }
    out
}

/// Whether a message is in the critical lane.
fn critical(message: &[Claimed]) -> bool {
    message.iter().any(|r| r.priority == 0)
}

/// Fits `messages` into `budget` sends (`usize::MAX`: no limit), critical
/// first. Returns what to send now and the rows to defer (those the budget
/// has no send left for).
pub fn fit(messages: Vec<Vec<Claimed>>, budget: usize) -> (Vec<Planned>, Vec<Claimed>) {
    let (urgent, rest): (Vec<_>, Vec<_>) = messages.into_iter().partition(|m| critical(m));
    let mut planned = Vec::new();
    let mut deferred = Vec::new();
    let left = lane(urgent, budget, false, &mut planned, &mut deferred);
    lane(rest, left, true, &mut planned, &mut deferred);
    (planned, deferred)
}

/// One lane: its messages as they are while the budget lasts, the last
/// allowed send a digest of the others. Returns the budget left.
fn lane(
    mut messages: Vec<Vec<Claimed>>,
    budget: usize,
    absorbs: bool,
    planned: &mut Vec<Planned>,
    deferred: &mut Vec<Claimed>,
) -> usize {
    if messages.is_empty() {
        return budget;
    }
    if budget == 0 {
        deferred.extend(messages.into_iter().flatten());
        return 0;
    }
    if messages.len() <= budget {
        let n = messages.len();
        planned.extend(messages.into_iter().map(Planned::one));
        return budget - n;
    }
    let rest: Vec<Claimed> = messages
        .split_off(budget - 1)
        .into_iter()
        .flatten()
        .collect();
    planned.extend(messages.into_iter().map(Planned::one));
    planned.push(Planned {
        rows: rest,
        digest: true,
        absorbs,
    });
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, group: &str, kind: &str, due: i64) -> Claimed {
        Claimed {
            id,
            alert_id: format!("a{id}"),
            kind: kind.into(),
            channel: "c".into(),
            group_key: group.into(),
            due_at: due,
            created_at: due,
            attempts: 1,
            occurrences: 1,
            priority: 2,
            state: Some("firing".into()),
            since: due,
            target: None,
            held: false,
        }
    }

    fn critical_row(id: i64, due: i64) -> Claimed {
        Claimed {
            priority: 0,
            ..row(id, &format!("c{id}"), "firing", due)
        }
    }

    fn ids(p: &Planned) -> Vec<i64> {
        p.rows.iter().map(|r| r.id).collect()
    }

    #[test]
    fn same_group_and_kind_travel_together_in_due_order() {
        let rows = vec![
            row(3, "g1", "firing", 20),
            row(1, "g1", "firing", 10),
            row(2, "g2", "firing", 10),
            row(4, "g1", "resolved", 30),
        ];
        let g = group(rows);
        let shape: Vec<Vec<i64>> = g.iter().map(|m| m.iter().map(|r| r.id).collect()).collect();
        assert_eq!(shape, vec![vec![1, 3], vec![2], vec![4]]);
    }

    #[test]
    fn over_budget_the_last_allowed_send_is_a_digest_of_the_rest() {
        let messages: Vec<Vec<Claimed>> = (1..=10)
            .map(|i| vec![row(i, &format!("g{i}"), "firing", i)])
            .collect();
        let (planned, deferred) = fit(messages, 3);
        assert!(deferred.is_empty());
        assert_eq!(planned.len(), 3);
        assert_eq!((ids(&planned[0]), planned[0].digest), (vec![1], false));
        assert_eq!((ids(&planned[1]), planned[1].digest), (vec![2], false));
        assert_eq!(ids(&planned[2]), (3..=10).collect::<Vec<_>>());
        assert!(planned[2].digest);
    }

    #[test]
    fn critical_messages_take_the_budget_first_and_are_never_digested_with_others() {
        let mut messages: Vec<Vec<Claimed>> = (1..=5)
            .map(|i| vec![row(i, &format!("g{i}"), "firing", i)])
            .collect();
        messages.push(vec![critical_row(9, 100)]);
        // One send: the critical one; the warnings wait for the next.
        let (planned, deferred) = fit(messages.clone(), 1);
        assert_eq!(planned.len(), 1);
        assert_eq!((ids(&planned[0]), planned[0].digest), (vec![9], false));
        assert_eq!(deferred.len(), 5);
        // Two sends: the critical one, then a digest of the rest that absorbs more.
        let (planned, _) = fit(messages.clone(), 2);
        assert_eq!(ids(&planned[0]), vec![9]);
        assert_eq!(ids(&planned[1]), vec![1, 2, 3, 4, 5]);
        assert!(planned[1].digest && planned[1].absorbs);
        // Several critical ones over budget: a digest of critical ones only.
        let urgent: Vec<Vec<Claimed>> = (20..23).map(|i| vec![critical_row(i, i)]).collect();
        let mut all = urgent.clone();
        all.extend(messages.clone());
        let (planned, deferred) = fit(all, 2);
        assert_eq!(ids(&planned[0]), vec![20]);
        assert_eq!(ids(&planned[1]), vec![21, 22, 9]);
        assert!(planned[1].digest && !planned[1].absorbs);
        assert!(planned[1].rows.iter().all(|r| r.priority == 0));
        assert_eq!(deferred.len(), 5, "the warnings wait");
    }

    #[test]
    fn within_budget_nothing_folds_and_without_budget_everything_waits() {
        let messages = vec![
            vec![row(1, "g", "firing", 1)],
            vec![row(2, "h", "firing", 1)],
        ];
        let (planned, deferred) = fit(messages.clone(), 2);
        assert!(planned.iter().all(|p| !p.digest) && deferred.is_empty());
        let (planned, deferred) = fit(messages, 0);
        assert!(planned.is_empty());
        assert_eq!(deferred.len(), 2);
    }
}
