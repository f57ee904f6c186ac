//! The action calls: each is the CLUSTER subcommand of the same name, run by this
//! node's engine, with the engine's refusal turned into a status code.

use tessera_cluster_bus::engine::{Answer, ClusterCommand, FailoverKind};
use tessera_proto as pb;
use tessera_proto::failover_request::Mode;
use tonic::Status;

use super::inspect::slot_ranges;
use super::{AdminService, status_of};

async fn run(service: &AdminService, command: ClusterCommand) -> Result<pb::ActionReply, Status> {
    let answer = service
        .cluster()?
        .command(command)
        .await
        .map_err(status_of)?;
    let message = match answer {
        Answer::Ok => "OK".to_string(),
        Answer::Status(s) | Answer::Text(s) | Answer::Bulk(s) => s,
        Answer::Int(n) => n.to_string(),
        other => format!("{other:?}"),
    };
    Ok(pb::ActionReply { message })
}

fn db_empty(service: &AdminService) -> bool {
    service.node.keyspace().db(0).is_empty()
}

/// Meet.
pub async fn meet(service: &AdminService, r: pb::MeetRequest) -> Result<pb::ActionReply, Status> {
    if r.ip.is_empty() || r.port == 0 || r.port > 65535 || r.bus_port > 65535 {
        return Err(Status::invalid_argument(
            "meet needs an ip and a port (1-65535)",
        ));
    }
    let cport = if r.bus_port == 0 {
        i64::from(r.port) + 10000
    } else {
        i64::from(r.bus_port)
    };
    run(
        service,
        ClusterCommand::Meet {
            ip: r.ip,
            port: i64::from(r.port),
            cport,
        },
    )
    .await
}

/// Forget.
pub async fn forget(
    service: &AdminService,
    r: pb::ForgetRequest,
) -> Result<pb::ActionReply, Status> {
    run(service, ClusterCommand::Forget(r.node_id)).await
}

/// AddSlots / RemoveSlots.
pub async fn change_slots(
    service: &AdminService,
    r: pb::SlotsRequest,
    remove: bool,
) -> Result<pb::ActionReply, Status> {
    let ranges = slot_ranges(&r.ranges)?;
    if ranges.is_empty() {
        return Err(Status::invalid_argument("no slot range given"));
    }
    let command = if remove {
        ClusterCommand::DelSlots(ranges)
    } else {
        ClusterCommand::AddSlots(ranges)
    };
    run(service, command).await
}

/// Replicate.
pub async fn replicate(
    service: &AdminService,
    r: pb::ReplicateRequest,
) -> Result<pb::ActionReply, Status> {
    let db_empty = db_empty(service);
    run(
        service,
        ClusterCommand::Replicate {
            master: r.master_id,
            db_empty,
        },
    )
    .await
}

/// Failover.
pub async fn failover(
    service: &AdminService,
    r: pb::FailoverRequest,
) -> Result<pb::ActionReply, Status> {
    let kind = match Mode::try_from(r.mode) {
        Ok(Mode::Default) => FailoverKind::Default,
        Ok(Mode::Force) => FailoverKind::Force,
        Ok(Mode::Takeover) => FailoverKind::Takeover,
        Err(_) => return Err(Status::invalid_argument(format!("unknown mode {}", r.mode))),
    };
    run(service, ClusterCommand::Failover(kind)).await
}

/// SetConfigEpoch.
pub async fn set_config_epoch(
    service: &AdminService,
    r: pb::SetConfigEpochRequest,
) -> Result<pb::ActionReply, Status> {
    let epoch =
        i64::try_from(r.epoch).map_err(|_| Status::invalid_argument("the epoch is too large"))?;
    run(service, ClusterCommand::SetConfigEpoch(epoch)).await
}
