//! Names of the library's choice enums: the one list of the values the command line,
//! `qam serve` requests and the Python module accept (kebab-case, e.g. `gpu-sa`,
//! `label-prop`, `nelder-mead`).
//!
//! Each enum that a user picks by name ([`SolverKind`](crate::solvers::registry::SolverKind),
//! [`Kernel`](crate::gpu::anneal::Kernel), [`SubSolverKind`](crate::decompose::SubSolverKind),
//! [`Strategy`](crate::decompose::Strategy), [`PartitionMethod`](crate::decompose::PartitionMethod),
//! [`SubStart`](crate::decompose::SubStart), [`ScheduleKind`](crate::solvers::ScheduleKind),
//! [`Optimizer`](crate::qaoa::Optimizer), [`Device`](crate::qaoa::Device),
//! [`Precision`](crate::qaoa::Precision), [`Isa`](crate::qaoa::Isa)) implements [`Named`]:
//! every value in `--help` order, its name, older spellings still accepted, and a one-line
//! description. `Display` and `FromStr` use the names, and the enums used in solver
//! parameters (de)serialize as their names.
//!
//! ```
//! use qam::names::Named;
//! use qam::solvers::registry::SolverKind;
//!
//! assert_eq!("gpu-sa".parse::<SolverKind>().unwrap(), SolverKind::GpuSa);
//! assert_eq!(SolverKind::from_name("cpu-sa"), Some(SolverKind::Sa)); // old spelling
//! assert_eq!(SolverKind::GpuSa.to_string(), "gpu-sa");
//! let err = "gpu".parse::<SolverKind>().unwrap_err().to_string();
//! assert!(err.contains("solver") && err.contains("gpu-sa"), "{err}");
//! assert!(SolverKind::ALL.iter().all(|k| !k.help().is_empty()));
//! ```

/// An enum whose values are chosen by name (CLI values, JSON strings).
pub trait Named: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// What a value names, for messages (`solver`, `kernel`, ...).
    const WHAT: &'static str;
    /// Every value, in the order `--help` lists them.
    const ALL: &'static [Self];
    /// The name (kebab-case).
    fn name(self) -> &'static str;
    /// Older spellings that are still accepted.
    fn aliases(self) -> &'static [&'static str];
    /// A one-line description (shown by `--help`).
    fn help(self) -> &'static str;
    /// The value named `name` (or one of its aliases).
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.name() == name || v.aliases().contains(&name))
    }
    /// The value named `name`, or an [`UnknownName`] error listing the names.
    fn parse_name(name: &str) -> Result<Self, UnknownName> {
        Self::from_name(name).ok_or_else(|| UnknownName {
            what: Self::WHAT,
            name: name.to_string(),
            expected: Self::ALL.iter().map(|v| v.name()).collect::<Vec<_>>().join(", "),
        })
    }
}

/// A name that is none of an enum's values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}` (expected one of: {expected})")]
pub struct UnknownName {
    /// What the name should have named (`solver`, `kernel`, ...).
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// The accepted names, comma-separated.
    pub expected: String,
}

