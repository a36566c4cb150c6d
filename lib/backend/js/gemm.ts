// Single-precision GEMM in plain TypeScript: C = alpha * op(A) * op(B) + beta * C, row-major
// with leading dimensions and element offsets, so convolution can run it on slices in place.
//
// GotoBLAS-style structure: op(B) is packed into KC x NR micro-panels, op(A) into MR x KC
// micro-panels (zero-padded at the edges so the micro-kernel never branches), and an MR x NR
// register tile of local variables accumulates over the packed K loop. JavaScript has no SIMD,
// so the kernel's speed is the scalar multiply-add rate; what the packing buys is that every
// load in the inner loop is sequential and bounds checks are predictable. Accumulation is in
// float64 (V8's number type), which is slightly more accurate than the native float32 kernels.

export const MR = 4;
export const NR = 4;
const KC = 256;
const MC = 128;
const NC = 1024;

// Module-level scratch, grown on demand and reused by every call (the backend is
// single-threaded, so no two calls run at once).
let packA = new Float64Array(MC * KC);
let packB = new Float64Array(KC * NC);
const tile = new Float64Array(MR * NR);

function ensurePackB(n: number): void {
  if (packB.length < n) packB = new Float64Array(n);
}

/**
 * Packs rows [i0, i0+mc) x cols [p0, p0+kc) of op(A) into MR-row micro-panels:
 * panel q holds element (q*MR + r, k) at q*MR*kc + k*MR + r; rows past mc are zero.
 */
function packAPanels(transA: boolean, A: Float32Array, aOff: number, lda: number,
                     i0: number, mc: number, p0: number, kc: number, dst: Float64Array): void {
  let d = 0;
  for (let i = 0; i < mc; i += MR) {
    const rows = mc - i < MR ? mc - i : MR;
    if (!transA) {
      // A[i][k] at aOff + i*lda + k
      if (rows === MR) {
        let s0 = aOff + (i0 + i) * lda + p0;
        let s1 = s0 + lda, s2 = s1 + lda, s3 = s2 + lda;
        for (let k = 0; k < kc; k++) {
          dst[d] = A[s0++]; dst[d + 1] = A[s1++]; dst[d + 2] = A[s2++]; dst[d + 3] = A[s3++];
          d += MR;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let r = 0; r < MR; r++) {
            dst[d + r] = r < rows ? A[aOff + (i0 + i + r) * lda + p0 + k] : 0;
          }
          d += MR;
        }
      }
    } else {
      // op(A)[i][k] = A[k][i] at aOff + k*lda + i
      let s = aOff + p0 * lda + i0 + i;
      if (rows === MR) {
        for (let k = 0; k < kc; k++) {
          dst[d] = A[s]; dst[d + 1] = A[s + 1]; dst[d + 2] = A[s + 2]; dst[d + 3] = A[s + 3];
          d += MR; s += lda;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let r = 0; r < MR; r++) dst[d + r] = r < rows ? A[s + r] : 0;
          d += MR; s += lda;
        }
      }
    }
  }
}

/**
 * Packs rows [p0, p0+kc) x cols [j0, j0+nc) of op(B) into NR-column micro-panels:
 * panel q holds element (k, q*NR + c) at q*NR*kc + k*NR + c; columns past nc are zero.
 */
function packBPanels(transB: boolean, B: Float32Array, bOff: number, ldb: number,
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

/** tile[r*NR + c] = sum_k pa[ia + k*MR + r] * pb[ib + k*NR + c]. */
function kernel4x4(kc: number, pa: Float64Array, ia: number, pb: Float64Array, ib: number,
                   out: Float64Array): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = 0; k < kc; k++) {
    const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3];
    const a0 = pa[ia];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    const a1 = pa[ia + 1];
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    const a2 = pa[ia + 2];
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    const a3 = pa[ia + 3];
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    ia += 4; ib += 4;
  }
  out[0] = c00; out[1] = c01; out[2] = c02; out[3] = c03;
  out[4] = c10; out[5] = c11; out[6] = c12; out[7] = c13;
  out[8] = c20; out[9] = c21; out[10] = c22; out[11] = c23;
  out[12] = c30; out[13] = c31; out[14] = c32; out[15] = c33;
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
  const ncMax = N < NC ? N : NC;
  ensurePackB(KC * (Math.ceil(ncMax / NR) * NR));
  const pa = packA, pb = packB, t = tile;
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = N - j0 < NC ? N - j0 : NC;
    for (let p0 = 0; p0 < K; p0 += KC) {
      const kc = K - p0 < KC ? K - p0 : KC;
      const b = p0 === 0 ? beta : 1;
      packBPanels(transB, B, bOff, ldb, p0, kc, j0, nc, pb);
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = M - i0 < MC ? M - i0 : MC;
        packAPanels(transA, A, aOff, lda, i0, mc, p0, kc, pa);
        for (let j = 0; j < nc; j += NR) {
          const nr = nc - j < NR ? nc - j : NR;
          const ib = j * kc;
          for (let i = 0; i < mc; i += MR) {
            const mr = mc - i < MR ? mc - i : MR;
            kernel4x4(kc, pa, i * kc, pb, ib, t);
            storeTile(t, mr, nr, alpha, b, C, cOff + (i0 + i) * ldc + j0 + j, ldc);
          }
        }
      }
    }
  }
}
