"""csi_torch.py -- the PyTorch twin of mimonet's end-to-end CSI system (include/mimonet/csi_e2e.h,
docs/csi_e2e.md): the five networks, the CSI-RS pilots and the UE observation, the power
normalization, the straight-through quantizer, the sum-SE loss and the forward of the fusion
scheme, plus a loader for the C checkpoint (mn_e2e_save).

Used by bench/torch_csi.py (the PyTorch peer of `make bench`'s CSI training step, and the parity
check against `bench_csi --dump`).  Needs Debian's python3-torch 1.13 and python3-numpy; run with
/usr/bin/python3.  Imports mimonet_torch (the safetensors reader) from its own directory, tools/.

Every network is an nn.Module whose state_dict names are the C parameter names (src/csi/
e2e_nets.c; the system's children are proj, enc, fb, srs, fus, so the system's state_dict keys are
exactly the checkpoint's "<net>.<layer>.<weight|bias>"), with the same shapes: a mimonet `linear`
holds weight [nout, nin] and bias [nout] as torch.nn.Linear, a `layernorm` weight and bias [C]
(eps 1e-5) as torch.nn.LayerNorm.

Layout.  mimonet holds a feature map [d, M, F] as [C = d, T = M F] and every linear acts on the
channels at each position.  Here the SRS-reading nets hold it channels-last, [B, M, F, C], where
LayerNorm and Linear act on the last axis natively; axis mixing moves the mixed axis last, applies
the linear map and moves it back.  That is the same arithmetic as the C graph's permute -> linear
-> permute, without materializing the C layout.  Precoders are channels-last too: [B, M, F, 2K]
with channel 2k = Re w_k, 2k + 1 = Im w_k (to_cl / from_cl convert from / to the C tensors
[B, 2K, M F]).  Channels are complex64 [B, K, M, F] (user, antenna, subcarrier).

The fusion scheme (mn_e2e_forward), per batch of drops:
    S      = H_ul + CN(0, srs_noise)                               (srs_observation)
    praw   = proj(S)              -> A, Pi, Phi -> normalized pilots (pilots)
    y      = observation(praw, H_csi) + CN(0, sigma2)             [B K, 2 L Nc]
    feat   = enc(y)               (tanh, q-bit quantizer with identity gradient)
    W_fb   = fb(feat as [B, K nfeat]),   W_srs = srs(S)
    fus_in = [pnorm(W_fb) | pnorm(W_srs) | S | feat at every position]
    W      = fus(fus_in),   loss = -mean over drops of sum_se(W, H_dat)
Autograd follows the same paths as mn_e2e_backward (the feedback's gradient is the sum of the fb
net's and the fusion input's, the latter summed over positions by the expand).
"""

import json
import math

import torch
from torch import nn
from torch.nn import functional as Fn

from mimonet_torch import load_safetensors

LEAKY_SLOPE = 0.1   # every LeakyReLU of e2e_nets.c
LN_EPS = 1e-5       # mimonet's norm eps (nn/model.c add_norm)
NORM_FLOOR = 1e-30  # pilot column norms are floored: a zero column stays finite (projection.c)
NETS = ("proj", "enc", "fb", "srs", "fus")


# ---------------------------------------------------------------- configuration

class Cfg:
    """mn_e2e_cfg and the sizes mn_e2e_init derives from it."""

    FIELDS = ("K", "M", "F", "pilots", "subbands", "beams", "bits", "q", "srs_pilots", "P",
              "sigma2", "srs_noise", "width", "blocks", "hidden")

    def __init__(self, K=2, M=32, F=48, **kw):
        # the defaults of mn_e2e_cfg_default
        self.K, self.M, self.F = K, M, F
        self.pilots, self.subbands, self.beams = 8, 1, 0
        self.bits, self.q, self.srs_pilots = 8, 1, True
        self.P, self.sigma2, self.srs_noise = 1.0, 0.1, 0.1
        self.width, self.blocks, self.hidden = 16, 2, 256
        for k, v in kw.items():
            if k not in self.FIELDS:
                raise ValueError("csi cfg: unknown field %r" % k)
            setattr(self, k, v)
        if self.width < 2 or self.width % 2:
            raise ValueError("csi cfg: width %d must be even and >= 2" % self.width)
        if self.q > 0 and self.bits % self.q:
            raise ValueError("csi cfg: bits %d must be a multiple of q %d" % (self.bits, self.q))
        if not 1 <= self.subbands <= self.F:
            raise ValueError("csi cfg: subbands %d (1..F = %d)" % (self.subbands, self.F))

    @classmethod
    def from_json(cls, text):
        """The checkpoint's "csi.cfg" metadata (mn_e2e_save)."""
        d = json.loads(text)
        return cls(**{k: d[k] for k in cls.FIELDS if k in d})

    # derived sizes (mn_e2e_init)
    @property
    def L(self):
        return self.pilots

    @property
    def Nb(self):
        return self.beams if self.beams > 0 else min(self.M, self.pilots)

    @property
    def nfeat(self):
        return self.bits // self.q if self.q > 0 else self.bits

    @property
    def Nc(self):
        return self.subbands

    @property
    def ny(self):
        return 2 * self.L * self.Nc

    @property
    def proj_len(self):
        return 2 * self.Nb * self.M + 2 * self.L * self.F + 2 * self.Nb * self.L

    @property
    def fus_ch(self):
        return 6 * self.K + self.K * self.nfeat


