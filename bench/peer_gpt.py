#!/usr/bin/python3
"""Peer baseline for bench_trainer: nanoGPT's model.py and training step in PyTorch.

Same architecture, init and optimizer as scalelab's trainer (pre-LN GPT-2 blocks,
fused qkv, exact GELU, tied head, AdamW with decay on matrices only, grad-norm
clipping at 1.0), written the way nanoGPT writes it, so the ratio printed by
trainer_vs_peer.sh measures implementation overhead rather than a different model.

Runs on Debian's /usr/bin/python3 (python3-torch 1.13: eager only) and on PyTorch 2.x
from PyPI (.peer-venv/bin/python, see bench/peer-env.sh: eager or --compile). On CPU
one intra-op thread by default; --device cuda trains the way nanoGPT's train.py does
on a GPU (bf16 autocast, TF32, fused AdamW, SDPA flash attention) for bench/gpu.sh.
Prints one RESULT line of key=value pairs per shape.
"""
import argparse
import contextlib
import math
import os
import re
import sys
import time

# Kernels built before inductor_links_this_torch() (linked against another libtorch)
# must not be found again: the ISA probe reuses a kernel file that exists.
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", f"/tmp/torchinductor_peer_gpt_{os.getuid()}")
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

    def configure_optimizers(self, weight_decay, lr, betas, fused):
        # Decay matrices only: embeddings (and so the tied head), biases and
        # LayerNorm gains are excluded, as in scalelab's trainer.
        emb = {id(self.transformer.wte.weight), id(self.transformer.wpe.weight)}
        params = list(self.parameters())
        decay = [p for p in params if p.dim() >= 2 and id(p) not in emb]
        no_decay = [p for p in params if p.dim() < 2 or id(p) in emb]
        groups = [{"params": decay, "weight_decay": weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        extra = {"fused": True} if fused else {}  # nanoGPT: fused on CUDA only
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=1e-8, **extra)


class Config:
    def __init__(self, n_layer, d_model, n_head, seq_len, vocab=256, batch=16, bias=True):
        self.n_layer, self.d_model, self.n_head = n_layer, d_model, n_head
        self.seq_len, self.vocab, self.batch, self.bias = seq_len, vocab, batch, bias


# The same shapes as bench_trainer (bench/trainer_throughput.cpp), so that a row of
# either binary names the same model: the two CPU shapes, and the GPU presets
# (0.86M, 10.8M, 51M, 124M parameters) with their default batch.
CPU_SHAPES = {"0.84M": Config(4, 128, 4, 128), "0.12M": Config(2, 64, 2, 64)}
PRESETS = {"1M": Config(4, 128, 4, 256, 256, 64), "10M": Config(6, 384, 6, 256, 256, 64),
           "50M": Config(8, 512, 8, 1024, 50304, 16), "124M": Config(12, 768, 12, 1024, 50304, 16)}


def fail(flag, what):
    print(f"peer_gpt.py: {flag}: {what}", file=sys.stderr)
    sys.exit(2)


def parse_shape(text):
    """all, 0.84M, 0.12M or L<layers>-D<width>-H<heads>-T<seq>[-V<vocab>]."""
    if text == "all":
        return list(CPU_SHAPES.items())
    if text in CPU_SHAPES:
        return [(text, CPU_SHAPES[text])]
    m = re.fullmatch(r"L(\d+)-D(\d+)-H(\d+)-T(\d+)(?:-V(\d+))?", text)
    c = m and Config(*(int(g) for g in m.groups()[:4]), int(m.group(5) or 256))
    if not c or c.n_layer < 1 or c.n_head < 1 or c.d_model % c.n_head or c.seq_len < 2 or c.vocab < 2:
        fail("--shape", "expects all, 0.84M, 0.12M or L<layers>-D<width>-H<heads>-T<seq>[-V<vocab>] "
             f"with heads dividing width, got '{text}'")
    return [(text, c)]


def parse_params(text):
    """Comma-separated preset names or counts ("50e6"); a count picks the nearest preset."""
    out = []
    for p in text.split(","):
        if p in PRESETS:
            out.append((p, PRESETS[p]))
            continue
        try:
            n = float(p)
        except ValueError:
            n = 0.0
        if not n > 0:
            fail("--params", f"expects 1M, 10M, 50M, 124M or a count like 50e6, got '{p}'")
        name = min(PRESETS, key=lambda k: abs(math.log(n / (float(k[:-1]) * 1e6))))
        out.append((name, PRESETS[name]))
    return out


def flops_per_token(c, n_params_non_emb):
    # scalelab's "6N+attn": every matmul weight incl. the head, plus attention matmuls.
    return 6 * (n_params_non_emb + c.vocab * c.d_model) + 12 * c.n_layer * c.seq_len * c.d_model


def blas_name(device):
    """The library fp32 matmuls go to, for the RESULT line: what is mapped, not what
    the alternatives system or LD_LIBRARY_PATH was meant to give."""
    if device.type == "cuda":
        return "cublas"
    if torch.backends.mkl.is_available():
        return "mkl"  # linked into libtorch_cpu in PyPI's wheels: no separate .so to see
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if ".so" in line}
    for key, name in (("openblas", "openblas"), ("atlas", "atlas"), ("/blas/", "reference")):
        if any(key in p and "blas" in os.path.basename(p) for p in paths):
            return name
    return "unknown"


