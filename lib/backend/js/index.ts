// The pure TypeScript backend: the whole Backend contract on one thread, no WASM, no
// workers. Each entry point validates its arguments (validate.ts, the same checks and error
// classes as native/addon.cc) before touching memory, then runs the kernel family's file.
import type {
  AdaptivePoolGeometry, AvgPoolGeometry, Backend, BackendInfo, ConvGeometry, ConvOutputPart,
  PoolGeometry, PreparedConv2d,
} from '../backend';
import * as v from '../validate';
import { sgemm } from './gemm';
import * as conv from './conv';
import * as pool from './pool';
import * as act from './activation';

export { sgemm } from './gemm';

/** The JS backend's prepared weights: the scaled filter and the bias, copied. */
class JsPreparedConv2d implements PreparedConv2d {
  readonly backend = 'js' as const;
  readonly algorithm = 'js';
  readonly kernel = 'js';
  readonly bytes: number;
  constructor(readonly filter: { K: number; C: number; R: number; S: number; groups: number;
                                 strideH: number; strideW: number; dilationH: number; dilationW: number },
              readonly w: Float32Array, readonly bias: Float32Array | null) {
    this.bytes = 4 * (w.length + (bias ? bias.length : 0));
  }
}

function notJsPrepared(fn: string, prepared: unknown): TypeError {
  return new TypeError(`${fn}: prepared must come from the JS backend's prepareConv2d, got ${v.describe(prepared)}`);
}

/** The prepared weights must have been made for g's filter, groups, strides and dilations. */
function checkFilter(fn: string, prepared: JsPreparedConv2d, c: ConvGeometry): void {
  const f = prepared.filter;
  if (f.K !== c.K || f.C !== c.C || f.R !== c.R || f.S !== c.S || f.groups !== c.groups ||
      f.strideH !== c.strideH || f.strideW !== c.strideW || f.dilationH !== c.dilationH ||
      f.dilationW !== c.dilationW) {
    throw new RangeError(`${fn}: prepared weights were made for another filter, groups, stride or dilation than g`);
  }
}

