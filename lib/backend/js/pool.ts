// Max, average and adaptive average pooling in plain TypeScript, one (image, channel) plane
// at a time. Semantics follow PyTorch (and native/pool/pool.cc): padding is -inf for max and
// zero for average pooling, ties go to the first maximum in row-major window order, a NaN
// wins over every number, and the countIncludePad divisor stops at the far padding edge.
import type { AdaptivePoolGeometry } from '../backend';
import type { CheckedPool } from '../validate';

/** First tap k with start + k*dilation >= 0. */
function firstTap(start: number, dilation: number): number {
  return start >= 0 ? 0 : Math.floor((-start + dilation - 1) / dilation);
}

/** Number of taps k in [0, kernel) with lo <= start + k*dilation < hi. */
function tapsInside(start: number, kernel: number, dilation: number, lo: number, hi: number): number {
  if (start >= hi) return 0;
  const first = start >= lo ? 0 : Math.floor((lo - start + dilation - 1) / dilation);
  let last = Math.floor((hi - 1 - start) / dilation);
  if (last > kernel - 1) last = kernel - 1;
  return last >= first ? last - first + 1 : 0;
}

/** Per output position along one axis: window start, first real tap, real tap count, divisor. */
interface AxisPlan { start: Int32Array; first: Int32Array; count: Int32Array; div: Int32Array }

function axisPlan(out: number, n: number, kernel: number, stride: number, pad: number,
                  dilation: number, includePad: boolean): AxisPlan {
  const p: AxisPlan = {
    start: new Int32Array(out), first: new Int32Array(out), count: new Int32Array(out),
    div: new Int32Array(out),
  };
  for (let o = 0; o < out; o++) {
    const s = o * stride - pad;
    p.start[o] = s;
    p.first[o] = firstTap(s, dilation);
    p.count[o] = tapsInside(s, kernel, dilation, 0, n);
    p.div[o] = includePad ? tapsInside(s, kernel, dilation, -pad, n + pad) : p.count[o];
  }
  return p;
}

/** `indices` null: only y is written (inference). */
export function maxPool2dForward(g: CheckedPool, x: Float32Array, y: Float32Array,
                                 indices: Int32Array | null): void {
  const { H, W, OH, OW, dilationH: dh, dilationW: dw } = g;
  const planes = g.N * g.C;
  const HW = H * W, OHW = OH * OW;
  const ph = axisPlan(OH, H, g.kernelH, g.strideH, g.padH, dh, false);
  const pw = axisPlan(OW, W, g.kernelW, g.strideW, g.padW, dw, false);
  // The common 2x2 / stride 2 / unpadded window, unrolled.
  const fast2x2 = g.kernelH === 2 && g.kernelW === 2 && g.strideH === 2 && g.strideW === 2 &&
    g.padH === 0 && g.padW === 0 && dh === 1 && dw === 1 && 2 * OH <= H && 2 * OW <= W;
  for (let p = 0; p < planes; p++) {
    const xp = p * HW, yp = p * OHW;
    if (fast2x2) {
      for (let oh = 0; oh < OH; oh++) {
        const r0 = 2 * oh * W;
        const yr = yp + oh * OW;
        for (let ow = 0; ow < OW; ow++) {
          let at = r0 + 2 * ow;
          let best = x[xp + at];
          let i = at + 1, v = x[xp + i];
          if (v > best || (v !== v && best === best)) { best = v; at = i; }
          i = r0 + W + 2 * ow; v = x[xp + i];
          if (v > best || (v !== v && best === best)) { best = v; at = i; }
          i++; v = x[xp + i];
          if (v > best || (v !== v && best === best)) { best = v; at = i; }
          y[yr + ow] = best;
          if (indices) indices[yr + ow] = at;
        }
      }
      continue;
    }
    for (let oh = 0; oh < OH; oh++) {
      const hs = ph.start[oh], r0 = ph.first[oh], rn = ph.count[oh];
      for (let ow = 0; ow < OW; ow++) {
        const ws = pw.start[ow], s0 = pw.first[ow], sn = pw.count[ow];
        let best = -Infinity;
        let at = -1;
        for (let r = r0; r < r0 + rn; r++) {
          const rowIdx = (hs + r * dh) * W + ws;
          for (let s = s0; s < s0 + sn; s++) {
            const i = rowIdx + s * dw;
            const v = x[xp + i];
            if (at < 0 || v > best || (v !== v && best === best)) { best = v; at = i; }
          }
        }
        y[yp + oh * OW + ow] = best;
        if (indices) indices[yp + oh * OW + ow] = at;
      }
    }
  }
}

