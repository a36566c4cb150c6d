// The backends a kernel spec runs against: always JS; native too unless the run forces
// RECEPTIVE_BACKEND=js (the CI pass that proves the fallback alone) or the addon is absent.
'use strict';
const select = require('../../dist/backend/select');

function backendsUnderTest() {
  const list = [select.getBackendInstance('js')];
  if (process.env.RECEPTIVE_BACKEND === 'js') return list;
  const native = select.tryNative();
  if (native) list.push(native);
  else if (process.env.RECEPTIVE_BACKEND === 'native') throw select.nativeLoadError();
  return list;
}

/** Runs `fn(name)` once per backend with that backend active, restoring the previous one. */
function forEachBackend(fn) {
  for (const b of backendsUnderTest()) {
    const prev = select.getBackend();
    select.setBackend(b.name);
    try { fn(b.name, b); } finally { select.setBackend(prev); }
  }
}

module.exports = { backendsUnderTest, forEachBackend };
