'use strict';
// The peers, each run in its own process (so its thread pool never competes with
// receptive's, and a crash or missing install only costs its column). Each gets the
// parsed cases of one kind and returns {peer, version, threads, results: {id: {ms,
// minMs, samples, impl}}, skipped: {id: why}} or {peer, unavailable: why}.
//
// kinds: 'gemm', 'conv', 'conv-bwd-input', 'conv-bwd-weight', 'pool'
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { ensureBuilt } = require('./build');

const BENCH = path.join(__dirname, '..');
const PYTHON = process.env.RECEPTIVE_BENCH_PYTHON || '/usr/bin/python3';

function resolvable(mod) {
  try { require.resolve(mod, { paths: [BENCH] }); return true; } catch { return false; }
}

function run(cmd, args, input, threads, timeoutS) {
  const env = {
    ...process.env,
    OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads),
  };
  const r = spawnSync(cmd, args, {
    input, env, encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 64 << 20, cwd: BENCH,
  });
  if (r.error) return { error: `${cmd}: ${r.error.message}` };
  const line = (r.stdout || '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) {
    return { error: `${path.basename(cmd === 'node' || cmd === PYTHON ? args[0] : cmd)} exited ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').slice(-2).join(' | ')}` };
  }
  try { return { out: JSON.parse(line) }; } catch (e) { return { error: `bad JSON from ${cmd}: ${e.message}` }; }
}

function gemmPeersLines(kind, cases) {
  return cases.map((c) => {
    if (kind === 'gemm') return [c.id, c.M, c.N, c.K, +c.transA, +c.transB].join(' ');
    if (kind === 'conv') {
      return [c.id, c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.strideH, c.strideW, c.padH, c.padW, c.dilationH,
        c.dilationW, c.groups, +c.transposed, +c.oneD].join(' ');
    }
    if (kind === 'pool') return [c.id, c.kind, c.N, c.C, c.H, c.W, c.kH, c.kW, c.sH, c.sW, c.pH, c.pW].join(' ');
    throw new Error(kind);
  }).join('\n') + '\n';
}

let built = null;
function cppPeer(name, lib, kinds) {
  return {
    name, kinds,
    describe: lib === 'onednn' ? 'oneDNN (libdnnl): dnnl_sgemm; conv/deconv/pool primitives on blocked layouts (reorders untimed) and on NCHW (-nchw)'
      : 'OpenBLAS cblas_sgemm',
    check() {
      built = built || ensureBuilt({ quiet: true });
      if (!built.gemmPeers) return 'gemm_peers could not be built (see bench/build/gemm_peers.log)';
      if (!built.libs.includes(lib)) return `${lib === 'onednn' ? 'libdnnl-dev' : 'libopenblas-dev'} not installed (bash bench/setup-peers.sh)`;
      return null;
    },
    run(kind, cases, o) {
      const r = run(built.gemmPeers, [kind, lib, String(o.threads), String(o.maxTime), String(o.minSamples)],
        gemmPeersLines(kind, cases), o.threads, o.timeoutS);
      if (r.error) return { peer: name, unavailable: r.error };
      return r.out;
    },
  };
}

const PEERS = [
  {
    name: 'pytorch',
    kinds: ['gemm', 'conv', 'conv-bwd-input', 'conv-bwd-weight', 'pool'],
    describe: 'PyTorch (Debian python3-torch, oneDNN inside), in-process timing in Python',
    check() {
      if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
      const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
      return r.status === 0 ? null : 'python3-torch not installed (bash bench/setup-peers.sh)';
    },
    run(kind, cases, o) {
      const r = run(PYTHON, [path.join(__dirname, 'torch_bench.py')],
        JSON.stringify({ kind, threads: o.threads, maxTime: o.maxTime, minSamples: o.minSamples, cases }), o.threads, o.timeoutS);
      return r.error ? { peer: 'pytorch', unavailable: r.error } : r.out;
    },
  },
  cppPeer('onednn', 'onednn', ['gemm', 'conv', 'pool']),
  cppPeer('openblas', 'openblas', ['gemm']),
  {
    name: 'onnxruntime',
    kinds: ['gemm', 'conv', 'pool'],
    describe: 'onnxruntime-node (CPU EP), one-node ONNX graphs, session.run',
    check() { return resolvable('onnxruntime-node') ? null : 'onnxruntime-node not installed (bash bench/setup-peers.sh)'; },
    run(kind, cases, o) {
      const r = run('node', [path.join(__dirname, 'ort_bench.js')],
        JSON.stringify({ kind, threads: o.threads, maxTime: o.maxTime, minSamples: o.minSamples, slowMs: o.slowMs, cases }), o.threads, o.timeoutS);
      return r.error ? { peer: 'onnxruntime', unavailable: r.error } : r.out;
    },
  },
  ...['cpu', 'wasm'].map((b) => ({
    name: `tfjs-${b}`,
    kinds: ['gemm', 'conv', 'pool'],
    slow: b === 'cpu',
    describe: b === 'cpu' ? 'TensorFlow.js pure-JS cpu backend (NHWC)' : 'TensorFlow.js wasm backend (NHWC)',
    check() {
      if (!resolvable('@tensorflow/tfjs')) return '@tensorflow/tfjs not installed (bash bench/setup-peers.sh)';
      if (b === 'wasm' && !resolvable('@tensorflow/tfjs-backend-wasm')) return '@tensorflow/tfjs-backend-wasm not installed';
      return null;
    },
    run(kind, cases, o) {
      const r = run('node', [path.join(__dirname, 'tfjs_bench.js'), b],
        JSON.stringify({
          kind, threads: o.threads, maxTime: o.maxTime, minSamples: o.minSamples, slowMs: o.slowMs,
          maxGflop: b === 'cpu' ? o.tfjsCpuMaxGflop : o.tfjsWasmMaxGflop, cases,
        }), o.threads, o.timeoutS);
      return r.error ? { peer: `tfjs-${b}`, unavailable: r.error } : r.out;
    },
  })),
];

/**
 * Runs every selected peer that handles `kind`. Returns {name: output}. Results whose id
 * ends in '-nchw' (oneDNN conv and pooling on plain NCHW) become a separate '<peer>-nchw'
 * entry, and the peer's own entry is marked layout: 'blocked' (activations in oneDNN's
 * blocked layouts, reorders untimed).
 */
function runPeers(kind, cases, o, log = () => {}) {
  const out = {};
  for (const p of PEERS) {
    if (!p.kinds.includes(kind)) continue;
    if (o.only && !o.only.includes(p.name)) continue;
    const why = p.check();
    if (why) { out[p.name] = { peer: p.name, unavailable: why }; log(`  ${p.name}: skipped (${why})`); continue; }
    const t0 = Date.now();
    log(`  ${p.name}: running ${cases.length} ${kind} case(s)...`);
    const r = p.run(kind, cases, o);
    if (r.unavailable) log(`  ${p.name}: failed (${r.unavailable})`);
    else log(`  ${p.name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const nchw = {};
    if (r.results) {
      for (const id of Object.keys(r.results)) {
        if (id.endsWith('-nchw')) { nchw[id.slice(0, -5)] = r.results[id]; delete r.results[id]; }
      }
    }
    out[p.name] = r;
    if (Object.keys(nchw).length) {
      out[`${p.name}-nchw`] = { ...r, peer: `${p.name}-nchw`, results: nchw, skipped: {}, layout: 'plain' };
      r.layout = 'blocked';
    }
  }
  return out;
}

module.exports = { PEERS, runPeers };
