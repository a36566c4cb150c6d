'use strict';
// EXTENSION POINT (pending): whole-network inference, images/s at batch 1, 8 and 32 for
// LeNet-5, AlexNet, GoogLeNet, ResNet-18 and ResNet-50, native vs JS vs onnxruntime-node
// (issue 4's Bench section). Written once the model zoo lands; see bench/README.md
// ("Adding a suite") for the interface. Until then `--suite models` says so and `all`
// skips it.
module.exports = {
  name: 'models',
  title: 'Whole-model inference (images/s)',
  pending: 'waits for the model zoo (issue 4): lib/models',
};
