#!/usr/bin/python3
"""PyTorch peer for the training bench: one epoch of the modern LeNet-5 (batch 64, SGD
momentum 0.9, lr 0.05, cross-entropy) over the same images receptive trains on.

usage: torch_train_lenet.py IMAGES.f32 LABELS.i32 N THREADS
IMAGES.f32 holds N*1*32*32 little-endian float32 values, LABELS.i32 N int32 labels.
Prints JSON: {"seconds": epoch seconds, "imagesPerSecond": ..., "threads": ...}.
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.conv3 = nn.Conv2d(16, 120, 5)
        self.fc1 = nn.Linear(120, 84)
        self.fc2 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(F.relu(self.conv3(x)), 1)
        return self.fc2(F.relu(self.fc1(x)))


def epoch(model, opt, x, y, batch, perm):
    model.train()
    for i in range(0, len(perm), batch):
        idx = perm[i:i + batch]
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()


def main():
    images, labels, n, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.from_numpy(np.fromfile(images, dtype='<f4').reshape(n, 1, 32, 32).copy())
    y = torch.from_numpy(np.fromfile(labels, dtype='<i4').astype(np.int64))
    model = LeNet5()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    warm = torch.randperm(n)[: 64 * 10]
    epoch(model, opt, x, y, 64, warm)  # warm-up: allocator, oneDNN primitives
    times = []
    for _ in range(3):
        perm = torch.randperm(n)
        t0 = time.perf_counter()
        epoch(model, opt, x, y, 64, perm)
        times.append(time.perf_counter() - t0)
    s = sorted(times)[len(times) // 2]
    print(json.dumps({"seconds": s, "imagesPerSecond": n / s, "threads": threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
