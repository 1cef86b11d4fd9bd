#!/usr/bin/env python3
"""Opens a masking-transformer checkpoint with Python PyTorch (torch.jit.load)
and prints what a user would inspect, one fact per line:
  kind <mt_kind>
  format <mt_format>
  param <dotted.name> <shape as AxBxC> <sum as %.9g>
Exit 3 when torch is not importable (the caller skips)."""
import sys

try:
    import torch
except ImportError:
    sys.exit(3)

m = torch.jit.load(sys.argv[1], map_location="cpu")
print("kind", m.mt_kind)
print("format", m.mt_format)
for name, t in list(m.model.named_parameters()) + list(m.model.named_buffers()):
    print("param", name, "x".join(str(d) for d in t.shape), "%.9g" % float(t.double().sum()))
