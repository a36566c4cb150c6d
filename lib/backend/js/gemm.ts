// Single-precision GEMM in plain TypeScript: C = alpha * op(A) * op(B) + beta * C, row-major
// with leading dimensions and element offsets, so convolution can run it on slices in place.
//
// GotoBLAS-style structure: op(B) is packed into KC x NR micro-panels, op(A) into MR x KC
// micro-panels (zero-padded at the edges so the micro-kernel never branches), and an MR x NR
// register tile of local variables accumulates over the packed K loop. JavaScript has no SIMD:
// the kernel runs at the scalar multiply + add rate (about 2 flops a cycle), so what the
// packing buys is sequential, predictable loads. MR is 4, 6 or 8, whichever pads M least,
// because the small channel counts of real layers (6, 16, 120 in LeNet-5) make edge waste
// matter. Packed panels are float64, the number type V8 computes in, so the inner loop has no
// float32 -> float64 conversions; accumulation is in float64 too, slightly more accurate than
// the native float32 kernels.

export const NR = 4;
/** Depth of a packed panel (the K block). */
export const KC = 256;
/** Rows of op(A) packed at once: a multiple of every MR. */
export const MC = 120;
/** Columns of op(B) packed at once. */
const NC = 1024;

// Module-level scratch, grown on demand and reused by every call (the backend is
// single-threaded, so no two calls run at once).
let packABuf = new Float64Array(MC * KC);
let packBBuf = new Float64Array(KC * NC);
/** One register tile's results, row-major MR x NR (MR <= 8). */
export const tile = new Float64Array(8 * NR);

export function packAScratch(n: number): Float64Array {
  if (packABuf.length < n) packABuf = new Float64Array(n);
  return packABuf;
}
export function packBScratch(n: number): Float64Array {
  if (packBBuf.length < n) packBBuf = new Float64Array(n);
  return packBBuf;
}

/** The register-tile height for M rows: the one that pads M least, larger on ties. */
export function chooseMR(M: number): number {
  let best = 8, waste = Math.ceil(M / 8) * 8 - M;
  for (const mr of [6, 4]) {
    const w = Math.ceil(M / mr) * mr - M;
    if (w < waste) { best = mr; waste = w; }
  }
  return best;
}

/**
 * Packs rows [i0, i0+mc) x cols [p0, p0+kc) of op(A) into mr-row micro-panels:
 * panel q holds element (q*mr + r, k) at q*mr*kc + k*mr + r; rows past mc are zero.
 */
export function packA(transA: boolean, A: Float32Array, aOff: number, lda: number, i0: number,
                      mc: number, p0: number, kc: number, mr: number, dst: Float64Array): void {
  for (let i = 0, d = 0; i < mc; i += mr, d += mr * kc) {
    const rows = mc - i < mr ? mc - i : mr;
    if (!transA) {
      // A[i][k] at aOff + i*lda + k: each row is contiguous, written with stride mr
      for (let r = 0; r < rows; r++) {
        const s = aOff + (i0 + i + r) * lda + p0;
        for (let k = 0, o = d + r; k < kc; k++, o += mr) dst[o] = A[s + k];
      }
    } else {
      // op(A)[i][k] = A[k][i] at aOff + k*lda + i: each k gives `rows` contiguous values
      let s = aOff + p0 * lda + i0 + i;
      for (let k = 0, o = d; k < kc; k++, o += mr, s += lda) {
        for (let r = 0; r < rows; r++) dst[o + r] = A[s + r];
      }
    }
    if (rows < mr) {
      for (let k = 0, o = d; k < kc; k++, o += mr) for (let r = rows; r < mr; r++) dst[o + r] = 0;
    }
  }
}

/**
 * Packs rows [p0, p0+kc) x cols [j0, j0+nc) of op(B) into NR-column micro-panels:
 * panel q holds element (k, q*NR + c) at q*NR*kc + k*NR + c; columns past nc are zero.
 */