# ---------------------------------------------------------------- layout helpers

def to_cl(x, M, F):
    """C tensor [B, C, M F] -> channels-last [B, M, F, C] (a view)."""
    return x.reshape(x.shape[0], x.shape[1], M, F).permute(0, 2, 3, 1)


def from_cl(x):
    """Channels-last [B, M, F, C] -> the C layout [B, C, M F] (contiguous)."""
    B, M, F, C = x.shape
    return x.permute(0, 3, 1, 2).reshape(B, C, M * F)


def complex_to_cl(h):
    """Complex channels [B, K, M, F] -> real channels-last [B, M, F, 2K] (2k Re, 2k + 1 Im): the
    SRS observation's layout (e2e.c step 1)."""
    B, K, M, F = h.shape
    return torch.view_as_real(h.permute(0, 2, 3, 1)).reshape(B, M, F, 2 * K)


def leaky(x):
    return Fn.leaky_relu(x, LEAKY_SLOPE)


# ---------------------------------------------------------------- quantizer (nn/quant.c)

def quant_levels(x, bits):
    """The q-bit uniform quantizer's forward, in float32 with mn_quant_index's operation order:
    i = clamp(floor((clamp(x, -1, 1) + 1) (L - 1) / 2 + 1/2), 0, L - 1),
    q = (2 i - (L - 1)) / (L - 1),  L = 2^bits;  NaN maps to the middle of the range."""
    lm1 = float((1 << bits) - 1)
    v = torch.nan_to_num(x.clamp(-1.0, 1.0), nan=0.0)
    i = torch.floor((v + 1.0) * lm1 * 0.5 + 0.5).clamp(0.0, lm1)
    return (2.0 * i - lm1) / lm1


class QuantSTE(torch.autograd.Function):
    """quant_levels with the straight-through surrogate gradient (mn_quant_backward: dx = dq).
    A Function rather than x + (q - x).detach(), whose float rounding could move q off the grid."""

    @staticmethod
    def forward(ctx, x, bits):
        return quant_levels(x, bits)

    @staticmethod
    def backward(ctx, g):
        return g, None


# ---------------------------------------------------------------- networks (src/csi/e2e_nets.c)

