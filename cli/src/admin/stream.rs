//! The streaming commands: `events` and `move-slots`.

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::time::Duration;
use tessera_proto as pb;
use tessera_proto::cluster_event::Kind;

use super::AdminClient;
use super::render::{ranges_text, short};

/// The event's name and its details, for a line or a JSON object.
fn describe(kind: &Kind) -> (&'static str, Value, String) {
    let election = |e: &pb::ElectionEvent| {
        (
            json!({"candidate_id": e.candidate_id, "master_id": e.master_id, "epoch": e.epoch}),
            format!(
                "candidate {} for master {} in epoch {}",
                short(&e.candidate_id),
                short(&e.master_id),
                e.epoch
            ),
        )
    };
    let node = |n: &pb::NodeEvent| (json!({"node_id": n.node_id}), format!("node {}", n.node_id));
    let (name, (value, text)) = match kind {
        Kind::NodePfail(n) => ("node_pfail", node(n)),
        Kind::NodeFail(n) => ("node_fail", node(n)),
        Kind::NodeRecovered(n) => ("node_recovered", node(n)),
        Kind::NodeAdded(n) => ("node_added", node(n)),
        Kind::NodeRemoved(n) => ("node_removed", node(n)),
        Kind::ElectionStarted(e) => ("election_started", election(e)),
        Kind::ElectionWon(e) => ("election_won", election(e)),
        Kind::ElectionLost(e) => ("election_lost", election(e)),
        Kind::VoteGranted(e) => ("vote_granted", election(e)),
        Kind::EpochChanged(e) => (
            "epoch_changed",
            (
                json!({"current_epoch": e.current_epoch, "config_epoch": e.config_epoch}),
                format!("current {} config {}", e.current_epoch, e.config_epoch),
            ),
        ),
        Kind::SlotsOwnerChanged(s) => (
            "slots_owner_changed",
            (
                json!({
                    "slots": s.slots.iter().map(|r| json!([r.first, r.last])).collect::<Vec<_>>(),
                    "previous_owner_id": s.previous_owner_id,
                    "owner_id": s.owner_id,
                }),
                format!(
                    "slots {} from {} to {}",
                    ranges_text(&s.slots),
                    if s.previous_owner_id.is_empty() {
                        "nobody"
                    } else {
                        short(&s.previous_owner_id)
                    },
                    if s.owner_id.is_empty() {
                        "nobody"
                    } else {
                        short(&s.owner_id)
                    },
                ),
            ),
        ),
        Kind::StateChanged(s) => (
            "state_changed",
            (json!({"state": s.state}), format!("cluster {}", s.state)),
        ),
        Kind::MigrationProgress(p) => (
            "migration_progress",
            (
                progress_json(p),
                format!(
                    "{}/{} slots, {} keys{}",
                    p.slots_done,
                    p.slots_total,
                    p.keys_moved,
                    if p.finished { ", finished" } else { "" }
                ),
            ),
        ),
    };
    (name, value, text)
}

fn progress_json(p: &pb::MoveProgress) -> Value {
    json!({
        "slots_total": p.slots_total, "slots_done": p.slots_done, "slots_skipped": p.slots_skipped,
        "keys_moved": p.keys_moved, "bytes_moved": p.bytes_moved, "elapsed_ms": p.elapsed_ms,
        "finished": p.finished, "target_id": p.target_id,
    })
}

/// `tessera admin events`: one line (or JSON object) per event, as they come.
pub async fn events(
    client: &mut AdminClient,
    count: Option<usize>,
    json: bool,
) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stream = client
        .watch_events(pb::WatchEventsRequest {})
        .await?
        .into_inner();
    let mut seen = 0;
    while count.is_none_or(|c| seen < c) {
        let Some(event) = stream.message().await? else {
            break;
        };
        seen += 1;
        let Some(kind) = &event.kind else { continue };
        let (name, value, text) = describe(kind);
        let mut out = std::io::stdout().lock();
        if json {
            let line = json!({"time_ms": event.time_ms, "seen_by": event.seen_by, "event": name, "details": value});
            writeln!(out, "{line}")?;
        } else {
            let secs = event.time_ms / 1000;
            let clock = format!(
                "{:02}:{:02}:{:02}.{:03}",
                secs / 3600 % 24,
                secs / 60 % 60,
                secs % 60,
                event.time_ms % 1000
            );
            writeln!(out, "{clock} {} {name:<20} {text}", short(&event.seen_by))?;
        }
        out.flush()?;
    }
    Ok(())
}

/// `tessera admin move-slots`: a progress bar with keys/s and an ETA (or JSON lines).
pub async fn move_slots(
    client: &mut AdminClient,
    request: pb::MoveSlotsRequest,
    json: bool,
) -> anyhow::Result<()> {
    let mut stream = client.move_slots(request).await?.into_inner();
    let bar = ProgressBar::new(0);
    if json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} slots · {msg} · {elapsed_precise} (ETA {eta})",
        )
        .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut last = pb::MoveProgress::default();
    while let Some(p) = stream.message().await? {
        if json {
            println!("{}", progress_json(&p));
        }
        bar.set_length(u64::from(p.slots_total));
        bar.set_position(u64::from(p.slots_done));
        let secs = (p.elapsed_ms as f64 / 1000.0).max(0.001);
        bar.set_message(format!(
            "{} keys ({:.0} keys/s)",
            p.keys_moved,
            p.keys_moved as f64 / secs
        ));
        last = p;
    }
    bar.finish_and_clear();
    if !json {
        let secs = (last.elapsed_ms as f64 / 1000.0).max(0.001);
        println!(
            "moved {} slots ({} already there), {} keys, {} bytes in {:.2}s ({:.0} keys/s)",
            last.slots_done.saturating_sub(last.slots_skipped),
            last.slots_skipped,
            last.keys_moved,
            last.bytes_moved,
            secs,
            last.keys_moved as f64 / secs
        );
    }
    anyhow::ensure!(last.finished, "the move ended before it finished");
    Ok(())
}
