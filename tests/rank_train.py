"""A two-process DDP training on the CPU (gloo) that logs into the notebook's run: the script
tests/test_ranks_engines.py launches with ``torchrun --nproc-per-node 2`` from a cell. Its only
nbprov line is the import and ``nbprov.log_metric``."""

import torch
import torch.distributed as dist

import nbprov

STEPS = 40

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(rank)  # each rank sees other data: its own loss curve
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(STEPS):
    x = torch.randn(16, 4)
    loss = ((model(x) - x.sum(dim=1, keepdim=True)) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    nbprov.log_metric("loss", loss.item(), step=step)
nbprov.log_params({"lr": 0.05, "world_size": dist.get_world_size()})
dist.destroy_process_group()
