//! Compiles the `long double` arithmetic shim (see `src/long_double.rs`).

fn main() {
    println!("cargo:rerun-if-changed=csrc/long_double.c");
    cc::Build::new()
        .file("csrc/long_double.c")
        .flag_if_supported("-std=c11")
        .compile("tessera_long_double");
}
