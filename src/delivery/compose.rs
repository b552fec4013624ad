//! Which claimed rows travel together. Rows of one channel with the same
//! group key and kind become one message (a notification group's flush);
//! when the channel's budget covers fewer messages than are due, the last
//! message it allows becomes a digest of all the rest.

use crate::store::Claimed;

/// One message to send: its rows, and whether it is a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub rows: Vec<Claimed>,
    pub digest: bool,
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

/// Fits `messages` into `budget` sends. Returns what to send now and the
/// rows to defer (only when the budget is zero).
pub fn fit(mut messages: Vec<Vec<Claimed>>, budget: usize) -> (Vec<Planned>, Vec<Claimed>) {
    if budget == 0 {
        return (Vec::new(), messages.into_iter().flatten().collect());
    }
    if messages.len() <= budget {
        let planned = messages
            .into_iter()
            .map(|rows| Planned {
                rows,
                digest: false,
            })
            .collect();
        return (planned, Vec::new());
    }
    let rest: Vec<Claimed> = messages
        .split_off(budget - 1)
        .into_iter()
        .flatten()
        .collect();
    let mut planned: Vec<Planned> = messages
        .into_iter()
        .map(|rows| Planned {
            rows,
            digest: false,
        })
        .collect();
    planned.push(Planned {
        rows: rest,
        digest: true,
    });
    (planned, Vec::new())
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