/// Implements [`Named`], `Display`, `FromStr` and inherent `ALL`, `name()`, `from_name()`
/// for an enum: `Variant = "name" | "old-name": "help"` per value. With `name()` after the
/// type, the enum already has an inherent `name()` (kept where it is defined) and only
/// `Variant: "help"` is listed. `serde` first also implements `Serialize` /
/// `Deserialize` as the name (aliases accepted; an unknown name is serde's "unknown
/// variant" error listing the names).
macro_rules! named_enum {
    (serde $($rest:tt)*) => {
        $crate::names::named_enum!($($rest)*);
        $crate::names::named_enum!(@serde $($rest)*);
    };
    (@serde $ty:ident $($rest:tt)*) => {
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                <$ty as $crate::names::Named>::from_name(&s).ok_or_else(|| {
                    let names: Vec<String> =
                        <$ty as $crate::names::Named>::ALL.iter().map(|v| format!("`{}`", v.name())).collect();
                    ::serde::de::Error::custom(format!(
                        "unknown variant `{s}`, expected one of {}",
                        names.join(", ")
                    ))
                })
            }
        }
    };
    ($ty:ident, $what:literal, name() { $($var:ident : $help:literal),+ $(,)? }) => {
        impl $crate::names::Named for $ty {
            const WHAT: &'static str = $what;
            const ALL: &'static [$ty] = &[$($ty::$var),+];
            fn name(self) -> &'static str {
                $ty::name(self)
            }
            fn aliases(self) -> &'static [&'static str] {
                &[]
            }
            fn help(self) -> &'static str {
                match self {
                    $($ty::$var => $help),+
                }
            }
        }
        $crate::names::named_enum!(@fmt $ty);
    };
    ($ty:ident, $what:literal { $($var:ident = $name:literal $(| $alias:literal)* : $help:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in the order `--help` lists them.
            pub const ALL: &'static [$ty] = &[$($ty::$var),+];

            /// The name used on the command line, in JSON and in reports.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$var => $name),+
                }
            }

            /// The value named `name` (older spellings accepted).
            pub fn from_name(name: &str) -> Option<$ty> {
                <$ty as $crate::names::Named>::from_name(name)
            }
        }
        impl $crate::names::Named for $ty {
            const WHAT: &'static str = $what;
            const ALL: &'static [$ty] = $ty::ALL;
            fn name(self) -> &'static str {
                $ty::name(self)
            }
            fn aliases(self) -> &'static [&'static str] {
                match self {
                    $($ty::$var => &[$($alias),*]),+
                }
            }
            fn help(self) -> &'static str {
                match self {
                    $($ty::$var => $help),+
                }
            }
        }
        $crate::names::named_enum!(@fmt $ty);
    };
    (@fmt $ty:ident) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
        impl std::str::FromStr for $ty {
            type Err = $crate::names::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty as $crate::names::Named>::parse_name(s)
            }
        }
    };
}
pub(crate) use named_enum;

#[cfg(test)]
mod tests {
    use super::Named;
    use crate::decompose::{PartitionMethod, Strategy, SubSolverKind, SubStart};
    use crate::gpu::anneal::Kernel;
    use crate::qaoa::{Device, Isa, Optimizer, Precision};
    use crate::solvers::ScheduleKind;
    use crate::solvers::registry::SolverKind;

    /// Names are unique, kebab-case, parse back (also through serde where the enum is a
    /// solver parameter), and every value is listed once.
    fn check<T>(serde: bool)
    where
        T: Named + std::str::FromStr + serde::Serialize + serde::de::DeserializeOwned,
    {
        let mut seen = std::collections::HashSet::new();
        for &v in T::ALL {
            let n = v.name();
            assert!(seen.insert(n), "{} `{n}` listed twice", T::WHAT);
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{n}"
            );
            assert_eq!(T::from_name(n), Some(v));
            assert!(n.parse::<T>().is_ok());
            assert!(!v.help().is_empty());
            for a in v.aliases() {
                assert_eq!(T::from_name(a), Some(v));
                assert!(seen.insert(a), "alias `{a}` clashes");
            }
            if serde {
                let s = serde_json::to_string(&v).unwrap();
                assert_eq!(s, format!("\"{n}\""));
                assert_eq!(serde_json::from_str::<T>(&s).unwrap(), v);
            }
        }
        assert!(T::from_name("no-such-name").is_none());
        let e = T::parse_name("no-such-name").unwrap_err().to_string();
        assert!(e.contains(T::WHAT) && e.contains(T::ALL[0].name()), "{e}");
        if serde {
            let e = serde_json::from_str::<T>("\"no-such-name\"").unwrap_err().to_string();
            assert!(
                e.contains("unknown variant `no-such-name`") && e.contains(T::ALL[0].name()),
                "{e}"
            );
        }
    }

    #[test]
    fn every_named_enum_round_trips() {
        check::<SolverKind>(true);
        check::<Kernel>(true);
        check::<SubSolverKind>(true);
        check::<Strategy>(true);
        check::<PartitionMethod>(true);
        check::<SubStart>(true);
        check::<ScheduleKind>(true);
        check::<Optimizer>(true);
        check::<Device>(true);
        check::<Precision>(true);
        check::<Isa>(true);
        for &w in crate::generate::Weights::ALL {
            assert_eq!(w.name().parse::<crate::generate::Weights>().unwrap(), w);
        }
        for &l in crate::orchestrate::LoadModel::ALL {
            assert_eq!(l.name().parse::<crate::orchestrate::LoadModel>().unwrap(), l);
        }
        assert_eq!(SolverKind::from_name("cpu-sa"), Some(SolverKind::Sa));
        assert_eq!(PartitionMethod::LabelPropagation.name(), "label-prop");
    }
}
