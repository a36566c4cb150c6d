// 2-D cross-correlation (NCHW, weight [K, C/groups, R, S]) forward and backward in plain
// TypeScript. Two paths, picked by shape:
//   - depthwise (one input channel per group): direct loops;
//   - everything else: implicit GEMM. The im2col matrix is never written out: the GEMM's
//     packing step gathers its panels straight from x (and the input gradient's "col2im" is
//     the GEMM's store step, adding each tile into gx). Output pixels of all images form one
//     long GEMM dimension cut into blocks of PIX, so small planes (LeNet's 5x5 and 1x1) still
//     fill whole register tiles, and nothing is copied per image.
// The GEMM pieces (packing layout, micro-kernels) are gemm.ts's. Geometries arrive checked
// (validate.ts), with OH and OW computed.
import type { CheckedConv } from '../validate';
import { KC, MC, NR, chooseMR, microKernel, packA, packAScratch, packBScratch, tile } from './gemm';

/** Output pixels per block: the GEMM's N for forward / input gradient, its K for the weight gradient. */
const PIX = 256;
/** Columns (im2col rows) of the weight-gradient GEMM packed at once. */
const WCOLS = 512;
/** Offsets are int32: a larger tensor is refused rather than silently wrapped. */
const MAX_ELEMENTS = 2147483647;

// Tap tables over the CRS rows of one group's im2col matrix, row = (c*R + r)*S + s.
let tapOff = new Int32Array(64);   // c*H*W + r*dilationH*W + s*dilationW
let tapR = new Int32Array(64);     // r*dilationH
let tapS = new Int32Array(64);     // s*dilationW
// Pixel tables over one block of output pixels (global pixel P = n*OH*OW + oh*OW + ow).
const pixX = new Int32Array(PIX);  // n*C*H*W + ih0*W + iw0, with ih0 = oh*strideH - padTop, ...
const pixIH = new Int32Array(PIX); // ih0
const pixIW = new Int32Array(PIX); // iw0
const pixY = new Int32Array(PIX);  // n*K*OH*OW + oh*OW + ow
const pixIn = new Uint8Array(PIX); // 1 when the whole receptive field lies inside the input
let gwAcc = new Float64Array(256);
let rowAcc = new Float64Array(256);
let loBuf = new Int32Array(16);
let hiBuf = new Int32Array(16);

function checkSize(g: CheckedConv): void {
  if (g.N * g.C * g.H * g.W > MAX_ELEMENTS || g.N * g.K * g.OH * g.OW > MAX_ELEMENTS) {
    throw new RangeError('convolution: tensors of more than 2^31-1 elements are too large for the JS backend');
  }
}

function tapTables(g: CheckedConv, Cg: number): void {
  const { R, S, W } = g;
  const CRS = Cg * R * S, HW = g.H * W;
  if (tapOff.length < CRS) {
    tapOff = new Int32Array(CRS); tapR = new Int32Array(CRS); tapS = new Int32Array(CRS);
  }
  let t = 0;
  for (let c = 0; c < Cg; c++) {
    for (let r = 0; r < R; r++) {
      const rr = r * g.dilationH;
      for (let s = 0; s < S; s++, t++) {
        const ss = s * g.dilationW;
        tapOff[t] = c * HW + rr * W + ss;
        tapR[t] = rr;
        tapS[t] = ss;
      }
    }
  }
}

/** Fills the pixel tables for global output pixels [P0, P0 + np). */
function pixelTables(g: CheckedConv, P0: number, np: number): void {
  const { C, H, W, K, OH, OW } = g;
  const OHW = OH * OW, CHW = C * H * W;
  const spanH = (g.R - 1) * g.dilationH, spanW = (g.S - 1) * g.dilationW;
  let n = Math.floor(P0 / OHW);
  let p = P0 - n * OHW;
  let oh = Math.floor(p / OW);
  let ow = p - oh * OW;
  for (let t = 0; t < np; t++) {
    const ih0 = oh * g.strideH - g.padTop, iw0 = ow * g.strideW - g.padLeft;
    pixX[t] = n * CHW + ih0 * W + iw0;
    pixIH[t] = ih0;
    pixIW[t] = iw0;
    pixY[t] = n * K * OHW + p;
    pixIn[t] = ih0 >= 0 && ih0 + spanH < H && iw0 >= 0 && iw0 + spanW < W ? 1 : 0;
    if (++ow === OW) {
      ow = 0;
      if (++oh === OH) { oh = 0; n++; p = -1; }
    }
    p++;
  }
}

