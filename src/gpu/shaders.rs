//! Every WGSL kernel of qam in one registry, composed one way.
//!
//! A [`Shader`] is a family's common file (`anneal_common.wgsl` or `qaoa_common.wgsl`:
//! parameter block, helpers) followed by the kernel's own file. Sizes the host chooses
//! per device (workgroup-memory arrays, workgroup sizes) are **template constants**: the
//! kernel file declares each as `const NAME: u32 = <default>u;`, so every file is valid
//! WGSL as written (and validates with naga without a device at its defaults), and the
//! host sets a value by rewriting that one declaration ([`Shader::source`]). That is the
//! only templating there is. (WGSL `override` constants were not used: override-sized
//! workgroup arrays were not verified on naga 30 with lavapipe and GL in this session,
//! while a rewritten `const` works wherever the kernels already ran.)

use std::fmt::Write as _;

const ANNEAL_COMMON: &str = concat!(
    include_str!("../../shaders/rng_common.wgsl"),
    include_str!("../../shaders/anneal_common.wgsl")
);
const QAOA_COMMON: &str = include_str!("../../shaders/qaoa_common.wgsl");
const CQM_COMMON: &str = concat!(
    include_str!("../../shaders/rng_common.wgsl"),
    include_str!("../../shaders/cqm_common.wgsl")
);

/// One kernel file with its family's common prelude and its template constants.
#[derive(Clone, Copy, Debug)]
pub struct Shader {
    /// File name under `shaders/`, e.g. `anneal_sweep_wg.wgsl`.
    pub file: &'static str,
    common: &'static str,
    body: &'static str,
    /// Template constants the host may set (declared `const NAME: u32 = ...;` in `body`).
    pub constants: &'static [&'static str],
}

macro_rules! shader {
    ($name:ident, $common:expr, $file:literal, [$($c:literal),*]) => {
        #[doc = concat!("`shaders/", $file, "`.")]
        pub const $name: Shader = Shader {
            file: $file,
            common: $common,
            body: include_str!(concat!("../../shaders/", $file)),
            constants: &[$($c),*],
        };
    };
}

shader!(ANNEAL_INIT, ANNEAL_COMMON, "anneal_init.wgsl", []);
shader!(ANNEAL_ENERGY, ANNEAL_COMMON, "anneal_energy.wgsl", []);
shader!(ANNEAL_SWEEP_WG, ANNEAL_COMMON, "anneal_sweep_wg.wgsl", ["NMAX", "WGS"]);
shader!(
    ANNEAL_SWEEP_DENSE,
    ANNEAL_COMMON,
    "anneal_sweep_dense.wgsl",
    ["NMAX", "WGS"]
);
shader!(ANNEAL_SWEEP_COLOR, ANNEAL_COMMON, "anneal_sweep_color.wgsl", []);
shader!(PT_EXCHANGE, ANNEAL_COMMON, "pt_exchange.wgsl", []);
shader!(PA_RESAMPLE, ANNEAL_COMMON, "pa_resample.wgsl", []);
shader!(QAOA_COST, QAOA_COMMON, "qaoa_cost.wgsl", []);
shader!(QAOA_PHASE, QAOA_COMMON, "qaoa_phase.wgsl", []);
shader!(QAOA_MIXER, QAOA_COMMON, "qaoa_mixer.wgsl", ["TILE"]);
shader!(QAOA_REDUCE, QAOA_COMMON, "qaoa_reduce.wgsl", []);
shader!(QAOA_SAMPLE, QAOA_COMMON, "qaoa_sample.wgsl", []);
shader!(QAOA_PAIR, QAOA_COMMON, "qaoa_pair.wgsl", []);
shader!(CQM_ANNEAL, CQM_COMMON, "cqm_anneal.wgsl", ["WGS"]);

/// Every shader qam compiles (annealing, tempering, population annealing, QAOA,
/// constrained annealing).
pub const ALL: [Shader; 14] = [
    ANNEAL_INIT,
    ANNEAL_ENERGY,
    ANNEAL_SWEEP_WG,
    ANNEAL_SWEEP_DENSE,
    ANNEAL_SWEEP_COLOR,
    PT_EXCHANGE,
    PA_RESAMPLE,
    QAOA_COST,
    QAOA_PHASE,
    QAOA_MIXER,
    QAOA_REDUCE,
    QAOA_SAMPLE,
    QAOA_PAIR,
    CQM_ANNEAL,
];

/// A template constant the shader does not declare (a bug in the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} declares no template constant `const {name}: u32 = ...;`")]
pub struct UnknownConstant {
    /// The shader file.
    pub file: &'static str,
    /// The constant asked for.
    pub name: String,
}

impl Shader {
    /// The full source: common prelude, then the kernel with each `(NAME, value)` set.
    /// Constants not given keep their defaults.
    pub fn source(&self, values: &[(&str, u32)]) -> Result<String, UnknownConstant> {
        let mut body = self.body.to_string();
        for &(name, value) in values {
            body = set_constant(&body, name, value).ok_or_else(|| UnknownConstant {
                file: self.file,
                name: name.to_string(),
            })?;
        }
        Ok(format!("{}\n{body}", self.common))
    }

    /// The full source with every template constant at its default.
    pub fn default_source(&self) -> String {
        format!("{}\n{}", self.common, self.body)
    }

    /// A cache key naming the file and the constants' values.
    pub fn key(&self, values: &[(&str, u32)]) -> String {
        let mut k = self.file.to_string();
        for (name, value) in values {
            let _ = write!(k, "[{name}={value}]");
        }
        k
    }
}

/// `src` with the line `const NAME: u32 = ...;` replaced by `const NAME: u32 = {value}u;`;
/// `None` when no such line exists.
fn set_constant(src: &str, name: &str, value: u32) -> Option<String> {
    let prefix = format!("const {name}: u32 = ");
    let mut found = false;
    let mut out = String::with_capacity(src.len() + 8);
    for line in src.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if !found && trimmed.starts_with(&prefix) && trimmed.trim_end().ends_with(';') {
            found = true;
            let _ = write!(out, "{prefix}{value}u;");
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_declared_and_set() {
        for s in ALL {
            for &c in s.constants {
                let src = s.source(&[(c, 4096)]).unwrap();
                assert!(src.contains(&format!("const {c}: u32 = 4096u;")), "{} {c}", s.file);
                assert_ne!(src, s.default_source(), "{} {c}: the default is not 4096", s.file);
            }
        }
        let e = QAOA_PAIR.source(&[("TILE", 8)]).unwrap_err();
        assert_eq!(e.name, "TILE");
        assert_eq!(
            set_constant("const A: u32 = 1u;\nconst AB: u32 = 2u;\n", "AB", 7).unwrap(),
            "const A: u32 = 1u;\nconst AB: u32 = 7u;\n"
        );
    }
}
