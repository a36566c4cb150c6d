'use strict';
// Whole-network inference, images/s at batch 1, 8 and 32 (LeNet-5 also 256): LeNet-5 (1x32x32), AlexNet,
// GoogLeNet and ResNet-18/50 (3x224x224), all in eval mode through model.predict (no tape):
//   - receptive-native at --threads, through nn.InferencePlan (predict() replayed as its
//     recorded kernel calls; predict() itself where the plan cannot apply),
//   - receptive-JS (batch 1 only for the ImageNet models unless --js-all: a ResNet-50
//     batch of 32 would take minutes),
//   - onnxruntime-node (CPU EP, intraOpNumThreads = --threads, graph optimisations on, so
//     it folds BatchNorm into the convolutions as it does for any exported model), run in
//     its own process so its spinning thread pool never competes with ours.
// The ONNX graphs are written here from the very modules being timed (same weights, via
// bench/peers/onnx_builder.js's protobuf writer), so the suite needs no exporter, and the
// bench checks that onnxruntime's logits match receptive's before timing them.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { timeSync } = require('../lib/timing');
const { maxRelDiff, msOf, bestTiming, mergePeerRounds } = require('../lib/compare');
const { Writer, tensorProto } = require('../peers/onnx_builder');

const BENCH = path.join(__dirname, '..');
const ROOT = path.join(BENCH, '..');
const BATCHES = [1, 8, 32];
// LeNet-5 is also timed at the batch size issue 5 names for it.
const batchesOf = (spec) => (spec.id === 'lenet5' ? [...BATCHES, 256] : BATCHES);

const MODELS = [
  { id: 'lenet5', name: 'LeNet-5', input: [1, 32, 32], make: (R) => R.models.lenet5({ seed: 1 }) },
  { id: 'alexnet', name: 'AlexNet', input: [3, 224, 224], make: (R) => R.models.alexnet({ seed: 1 }) },
  { id: 'googlenet', name: 'GoogLeNet', input: [3, 224, 224], make: (R) => R.models.googlenet({ seed: 1, auxLogits: false }) },
  { id: 'resnet18', name: 'ResNet-18', input: [3, 224, 224], make: (R) => R.models.resnet18({ seed: 1 }) },
  { id: 'resnet50', name: 'ResNet-50', input: [3, 224, 224], make: (R) => R.models.resnet50({ seed: 1 }) },
];

// ---- ONNX export of the zoo's modules ------------------------------------------------

/** ValueInfoProto with a symbolic batch dimension 'N' (dim_param) and fixed other dims. */
function valueInfoBatched(name, dims) {
  const shape = new Writer();
  shape.message(1, new Writer().string(2, 'N'));
  for (const d of dims) shape.message(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, 1).message(2, shape);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType));
}

function attribute(name, value) {
  const w = new Writer().string(1, name);
  if (Array.isArray(value)) { for (const v of value) w.int(8, v); w.int(20, 7); }
  else if (Number.isInteger(value)) { w.int(3, value); w.int(20, 2); }
  else { w.float(2, value); w.int(20, 1); }
  return w;
}

class Graph {
  constructor() { this.nodes = []; this.inits = []; this.n = 0; }
  fresh(p) { return `${p}_${this.n++}`; }
  init(t, dims) { const name = this.fresh('w'); this.inits.push([name, dims || t.shape, t.data]); return name; }
  op(type, inputs, attrs = {}) {
    const out = this.fresh(type.toLowerCase());
    const w = new Writer();
    for (const i of inputs) w.string(1, i);
    w.string(2, out).string(3, out).string(4, type);
    for (const [k, v] of Object.entries(attrs)) w.message(5, attribute(k, v));
    this.nodes.push(w);
    return out;
  }
  conv(x, m) {
    const pad = m.explicitPadding();
    const ins = [x, this.init(m.weight)];
    if (m.bias) ins.push(this.init(m.bias));
    return this.op('Conv', ins, {
      kernel_shape: m.kernelSize, strides: m.stride, dilations: m.dilation, group: m.groups,
      pads: [pad[0][0], pad[1][0], pad[0][1], pad[1][1]],
    });
  }
  bn(x, m) {
    return this.op('BatchNormalization', [x, this.init(m.weight), this.init(m.bias), this.init(m.runningMean), this.init(m.runningVar)], { epsilon: m.eps });
  }
  relu(x) { return this.op('Relu', [x]); }
  maxpool(x, m) {
    const p = m.padding;
    return this.op('MaxPool', [x], { kernel_shape: m.kernelSize, strides: m.stride, pads: [p[0], p[1], p[0], p[1]], ceil_mode: m.ceilMode ? 1 : 0 });
  }
  linear(x, m) { return this.op('Gemm', [x, this.init(m.weight), this.init(m.bias)], { transB: 1 }); }
  gap(x) { return this.op('Flatten', [this.op('GlobalAveragePool', [x])], { axis: 1 }); }
  model(inputDims, input, output, outDims) {
    const g = new Writer();
    for (const n of this.nodes) g.message(1, n);
    g.string(2, 'receptive_zoo');
    for (const [name, dims, data] of this.inits) g.message(5, tensorProto(name, dims, data));
    g.message(11, valueInfoBatched(input, inputDims));
    g.message(12, valueInfoBatched(output, outDims));
    return new Writer().int(1, 7).string(2, 'receptive-bench').message(7, g).message(8, new Writer().string(1, '').int(2, 13)).finish();
  }
}