export function packB(transB: boolean, B: Float32Array, bOff: number, ldb: number,
                      p0: number, kc: number, j0: number, nc: number, dst: Float64Array): void {
  let d = 0;
  for (let j = 0; j < nc; j += NR) {
    const cols = nc - j < NR ? nc - j : NR;
    if (!transB) {
      // B[k][j] at bOff + k*ldb + j
      let s = bOff + p0 * ldb + j0 + j;
      if (cols === NR) {
        for (let k = 0; k < kc; k++) {
          dst[d] = B[s]; dst[d + 1] = B[s + 1]; dst[d + 2] = B[s + 2]; dst[d + 3] = B[s + 3];
          d += NR; s += ldb;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let c = 0; c < NR; c++) dst[d + c] = c < cols ? B[s + c] : 0;
          d += NR; s += ldb;
        }
      }
    } else {
      // op(B)[k][j] = B[j][k] at bOff + j*ldb + k
      if (cols === NR) {
        let s0 = bOff + (j0 + j) * ldb + p0;
        let s1 = s0 + ldb, s2 = s1 + ldb, s3 = s2 + ldb;
        for (let k = 0; k < kc; k++) {
          dst[d] = B[s0++]; dst[d + 1] = B[s1++]; dst[d + 2] = B[s2++]; dst[d + 3] = B[s3++];
          d += NR;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let c = 0; c < NR; c++) {
            dst[d + c] = c < cols ? B[bOff + (j0 + j + c) * ldb + p0 + k] : 0;
          }
          d += NR;
        }
      }
    }
  }
}

/** tile[r*4 + c] = sum_k pa[ia + k*4 + r] * pb[ib + k*4 + c], a 4x4 register tile. */
function kernel4x4(kc: number, pa: Float64Array, ia: number, pb: Float64Array, ib: number,
                   out: Float64Array): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  let a = 0;
  for (let k = 0; k < kc; k++) {
    const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3];
    a = pa[ia]; c00 += a * b0; c01 += a * b1; c02 += a * b2; c03 += a * b3;
    a = pa[ia + 1]; c10 += a * b0; c11 += a * b1; c12 += a * b2; c13 += a * b3;
    a = pa[ia + 2]; c20 += a * b0; c21 += a * b1; c22 += a * b2; c23 += a * b3;
    a = pa[ia + 3]; c30 += a * b0; c31 += a * b1; c32 += a * b2; c33 += a * b3;
    ia += 4; ib += 4;
  }
  out[0] = c00; out[1] = c01; out[2] = c02; out[3] = c03;
  out[4] = c10; out[5] = c11; out[6] = c12; out[7] = c13;
  out[8] = c20; out[9] = c21; out[10] = c22; out[11] = c23;
  out[12] = c30; out[13] = c31; out[14] = c32; out[15] = c33;
}

/** tile[r*4 + c] = sum_k pa[ia + k*6 + r] * pb[ib + k*4 + c], a 6x4 register tile. */
function kernel6x4(kc: number, pa: Float64Array, ia: number, pb: Float64Array, ib: number,
                   out: Float64Array): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  let c40 = 0, c41 = 0, c42 = 0, c43 = 0;
  let c50 = 0, c51 = 0, c52 = 0, c53 = 0;
  let a = 0;
  for (let k = 0; k < kc; k++) {
    const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3];
    a = pa[ia]; c00 += a * b0; c01 += a * b1; c02 += a * b2; c03 += a * b3;
    a = pa[ia + 1]; c10 += a * b0; c11 += a * b1; c12 += a * b2; c13 += a * b3;
    a = pa[ia + 2]; c20 += a * b0; c21 += a * b1; c22 += a * b2; c23 += a * b3;
    a = pa[ia + 3]; c30 += a * b0; c31 += a * b1; c32 += a * b2; c33 += a * b3;
    a = pa[ia + 4]; c40 += a * b0; c41 += a * b1; c42 += a * b2; c43 += a * b3;
    a = pa[ia + 5]; c50 += a * b0; c51 += a * b1; c52 += a * b2; c53 += a * b3;
    ia += 6; ib += 4;
  }
  out[0] = c00; out[1] = c01; out[2] = c02; out[3] = c03;
  out[4] = c10; out[5] = c11; out[6] = c12; out[7] = c13;
  out[8] = c20; out[9] = c21; out[10] = c22; out[11] = c23;
  out[12] = c30; out[13] = c31; out[14] = c32; out[15] = c33;
  out[16] = c40; out[17] = c41; out[18] = c42; out[19] = c43;
  out[20] = c50; out[21] = c51; out[22] = c52; out[23] = c53;
}

