//! The real `pymd` binary as a child process: a helper that starts it and waits for the line on
//! its stdout that names its real address (no fixed ports, no sleeping).

pub mod process;
