#!/usr/bin/env python3
"""Write the I/O-format showcase model as ONNX, opset 17: a full-resolution image in, a
full-resolution map out, a few cheap convolutions between, so that moving the input and output
across the bus is a large share of the end-to-end time.

    image [B,3,H,W] f32 -> Conv 3x3 (3->8) + Relu -> Conv 3x3 (8->8) + Relu -> Conv 1x1 (8->K)
                        -> out [B,K,H,W] f32

Defaults: B=1, H=1600, W=2560, K=3 (input and output 49 MB each in f32). Weights are random with
a fixed seed (He-normal); the model is a workload, not a trained network. Needs only onnx and
numpy. Build it with the input as uint8 NHWC and the normalization folded into the conversion:

    python3 bench/models/image_model.py --out build/image.onnx [--height 1600 --width 2560]
            [--out-channels 3|8] [--batch 1] [--seed 0]
    build/ingot build build/image.onnx -o build/image-u8.engine --backend cuda \\
            --input-format image:uint8:nhwc \\
            --input-norm image:mean=0.485,0.456,0.406:std=0.229,0.224,0.225:scale=0.00392156862745098 \\
            --output-format out:fp16
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="path of the .onnx file to write")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--height", type=int, default=1600)
    ap.add_argument("--width", type=int, default=2560)
    ap.add_argument("--out-channels", type=int, default=3, help="channels of the output map (K)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    for k in ("batch", "height", "width", "out_channels"):
        if getattr(a, k) < 1:
            ap.error(f"--{k.replace('_', '-')} must be >= 1, got {getattr(a, k)}")
    rng = np.random.default_rng(a.seed)
    inits, nodes = [], []

    def conv(name, x, cin, cout, k, relu):
        w = rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))
        b = rng.normal(0.0, 0.1, cout)
        inits.append(numpy_helper.from_array(w.astype(np.float32), f"{name}.weight"))
        inits.append(numpy_helper.from_array(b.astype(np.float32), f"{name}.bias"))
        y = f"/{name}/Conv_output_0"
        p = k // 2
        nodes.append(helper.make_node("Conv", [x, f"{name}.weight", f"{name}.bias"], [y], name=f"/{name}/Conv",
                                      kernel_shape=[k, k], pads=[p] * 4, strides=[1, 1], dilations=[1, 1], group=1))
        if not relu:
            return y
        r = f"/{name}/Relu_output_0"
        nodes.append(helper.make_node("Relu", [y], [r], name=f"/{name}/Relu"))
        return r

    x = conv("conv1", "image", 3, 8, 3, True)
    x = conv("conv2", x, 8, 8, 3, True)
    y = conv("head", x, 8, a.out_channels, 1, False)
    nodes.append(helper.make_node("Identity", [y], ["out"], name="/out/Identity"))
    graph = helper.make_graph(
        nodes, "image_model",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [a.batch, 3, a.height, a.width])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [a.batch, a.out_channels, a.height, a.width])],
        inits)
    model = helper.make_model(graph, producer_name="ingot-bench", opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, a.out)
    mb = a.batch * a.height * a.width * 4 / 1e6
    print(f"wrote {a.out}: image [{a.batch},3,{a.height},{a.width}] ({3 * mb:.1f} MB f32), "
          f"out [{a.batch},{a.out_channels},{a.height},{a.width}] ({a.out_channels * mb:.1f} MB f32)")


if __name__ == "__main__":
    main()
