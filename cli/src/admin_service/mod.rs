//! The gRPC admin plane every node serves on its admin-port: the `Admin` service of
//! `tessera-proto`, the standard health service and server reflection.
//!
//! It composes what the node already has (the cluster handle, the keyspace, the
//! config); the rules stay in their crates. It runs on a thread of its own so admin
//! traffic never shares a runtime with clients or the bus.

mod actions;
mod events;
mod inspect;
mod move_io;
mod move_slots;
mod service;

pub use events::EventHub;

use anyhow::Context;
use std::sync::Arc;
use tessera_cluster_bus::engine::CommandError;
use tessera_cluster_bus_runtime::ClusterHandle;
use tessera_proto::admin_server::AdminServer;
use tessera_resp_server::Node;
use tessera_resp_server::config::{Id, Settings};
use tonic::{Request, Status};

/// The `Admin` service of one node.
pub struct AdminService {
    node: Arc<Node>,
    events: Arc<EventHub>,
    /// Set while a MoveSlots runs: one at a time per node.
    moving: Arc<std::sync::atomic::AtomicBool>,
}

impl AdminService {
    /// The cluster bus, or FAILED_PRECONDITION when cluster mode is off.
    fn cluster(&self) -> Result<&ClusterHandle, Status> {
        self.node
            .cluster()
            .ok_or_else(|| Status::failed_precondition("cluster support is disabled"))
    }
}

/// Turns a refused CLUSTER command into a gRPC status: Redis's text, a fitting code.
pub fn status_of(error: CommandError) -> Status {
    let CommandError::Refused(text) = error;
    let message = text.strip_prefix("ERR ").unwrap_or(&text).to_string();
    let lower = message.to_ascii_lowercase();
    if lower.contains("unknown node") {
        Status::not_found(message)
    } else if lower.contains("invalid") || lower.contains("out of range") {
        Status::invalid_argument(message)
    } else {
        Status::failed_precondition(message)
    }
}

/// Admits an Admin call, or refuses it with a status. Read per call, so a CONFIG SET
/// of requirepass or protected-mode applies at once.
///
/// Protected mode guards the admin plane as it guards the client port: while it is on
/// and there is no password, only loopback callers are served, since every Admin call
/// inspects or changes the cluster. With a password, every Admin call must carry it.
/// Health and reflection are separate services and stay open: they reveal nothing
/// about the node's data or topology.
fn admit(node: &Node, request: &Request<()>) -> Result<(), Status> {
    let settings = node.config().settings();
    let Some(expected) = settings.requirepass.as_deref() else {
        let local = request
            .remote_addr()
            .is_some_and(|peer| tessera_resp_server::server::is_loopback(peer.ip()));
        if settings.protected_mode && !local {
            return Err(Status::permission_denied(
                "this node is in protected mode: protected-mode is on and there is no \
                 password (requirepass), so only loopback callers may use the admin plane; \
                 set a password or turn protected mode off (CONFIG SET protected-mode no \
                 from a loopback client)",
            ));
        }
        return Ok(());
    };
    let given = request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v));
    match given {
        Some(p) if tessera_resp_server::auth::same_secret(p.as_bytes(), expected) => Ok(()),
        Some(_) => {
            let caller = request
                .remote_addr()
                .map_or_else(|| "unknown".to_string(), |a| a.to_string());
            node.stats()
                .auth_failures
                .note(&format!("{caller} (admin plane)"));
            Err(Status::unauthenticated(
                "invalid password in the authorization metadata",
            ))
        }
        None => Err(Status::unauthenticated(
            "this node has a password: send it as 'authorization: Bearer <password>' metadata",
        )),
    }
}

/// Binds the admin port on the node's bind addresses and serves on a thread of its
/// own. Returns `None` when the admin plane is disabled.
pub fn start(
    node: &Arc<Node>,
    settings: &Settings,
    client_port: u16,
    events: Arc<EventHub>,
) -> anyhow::Result<Option<std::thread::JoinHandle<()>>> {
    let Some(port) = settings.admin_port_for(client_port) else {
        tracing::info!("admin plane disabled");
        return Ok(None);
    };
    let listeners = tessera_resp_server::server::bind(&settings.bind, port, 128, 1)
        .with_context(|| format!("listening on the admin port {port} (set admin-port)"))?
        .remove(0);
    let port = listeners[0].local_addr()?.port();
    node.set_admin_port(port);
    node.config().set_internal(Id::AdminPort, port.to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("tessera-admin")
        .enable_all()
        .build()
        .context("starting the admin runtime")?;
    let service = AdminService {
        node: node.clone(),
        events,
        moving: Arc::default(),
    };
    let auth_node = node.clone();
    let shutdown_node = node.clone();
    let thread = std::thread::Builder::new()
        .name("tessera-admin".into())
        .spawn(move || {
            runtime.block_on(async move {
                if let Err(e) = serve(service, auth_node, shutdown_node, listeners).await {
                    tracing::error!(error = %e, "the admin plane stopped");
                }
            });
        })?;
    tracing::info!(port, "admin plane listening (gRPC)");
    Ok(Some(thread))
}

async fn serve(
    service: AdminService,
    auth_node: Arc<Node>,
    node: Arc<Node>,
    listeners: Vec<std::net::TcpListener>,
) -> anyhow::Result<()> {
    let (incoming_tx, incoming) = tokio::sync::mpsc::unbounded_channel();
    for listener in listeners {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let tx = incoming_tx.clone();
        tokio::spawn(async move {
            loop {
                let accepted = listener.accept().await.map(|(stream, _)| {
                    let _ = stream.set_nodelay(true);
                    stream
                });
                if tx.send(accepted).is_err() {
                    return;
                }
            }
        });
    }
    drop(incoming_tx);
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<AdminServer<AdminService>>().await;
    // Both reflection versions: grpcurl and most tools speak v1, older clients
    // (Python's grpcio-reflection) v1alpha.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tessera_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection()
        .build_v1()
        .context("building server reflection")?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .context("building server reflection")?;
    let admin = AdminServer::with_interceptor(service, move |request: Request<()>| {
        admit(&auth_node, &request).map(|()| request)
    });
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(admin)
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::UnboundedReceiverStream::new(incoming),
            async move { node.shutdown_requested().await },
        )
        .await
        .context("serving gRPC")
}
