// The bench's timing rule for slow cases (bench/lib/timing.js): a warm-up over slowMs is
// followed by one more timed call; the case is reported from that call only when it is
// slow too, and sampled as usual when the warm-up's extra was one-off work (an inference
// plan being recorded). Busy-waits of a few milliseconds stand in for the work.
'use strict';
const assert = require('assert');
const { timeSync } = require('../bench/lib/timing');

function busy(ms) {
  const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  while (process.hrtime.bigint() < end) { /* wait */ }
}

describe('bench timing of slow cases', () => {
  const opts = { maxTime: 0.05, minSamples: 3, slowMs: 30 };

  it('samples a case whose warm-up alone was slow', () => {
    let calls = 0;
    const t = timeSync(() => { busy(calls++ === 0 ? 60 : 1); }, opts);
    assert.ok(!t.single, 'sampled, not a single call');
    assert.ok(t.samples >= 3, `samples: ${t.samples}`);
    assert.ok(t.ms < 30, `median ${t.ms} ms leaves out the warm-up`);
  });

  it('reports a case from one call when the call after the warm-up is slow too', () => {
    let calls = 0;
    const t = timeSync(() => { calls++; busy(40); }, opts);
    assert.strictEqual(t.single, true);
    assert.strictEqual(t.samples, 1);
    assert.strictEqual(calls, 2, 'the warm-up and one timed call');
    assert.ok(t.ms >= 40);
  });
});
