// The training loop end to end: a few hundred real digits on each backend (the loss must
// fall), checkpoints and history written by fit(), and the CLI's handling of bad arguments.
'use strict';
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const rc = require('../dist');
const { describeEachBackend } = require('./helpers/backends');

const CLI = path.join(__dirname, '..', 'dist', 'cli.js');
const T = rc.data.transforms;
const prep = T.compose([T.pad(2), T.normalize([0.5], [0.5])]);

function smallLoaders() {
  const train = rc.data.datasets.mnistDigits({ split: 'train' }).subset(Array.from({ length: 320 }, (_, i) => i * 25));
  const test = rc.data.datasets.mnistDigits({ split: 'test' }).subset(Array.from({ length: 100 }, (_, i) => i * 20));
  return {
    train: new rc.data.DataLoader(train, { batchSize: 32, shuffle: true, seed: 3, transform: prep }),
    test: new rc.data.DataLoader(test, { batchSize: 50, transform: prep }),
  };
}

describeEachBackend('training LeNet-5 on a few hundred digits', function () {
  it('lowers the loss, records history and writes loadable checkpoints atomically', async function () {
    const { train, test } = smallLoaders();
    const model = rc.models.lenet5({ seed: 1 });
    const before = rc.train.evaluate(model, test);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receptive-fit-'));
    try {
      const optimizer = new rc.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
      const history = await rc.train.fit(model, train, { epochs: 3, optimizer, valLoader: test, checkpoint: dir, progress: false });
      assert.strictEqual(history.length, 3);
      assert.ok(history[2].trainLoss < history[0].trainLoss, `train loss did not fall: ${history.map((h) => h.trainLoss)}`);
      const after = rc.train.evaluate(model, test);
      assert.ok(after.loss < before.loss, `validation loss ${before.loss} -> ${after.loss}`);
      const saved = JSON.parse(fs.readFileSync(path.join(dir, 'history.json'), 'utf8'));
      assert.deepStrictEqual(saved.map((r) => r.epoch), [1, 2, 3]);
      for (const k of ['trainLoss', 'valLoss', 'valAccuracy', 'seconds']) assert.strictEqual(typeof saved[0][k], 'number', k);
      assert.ok(saved[2].valAccuracy >= 0 && saved[2].valAccuracy <= 1);
      const files = fs.readdirSync(dir).sort();
      assert.deepStrictEqual(files, ['epoch-1.safetensors', 'epoch-2.safetensors', 'epoch-3.safetensors', 'history.json', 'last.safetensors']);
      const fresh = rc.models.lenet5({ seed: 99 });
      fresh.loadStateDict(rc.loadSafetensors(path.join(dir, 'last.safetensors')));
      const a = rc.train.evaluate(fresh, test), b = rc.train.evaluate(model, test);
      assert.ok(Math.abs(a.loss - b.loss) < 1e-6, 'checkpoint reproduces the model');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('receptive train: bad arguments', function () {
  function run(args) {
    return spawnSync(process.execPath, [CLI, 'train', ...args], { encoding: 'utf8', env: { ...process.env } });
  }
  function expectOneLineError(r, pattern) {
    assert.notStrictEqual(r.status, 0, 'exit status should be non-zero');
    const lines = r.stderr.trim().split('\n');
    assert.strictEqual(lines.length, 1, `one line expected on stderr, got:\n${r.stderr}`);
    assert.match(lines[0], pattern);
  }
  it('unknown model', function () { expectOneLineError(run(['vgg99']), /unknown model 'vgg99'/); });
  it('non-numeric epochs', function () { expectOneLineError(run(['lenet5', '--epochs', 'ten']), /--epochs must be a positive integer, got ten/); });
  it('unknown option', function () { expectOneLineError(run(['lenet5', '--frobnicate']), /unknown option '--frobnicate'/); });
  it('missing data folder', function () {
    expectOneLineError(run(['lenet5', '--data', 'fashion-mnist', '--data-dir', '/nonexistent/receptive-data']), /\/nonexistent\/receptive-data/);
  });
  it('corrupt IDX file', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receptive-idx-'));
    try {
      for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
        fs.writeFileSync(path.join(dir, f), Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 1, 2, 3]));
      }
      expectOneLineError(run(['lenet5', '--data', 'fashion-mnist', '--data-dir', dir]), /IDX file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it('--help prints the usage and exits 0', function () {
    const r = run(['--help']);
    assert.strictEqual(r.status, 0);
    assert.match(r.stdout, /usage: receptive train <model>/);
  });
});
