//! Malformed files: every parser answers with an `IoError` that names the file and the
//! offending line (1-based), never a panic and never a silent guess.

use qam::io::{Format, IoError, ReadOptions, read_bytes, read_file};

/// Reads `bytes` as `format` (forced) from a file labelled `label`, expects a parse error
/// at `line` whose message contains `needle`.
fn expect_line(format: Format, label: &str, bytes: &[u8], line: usize, needle: &str) {
    expect_line_opts(
        label,
        bytes,
        ReadOptions {
            format: Some(format),
            instance: None,
        },
        line,
        needle,
    );
}

fn expect_line_opts(label: &str, bytes: &[u8], opts: ReadOptions, line: usize, needle: &str) {
    let err = match read_bytes(bytes, label, opts) {
        Ok(p) => panic!(
            "{label}: expected an error at line {line}, got a model with {} variables\n{}",
            p.model.num_variables(),
            String::from_utf8_lossy(bytes)
        ),
        Err(e) => e,
    };
    let msg = err.to_string();
    match &err {
        IoError::Parse { path, line: l, .. } => {
            assert_eq!(path, label);
            assert_eq!(*l, line, "{msg}\n--- file ---\n{}", String::from_utf8_lossy(bytes));
        }
        other => panic!("{label}: expected a parse error at line {line}, got {other:?}"),
    }
    assert!(msg.starts_with(&format!("{label}:{line}: ")), "{msg}");
    assert!(
        msg.to_lowercase().contains(&needle.to_lowercase()),
        "{label}: `{msg}` does not mention `{needle}`"
    );
}

// ---- qbsolv ----------------------------------------------------------------------------

#[test]
fn qbsolv_malformed() {
    let f = Format::Qbsolv;
    let l = "bad.qubo";
    expect_line(f, l, b"c x\np qubo 0 3 1 1\n0 0 1\n0 3 2\n", 4, "out of range");
    expect_line(
        f,
        l,
        b"p qubo 0 3 1 1\n0 0 1\np qubo 0 3 1 1\n0 1 2\n",
        3,
        "duplicate `p` header",
    );
    expect_line(f, l, b"p qubo 0 3 1 1\n0 0 1\n0 1 nan\n", 3, "not finite");
    expect_line(f, l, b"p qubo 0 3 1 1\n0 0 inf\n0 1 1\n", 2, "not finite");
    expect_line(f, l, b"p qubo 0 3 1 1\n0 0 1\n0 1 1e999\n", 3, "not finite");
    expect_line(f, l, b"p qubo 0 3 1 1\n0 0 1\n0 1 abc\n", 3, "expected a number");
    // Counts that disagree with the header are reported at the header.
    expect_line(f, l, b"c\nc\np qubo 0 3 1 2\n0 0 1\n0 1 1\n", 3, "2 couplers");
    expect_line(f, l, b"p qubo 0 3 1 1\n0 0 1\n0 1 1\n1 2 1\n", 1, "1 couplers");
    expect_line(f, l, b"p qubo 0 3 2 1\n0 0 1\n0 1 1\n", 1, "diagonal");
    expect_line(f, l, b"p qubo 0 3 0 3\n0 1 1\n1 2 1\n0 1 3\n", 4, "listed twice");
    expect_line(f, l, b"p qubo 0 3 2 0\n1 1 1\n1 1 2\n", 3, "listed twice");
    expect_line(f, l, b"p qubo 0 3 0 1\n2 1 1\n", 2, "i < j");
    expect_line(f, l, b"c hi\n0 0 1\np qubo 0 3 1 0\n", 2, "before the `p qubo");
    expect_line(f, l, b"p qubo 0 3 1 1\n0 0 1\n0 1\n", 3, "found 2 field");
    expect_line(f, l, b"p qubo 0 3 1 1\n0 0 1 7\n0 1 1\n", 2, "extra");
    expect_line(f, l, b"p qubo 0 x 1 1\n", 1, "maxNodes");
    expect_line(f, l, b"p qubo 0 3 1\n", 1, "6 fields");
    expect_line(f, l, b"p ising 0 3 1 1\n", 1, "p qubo");
    expect_line(f, l, b"c only comments\nc here\n", 2, "missing");
    // Truncated in the middle of an entry.
    expect_line(f, l, b"p qubo 0 3 1 2\n0 0 1\n0 1 2\n1 ", 4, "field");
    // Non-UTF-8 on line 3.
    expect_line(f, l, b"p qubo 0 3 1 1\n0 0 1\n0 1 \xff\xfe\n", 3, "UTF-8");
    // Indices with no variables declared (used to overflow computing the range).
    expect_line(f, l, b"p qubo 0 0 0 1\n0 1 1\n", 2, "0 variables");
    // A damaged header may not make a tiny file allocate gigabytes.
    expect_line(f, l, b"p qubo 0 3000000000 0 0\n", 1, "implausible");
    expect_line(f, l, b"p qubo 0 99999999999 0 0\n", 1, "2^32");
    expect_line(f, l, b"c offset nan\np qubo 0 1 0 0\n", 1, "not finite");
}

