// Loads the PyTorch reference cases of ../shared/fixtures and compares results with the
// tolerance the fixtures README prescribes.
'use strict';
const fs = require('fs');
const path = require('path');

const FIXTURES = process.env.RECEPTIVE_FIXTURES || path.join(__dirname, '..', '..', '..', 'shared', 'fixtures');

function decode(t) {
  const buf = Buffer.from(t.data, 'base64');
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return t.dtype === 'int32' ? new Int32Array(ab) : new Float32Array(ab);
}

/** All op cases (parsed JSON), optionally only those whose `op` is in `ops`. */
function opCases(ops) {
  const dir = path.join(FIXTURES, 'ops');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))
    .filter((c) => !ops || ops.includes(c.op));
}

function modelCase(name) {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'models', `${name}.json`), 'utf8'));
}

/**
 * Throws when got differs from want beyond |got - want| <= rel * max|want| + 1e-3 * |want|
 * (rel = 1e-4 by default), naming the worst element.
 */
function assertClose(got, want, label = 'value', rel = 1e-4) {
  const g = got && got.data instanceof Float32Array ? got.data : got;
  if (g.length !== want.length) throw new Error(`${label}: length ${g.length} != ${want.length}`);
  let scale = 1e-6;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let worst = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(g[i] - want[i]) / (rel * scale + 1e-3 * Math.abs(want[i]));
    if (!(err <= worst)) { worst = Number.isNaN(err) ? Infinity : err; at = i; }
  }
  if (worst > 1) {
    throw new Error(`${label}: element ${at} is ${g[at]}, expected ${want[at]} (${worst.toFixed(2)}x tolerance)`);
  }
}

module.exports = { FIXTURES, decode, opCases, modelCase, assertClose };