/** The zoo model as an ONNX graph (eval mode). */
function toOnnx(R, id, m, inputDims) {
  const g = new Graph();
  let x = 'x';
  const basic = (v, b) => g.relu(g.bn(g.conv(v, b.conv), b.bn));
  if (id === 'lenet5') {
    x = g.maxpool(g.relu(g.conv(x, m.conv1)), m.pool1);
    x = g.maxpool(g.relu(g.conv(x, m.conv2)), m.pool2);
    x = g.op('Flatten', [g.relu(g.conv(x, m.conv3))], { axis: 1 });
    x = g.linear(g.relu(g.linear(x, m.fc1)), m.fc2);
  } else if (id === 'alexnet') {
    for (const l of m.features) {
      if (l instanceof R.nn.Conv2d) x = g.conv(x, l);
      else if (l instanceof R.nn.ReLU) x = g.relu(x);
      else if (l instanceof R.nn.MaxPool2d) x = g.maxpool(x, l);
      else throw new Error(`alexnet export: ${l.typeName}`);
    }
    // The adaptive 6x6 pool is the identity on 224x224 input (the features are 6x6).
    x = g.op('Flatten', [x], { axis: 1 });
    for (const l of m.classifier) {
      if (l instanceof R.nn.Linear) x = g.linear(x, l);
      else if (l instanceof R.nn.ReLU) x = g.relu(x);
    }
  } else if (id === 'googlenet') {
    const inception = (v, b) => {
      const b2 = basic(basic(v, b.branch2.get(0)), b.branch2.get(1));
      const b3 = basic(basic(v, b.branch3.get(0)), b.branch3.get(1));
      const b4 = basic(g.maxpool(v, b.branch4.get(0)), b.branch4.get(1));
      return g.op('Concat', [basic(v, b.branch1), b2, b3, b4], { axis: 1 });
    };
    x = g.maxpool(basic(x, m.conv1), m.maxpool1);
    x = g.maxpool(basic(basic(x, m.conv2), m.conv3), m.maxpool2);
    x = g.maxpool(inception(inception(x, m.inception3a), m.inception3b), m.maxpool3);
    for (const k of ['4a', '4b', '4c', '4d', '4e']) x = inception(x, m[`inception${k}`]);
    x = g.maxpool(x, m.maxpool4);
    x = inception(inception(x, m.inception5a), m.inception5b);
    x = g.linear(g.gap(x), m.fc);
  } else if (id.startsWith('resnet')) {
    x = g.maxpool(g.relu(g.bn(g.conv(x, m.conv1), m.bn1)), m.maxpool);
    for (const layer of [m.layer1, m.layer2, m.layer3, m.layer4]) {
      for (const b of layer) {
        let out = g.relu(g.bn(g.conv(x, b.conv1), b.bn1));
        out = g.bn(g.conv(out, b.conv2), b.bn2);
        if (b.conv3) out = g.bn(g.conv(g.relu(out), b.conv3), b.bn3);
        const id_ = b.downsample ? g.bn(g.conv(x, b.downsample.get(0)), b.downsample.get(1)) : x;
        x = g.relu(g.op('Add', [out, id_]));
      }
    }
    x = g.linear(g.gap(x), m.fc);
  } else throw new Error(`no ONNX export for ${id}`);
  return g.model(inputDims, 'x', x, [m.numClasses]);
}

