//! Helpers shared by the benchmark programs in `src/bin`.

use std::process::Command;

/// Requests per second reported by one redis-benchmark run.
pub fn benchmark(port: u16, test: &str, pipeline: u32, requests: u64) -> f64 {
    let out = Command::new("redis-benchmark")
        .args([
            "-p",
            &port.to_string(),
            "-t",
            test,
            "-c",
            "50",
            "-r",
            "1000000",
        ])
        .args([
            "-n",
            &requests.to_string(),
            "-P",
            &pipeline.to_string(),
            "--csv",
        ])
        .output()
        .expect("running redis-benchmark (scripts/test installs redis-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with(&format!("\"{}\"", test.to_uppercase())))
        .and_then(|l| l.split(',').nth(1))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("unexpected redis-benchmark output: {text}"))
}

/// The `--rounds N` option of a benchmark program (`default` without it); exits with
/// a usage line on anything else.
pub fn rounds_arg(program: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1..) {
        Some([flag, n]) if flag == "--rounds" => n.parse().expect("--rounds N"),
        Some([]) => default,
        _ => {
            eprintln!("usage: {program} [--rounds N]");
            std::process::exit(2);
        }
    }
}

/// The median of `v`.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