/** tile[r*4 + c] = sum_k pa[ia + k*8 + r] * pb[ib + k*4 + c], an 8x4 register tile. */
function kernel8x4(kc: number, pa: Float64Array, ia: number, pb: Float64Array, ib: number,
                   out: Float64Array): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  let c40 = 0, c41 = 0, c42 = 0, c43 = 0;
  let c50 = 0, c51 = 0, c52 = 0, c53 = 0;
  let c60 = 0, c61 = 0, c62 = 0, c63 = 0;
  let c70 = 0, c71 = 0, c72 = 0, c73 = 0;
  let a = 0;
  for (let k = 0; k < kc; k++) {
    const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3];
    a = pa[ia]; c00 += a * b0; c01 += a * b1; c02 += a * b2; c03 += a * b3;
    a = pa[ia + 1]; c10 += a * b0; c11 += a * b1; c12 += a * b2; c13 += a * b3;
    a = pa[ia + 2]; c20 += a * b0; c21 += a * b1; c22 += a * b2; c23 += a * b3;
    a = pa[ia + 3]; c30 += a * b0; c31 += a * b1; c32 += a * b2; c33 += a * b3;
    a = pa[ia + 4]; c40 += a * b0; c41 += a * b1; c42 += a * b2; c43 += a * b3;
    a = pa[ia + 5]; c50 += a * b0; c51 += a * b1; c52 += a * b2; c53 += a * b3;
    a = pa[ia + 6]; c60 += a * b0; c61 += a * b1; c62 += a * b2; c63 += a * b3;
    a = pa[ia + 7]; c70 += a * b0; c71 += a * b1; c72 += a * b2; c73 += a * b3;
    ia += 8; ib += 4;
  }
  out[0] = c00; out[1] = c01; out[2] = c02; out[3] = c03;
  out[4] = c10; out[5] = c11; out[6] = c12; out[7] = c13;
  out[8] = c20; out[9] = c21; out[10] = c22; out[11] = c23;
  out[12] = c30; out[13] = c31; out[14] = c32; out[15] = c33;
  out[16] = c40; out[17] = c41; out[18] = c42; out[19] = c43;
  out[20] = c50; out[21] = c51; out[22] = c52; out[23] = c53;
  out[24] = c60; out[25] = c61; out[26] = c62; out[27] = c63;
  out[28] = c70; out[29] = c71; out[30] = c72; out[31] = c73;
}

/** Runs the mr x NR micro-kernel (mr = 4, 6 or 8) into `out`. */
export function microKernel(mr: number, kc: number, pa: Float64Array, ia: number, pb: Float64Array,
                            ib: number, out: Float64Array): void {
  if (mr === 8) kernel8x4(kc, pa, ia, pb, ib, out);
  else if (mr === 6) kernel6x4(kc, pa, ia, pb, ib, out);
  else kernel4x4(kc, pa, ia, pb, ib, out);
}

/** C[tile] = beta*C + alpha*tile over the valid mr x nr corner; beta == 0 never reads C. */
function storeTile(out: Float64Array, mr: number, nr: number, alpha: number, beta: number,
                   C: Float32Array, cIdx: number, ldc: number): void {
  for (let r = 0; r < mr; r++) {
    const t = r * NR;
    const c = cIdx + r * ldc;
    if (beta === 0) {
      for (let j = 0; j < nr; j++) C[c + j] = alpha * out[t + j];
    } else if (beta === 1) {
      for (let j = 0; j < nr; j++) C[c + j] += alpha * out[t + j];
    } else {
      for (let j = 0; j < nr; j++) C[c + j] = beta * C[c + j] + alpha * out[t + j];
    }
  }
}

/** C[M x N] = beta * C (beta == 0 writes zeros without reading C). */
function scaleC(M: number, N: number, beta: number, C: Float32Array, cOff: number, ldc: number): void {
  for (let i = 0; i < M; i++) {
    const c = cOff + i * ldc;
    if (beta === 0) C.fill(0, c, c + N);
    else if (beta !== 1) for (let j = 0; j < N; j++) C[c + j] *= beta;
  }
}

let vecAcc = new Float64Array(256);

/**
 * The M == 1 or N == 1 case (a matrix-vector product): one pass over the matrix, no packing,
 * which would otherwise pad the single row or column out to a whole register tile.
 */
