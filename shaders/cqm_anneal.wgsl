// Constrained annealing, one invocation per chain (CPU twin: src/cqm/gpu.rs, host:
// src/gpu/cqm.rs). Moves keep one-hot groups valid (reassign a group, flip a free
// variable, or swap the places of two groups); constraint left-hand sides are tracked incrementally; violations are priced
// by per-chain multipliers adapted after every sweep; Metropolis on the penalised change.

// Template constant (the host rewrites this line): invocations per workgroup.
const WGS: u32 = 64u;

const GROUP_BIT: u32 = 0x80000000u;
const PEN_CLAMP: f32 = 268435456.0;
const LAMBDA_UP: f32 = 1.02;
const LAMBDA_DOWN: f32 = 0.995;
const INIT_SWEEP: u32 = 0xffffffffu;
// meta rows
const M_F: u32 = 0u;
const M_NVIOL: u32 = 1u;
const M_HAS_BEST: u32 = 2u;
const M_BEST_F: u32 = 3u;
const M_HAS_LEAST: u32 = 4u;
const M_LEAST_TOTAL: u32 = 5u;
const M_LEAST_F: u32 = 6u;
const M_ACCEPTED: u32 = 7u;

var<private> cc: u32;      // chain within the group
var<private> fcur: i32;    // objective, fixed point
var<private> nviol: u32;   // violated constraints

fn wi(v: u32) -> u32 { return v * P.chains + cc; }
fn lhs_i(k: u32) -> u32 { return k * P.chains + cc; }
fn lam_i(k: u32) -> u32 { return (P.ncons + k) * P.chains + cc; }
fn choice_i(g: u32) -> u32 { return g * P.chains + cc; }
fn best_i(i: u32) -> u32 { return (P.groups + i) * P.chains + cc; }
fn least_i(i: u32) -> u32 { return (P.groups + P.units + i) * P.chains + cc; }
fn meta_i(j: u32) -> u32 { return (P.groups + 2u * P.units + j) * P.chains + cc; }

fn violation(sense: u32, lhs: i32, rhs: i32) -> i32 {
    if sense == 0u {
        return max(lhs - rhs, 0);
    }
    if sense == 2u {
        return max(rhs - lhs, 0);
    }
    return abs(lhs - rhs);
}

fn penalty(lambda: f32, dv: i32) -> i32 {
    return i32(clamp(lambda * f32(dv), -PEN_CLAMP, PEN_CLAMP));
}

fn accept(d: i32, temp: f32, bits: u32) -> bool {
    if d <= 0 {
        return true;
    }
    let l = bitcast<f32>(prob[P.log_off + (bits >> 20u)]);
    return f32(d) < l * temp;
}

fn cons_sense(k: u32) -> u32 { return prob[P.cons_off + 5u * k]; }
fn cons_rhs(k: u32) -> i32 { return bitcast<i32>(prob[P.cons_off + 5u * k + 1u]); }

// Recomputes fields, objective, left-hand sides and the violation count from the bits.
fn rebuild() {
    for (var v = 0u; v < P.n; v++) {
        let bit = words[wi(v)] & 1;
        words[wi(v)] = (bitcast<i32>(prob[P.lin_off + v]) * 2) | bit;
    }
    for (var k = 0u; k < P.ncons; k++) {
        cons[lhs_i(k)] = 0u;
    }
    var f = 0;
    for (var v = 0u; v < P.n; v++) {
        if (words[wi(v)] & 1) == 0 {
            continue;
        }
        f += bitcast<i32>(prob[P.lin_off + v]);
        let e1 = prob[P.ap_off + v + 1u];
        for (var e = prob[P.ap_off + v]; e < e1; e++) {
            let u = prob[P.adj_off + 2u * e];
            let q = bitcast<i32>(prob[P.adj_off + 2u * e + 1u]);
            words[wi(u)] += q * 2;
            if u > v && (words[wi(u)] & 1) == 1 {
                f += q;
            }
        }
        let o1 = prob[P.op_off + v + 1u];
        for (var e = prob[P.op_off + v]; e < o1; e++) {
            let c = prob[P.occ_off + 2u * e];
            cons[lhs_i(c)] = bitcast<u32>(bitcast<i32>(cons[lhs_i(c)]) + bitcast<i32>(prob[P.occ_off + 2u * e + 1u]));
        }
    }
    var nv = 0u;
    for (var k = 0u; k < P.ncons; k++) {
        if violation(cons_sense(k), bitcast<i32>(cons[lhs_i(k)]), cons_rhs(k)) > 0 {
            nv += 1u;
        }
    }
    fcur = f;
    nviol = nv;
}

fn units_now(i: u32) -> u32 {
    let code = prob[P.unit_off + i];
    if (code & GROUP_BIT) != 0u {
        return chain[choice_i(code & ~GROUP_BIT)];
    }
    return u32(words[wi(code)] & 1);
}

