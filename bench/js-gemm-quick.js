// Quick single-thread timing of the JS backend: GEMM GFLOP/s at 256/512/1024 and the
// LeNet-5 convolution layers (forward + backward input + backward weight + bias, batch 64).
// --train adds a whole LeNet-5 training step (forward, backward, SGD) through the public API.
// Times are process CPU time (steadier on a shared machine); --wall for wall-clock.
// Usage: npm run build:ts && node bench/js-gemm-quick.js [--gemm-only|--lenet-only] [--train] [--wall]
'use strict';
const path = require('path');
const { createJsBackend } = require(path.join(__dirname, '..', 'dist', 'backend', 'js'));

const b = createJsBackend();
const args = new Set(process.argv.slice(2));

function fill(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 2 ** 32 - 0.5; }
  return a;
}

/** Median seconds per call of fn over enough repetitions to pass minTime. */
function time(fn, minTime = 1.0) { return timeCpu(fn, minTime); }
function timeWall(fn, minTime = 1.0) {
  fn(); fn();
  const samples = [];
  const t0 = process.hrtime.bigint();
  while (samples.length < 5 || (Number(process.hrtime.bigint() - t0) / 1e9 < minTime && samples.length < 200)) {
    const s = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - s) / 1e9);
  }
  samples.sort((a, c) => a - c);
  return samples[samples.length >> 1];
}

/** Like timeWall but in process CPU time (user + system): steadier on a shared machine.
 *  --wall switches back to wall-clock time. */
function timeCpu(fn, minTime) {
  if (args.has('--wall')) return timeWall(fn, minTime);
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  fn(); fn();
  const samples = [];
  const t0 = cpu();
  while (samples.length < 5 || (cpu() - t0 < minTime && samples.length < 200)) {
    const s = cpu();
    fn();
    samples.push(cpu() - s);
  }
  samples.sort((a, c) => a - c);
  return samples[samples.length >> 1];
}

if (!args.has('--lenet-only')) {
  for (const n of [256, 512, 1024]) {
    const A = fill(n * n, 1), B = fill(n * n, 2), C = new Float32Array(n * n);
    for (const [ta, tb] of [[false, false], [true, false], [false, true]]) {
      if (n === 1024 && (ta || tb)) continue;
      const t = time(() => b.gemm(ta, tb, n, n, n, 1, A, B, 0, C), n === 1024 ? 3 : 1);
      console.log(`gemm ${n}^3 ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}: ${(t * 1e3).toFixed(1)} ms, ` +
        `${(2 * n * n * n / t / 1e9).toFixed(2)} GFLOP/s`);
    }
  }
}

if (!args.has('--gemm-only')) {
  const layers = [
    ['conv1 1->6 5x5 32x32', { N: 64, C: 1, H: 32, W: 32, K: 6, R: 5, S: 5 }],
    ['conv2 6->16 5x5 14x14', { N: 64, C: 6, H: 14, W: 14, K: 16, R: 5, S: 5 }],
    ['conv3 16->120 5x5 5x5', { N: 64, C: 16, H: 5, W: 5, K: 120, R: 5, S: 5 }],
  ];
  let total = 0, unusedInTraining = 0;
  for (const [name, s] of layers) {
    const g = { ...s, strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0,
      dilationH: 1, dilationW: 1, groups: 1 };
    const OH = g.H - g.R + 1, OW = g.W - g.S + 1;
    const x = fill(g.N * g.C * g.H * g.W, 3), w = fill(g.K * g.C * g.R * g.S, 4), bias = fill(g.K, 5);
    const y = new Float32Array(g.N * g.K * OH * OW), gy = fill(y.length, 6);
    const gx = new Float32Array(x.length), gw = new Float32Array(w.length), gb = new Float32Array(g.K);
    const tf = time(() => b.conv2dForward(g, x, w, bias, y));
    const ti = time(() => b.conv2dBackwardInput(g, gy, w, gx));
    const tw = time(() => b.conv2dBackwardWeight(g, x, gy, gw));
    const tb = time(() => b.conv2dBackwardBias(g, gy, gb));
    const flops = 2 * g.N * g.K * OH * OW * g.C * g.R * g.S;
    const sum = tf + ti + tw + tb;
    total += sum;
    if (g.C === 1) unusedInTraining += ti;   // the first layer's input needs no gradient
    console.log(`${name}: fwd ${(tf * 1e3).toFixed(2)} ms (${(flops / tf / 1e9).toFixed(2)} GFLOP/s), ` +
      `bwd-input ${(ti * 1e3).toFixed(2)} ms, bwd-weight ${(tw * 1e3).toFixed(2)} ms, ` +
      `bias ${(tb * 1e3).toFixed(3)} ms, total ${(sum * 1e3).toFixed(2)} ms`);
  }
  const pg = { N: 64, C: 6, H: 28, W: 28, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0,
    dilationH: 1, dilationW: 1, OH: 14, OW: 14 };
  const px = fill(64 * 6 * 28 * 28, 7), py = new Float32Array(64 * 6 * 14 * 14), pi = new Int32Array(py.length);
  const pgx = new Float32Array(px.length);
  const tp = time(() => b.maxPool2dForward(pg, px, py, pi)) + time(() => b.maxPool2dBackward(pg, py, pi, pgx));
  console.log(`maxpool 2x2 6x28x28 fwd+bwd: ${(tp * 1e3).toFixed(2)} ms`);
  total += tp;
  const train = total - unusedInTraining;
  console.log(`LeNet-5 conv layers (+ pool1) per batch of 64, fwd + the backwards training runs ` +
    `(all but conv1's input gradient): ${(train * 1e3).toFixed(1)} ms; 8000 images = 125 batches: ` +
    `${(train * 125).toFixed(2)} s`);
}

if (args.has('--train')) {
  try {
    trainStep();
  } catch (e) {
    console.log(`LeNet-5 training step skipped: ${e.message}`);
  }
}

function trainStep() {
  const r = require(path.join(__dirname, '..', 'dist'));
  r.setBackend('js');
  const net = new r.models.LeNet5();
  const opt = new r.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = r.randn([64, 1, 32, 32], { seed: 1 });
  const labels = r.tensor(Array.from({ length: 64 }, (_, i) => i % 10));
  const step = () => {
    opt.zeroGrad();
    r.F.crossEntropy(net.forward(x), labels).backward();
    opt.step();
  };
  const t = time(step, 3);
  console.log(`LeNet-5 training step, batch 64 (public API, JS backend): ${(t * 1e3).toFixed(1)} ms; ` +
    `epoch of 8000 images: ${(t * 125).toFixed(2)} s`);
}