/**
 * Packs im2col rows [k0, k0+kc) x the block's np pixels into NR-pixel panels (gemm.ts's B
 * layout: panel q, element (k, c) at q*NR*kc + k*NR + c), gathering from x; gOff is the
 * group's first channel. Pixels past np and taps in the padding are zero.
 */
function gatherColPanels(g: CheckedConv, x: Float32Array, gOff: number, k0: number, kc: number,
                         np: number, pb: Float64Array): void {
  const H = g.H, W = g.W;
  const off = tapOff;
  for (let j = 0, d = 0; j < np; j += NR, d += NR * kc) {
    if (j + 3 < np && (pixIn[j] & pixIn[j + 1] & pixIn[j + 2] & pixIn[j + 3]) === 1) {
      const b0 = pixX[j] + gOff, b1 = pixX[j + 1] + gOff, b2 = pixX[j + 2] + gOff, b3 = pixX[j + 3] + gOff;
      for (let k = k0, e = d; k < k0 + kc; k++, e += 4) {
        const o = off[k];
        pb[e] = x[b0 + o]; pb[e + 1] = x[b1 + o]; pb[e + 2] = x[b2 + o]; pb[e + 3] = x[b3 + o];
      }
      continue;
    }
    for (let c = 0; c < NR; c++) {
      const jj = j + c;
      if (jj >= np) {
        for (let k = 0, e = d + c; k < kc; k++, e += 4) pb[e] = 0;
      } else if (pixIn[jj] === 1) {
        const b = pixX[jj] + gOff;
        for (let k = k0, e = d + c; k < k0 + kc; k++, e += 4) pb[e] = x[b + off[k]];
      } else {
        const b = pixX[jj] + gOff, ih0 = pixIH[jj], iw0 = pixIW[jj];
        for (let k = k0, e = d + c; k < k0 + kc; k++, e += 4) {
          const ih = ih0 + tapR[k], iw = iw0 + tapS[k];
          pb[e] = ih >= 0 && ih < H && iw >= 0 && iw < W ? x[b + off[k]] : 0;
        }
      }
    }
  }
}

/**
 * Packs output-gradient rows (channels chan0 + [k0, k0+kc)) x the block's np pixels into
 * NR-pixel panels (B layout), reading gy in place.
 */