fn record_best() {
    if nviol == 0u && (chain[meta_i(M_HAS_BEST)] == 0u || fcur < bitcast<i32>(chain[meta_i(M_BEST_F)])) {
        chain[meta_i(M_HAS_BEST)] = 1u;
        chain[meta_i(M_BEST_F)] = bitcast<u32>(fcur);
        for (var i = 0u; i < P.units; i++) {
            chain[best_i(i)] = units_now(i);
        }
    }
}

// Flips v; returns the change of the penalised energy (fixed point).
fn flip(v: u32) -> i32 {
    let w = words[wi(v)];
    let s = select(-1, 1, (w & 1) == 0);
    let df = s * (w >> 1u);
    words[wi(v)] = w ^ 1;
    let e1 = prob[P.ap_off + v + 1u];
    for (var e = prob[P.ap_off + v]; e < e1; e++) {
        let u = prob[P.adj_off + 2u * e];
        let q = bitcast<i32>(prob[P.adj_off + 2u * e + 1u]);
        words[wi(u)] += s * q * 2;
    }
    var dp = 0;
    let o1 = prob[P.op_off + v + 1u];
    for (var e = prob[P.op_off + v]; e < o1; e++) {
        let c = prob[P.occ_off + 2u * e];
        let a = bitcast<i32>(prob[P.occ_off + 2u * e + 1u]);
        let sense = cons_sense(c);
        let rhs = cons_rhs(c);
        let old = bitcast<i32>(cons[lhs_i(c)]);
        let nl = old + s * a;
        cons[lhs_i(c)] = bitcast<u32>(nl);
        let vo = violation(sense, old, rhs);
        let vn = violation(sense, nl, rhs);
        if vn != vo {
            dp += penalty(bitcast<f32>(cons[lam_i(c)]), vn - vo);
        }
        nviol = nviol + select(0u, 1u, vn > 0) - select(0u, 1u, vo > 0);
    }
    fcur += df;
    return df + dp;
}

const NO_PLACE: u32 = 0xffffffffu;

// The first constraint v occurs in (NO_PLACE if none).
fn place(v: u32) -> u32 {
    let a = prob[P.op_off + v];
    if a < prob[P.op_off + v + 1u] {
        return prob[P.occ_off + 2u * a];
    }
    return NO_PLACE;
}

// The first variable of group g whose place is `pl` (NO_PLACE if none).
fn in_place(g: u32, pl: u32) -> u32 {
    let e = prob[P.gp_off + g + 1u];
    for (var i = prob[P.gp_off + g]; i < e; i++) {
        let v = prob[P.gv_off + i];
        if place(v) == pl {
            return v;
        }
    }
    return NO_PLACE;
}

// Swap: two groups exchange places. 0 = does not apply, 1 = rejected, 2 = accepted.
fn swap(r: vec4<u32>, temp: f32) -> u32 {
    let g1 = prob[P.unit_off + r.x % P.mgroups] & ~GROUP_BIT;
    let g2 = prob[P.unit_off + r.y % P.mgroups] & ~GROUP_BIT;
    let a1 = chain[choice_i(g1)];
    let a2 = chain[choice_i(g2)];
    let p1 = place(a1);
    let p2 = place(a2);
    if g1 == g2 || p1 == p2 || p1 == NO_PLACE || p2 == NO_PLACE {
        return 0u;
    }
    let b1 = in_place(g1, p2);
    if b1 == NO_PLACE {
        return 0u;
    }
    let b2 = in_place(g2, p1);
    if b2 == NO_PLACE {
        return 0u;
    }
    let d1 = flip(a1);
    let d2 = flip(b1);
    let d3 = flip(a2);
    let d4 = flip(b2);
    if accept(d1 + d2 + d3 + d4, temp, r.z) {
        chain[choice_i(g1)] = b1;
        chain[choice_i(g2)] = b2;
        return 2u;
    }
    _ = flip(b2);
    _ = flip(a2);
    _ = flip(b1);
    _ = flip(a1);
    return 1u;
}

fn step(cg: u32, t: u32, st: u32, temp: f32) {
    let r = pcg4d(vec4<u32>(cg, t, st, P.key));
    if P.mgroups >= 2u && (r.w & 3u) == 0u {
        let sw = swap(r, temp);
        if sw == 2u {
            chain[meta_i(M_ACCEPTED)] += 1u;
            record_best();
        }
        if sw != 0u {
            return;
        }
    }
    let code = prob[P.unit_off + r.x % P.units];
    var accepted = false;
    if (code & GROUP_BIT) != 0u {
        let g = code & ~GROUP_BIT;
        let a = prob[P.gp_off + g];
        let len = prob[P.gp_off + g + 1u] - a;
        let cur = chain[choice_i(g)];
        var b = prob[P.gv_off + a + r.y % (len - 1u)];
        if b == cur {
            b = prob[P.gv_off + a + len - 1u];
        }
        let d1 = flip(cur);
        let d2 = flip(b);
        accepted = accept(d1 + d2, temp, r.z);
        if accepted {
            chain[choice_i(g)] = b;
        } else {
            _ = flip(b);
            _ = flip(cur);
        }
    } else {
        accepted = accept(flip(code), temp, r.z);
        if !accepted {
            _ = flip(code);
        }
    }
    if accepted {
        chain[meta_i(M_ACCEPTED)] += 1u;
        record_best();
    }
}

