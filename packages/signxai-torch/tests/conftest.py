"""Test settings: one intra-op thread (the models are tiny; on a busy 2-core machine thread hand-offs cost ~50x)."""

import torch

torch.set_num_threads(1)
