//! The `Admin` trait of the generated server, each call handed to the module that
//! does it.

use std::pin::Pin;
use tessera_proto as pb;
use tessera_proto::admin_server::Admin;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::{AdminService, actions, inspect, move_slots};

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::ClusterEvent, Status>> + Send>>;
type ProgressStream = Pin<Box<dyn Stream<Item = Result<pb::MoveProgress, Status>> + Send>>;

#[tonic::async_trait]
impl Admin for AdminService {
    async fn get_node(
        &self,
        _: Request<pb::GetNodeRequest>,
    ) -> Result<Response<pb::NodeInfo>, Status> {
        inspect::node_info(self).await.map(Response::new)
    }

    async fn get_topology(
        &self,
        _: Request<pb::GetTopologyRequest>,
    ) -> Result<Response<pb::Topology>, Status> {
        let view = inspect::topology_view(self).await?;
        Ok(Response::new(inspect::topology(&view)))
    }

    async fn get_cluster_info(
        &self,
        _: Request<pb::GetClusterInfoRequest>,
    ) -> Result<Response<pb::ClusterInfo>, Status> {
        inspect::cluster_info(self).await.map(Response::new)
    }

    async fn get_links(
        &self,
        _: Request<pb::GetLinksRequest>,
    ) -> Result<Response<pb::Links>, Status> {
        inspect::links(self).await.map(Response::new)
    }

    async fn count_keys(
        &self,
        r: Request<pb::CountKeysRequest>,
    ) -> Result<Response<pb::KeyCounts>, Status> {
        inspect::count_keys(&self.node, r.get_ref()).map(Response::new)
    }

    async fn get_config(
        &self,
        r: Request<pb::GetConfigRequest>,
    ) -> Result<Response<pb::Config>, Status> {
        Ok(Response::new(inspect::config(
            &self.node,
            &r.get_ref().pattern,
        )))
    }

    type WatchEventsStream = EventStream;

    async fn watch_events(
        &self,
        _: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        use tokio_stream::StreamExt;
        use tokio_stream::wrappers::BroadcastStream;
        use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
        let receiver = self.events.subscribe();
        // The first message is the cluster state now: the watcher knows it is live.
        let now = super::events::current_state(&self.cluster()?.routing());
        let stream = BroadcastStream::new(receiver).map(|item| match item {
            Ok(event) => Ok(event),
            Err(BroadcastStreamRecvError::Lagged(n)) => Err(Status::data_loss(format!(
                "this watcher fell {n} events behind; watch again"
            ))),
        });
        Ok(Response::new(Box::pin(
            tokio_stream::once(Ok(now)).chain(stream),
        )))
    }

    async fn meet(&self, r: Request<pb::MeetRequest>) -> Result<Response<pb::ActionReply>, Status> {
        actions::meet(self, r.into_inner()).await.map(Response::new)
    }

    async fn forget(
        &self,
        r: Request<pb::ForgetRequest>,
    ) -> Result<Response<pb::ActionReply>, Status> {
        actions::forget(self, r.into_inner())
            .await
            .map(Response::new)
    }

    async fn add_slots(
        &self,
        r: Request<pb::SlotsRequest>,
    ) -> Result<Response<pb::ActionReply>, Status> {
        actions::change_slots(self, r.into_inner(), false)
            .await
            .map(Response::new)
    }

    async fn remove_slots(
        &self,
        r: Request<pb::SlotsRequest>,
    ) -> Result<Response<pb::ActionReply>, Status> {
        actions::change_slots(self, r.into_inner(), true)
            .await
            .map(Response::new)
    }

    async fn replicate(
        &self,
        r: Request<pb::ReplicateRequest>,
    ) -> Result<Response<pb::ActionReply>, Status> {
        actions::replicate(self, r.into_inner())
            .await
            .map(Response::new)
    }

    async fn failover(
        &self,
        r: Request<pb::FailoverRequest>,
    ) -> Result<Response<pb::ActionReply>, Status> {
        actions::failover(self, r.into_inner())
            .await
            .map(Response::new)
    }

    async fn set_config_epoch(
        &self,
        r: Request<pb::SetConfigEpochRequest>,
    ) -> Result<Response<pb::ActionReply>, Status> {
        actions::set_config_epoch(self, r.into_inner())
            .await
            .map(Response::new)
    }

    type MoveSlotsStream = ProgressStream;

    async fn move_slots(
        &self,
        r: Request<pb::MoveSlotsRequest>,
    ) -> Result<Response<ProgressStream>, Status> {
        move_slots::start(self, r.into_inner())
            .await
            .map(Response::new)
    }
}