// ---- onnxruntime in its own process ---------------------------------------------------

const ORT_RUNNER = `
const { timeAsync } = require(${JSON.stringify(path.join(BENCH, 'lib', 'timing'))});
const fs = require('fs');
(async () => {
  const spec = JSON.parse(fs.readFileSync(0, 'utf8'));
  const ort = require('onnxruntime-node');
  const out = { version: require('onnxruntime-node/package.json').version, results: {}, outputs: {}, skipped: {} };
  for (const c of spec.cases) {
    try {
      const session = await ort.InferenceSession.create(c.model, {
        intraOpNumThreads: spec.threads, interOpNumThreads: 1, executionMode: 'sequential',
        graphOptimizationLevel: 'all', executionProviders: ['cpu'],
      });
      for (const b of c.batches) {
        const x = new Float32Array(fs.readFileSync(c.input + '.' + b).buffer.slice(0));
        const feeds = { x: new ort.Tensor('float32', x, [b, ...c.inputDims]) };
        const y = await session.run(feeds);
        out.outputs[c.id + '-b' + b] = Array.from(y[session.outputNames[0]].data.subarray(0, 10));
        out.results[c.id + '-b' + b] = await timeAsync(() => session.run(feeds), spec.timing);
      }
      if (session.release) await session.release();
    } catch (e) { out.skipped[c.id] = String(e && e.message || e).split('\\n')[0]; }
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function runOrt(cases, threads, timing, log) {
  try { require.resolve('onnxruntime-node', { paths: [BENCH] }); } catch {
    return { unavailable: 'onnxruntime-node not installed (bash bench/setup-peers.sh)' };
  }
  const r = spawnSync('node', ['-e', ORT_RUNNER], {
    cwd: BENCH, input: JSON.stringify({ cases, threads, timing }), encoding: 'utf8', maxBuffer: 64 << 20,
    env: { ...process.env, OMP_NUM_THREADS: String(threads) }, timeout: 3600 * 1000,
  });
  const line = (r.stdout || '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) {
    const why = `onnxruntime runner exited ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').slice(-2).join(' | ')}`;
    log(`  ${why}`);
    return { unavailable: why };
  }
  return JSON.parse(line);
}

// ---- peak memory: ResNet-50 at batch 32, each implementation in a fresh process ----------

const RSS_BATCH = 32;
const RSS_NATIVE = `
const R = require(${JSON.stringify(path.join(ROOT, 'dist'))});
const [threads, batch] = process.argv.slice(1).map(Number);
R.setBackend('native'); R.setNumThreads(threads);
const m = R.models.resnet50({ seed: 1 }).eval();
const x = R.zeros([batch, 3, 224, 224]);
for (let i = 0; i < 2; i++) m.predict(x);
console.log(JSON.stringify({ maxRssMB: +/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1] / 1024 }));
`;
const RSS_ORT = `
const ort = require('onnxruntime-node');
const [file, threads, batch] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
(async () => {
  const s = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const feeds = { x: new ort.Tensor('float32', new Float32Array(batch * 3 * 224 * 224), [batch, 3, 224, 224]) };
  for (let i = 0; i < 2; i++) await s.run(feeds);
  console.log(JSON.stringify({ maxRssMB: +/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1] / 1024 }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

/**
 * Peak resident memory of a process that builds ResNet-50 and runs two batches of 32: its
 * VmHWM (getrusage's maxrss would carry over the RSS of the bench process it forked from).
 */
function peakRss(args, cwd) {
  const r = spawnSync('node', ['-e', ...args], { cwd, encoding: 'utf8', timeout: 1800 * 1000 });
  const line = (r.stdout || '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) return { error: `exited ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').pop()}` };
  return JSON.parse(line);
}

// ---- the suite ---------------------------------------------------------------------------

function inputFor(n, dims) {
  const size = n * dims.reduce((a, b) => a * b, 1);
  const a = new Float32Array(size);
  let s = 12345;
  for (let i = 0; i < size; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = ((s >>> 8) & 0xffff) / 32768 - 1; }
  return a;
}

function ips(batch, ms) {
  return ms ? (1000 * batch) / ms : null;
}