export function createJsBackend(): Backend {
  let requestedThreads = 1;

  const backend: Backend & { requestedThreads(): number } = {
    name: 'js',

    info(): BackendInfo {
      return { name: 'js', isa: 'js', cpuFeatures: [], openmp: false };
    },

    /** Recorded (and validated) for symmetry with native; the kernels run on one thread. */
    setNumThreads(n: number): void {
      requestedThreads = v.threadCount('setNumThreads', n);
    },
    getNumThreads(): number {
      return 1;
    },
    requestedThreads(): number {
      return requestedThreads;
    },

    gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
         A: Float32Array, B: Float32Array, beta: number, C: Float32Array): void {
      const fn = 'gemm';
      v.boolArg(fn, 'transA', transA);
      v.boolArg(fn, 'transB', transB);
      v.intArg(fn, 'M', M);
      v.intArg(fn, 'N', N);
      v.intArg(fn, 'K', K);
      v.numberArg(fn, 'alpha', alpha);
      v.f32(fn, 'A', A);
      v.f32(fn, 'B', B);
      v.numberArg(fn, 'beta', beta);
      v.f32(fn, 'C', C);
      v.expectLength(fn, 'A', A.length, transA ? [K, M] : [M, K]);
      v.expectLength(fn, 'B', B.length, transB ? [N, K] : [K, N]);
      v.expectLength(fn, 'C', C.length, [M, N]);
      v.disjoint(fn, C, 'C', A, 'A');
      v.disjoint(fn, C, 'C', B, 'B');
      // float32 scalars, as the native kernels see them
      sgemm(transA, transB, M, N, K, Math.fround(alpha), A, 0, transA ? M : K,
        B, 0, transB ? K : N, Math.fround(beta), C, 0, N);
    },

    conv2dForward(g: ConvGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null,
                  y: Float32Array): void {
      const fn = 'conv2dForward';
      const c = v.convGeometry(fn, g);
      v.f32(fn, 'x', x);
      v.f32(fn, 'w', w);
      const b = v.f32(fn, 'bias', bias, true);
      v.f32(fn, 'y', y);
      v.expectLength(fn, 'x', x.length, [c.N, c.C, c.H, c.W]);
      v.expectLength(fn, 'w', w.length, [c.K, c.C / c.groups, c.R, c.S]);
      if (b) v.expectLength(fn, 'bias', b.length, [c.K]);
      v.expectLength(fn, 'y', y.length, [c.N, c.K, c.OH, c.OW]);
      v.disjoint(fn, y, 'y', x, 'x');
      v.disjoint(fn, y, 'y', w, 'w');
      v.disjoint(fn, y, 'y', b, 'bias');
      conv.conv2dForward(c, x, w, b, y);
    },

    convAlgorithm(g: ConvGeometry): string {
      v.convGeometry('convAlgorithm', g);
      return 'js';
    },

    prepareConv2d(g: ConvGeometry, w: Float32Array, scale: Float32Array | null,
                  bias: Float32Array | null): PreparedConv2d {
      const fn = 'prepareConv2d';
      const c = v.convGeometry(fn, g);
      v.f32(fn, 'w', w);
      const s = v.f32(fn, 'scale', scale, true);
      const b = v.f32(fn, 'bias', bias, true);
      v.expectLength(fn, 'w', w.length, [c.K, c.C / c.groups, c.R, c.S]);
      if (s) v.expectLength(fn, 'scale', s.length, [c.K]);
      if (b) v.expectLength(fn, 'bias', b.length, [c.K]);
      const ws = new Float32Array(w);
      if (s) {
        const per = w.length / c.K;
        for (let k = 0; k < c.K; k++) for (let i = k * per; i < (k + 1) * per; i++) ws[i] = w[i] * s[k];
      }
      const { K, C, R, S, groups, strideH, strideW, dilationH, dilationW } = c;
      return new JsPreparedConv2d({ K, C, R, S, groups, strideH, strideW, dilationH, dilationW }, ws,
        b ? new Float32Array(b) : null);
    },

    conv2dForwardPrepared(g: ConvGeometry, x: Float32Array, prepared: PreparedConv2d,
                          residual: Float32Array | null, relu: boolean, y: Float32Array,
                          yImageStride?: number): void {
      const fn = 'conv2dForwardPrepared';
      const c = v.convGeometry(fn, g);
      v.f32(fn, 'x', x);
      if (!(prepared instanceof JsPreparedConv2d)) throw notJsPrepared(fn, prepared);
      const r = v.f32(fn, 'residual', residual, true);
      v.boolArg(fn, 'relu', relu);
      v.f32(fn, 'y', y);
      checkFilter(fn, prepared, c);
      v.expectLength(fn, 'x', x.length, [c.N, c.C, c.H, c.W]);
      if (r) v.expectLength(fn, 'residual', r.length, [c.N, c.K, c.OH, c.OW]);
      const image = c.K * c.OH * c.OW;
      if (yImageStride !== undefined) {
        // y's images yImageStride apart (the channels of a wider tensor): computed aside,
        // then copied image by image.
        const stride = v.intArg(fn, 'yImageStride', yImageStride);
        if (stride < image) throw new RangeError(`${fn}: yImageStride must be at least K*OH*OW = ${image}, got ${stride}`);
        if (r) throw new RangeError(`${fn}: a residual needs a contiguous y (no yImageStride)`);
        const need = c.N > 0 ? (c.N - 1) * stride + image : 0;
        if (y.length < need) {
          throw new RangeError(`${fn}: y has ${y.length} elements, fewer than the ${need} that N images ${stride} apart need`);
        }
        v.disjoint(fn, y, 'y', x, 'x');
        const out = new Float32Array(c.N * image);
        conv.conv2dForward(c, x, prepared.w, prepared.bias, out);
        conv.applyResidualRelu(null, relu, out);
        for (let n = 0; n < c.N; n++) y.set(out.subarray(n * image, (n + 1) * image), n * stride);
        return;
      }
      v.expectLength(fn, 'y', y.length, [c.N, c.K, c.OH, c.OW]);
      v.disjoint(fn, y, 'y', x, 'x');
      // residual === y (the same elements) adds in place; any other overlap is an error
      const inPlace = r !== null && r.buffer === y.buffer && r.byteOffset === y.byteOffset && r.length === y.length;
      if (!inPlace) v.disjoint(fn, y, 'y', r, 'residual');
      const shortcut = inPlace ? Float32Array.from(r) : r;
      conv.conv2dForward(c, x, prepared.w, prepared.bias, y);
      conv.applyResidualRelu(shortcut, relu, y);
    },

    conv2dForwardPreparedSplit(g: ConvGeometry, x: Float32Array, prepared: PreparedConv2d, relu: boolean,
                               outputs: ConvOutputPart[]): void {
      const fn = 'conv2dForwardPreparedSplit';
      const c = v.convGeometry(fn, g);
      v.f32(fn, 'x', x);
      if (!(prepared instanceof JsPreparedConv2d)) throw notJsPrepared(fn, prepared);
      v.boolArg(fn, 'relu', relu);
      checkFilter(fn, prepared, c);
      v.expectLength(fn, 'x', x.length, [c.N, c.C, c.H, c.W]);
      const plane = c.OH * c.OW, image = c.K * plane;
      const parts = v.convOutputParts(fn, outputs, c.N, c.K, plane, x);
      // Computed aside, then each output's channels copied to its images.
      const out = new Float32Array(c.N * image);
      conv.conv2dForward(c, x, prepared.w, prepared.bias, out);
      conv.applyResidualRelu(null, relu, out);
      for (let n = 0; n < c.N; n++) {
        let k0 = 0;
        for (const p of parts) {
          const from = n * image + k0 * plane;
          p.data.set(out.subarray(from, from + p.channels * plane), n * p.imageStride);
          k0 += p.channels;
        }
      }
    },

    allocate(n: number): Float32Array {
      return new Float32Array(v.intArg('allocate', 'n', n));
    },

    reluForward(x: Float32Array, y: Float32Array): void {
      const fn = 'reluForward';
      v.f32(fn, 'x', x);
      v.f32(fn, 'y', y);
      v.expectLength(fn, 'y', y.length, [x.length]);
      v.sameOrDisjoint(fn, y, 'y', x, 'x');
      act.reluInto(x, y);
    },

    reluBackward(y: Float32Array, gy: Float32Array, gx: Float32Array): void {
      const fn = 'reluBackward';
      v.f32(fn, 'y', y);
      v.f32(fn, 'gy', gy);
      v.f32(fn, 'gx', gx);
      v.expectLength(fn, 'gy', gy.length, [y.length]);
      v.expectLength(fn, 'gx', gx.length, [y.length]);
      v.sameOrDisjoint(fn, gx, 'gx', gy, 'gy');
      v.disjoint(fn, gx, 'gx', y, 'y');
      act.reluBackwardInto(y, gy, gx);
    },

    conv2dBackwardInput(g: ConvGeometry, gy: Float32Array, w: Float32Array, gx: Float32Array): void {
      const fn = 'conv2dBackwardInput';
      const c = v.convGeometry(fn, g);
      v.f32(fn, 'gy', gy);
      v.f32(fn, 'w', w);
      v.f32(fn, 'gx', gx);
      v.expectLength(fn, 'gy', gy.length, [c.N, c.K, c.OH, c.OW]);
      v.expectLength(fn, 'w', w.length, [c.K, c.C / c.groups, c.R, c.S]);
      v.expectLength(fn, 'gx', gx.length, [c.N, c.C, c.H, c.W]);
      v.disjoint(fn, gx, 'gx', gy, 'gy');
      v.disjoint(fn, gx, 'gx', w, 'w');
      conv.conv2dBackwardInput(c, gy, w, gx);
    },

    conv2dBackwardWeight(g: ConvGeometry, x: Float32Array, gy: Float32Array, gw: Float32Array): void {
      const fn = 'conv2dBackwardWeight';
      const c = v.convGeometry(fn, g);
      v.f32(fn, 'x', x);
      v.f32(fn, 'gy', gy);
      v.f32(fn, 'gw', gw);
      v.expectLength(fn, 'x', x.length, [c.N, c.C, c.H, c.W]);
      v.expectLength(fn, 'gy', gy.length, [c.N, c.K, c.OH, c.OW]);
      v.expectLength(fn, 'gw', gw.length, [c.K, c.C / c.groups, c.R, c.S]);
      v.disjoint(fn, gw, 'gw', x, 'x');
      v.disjoint(fn, gw, 'gw', gy, 'gy');
      conv.conv2dBackwardWeight(c, x, gy, gw);
    },

    conv2dBackwardBias(g: ConvGeometry, gy: Float32Array, gb: Float32Array): void {
      const fn = 'conv2dBackwardBias';
      const c = v.convGeometry(fn, g);
      v.f32(fn, 'gy', gy);
      v.f32(fn, 'gb', gb);
      v.expectLength(fn, 'gy', gy.length, [c.N, c.K, c.OH, c.OW]);
      v.expectLength(fn, 'gb', gb.length, [c.K]);
      v.disjoint(fn, gb, 'gb', gy, 'gy');
      conv.conv2dBackwardBias(c, gy, gb);
    },

    maxPool2dForward(g: PoolGeometry, x: Float32Array, y: Float32Array,
                     indices: Int32Array | null): void {
      const fn = 'maxPool2dForward';
      const p = v.poolGeometry(fn, g, false);
      v.f32(fn, 'x', x);
      v.f32(fn, 'y', y);
      const idx = v.i32(fn, 'indices', indices, true);
      v.expectLength(fn, 'x', x.length, [p.N, p.C, p.H, p.W]);
      v.expectLength(fn, 'y', y.length, [p.N, p.C, p.OH, p.OW]);
      if (idx) v.expectLength(fn, 'indices', idx.length, [p.N, p.C, p.OH, p.OW]);
      v.disjoint(fn, y, 'y', x, 'x');
      v.disjoint(fn, idx, 'indices', x, 'x');
      v.disjoint(fn, idx, 'indices', y, 'y');
      if (idx && p.H * p.W > v.MAX_DIM) {
        throw new RangeError(`${fn}: g.H*g.W = ${p.H * p.W} does not fit Int32Array indices`);
      }
      pool.maxPool2dForward(p, x, y, idx);
    },

    maxPool2dBackward(g: PoolGeometry, gy: Float32Array, indices: Int32Array, gx: Float32Array): void {
      const fn = 'maxPool2dBackward';
      const p = v.poolGeometry(fn, g, false);
      v.f32(fn, 'gy', gy);
      v.i32(fn, 'indices', indices);
      v.f32(fn, 'gx', gx);
      v.expectLength(fn, 'gy', gy.length, [p.N, p.C, p.OH, p.OW]);
      v.expectLength(fn, 'indices', indices.length, [p.N, p.C, p.OH, p.OW]);
      v.expectLength(fn, 'gx', gx.length, [p.N, p.C, p.H, p.W]);
      v.disjoint(fn, gx, 'gx', gy, 'gy');
      v.disjoint(fn, gx, 'gx', indices, 'indices');
      v.poolIndices(fn, indices, p.H * p.W);
      pool.maxPool2dBackward(p, gy, indices, gx);
    },

    avgPool2dForward(g: AvgPoolGeometry, x: Float32Array, y: Float32Array): void {
      const fn = 'avgPool2dForward';
      const p = v.poolGeometry(fn, g, true);
      v.f32(fn, 'x', x);
      v.f32(fn, 'y', y);
      v.expectLength(fn, 'x', x.length, [p.N, p.C, p.H, p.W]);
      v.expectLength(fn, 'y', y.length, [p.N, p.C, p.OH, p.OW]);
      v.disjoint(fn, y, 'y', x, 'x');
      pool.avgPool2dForward(p, x, y);
    },

    avgPool2dBackward(g: AvgPoolGeometry, gy: Float32Array, gx: Float32Array): void {
      const fn = 'avgPool2dBackward';
      const p = v.poolGeometry(fn, g, true);
      v.f32(fn, 'gy', gy);
      v.f32(fn, 'gx', gx);
      v.expectLength(fn, 'gy', gy.length, [p.N, p.C, p.OH, p.OW]);
      v.expectLength(fn, 'gx', gx.length, [p.N, p.C, p.H, p.W]);
      v.disjoint(fn, gx, 'gx', gy, 'gy');
      pool.avgPool2dBackward(p, gy, gx);
    },

    adaptiveAvgPool2dForward(g: AdaptivePoolGeometry, x: Float32Array, y: Float32Array): void {
      const fn = 'adaptiveAvgPool2dForward';
      const a = v.adaptiveGeometry(fn, g);
      v.f32(fn, 'x', x);
      v.f32(fn, 'y', y);
      v.expectLength(fn, 'x', x.length, [a.N, a.C, a.H, a.W]);
      v.expectLength(fn, 'y', y.length, [a.N, a.C, a.OH, a.OW]);
      v.disjoint(fn, y, 'y', x, 'x');
      pool.adaptiveAvgPool2dForward(a, x, y);
    },

    adaptiveAvgPool2dBackward(g: AdaptivePoolGeometry, gy: Float32Array, gx: Float32Array): void {
      const fn = 'adaptiveAvgPool2dBackward';
      const a = v.adaptiveGeometry(fn, g);
      v.f32(fn, 'gy', gy);
      v.f32(fn, 'gx', gx);
      v.expectLength(fn, 'gy', gy.length, [a.N, a.C, a.OH, a.OW]);
      v.expectLength(fn, 'gx', gx.length, [a.N, a.C, a.H, a.W]);
      v.disjoint(fn, gx, 'gx', gy, 'gy');
      pool.adaptiveAvgPool2dBackward(a, gy, gx);
    },
  };
  return backend;
}