def check_device(text):
    if not re.fullmatch(r"cpu|cuda(:\d+)?", text):
        fail("--device", f"expects cpu, cuda or cuda:N, got '{text}'")
    if text.startswith("cuda") and not torch.cuda.is_available():
        fail("--device", f"CUDA not available (torch {torch.__version__}, "
             f"built with CUDA {torch.version.cuda or 'none'})")
    return torch.device(text)


def inductor_links_this_torch():
    """Inductor links its C++ kernels with -L<python's LIBDIR> ahead of torch's own lib
    directory. Where that directory holds another libtorch (Debian's 1.13 here), the
    kernels bind to it, Inductor's ISA probe cannot load them and it falls back to
    scalar code (INVALID_VEC_ISA): the compiled peer ran slower than eager. Kernels
    do not link libpython, so the python lib directory is dropped from their link."""
    from torch._inductor import cpp_builder, cpu_vec_isa
    python_args = cpp_builder._get_python_related_args
    cpp_builder._get_python_related_args = lambda: (python_args()[0], [])
    if not cpu_vec_isa.valid_vec_isa_list():  # say so rather than time scalar kernels quietly
        print("peer_gpt.py: warning: Inductor finds no vector ISA, compiled kernels are scalar",
              file=sys.stderr)


def make_step(model, opt, c, dev, compiled):
    # Tokens live on the device and a batch is one gather, so that on a GPU the host
    # does not feed each step (nanoGPT's pinned-memory copy costs as much at 1M).
    data = torch.randint(0, c.vocab, (1 << 21,), dtype=torch.long, device=dev)
    offsets = torch.arange(c.seq_len, device=dev)
    ctx = (torch.autocast(device_type="cuda", dtype=torch.bfloat16) if dev.type == "cuda"
           else contextlib.nullcontext())
    fwd = torch.compile(model) if compiled else model  # nanoGPT compiles the model only

    def step():
        ix = torch.randint(len(data) - c.seq_len - 1, (c.batch, 1), device=dev) + offsets
        x, y = data[ix], data[ix + 1]
        for group in opt.param_groups:
            group["lr"] = 1e-3
        with ctx:
            loss = fwd(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss
    return step


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timed(step, dev, min_seconds, warmup):
    """Warmup (which is where torch.compile compiles) outside the window; then steps
    until min_seconds have passed, the window closed by a device synchronize."""
    t = time.perf_counter()
    for _ in range(warmup):
        step()
    sync(dev)
    warm_s = time.perf_counter() - t
    steps, t0 = 0, time.perf_counter()
    while True:
        loss = step()
        steps += 1
        if steps >= 5 and time.perf_counter() - t0 >= min_seconds:
            break
    sync(dev)
    return steps, time.perf_counter() - t0, warm_s, loss.item()


def bench(name, c, a, dev):
    torch.manual_seed(1)
    model = GPT(c).to(dev)
    model.train()
    n_total = sum(p.numel() for p in model.parameters())
    n_emb = model.transformer.wte.weight.numel() + model.transformer.wpe.weight.numel()
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), fused=dev.type == "cuda")
    step = make_step(model, opt, c, dev, a.compile)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    steps, elapsed, warm_s, loss = timed(step, dev, a.seconds, a.warmup)
    if not math.isfinite(loss):
        print(f"peer_gpt.py: {name}: loss is {loss} after {steps} steps", file=sys.stderr)
        sys.exit(1)
    tok_s = steps * c.batch * c.seq_len / elapsed
    gflop_s = flops_per_token(c, n_total - n_emb) * tok_s / 1e9
    mfu = f"{gflop_s / (a.peak_tflops * 1e3):.4f}" if a.peak_tflops else "na"
    mem = f"{torch.cuda.max_memory_allocated(dev) / 2**30:.2f}" if dev.type == "cuda" else "na"
    print(f"RESULT impl={a.label} shape={name} params={n_total} batch={c.batch} steps={steps} "
          f"step_ms={1e3 * elapsed / steps:.2f} tok_s={tok_s:.1f} gflop_s={gflop_s:.2f} "
          f"torch={torch.__version__} device={dev} blas={blas_name(dev)} "
          f"compile={int(a.compile)} threads={torch.get_num_threads()} "
          f"dtype={'bf16' if dev.type == 'cuda' else 'fp32'} peak_tflops={a.peak_tflops or 'na'} "
          f"mfu={mfu} mem_gib={mem} warmup_s={warm_s:.1f} loss={loss:.4f}", flush=True)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="minimum timed seconds per shape")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (compile included)")
    ap.add_argument("--shape", default=None,
                    help="all (default), 0.84M, 0.12M or L<layers>-D<width>-H<heads>-T<seq>[-V<vocab>]")
    ap.add_argument("--params", default=None, help="GPU presets: 1M,10M,50M,124M or counts (50e6)")
    ap.add_argument("--batch", type=int, default=None, help="sequences per step (default: the shape's)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (PyTorch 2.x)")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads on CPU")
    ap.add_argument("--mfu-peak-tflops", "--peak-tflops", dest="peak_tflops", type=float, default=None,
                    help="the device's peak TFLOP/s for the dtype: adds MFU to RESULT")
    ap.add_argument("--label", default="peer", help="the RESULT line's impl= value")
    return ap.parse_args()


