// 2-D cross-correlation (NCHW, weight [K, C/groups, R, S]) forward and backward in plain
// TypeScript. Three paths, picked by shape:
//   - depthwise (one input channel per group): direct loops, no im2col;
//   - 1x1, stride 1, no padding, with a large enough plane: GEMM straight on x / gx;
//   - everything else: im2col into a reused scratch matrix, then GEMM (col2im for the
//     input gradient). Small output planes are batched: several images share one GEMM so
//     that its N dimension stays large enough to fill the register tiles.
// Geometries arrive already checked (validate.ts), with OH and OW computed.
import type { CheckedConv } from '../validate';
import { sgemm } from './gemm';

/** Target GEMM width (columns = images in a batch x output pixels). */
const TARGET_COLS = 512;
/** Upper bound on the im2col scratch, in floats (one image may still exceed it). */
const COL_CAP = 1 << 22;

let colBuf = new Float32Array(1 << 16);
let tmpBuf = new Float32Array(1 << 14);
let rowAcc = new Float64Array(256);
let loBuf = new Int32Array(16);
let hiBuf = new Int32Array(16);

function colScratch(n: number): Float32Array {
  if (colBuf.length < n) colBuf = new Float32Array(Math.max(n, colBuf.length * 2));
  return colBuf;
}
function tmpScratch(n: number): Float32Array {
  if (tmpBuf.length < n) tmpBuf = new Float32Array(Math.max(n, tmpBuf.length * 2));
  return tmpBuf;
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

/** The 1x1 / stride 1 / unpadded case, where x itself is the im2col matrix. */
function isPointwise(g: CheckedConv): boolean {
  return g.R === 1 && g.S === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 &&
    g.padLeft === 0 && g.padBottom === 0 && g.padRight === 0;
}

function isDepthwise(g: CheckedConv): boolean {
  return g.groups > 1 && g.groups === g.C;
}

/** Images per GEMM: enough for TARGET_COLS columns, within the scratch cap. */
function batchImages(g: CheckedConv, rowsPerImage: number): number {
  const ohw = g.OH * g.OW;
  let nb = Math.floor(TARGET_COLS / ohw);
  const cap = Math.floor(COL_CAP / (rowsPerImage * ohw));
  if (nb > cap) nb = cap;
  if (nb > g.N) nb = g.N;
  return nb < 1 ? 1 : nb;
}

/**
 * Writes the im2col matrix of channels [c0, c0+Cg) of one image (x from xOff = that image's
 * channel c0) into col: row (c, r, s) at colOff + ((c*R + r)*S + s)*ld, OH*OW values each.
 * columnRanges(g) must have run.
 */
function im2col(g: CheckedConv, Cg: number, x: Float32Array, xOff: number,
                col: Float32Array, colOff: number, ld: number): void {
  const { H, W, R, S, OH, OW, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw } = g;
  const pt = g.padTop, pl = g.padLeft;
  const lo = loBuf, hi = hiBuf;
  const HW = H * W;
  let row = colOff;
  for (let c = 0; c < Cg; c++) {
    const xc = xOff + c * HW;
    for (let r = 0; r < R; r++) {
      for (let s = 0; s < S; s++, row += ld) {
        const l = lo[s], h = hi[s];
        const sOff = s * dw - pl;
        let d = row;
        for (let oh = 0; oh < OH; oh++, d += OW) {
          const ih = oh * sh - pt + r * dh;
          if (ih < 0 || ih >= H) {
            for (let ow = 0; ow < OW; ow++) col[d + ow] = 0;
            continue;
          }
          for (let ow = 0; ow < l; ow++) col[d + ow] = 0;
          const src = xc + ih * W + sOff;
          if (sw === 1) {
            for (let ow = l; ow < h; ow++) col[d + ow] = x[src + ow];
          } else {
            for (let ow = l; ow < h; ow++) col[d + ow] = x[src + ow * sw];
          }
          for (let ow = h; ow < OW; ow++) col[d + ow] = 0;
        }
      }
    }
  }
}

/** The adjoint of im2col: gx[image, channels c0..] += col, same layout. */
function col2im(g: CheckedConv, Cg: number, col: Float32Array, colOff: number, ld: number,
                gx: Float32Array, gxOff: number): void {
  const { H, W, R, S, OH, OW, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw } = g;
  const pt = g.padTop, pl = g.padLeft;
  const lo = loBuf, hi = hiBuf;
  const HW = H * W;
  let row = colOff;
  for (let c = 0; c < Cg; c++) {
    const xc = gxOff + c * HW;
    for (let r = 0; r < R; r++) {
      for (let s = 0; s < S; s++, row += ld) {
        const l = lo[s], h = hi[s];
        const sOff = s * dw - pl;
        let d = row;
        for (let oh = 0; oh < OH; oh++, d += OW) {
          const ih = oh * sh - pt + r * dh;
          if (ih < 0 || ih >= H) continue;
          const dst = xc + ih * W + sOff;
          if (sw === 1) {
            for (let ow = l; ow < h; ow++) gx[dst + ow] += col[d + ow];
          } else {
            for (let ow = l; ow < h; ow++) gx[dst + ow * sw] += col[d + ow];
          }
        }
      }
    }
  }
}

/** dst[k*ld + b*ohw + p] = src[(n0+b)*imgStride + chOff + k*ohw + p]: gathers a batch. */
function gatherBatch(src: Float32Array, n0: number, nb: number, imgStride: number, chOff: number,
                     rows: number, ohw: number, dst: Float32Array): void {
  const ld = nb * ohw;
  for (let b = 0; b < nb; b++) {
    let s = (n0 + b) * imgStride + chOff;
    let d = b * ohw;
    for (let k = 0; k < rows; k++, s += ohw, d += ld) {
      for (let p = 0; p < ohw; p++) dst[d + p] = src[s + p];
    }
  }
}

// ---------------------------------------------------------------------------------
// forward

export function conv2dForward(g: CheckedConv, x: Float32Array, w: Float32Array,
                              bias: Float32Array | null, y: Float32Array): void {
  if (isDepthwise(g)) { depthwiseForward(g, x, w, bias, y); return; }
  const { N, C, K, groups, OH, OW } = g;
  const Cg = C / groups, Kg = K / groups;
  const HW = g.H * g.W, OHW = OH * OW;
  const CRS = Cg * g.R * g.S;
  const direct = isPointwise(g) && OHW >= 64;
  const nb = direct ? 1 : batchImages(g, CRS);
  columnRanges(g);
  const col = direct ? colBuf : colScratch(CRS * nb * OHW);
  const tmp = nb > 1 ? tmpScratch(Kg * nb * OHW) : tmpBuf;
  for (let n0 = 0; n0 < N; n0 += nb) {
    const nbc = N - n0 < nb ? N - n0 : nb;
    const cols = nbc * OHW;
    for (let grp = 0; grp < groups; grp++) {
      const wOff = grp * Kg * CRS;
      let B = col, bOff = 0, ldb = cols;
      if (direct) {
        B = x; bOff = n0 * C * HW + grp * Cg * HW; ldb = HW;
      } else {
        for (let b = 0; b < nbc; b++) {
          im2col(g, Cg, x, (n0 + b) * C * HW + grp * Cg * HW, col, b * OHW, cols);
        }
      }
      if (nbc === 1) {
        const yOff = n0 * K * OHW + grp * Kg * OHW;
        sgemm(false, false, Kg, OHW, CRS, 1, w, wOff, CRS, B, bOff, ldb, 0, y, yOff, OHW);
        if (bias) {
          for (let k = 0; k < Kg; k++) {
            const bv = bias[grp * Kg + k];
            const o = yOff + k * OHW;
            for (let p = 0; p < OHW; p++) y[o + p] += bv;
          }
        }
      } else {
        sgemm(false, false, Kg, cols, CRS, 1, w, wOff, CRS, B, bOff, ldb, 0, tmp, 0, cols);
        for (let b = 0; b < nbc; b++) {
          let d = (n0 + b) * K * OHW + grp * Kg * OHW;
          let s = b * OHW;
          for (let k = 0; k < Kg; k++, d += OHW, s += cols) {
            const bv = bias ? bias[grp * Kg + k] : 0;
            for (let p = 0; p < OHW; p++) y[d + p] = tmp[s + p] + bv;
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// backward: input

export function conv2dBackwardInput(g: CheckedConv, gy: Float32Array, w: Float32Array,
                                    gx: Float32Array): void {
  if (isDepthwise(g)) { depthwiseBackwardInput(g, gy, w, gx); return; }
  const { N, C, K, groups, OH, OW } = g;
  const Cg = C / groups, Kg = K / groups;
  const HW = g.H * g.W, OHW = OH * OW;
  const CRS = Cg * g.R * g.S;
  const direct = isPointwise(g) && OHW >= 64;
  const nb = direct ? 1 : batchImages(g, CRS);
  columnRanges(g);
  if (!direct) gx.fill(0);
  const col = direct ? colBuf : colScratch(CRS * nb * OHW);
  const tmp = nb > 1 ? tmpScratch(Kg * nb * OHW) : tmpBuf;
  for (let n0 = 0; n0 < N; n0 += nb) {
    const nbc = N - n0 < nb ? N - n0 : nb;
    const cols = nbc * OHW;
    for (let grp = 0; grp < groups; grp++) {
      const wOff = grp * Kg * CRS;
      let A = gy, aOff = n0 * K * OHW + grp * Kg * OHW;
      if (nbc > 1) {
        gatherBatch(gy, n0, nbc, K * OHW, grp * Kg * OHW, Kg, OHW, tmp);
        A = tmp; aOff = 0;
      }
      if (direct) {
        sgemm(true, false, Cg, OHW, Kg, 1, w, wOff, Cg, A, aOff, OHW, 0,
          gx, n0 * C * HW + grp * Cg * HW, HW);
      } else {
        sgemm(true, false, CRS, cols, Kg, 1, w, wOff, CRS, A, aOff, cols, 0, col, 0, cols);
        for (let b = 0; b < nbc; b++) {
          col2im(g, Cg, col, b * OHW, cols, gx, (n0 + b) * C * HW + grp * Cg * HW);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// backward: weight and bias

export function conv2dBackwardWeight(g: CheckedConv, x: Float32Array, gy: Float32Array,
                                     gw: Float32Array): void {
  if (isDepthwise(g)) { depthwiseBackwardWeight(g, x, gy, gw); return; }
  const { N, C, K, groups, OH, OW } = g;
  const Cg = C / groups, Kg = K / groups;
  const HW = g.H * g.W, OHW = OH * OW;
  const CRS = Cg * g.R * g.S;
  const direct = isPointwise(g) && OHW >= 64;
  const nb = direct ? 1 : batchImages(g, CRS);
  columnRanges(g);
  const col = direct ? colBuf : colScratch(CRS * nb * OHW);
  const tmp = nb > 1 ? tmpScratch(Kg * nb * OHW) : tmpBuf;
  for (let n0 = 0; n0 < N; n0 += nb) {
    const nbc = N - n0 < nb ? N - n0 : nb;
    const cols = nbc * OHW;
    const beta = n0 === 0 ? 0 : 1;
    for (let grp = 0; grp < groups; grp++) {
      const wOff = grp * Kg * CRS;
      let A = gy, aOff = n0 * K * OHW + grp * Kg * OHW;
      if (nbc > 1) {
        gatherBatch(gy, n0, nbc, K * OHW, grp * Kg * OHW, Kg, OHW, tmp);
        A = tmp; aOff = 0;
      }
      let B = col, bOff = 0, ldb = cols;
      if (direct) {
        B = x; bOff = n0 * C * HW + grp * Cg * HW; ldb = HW;
      } else {
        for (let b = 0; b < nbc; b++) {
          im2col(g, Cg, x, (n0 + b) * C * HW + grp * Cg * HW, col, b * OHW, cols);
        }
      }
      // gw_g[Kg x CRS] (+)= gy_g[Kg x cols] * col[CRS x cols]^T
      sgemm(false, true, Kg, CRS, cols, 1, A, aOff, cols, B, bOff, ldb, beta, gw, wOff, CRS);
    }
  }
}

export function conv2dBackwardBias(g: CheckedConv, gy: Float32Array, gb: Float32Array): void {
  const { N, K } = g;
  const OHW = g.OH * g.OW;
  for (let k = 0; k < K; k++) {
    let acc = 0;
    for (let n = 0; n < N; n++) {
      const o = (n * K + k) * OHW;
      for (let p = 0; p < OHW; p++) acc += gy[o + p];
    }
    gb[k] = acc;
  }
}

// ---------------------------------------------------------------------------------
// depthwise (groups == C): direct loops

function depthwiseForward(g: CheckedConv, x: Float32Array, w: Float32Array,
                          bias: Float32Array | null, y: Float32Array): void {
  const { N, C, H, W, K, R, S, OH, OW, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw } = g;
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
