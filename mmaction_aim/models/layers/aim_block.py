"""CLIP's residual attention block with AIM's three adaptations."""
import itertools
from typing import Callable, Optional, Sequence

import torch
import torch.utils.checkpoint as cp
from timm.layers import DropPath
from torch import nn

from .adapter import Adapter
from .clip_layers import CLIPAttention, CLIPMLP

#: The frozen parts of a block that can be recomputed in the backward pass.
RECOMPUTABLE = ('temporal', 'spatial', 'mlp')


class AIMBlock(nn.Module):
    """A CLIP pre-norm block with temporal, spatial and joint adaptation.

    Following AIM (Yang et al., ICLR 2023), in this order:

    1. temporal: ``x += DropPath(temporal_adapter(attn(ln_1(x))))`` with the
       frozen ``attn`` applied along time, independently for every token
       position (with ``num_tadapter=2``, ``temporal_adapter_in`` runs between
       ``ln_1`` and ``attn``);
    2. spatial: ``x += spatial_adapter(attn(ln_1(x)))`` along the tokens of
       each frame;
    3. joint: ``h = ln_2(x); x += mlp(h) + DropPath(s * joint_adapter(h))``.

    A disabled adaptation is simply absent: without ``spatial`` the block
    runs CLIP's plain attention; without ``temporal`` or ``joint`` that branch
    is skipped. With every adapter freshly initialised (zero ``fc2``), the
    block equals the CLIP block.

    Memory: each attention branch keeps, for the backward pass, its input
    (for ``ln_1``), q, k, v and the attention output (for the fused
    kernel): five token tensors; the frozen MLP keeps ``c_fc``'s output,
    four. Named in ``recompute``, and while frozen, these are recomputed in
    the backward pass instead of kept:

    * ``'temporal'``, ``'spatial'``: the branch keeps only its input and
      recomputes ``ln_1``, ``in_proj`` and the attention
      (:func:`torch.utils.checkpoint.checkpoint`): 4 token tensors less,
      for one more ``in_proj`` product and attention forward;
    * ``'mlp'``: ``c_fc``'s output is recomputed from the MLP's input, which
      the joint adapter keeps anyway
      (:class:`~.frozen_ops.FrozenMLPFunction`): 4 token tensors less, for
      one more ``c_fc`` product.

    Outputs and gradients are unchanged.

    Args:
        embed_dims (int): Width ``D``.
        num_heads (int): Attention heads.
        num_frames (int): Frames ``T`` per clip.
        temporal (bool): Add temporal adaptation. Defaults to True.
        spatial (bool): Add spatial adaptation. Defaults to True.
        joint (bool): Add joint adaptation. Defaults to True.
        num_tadapter (int): 1, or 2 for the extra ``temporal_adapter_in``.
            Defaults to 1.
        adapter_scale (float): Scale ``s`` of the joint adapter.
            Defaults to 0.5.
        adapter_mlp_ratio (float): Bottleneck ratio of every adapter.
            Defaults to 0.25.
        drop_path (float): Drop-path rate of the temporal and joint branches.
            Defaults to 0.
        recompute (Sequence[str]): Frozen parts, any of
            ``('temporal', 'spatial', 'mlp')``, recomputed in the backward
            pass instead of kept. Defaults to ``()``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 num_frames: int,
                 temporal: bool = True,
                 spatial: bool = True,
                 joint: bool = True,
                 num_tadapter: int = 1,
                 adapter_scale: float = 0.5,
                 adapter_mlp_ratio: float = 0.25,
                 drop_path: float = 0.,
                 recompute: Sequence[str] = ()) -> None:
        super().__init__()
        if num_tadapter not in (1, 2):
            raise ValueError(
                f'num_tadapter must be 1 or 2, got {num_tadapter}')
        unknown = set(recompute) - set(RECOMPUTABLE)
        if unknown:
            raise ValueError(f'recompute takes parts of {RECOMPUTABLE}, '
                             f'got {sorted(unknown)}')
        self.recompute = frozenset(recompute)
        self.num_frames = num_frames
        self.adapter_scale = adapter_scale

        # CLIP's own parts, under CLIP's names.
        self.ln_1 = nn.LayerNorm(embed_dims)
        self.attn = self.build_attention(embed_dims, num_heads)
        self.ln_2 = nn.LayerNorm(embed_dims)
        self.mlp = self.build_mlp(embed_dims)

        # AIM's adapters (absent when disabled).
        def adapter(enabled: bool, skip: bool) -> Optional[Adapter]:
            return self.adapter_cls(embed_dims, adapter_mlp_ratio,
                                    skip_connect=skip) if enabled else None

        self.temporal_adapter_in = adapter(temporal and num_tadapter == 2,
                                           skip=True)
        self.temporal_adapter = adapter(temporal, skip=False)
        self.spatial_adapter = adapter(spatial, skip=True)
        self.joint_adapter = adapter(joint, skip=False)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else \
            nn.Identity()

    #: The adapter class (a subclass of :class:`Adapter`).
    adapter_cls = Adapter

    @staticmethod
    def build_attention(embed_dims: int, num_heads: int) -> nn.Module:
        """CLIP's ``attn``: :class:`CLIPAttention`."""
        return CLIPAttention(embed_dims, num_heads)

    @staticmethod
    def build_mlp(embed_dims: int) -> nn.Module:
        """CLIP's ``mlp``: :class:`CLIPMLP`."""
        return CLIPMLP(embed_dims)

    def _recomputes(self, branch: str, x: torch.Tensor) -> bool:
        """Whether ``branch`` is recomputed for input ``x`` now.

        Only while a gradient is recorded through the branch, and only while
        ``ln_1`` and ``attn`` are frozen: then recomputing costs forward
        products alone (trained weights keep their activations anyway).
        Where nothing in the branch needs a gradient (a frozen model under a
        linear probe), nothing is kept in any case.
        """
        if branch not in self.recompute or not torch.is_grad_enabled():
            return False
        if any(p.requires_grad for p in itertools.chain(
                self.ln_1.parameters(), self.attn.parameters())):
            return False
        inner = self.temporal_adapter_in if branch == 'temporal' else None
        return x.requires_grad or (inner is not None and any(
            p.requires_grad for p in inner.parameters()))

    def _attend(self, branch: str, fn: Callable[[torch.Tensor],
                                                torch.Tensor],
                x: torch.Tensor, recompute: bool) -> torch.Tensor:
        """``fn(x)``, recomputed in the backward pass where configured."""
        if recompute and self._recomputes(branch, x):
            # No random operation runs in fn: no RNG state to replay.
            return cp.checkpoint(fn, x, use_reentrant=False,
                                 preserve_rng_state=False)
        return fn(x)

    def _temporal_attend(self, x: torch.Tensor) -> torch.Tensor:
        """``attend(ln_1(x))`` along T: ``[B*T, N, D]`` -> ``[B, N, T, D]``."""
        bt, n, d = x.shape
        # [B*T, N, D] -> a [B, N, T, D] view; ln_1 writes its output
        # contiguous in that order, so the attention along T below needs
        # neither copies nor the slow 5-D path of the attention kernel.
        h = self.ln_1(x.reshape(bt // self.num_frames, self.num_frames, n,
                             d).transpose(1, 2))  # [B, N, T, D]
        if self.temporal_adapter_in is not None:
            h = self.temporal_adapter_in(h)
        return self.attn.attend(h)  # along T, for every (clip, position)

    def temporal_adaptation(self, x: torch.Tensor,
                            recompute: bool = True) -> torch.Tensor:
        """The temporal branch, before drop-path.

        Args:
            x (torch.Tensor): Tokens ``[B*T, N, D]``.
            recompute (bool): Allow the configured recomputation.
                Defaults to True.

        Returns:
            torch.Tensor: ``[B, N, T, D]``, time next to the width: every
            token position's sequence of ``T`` frames, contiguous.
        """
        h = self._attend('temporal', self._temporal_attend, x, recompute)
        return self.temporal_adapter(self.attn.out_proj(h))  # [B, N, T, D]

    def _add_temporal(self, x: torch.Tensor,
                      x_t: torch.Tensor) -> torch.Tensor:
        """``x + DropPath(x_t)`` with ``x_t`` in the temporal layout.

        Draws exactly the per-frame mask that ``DropPath`` draws for a
        ``[B*T, N, D]`` tensor, and adds without regrouping ``x_t`` first.

        Args:
            x (torch.Tensor): ``[B*T, N, D]``.
            x_t (torch.Tensor): ``[B, N, T, D]``.

        Returns:
            torch.Tensor: ``[B*T, N, D]``, laid out as ``x``.
        """
        bt, n, d = x.shape
        b = bt // self.num_frames
        x_t = x_t.transpose(1, 2)  # [B, T, N, D], a view
        drop = self.drop_path
        if isinstance(drop, DropPath) and drop.training and \
                drop.drop_prob > 0:
            keep = 1 - drop.drop_prob
            mask = x_t.new_empty(bt, 1, 1).bernoulli_(keep)  # as DropPath
            if keep > 0 and drop.scale_by_keep:
                mask.div_(keep)
            x_t = x_t * mask.view(b, self.num_frames, 1, 1)
        # The sum takes the layout of its first operand: [B, T, N, D].
        return (x.reshape(b, self.num_frames, n, d) + x_t).view(bt, n, d)

    def _spatial_attend(self, x: torch.Tensor) -> torch.Tensor:
        """``attend(ln_1(x))`` over the N tokens of each frame."""
        return self.attn.attend(self.ln_1(x))

    def spatial_adaptation(self, x: torch.Tensor,
                           recompute: bool = True) -> torch.Tensor:
        """The spatial branch: attention over the N tokens of each frame.

        Args:
            x (torch.Tensor): Tokens ``[B*T, N, D]``.
            recompute (bool): Allow the configured recomputation.
                Defaults to True.

        Returns:
            torch.Tensor: ``[B*T, N, D]``.
        """
        h = self._attend('spatial', self._spatial_attend, x, recompute)
        h = self.attn.out_proj(h)
        if self.spatial_adapter is not None:
            h = self.spatial_adapter(h)
        return h

    def forward(self, x: torch.Tensor,
                recompute: bool = True) -> torch.Tensor:
        """Run the block.

        Args:
            x (torch.Tensor): Tokens ``[B*T, N, D]``, frames of a clip
                consecutive.
            recompute (bool): Allow the recomputation configured by
                ``recompute`` (False when the whole block is checkpointed,
                which recomputes everything anyway). Defaults to True.

        Returns:
            torch.Tensor: ``[B*T, N, D]``.
        """
        if self.temporal_adapter is not None:
            x = self._add_temporal(x, self.temporal_adaptation(x, recompute))
        x = x + self.spatial_adaptation(x, recompute)
        h = self.ln_2(x)
        mlp = self.mlp(h, recompute and 'mlp' in self.recompute)
        if self.joint_adapter is None:
            return x + mlp
        return x + mlp + self.drop_path(
            self.adapter_scale * self.joint_adapter(h))
