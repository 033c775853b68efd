//! Every shader parses and validates with naga (no device needed): the per-family lists
//! and the one registry, `qam::gpu::shaders`.

#[test]
fn annealing_shaders_validate() {
    for (name, src) in qam::gpu::anneal::shader_sources() {
        let module =
            naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&src)));
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
}

#[test]
fn qaoa_shaders_validate() {
    for (name, src) in qam::qaoa::gpu_shader_sources() {
        let module =
            naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&src)));
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
}

fn validate(name: &str, src: &str) {
    let module = naga::front::wgsl::parse_str(src).unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
}

/// The one registry (`qam::gpu::shaders`): every kernel at its template constants'
/// defaults and at other values the hosts use (small and large workgroup arrays and
/// sizes), and the registry covers every file in shaders/.
#[test]
fn every_registered_shader_validates_at_several_template_values() {
    use qam::gpu::shaders::ALL;
    for s in ALL {
        validate(s.file, &s.default_source());
        for &c in s.constants {
            for v in [16u32, 256, 4096] {
                let src = s.source(&[(c, v)]).unwrap();
                assert!(src.contains(&format!("const {c}: u32 = {v}u;")));
                validate(&format!("{} {c}={v}", s.file), &src);
            }
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".wgsl") && !f.ends_with("_common.wgsl"))
        .collect();
    files.sort();
    let mut registered: Vec<String> = ALL.iter().map(|s| s.file.to_string()).collect();
    registered.sort();
    assert_eq!(files, registered, "every kernel file is in the registry");
}
