#!/usr/bin/env python3
"""Write a torchvision-equivalent ResNet-50 (v1.5: stride on the 3x3 conv) as ONNX, opset 17.

Ops as the PyTorch exporter writes them: Conv (no bias) / BatchNormalization / Relu / MaxPool /
Add / GlobalAveragePool / Flatten / Gemm. Weights are random with a fixed seed (He-normal convs;
BatchNorm statistics and affine parameters random but well-conditioned, the last BN of each block
scaled down so that 16 residual additions keep activations in range), so the model is a workload
and an optimizer test, not a classifier. Needs only onnx and numpy.

    python3 bench/models/resnet50.py --out build/resnet50.onnx [--batch N|1|8] [--seed 0]
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.count = {}

    def name(self, base):
        k = self.count.get(base, 0)
        self.count[base] = k + 1
        return base if k == 0 else f"{base}_{k}"

    def const(self, name, arr):
        self.inits.append(numpy_helper.from_array(arr.astype(np.float32), name))
        return name

    def conv(self, prefix, x, cin, cout, k, stride, pad):
        w = self.rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))
        wn = self.const(f"{prefix}.weight", w)
        y = f"/{prefix}/Conv_output_0"
        self.nodes.append(helper.make_node("Conv", [x, wn], [y], name=f"/{prefix}/Conv", dilations=[1, 1], group=1,
                                           kernel_shape=[k, k], pads=[pad] * 4, strides=[stride, stride]))
        return y

    def bn(self, prefix, x, c, gamma_scale=1.0):
        r = self.rng
        scale = self.const(f"{prefix}.weight", r.uniform(0.5, 1.5, c) * gamma_scale)
        bias = self.const(f"{prefix}.bias", r.normal(0.0, 0.1, c))
        mean = self.const(f"{prefix}.running_mean", r.normal(0.0, 0.1, c))
        var = self.const(f"{prefix}.running_var", r.uniform(0.5, 1.5, c))
        y = f"/{prefix}/BatchNormalization_output_0"
        self.nodes.append(helper.make_node("BatchNormalization", [x, scale, bias, mean, var], [y],
                                           name=f"/{prefix}/BatchNormalization", epsilon=1e-5, momentum=0.9))
        return y

    def relu(self, prefix, x):
        y = f"/{prefix}/Relu_output_0"
        self.nodes.append(helper.make_node("Relu", [x], [y], name=f"/{prefix}/Relu"))
        return y


def bottleneck(b, prefix, x, cin, width, stride, downsample):
    out = b.relu(f"{prefix}/relu", b.bn(f"{prefix}.bn1", b.conv(f"{prefix}.conv1", x, cin, width, 1, 1, 0), width))
    out = b.relu(f"{prefix}/relu_1",
                 b.bn(f"{prefix}.bn2", b.conv(f"{prefix}.conv2", out, width, width, 3, stride, 1), width))
    out = b.bn(f"{prefix}.bn3", b.conv(f"{prefix}.conv3", out, width, width * 4, 1, 1, 0), width * 4, 0.2)
    idt = x
    if downsample:
        idt = b.bn(f"{prefix}.downsample.1", b.conv(f"{prefix}.downsample.0", x, cin, width * 4, 1, stride, 0),
                   width * 4)
    s = f"/{prefix}/Add_output_0"
    b.nodes.append(helper.make_node("Add", [out, idt], [s], name=f"/{prefix}/Add"))
    return b.relu(f"{prefix}/relu_2", s)


def build(batch, seed):
    b = Builder(seed)
    x = b.relu("relu", b.bn("bn1", b.conv("conv1", "input", 3, 64, 7, 2, 3), 64))
    y = "/maxpool/MaxPool_output_0"
    b.nodes.append(helper.make_node("MaxPool", [x], [y], name="/maxpool/MaxPool", ceil_mode=0, kernel_shape=[3, 3],
                                    pads=[1, 1, 1, 1], strides=[2, 2]))
    x, cin = y, 64
    for li, (blocks, width, stride) in enumerate([(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)], 1):
        for bi in range(blocks):
            s = stride if bi == 0 else 1
            x = bottleneck(b, f"layer{li}.{bi}", x, cin, width, s, bi == 0)
            cin = width * 4
    g = "/avgpool/GlobalAveragePool_output_0"
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], [g], name="/avgpool/GlobalAveragePool"))
    f = "/Flatten_output_0"
    b.nodes.append(helper.make_node("Flatten", [g], [f], name="/Flatten", axis=1))
    fw = b.const("fc.weight", b.rng.standard_normal((1000, 2048)) * np.sqrt(1.0 / 2048))
    fb = b.const("fc.bias", b.rng.normal(0.0, 0.01, 1000))
    b.nodes.append(helper.make_node("Gemm", [f, fw, fb], ["logits"], name="/fc/Gemm", alpha=1.0, beta=1.0, transB=1))
    dim0 = int(batch) if str(batch).isdigit() else batch
    graph = helper.make_graph(b.nodes, "resnet50",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [dim0, 3, 224, 224])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [dim0, 1000])], b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ingot-bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="where to write the .onnx file")
    ap.add_argument("--batch", default="N", help="batch size, or a name for a symbolic batch dim (default N)")
    ap.add_argument("--seed", type=int, default=0, help="weights' random seed (default 0)")
    a = ap.parse_args()
    m = build(a.batch, a.seed)
    onnx.save(m, a.out)
    print(f"wrote {a.out}: {len(m.graph.node)} nodes, "
          f"{sum(int(np.prod(t.dims)) for t in m.graph.initializer)} parameters")


if __name__ == "__main__":
    main()