// ---- G-set -----------------------------------------------------------------------------

#[test]
fn gset_malformed() {
    let f = Format::Gset;
    let l = "G0.txt";
    expect_line(f, l, b"4 3\n1 2 1\n1 5 1\n2 3 1\n", 3, "out of range");
    expect_line(f, l, b"4 3\n1 2 1\n0 3 1\n2 3 1\n", 3, "out of range");
    expect_line(f, l, b"4 2\n1 2 1\n3 3 1\n", 3, "self-loop");
    expect_line(f, l, b"4 2\n1 2 NaN\n3 4 1\n", 2, "not finite");
    expect_line(f, l, b"4 2\n1 2 -inf\n3 4 1\n", 2, "not finite");
    expect_line(f, l, b"4 3\n1 2 1\n3 4 1\n", 1, "3 edges");
    expect_line(f, l, b"4 1\n1 2 1\n3 4 1\n", 3, "more edges");
    // Repeated edge, also in the other order: reported at the repeat.
    expect_line(f, l, b"4 3\n1 2 1\n2 3 1\n2 1 5\n", 4, "listed twice");
    expect_line(f, l, b"4 3\n# comment\n3 4 1\n1 2 1\n3 4 -1\n", 5, "listed twice");
    expect_line(f, l, b"4 2\n1 2 1\n3\n", 3, "edge");
    expect_line(f, l, b"4 2\n1 2 1 9\n3 4 1\n", 2, "extra");
    expect_line(f, l, b"4\n1 2 1\n", 1, "header");
    expect_line(f, l, b"", 1, "empty");
    expect_line(f, l, b"# nothing\n\n", 1, "empty");
    expect_line(f, l, b"4 2\n1 2 1\n3 4 \xc3\x28\n", 3, "UTF-8");
    expect_line(f, l, b"4000000000 0\n", 1, "implausible");
}

// ---- OR-Library bqp --------------------------------------------------------------------

#[test]
fn bqp_malformed() {
    let f = Format::Bqp;
    let l = "bqp9.txt";
    // The file promises 2 instances but holds 1.
    expect_line(f, l, b"2\n3 1\n1 1 5\n", 3, "instance 2");
    expect_line(f, l, b"1\n3 2\n1 1 5\n1 4 2\n", 4, "out of range");
    expect_line(f, l, b"1\n3 2\n1 1 5\n0 2 2\n", 4, "out of range");
    expect_line(f, l, b"1\n3 2\n1 1 5\n1 2 nan\n", 4, "not finite");
    // Too few entries: the file ends early.
    expect_line(f, l, b"1\n3 3\n1 1 5\n1 2 2\n", 4, "file ends early");
    // Too many: a token after the last instance.
    expect_line(f, l, b"1\n3 1\n1 1 5\n2 2 1\n", 4, "after the last");
    expect_line(f, l, b"1\n3 3\n1 1 5\n1 2 2\n2 1 3\n", 5, "listed twice");
    expect_line(f, l, b"1\n3 2\n1 1 5\n 1 1 2\n", 4, "listed twice");
    expect_line(f, l, b"0\n", 1, "0 instances");
    expect_line(f, l, b"x\n", 1, "number of instances");
    expect_line(f, l, b"1\n3 two\n", 2, "number of entries");
    expect_line(f, l, b"1\n3\n2\n1 1 1\n1 4 1\n", 5, "out of range");
    expect_line(f, l, b"1\n2 1\n1 2 \xff\n", 3, "UTF-8");
    expect_line(f, l, b"", 1, "file ends early");
    // Asking for an instance the file does not hold.
    let opts = |k| ReadOptions {
        format: Some(f),
        instance: Some(k),
    };
    expect_line_opts(l, b"\n2\n1 0\n1 0\n", opts(3), 2, "instance 3");
    expect_line_opts(l, b"2\n1 0\n1 0\n", opts(0), 1, "instance 0");
    // Errors in instance 1 are found even when reading instance 2.
    expect_line_opts(l, b"2\n2 1\n1 3 1\n1 0\n", opts(2), 3, "out of range");
    // A damaged instance count is refused before anyone loops over it (`qam solve` solves
    // every instance of a file, and tried four billion times on this one).
    let e = qam::io::instance_count(b"4294967296\n3 1\n1 1 5\n", l, Some(f)).unwrap_err();
    let e = e.to_string();
    assert!(e.starts_with("bqp9.txt:1:") && e.contains("at most 2"), "{e}");
    assert_eq!(qam::io::instance_count(b"2\n1 0\n1 0\n", l, Some(f)).unwrap(), 2);
    assert_eq!(qam::io::instance_count(b"2 1 0 1 0", l, Some(f)).unwrap(), 2);
}