// receptive-native on one model and batch, through an inference plan (predict() recorded
// once as its kernel calls, then replayed), as onnxruntime runs a session made once; the
// plan checks itself against predict() and says when it had to run predict() instead.
function timeNativeRow(R, ctx, model, x, timing) {
  try {
    R.setBackend('native');
    R.setNumThreads(ctx.threads);
    const plan = new R.nn.InferencePlan(model);
    const t = timeSync(() => plan.run(x), timing);
    t.plan = plan.fallbackReason === null ? 'replayed' : `predict(): ${plan.fallbackReason}`;
    return { timing: t, output: plan.run(x).data.slice(0, 10) };
  } catch (e) { return { timing: { error: String(e.message || e).split('\n')[0] } }; }
}

async function run(ctx) {
  const R = require(path.join(ROOT, 'dist'));
  const o = ctx.opts;
  const rounds = o.rounds ?? 1;
  const timing = { maxTime: o.maxTime, minSamples: o.minSamples, slowMs: o.slowMs };
  const want = o.cases ? MODELS.filter((m) => o.cases.some((c) => m.id.includes(c) || c.startsWith(m.id))) : MODELS;
  const rows = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'receptive-models-'));
  const ortCases = [];
  const outputs = {};
  const made = [];  // {spec, model}, kept for the later rounds
  try {
    for (const spec of want) {
      ctx.log(`  models ${spec.id}${rounds > 1 ? ` (round 1/${rounds})` : ''}`);
      const model = spec.make(R).eval();
      made.push({ spec, model });
      for (const b of batchesOf(spec)) {
        const x = R.tensor(inputFor(b, spec.input), [b, ...spec.input]);
        fs.writeFileSync(path.join(tmp, `${spec.id}.x.${b}`), Buffer.from(x.data.buffer));
        const row = { id: `${spec.id}-b${b}`, name: `${spec.name} batch ${b}`, model: spec.id, batch: b };
        if (ctx.native) {
          const t = timeNativeRow(R, ctx, model, x, timing);
          row.native = t.timing;
          if (t.output) outputs[row.id] = t.output;
        } else row.native = { error: ctx.nativeError || 'native backend unavailable' };
        const jsOk = ctx.js && (o.jsAll || b === 1 || spec.id === 'lenet5');
        if (!ctx.js) row.js = { skipped: ctx.jsError || 'JS backend unavailable' };
        else if (!jsOk) row.js = { skipped: 'slow: JS runs the ImageNet models at batch 1 (--js-all for all)' };
        else {
          try {
            R.setBackend('js');
            row.js = timeSync(() => model.predict(x), timing);
            const y = model.predict(x).data.slice(0, 10);
            if (outputs[row.id]) row.check = { maxRelDiff: maxRelDiff(outputs[row.id], y) };
          } catch (e) { row.js = { error: String(e.message || e).split('\n')[0] }; }
        }
        rows.push(row);
      }
      if (!o.noPeers && (!o.peers || o.peers.includes('onnxruntime'))) {
        const file = path.join(tmp, `${spec.id}.onnx`);
        fs.writeFileSync(file, toOnnx(R, spec.id, model, spec.input));
        ortCases.push({ id: spec.id, model: file, input: path.join(tmp, `${spec.id}.x`), inputDims: spec.input, batches: batchesOf(spec) });
      }
    }
    if (ctx.native) R.setBackend('native');
    let ort = ortCases.length ? null : { unavailable: 'not run (--no-peers)' };
    const ortRound = (round) => {
      if (!ortCases.length) return;
      ctx.log(`  onnxruntime: ${ortCases.length} model(s)${rounds > 1 ? ` (round ${round + 1}/${rounds})` : ''}...`);
      // (The runner's output merges as a peer's does; its first round's logits are kept.)
      ort = mergePeerRounds(ort ? { onnxruntime: ort } : {}, { onnxruntime: runOrt(ortCases, ctx.threads, timing, ctx.log) }).onnxruntime;
    };
    // Later rounds (--rounds): native and onnxruntime again, alternating which goes first;
    // each keeps its best round.
    const nativeRound = (round) => {
      if (!ctx.native) return;
      for (const { spec, model } of made) {
        ctx.log(`  models ${spec.id} (round ${round + 1}/${rounds})`);
        for (const b of batchesOf(spec)) {
          const row = rows.find((r) => r.id === `${spec.id}-b${b}`);
          const x = R.tensor(inputFor(b, spec.input), [b, ...spec.input]);
          row.native = bestTiming(row.native, timeNativeRow(R, ctx, model, x, timing).timing);
        }
      }
    };
    ortRound(0);
    for (let round = 1; round < rounds; round++) {
      if (round % 2) { ortRound(round); nativeRound(round); } else { nativeRound(round); ortRound(round); }
    }
    for (const row of rows) {
      row.peers = {};
      if (!ort.unavailable) {
        const r = ort.results[row.id];
        row.peers.onnxruntime = r || { skipped: ort.skipped[row.model] || 'not run' };
        if (r && outputs[row.id] && ort.outputs[row.id]) row.peerCheck = { onnxruntime: maxRelDiff(outputs[row.id], Float32Array.from(ort.outputs[row.id])) };
      }
      // The run's statistic (--stat min: the fastest samples), as in the other suites and the tables.
      const stat = ctx.opts.stat;
      const at = (t) => (t && t.ms !== undefined ? msOf(t, stat) : undefined);
      const nat = at(row.native), js = at(row.js), peer = at(row.peers.onnxruntime);
      row.bestPeer = peer ? { name: 'onnxruntime', ms: peer } : null;
      row.ratios = { nativeVsJs: nat && js ? js / nat : null, nativeVsBestPeer: nat && peer ? peer / nat : null, scaling: null };
      row.imagesPerSecond = { native: ips(row.batch, nat), js: ips(row.batch, js), onnxruntime: ips(row.batch, peer) };
    }
    const peers = ort.unavailable ? { onnxruntime: { unavailable: ort.unavailable } } : { onnxruntime: { version: ort.version, threads: ctx.threads } };
    printImagesPerSecond(rows, ctx, peers);
    let memory;
    if (want.some((m) => m.id === 'resnet50') && !o.quick) {
      ctx.log(`  peak RSS, ResNet-50 batch ${RSS_BATCH}...`);
      memory = { model: 'ResNet-50', batch: RSS_BATCH, limitMB: 600 };
      if (ctx.native) memory.native = peakRss([RSS_NATIVE, String(ctx.threads), String(RSS_BATCH)], ROOT);
      const ortCase = ortCases.find((c) => c.id === 'resnet50');
      if (ortCase && !ort.unavailable) memory.onnxruntime = peakRss([RSS_ORT, ortCase.model, String(ctx.threads), String(RSS_BATCH)], BENCH);
      const mb = (r) => (r && r.maxRssMB ? `${r.maxRssMB.toFixed(0)} MB` : r && r.error ? `error (${r.error})` : 'not run');
      console.log(`  - peak RSS, ResNet-50 batch ${RSS_BATCH} (two passes, own process): native ${mb(memory.native)}, onnxruntime ${mb(memory.onnxruntime)}`);
    }
    return { kind: 'models', metric: 'ms', rows, peers, memory, rounds };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function printImagesPerSecond(rows, ctx, peers) {
  const f = (v) => (v === null || v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const header = ['model', 'batch', 'native img/s', 'JS img/s', 'onnxruntime img/s', 'nat/JS', 'nat/ORT', 'ORT logits diff'];
  const body = rows.map((r) => [
    r.name.replace(/ batch \d+$/, ''), String(r.batch), f(r.imagesPerSecond.native), f(r.imagesPerSecond.js), f(r.imagesPerSecond.onnxruntime),
    r.ratios.nativeVsJs ? `${r.ratios.nativeVsJs.toFixed(2)}x` : '-', r.ratios.nativeVsBestPeer ? `${r.ratios.nativeVsBestPeer.toFixed(2)}x` : '-',
    r.peerCheck ? r.peerCheck.onnxruntime.toExponential(1) : '-',
  ]);
  const w = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c) => c.map((v, i) => (i === 0 ? v.padEnd(w[i]) : v.padStart(w[i]))).join('  ');
  console.log(`\n## Whole-model inference, images/s (${ctx.threads} threads; higher is better)`);
  console.log([line(header), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n'));
  const ort = peers.onnxruntime;
  console.log(`  - onnxruntime: ${ort.unavailable ? `not run (${ort.unavailable})` : `onnxruntime-node ${ort.version}, CPU EP, ${ort.threads} intra-op threads, graph optimisations on`}`);
  console.log('  - nat/ORT: native images/s over onnxruntime images/s; ORT logits diff: max difference of the first logits, relative to their largest');
}

module.exports = {
  name: 'models',
  title: 'Whole-model inference (ms per batch)',
  metric: 'ms',
  MODELS,
  toOnnx,
  run,
};
