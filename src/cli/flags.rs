//! One meaning per flag: the deprecated spellings (still accepted, with a warning), the
//! flags a user gave explicitly (to refuse the ones a solver does not use), and the
//! per-command thread pool of `--threads`.

use anyhow::Result;
use clap::ArgMatches;
use clap::parser::ValueSource;
use std::ffi::OsString;

/// Renamed flags: `(subcommands, old, new)`. The old spelling is a hidden clap alias of
/// the new one; [`warn_deprecated`] prints one line on stderr when it is used.
pub const RENAMED: &[(&[&str], &str, &str)] = &[
    (&["solve", "bench"], "--backend", "--kernel"),
    (&["solve", "bench"], "--qaoa-backend", "--qaoa-device"),
    (&["qaoa"], "--backend", "--qaoa-device"),
    (&["qaoa"], "--precision", "--qaoa-precision"),
    (&["orchestrate", "scale-test"], "--backend", "--sub-solver"),
    (&["orchestrate", "scale-test"], "--reads", "--sub-reads"),
    (&["orchestrate", "scale-test"], "--sweeps", "--sub-sweeps"),
    (&["gen"], "--format", "--to"),
];

/// The subcommands of `qam` (to find which one `argv` runs).
const SUBCOMMANDS: &[&str] = &[
    "solve",
    "info",
    "gen",
    "convert",
    "bench",
    "devices",
    "orchestrate",
    "gen-scenario",
    "scale-test",
    "decompose",
    "qaoa",
    "serve",
];

/// The deprecation warnings for `argv` (program name first): one line per old spelling
/// used, naming the new one.
pub fn deprecations(argv: &[OsString]) -> Vec<String> {
    let args: Vec<&str> = argv.iter().skip(1).filter_map(|a| a.to_str()).collect();
    let Some(pos) = args.iter().position(|a| SUBCOMMANDS.contains(a)) else {
        return Vec::new();
    };
    let sub = args[pos];
    let mut out = Vec::new();
    for a in &args[pos + 1..] {
        if *a == "--" {
            break;
        }
        let flag = a.split('=').next().unwrap_or(a);
        for (subs, old, new) in RENAMED {
            if subs.contains(&sub) && flag == *old {
                let line = format!("warning: `qam {sub} {old}` is deprecated; use `{new}` (same values)");
                if !out.contains(&line) {
                    out.push(line);
                }
            }
        }
    }
    out
}

/// Prints [`deprecations`] of this process's arguments on stderr.
pub fn warn_deprecated() {
    let argv: Vec<OsString> = std::env::args_os().collect();
    for line in deprecations(&argv) {
        eprintln!("{line}");
    }
}

/// The flags set on the command line in `m` (kebab-case ids, defaults excluded).
pub fn given(m: &ArgMatches) -> Vec<String> {
    m.ids()
        .filter(|id| matches!(m.try_get_raw(id.as_str()), Ok(Some(_))))
        .filter(|id| m.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().replace('_', "-"))
        .collect()
}

/// Runs `f` on a rayon pool of `threads` threads (`None` or 0: the global pool, i.e. all
/// cores or RAYON_NUM_THREADS). The pool is built for this command only, never installed
/// globally, so results do not depend on it beyond speed.
pub fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let Some(t) = threads else {
        return f();
    };
    qam::limits::check_threads("threads", t).map_err(|e| anyhow::anyhow!("--threads: {e}"))?;
    if t == 0 {
        // 0 = every core, as in `qam bench --threads`.
        return f();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(t)
        .build()
        .map_err(|e| anyhow::anyhow!("--threads {t}: cannot start the thread pool: {e}"))?;
    pool.install(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn old_spellings_warn_once_per_subcommand() {
        let w = deprecations(&argv("qam solve f.txt --backend dense --backend=color"));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("--kernel"), "{w:?}");
        let w = deprecations(&argv("qam --device 0 qaoa f.txt --backend cpu"));
        assert!(w[0].contains("--qaoa-device"), "{w:?}");
        let w = deprecations(&argv("qam orchestrate s.json --backend sa --reads 2"));
        assert_eq!(w.len(), 2, "{w:?}");
        // New spellings, other subcommands and positional values after `--` are quiet.
        assert!(deprecations(&argv("qam solve f.txt --kernel dense")).is_empty());
        assert!(deprecations(&argv("qam convert a.txt b.qubo --format gset")).is_empty());
        assert!(deprecations(&argv("qam solve -- --backend")).is_empty());
    }
}
