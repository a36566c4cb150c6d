'use strict';
// One training epoch of the modern LeNet-5 over the 8,000 embedded MNIST training digits
// (batch 64, SGD momentum 0.9, cross-entropy): forward, backward and optimizer step
// through the public API, on receptive-native, receptive-JS and PyTorch 1.13 (the same
// images, written to a temporary file for bench/peers/torch_train_lenet.py).
// Figures are ms per epoch; the table's ratios are time ratios (images/s in the notes).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { timeSync } = require('../lib/timing');
const { computeRatios } = require('../lib/compare');

const ROOT = path.join(__dirname, '..', '..');
const BATCH = 64;

function batches(rc) {
  const T = rc.data.transforms;
  const loader = new rc.data.DataLoader(rc.data.datasets.mnistDigits({ split: 'train' }), {
    batchSize: BATCH, shuffle: true, seed: 1, transform: T.compose([T.pad(2), T.normalize([0.5], [0.5])]),
  });
  return [...loader].map(({ x, y }) => ({ x, y }));
}

function epochFn(rc, backendName, list) {
  return () => {
    rc.setBackend(backendName);
    const model = rc.models.lenet5({ seed: 1 });
    const opt = new rc.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    for (const { x, y } of list) {
      opt.zeroGrad();
      rc.F.crossEntropy(model.forward(x), y).backward();
      opt.step();
    }
  };
}

function torchEpoch(list, threads, log) {
  const py = '/usr/bin/python3';
  if (!fs.existsSync(py)) return { unavailable: 'no /usr/bin/python3' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receptive-train-bench-'));
  try {
    const n = list.reduce((s, b) => s + b.y.length, 0);
    const img = Buffer.alloc(n * 32 * 32 * 4), lab = Buffer.alloc(n * 4);
    let off = 0;
    for (const { x, y } of list) {
      Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength).copy(img, off * 32 * 32 * 4);
      Buffer.from(y.buffer, y.byteOffset, y.byteLength).copy(lab, off * 4);
      off += y.length;
    }
    fs.writeFileSync(path.join(dir, 'x.f32'), img);
    fs.writeFileSync(path.join(dir, 'y.i32'), lab);
    log('  pytorch LeNet-5 epoch');
    const r = spawnSync(py, [path.join(__dirname, '..', 'peers', 'torch_train_lenet.py'),
      path.join(dir, 'x.f32'), path.join(dir, 'y.i32'), String(n), String(threads)], { encoding: 'utf8', timeout: 600000 });
    if (r.status !== 0) return { unavailable: `torch failed: ${(r.stderr || '').trim().split('\n').pop()}` };
    return JSON.parse(r.stdout.trim().split('\n').pop());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = {
  name: 'training',
  title: 'Training epoch, LeNet-5 on 8,000 MNIST digits (ms per epoch)',
  metric: 'ms',
  run(ctx) {
    const rc = require(ROOT);
    const list = batches(rc);
    const images = list.reduce((s, b) => s + b.y.length, 0);
    const timing = { maxTime: ctx.opts.maxTime ?? 5, minSamples: 3, slowMs: 20000 };
    const row = { id: 'lenet5-epoch-b64', name: `LeNet-5 epoch, ${images} images, batch ${BATCH}`, flops: null, peers: {} };
    if (ctx.native) {
      rc.setNumThreads(ctx.threads);
      ctx.log('  native LeNet-5 epoch');
      row.native = timeSync(epochFn(rc, 'native', list), timing);
    } else row.native = { error: ctx.nativeError || 'native backend unavailable' };
    ctx.log('  JS LeNet-5 epoch');
    row.js = timeSync(epochFn(rc, 'js', list), { ...timing, minSamples: 1 });
    const peers = {};
    if (!ctx.opts.noPeers && (!ctx.opts.peers || ctx.opts.peers.includes('pytorch'))) {
      const t = torchEpoch(list, ctx.threads, ctx.log);
      if (t.unavailable) peers.pytorch = { unavailable: t.unavailable };
      else {
        peers.pytorch = { version: t.torch, threads: t.threads };
        row.peers.pytorch = { ms: t.seconds * 1e3, minMs: t.seconds * 1e3 };
      }
    }
    for (const k of ['native', 'js']) if (row[k] && row[k].ms) row[k].imagesPerSecond = images / (row[k].ms / 1e3);
    if (row.peers.pytorch) row.peers.pytorch.imagesPerSecond = images / (row.peers.pytorch.ms / 1e3);
    const result = { kind: 'training', metric: 'ms', rows: [row], peers };
    computeRatios(result, ctx.opts.stat);
    const ips = (r) => (r && r.imagesPerSecond ? `${Math.round(r.imagesPerSecond)} img/s` : 'n/a');
    ctx.log(`  images/s: native ${ips(row.native)}, JS ${ips(row.js)}, PyTorch ${ips(row.peers.pytorch)}`);
    return result;
  },
};