function gatherGyPanels(gy: Float32Array, OHW: number, chan0: number, k0: number, kc: number,
                        np: number, pb: Float64Array): void {
  const base = (chan0 + k0) * OHW;
  for (let j = 0, d = 0; j < np; j += NR, d += NR * kc) {
    if (j + 3 < np) {
      const b0 = pixY[j] + base, b1 = pixY[j + 1] + base, b2 = pixY[j + 2] + base, b3 = pixY[j + 3] + base;
      for (let k = 0, e = d, o = 0; k < kc; k++, e += 4, o += OHW) {
        pb[e] = gy[b0 + o]; pb[e + 1] = gy[b1 + o]; pb[e + 2] = gy[b2 + o]; pb[e + 3] = gy[b3 + o];
      }
      continue;
    }
    for (let c = 0; c < NR; c++) {
      const jj = j + c;
      if (jj >= np) {
        for (let k = 0, e = d + c; k < kc; k++, e += 4) pb[e] = 0;
      } else {
        const b = pixY[jj] + base;
        for (let k = 0, e = d + c, o = 0; k < kc; k++, e += 4, o += OHW) pb[e] = gy[b + o];
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// forward: y[K x pixels] = w[K x CRS] * col[CRS x pixels], per group

export function conv2dForward(g: CheckedConv, x: Float32Array, w: Float32Array,
                              bias: Float32Array | null, y: Float32Array): void {
  checkSize(g);
  if (isDepthwise(g)) { depthwiseForward(g, x, w, bias, y); return; }
  const { N, C, K, groups, OH, OW } = g;
  const Cg = C / groups, Kg = K / groups;
  const HW = g.H * g.W, OHW = OH * OW;
  const CRS = Cg * g.R * g.S;
  const total = N * OHW;
  const mr = chooseMR(Kg);
  tapTables(g, Cg);
  const kcMax = CRS < KC ? CRS : KC;
  const pb = packBScratch(kcMax * PIX);
  const pa = packAScratch(MC * kcMax);
  const t = tile;
  for (let P0 = 0; P0 < total; P0 += PIX) {
    const np = total - P0 < PIX ? total - P0 : PIX;
    pixelTables(g, P0, np);
    for (let grp = 0; grp < groups; grp++) {
      const gOff = grp * Cg * HW;
      for (let k0 = 0; k0 < CRS; k0 += KC) {
        const kc = CRS - k0 < KC ? CRS - k0 : KC;
        gatherColPanels(g, x, gOff, k0, kc, np, pb);
        for (let i0 = 0; i0 < Kg; i0 += MC) {
          const mc = Kg - i0 < MC ? Kg - i0 : MC;
          packA(false, w, grp * Kg * CRS, CRS, i0, mc, k0, kc, mr, pa);
          for (let j = 0; j < np; j += NR) {
            const nr = np - j < NR ? np - j : NR;
            for (let i = 0; i < mc; i += mr) {
              const m = mc - i < mr ? mc - i : mr;
              microKernel(mr, kc, pa, i * kc, pb, j * kc, t);
              const ch0 = grp * Kg + i0 + i;
              for (let c = 0; c < nr; c++) {
                let yi = pixY[j + c] + ch0 * OHW;
                if (k0 === 0) {
                  for (let r = 0, ti = c; r < m; r++, ti += NR, yi += OHW) {
                    y[yi] = bias !== null ? t[ti] + bias[ch0 + r] : t[ti];
                  }
                } else {
                  for (let r = 0, ti = c; r < m; r++, ti += NR, yi += OHW) y[yi] += t[ti];
                }
              }
            }
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// input gradient: col[CRS x pixels] = w^T[CRS x K] * gy[K x pixels], scattered into gx

export function conv2dBackwardInput(g: CheckedConv, gy: Float32Array, w: Float32Array,
                                    gx: Float32Array): void {
  checkSize(g);
  if (isDepthwise(g)) { depthwiseBackwardInput(g, gy, w, gx); return; }
  const { N, C, K, groups, OH, OW, H, W } = g;
  const Cg = C / groups, Kg = K / groups;
  const HW = H * W, OHW = OH * OW;
  const CRS = Cg * g.R * g.S;
  const total = N * OHW;
  const mr = chooseMR(CRS);
  tapTables(g, Cg);
  const kcMax = Kg < KC ? Kg : KC;
  const pb = packBScratch(kcMax * PIX);
  const pa = packAScratch(MC * kcMax);
  const t = tile;
  gx.fill(0);
  for (let P0 = 0; P0 < total; P0 += PIX) {
    const np = total - P0 < PIX ? total - P0 : PIX;
    pixelTables(g, P0, np);
    for (let grp = 0; grp < groups; grp++) {
      const gOff = grp * Cg * HW;
      for (let k0 = 0; k0 < Kg; k0 += KC) {
        const kc = Kg - k0 < KC ? Kg - k0 : KC;
        gatherGyPanels(gy, OHW, grp * Kg, k0, kc, np, pb);
        for (let i0 = 0; i0 < CRS; i0 += MC) {
          const mc = CRS - i0 < MC ? CRS - i0 : MC;
          // op(A) = w_g^T: w_g is [Kg x CRS], so element (crs, k) sits at k*CRS + crs
          packA(true, w, grp * Kg * CRS, CRS, i0, mc, k0, kc, mr, pa);
          for (let j = 0; j < np; j += NR) {
            const nr = np - j < NR ? np - j : NR;
            for (let i = 0; i < mc; i += mr) {
              const m = mc - i < mr ? mc - i : mr;
              microKernel(mr, kc, pa, i * kc, pb, j * kc, t);
              scatterTile(t, m, nr, j, i0 + i, gOff, H, W, gx);
            }
          }
        }
      }
    }
  }
}

/**
 * col2im of one register tile: adds tile rows (taps tap0..tap0+m) x columns (block pixels
 * j..j+nr) into gx. Interior pixels take the unrolled path with the taps' offsets hoisted.
 */
function scatterTile(t: Float64Array, m: number, nr: number, j: number, tap0: number, gOff: number,
                     H: number, W: number, gx: Float32Array): void {
  const off = tapOff;
  if (m === 4 || m === 6 || m === 8) {
    const f0 = off[tap0], f1 = off[tap0 + 1], f2 = off[tap0 + 2], f3 = off[tap0 + 3];
    const f4 = m > 4 ? off[tap0 + 4] : 0, f5 = m > 4 ? off[tap0 + 5] : 0;
    const f6 = m > 6 ? off[tap0 + 6] : 0, f7 = m > 6 ? off[tap0 + 7] : 0;
    for (let c = 0; c < nr; c++) {
      const jj = j + c;
      if (pixIn[jj] !== 1) { scatterColumn(t, m, c, jj, tap0, gOff, H, W, gx); continue; }
      const b = pixX[jj] + gOff;
      gx[b + f0] += t[c]; gx[b + f1] += t[c + 4]; gx[b + f2] += t[c + 8]; gx[b + f3] += t[c + 12];
      if (m > 4) {
        gx[b + f4] += t[c + 16]; gx[b + f5] += t[c + 20];
        if (m > 6) { gx[b + f6] += t[c + 24]; gx[b + f7] += t[c + 28]; }
      }
    }
    return;
  }
  for (let c = 0; c < nr; c++) scatterColumn(t, m, c, j + c, tap0, gOff, H, W, gx);
}

/** One tile column (pixel jj) of scatterTile, checking every tap against the input. */
function scatterColumn(t: Float64Array, m: number, c: number, jj: number, tap0: number, gOff: number,
                       H: number, W: number, gx: Float32Array): void {
  const off = tapOff;
  const b = pixX[jj] + gOff;
  if (pixIn[jj] === 1) {
    for (let r = 0, ti = c; r < m; r++, ti += NR) gx[b + off[tap0 + r]] += t[ti];
    return;
  }
  const ih0 = pixIH[jj], iw0 = pixIW[jj];
  for (let r = 0, ti = c; r < m; r++, ti += NR) {
    const ih = ih0 + tapR[tap0 + r], iw = iw0 + tapS[tap0 + r];
    if (ih >= 0 && ih < H && iw >= 0 && iw < W) gx[b + off[tap0 + r]] += t[ti];
  }
}

// ---------------------------------------------------------------------------------
// weight gradient: gw[K x CRS] = sum over pixel blocks of gy[K x pixels] * col^T[pixels x CRS]

export function conv2dBackwardWeight(g: CheckedConv, x: Float32Array, gy: Float32Array,
                                     gw: Float32Array): void {
  checkSize(g);
  if (isDepthwise(g)) { depthwiseBackwardWeight(g, x, gy, gw); return; }
  const { N, C, K, groups, OH, OW, H, W } = g;
  const Cg = C / groups, Kg = K / groups;
  const HW = H * W, OHW = OH * OW;
  const CRS = Cg * g.R * g.S;
  const total = N * OHW;
  const mr = chooseMR(Kg);
  tapTables(g, Cg);
  const ncMax = CRS < WCOLS ? CRS : WCOLS;
  const pb = packBScratch(Math.ceil(ncMax / NR) * NR * PIX);
  const pa = packAScratch(MC * PIX);
  const t = tile;
  const off = tapOff;
  if (gwAcc.length < K * CRS) gwAcc = new Float64Array(K * CRS);
  const acc = gwAcc;
  acc.fill(0, 0, K * CRS);
  for (let P0 = 0; P0 < total; P0 += PIX) {
    const np = total - P0 < PIX ? total - P0 : PIX;
    pixelTables(g, P0, np);
    for (let grp = 0; grp < groups; grp++) {
      const gOff = grp * Cg * HW;
      for (let c0 = 0; c0 < CRS; c0 += WCOLS) {
        const nc = CRS - c0 < WCOLS ? CRS - c0 : WCOLS;
        // B = col^T: panels of NR taps, element (pixel p, tap c) at q*NR*np + p*NR + c
        for (let j = 0, d = 0; j < nc; j += NR, d += NR * np) {
          const q0 = c0 + j;
          const cnt = nc - j < NR ? nc - j : NR;
          const o0 = off[q0], o1 = off[q0 + (cnt > 1 ? 1 : 0)];
          const o2 = off[q0 + (cnt > 2 ? 2 : 0)], o3 = off[q0 + (cnt > 3 ? 3 : 0)];
          for (let p = 0, e = d; p < np; p++, e += 4) {
            const b = pixX[p] + gOff;
            if (pixIn[p] === 1 && cnt === NR) {
              pb[e] = x[b + o0]; pb[e + 1] = x[b + o1]; pb[e + 2] = x[b + o2]; pb[e + 3] = x[b + o3];
            } else if (pixIn[p] === 1) {
              for (let c = 0; c < NR; c++) pb[e + c] = c < cnt ? x[b + off[q0 + c]] : 0;
            } else {
              const ih0 = pixIH[p], iw0 = pixIW[p];
              for (let c = 0; c < NR; c++) {
                const q = q0 + c;
                const ih = ih0 + tapR[q], iw = iw0 + tapS[q];
                pb[e + c] = c < cnt && ih >= 0 && ih < H && iw >= 0 && iw < W ? x[b + off[q]] : 0;
              }
            }
          }
        }
        for (let i0 = 0; i0 < Kg; i0 += MC) {
          const mc = Kg - i0 < MC ? Kg - i0 : MC;
          // A = gy_g: panels of mr channels, element (channel r, pixel p) at p*mr + r
          for (let i = 0, d = 0; i < mc; i += mr, d += mr * np) {
            const rows = mc - i < mr ? mc - i : mr;
            for (let r = 0; r < mr; r++) {
              if (r < rows) {
                const chan = (grp * Kg + i0 + i + r) * OHW;
                for (let p = 0, e = d + r; p < np; p++, e += mr) pa[e] = gy[pixY[p] + chan];
              } else {
                for (let p = 0, e = d + r; p < np; p++, e += mr) pa[e] = 0;
              }
            }
          }
          for (let j = 0; j < nc; j += NR) {
            const nr = nc - j < NR ? nc - j : NR;
            for (let i = 0; i < mc; i += mr) {
              const m = mc - i < mr ? mc - i : mr;
              microKernel(mr, np, pa, i * np, pb, j * np, t);
              let a = (grp * Kg + i0 + i) * CRS + c0 + j;
              for (let r = 0, ti = 0; r < m; r++, ti += NR, a += CRS) {
                for (let c = 0; c < nr; c++) acc[a + c] += t[ti + c];
              }
            }
          }
        }
      }
    }
  }
  for (let i = 0; i < K * CRS; i++) gw[i] = acc[i];
}

export function conv2dBackwardBias(g: CheckedConv, gy: Float32Array, gb: Float32Array): void {
  const { N, K } = g;
  const OHW = g.OH * g.OW;
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let n = 0; n < N; n++) {
      const o = (n * K + k) * OHW;
      for (let p = 0; p < OHW; p++) s += gy[o + p];
    }
    gb[k] = s;
  }
}

// ---------------------------------------------------------------------------------
function isDepthwise(g: CheckedConv): boolean {
  return g.groups > 1 && g.groups === g.C;
}

function accScratch(n: number): Float64Array {
  if (rowAcc.length < n) rowAcc = new Float64Array(Math.max(n, rowAcc.length * 2));
  return rowAcc;
}

/**
 * For each kernel column s, the output columns [lo[s], hi[s]) whose input column
 * ow*strideW - padLeft + s*dilationW lies inside [0, W).
 */
function columnRanges(g: CheckedConv): void {
  const S = g.S;
  if (loBuf.length < S) { loBuf = new Int32Array(S); hiBuf = new Int32Array(S); }
  for (let s = 0; s < S; s++) {
    const off = s * g.dilationW - g.padLeft;          // iw = ow*sw + off
    let lo = off >= 0 ? 0 : Math.ceil(-off / g.strideW);
    let hi = g.W - 1 - off < 0 ? 0 : Math.floor((g.W - 1 - off) / g.strideW) + 1;
    if (hi > g.OW) hi = g.OW;
    if (lo > hi) lo = hi;
    loBuf[s] = lo; hiBuf[s] = hi;
  }
}

// depthwise (groups == C): direct loops

function depthwiseForward(g: CheckedConv, x: Float32Array, w: Float32Array,
                          bias: Float32Array | null, y: Float32Array): void {
  const { N, C, H, W, K, R, S, OH, OW, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw } = g;
  if (R === 3 && S === 3) { depthwise3x3Forward(g, x, w, bias, y); return; }
  const pt = g.padTop, pl = g.padLeft;
  const mult = K / C;
  const HW = H * W, OHW = OH * OW;
  columnRanges(g);
  const lo = loBuf, hi = hiBuf;
  const acc = accScratch(OW);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const c = (k / mult) | 0;
      const xp = (n * C + c) * HW;
      const yp = (n * K + k) * OHW;
      const wp = k * R * S;
      const bv = bias ? bias[k] : 0;
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) acc[ow] = 0;
        for (let r = 0; r < R; r++) {
          const ih = oh * sh - pt + r * dh;
          if (ih < 0 || ih >= H) continue;
          const xr = xp + ih * W - pl;
          for (let s = 0; s < S; s++) {
            const wv = w[wp + r * S + s];
            const src = xr + s * dw;
            const l = lo[s], h = hi[s];
            if (sw === 1) for (let ow = l; ow < h; ow++) acc[ow] += wv * x[src + ow];
            else for (let ow = l; ow < h; ow++) acc[ow] += wv * x[src + ow * sw];
          }
        }
        const yr = yp + oh * OW;
        for (let ow = 0; ow < OW; ow++) y[yr + ow] = acc[ow] + bv;
      }
    }
  }
}

function depthwiseBackwardInput(g: CheckedConv, gy: Float32Array, w: Float32Array,
                                gx: Float32Array): void {
  const { N, C, H, W, K, R, S, OH, OW, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw } = g;
  if (R === 3 && S === 3 && sh === 1 && sw === 1) { depthwise3x3BackwardInput(g, gy, w, gx); return; }
  const pt = g.padTop, pl = g.padLeft;
  const mult = K / C;
  const HW = H * W, OHW = OH * OW;
  columnRanges(g);
  const lo = loBuf, hi = hiBuf;
  gx.fill(0);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const c = (k / mult) | 0;
      const xp = (n * C + c) * HW;
      const yp = (n * K + k) * OHW;
      const wp = k * R * S;
      for (let oh = 0; oh < OH; oh++) {
        const yr = yp + oh * OW;
        for (let r = 0; r < R; r++) {
          const ih = oh * sh - pt + r * dh;
          if (ih < 0 || ih >= H) continue;
          const xr = xp + ih * W - pl;
          for (let s = 0; s < S; s++) {
            const wv = w[wp + r * S + s];
            const dst = xr + s * dw;
            const l = lo[s], h = hi[s];
            if (sw === 1) for (let ow = l; ow < h; ow++) gx[dst + ow] += wv * gy[yr + ow];
            else for (let ow = l; ow < h; ow++) gx[dst + ow * sw] += wv * gy[yr + ow];
          }
        }
      }
    }
  }
}

function depthwiseBackwardWeight(g: CheckedConv, x: Float32Array, gy: Float32Array,
                                 gw: Float32Array): void {
  const { N, C, H, W, K, R, S, OH, OW, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw } = g;
  if (R === 3 && S === 3) { depthwise3x3BackwardWeight(g, x, gy, gw); return; }
  const pt = g.padTop, pl = g.padLeft;
  const mult = K / C;
  const HW = H * W, OHW = OH * OW;
  columnRanges(g);
  const lo = loBuf, hi = hiBuf;
  for (let k = 0; k < K; k++) {
    const c = (k / mult) | 0;
    for (let r = 0; r < R; r++) {
      for (let s = 0; s < S; s++) {
        const l = lo[s], h = hi[s];
        let acc = 0;
        for (let n = 0; n < N; n++) {
          const xp = (n * C + c) * HW - pl + s * dw;
          const yp = (n * K + k) * OHW;
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * sh - pt + r * dh;
            if (ih < 0 || ih >= H) continue;
            const xr = xp + ih * W;
            const yr = yp + oh * OW;
            if (sw === 1) for (let ow = l; ow < h; ow++) acc += gy[yr + ow] * x[xr + ow];
            else for (let ow = l; ow < h; ow++) acc += gy[yr + ow] * x[xr + ow * sw];
          }
        }
        gw[(k * R + r) * S + s] = acc;
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// depthwise 3x3 (the MobileNet case): nine weights in locals, so each output costs nine
// loads and one store instead of a read-modify-write of a row accumulator per tap.

/**
 * dst[oh, ow] (+)= sum_{r,s<3} w[wOff + 3r + s] * src[oh*sh + offH + r*dh, ow*sw + offW + s*dw]
 * over one plane, taps outside src counting as zero. With accumulate, adds to dst;
 * otherwise writes bias + sum.
 */
function plane3x3(src: Float32Array, sOff: number, SH: number, SW: number,
                  dst: Float32Array, dOff: number, DH: number, DW: number,
                  sh: number, sw: number, offH: number, offW: number, dh: number, dw: number,
                  w: Float32Array, wOff: number, flip: boolean, bias: number, accumulate: boolean): void {
  const w0 = w[wOff + (flip ? 8 : 0)], w1 = w[wOff + (flip ? 7 : 1)], w2 = w[wOff + (flip ? 6 : 2)];
  const w3 = w[wOff + (flip ? 5 : 3)], w4 = w[wOff + 4], w5 = w[wOff + (flip ? 3 : 5)];
  const w6 = w[wOff + (flip ? 2 : 6)], w7 = w[wOff + (flip ? 1 : 7)], w8 = w[wOff + (flip ? 0 : 8)];
  // output columns whose three taps all lie inside [0, SW)
  let lo = offW >= 0 ? 0 : Math.ceil(-offW / sw);
  let hi = SW - 1 - offW - 2 * dw < 0 ? 0 : Math.floor((SW - 1 - offW - 2 * dw) / sw) + 1;
  if (hi > DW) hi = DW;
  if (lo > hi) lo = hi;
  const dw2 = 2 * dw;
  for (let oh = 0; oh < DH; oh++) {
    const ih = oh * sh + offH;
    const d = dOff + oh * DW;
    const rowsInside = ih >= 0 && ih + 2 * dh < SH;
    const l = rowsInside ? lo : DW, h = rowsInside ? hi : DW;
    // border pixels: checked taps
    for (let ow = 0; ow < DW; ow++) {
      if (ow === l && l < h) { ow = h - 1; continue; }
      let acc = 0;
      for (let r = 0; r < 3; r++) {
        const y = ih + r * dh;
        if (y < 0 || y >= SH) continue;
        for (let s = 0; s < 3; s++) {
          const xx = ow * sw + offW + s * dw;
          if (xx < 0 || xx >= SW) continue;
          const t = flip ? 8 - (3 * r + s) : 3 * r + s;
          acc += w[wOff + t] * src[sOff + y * SW + xx];
        }
      }
      dst[d + ow] = accumulate ? dst[d + ow] + acc : acc + bias;
    }
    if (l >= h) continue;
    const x0 = sOff + ih * SW + offW, x1 = x0 + dh * SW, x2 = x1 + dh * SW;
    if (sw === 1) {
      for (let ow = l; ow < h; ow++) {
        const acc = w0 * src[x0 + ow] + w1 * src[x0 + ow + dw] + w2 * src[x0 + ow + dw2] +
          w3 * src[x1 + ow] + w4 * src[x1 + ow + dw] + w5 * src[x1 + ow + dw2] +
          w6 * src[x2 + ow] + w7 * src[x2 + ow + dw] + w8 * src[x2 + ow + dw2];
        dst[d + ow] = accumulate ? dst[d + ow] + acc : acc + bias;
      }
    } else {
      for (let ow = l; ow < h; ow++) {
        const i = ow * sw;
        const acc = w0 * src[x0 + i] + w1 * src[x0 + i + dw] + w2 * src[x0 + i + dw2] +
          w3 * src[x1 + i] + w4 * src[x1 + i + dw] + w5 * src[x1 + i + dw2] +
          w6 * src[x2 + i] + w7 * src[x2 + i + dw] + w8 * src[x2 + i + dw2];
        dst[d + ow] = accumulate ? dst[d + ow] + acc : acc + bias;
      }
    }
  }
}

function depthwise3x3Forward(g: CheckedConv, x: Float32Array, w: Float32Array,
                             bias: Float32Array | null, y: Float32Array): void {
  const { N, C, H, W, K, OH, OW } = g;
  const mult = K / C;
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const c = (k / mult) | 0;
      plane3x3(x, (n * C + c) * H * W, H, W, y, (n * K + k) * OH * OW, OH, OW,
        g.strideH, g.strideW, -g.padTop, -g.padLeft, g.dilationH, g.dilationW,
        w, k * 9, false, bias ? bias[k] : 0, false);
    }
  }
}

/** Stride 1 only: gx is the correlation of gy with the flipped kernel. */
function depthwise3x3BackwardInput(g: CheckedConv, gy: Float32Array, w: Float32Array,
                                   gx: Float32Array): void {
  const { N, C, H, W, K, OH, OW, dilationH: dh, dilationW: dw } = g;
  const mult = K / C;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let m = 0; m < mult; m++) {
        const k = c * mult + m;
        plane3x3(gy, (n * K + k) * OH * OW, OH, OW, gx, (n * C + c) * H * W, H, W,
          1, 1, g.padTop - 2 * dh, g.padLeft - 2 * dw, dh, dw, w, k * 9, true, 0, m > 0);
      }
    }
  }
}

