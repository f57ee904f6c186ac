//! Reaching a node's admin plane from its client address.

use anyhow::Context;
use tessera_proto::admin_client;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::AdminArgs;
use crate::resp_client::Client;

/// Adds the password to every call.
#[derive(Clone)]
pub struct Password(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Password {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// The generated client, with the password interceptor.
pub type AdminClient = admin_client::AdminClient<InterceptedService<Channel, Password>>;

/// Where a node is and how to get in.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Host of its client port.
    pub host: String,
    /// Its client port.
    pub port: u16,
    /// Its admin port, when known (else read from INFO).
    pub admin_port: Option<u16>,
    /// Its password.
    pub password: Option<String>,
}

impl From<&AdminArgs> for Endpoint {
    fn from(args: &AdminArgs) -> Endpoint {
        Endpoint {
            host: args.host.clone(),
            port: args.port,
            admin_port: args.admin_port,
            password: args.password.clone(),
        }
    }
}

/// The admin port of the node at `host:port`, read from INFO's `admin_port:`.
fn admin_port(args: &Endpoint) -> anyhow::Result<u16> {
    let mut client = Client::open(&args.host, args.port, args.password.as_deref())
        .with_context(|| format!("reaching the node at {}:{}", args.host, args.port))?;
    let info = client.text(&["INFO", "server"])?;
    let port = info
        .lines()
        .find_map(|l| l.trim_end().strip_prefix("admin_port:"))
        .with_context(|| {
            format!(
                "{}:{} does not say where its admin plane is: is it a Tessera node?",
                args.host, args.port
            )
        })?;
    match port.parse::<u16>() {
        Ok(0) => anyhow::bail!(
            "the node at {}:{} has its admin plane disabled (admin-port 0)",
            args.host,
            args.port
        ),
        Ok(p) => Ok(p),
        Err(_) => anyhow::bail!("bad admin_port '{port}' in INFO"),
    }
}

/// Connects to the node's admin plane.
pub async fn connect(args: &Endpoint) -> anyhow::Result<AdminClient> {
    let port = match args.admin_port {
        Some(p) => p,
        None => {
            let args = args.clone();
            tokio::task::spawn_blocking(move || admin_port(&args)).await??
        }
    };
    let endpoint = format!("http://{}:{port}", args.host);
    let channel = Channel::from_shared(endpoint.clone())?
        .connect()
        .await
        .with_context(|| format!("connecting to the admin plane at {endpoint}"))?;
    let password = match &args.password {
        Some(p) => Some(
            format!("Bearer {p}")
                .parse()
                .context("the password must be printable ASCII for gRPC metadata")?,
        ),
        None => None,
    };
    Ok(admin_client::AdminClient::with_interceptor(
        channel,
        Password(password),
    ))
}
