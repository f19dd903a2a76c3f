"""AIM's three adaptations around any pre-norm image-transformer block.

Written once for every image-model family: a family's block subclasses
:class:`AdaptedBlock`, keeps its own layers under its own names (so its
weights load unchanged) and supplies only what differs, through the small
interface below; the adapters, their order, drop-path and the
recomputation of frozen parts are defined here.

Family interface (``[..., L, D]`` tensors, attention along ``L``):

* :meth:`attention_parts`: the modules and parameters of the attention
  branch (norm, attention), so that the block can tell whether it is frozen;
* :meth:`attend_time`: norm (then ``temporal_adapter_in``), attention along
  time, for every token position, in the layout ``[B, N, T, D]``;
* :meth:`attend_space`: norm and attention over the tokens of each frame;
* :meth:`project`: the attention's output projection where the family
  keeps it out of the recomputed part (CLIP's ``out_proj``; identity where
  the family's attention module applies it itself);
* :meth:`attention_scale`, :meth:`mlp_scale`: the block's layer scale
  (identity where the model has none);
* :meth:`mlp_norm`, :meth:`mlp_forward`: the second norm and the MLP.
"""
import itertools
from typing import Callable, Iterable, Mapping, Optional, Sequence

import torch
import torch.utils.checkpoint as cp
from torch import nn

from .adapter import Adapter
from .drop_path import BranchDropPath

#: The frozen parts of a block that can be recomputed in the backward pass.
RECOMPUTABLE = ('temporal', 'spatial', 'mlp')


def has_random_ops(modules: Iterable[nn.Module]) -> bool:
    """Whether a dropout runs in ``modules`` now (training mode, ``p > 0``;
    timm's attention passes its ``attn_drop.p`` to the fused kernel)."""
    return any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0
               and m.training for module in modules for m in module.modules())