function depthwise3x3BackwardWeight(g: CheckedConv, x: Float32Array, gy: Float32Array,
                                    gw: Float32Array): void {
  const { N, C, H, W, K, OH, OW, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw } = g;
  const pt = g.padTop, pl = g.padLeft;
  const mult = K / C;
  let lo = Math.ceil(pl / sw);
  let hi = W - 1 + pl - 2 * dw < 0 ? 0 : Math.floor((W - 1 + pl - 2 * dw) / sw) + 1;
  if (hi > OW) hi = OW;
  if (lo > hi) lo = hi;
  const dw2 = 2 * dw;
  for (let k = 0; k < K; k++) {
    const c = (k / mult) | 0;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, a8 = 0;
    for (let n = 0; n < N; n++) {
      const xp = (n * C + c) * H * W, yp = (n * K + k) * OH * OW;
      for (let oh = 0; oh < OH; oh++) {
        const ih = oh * sh - pt;
        const yr = yp + oh * OW;
        const rowsInside = ih >= 0 && ih + 2 * dh < H;
        const l = rowsInside ? lo : OW, h = rowsInside ? hi : OW;
        for (let ow = 0; ow < OW; ow++) {
          if (ow === l && l < h) { ow = h - 1; continue; }
          const gv = gy[yr + ow];
          for (let r = 0; r < 3; r++) {
            const yy = ih + r * dh;
            if (yy < 0 || yy >= H) continue;
            for (let s = 0; s < 3; s++) {
              const xx = ow * sw - pl + s * dw;
              if (xx < 0 || xx >= W) continue;
              const v = gv * x[xp + yy * W + xx];
              switch (3 * r + s) {
                case 0: a0 += v; break; case 1: a1 += v; break; case 2: a2 += v; break;
                case 3: a3 += v; break; case 4: a4 += v; break; case 5: a5 += v; break;
                case 6: a6 += v; break; case 7: a7 += v; break; default: a8 += v;
              }
            }
          }
        }
        if (l >= h) continue;
        const x0 = xp + ih * W - pl, x1 = x0 + dh * W, x2 = x1 + dh * W;
        for (let ow = l; ow < h; ow++) {
          const gv = gy[yr + ow];
          const i = ow * sw;
          a0 += gv * x[x0 + i]; a1 += gv * x[x0 + i + dw]; a2 += gv * x[x0 + i + dw2];
          a3 += gv * x[x1 + i]; a4 += gv * x[x1 + i + dw]; a5 += gv * x[x1 + i + dw2];
          a6 += gv * x[x2 + i]; a7 += gv * x[x2 + i + dw]; a8 += gv * x[x2 + i + dw2];
        }
      }
    }
    const o = k * 9;
    gw[o] = a0; gw[o + 1] = a1; gw[o + 2] = a2; gw[o + 3] = a3; gw[o + 4] = a4;
    gw[o + 5] = a5; gw[o + 6] = a6; gw[o + 7] = a7; gw[o + 8] = a8;
  }
}

/** The output stage of a prepared convolution after the bias: y = relu?(y + residual). */
export function applyResidualRelu(residual: Float32Array | null, relu: boolean, y: Float32Array): void {
  const n = y.length;
  if (residual && relu) {
    for (let i = 0; i < n; i++) { const t = y[i] + residual[i]; y[i] = t < 0 ? 0 : t; }
  } else if (residual) {
    for (let i = 0; i < n; i++) y[i] += residual[i];
  } else if (relu) {
    for (let i = 0; i < n; i++) if (y[i] < 0) y[i] = 0;
  }
}
