'use strict';
// EXTENSION POINT (pending): one training epoch (forward + backward + optimizer step)
// per model, native vs JS (and PyTorch where it helps), samples/s. Written once the
// model zoo and the training loop land; see bench/README.md ("Adding a suite").
module.exports = {
  name: 'training',
  title: 'Training epoch (samples/s)',
  pending: 'waits for the model zoo (issue 4) and the training loop',
};
