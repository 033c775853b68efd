//! The `qam` command line: batch solving, instance generation, format conversion and
//! benchmarks. See `qam --help` and README.md.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // A closed stdout pipe (`qam ... | head -1`) ends the process quietly like any Unix
    // filter, instead of a panic in `println!`. Output files are atomic, so a process ended
    // this way never leaves a truncated one.
    #[cfg(target_os = "linux")]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // RAYON_NUM_THREADS=100000 would spawn that many threads (and hang): clamp it.
    if let Some(t) = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        && t > qam::limits::max_threads()
    {
        let max = qam::limits::max_threads();
        eprintln!("warning: RAYON_NUM_THREADS={t} exceeds the limit of {max} threads; using {max}");
        let _ = rayon::ThreadPoolBuilder::new().num_threads(max).build_global();
    }
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            cli::exit::exit_code(&e)
        }
    }
}