// ---- MatrixMarket ----------------------------------------------------------------------

const MM: &str = "%%MatrixMarket matrix coordinate real symmetric\n";
const MMG: &str = "%%MatrixMarket matrix coordinate real general\n";

fn mm(head: &str, body: &str) -> Vec<u8> {
    format!("{head}{body}").into_bytes()
}

#[test]
fn mtx_malformed() {
    let f = Format::MatrixMarket;
    let l = "m.mtx";
    expect_line(
        f,
        l,
        b"%%MatrixMarket matrix array real general\n2 2\n",
        1,
        "coordinate",
    );
    expect_line(f, l, b"3 3 1\n1 1 1\n", 1, "banner");
    expect_line(
        f,
        l,
        b"%%MatrixMarket matrix coordinate complex general\n",
        1,
        "complex",
    );
    expect_line(
        f,
        l,
        b"%%MatrixMarket matrix coordinate real skew-symmetric\n",
        1,
        "skew",
    );
    expect_line(f, l, &mm(MM, "% c\n3 3 2\n1 1 1\n4 1 1\n"), 5, "out of range");
    expect_line(f, l, &mm(MM, "3 3 2\n1 1 1\n2 0 1\n"), 4, "out of range");
    expect_line(f, l, &mm(MM, "3 3 1\n1 1 1\n2 1 1\n"), 4, "more entries");
    expect_line(f, l, &mm(MM, "3 3 3\n1 1 1\n2 1 1\n"), 2, "3 entries");
    expect_line(f, l, &mm(MM, "3 3 2\n1 1 1\n2 1 NaN\n"), 4, "not finite");
    expect_line(f, l, &mm(MM, "3 3 2\n1 1 1\n2 1 inf\n"), 4, "not finite");
    // Symmetric: (2,1) and (1,2) are the same entry.
    expect_line(f, l, &mm(MM, "3 3 3\n2 1 1\n3 1 1\n1 2 1\n"), 5, "more than once");
    // General: the same ordered entry twice (the other order is fine, it adds up).
    expect_line(f, l, &mm(MMG, "3 3 3\n2 1 1\n1 2 1\n2 1 1\n"), 5, "more than once");
    expect_line(f, l, &mm(MMG, "3 3 2\n2 2 1\n2 2 1\n"), 4, "listed twice");
    expect_line(f, l, &mm(MM, "3 4 0\n"), 2, "3 x 4");
    expect_line(f, l, &mm(MM, "3 3\n"), 2, "size line");
    expect_line(f, l, &mm(MM, "% only comments\n"), 2, "missing the size line");
    expect_line(f, l, &mm(MM, "3 3 2\n1 1 1\n2"), 4, "field");
    expect_line(f, l, &mm(MM, "% offset inf\n3 3 0\n"), 2, "not finite");
    let mut bad = mm(MM, "3 3 1\n1 1 ");
    bad.extend_from_slice(b"\xff\n");
    expect_line(f, l, &bad, 3, "UTF-8");
    expect_line(f, l, &mm(MM, "3000000000 3000000000 0\n"), 2, "implausible");
    expect_line(
        f,
        l,
        b"%%MatrixMarket matrix coordinate pattern symmetric\n3 3 1\n2 1 1\n",
        3,
        "extra",
    );
}

// ---- JSON ------------------------------------------------------------------------------

