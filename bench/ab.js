'use strict';
// Interleaved A/B of two native builds in one process, for choosing a kernel change on a
// machine whose timings drift: two receptive.node files loaded side by side (or one, with an
// environment variable switched between the rounds), short rounds of each alternated, and
// per build the fastest call and the median over rounds, with the median of the per-round
// ratios B/A. Separate runs minutes apart moved by 10-30% on the eleventh and twelfth
// sessions' machine; a build against itself read within 1-3% here.
//
//   node bench/ab.js --a base.node --b new.node [--threads 1] [--rounds 12] [--round-ms 300]
//                    [--kind fwd|res|bi|bw] CASE[,CASE...]
//   node bench/ab.js --env RECEPTIVE_SOME_SWITCH[=VALUE] [...] CASE
//                    (one build: A with the variable unset, B with it set to VALUE, default 1)
//   (The native code must read the switch on every call: one cached in a static at its
//   first use keeps A's value for both, and the A/B reads even.)
//
// CASE: an id of bench/cases.js (resnet-stem, ...) or a descriptor (mb8ic64ih56oc64kh3ph1).
// kind: forward with prepared weights (fwd), backward to the input (bi) or to the weight (bw),
// as the conv and conv-backward suites time them; res: the forward with bias, a residual and
// ReLU in its output stage, as a residual block's last convolution runs in inference.
const path = require('path');

const ROOT = path.join(__dirname, '..');
const { convCases, convGeometry, parseConv } = require('./cases');
const { randomArray, zeroArray } = require('./lib/compare');
const { prepareConvForward } = require('./suites/conv');
const { prepareInput, prepareWeight } = require('./suites/conv-backward');

function parseArgs(argv) {
  const o = { a: null, b: null, env: null, threads: 1, rounds: 12, roundMs: 300, kind: 'fwd', cases: [] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    const count = (name, v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
      return n;
    };
    if (k === '--a') o.a = path.resolve(next());
    else if (k === '--b') o.b = path.resolve(next());
    else if (k === '--env') o.env = next();
    else if (k === '--threads') o.threads = count(k, next());
    else if (k === '--rounds') o.rounds = count(k, next());
    else if (k === '--round-ms') o.roundMs = count(k, next());
    else if (k === '--kind') o.kind = next();
    else if (k.startsWith('--')) throw new Error(`unknown option ${k}`);
    else o.cases.push(...k.split(',').filter(Boolean));
  }
  if (!['fwd', 'res', 'bi', 'bw'].includes(o.kind)) throw new Error(`--kind must be fwd, res, bi or bw, got '${o.kind}'`);
  if (o.cases.length === 0) throw new Error('no case given');
  if (o.env === null && (o.a === null || o.b === null)) throw new Error('give --a and --b, or --env');
  if (o.env !== null && !/^[A-Za-z_][A-Za-z0-9_]*(=.*)?$/.test(o.env)) {
    throw new Error(`--env needs NAME or NAME=VALUE, got '${o.env}'`);
  }
  return o;
}

// A native backend on the addon `file` (the build's own when null), from a fresh copy of
// dist/ so that two builds live side by side.
function loadBackend(file) {
  for (const k of Object.keys(require.cache)) if (k.startsWith(path.join(ROOT, 'dist') + path.sep)) delete require.cache[k];
  if (file) process.env.RECEPTIVE_ADDON_PATH = file;
  else delete process.env.RECEPTIVE_ADDON_PATH;
  return require(path.join(ROOT, 'dist', 'backend', 'select.js')).getBackendInstance('native');
}

const count = (shape) => shape.reduce((a, b) => a * b, 1);

// The forward with bias + residual + ReLU fused into its output stage (a residual block's
// last convolution in an inference plan).
function prepareResidualForward(be, c) {
  if (c.transposed) throw new Error(`--kind res: ${c.id} is a transposed convolution`);
  const g = convGeometry(c);
  const x = randomArray(count(c.xShape), 1, be);
  const w = randomArray(count(c.wShape), 2);
  const bias = randomArray(c.yShape[1], 4);
  const residual = randomArray(count(c.yShape), 5, be);
  const y = zeroArray(count(c.yShape), be);
  const p = be.prepareConv2d(g, w, null, bias);
  return { fn: () => be.conv2dForwardPrepared(g, x, p, residual, true, y), output: y };
}

const median = (v) => {
  const s = [...v].sort((x, y) => x - y);
  return s[s.length >> 1];
};

function main() {
  const o = parseArgs(process.argv.slice(2));
  const one = o.env !== null ? loadBackend(o.a) : null;
  const builds = one ? { A: one, B: one } : { A: loadBackend(o.a), B: loadBackend(o.b) };
  const select = (v) => {
    if (o.env === null) return;
    const eq = o.env.indexOf('=');
    const name = eq < 0 ? o.env : o.env.slice(0, eq);
    if (v === 'B') process.env[name] = eq < 0 ? '1' : o.env.slice(eq + 1);
    else delete process.env[name];
  };
  const prepare = { fwd: prepareConvForward, res: prepareResidualForward, bi: prepareInput, bw: prepareWeight }[o.kind];
  for (const id of o.cases) {
    const c = convCases().find((x) => x.id === id) || parseConv({ id, desc: id });
    const fn = {}, mins = { A: [], B: [] };
    for (const v of ['A', 'B']) {
      select(v);
      builds[v].setNumThreads(o.threads);
      fn[v] = prepare(builds[v], c).fn;
      fn[v]();  // warm-up: buffers, threads, caches
    }
    for (let r = 0; r < o.rounds; r++) {
      for (const v of r % 2 ? ['B', 'A'] : ['A', 'B']) {
        select(v);
        builds[v].setNumThreads(o.threads);
        const end = Date.now() + o.roundMs;
        let best = Infinity;
        do {
          const t0 = process.hrtime.bigint();
          fn[v]();
          best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
        } while (Date.now() < end);
        mins[v].push(best);
      }
    }
    const ratios = mins.A.map((a, i) => mins.B[i] / a);
    const fmt = (v) => `min ${Math.min(...mins[v]).toFixed(3)} ms, median ${median(mins[v]).toFixed(3)}`;
    console.log(`${id} ${o.kind} ${o.threads}t: A ${fmt('A')} | B ${fmt('B')} | B/A by min ` +
      `${(Math.min(...mins.B) / Math.min(...mins.A)).toFixed(3)}, paired median ${median(ratios).toFixed(3)}`);
  }
}

try {
  main();
} catch (e) {
  console.error(`bench/ab.js: ${e.message}`);
  process.exit(1);
}
