//! Building a topology from a loaded nodes.conf.

use tessera_persistence::nodes_conf::NodesConf;

use super::{ClusterNode, NodeFlags, Topology};
use crate::node_id::NodeId;

fn id(text: &str) -> Result<NodeId, String> {
    NodeId::parse(text.as_bytes()).ok_or_else(|| format!("invalid node ID '{text}'"))
}

impl Topology {
    /// The view a restarted node resumes with. As in Redis: nodes named only as a
    /// master or in a slot mark are created; a pending ping or pong time is loaded as
    /// "now" (the real times are meaningless after a restart); FAIL nodes get
    /// fail_time = now.
    pub fn from_nodes_conf(conf: &NodesConf, now: u64) -> Result<Topology, String> {
        let me_line = conf
            .nodes
            .iter()
            .find(|n| n.flags.split(',').any(|f| f == "myself"))
            .ok_or("no line with the myself flag")?;
        let mut topo = Topology::new(id(&me_line.id)?, now);
        topo.nodes.clear();
        let ensure = |topo: &mut Topology, node: NodeId| {
            topo.nodes
                .entry(node)
                .or_insert_with(|| ClusterNode::new(node, 0, now));
        };
        let mut listed = std::collections::BTreeSet::new();
        for line in &conf.nodes {
            let node_id = id(&line.id)?;
            // A second line for one node would overwrite the first (even its myself
            // flag): a damaged file, refused rather than half applied.
            if !listed.insert(node_id) {
                return Err(format!("node {node_id} is listed twice"));
            }
            ensure(&mut topo, node_id);
            let flags = NodeFlags::parse(&line.flags).map_err(|f| format!("unknown flag '{f}'"))?;
            let n = topo.nodes.get_mut(&node_id).expect("ensured");
            n.flags = flags;
            n.ip = line.ip.clone();
            n.port = line.port;
            n.cport = line.cport;
            n.hostname = line.hostname.clone();
            n.config_epoch = line.config_epoch;
            n.ping_sent = if line.ping_sent != 0 { now } else { 0 };
            n.pong_received = if line.pong_received != 0 { now } else { 0 };
            if flags.has(NodeFlags::FAIL) {
                n.fail_time = now;
            }
            if let Some(master) = &line.master {
                let master = id(master)?;
                ensure(&mut topo, master);
                topo.attach_replica(node_id, master);
            }
            for &(start, end) in &line.slots {
                for slot in start..=end {
                    topo.add_slot(node_id, slot);
                }
            }
            for (slot, other) in &line.migrating {
                let other = id(other)?;
                ensure(&mut topo, other);
                topo.migrating.insert(*slot, other);
            }
            for (slot, other) in &line.importing {
                let other = id(other)?;
                ensure(&mut topo, other);
                topo.importing.insert(*slot, other);
            }
        }
        // currentEpoch is at least every epoch the file shows: the largest configEpoch
        // (as Redis does), and the epoch of the last vote, which a damaged file may
        // show beyond it. Raising it keeps the vote binding: no second vote in an
        // epoch this node already voted in.
        topo.current_epoch = conf
            .current_epoch
            .max(topo.max_epoch())
            .max(conf.last_vote_epoch);
        topo.last_vote_epoch = conf.last_vote_epoch;
        Ok(topo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_persistence::nodes_conf::parse;

    #[test]
    fn loads_a_replica_view() {
        let conf = parse(
            "cf588a80cf588a80cf588a80cf588a80cf588a80 127.0.0.1:30004@40004 myself,slave e2e1dce3e2e1dce3e2e1dce3e2e1dce3e2e1dce3 0 1795315955111 3 connected\n\
             e2e1dce3e2e1dce3e2e1dce3e2e1dce3e2e1dce3 127.0.0.1:30002@40002,host master - 0 1795316107000 3 connected 0-1 5461\n\
             vars currentEpoch 6 lastVoteEpoch 2\n",
        )
        .unwrap();
        let t = Topology::from_nodes_conf(&conf, 1000).unwrap();
        let me = t.me();
        assert!(me.is_myself() && me.is_replica());
        let master = t.node(&me.master.unwrap()).unwrap();
        assert_eq!(master.replicas, vec![t.myself]);
        assert_eq!(master.slot_count, 3);
        assert_eq!(master.pong_received, 1000, "loaded as now");
        assert_eq!(t.slots[5461], Some(master.id));
        assert_eq!((t.current_epoch, t.last_vote_epoch), (6, 2));
    }

    #[test]
    fn a_vote_beyond_current_epoch_raises_it() {
        // Found by the nodes_conf fuzz target: a damaged file whose lastVoteEpoch is
        // past its currentEpoch loaded a view where the vote could be given again.
        let conf = parse(
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5000\n\
             vars currentEpoch 2 lastVoteEpoch 5\n",
        )
        .unwrap();
        let t = Topology::from_nodes_conf(&conf, 1000).unwrap();
        assert_eq!((t.current_epoch, t.last_vote_epoch), (5, 5));
        t.check_invariants();
    }

    #[test]
    fn a_node_listed_twice_is_refused() {
        let conf = parse(
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected\n\
             aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 master - 0 0 1 connected\n",
        )
        .unwrap();
        assert!(Topology::from_nodes_conf(&conf, 1000).is_err());
    }
}
