// Matrix products through the backend's GEMM: 2-D x 2-D, batched 3-D x 3-D (a batch of 1
// broadcasts), 3-D x 2-D (one GEMM over the folded batch), and 1-D operands as vectors.
// Gradients are GEMMs too: dA = dC B^T, dB = A^T dC.
import { Tensor, formatShape } from '../tensor';
import { needsGrad, record } from '../autograd/engine';
import { backend } from '../backend/select';

function fail(a: Tensor, b: Tensor, why: string): never {
  throw new Error(`matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} ${why}`);
}

/** Matrix product with PyTorch's rules for 1-D, 2-D and 3-D operands. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) throw new TypeError('matmul: expected two Tensors');
  if (a.ndim === 0 || b.ndim === 0) fail(a, b, 'cannot be multiplied: both operands need at least one dim');
  if (a.ndim > 3 || b.ndim > 3) fail(a, b, 'cannot be multiplied: operands of more than 3 dims are not supported');
  if (a.ndim === 1 || b.ndim === 1) {
    // Promote vectors to matrices, multiply, drop the added dim again.
    const a2 = a.ndim === 1 ? a.reshape([1, a.shape[0]]) : a;
    const b2 = b.ndim === 1 ? b.reshape([b.shape[0], 1]) : b;
    const ka = a2.shape[a2.ndim - 1], kb = b2.shape[b2.ndim - 2];
    if (ka !== kb) fail(a, b, `cannot be multiplied (${ka} != ${kb})`);
    let r = matmul(a2, b2);
    if (b.ndim === 1) r = r.squeeze(-1);
    if (a.ndim === 1) r = r.squeeze(r.ndim === 1 && b.ndim === 1 ? 0 : -2);
    return r;
  }
  const M = a.shape[a.ndim - 2], K = a.shape[a.ndim - 1];
  const K2 = b.shape[b.ndim - 2], N = b.shape[b.ndim - 1];
  if (K !== K2) fail(a, b, `cannot be multiplied (${K} != ${K2})`);
  const gemm = backend().gemm.bind(backend());
  const Ba = a.ndim === 3 ? a.shape[0] : 1, Bb = b.ndim === 3 ? b.shape[0] : 1;
  if (a.ndim === 3 && b.ndim === 3 && Ba !== Bb && Ba !== 1 && Bb !== 1) fail(a, b, `have different batch sizes (${Ba} != ${Bb})`);
  const batch = Math.max(Ba, Bb);
  const outShape = a.ndim === 3 || b.ndim === 3 ? [batch, M, N] : [M, N];
  const out = new Float32Array(batch * M * N);
  const A = a.data, B = b.data;
  // Folded: b is one matrix shared by every batch of a.
  const folded = Bb === 1;
  if (out.length > 0) {
    if (K === 0) out.fill(0);
    else if (folded) gemm(false, false, batch * M, N, K, 1, A, B, 0, out);
    else {
      for (let i = 0; i < batch; i++) {
        gemm(false, false, M, N, K, 1, Ba === 1 ? A : A.subarray(i * M * K, (i + 1) * M * K),
             B.subarray(i * K * N, (i + 1) * K * N), 0, out.subarray(i * M * N, (i + 1) * M * N));
      }
    }
  }
  const result = new Tensor(out, outShape);
  if (needsGrad(a, b)) {
    record(result, 'matmul', [a, b], (g) => {
      const G = g.data;
      let gA: Tensor | null = null, gB: Tensor | null = null;
      const empty = K === 0 || G.length === 0;
      if (a.requiresGrad) {
        const d = new Float32Array(a.size);
        if (!empty) {
          if (folded) gemm(false, true, batch * M, K, N, 1, G, B, 0, d);
          else {
            for (let i = 0; i < batch; i++) {
              // dA_i = dC_i B_i^T; a batch-1 A sums over the batch.
              gemm(false, true, M, K, N, 1, G.subarray(i * M * N, (i + 1) * M * N),
                   B.subarray(i * K * N, (i + 1) * K * N), Ba === 1 && i > 0 ? 1 : 0,
                   Ba === 1 ? d : d.subarray(i * M * K, (i + 1) * M * K));
            }
          }
        }
        gA = new Tensor(d, a.shape.slice());
      }
      if (b.requiresGrad) {
        const d = new Float32Array(b.size);
        if (!empty) {
          if (folded) gemm(true, false, K, N, batch * M, 1, A, G, 0, d);
          else {
            for (let i = 0; i < batch; i++) {
              gemm(true, false, K, N, M, 1, Ba === 1 ? A : A.subarray(i * M * K, (i + 1) * M * K),
                   G.subarray(i * M * N, (i + 1) * M * N), 0, d.subarray(i * K * N, (i + 1) * K * N));
            }
          }
        }
        gB = new Tensor(d, b.shape.slice());
      }
      return [gA, gB];
    });
  }
  return result;
}
