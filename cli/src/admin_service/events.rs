//! WatchEvents: the bus engine's events, turned into the API's `ClusterEvent` and
//! fanned out to every watcher.

use tessera_cluster_bus::NodeId;
use tessera_cluster_bus::engine::{Event, RoutingSnapshot};
use tessera_proto as pb;
use tessera_proto::cluster_event::Kind;
use tokio::sync::broadcast;

use super::inspect::range;

/// Events a slow watcher may fall behind by before it misses some (it is told).
const BACKLOG: usize = 4096;

/// Where events are published and watchers subscribe.
pub struct EventHub {
    sender: broadcast::Sender<pb::ClusterEvent>,
}

impl Default for EventHub {
    fn default() -> Self {
        EventHub {
            sender: broadcast::channel(BACKLOG).0,
        }
    }
}

impl EventHub {
    /// A new watcher, seeing events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<pb::ClusterEvent> {
        self.sender.subscribe()
    }

    /// Publishes an engine event seen by this node; `routing` names this node and its
    /// master. Events nobody operates on (write pauses, replication hand-offs) are
    /// not published.
    pub fn publish_engine_event(&self, event: &Event, routing: Option<&RoutingSnapshot>) {
        let myself = routing
            .and_then(RoutingSnapshot::me)
            .map(|n| n.id.to_string())
            .unwrap_or_default();
        let my_master = routing
            .and_then(RoutingSnapshot::my_master_node)
            .map(|n| n.id.to_string())
            .unwrap_or_default();
        let Some((seen_by, kind)) = convert(event, &myself, &my_master) else {
            return;
        };
        self.publish(seen_by, kind);
    }

    /// Publishes an event.
    pub fn publish(&self, seen_by: String, kind: Kind) {
        // No watcher is not an error.
        let _ = self.sender.send(event_now(seen_by, kind));
    }
}

/// An event stamped with the time now.
pub fn event_now(seen_by: String, kind: Kind) -> pb::ClusterEvent {
    pb::ClusterEvent {
        time_ms: tessera_resp_server::clock::unix_ms() as u64,
        seen_by,
        kind: Some(kind),
    }
}

/// The cluster state as a `state_changed` event: what a new watcher hears first.
pub fn current_state(routing: &RoutingSnapshot) -> pb::ClusterEvent {
    let me = routing.me().map(|n| n.id.to_string()).unwrap_or_default();
    event_now(me, state_event(routing.state_ok))
}

fn state_event(ok: bool) -> Kind {
    Kind::StateChanged(pb::StateEvent {
        state: if ok { "ok" } else { "fail" }.to_string(),
    })
}

fn node_event(id: &NodeId) -> pb::NodeEvent {
    pb::NodeEvent {
        node_id: id.to_string(),
    }
}

fn id_or_empty(id: &Option<NodeId>) -> String {
    id.map(|i| i.to_string()).unwrap_or_default()
}

/// The API's form of an engine event: who saw it, and what.
fn convert(event: &Event, myself: &str, my_master: &str) -> Option<(String, Kind)> {
    let me = myself.to_string();
    let election = |epoch: u64, master: String| pb::ElectionEvent {
        candidate_id: me.clone(),
        master_id: master,
        epoch,
    };
    let kind = match event {
        Event::PossiblyFailing(id) => Kind::NodePfail(node_event(id)),
        Event::FailureReported { node, reporter } => {
            return Some((reporter.to_string(), Kind::NodePfail(node_event(node))));
        }
        Event::Failing(id) => Kind::NodeFail(node_event(id)),
        Event::Recovered(id) => Kind::NodeRecovered(node_event(id)),
        Event::NodeAdded(id) => Kind::NodeAdded(node_event(id)),
        Event::NodeRemoved(id) => Kind::NodeRemoved(node_event(id)),
        Event::StateChanged(ok) => state_event(*ok),
        Event::ElectionStarted(epoch) => {
            Kind::ElectionStarted(election(*epoch, my_master.to_string()))
        }
        Event::ElectionLost(epoch) => Kind::ElectionLost(election(*epoch, my_master.to_string())),
        Event::Promoted {
            previous_master,
            epoch,
        } => Kind::ElectionWon(election(*epoch, previous_master.to_string())),
        Event::VoteGranted {
            candidate,
            master,
            epoch,
        } => Kind::VoteGranted(pb::ElectionEvent {
            candidate_id: candidate.to_string(),
            master_id: master.to_string(),
            epoch: *epoch,
        }),
        Event::EpochChanged { current, mine } => Kind::EpochChanged(pb::EpochEvent {
            current_epoch: *current,
            config_epoch: *mine,
        }),
        Event::SlotsOwnerChanged(change) => Kind::SlotsOwnerChanged(pb::SlotsOwnerEvent {
            slots: change.ranges.iter().copied().map(range).collect(),
            previous_owner_id: id_or_empty(&change.from),
            owner_id: id_or_empty(&change.to),
        }),
        Event::BecameReplicaOf { .. }
        | Event::PauseWrites { .. }
        | Event::ResumeWrites
        | Event::ReplicaReset => {
            return None;
        }
    };
    Some((me, kind))
}