function gemv(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
              A: Float32Array, aOff: number, lda: number, B: Float32Array, bOff: number, ldb: number,
              beta: number, C: Float32Array, cOff: number, ldc: number): void {
  // Out[len] = Mat * vec, where Mat is row-major (rows contiguous along K) unless `strided`
  let mat: Float32Array, mOff: number, ld: number, byRows: boolean;
  let vec: Float32Array, vOff: number, vStride: number;
  let len: number, outStride: number;
  if (N === 1) {
    // C[i] = sum_k op(A)[i][k] * op(B)[k][0]
    mat = A; mOff = aOff; ld = lda; byRows = !transA;
    vec = B; vOff = bOff; vStride = transB ? 1 : ldb;
    len = M; outStride = ldc;
  } else {
    // C[0][j] = sum_k op(A)[0][k] * op(B)[k][j] = sum_k op(B)^T[j][k] * a[k]
    mat = B; mOff = bOff; ld = ldb; byRows = transB;
    vec = A; vOff = aOff; vStride = transA ? lda : 1;
    len = N; outStride = 1;
  }
  if (vecAcc.length < len) vecAcc = new Float64Array(len);
  const acc = vecAcc;
  if (byRows) {
    // element (i, k) at mOff + i*ld + k
    for (let i = 0; i < len; i++) {
      const row = mOff + i * ld;
      let s0 = 0, s1 = 0;
      let k = 0;
      for (; k + 1 < K; k += 2) {
        s0 += mat[row + k] * vec[vOff + k * vStride];
        s1 += mat[row + k + 1] * vec[vOff + (k + 1) * vStride];
      }
      if (k < K) s0 += mat[row + k] * vec[vOff + k * vStride];
      acc[i] = s0 + s1;
    }
  } else {
    // element (i, k) at mOff + k*ld + i: stream the rows of the stored matrix
    acc.fill(0, 0, len);
    for (let k = 0; k < K; k++) {
      const v = vec[vOff + k * vStride];
      const row = mOff + k * ld;
      for (let i = 0; i < len; i++) acc[i] += mat[row + i] * v;
    }
  }
  for (let i = 0, c = cOff; i < len; i++, c += outStride) {
    if (beta === 0) C[c] = alpha * acc[i];
    else if (beta === 1) C[c] += alpha * acc[i];
    else C[c] = beta * C[c] + alpha * acc[i];
  }
}

/**
 * C = alpha * op(A) * op(B) + beta * C on row-major slices: A starts at aOff with leading
 * dimension lda (op(A) is M x K), likewise B and C. Arguments are assumed valid.
 */
export function sgemm(transA: boolean, transB: boolean, M: number, N: number, K: number,
                      alpha: number, A: Float32Array, aOff: number, lda: number,
                      B: Float32Array, bOff: number, ldb: number, beta: number,
                      C: Float32Array, cOff: number, ldc: number): void {
  if (M === 0 || N === 0) return;
  if (K === 0 || alpha === 0) {
    scaleC(M, N, beta, C, cOff, ldc);
    return;
  }
  if (M === 1 || N === 1) {
    gemv(transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
    return;
  }
  const mr = chooseMR(M);
  const ncMax = N < NC ? N : NC;
  const pb = packBScratch(KC * Math.ceil(ncMax / NR) * NR);
  const pa = packAScratch(MC * KC);
  const t = tile;
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = N - j0 < NC ? N - j0 : NC;
    for (let p0 = 0; p0 < K; p0 += KC) {
      const kc = K - p0 < KC ? K - p0 : KC;
      const b = p0 === 0 ? beta : 1;
      packB(transB, B, bOff, ldb, p0, kc, j0, nc, pb);
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = M - i0 < MC ? M - i0 : MC;
        packA(transA, A, aOff, lda, i0, mc, p0, kc, mr, pa);
        for (let j = 0; j < nc; j += NR) {
          const nr = nc - j < NR ? nc - j : NR;
          const ib = j * kc;
          for (let i = 0; i < mc; i += mr) {
            const m = mc - i < mr ? mc - i : mr;
            microKernel(mr, kc, pa, i * kc, pb, ib, t);
            storeTile(t, m, nr, alpha, b, C, cOff + (i0 + i) * ldc + j0 + j, ldc);
          }
        }
      }
    }
  }
}
