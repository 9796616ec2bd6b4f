#!/usr/bin/python3
"""Peer baseline for bench_trainer: nanoGPT's model.py and training step in PyTorch.

Same architecture, init and optimizer as scalelab's trainer (pre-LN GPT-2 blocks,
fused qkv, exact GELU, tied head, AdamW with decay on matrices only, grad-norm
clipping at 1.0), written the way nanoGPT writes it, so the ratio printed by
trainer_vs_peer.sh measures implementation overhead rather than a different model.
Run with Debian's /usr/bin/python3 (python3-torch); one intra-op thread.
"""
import argparse
import math
import time

import torch
import torch.nn as nn
from torch.nn import functional as F


class LayerNorm(nn.Module):
    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c.d_model, 3 * c.d_model, bias=c.bias)
        self.c_proj = nn.Linear(c.d_model, c.d_model, bias=c.bias)
        self.n_head, self.d_model = c.n_head, c.d_model
        self.flash = hasattr(F, "scaled_dot_product_attention")
        if not self.flash:
            mask = torch.tril(torch.ones(c.seq_len, c.seq_len))
            self.register_buffer("bias", mask.view(1, 1, c.seq_len, c.seq_len))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.d_model, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if self.flash:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c.d_model, 4 * c.d_model, bias=c.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * c.d_model, c.d_model, bias=c.bias)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = LayerNorm(c.d_model, c.bias)
        self.attn = CausalSelfAttention(c)
        self.ln_2 = LayerNorm(c.d_model, c.bias)
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c.vocab, c.d_model),
            wpe=nn.Embedding(c.seq_len, c.d_model),
            h=nn.ModuleList([Block(c) for _ in range(c.n_layer)]),
            ln_f=LayerNorm(c.d_model, c.bias),
        ))
        self.lm_head = nn.Linear(c.d_model, c.vocab, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    def configure_optimizers(self, weight_decay, lr, betas):
        # Decay matrices only: embeddings (and so the tied head), biases and
        # LayerNorm gains are excluded, as in scalelab's trainer.
        emb = {id(self.transformer.wte.weight), id(self.transformer.wpe.weight)}
        params = list(self.parameters())
        decay = [p for p in params if p.dim() >= 2 and id(p) not in emb]
        no_decay = [p for p in params if p.dim() < 2 or id(p) in emb]
        groups = [{"params": decay, "weight_decay": weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=1e-8)


class Config:
    def __init__(self, n_layer, d_model, n_head, seq_len, vocab=256, bias=True):
        self.n_layer, self.d_model, self.n_head = n_layer, d_model, n_head
        self.seq_len, self.vocab, self.bias = seq_len, vocab, bias


def flops_per_token(c, n_params_non_emb):
    # scalelab's "6N+attn": every matmul weight incl. the head, plus attention matmuls.
    return 6 * (n_params_non_emb + c.vocab * c.d_model) + 12 * c.n_layer * c.seq_len * c.d_model


def bench(name, c, batch, min_seconds, warmup):
    torch.manual_seed(1)
    model = GPT(c)
    model.train()
    n_total = sum(p.numel() for p in model.parameters())
    n_emb = model.transformer.wte.weight.numel() + model.transformer.wpe.weight.numel()
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95))
    data = torch.randint(0, c.vocab, (1 << 20,), dtype=torch.long)

    def step():
        ix = torch.randint(len(data) - c.seq_len - 1, (batch,))
        x = torch.stack([data[i:i + c.seq_len] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + c.seq_len] for i in ix])
        for group in opt.param_groups:
            group["lr"] = 1e-3
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for _ in range(warmup):
        step()
    steps, t0 = 0, time.perf_counter()
    while True:
        loss = step()
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds and steps >= 5:
            break
    loss.item()
    tok_s = steps * batch * c.seq_len / elapsed
    fpt = flops_per_token(c, n_total - n_emb)
    print(f"RESULT impl=peer shape={name} params={n_total} steps={steps} "
          f"step_ms={1e3 * elapsed / steps:.2f} tok_s={tok_s:.1f} "
          f"gflop_s={fpt * tok_s / 1e9:.2f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0, help="minimum timed seconds per shape")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--shape", choices=["all", "0.84M", "0.12M"], default="all")
    a = ap.parse_args()
    torch.set_num_threads(1)
    shapes = {"0.84M": Config(4, 128, 4, 128), "0.12M": Config(2, 64, 2, 64)}
    for name, c in shapes.items():
        if a.shape in ("all", name):
            bench(name, c, 16, a.seconds, a.warmup)


if __name__ == "__main__":
    main()
