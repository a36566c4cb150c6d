#!/usr/bin/python3
"""PyTorch peer for receptive's benchmarks (run with Debian's /usr/bin/python3 and
python3-torch, i.e. torch 1.13 with oneDNN inside).

Reads a JSON spec on stdin:
  {"kind": "gemm"|"conv"|"conv-bwd-input"|"conv-bwd-weight"|"pool",
   "threads": 2, "maxTime": 1.0, "minSamples": 5, "cases": [...parsed cases from bench/cases.js...]}
and prints one JSON object: {"peer": "pytorch", "version", "threads", "results": {id: {"ms",
"minMs", "samples", "impl"}}, "skipped": {id: reason}}.
Times are medians over samples (warm-up excluded), each sample averaging enough calls
to last >= 1 ms, all in-process, under torch.no_grad() for the forward work.
"""
import json
import sys
import time


def timeit(fn, max_time, min_samples):
    fn()  # warm-up
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    inner = 1 if one >= 1e-3 else max(1, int(1e-3 / max(one, 1e-7)))
    samples = []
    end = time.perf_counter() + max_time
    while len(samples) < min_samples or (time.perf_counter() < end and len(samples) < 1000):
        s = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - s) / inner)
    samples.sort()
    n = len(samples)
    med = samples[n // 2] if n % 2 else 0.5 * (samples[n // 2 - 1] + samples[n // 2])
    return {"ms": med * 1e3, "minMs": samples[0] * 1e3, "samples": n}


def main():
    spec = json.load(sys.stdin)
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"peer": "pytorch", "unavailable": "cannot import torch: %s" % e}))
        return
    threads = int(spec.get("threads", 2))
    torch.set_num_threads(threads)
    max_time = float(spec.get("maxTime", 1.0))
    min_samples = int(spec.get("minSamples", 5))
    kind = spec["kind"]
    torch.manual_seed(0)
    results, skipped = {}, {}
    for c in spec["cases"]:
        cid = c["id"]
        try:
            impl = ""
            if kind == "gemm":
                a = torch.randn(c["K"], c["M"]) if c["transA"] else torch.randn(c["M"], c["K"])
                b = torch.randn(c["N"], c["K"]) if c["transB"] else torch.randn(c["K"], c["N"])
                at = a.t() if c["transA"] else a
                bt = b.t() if c["transB"] else b
                out = torch.empty(c["M"], c["N"])

                def fn():
                    torch.mm(at, bt, out=out)
                impl = "torch.mm"
            elif kind in ("conv", "conv-bwd-input", "conv-bwd-weight"):
                x = torch.randn(*c["xShape"])
                w = torch.randn(*c["wShape"])
                stride = (c["strideH"], c["strideW"])
                pad = (c["padH"], c["padW"])
                dil = (c["dilationH"], c["dilationW"])
                g = c["groups"]
                one_d = c["oneD"]
                if one_d:
                    x = x.reshape(c["N"], c["C"], c["W"])
                    w = w.reshape(w.shape[0], w.shape[1], c["S"])
                    stride, pad, dil = (c["strideW"],), (c["padW"],), (c["dilationW"],)
                if kind == "conv":
                    with torch.no_grad():
                        if c["transposed"]:
                            f = F.conv_transpose1d if one_d else F.conv_transpose2d
                            fn = (lambda f=f: f(x, w, None, stride, pad, 0, g, dil))
                            impl = f.__name__
                        else:
                            f = F.conv1d if one_d else F.conv2d
                            fn = (lambda f=f: f(x, w, None, stride, pad, dil, g))
                            impl = f.__name__
                else:
                    y_shape = c["yShape"] if not one_d else [c["N"], c["K"], c["OW"]]
                    gy = torch.randn(*y_shape)
                    mask = [True, False, False] if kind == "conv-bwd-input" else [False, True, False]
                    out_pad = [0] * len(stride)

                    def fn():
                        torch.ops.aten.convolution_backward(gy, x, w, None, list(stride), list(pad), list(dil),
                                                            bool(c["transposed"]), out_pad, g, mask)
                    impl = "aten.convolution_backward"
            elif kind == "pool":
                x = torch.randn(*c["xShape"])
                if c["kind"] == "max":
                    fn = (lambda: F.max_pool2d(x, (c["kH"], c["kW"]), (c["sH"], c["sW"]), (c["pH"], c["pW"])))
                    impl = "max_pool2d (no indices)"
                elif c["kind"] == "gavg":
                    fn = (lambda: F.adaptive_avg_pool2d(x, 1))
                    impl = "adaptive_avg_pool2d"
                else:
                    fn = (lambda: F.avg_pool2d(x, (c["kH"], c["kW"]), (c["sH"], c["sW"]), (c["pH"], c["pW"])))
                    impl = "avg_pool2d"
            else:
                raise ValueError("unknown kind " + kind)
            if kind != "conv-bwd-input" and kind != "conv-bwd-weight":
                with torch.no_grad():
                    r = timeit(fn, max_time, min_samples)
            else:
                r = timeit(fn, max_time, min_samples)
            r["impl"] = impl
            results[cid] = r
        except Exception as e:  # noqa: BLE001
            skipped[cid] = "%s: %s" % (type(e).__name__, str(e).split("\n")[0])
    print(json.dumps({"peer": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
                      "results": results, "skipped": skipped}))


if __name__ == "__main__":
    main()
