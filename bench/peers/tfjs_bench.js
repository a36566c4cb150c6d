#!/usr/bin/env node
'use strict';
// TensorFlow.js peer: @tensorflow/tfjs with its pure-JS 'cpu' backend or the 'wasm'
// backend (@tensorflow/tfjs-backend-wasm). tfjs's native layout is NHWC, so the
// tensors are built NHWC (filters RSCK) and the same work is timed.
// Usage: node tfjs_bench.js cpu|wasm  < spec.json
// stdin: {"kind": "gemm"|"conv"|"pool", "threads", "maxTime", "minSamples", "slowMs",
//         "maxGflop", "cases": [...]}   (cases above maxGflop are skipped as too slow)
const { timeSync } = require('../lib/timing');

function readStdin() {
  return new Promise((resolve) => {
    let s = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => { s += d; });
    process.stdin.on('end', () => resolve(s));
  });
}

async function main() {
  const which = process.argv[2] || 'cpu';
  const peer = `tfjs-${which}`;
  const spec = JSON.parse(await readStdin());
  let tf;
  try {
    tf = require('@tensorflow/tfjs');
    if (which === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    console.log(JSON.stringify({ peer, unavailable: `@tensorflow/tfjs${which === 'wasm' ? '-backend-wasm' : ''} not installed (bash bench/setup-peers.sh): ${e.message.split('\n')[0]}` }));
    return;
  }
  // Silence tfjs's "use tfjs-node" banner on stdout: our stdout is JSON.
  const log = console.log;
  console.log = (...a) => process.stderr.write(a.join(' ') + '\n');
  console.warn = console.log;
  let ok;
  try {
    if (which === 'wasm') {
      const wasm = require('@tensorflow/tfjs-backend-wasm');
      if (wasm.setThreadsCount) try { wasm.setThreadsCount(spec.threads ?? 2); } catch { /* ignore */ }
    }
    ok = await tf.setBackend(which);
    await tf.ready();
  } catch (e) {
    ok = false;
    var err = e;
  }
  if (!ok) {
    log(JSON.stringify({ peer, unavailable: `tf.setBackend('${which}') failed${err ? ': ' + err.message : ''}` }));
    return;
  }
  let threads = 1;
  if (which === 'wasm') {
    try { threads = require('@tensorflow/tfjs-backend-wasm').getThreadsCount(); } catch { /* ignore */ }
  }
  const opts = { maxTime: spec.maxTime ?? 1, minSamples: spec.minSamples ?? 5, slowMs: spec.slowMs ?? 4000 };
  const maxGflop = spec.maxGflop ?? Infinity;
  const results = {}, skipped = {};
  for (const c of spec.cases) {
    if (c.flops !== undefined && c.flops / 1e9 > maxGflop) {
      skipped[c.id] = `too slow: skipped above ${maxGflop} GFLOP`;
      continue;
    }
    try {
      const made = [];
      const rnd = (shape) => { const t = tf.randomUniform(shape, -1, 1, 'float32', 1); made.push(t); return t; };
      let fn, impl;
      if (spec.kind === 'gemm') {
        const a = rnd(c.transA ? [c.K, c.M] : [c.M, c.K]);
        const b = rnd(c.transB ? [c.N, c.K] : [c.K, c.N]);
        fn = () => tf.matMul(a, b, c.transA, c.transB);
        impl = 'tf.matMul';
      } else if (spec.kind === 'conv') {
        const g = c.groups;
        if (c.oneD) {
          // 1-D as a 2-D conv over a height-1 image (tf.conv1d's numeric padding
          // does not map PyTorch's per-side padding).
          if (g !== 1 || c.transposed) throw new Error('grouped/transposed 1-D not mapped');
          const x = rnd([c.N, 1, c.W, c.C]);
          const w = rnd([1, c.S, c.C, c.K]);
          const pad = [[0, 0], [0, 0], [c.padW, c.padW], [0, 0]];
          fn = () => tf.conv2d(x, w, [1, c.strideW], pad, 'NHWC', [1, c.dilationW]);
          impl = 'tf.conv2d (H=1)';
        } else if (c.transposed) {
          if (g !== 1) throw new Error('grouped transposed conv not in tfjs');
          const x = rnd([c.N, c.H, c.W, c.C]);
          const w = rnd([c.R, c.S, c.K, c.C]); // [h, w, outC, inC]
          fn = () => tf.conv2dTranspose(x, w, [c.N, c.OH, c.OW, c.K], [c.strideH, c.strideW], c.padH);
          impl = 'tf.conv2dTranspose';
        } else if (g === 1) {
          const x = rnd([c.N, c.H, c.W, c.C]);
          const w = rnd([c.R, c.S, c.C, c.K]);
          const pad = [[0, 0], [c.padH, c.padH], [c.padW, c.padW], [0, 0]];
          fn = () => tf.conv2d(x, w, [c.strideH, c.strideW], pad, 'NHWC', [c.dilationH, c.dilationW]);
          impl = 'tf.conv2d';
        } else if (g === c.C && g === c.K) {
          const x = rnd([c.N, c.H, c.W, c.C]);
          const w = rnd([c.R, c.S, c.C, 1]);
          const pad = [[0, 0], [c.padH, c.padH], [c.padW, c.padW], [0, 0]];
          fn = () => tf.depthwiseConv2d(x, w, [c.strideH, c.strideW], pad, 'NHWC', [c.dilationH, c.dilationW]);
          impl = 'tf.depthwiseConv2d';
        } else {
          throw new Error('grouped conv not in tfjs');
        }
      } else if (spec.kind === 'pool') {
        const x = rnd([c.N, c.H, c.W, c.C]);
        if (c.kind === 'gavg') { fn = () => tf.mean(x, [1, 2]); impl = 'tf.mean over H,W'; }
        else if (c.kind === 'max') { fn = () => tf.maxPool(x, [c.kH, c.kW], [c.sH, c.sW], c.pH); impl = 'tf.maxPool'; }
        else { fn = () => tf.avgPool(x, [c.kH, c.kW], [c.sH, c.sW], c.pH); impl = 'tf.avgPool'; }
      } else {
        throw new Error(`kind ${spec.kind} not mapped for tfjs`);
      }
      // Kernels run eagerly and synchronously on cpu and wasm; dispose the result.
      const run = () => { const y = fn(); y.dispose(); };
      const r = timeSync(run, opts);
      r.impl = impl;
      results[c.id] = r;
      for (const t of made) t.dispose();
    } catch (e) {
      skipped[c.id] = String(e && e.message ? e.message : e).split('\n')[0];
    }
  }
  log(JSON.stringify({ peer, version: tf.version.tfjs, threads, results, skipped }));
}

main().catch((e) => { console.error(e); process.exit(1); });
