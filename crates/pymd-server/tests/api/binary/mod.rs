//! The real `pymd` binary as a child process: a helper that starts it and waits for the line on
//! its stdout that names its real address (no fixed ports, no sleeping), and the end-to-end test
//! of the README's first command.

pub mod process;

pub mod first_run;