fn end_sweep() {
    var total = 0u;
    for (var k = 0u; k < P.ncons; k++) {
        let v = violation(cons_sense(k), bitcast<i32>(cons[lhs_i(k)]), cons_rhs(k));
        let l = bitcast<f32>(cons[lam_i(k)]);
        var nl: f32;
        if v > 0 {
            total = min(total + u32(v), 0x7fffffffu);
            nl = min(l * LAMBDA_UP, bitcast<f32>(prob[P.cons_off + 5u * k + 4u]));
        } else {
            nl = max(l * LAMBDA_DOWN, bitcast<f32>(prob[P.cons_off + 5u * k + 3u]));
        }
        cons[lam_i(k)] = bitcast<u32>(nl);
    }
    if chain[meta_i(M_HAS_BEST)] == 0u
        && (chain[meta_i(M_HAS_LEAST)] == 0u || total < chain[meta_i(M_LEAST_TOTAL)]
            || (total == chain[meta_i(M_LEAST_TOTAL)] && fcur < bitcast<i32>(chain[meta_i(M_LEAST_F)]))) {
        chain[meta_i(M_HAS_LEAST)] = 1u;
        chain[meta_i(M_LEAST_TOTAL)] = total;
        chain[meta_i(M_LEAST_F)] = bitcast<u32>(fcur);
        for (var i = 0u; i < P.units; i++) {
            chain[least_i(i)] = units_now(i);
        }
    }
}

fn save_scalars() {
    chain[meta_i(M_F)] = bitcast<u32>(fcur);
    chain[meta_i(M_NVIOL)] = nviol;
}

// Random state, multipliers at their start, records cleared.
@compute @workgroup_size(WGS)
fn cqm_init(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x >= P.chains {
        return;
    }
    cc = gid.x;
    let cg = P.chain_base + cc;
    for (var v = 0u; v < P.n; v++) {
        words[wi(v)] = 0;
    }
    for (var g = 0u; g < P.groups; g++) {
        let a = prob[P.gp_off + g];
        let len = prob[P.gp_off + g + 1u] - a;
        let r = pcg4d(vec4<u32>(cg, INIT_SWEEP, g, P.key)).x;
        let v = prob[P.gv_off + a + r % len];
        chain[choice_i(g)] = v;
        words[wi(v)] = 1;
    }
    for (var i = 0u; i < P.units; i++) {
        let code = prob[P.unit_off + i];
        if (code & GROUP_BIT) == 0u {
            let r = pcg4d(vec4<u32>(cg, INIT_SWEEP - 1u, code, P.key)).x;
            words[wi(code)] = i32(r & 1u);
        }
    }
    for (var k = 0u; k < P.ncons; k++) {
        cons[lam_i(k)] = prob[P.cons_off + 5u * k + 2u];
    }
    rebuild();
    for (var j = 0u; j < 8u; j++) {
        chain[meta_i(j)] = 0u;
    }
    record_best();
    save_scalars();
}

// Restart from the chain's best feasible state, if it has one (multipliers and records
// kept).
@compute @workgroup_size(WGS)
fn cqm_restart(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x >= P.chains {
        return;
    }
    cc = gid.x;
    if chain[meta_i(M_HAS_BEST)] == 0u {
        return;
    }
    for (var v = 0u; v < P.n; v++) {
        words[wi(v)] = 0;
    }
    for (var g = 0u; g < P.groups; g++) {
        let a = prob[P.gp_off + g];
        if prob[P.gp_off + g + 1u] - a == 1u {
            let v = prob[P.gv_off + a];
            chain[choice_i(g)] = v;
            words[wi(v)] = 1;
        }
    }
    for (var i = 0u; i < P.units; i++) {
        let code = prob[P.unit_off + i];
        let u = chain[best_i(i)];
        if (code & GROUP_BIT) != 0u {
            chain[choice_i(code & ~GROUP_BIT)] = u;
            words[wi(u)] = 1;
        } else {
            words[wi(code)] = i32(u & 1u);
        }
    }
    rebuild();
    save_scalars();
}

// P.num_sweeps sweeps of P.units moves each.
@compute @workgroup_size(WGS)
fn cqm_sweeps(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x >= P.chains {
        return;
    }
    cc = gid.x;
    let cg = P.chain_base + cc;
    fcur = bitcast<i32>(chain[meta_i(M_F)]);
    nviol = chain[meta_i(M_NVIOL)];
    for (var k = 0u; k < P.num_sweeps; k++) {
        let t = P.sweep0 + k;
        let temp = temps[P.temp_off + k];
        for (var st = 0u; st < P.units; st++) {
            step(cg, t, st, temp);
        }
        end_sweep();
    }
    save_scalars();
}