class GatedBlock(nn.Module):
    """One multi-axis gated block on a channels-last map [B, M, F, d] (h = d / 2):
        z = LeakyReLU(in(ln(x)));  u1, g1, u2, g2 = the four h-channel slices of z
        x + out([u1 * mixM(g1 along M) | u2 * mixF(g2 along F)])
    Children ln, in, mixM [M, M], mixF [F, F], out as gated_block's parameter names."""

    def __init__(self, d, M, F):
        super().__init__()
        self.h = d // 2
        self.ln = nn.LayerNorm(d, eps=LN_EPS)
        self.add_module("in", nn.Linear(d, 4 * self.h))  # "in" is a Python keyword
        self.mixM = nn.Linear(M, M)
        self.mixF = nn.Linear(F, F)
        self.out = nn.Linear(d, d)

    def forward(self, x):
        z = leaky(getattr(self, "in")(self.ln(x)))
        u1, g1, u2, g2 = z.split(self.h, dim=-1)
        # antenna axis: [B, M, F, h] -> [B, F, h, M] -> linear M -> M -> back
        p = self.mixM(g1.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        # subcarrier axis: [B, M, F, h] -> [B, M, h, F] -> linear F -> F -> back
        q = self.mixF(g2.transpose(2, 3)).transpose(2, 3)
        return x + self.out(torch.cat((u1 * p, u2 * q), dim=-1))


class GatedNet(nn.Module):
    """Base of the SRS-reading nets: a trunk (children in, b0 .. b<blocks-1>, ln) as trunk() of
    e2e_nets.c, on a channels-last input [B, M, F, cin] -> [B, M, F, d]."""

    def _add_trunk(self, cin, cfg):
        self.add_module("in", nn.Linear(cin, cfg.width))
        self.nblocks = cfg.blocks
        for i in range(cfg.blocks):
            self.add_module("b%d" % i, GatedBlock(cfg.width, cfg.M, cfg.F))
        self.ln = nn.LayerNorm(cfg.width, eps=LN_EPS)

    def trunk(self, x):
        h = getattr(self, "in")(x)
        for i in range(self.nblocks):
            h = getattr(self, "b%d" % i)(h)
        return self.ln(h)


class ProjNet(GatedNet):
    """CSI-RS projection: S [B, M, F, 2K] -> praw [B, 2 Nb M + 2 L F + 2 Nb L] = [A | Phi | Pi]
    (projection.c's column layout).  Heads: poolF (F -> 1) then A (d -> 2 Nb); poolM (M -> 1)
    then Phi (d -> 2 L); poolF2 (F -> 1 on the M-pooled map) then Pi (d -> 2 Nb L).  Without SRS
    (srs_pilots false) the column is a learned constant: const, a linear layer fed zeros."""

    def __init__(self, cfg):
        super().__init__()
        self.srs_pilots = cfg.srs_pilots
        if not cfg.srs_pilots:
            self.const = nn.Linear(1, cfg.proj_len)
            return
        d, L, Nb, M, F = cfg.width, cfg.L, cfg.Nb, cfg.M, cfg.F
        self._add_trunk(2 * cfg.K, cfg)
        self.poolF = nn.Linear(F, 1)
        self.A = nn.Linear(d, 2 * Nb)
        self.poolM = nn.Linear(M, 1)
        self.Phi = nn.Linear(d, 2 * L)
        self.poolF2 = nn.Linear(F, 1)
        self.Pi = nn.Linear(d, 2 * Nb * L)

    def forward(self, S):
        B = S.shape[0]
        if not self.srs_pilots:
            return self.const(S.new_zeros(B, 1))
        z = self.trunk(S)                                       # [B, M, F, d]
        a = self.poolF(z.transpose(2, 3)).squeeze(-1)           # [B, M, d]
        a = self.A(a).transpose(1, 2).reshape(B, -1)            # [2 Nb, M] -> 2 Nb M
        pf = self.poolM(z.permute(0, 2, 3, 1)).squeeze(-1)      # [B, F, d]
        ph = self.Phi(pf).transpose(1, 2).reshape(B, -1)        # [2 L, F] -> 2 L F
        pi = self.Pi(self.poolF2(pf.transpose(1, 2)).squeeze(-1))  # [B, d] -> 2 Nb L
        return torch.cat((a, ph, pi), dim=1)


class EncNet(nn.Module):
    """UE encoder, shared by all users: y [N, 2 L Nc] -> l1 -> LeakyReLU -> l2 -> LeakyReLU -> out
    -> tanh -> q-bit quantizer (STE; q = 0: none) -> [N, B / q]."""

    def __init__(self, cfg):
        super().__init__()
        self.q = cfg.q
        self.l1 = nn.Linear(cfg.ny, cfg.hidden)
        self.l2 = nn.Linear(cfg.hidden, cfg.hidden)
        self.out = nn.Linear(cfg.hidden, cfg.nfeat)

    def forward(self, y):
        x = torch.tanh(self.out(leaky(self.l2(leaky(self.l1(y))))))
        return QuantSTE.apply(x, self.q) if self.q > 0 else x


class FbNet(nn.Module):
    """Feedback-only precoder: features [B, K nfeat] -> l1 -> LeakyReLU -> l2 -> LeakyReLU -> out
    (2K M F, read as [2K, M F]) -> channels-last W_fb [B, M, F, 2K]."""

    def __init__(self, cfg):
        super().__init__()
        self.K, self.M, self.F = cfg.K, cfg.M, cfg.F
        self.l1 = nn.Linear(cfg.K * cfg.nfeat, cfg.hidden)
        self.l2 = nn.Linear(cfg.hidden, cfg.hidden)
        self.out = nn.Linear(cfg.hidden, 2 * cfg.K * cfg.M * cfg.F)

    def forward(self, feat):
        x = self.out(leaky(self.l2(leaky(self.l1(feat)))))
        return x.view(-1, 2 * self.K, self.M, self.F).permute(0, 2, 3, 1)


class SrsNet(GatedNet):
    """SRS-only precoder: S [B, M, F, 2K] -> trunk -> out (d -> 2K) -> W_srs [B, M, F, 2K]."""

    def __init__(self, cfg):
        super().__init__()
        self._add_trunk(2 * cfg.K, cfg)
        self.out = nn.Linear(cfg.width, 2 * cfg.K)

    def forward(self, S):
        return self.out(self.trunk(S))


class FusNet(GatedNet):
    """Fusion: fus_in [B, M, F, 6K + K nfeat] -> trunk -> gates gfb, gsrs and correction out (each
    d -> 2K);  W = gfb * W_fb~ + gsrs * W_srs~ + out, W_fb~ and W_srs~ the first two 2K-channel
    slices of the input."""

    def __init__(self, cfg):
        super().__init__()
        self.K = cfg.K
        self._add_trunk(cfg.fus_ch, cfg)
        self.gfb = nn.Linear(cfg.width, 2 * cfg.K)
        self.gsrs = nn.Linear(cfg.width, 2 * cfg.K)
        self.out = nn.Linear(cfg.width, 2 * cfg.K)

    def forward(self, x):
        k2 = 2 * self.K
        z = self.trunk(x)
        return self.gfb(z) * x[..., :k2] + self.gsrs(z) * x[..., k2:2 * k2] + self.out(z)


# ---------------------------------------------------------------- pilots, observation, power, SE

def subband_matrix(cfg, dtype=torch.complex64):
    """[F, Nc]: |S_c|^-1/2 where subcarrier f lies in subband c = [c F / Nc, (c + 1) F / Nc)."""
    F, Nc = cfg.F, cfg.Nc
    m = torch.zeros(F, Nc, dtype=torch.float64)
    for c in range(Nc):
        f0, f1 = c * F // Nc, (c + 1) * F // Nc
        m[f0:f1, c] = 1.0 / math.sqrt(f1 - f0)
    return m.to(dtype)


def pilots(praw, cfg):
    """The pilot matrices of projection.c from the raw column praw [B, proj_len]:
        A [B, M, Nb], Pi [B, Nb, L], Phi [B, F, L], X = A Pi,
        X~ = sqrt(P) X / ||X[:, l]||,  Phi~ = sqrt(F) Phi / ||Phi[:, l]||  (norms floored at 1e-30).
    Returns (X~ [B, M, L], Phi~ [B, F, L]), complex64."""
    B, M, F, L, Nb = praw.shape[0], cfg.M, cfg.F, cfg.L, cfg.Nb
    oF = 2 * Nb * M
    oP = oF + 2 * L * F
    # A[m, j] = praw[2j M + m] + i praw[(2j + 1) M + m]
    a = praw[:, :oF].reshape(B, Nb, 2, M)
    A = torch.complex(a[:, :, 0], a[:, :, 1]).transpose(1, 2)
    # Phi[f, l] = praw[oF + 2l F + f] + i praw[oF + (2l + 1) F + f]
    p = praw[:, oF:oP].reshape(B, L, 2, F)
    Phi = torch.complex(p[:, :, 0], p[:, :, 1]).transpose(1, 2)
    # Pi[j, l] = praw[oP + 2 (j L + l)] + i praw[oP + 2 (j L + l) + 1]
    q = praw[:, oP:].reshape(B, Nb, L, 2)
    Pi = torch.complex(q[..., 0], q[..., 1])
    X = torch.matmul(A, Pi)
    xn = torch.linalg.vector_norm(X, dim=1, keepdim=True).clamp_min(NORM_FLOOR)
    pn = torch.linalg.vector_norm(Phi, dim=1, keepdim=True).clamp_min(NORM_FLOOR)
    return X * (math.sqrt(cfg.P) / xn), Phi * (math.sqrt(F) / pn)


def observation(praw, h_csi, cfg, sub=None):
    """The UE's noiseless observation (csi_e2e_obs_forward): for user k, pilot l, subband c,
        y_k[l, c] = |S_c|^-1/2 sum_{f in S_c} Phi~[f, l] sum_m G[k, m, f] X~[m, l],
    from praw [B, proj_len] and h_csi complex [B, K, M, F]; returns the encoder input layout
    [B K, 2 L Nc] (y[k][l][c][re, im]).  sub: subband_matrix(cfg), built when None."""
    B, K = praw.shape[0], cfg.K
    Xt, Pt = pilots(praw, cfg)
    t = torch.matmul(h_csi.transpose(2, 3), Xt.unsqueeze(1))           # [B, K, F, L]
    u = (Pt.unsqueeze(1) * t).transpose(2, 3)                           # [B, K, L, F]
    if sub is None:
        sub = subband_matrix(cfg)
    y = torch.matmul(u, sub)                                            # [B, K, L, Nc]
    return torch.view_as_real(y).reshape(B * K, cfg.ny)


def srs_observation(h_ul, srs_noise, generator=None):
    """S = H_ul + CN(0, srs_noise) as channels-last reals [B, M, F, 2K] (noise N(0, srs_noise / 2)
    per real, drawn with torch.randn)."""
    S = complex_to_cl(h_ul)
    if srs_noise > 0:
        sd = math.sqrt(srs_noise / 2.0)
        S = S + sd * torch.randn(S.shape, generator=generator, dtype=S.dtype)
    return S


def _sub_energy(W):
    """sum over antennas and the 2K channels of W^2, per subcarrier: [B, 1, F, 1]."""
    return W.square().sum(dim=(1, 3), keepdim=True)


def pnorm(W, P):
    """mn_csi_pnorm_forward on channels-last W [B, M, F, 2K]: each subcarrier scaled to
    sum_k ||w_k||^2 = P; an all-zero subcarrier stays zero (and passes no gradient)."""
    e = _sub_energy(W)
    tiny = torch.finfo(W.dtype).tiny
    s = torch.where(e > 0, math.sqrt(P) * torch.rsqrt(e.clamp_min(tiny)), torch.zeros_like(e))
    return W * s


def sum_se(W, G, P, sigma2):
    """Per-drop sum SE [B] of mn_csi_se_grad: W channels-last [B, M, F, 2K] (unnormalized; scaled
    inside to power P per subcarrier), G complex [B, K, M, F].  Per subcarrier f, with
    a_kj = g_k w_j (no conjugate), e = sum_j ||w_j||^2, c2 = P / e, D_k = sum_j |a_kj|^2,
    N_k = max(D_k - |a_kk|^2, 0):
        SE = (1/F) sum_f sum_k log2((c2 D_k + s2) / (c2 N_k + s2));  a zero subcarrier gives 0."""
    B, M, F, C = W.shape
    K = C // 2
    w = torch.view_as_complex(W.contiguous().view(B, M, F, K, 2)).permute(0, 2, 1, 3)  # [B,F,M,K]
    a = torch.matmul(G.permute(0, 3, 1, 2), w)                                          # [B,F,K,K]
    a2 = torch.view_as_real(a).square().sum(-1)
    e = W.square().sum(dim=(1, 3))                                                      # [B, F]
    live = e > 0
    c2 = (P / torch.where(live, e, torch.ones_like(e))).unsqueeze(-1)
    D = a2.sum(-1)
    N = (D - a2.diagonal(dim1=-2, dim2=-1)).clamp_min(0.0)
    rate = torch.log((c2 * D + sigma2) / (c2 * N + sigma2)).sum(-1) / math.log(2.0)    # [B, F]
    return torch.where(live, rate, torch.zeros_like(rate)).mean(-1)


# ---------------------------------------------------------------- the system

class CsiSystem(nn.Module):
    """The five networks as children proj, enc, fb, srs, fus (state_dict names = the C names)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.proj = ProjNet(cfg)
        self.enc = EncNet(cfg)
        self.fb = FbNet(cfg)
        self.srs = SrsNet(cfg)
        self.fus = FusNet(cfg)
        self.register_buffer("sub", subband_matrix(cfg), persistent=False)

    def nets(self):
        return [(n, getattr(self, n)) for n in NETS]

    def fus_input(self, Wfb, Wsrs, S, fbin):
        """[pnorm(W_fb) | pnorm(W_srs) | S | the K nfeat feedback values at every position],
        channels-last [B, M, F, fus_ch]."""
        B, M, F, _ = S.shape
        rep = fbin[:, None, None, :].expand(B, M, F, fbin.shape[1])
        P = self.cfg.P
        return torch.cat((pnorm(Wfb, P), pnorm(Wsrs, P), S, rep), dim=-1)

    def forward(self, S, h_csi, h_dat, ue_noise):
        """The fusion scheme from the SRS observation S [B, M, F, 2K] (noise included): UE noise
        ue_noise [B K, 2 L Nc], channels complex [B, K, M, F].  Returns a dict of the stages (C
        layouts where the dump has them: praw, y, feat [B K, nfeat]; W_fb, W_srs, fus_in, W
        channels-last), the per-drop SE [B] and loss = -mean SE."""
        c = self.cfg
        B = S.shape[0]
        praw = self.proj(S)
        y = observation(praw, h_csi, c, self.sub) + ue_noise
        feat = self.enc(y)
        fbin = feat.reshape(B, c.K * c.nfeat)  # user k's features at k nfeat + j
        Wfb = self.fb(fbin)
        Wsrs = self.srs(S)
        fus_in = self.fus_input(Wfb, Wsrs, S, fbin)
        W = self.fus(fus_in)
        se = sum_se(W, h_dat, c.P, c.sigma2)
        return {"praw": praw, "y": y, "feat": feat, "Wfb": Wfb, "Wsrs": Wsrs, "fus_in": fus_in,
                "W": W, "se": se, "loss": -se.mean()}

    def ue_noise(self, B, generator=None):
        """CN(0, sigma2) per observation: N(0, sigma2 / 2) per real, [B K, 2 L Nc]."""
        c = self.cfg
        return math.sqrt(c.sigma2 / 2.0) * torch.randn(B * c.K, c.ny, generator=generator)


def init_gates(system):
    """csi_e2e_init_gates on a freshly initialized system: axis-mixing weights x 0.01 with bias 1
    (gates start near 1); the fusion's gates gfb, gsrs start near 1/2 (weights x 0.1, bias 1/2)
    and its correction small (weight and bias x 0.1)."""
    with torch.no_grad():
        for name, p in system.named_parameters():
            parts = name.split(".")
            if len(parts) >= 3 and parts[-2] in ("mixM", "mixF"):
                if parts[-1] == "weight":
                    p.mul_(0.01)
                else:
                    p.fill_(1.0)
            elif name in ("fus.out.weight", "fus.out.bias", "fus.gfb.weight", "fus.gsrs.weight"):
                p.mul_(0.1)
            elif name in ("fus.gfb.bias", "fus.gsrs.bias"):
                p.fill_(0.5)


def count_trainable(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def params_by_net(system):
    return {n: count_trainable(m) for n, m in system.nets()}


def load_checkpoint(path):
    """A system rebuilt from an mn_e2e_save checkpoint: (system, tensors, metadata).  Raises
    ValueError when a checkpoint tensor has no parameter of the same name and shape, or a
    parameter is left unloaded."""
    tensors, meta = load_safetensors(path)
    if "csi.cfg" not in meta:
        raise ValueError("%s: no csi.cfg metadata (not an mn_e2e_save checkpoint)" % path)
    system = CsiSystem(Cfg.from_json(meta["csi.cfg"]))
    load_tensors(system, tensors)
    return system, tensors, meta


def load_tensors(system, tensors):
    """Copy checkpoint tensors (name -> ndarray) into the system's parameters; every name must
    match a parameter of the same shape, and every parameter must be covered."""
    params = dict(system.named_parameters())
    missing = sorted(set(params) - set(tensors))
    extra = sorted(set(tensors) - set(params))
    if missing or extra:
        raise ValueError("checkpoint and network differ: unloaded parameters %s, unknown tensors %s"
                         % (missing[:8], extra[:8]))
    with torch.no_grad():
        for name, a in tensors.items():
            p = params[name]
            if tuple(p.shape) != tuple(a.shape):
                raise ValueError("tensor %s: checkpoint shape %s, network %s"
                                 % (name, tuple(a.shape), tuple(p.shape)))
            p.copy_(torch.from_numpy(a))
