// The bench's rounds (node bench/run.js --rounds R): each implementation keeps its best
// round, a failed round gives way to one with figures, and peers' outputs from several
// processes merge case by case.
'use strict';
const assert = require('assert');
const { bestTiming, mergePeerRounds } = require('../bench/lib/compare');

describe('bench rounds', () => {
  it('keeps the lower median and the lower fastest sample, summing samples', () => {
    const a = { ms: 2, minMs: 1.5, samples: 10, impl: 'x' };
    const b = { ms: 1.8, minMs: 1.6, samples: 7, impl: 'x' };
    const m = bestTiming(a, b);
    assert.strictEqual(m.ms, 1.8);
    assert.strictEqual(m.minMs, 1.5);
    assert.strictEqual(m.samples, 17);
    assert.strictEqual(m.rounds, 2);
    assert.strictEqual(bestTiming(m, { ms: 3, minMs: 3, samples: 1 }).rounds, 3);
    assert.strictEqual(m.impl, 'x');
  });

  it('prefers a timing over an error or a skip, in either order', () => {
    const t = { ms: 1, minMs: 1, samples: 3 };
    assert.strictEqual(bestTiming({ error: 'boom' }, t), t);
    assert.strictEqual(bestTiming(t, { skipped: 'slow' }), t);
    assert.strictEqual(bestTiming(undefined, t), t);
    assert.deepStrictEqual(bestTiming({ error: 'a' }, { error: 'b' }), { error: 'a' });
  });

  it('marks a merged timing single only when every round was a single call', () => {
    assert.strictEqual(bestTiming({ ms: 5, samples: 1, single: true }, { ms: 4, samples: 1, single: true }).single, true);
    assert.strictEqual(bestTiming({ ms: 5, samples: 1, single: true }, { ms: 4, minMs: 3, samples: 9 }).single, undefined);
  });

  it('merges peer outputs case by case across rounds', () => {
    const r1 = {
      onednn: { peer: 'onednn', version: '2.6', results: { a: { ms: 2, minMs: 2, samples: 5 } }, skipped: { b: 'no kernel' } },
      pytorch: { peer: 'pytorch', unavailable: 'not installed' },
    };
    const r2 = {
      onednn: { peer: 'onednn', version: '2.6', results: { a: { ms: 1, minMs: 0.9, samples: 5 }, b: { ms: 4, minMs: 4, samples: 2 } }, skipped: {} },
      pytorch: { peer: 'pytorch', version: '1.13', results: { a: { ms: 3, minMs: 3, samples: 5 } }, skipped: {} },
    };
    const m = mergePeerRounds(mergePeerRounds({}, r1), r2);
    assert.strictEqual(m.onednn.results.a.ms, 1);
    assert.strictEqual(m.onednn.results.a.samples, 10);
    assert.strictEqual(m.onednn.results.b.ms, 4);
    assert.ok(!('b' in m.onednn.skipped), 'a case timed in a later round is no longer skipped');
    assert.strictEqual(m.pytorch.version, '1.13', 'an unavailable round gives way to one that ran');
    const again = mergePeerRounds(m, { pytorch: { peer: 'pytorch', unavailable: 'crashed' } });
    assert.strictEqual(again.pytorch.results.a.ms, 3, 'a later failed round keeps the earlier figures');
  });
});
