//! Running a one-shot subcommand (`admin`, `create`, `check`, `rebalance`): each is
//! async (it speaks gRPC) but runs from a plain `main`, and each reports a failure the
//! same way. Shared by the admin commands and the cluster operations, which build on
//! the admin client, so it sits with neither.

/// Runs an async command on a fresh runtime; returns the exit code, printing the
/// error (as `tessera <name>: ...`) when it fails.
pub fn run_blocking<F: std::future::Future<Output = anyhow::Result<i32>>>(
    name: &str,
    future: F,
) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tessera {name}: {e}");
            return 1;
        }
    };
    match runtime.block_on(future) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tessera {name}: {e:#}");
            1
        }
    }
}
