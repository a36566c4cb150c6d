// Finite-difference gradient checker for any differentiable op.
//
//   const { gradcheck } = require('./helpers/gradcheck');
//   const x = R.randn([2, 3, 5, 5], { seed: 1, requiresGrad: true });
//   const w = R.randn([4, 3, 3, 3], { seed: 2, requiresGrad: true });
//   gradcheck((x, w) => F.conv2d(x, w, null, { padding: 1 }), [x, w]);
//
// fn maps the input Tensors (same order as `inputs`) to ONE output Tensor. It must
// recompute from the inputs' current `.data` on every call (the checker perturbs the
// values in place) and be deterministic (dropout: fix the seed inside fn).
// Inputs with requiresGrad=false are treated as constants and not checked.
//
// How it works: the scalar objective L = sum(out * W) with fixed random weights W in
// [-1, 1) is differentiated twice: by autograd (out.backward(W)), and by central
// differences (L(x+h) - L(x-h)) / (2h) per element of each input, with L accumulated
// in float64 and h the step actually representable in float32 around x. An element
// passes when |numeric - analytic| <= atol + rtol * |numeric|; otherwise it throws an
// Error naming the input (index, shape, or the `names` option), the flat element index
// and both values.
//
// Options: eps (default 1e-3), atol (1e-2), rtol (1e-2): float32 forward passes need
// these loose tolerances; keep inputs away from kinks (relu at 0, max ties) by more than
// eps. seed (0) for W; maxElements (Infinity): check at most that many elements per
// input, spread evenly (large conv inputs); names: input names for messages.
// Returns { checked, maxAbsError, maxRelError }.
'use strict';
const { Tensor } = require('../../dist/tensor');
const engine = require('../../dist/autograd/engine');
const { Generator } = require('../../dist/random');

function shapeStr(s) { return `[${s.join(', ')}]`; }

function objective(out, w) {
  const d = out.data;
  let acc = 0;
  for (let i = 0; i < d.length; i++) acc += d[i] * w[i];
  return acc;
}

function gradcheck(fn, inputs, options = {}) {
  const eps = options.eps ?? 1e-3;
  const atol = options.atol ?? 1e-2;
  const rtol = options.rtol ?? 1e-2;
  const maxElements = options.maxElements ?? Infinity;
  const names = options.names || inputs.map((t, i) => `input ${i}`);
  if (!Array.isArray(inputs)) throw new TypeError('gradcheck: inputs must be an array of Tensors');
  inputs.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new TypeError(`gradcheck: ${names[i]} is not a Tensor`);
  });
  if (!inputs.some((t) => t.requiresGrad)) throw new Error('gradcheck: no input has requiresGrad');

  // Analytic gradients.
  for (const t of inputs) t.grad = null;
  const out = fn(...inputs);
  if (!(out instanceof Tensor)) throw new TypeError('gradcheck: fn must return a Tensor');
  if (!out.requiresGrad) throw new Error('gradcheck: the output does not require grad (op not recorded?)');
  const gen = new Generator(options.seed ?? 0);
  const w = new Float64Array(out.size);
  for (let i = 0; i < w.length; i++) w[i] = gen.uniform(-1, 1);
  const wt = new Tensor(Float32Array.from(w), out.shape.slice());
  for (let i = 0; i < w.length; i++) w[i] = wt.data[i];
  engine.runBackward(out, wt);
  const analytic = inputs.map((t) => (t.grad ? Float32Array.from(t.grad.data) : null));

  let checked = 0, maxAbsError = 0, maxRelError = 0;
  engine.noGrad(() => {
    inputs.forEach((t, k) => {
      if (!t.requiresGrad) return;
      const x = t.data;
      const n = x.length;
      const stride = n > maxElements ? n / maxElements : 1;
      const probe = new Float32Array(1);
      for (let f = 0; f < n; f += stride) {
        const i = Math.floor(f);
        const orig = x[i];
        probe[0] = orig + eps; const up = probe[0];
        probe[0] = orig - eps; const down = probe[0];
        x[i] = up;
        const lp = objective(fn(...inputs), w);
        x[i] = down;
        const lm = objective(fn(...inputs), w);
        x[i] = orig;
        const numeric = (lp - lm) / (up - down);
        const got = analytic[k] ? analytic[k][i] : 0;
        const err = Math.abs(numeric - got);
        checked++;
        if (err > maxAbsError) maxAbsError = err;
        const rel = err / Math.max(Math.abs(numeric), 1e-12);
        if (err > 1e-6 && rel > maxRelError) maxRelError = rel;
        if (!(err <= atol + rtol * Math.abs(numeric))) {
          throw new Error(`gradcheck: ${names[k]} (shape ${shapeStr(t.shape)}) element ${i}: ` +
            `numeric ${numeric.toPrecision(6)} vs autograd ${analytic[k] ? got.toPrecision(6) : 'null (no grad)'}` +
            ` (|diff| ${err.toExponential(2)} > atol ${atol} + rtol ${rtol} * |numeric|)`);
        }
      }
    });
  });
  for (const t of inputs) t.grad = null;
  return { checked, maxAbsError, maxRelError };
}

module.exports = { gradcheck };
