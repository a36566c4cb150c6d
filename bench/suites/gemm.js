'use strict';
// GEMM: C = A·B (row-major; 'nt' cases have B stored N x K), alpha 1, beta 0.
// Peers: oneDNN dnnl_sgemm, OpenBLAS cblas_sgemm, torch.mm, onnxruntime Gemm, tfjs matMul.
const { gemmCases } = require('../cases');
const { runCompare, randomArray } = require('../lib/compare');

module.exports = {
  name: 'gemm',
  title: 'GEMM (single precision)',
  metric: 'gflops',
  run(ctx) {
    const result = runCompare(ctx, {
      kind: 'gemm',
      metric: 'gflops',
      cases: gemmCases(),
      prepare(be, c) {
        const A = randomArray(c.M * c.K, 1);
        const B = randomArray(c.K * c.N, 2);
        const C = new Float32Array(c.M * c.N);
        return { fn: () => be.gemm(c.transA, c.transB, c.M, c.N, c.K, 1, A, B, 0, C), output: C };
      },
    });
    // Issue 2's floors, stated against the FMA-loop peak measured in this run.
    const r1024 = result.rows.find((r) => r.id === '1024');
    const floors = {};
    if (r1024 && ctx.peak) {
      const nat = r1024.native && r1024.native.gflops;
      const peak = ctx.peak.at(ctx.threads);
      floors.native1024 = {
        rule: `native GEMM 1024 on ${ctx.threads} threads >= 60% of peak`,
        gflops: nat ?? null, peak: peak.gflops, peakIsa: peak.isa,
        fraction: nat ? nat / peak.gflops : null, met: nat ? nat >= 0.6 * peak.gflops : false,
        ymmPeak: ctx.peak.atIsa('ymm', ctx.threads),
        fractionOfYmmPeak: nat && ctx.peak.atIsa('ymm', ctx.threads) ? nat / ctx.peak.atIsa('ymm', ctx.threads) : null,
      };
    }
    if (r1024) {
      const js = r1024.js && r1024.js.gflops;
      floors.js1024 = { rule: 'JS GEMM 1024 >= 3 GFLOP/s on one thread', gflops: js ?? null, met: js ? js >= 3 : false };
    }
    result.floors = floors;
    return result;
  },
};
