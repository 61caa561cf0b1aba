//! The `pymd` binary: everything lives in the library; this only runs the command line, with
//! mimalloc as the allocator (see `docs/perf/README.md` for what it measured against glibc's).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match pymd_server::cli::run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pymd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