def shapes_of(a):
    if a.shape and a.params:
        fail("--params", "give --shape or --params, not both")
    shapes = parse_params(a.params) if a.params else parse_shape(a.shape or "all")
    for _, c in shapes:
        c.batch = a.batch or c.batch
    return shapes


def main():
    a = parse_args()
    for flag, v, lo in (("--batch", a.batch, 1), ("--threads", a.threads, 1),
                        ("--warmup", a.warmup, 1 if a.compile else 0), ("--seconds", a.seconds, 0),
                        ("--mfu-peak-tflops", a.peak_tflops, 1e-9)):
        if v is not None and not v >= lo:  # --warmup >= 1 with --compile: compile is not timed
            fail(flag, f"expects a number >= {lo}, got {v}")
    if a.compile and not hasattr(torch, "compile"):
        fail("--compile", f"needs PyTorch 2.x (torch.compile); this is torch {torch.__version__}: "
             "run with .peer-venv/bin/python (bench/peer-env.sh)")
    shapes = shapes_of(a)
    dev = check_device(a.device)
    if a.compile:
        inductor_links_this_torch()
    torch.set_num_threads(a.threads)
    if dev.type == "cuda":  # nanoGPT's train.py
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    for name, c in shapes:
        bench(name, c, a, dev)


if __name__ == "__main__":
    main()
