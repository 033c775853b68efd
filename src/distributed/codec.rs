//! Compact little-endian byte encoding of models and job envelopes, for sending work
//! between processes (MPI ranks). Decoding checks every length and index, so a corrupt
//! message is an error, never a panic.

use crate::model::{Couplings, Ising, Model, ModelError, Qubo, Vartype};

/// Errors decoding a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodecError {
    /// The message ended before a field could be read.
    #[error("message truncated while reading {0}")]
    Truncated(&'static str),
    /// A field holds an impossible value.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Field name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The decoded parts do not form a valid model.
    #[error("invalid model: {0}")]
    Model(#[from] ModelError),
}

/// Appends values to a byte buffer.
#[derive(Default, Debug)]
pub struct Writer {
    /// The encoded bytes.
    pub buf: Vec<u8>,
}

impl Writer {
    /// Appends a `u8`.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    /// Appends a `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends an `f64`.
    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a length-prefixed byte string.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u64(v.len() as u64);
        self.buf.extend_from_slice(v);
        self
    }
    /// Appends a length-prefixed `i8` slice (a state).
    pub fn state(&mut self, v: &[i8]) -> &mut Self {
        self.u64(v.len() as u64);
        self.buf.extend(v.iter().map(|&x| x as u8));
        self
    }
}

/// Reads values back from a byte slice.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CodecError> {
        if self.buf.len() < n {
            return Err(CodecError::Truncated(what));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }

    /// Reads a `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, CodecError> {
        Ok(self.take(1, what)?[0])
    }
    /// Reads a `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, CodecError> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    /// Reads a `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, CodecError> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }
    /// Reads an `f64`.
    pub fn f64(&mut self, what: &'static str) -> Result<f64, CodecError> {
        Ok(f64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }
    /// Reads a length-prefixed byte string.
    pub fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], CodecError> {
        let n = self.len(what, 1)?;
        self.take(n, what)
    }
    /// Reads a length-prefixed state.
    pub fn state(&mut self, what: &'static str) -> Result<Vec<i8>, CodecError> {
        Ok(self.bytes(what)?.iter().map(|&b| b as i8).collect())
    }
    /// Reads a count of items of `item_size` bytes each, checked against what is left.
    fn len(&mut self, what: &'static str, item_size: usize) -> Result<usize, CodecError> {
        let n = self.u64(what)?;
        if n.saturating_mul(item_size as u64) > self.buf.len() as u64 {
            return Err(CodecError::Truncated(what));
        }
        Ok(n as usize)
    }
    /// True when everything was read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Encodes a model: vartype, offset, dense linear terms, upper-triangle couplings.
pub fn encode_model(model: &Model, w: &mut Writer) {
    w.u8(match model.vartype() {
        Vartype::Binary => 0,
        Vartype::Spin => 1,
    });
    w.f64(model.offset());
    w.u64(model.num_variables() as u64);
    for &v in model.linear() {
        w.f64(v);
    }
    w.u64(model.num_interactions() as u64);
    for (i, j, v) in model.couplings().iter_upper() {
        w.u32(i as u32).u32(j as u32).f64(v);
    }
}

/// Decodes a model written by [`encode_model`].
pub fn decode_model(r: &mut Reader) -> Result<Model, CodecError> {
    let vt = r.u8("vartype")?;
    let offset = r.f64("offset")?;
    let n = r.len("num_variables", 8)?;
    let linear = (0..n).map(|_| r.f64("linear")).collect::<Result<Vec<_>, _>>()?;
    let m = r.len("num_interactions", 16)?;
    let mut triplets = Vec::with_capacity(m);
    for _ in 0..m {
        triplets.push((r.u32("coupling i")?, r.u32("coupling j")?, r.f64("coupling value")?));
    }
    let quad = Couplings::from_unique_triplets(n, triplets)?;
    Ok(match vt {
        0 => Model::Qubo(Qubo::new(linear, quad, offset)?),
        1 => Model::Ising(Ising::new(linear, quad, offset)?),
        v => {
            return Err(CodecError::Invalid {
                field: "vartype",
                reason: format!("{v} is neither 0 (binary) nor 1 (spin)"),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_round_trip_and_truncation() {
        let q = Qubo::from_entries(4, &[(0, 0, -1.5), (0, 3, 2.0), (1, 2, -0.25)], 0.75).unwrap();
        for model in [Model::Qubo(q.clone()), Model::Ising(q.to_ising())] {
            let mut w = Writer::default();
            encode_model(&model, &mut w);
            let mut r = Reader::new(&w.buf);
            assert_eq!(decode_model(&mut r).unwrap(), model);
            assert!(r.is_empty());
            for cut in 0..w.buf.len() {
                assert!(decode_model(&mut Reader::new(&w.buf[..cut])).is_err());
            }
        }
    }

    #[test]
    fn corrupt_index_is_an_error() {
        let q = Qubo::from_entries(2, &[(0, 1, 1.0)], 0.0).unwrap();
        let mut w = Writer::default();
        encode_model(&Model::Qubo(q), &mut w);
        let pos = w.buf.len() - 16; // first u32 of the only coupling
        w.buf[pos] = 9;
        assert!(matches!(
            decode_model(&mut Reader::new(&w.buf)),
            Err(CodecError::Model(_))
        ));
    }
}
