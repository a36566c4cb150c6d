#!/usr/bin/env node
'use strict';
// onnxruntime-node peer: builds a one-node ONNX model per case (bench/peers/onnx_builder.js;
// conv weights as initializers, so onnxruntime may pre-pack them as it does for a real
// model) and times session.run with intraOpNumThreads = threads.
// stdin: {"kind": "gemm"|"conv"|"pool", "threads", "maxTime", "minSamples", "cases": [...]}
// stdout: {"peer": "onnxruntime", "version", "threads", "results": {id: {ms, minMs, samples}}, "skipped": {}}
const { timeAsync } = require('../lib/timing');
const { convModel, poolModel, gemmModel, randomData } = require('./onnx_builder');

function readStdin() {
  return new Promise((resolve) => {
    let s = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => { s += d; });
    process.stdin.on('end', () => resolve(s));
  });
}

const prod = (d) => d.reduce((a, b) => a * b, 1);

async function main() {
  const spec = JSON.parse(await readStdin());
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    console.log(JSON.stringify({ peer: 'onnxruntime', unavailable: `onnxruntime-node not installed (bash bench/setup-peers.sh): ${e.message.split('\n')[0]}` }));
    return;
  }
  let version = '';
  try { version = require('onnxruntime-node/package.json').version; } catch { /* ignore */ }
  const threads = spec.threads ?? 2;
  const opts = { maxTime: spec.maxTime ?? 1, minSamples: spec.minSamples ?? 5, slowMs: spec.slowMs ?? 4000 };
  const results = {}, skipped = {};
  for (const c of spec.cases) {
    try {
      let built, feeds = {};
      if (spec.kind === 'gemm') {
        built = gemmModel(c);
        let seed = 1;
        for (const [name, dims] of Object.entries(built.inputs)) {
          feeds[name] = new ort.Tensor('float32', randomData(prod(dims), seed++), dims);
        }
      } else {
        built = spec.kind === 'pool' ? poolModel(c) : convModel(c);
        feeds.x = new ort.Tensor('float32', randomData(prod(built.inputDims), 1), built.inputDims);
      }
      const session = await ort.InferenceSession.create(built.model, {
        intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
        graphOptimizationLevel: 'all', executionProviders: ['cpu'],
      });
      const r = await timeAsync(() => session.run(feeds), opts);
      r.impl = spec.kind === 'gemm' ? 'Gemm node' : spec.kind === 'pool' ? 'pool node' : (c.transposed ? 'ConvTranspose node' : 'Conv node');
      results[c.id] = r;
      if (session.release) await session.release();
    } catch (e) {
      skipped[c.id] = String(e && e.message ? e.message : e).split('\n')[0];
    }
  }
  console.log(JSON.stringify({ peer: 'onnxruntime', version, threads, results, skipped }));
}

main().catch((e) => { console.error(e); process.exit(1); });