class AdaptedBlock(nn.Module):
    """A pre-norm transformer block with AIM's temporal, spatial and joint
    adaptation (Yang et al., ICLR 2023), in this order:

    1. temporal: ``x += DropPath(temporal_adapter(attn(norm(x))))``, the
       frozen attention applied along time for every token position (with
       ``num_tadapter=2``, ``temporal_adapter_in`` runs between the norm and
       the attention);
    2. spatial: ``x += scale_1(spatial_adapter(attn(norm(x))))`` over the
       tokens of each frame, ``scale_1`` the block's layer scale (identity
       for CLIP and the original ImageNet ViT);
    3. joint: ``h = norm_2(x); x += scale_2(mlp(h)) + DropPath(s *
       joint_adapter(h))``.

    An adaptation that is disabled is absent (``None``): without ``spatial``
    the block runs the image model's plain attention; without ``temporal``
    or ``joint`` that branch is skipped. With fresh adapters (zero ``fc2``)
    the block computes exactly the image model's block.

    Args:
        embed_dims (int): Width ``D``.
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
        drop_path_per (Mapping[str, Sequence[str]], optional): For
            ``'temporal'`` and ``'joint'``, the axes of ``[B, T, N, D]`` each
            branch's drop-path draws along (:class:`~.BranchDropPath`).
            Defaults to None: one draw per frame in both.
        recompute (Sequence[str]): Frozen parts, any of
            ``('temporal', 'spatial', 'mlp')``, recomputed in the backward
            pass instead of kept. Defaults to ``()``.
    """

    #: The adapter class (a subclass of :class:`Adapter`).
    adapter_cls = Adapter

    def __init__(self,
                 embed_dims: int,
                 num_frames: int,
                 temporal: bool = True,
                 spatial: bool = True,
                 joint: bool = True,
                 num_tadapter: int = 1,
                 adapter_scale: float = 0.5,
                 adapter_mlp_ratio: float = 0.25,
                 drop_path: float = 0.,
                 drop_path_per: Optional[Mapping[str, Sequence[str]]] = None,
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
        self.embed_dims = embed_dims
        self.num_frames = num_frames
        self.adapter_scale = adapter_scale

        def adapter(enabled: bool, skip: bool) -> Optional[Adapter]:
            return self.adapter_cls(embed_dims, adapter_mlp_ratio,
                                    skip_connect=skip) if enabled else None

        self.temporal_adapter_in = adapter(temporal and num_tadapter == 2,
                                           skip=True)
        self.temporal_adapter = adapter(temporal, skip=False)
        self.spatial_adapter = adapter(spatial, skip=True)
        self.joint_adapter = adapter(joint, skip=False)
        per = dict(temporal=('clip', 'frame'), joint=('clip', 'frame'))
        per.update(drop_path_per or {})
        self.temporal_drop_path = BranchDropPath(drop_path, num_frames,
                                                 per['temporal'])
        self.drop_path = BranchDropPath(drop_path, num_frames, per['joint'])

    # ------------------------------------------------ the family interface
    def attention_parts(self) -> Iterable[nn.Module]:
        """The attention branch's norm and attention modules."""
        raise NotImplementedError

    def attend_time(self, x: torch.Tensor) -> torch.Tensor:
        """Norm, ``temporal_adapter_in``, attention along time.

        Args:
            x (torch.Tensor): Tokens ``[B*T, N, D]``.

        Returns:
            torch.Tensor: ``[B, N, T, D]``, contiguous.
        """
        raise NotImplementedError

    def attend_space(self, x: torch.Tensor, **attn_kwargs) -> torch.Tensor:
        """Norm and attention over the ``N`` tokens of each frame.

        Args:
            x (torch.Tensor): Tokens ``[B*T, N, D]``.
            **attn_kwargs: What the family's attention takes per forward
                (EVA's rotary embedding ``rope``).

        Returns:
            torch.Tensor: ``[B*T, N, D]``.
        """
        raise NotImplementedError

    def project(self, h: torch.Tensor) -> torch.Tensor:
        """The attention's output projection, if :meth:`attend_time` and
        :meth:`attend_space` leave it out (identity by default)."""
        return h

    def attention_scale(self, x: torch.Tensor) -> torch.Tensor:
        """The layer scale of the attention branch (none by default)."""
        return x

    def mlp_norm(self, x: torch.Tensor) -> torch.Tensor:
        """The norm before the MLP."""
        raise NotImplementedError

    def mlp_forward(self, h: torch.Tensor, recompute: bool) -> torch.Tensor:
        """The MLP on normalised tokens; ``recompute``: frozen, recompute
        what it keeps in the backward pass (default: checkpoint it)."""
        if recompute and torch.is_grad_enabled() and h.requires_grad and \
                not any(p.requires_grad for p in self.mlp.parameters()):
            return cp.checkpoint(
                self.mlp, h, use_reentrant=False,
                preserve_rng_state=has_random_ops([self.mlp]))
        return self.mlp(h)

    def mlp_scale(self, x: torch.Tensor) -> torch.Tensor:
        """The layer scale of the MLP branch (none by default)."""
        return x

    # --------------------------------------------------- AIM, written once
    def _recomputes(self, branch: str, x: torch.Tensor) -> bool:
        """Whether ``branch`` is recomputed for input ``x`` now.

        Only while a gradient is recorded through the branch, and only while
        its norm and attention are frozen: then recomputing costs forward
        products alone (trained weights keep their activations anyway).
        Where nothing in the branch needs a gradient (a frozen model under a
        linear probe), nothing is kept in any case.
        """
        if branch not in self.recompute or not torch.is_grad_enabled():
            return False
        if any(p.requires_grad for p in itertools.chain.from_iterable(
                m.parameters() for m in self.attention_parts())):
            return False
        inner = self.temporal_adapter_in if branch == 'temporal' else None
        return x.requires_grad or (inner is not None and any(
            p.requires_grad for p in inner.parameters()))

    def _attend(self, branch: str, fn: Callable[..., torch.Tensor],
                x: torch.Tensor, recompute: bool,
                **kwargs) -> torch.Tensor:
        """``fn(x)``, recomputed in the backward pass where configured.

        Where a random operation runs in ``fn`` (the image model's attention
        dropout), the random state of the forward pass is replayed in the
        recomputation, so that both draw the same mask; otherwise nothing
        needs replaying and nothing is saved for it.
        """
        if recompute and self._recomputes(branch, x):
            parts = list(self.attention_parts())
            if branch == 'temporal' and self.temporal_adapter_in is not None:
                parts.append(self.temporal_adapter_in)
            return cp.checkpoint(fn, x, use_reentrant=False,
                                 preserve_rng_state=has_random_ops(parts),
                                 **kwargs)
        return fn(x, **kwargs)

    def temporal_adaptation(self, x: torch.Tensor,
                            recompute: bool = True) -> torch.Tensor:
        """The temporal branch, before drop-path.

        Args:
            x (torch.Tensor): Tokens ``[B*T, N, D]``.
            recompute (bool): Allow the configured recomputation.
                Defaults to True.

        Returns:
            torch.Tensor: ``[B, N, T, D]``, every token position's sequence
            of ``T`` frames, contiguous.
        """
        h = self._attend('temporal', self.attend_time, x, recompute)
        return self.temporal_adapter(self.project(h))  # [B, N, T, D]

    def _add_temporal(self, x: torch.Tensor,
                      x_t: torch.Tensor) -> torch.Tensor:
        """``x + DropPath(x_t)`` with ``x_t`` in the temporal layout.

        Draws :attr:`temporal_drop_path`'s mask over ``[B, T, N]``, and adds
        without regrouping ``x_t`` first.

        Args:
            x (torch.Tensor): ``[B*T, N, D]`` (or ``[B*T, H, W, D]``,
                ``N = H*W``).
            x_t (torch.Tensor): ``[B, N, T, D]``.

        Returns:
            torch.Tensor: Laid out as ``x``.
        """
        shape = x.shape
        bt, d = shape[0], shape[-1]
        n = x_t.shape[1]
        b = bt // self.num_frames
        x_t = x_t.transpose(1, 2)  # [B, T, N, D], a view
        mask = self.temporal_drop_path.mask(b, n, x_t)
        if mask is not None:
            x_t = x_t * mask
        # The sum takes the layout of its first operand: [B, T, N, D].
        return (x.reshape(b, self.num_frames, n, d) + x_t).view(shape)

    def spatial_adaptation(self, x: torch.Tensor, recompute: bool = True,
                           **attn_kwargs) -> torch.Tensor:
        """The spatial branch: attention over the N tokens of each frame,
        the spatial adapter, the block's layer scale.

        Args:
            x (torch.Tensor): Tokens ``[B*T, N, D]``.
            recompute (bool): Allow the configured recomputation.
                Defaults to True.
            **attn_kwargs: Passed on to :meth:`attend_space`.

        Returns:
            torch.Tensor: ``[B*T, N, D]``.
        """
        h = self._attend('spatial', self.attend_space, x, recompute,
                         **attn_kwargs)
        h = self.project(h)
        if self.spatial_adapter is not None:
            h = self.spatial_adapter(h)
        return self.attention_scale(h)

    def forward(self, x: torch.Tensor, recompute: bool = True,
                **attn_kwargs) -> torch.Tensor:
        """Run the block.

        Args:
            x (torch.Tensor): Tokens ``[B*T, N, D]``, frames of a clip
                consecutive.
            recompute (bool): Allow the recomputation configured by
                ``recompute`` (False when the whole block is checkpointed,
                which recomputes everything anyway). Defaults to True.
            **attn_kwargs: Per-forward arguments of the family's spatial
                attention (EVA's ``rope``).

        Returns:
            torch.Tensor: ``[B*T, N, D]``.
        """
        if self.temporal_adapter is not None:
            x = self._add_temporal(x, self.temporal_adaptation(x, recompute))
        x = x + self.spatial_adaptation(x, recompute, **attn_kwargs)
        h = self.mlp_norm(x)
        mlp = self.mlp_scale(
            self.mlp_forward(h, recompute and 'mlp' in self.recompute))
        if self.joint_adapter is None:
            return x + mlp
        return x + mlp + self.drop_path(
            self.adapter_scale * self.joint_adapter(h))