#[test]
fn json_malformed() {
    let f = Format::Json;
    let l = "m.json";
    let head = "{\n\"format\": \"qam-model\",\n\"version\": 1,\n\"vartype\": \"SPIN\",\n\"num_variables\": 3,\n";
    let j = |body: &str| format!("{head}{body}}}\n").into_bytes();
    // Syntax errors and values of the wrong type carry serde_json's line.
    expect_line(f, l, &j("\"linear\": [[0, 1.0],\n[1 2.0]]\n"), 7, "invalid JSON");
    expect_line(f, l, &j("\"offset\": NaN\n"), 6, "invalid JSON");
    expect_line(f, l, &j("\"offset\": 1e999\n"), 6, "invalid JSON");
    expect_line(f, l, b"{\n\"format\": \"qam-model\",\n\"version\": 1", 3, "EOF");
    expect_line(f, l, &j("\"quadratic\": [[0, 1, \"x\"]]\n"), 6, "not a qam model");
    let bad_vt = "{\n\"format\": \"qam-model\",\n\"version\": 1,\n\"vartype\": \"BOOL\",\n\"num_variables\": 1}";
    expect_line(f, l, bad_vt.as_bytes(), 4, "BOOL");
    // Bad elements of the lists are found at their line.
    let q = "\"quadratic\": [\n  [0, 1, 1.0],\n  [1, 5, 2.0]\n]\n";
    expect_line(f, l, &j(q), 8, "quadratic[1]: index 5 out of range");
    let q = "\"quadratic\": [\n  [0, 1, 1.0],\n  [1, 2, 2.0],\n  [1, 0, 3.0]\n]\n";
    expect_line(f, l, &j(q), 9, "listed twice");
    let q = "\"quadratic\": [[0, 1, 1.0],\n  [2, 2, 2.0]]\n";
    expect_line(f, l, &j(q), 7, "itself");
    let lin = "\"linear\": [[0, 1.0],\n [0, 2.0]]\n";
    expect_line(f, l, &j(lin), 7, "listed twice");
    expect_line(f, l, b"{\"format\": \"qam-model\",\n\xff}", 2, "UTF-8");
    // dimod BQM with an index past the end.
    let d = "{\"type\": \"BinaryQuadraticModel\", \"variable_type\": \"SPIN\",\n\"linear_biases\": [0.0, 1.0],\n\
             \"quadratic_biases\": [1.0], \"quadratic_head\": [0],\n\"quadratic_tail\": [7]}";
    expect_line(f, l, d.as_bytes(), 4, "invalid indices");
    // Whole-document problems have no line: they name the field instead.
    for (body, needle) in [
        (
            "{\"format\": \"other\", \"version\": 1, \"vartype\": \"SPIN\", \"num_variables\": 1}",
            "format",
        ),
        (
            "{\"format\": \"qam-model\", \"version\": 2, \"vartype\": \"SPIN\", \"num_variables\": 1}",
            "version",
        ),
        (
            "{\"format\": \"qam-model\", \"version\": 1, \"vartype\": \"SPIN\", \"num_variables\": 2, \"linear\": [1.0]}",
            "`linear` has 1 values",
        ),
        (
            "{\"format\": \"qam-model\", \"version\": 1, \"vartype\": \"SPIN\", \"num_variables\": 4000000000}",
            "implausible",
        ),
        (
            "{\"type\": \"BinaryQuadraticModel\", \"variable_type\": \"SPIN\"}",
            "linear_biases",
        ),
    ] {
        match read_bytes(
            body.as_bytes(),
            l,
            ReadOptions {
                format: Some(f),
                instance: None,
            },
        ) {
            Err(e @ IoError::Invalid { .. }) => {
                let m = e.to_string();
                assert!(m.starts_with("m.json: ") && m.contains(needle), "{m}");
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}

// ---- through the file system -----------------------------------------------------------

#[test]
fn errors_name_the_real_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.qubo");
    std::fs::write(&path, "p qubo 0 2 0 1\n0 1 1\n1 0 1\n").unwrap();
    let e = read_file(&path, ReadOptions::default()).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}:3: ", path.display())), "{e}");
    let missing = dir.path().join("missing.gset");
    let e = read_file(&missing, ReadOptions::default()).unwrap_err();
    assert!(matches!(e, IoError::File { .. }));
    assert!(e.to_string().contains("missing.gset"), "{e}");
    // Unknown extension and a first line that says nothing.
    let odd = dir.path().join("odd.dat");
    std::fs::write(&odd, "hello world\n").unwrap();
    let e = read_file(&odd, ReadOptions::default()).unwrap_err().to_string();
    assert!(e.contains("odd.dat") && e.contains("--format"), "{e}");
}
