#!/usr/bin/env python3
"""Mutation fuzz of the `qam` binary: damages valid files (QUBO/Ising formats, LP, qam's
constrained JSON, scenarios), runs them through the commands that read them and reports
any panic, crash (signal), hang or exit status 1 (a run-time failure: damaged input must
give 0, 2 or 3). Failing inputs are kept in DIR/cases/.

    python3 scripts/fuzz-cli.py --qam target/release/qam --seed 1 --cases 2000 --dir /tmp/fz

CI runs a small version of this (tests/it/fuzz.rs, `damaged_files_through_the_cli_never_panic`);
this script is for long runs (about 10 cases/s on 2 cores). It found the bqp instance-count
abort and the `gen-scenario --from` panic fixed in stop 15.
"""
import argparse, os, random, re, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBS = [b'NaN', b'nan', b'inf', b'-inf', b'1e308', b'-1e308', b'1e400', b'-1', b'0', b'99999999999999999999',
        b'""', b'null', b'[]', b'{}', b'true', b'-0', b'0.5', b'x_99_99', b':', b'<=', b'>=', b'=', b'[', b']',
        b'/ 2', b'Binary', b'General', b'End', b'Subject To', b'Bounds', b'\xff\xfe', b'\x00', b'  ', b'\n',
        b'-', b'+', b'4294967296', b'18446744073709551616', b'-2147483649']
TOKEN = rb'[-+0-9.eE]+|[A-Za-z_][A-Za-z_0-9]*|"[^"]*"|\S'


def corpus(qam, d):
    """Seed files: the committed test data, the example scenario, generated GAP and scenarios."""
    out = {}
    for f in sorted(os.listdir(os.path.join(ROOT, 'tests/data'))):
        shutil.copy(os.path.join(ROOT, 'tests/data', f), d)
        out[f] = 'model'
    shutil.copy(os.path.join(ROOT, 'examples/scenario_small.json'), os.path.join(d, 'scen.json'))
    out['scen.json'] = 'scenario'
    for name, args in [('gap.lp', ['gen', '--kind', 'gap', '--n', '12', '--pools', '3', '--gap-type', 'd']),
                       ('gap.json', ['gen', '--kind', 'gap', '--n', '12', '--pools', '3', '--gap-type', 'd']),
                       ('scen2.json', ['gen-scenario', '--agents', '30', '--pools', '3', '--tasks', '10',
                                       '--load-model', 'per-pool', '--utilisation', '1.0', '--seed', '1']),
                       ('scen3.json', ['gen-scenario', '--agents', '20', '--pools', '2', '--tasks', '15',
                                       '--scarce-capabilities', '2', '--conflict-density', '0.3', '--seed', '1'])]:
        subprocess.run([qam] + args + ['--out', os.path.join(d, name)], check=True, capture_output=True)
        out[name] = 'scenario' if name.startswith('scen') else 'model'
    subprocess.run([qam, 'orchestrate', os.path.join(d, 'scen.json'), '--time-limit', '0.5',
                    '--out', os.path.join(d, 'scen.plan.json')], check=True, capture_output=True)
    return out


def mutate(rng, data):
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        toks = list(re.finditer(TOKEN, data))
        if op == 0 and toks:
            m = rng.choice(toks)
            data = data[:m.start()] + rng.choice(SUBS) + data[m.end():]
        elif op == 1:
            data = data[:rng.randrange(len(data) + 1)]
        elif op in (2, 3):
            lines = data.split(b'\n')
            k = rng.randrange(len(lines))
            if op == 2:
                del lines[k]
            else:
                lines.insert(k, lines[rng.randrange(len(lines))])
            data = b'\n'.join(lines)
        elif op == 4:
            k = rng.randrange(len(data) + 1)
            data = data[:k] + bytes([rng.randrange(256)]) + data[k:]
        else:
            nums = list(re.finditer(rb'-?\d+(\.\d+)?', data))
            if nums:
                m = rng.choice(nums)
                v = rng.choice([0, -1, 1, 2, 3, 7, 10**6, 10**12, -10**9])
                data = data[:m.start()] + str(v).encode() + data[m.end():]
    return data


def commands(rng, kind, f, d, ext):
    if kind == 'model':
        return rng.choice([
            ['solve', f, '--time-limit', '0.3', '--output', 'json', '-q'],
            ['solve', f, '--solver', 'pt', '--time-limit', '0.3', '-q'],
            ['solve', f, '--solver', 'hierarchical', '--time-limit', '0.3', '-q'],
            ['solve', f, '--solver', 'pa', '--time-limit', '0.3', '-q'],
            ['solve', f, '--solver', 'qaoa', '--time-limit', '1', '-q'],
            ['solve', f, '--solver', 'cqm-sa', '--time-limit', '0.3', '-q'],
            ['solve', f, '--instance', '2', '-q', '--time-limit', '0.3'],
            ['info', f], ['decompose', f], ['qaoa', f, '--p', '1'],
            ['convert', f, os.path.join(d, 'out' + ext)], ['convert', f, os.path.join(d, 'out.json')],
            ['convert', f, os.path.join(d, 'out.lp')]])
    return rng.choice([
        ['orchestrate', f, '--time-limit', '0.5', '--output', 'json'],
        ['orchestrate', f, '--time-limit', '0.5', '--previous', os.path.join(d, 'scen.plan.json')],
        ['gen-scenario', '--from', f, '--churn', '0.2', '--out', os.path.join(d, 'churn.json')]])


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('--qam', default=os.path.join(ROOT, 'target/release/qam'))
    a.add_argument('--seed', type=int, default=1)
    a.add_argument('--cases', type=int, default=1000)
    a.add_argument('--dir', default='/tmp/qam-fuzz')
    a.add_argument('--timeout', type=float, default=30.0, help='seconds before a case counts as a hang')
    a = a.parse_args()
    os.makedirs(os.path.join(a.dir, 'cases'), exist_ok=True)
    seeds = corpus(a.qam, a.dir)
    rng = random.Random(a.seed)
    env = dict(os.environ, RAYON_NUM_THREADS='1')
    bad = 0
    for i in range(a.cases):
        name = rng.choice(sorted(seeds))
        data = mutate(rng, open(os.path.join(a.dir, name), 'rb').read())
        ext = os.path.splitext(name)[1]
        f = os.path.join(a.dir, 'cases', f's{a.seed}_{i}{ext}')
        open(f, 'wb').write(data)
        cmd = commands(rng, seeds[name], f, a.dir, ext)
        for o in ('churn.json',):
            if os.path.exists(os.path.join(a.dir, o)):
                os.remove(os.path.join(a.dir, o))
        t = time.time()
        try:
            p = subprocess.run([a.qam] + cmd, capture_output=True, timeout=a.timeout, env=env)
            rc, err = p.returncode, p.stderr.decode(errors='replace')
        except subprocess.TimeoutExpired:
            rc, err = 'hang', ''
        if rc not in (0, 2, 3) or 'panicked' in err:
            bad += 1
            print(f'BAD rc={rc} {time.time() - t:.1f}s qam {" ".join(cmd)}\n    {err.strip()[-300:]}', flush=True)
        else:
            os.remove(f)
    print(f'{a.cases} cases, {bad} failing (kept in {a.dir}/cases)')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
