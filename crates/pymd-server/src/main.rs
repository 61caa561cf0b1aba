//! The `pymd` binary: everything lives in the library; this only runs the command line.

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