export function maxPool2dBackward(g: CheckedPool, gy: Float32Array, indices: Int32Array,
                                  gx: Float32Array): void {
  const planes = g.N * g.C;
  const HW = g.H * g.W, OHW = g.OH * g.OW;
  gx.fill(0);
  for (let p = 0; p < planes; p++) {
    const xp = p * HW, yp = p * OHW;
    for (let o = 0; o < OHW; o++) {
      const i = indices[yp + o];
      if (i >= 0) gx[xp + i] += gy[yp + o];
    }
  }
}

export function avgPool2dForward(g: CheckedPool, x: Float32Array, y: Float32Array): void {
  const { H, W, OH, OW, dilationH: dh, dilationW: dw } = g;
  const planes = g.N * g.C;
  const HW = H * W, OHW = OH * OW;
  const ph = axisPlan(OH, H, g.kernelH, g.strideH, g.padH, dh, g.countIncludePad);
  const pw = axisPlan(OW, W, g.kernelW, g.strideW, g.padW, dw, g.countIncludePad);
  for (let p = 0; p < planes; p++) {
    const xp = p * HW, yp = p * OHW;
    for (let oh = 0; oh < OH; oh++) {
      const hs = ph.start[oh], r0 = ph.first[oh], rn = ph.count[oh], dvh = ph.div[oh];
      for (let ow = 0; ow < OW; ow++) {
        const ws = pw.start[ow], s0 = pw.first[ow], sn = pw.count[ow];
        let sum = 0;
        for (let r = r0; r < r0 + rn; r++) {
          const row = xp + (hs + r * dh) * W + ws;
          for (let s = s0; s < s0 + sn; s++) sum += x[row + s * dw];
        }
        const div = dvh * pw.div[ow];
        y[yp + oh * OW + ow] = div > 0 ? sum / div : 0;
      }
    }
  }
}

export function avgPool2dBackward(g: CheckedPool, gy: Float32Array, gx: Float32Array): void {
  const { H, W, OH, OW, dilationH: dh, dilationW: dw } = g;
  const planes = g.N * g.C;
  const HW = H * W, OHW = OH * OW;
  const ph = axisPlan(OH, H, g.kernelH, g.strideH, g.padH, dh, g.countIncludePad);
  const pw = axisPlan(OW, W, g.kernelW, g.strideW, g.padW, dw, g.countIncludePad);
  gx.fill(0);
  for (let p = 0; p < planes; p++) {
    const xp = p * HW, yp = p * OHW;
    for (let oh = 0; oh < OH; oh++) {
      const hs = ph.start[oh], r0 = ph.first[oh], rn = ph.count[oh], dvh = ph.div[oh];
      for (let ow = 0; ow < OW; ow++) {
        const div = dvh * pw.div[ow];
        if (div === 0) continue;
        const ws = pw.start[ow], s0 = pw.first[ow], sn = pw.count[ow];
        const v = gy[yp + oh * OW + ow] / div;
        for (let r = r0; r < r0 + rn; r++) {
          const row = xp + (hs + r * dh) * W + ws;
          for (let s = s0; s < s0 + sn; s++) gx[row + s * dw] += v;
        }
      }
    }
  }
}

function binStart(i: number, n: number, out: number): number { return Math.floor((i * n) / out); }
function binEnd(i: number, n: number, out: number): number { return Math.ceil(((i + 1) * n) / out); }

export function adaptiveAvgPool2dForward(g: AdaptivePoolGeometry, x: Float32Array, y: Float32Array): void {
  const { H, W, OH, OW } = g;
  const planes = g.N * g.C;
  const HW = H * W, OHW = OH * OW;
  for (let p = 0; p < planes; p++) {
    const xp = p * HW, yp = p * OHW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = binStart(oh, H, OH), h1 = binEnd(oh, H, OH);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = binStart(ow, W, OW), w1 = binEnd(ow, W, OW);
        let sum = 0;
        for (let h = h0; h < h1; h++) {
          const row = xp + h * W;
          for (let w = w0; w < w1; w++) sum += x[row + w];
        }
        y[yp + oh * OW + ow] = sum / ((h1 - h0) * (w1 - w0));
      }
    }
  }
}

export function adaptiveAvgPool2dBackward(g: AdaptivePoolGeometry, gy: Float32Array, gx: Float32Array): void {
  const { H, W, OH, OW } = g;
  const planes = g.N * g.C;
  const HW = H * W, OHW = OH * OW;
  gx.fill(0);
  for (let p = 0; p < planes; p++) {
    const xp = p * HW, yp = p * OHW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = binStart(oh, H, OH), h1 = binEnd(oh, H, OH);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = binStart(ow, W, OW), w1 = binEnd(ow, W, OW);
        const v = gy[yp + oh * OW + ow] / ((h1 - h0) * (w1 - w0));
        for (let h = h0; h < h1; h++) {
          const row = xp + h * W;
          for (let w = w0; w < w1; w++) gx[row + w] += v;
        }
      }
    }
  }
}
