//! The core act's summary: why each missing message is missing (the subscriber was away, it
//! was in flight at a kill, or it was lost), and the table printed at the end.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::demo::{CoreFigures, DemoClient, Outage, Sent, Track, MARGIN};

/// Why a message did not arrive.
#[derive(Default)]
struct Missing {
    /// Published while (or just before) the subscriber was reconnecting: core NATS delivers
    /// at most once to the subscriptions that exist at that moment.
    sub_away: u64,
    /// Written to a server just before it was killed.
    in_flight: u64,
    /// Everything else: what the client should have prevented.
    lost: u64,
    /// Of `lost`, buffered by the publisher while it was reconnecting.
    lost_buffered: u64,
}

fn classify(sent: &[(Instant, Sent)], counts: &[u32], p: &Track, s: &Track) -> (Missing, u64) {
    let mut m = Missing::default();
    let mut duplicates = 0u64;
    let within = |t: Instant, o: &Outage, before: Duration| {
        t + before >= o.from && o.to.is_none_or_at_least(t, MARGIN)
    };
    for (i, &(at, kind)) in sent.iter().enumerate() {
        let n = counts.get(i + 1).copied().unwrap_or(0);
        if n > 1 {
            duplicates += u64::from(n - 1);
        }
        if n > 0 || kind == Sent::Refused {
            continue;
        }
        // A buffered message leaves when the publisher is back.
        let leaves = match kind {
            Sent::Buffered => p
                .outages
                .iter()
                .find(|o| o.from <= at && o.to.is_none_or_at_least(at, Duration::ZERO))
                .and_then(|o| o.to)
                .unwrap_or(at),
            _ => at,
        };
        if s.outages
            .iter()
            .any(|o| within(at, o, MARGIN) || within(leaves, o, MARGIN))
        {
            m.sub_away += 1;
        } else if kind == Sent::Live
            && p.outages
                .iter()
                .any(|o| at <= o.from && at + MARGIN >= o.from)
        {
            m.in_flight += 1;
        } else {
            m.lost += 1;
            if kind == Sent::Buffered {
                m.lost_buffered += 1;
            }
        }
    }
    (m, duplicates)
}

/// `Option<Instant>` as the end of an outage: open, or not before `t - margin`.
trait OutageEnd {
    fn is_none_or_at_least(&self, t: Instant, margin: Duration) -> bool;
}

impl OutageEnd for Option<Instant> {
    fn is_none_or_at_least(&self, t: Instant, margin: Duration) -> bool {
        match self {
            None => true,
            Some(end) => *end + margin >= t,
        }
    }
}

pub(super) fn print_summary(
    sent: &[(Instant, Sent)],
    counts: &[u32],
    publisher: &DemoClient,
    subscriber: &DemoClient,
    failures: u32,
    start: Instant,
) -> CoreFigures {
    let (p, s) = (publisher.track(), subscriber.track());
    let (missing, duplicates) = classify(sent, counts, &p, &s);
    let count = |k: Sent| sent.iter().filter(|(_, x)| *x == k).count() as u64;
    let (buffered, refused) = (count(Sent::Buffered), count(Sent::Refused));
    let received = counts.iter().filter(|&&n| n > 0).count() as u64;
    let ms = |d: Duration| format!("{} ms", d.as_millis());
    let mut by_who: HashMap<&str, &Track> = HashMap::new();
    by_who.insert("publisher", &p);
    by_who.insert("subscriber", &s);
    let slowest = by_who
        .iter()
        .max_by_key(|(_, t)| t.slowest)
        .filter(|(_, t)| !t.slowest.is_zero())
        .map(|(w, t)| (ms(t.slowest), format!("{w}, disconnected to reconnected")))
        .unwrap_or_else(|| ("-".into(), String::new()));

    println!();
    println!(
        "summary after {:.1} s, {failures} failure{}",
        start.elapsed().as_secs_f64(),
        plural(u64::from(failures))
    );
    let row = |name: &str, value: String, note: String| {
        if note.is_empty() {
            println!("  {name:<18}{value:>8}");
        } else {
            println!("  {name:<18}{value:>8}   {note}");
        }
    };
    row(
        "published",
        sent.len().to_string(),
        if buffered > 0 {
            format!("{buffered} buffered while the publisher was reconnecting")
        } else {
            String::new()
        },
    );
    if refused > 0 {
        row(
            "refused",
            refused.to_string(),
            "reconnect buffer full or disabled".into(),
        );
    }
    row("received", received.to_string(), String::new());
    row(
        "lost",
        missing.lost.to_string(),
        format!(
            "{} of the {buffered} publishes buffered during outages",
            missing.lost_buffered
        ),
    );
    row(
        "missed",
        missing.sub_away.to_string(),
        "sent while the subscriber was reconnecting (at-most-once)".into(),
    );
    if missing.in_flight > 0 {
        row(
            "in flight",
            missing.in_flight.to_string(),
            "written to a server just before it was killed".into(),
        );
    }
    row("duplicates", duplicates.to_string(), String::new());
    row(
        "reconnects",
        (p.reconnects + s.reconnects).to_string(),
        format!("publisher {}, subscriber {}", p.reconnects, s.reconnects),
    );
    row("slowest recovery", slowest.0, slowest.1);
    CoreFigures {
        published: sent.len() as u64,
        received,
        lost: missing.lost,
        missed: missing.sub_away + missing.in_flight,
        duplicates,
    }
}

pub(super) fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub(super) fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}
