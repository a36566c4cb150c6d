'use strict';
// GEMM: C = A·B (row-major; 'nt' cases have B stored N x K), alpha 1, beta 0.
// Peers: oneDNN dnnl_sgemm, OpenBLAS cblas_sgemm, torch.mm, onnxruntime Gemm, tfjs matMul.
const { gemmCases } = require('../cases');
const { runCompare, randomArray, zeroArray } = require('../lib/compare');

/** A {isa: {threads: GFLOP/s}} peak record -> GFLOP/s on t threads (max of t-thread and t x 1-thread). */
function peakAt(raw, isa, t) {
  const m = raw && raw[isa];
  if (!m) return null;
  return Math.max(m[String(t)] ?? 0, m['1'] !== undefined ? m['1'] * t : 0) || null;
}

/** Issue 2's floors for a GEMM result, with the median ('median') or fastest sample ('min'). */
function gemmFloors(rows, peakRaw, threads, stat = 'median') {
  const r1024 = rows.find((r) => r.id === '1024');
  const floors = {};
  if (!r1024) return floors;
  const g = (t) => (t && t.ms !== undefined ? (stat === 'min' ? t.gflopsBest : t.gflops) : null);
  const nat = g(r1024.native);
  if (peakRaw) {
    const zmm = peakAt(peakRaw, 'zmm', threads), ymm = peakAt(peakRaw, 'ymm', threads);
    const peak = Math.max(zmm || 0, ymm || 0);
    floors.native1024 = {
      rule: `native GEMM 1024 on ${threads} threads >= 60% of peak`, stat,
      gflops: nat, peak, peakIsa: (zmm || 0) >= (ymm || 0) ? 'zmm' : 'ymm',
      fraction: nat ? nat / peak : null, met: nat ? nat >= 0.6 * peak : false,
      ymmPeak: ymm, fractionOfYmmPeak: nat && ymm ? nat / ymm : null,
    };
  }
  const js = g(r1024.js);
  floors.js1024 = { rule: 'JS GEMM 1024 >= 3 GFLOP/s on one thread', stat, gflops: js, met: js ? js >= 3 : false };
  return floors;
}

module.exports = {
  name: 'gemm',
  title: 'GEMM (single precision)',
  metric: 'gflops',
  gemmFloors,
  peakAt,
  run(ctx) {
    const result = runCompare(ctx, {
      kind: 'gemm',
      metric: 'gflops',
      cases: gemmCases(),
      prepare(be, c) {
        const A = randomArray(c.M * c.K, 1, be);
        const B = randomArray(c.K * c.N, 2, be);
        const C = zeroArray(c.M * c.N, be);
        return { fn: () => be.gemm(c.transA, c.transB, c.M, c.N, c.K, 1, A, B, 0, C), output: C };
      },
    });
    result.floors = gemmFloors(result.rows, ctx.peak ? ctx.peak.raw : null, ctx.threads, ctx.opts.stat);
    return result;
  },
};
