'use strict';
// Builds the C++ helpers of the bench into bench/build/ (gitignored):
//   fma_peak   - the FMA-loop peak of this machine (always, needs g++ with OpenMP)
//   gemm_peers - oneDNN / OpenBLAS peers, compiled against whichever is installed
// Used by bench/setup-peers.sh and, on demand, by bench/run.js. `node bench/peers/build.js [--force]`.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const BENCH = path.join(__dirname, '..');
const OUT = path.join(BENCH, 'build');

function exists(p) { try { fs.accessSync(p); return true; } catch { return false; } }

function cxx() { return process.env.CXX || 'g++'; }

function compile(args, log) {
  const r = spawnSync(cxx(), args, { encoding: 'utf8' });
  fs.writeFileSync(log, `${cxx()} ${args.join(' ')}\n${r.stdout || ''}${r.stderr || ''}${r.error ? String(r.error) : ''}`);
  return r.status === 0;
}

function newer(src, bin) {
  if (!exists(bin)) return true;
  return fs.statSync(src).mtimeMs > fs.statSync(bin).mtimeMs;
}

function detectLibs() {
  const defs = [], libs = [], incs = [], found = [];
  if (['/usr/include/dnnl.h', '/usr/local/include/dnnl.h'].some(exists)) {
    defs.push('-DHAVE_DNNL'); libs.push('-ldnnl'); found.push('onednn');
  }
  const cblasDirs = ['/usr/include/x86_64-linux-gnu/openblas-pthread', '/usr/include/x86_64-linux-gnu/openblas-openmp',
    '/usr/include/aarch64-linux-gnu/openblas-pthread', '/usr/include/openblas'];
  const inc = cblasDirs.find((d) => exists(path.join(d, 'cblas.h')));
  const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/local/lib'];
  const hasLib = libDirs.some((d) => exists(path.join(d, 'libopenblas.so')));
  if (inc && hasLib) {
    defs.push('-DHAVE_OPENBLAS'); incs.push(`-I${inc}`); libs.push('-lopenblas'); found.push('openblas');
  }
  return { defs, libs, incs, found };
}

/** Builds what is missing or stale; returns {fmaPeak: path|null, gemmPeers: path|null, libs: [...], notes: [...]}. */
function ensureBuilt({ force = false, quiet = false } = {}) {
  fs.mkdirSync(OUT, { recursive: true });
  const notes = [];
  const say = (s) => { notes.push(s); if (!quiet) process.stderr.write(`bench: ${s}\n`); };
  const fma = path.join(OUT, 'fma_peak');
  const fmaSrc = path.join(__dirname, 'fma_peak.cc');
  if (force || newer(fmaSrc, fma)) {
    if (compile(['-O3', '-march=native', '-fopenmp', fmaSrc, '-o', fma], path.join(OUT, 'fma_peak.log'))) say('built bench/build/fma_peak');
    else say('could not build fma_peak (see bench/build/fma_peak.log)');
  }
  const gp = path.join(OUT, 'gemm_peers');
  const gpSrc = path.join(__dirname, 'gemm_peers.cc');
  const stamp = path.join(OUT, 'gemm_peers.libs');
  const { defs, libs, incs, found } = detectLibs();
  const prev = exists(stamp) ? fs.readFileSync(stamp, 'utf8') : '';
  if (force || newer(gpSrc, gp) || prev !== found.join(',')) {
    if (compile(['-O2', '-std=c++17', '-fopenmp', ...incs, ...defs, gpSrc, '-o', gp, ...libs], path.join(OUT, 'gemm_peers.log'))) {
      fs.writeFileSync(stamp, found.join(','));
      say(`built bench/build/gemm_peers with ${found.length ? found.join(' + ') : 'no libraries (oneDNN/OpenBLAS not installed)'}`);
    } else {
      say('could not build gemm_peers (see bench/build/gemm_peers.log)');
    }
  }
  return { fmaPeak: exists(fma) ? fma : null, gemmPeers: exists(gp) ? gp : null, libs: found, notes };
}

module.exports = { ensureBuilt, detectLibs };

if (require.main === module) {
  const r = ensureBuilt({ force: process.argv.includes('--force') });
  console.log(JSON.stringify({ fmaPeak: r.fmaPeak, gemmPeers: r.gemmPeers, libs: r.libs }));
}
