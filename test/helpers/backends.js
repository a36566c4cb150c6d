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

/**
 * Mocha: one `describe(title [name])` per backend under test, with that backend active
 * while its tests run (before/after hooks), and `fn(name, backendInstance)` registering them.
 */
function describeEachBackend(title, fn) {
  for (const b of backendsUnderTest()) {
    describe(`${title} [${b.name}]`, function () {
      let prev;
      before(function () { prev = select.getBackend(); select.setBackend(b.name); });
      after(function () { select.setBackend(prev); });
      fn(b.name, b);
    });
  }
}

module.exports = { backendsUnderTest, describeEachBackend };
