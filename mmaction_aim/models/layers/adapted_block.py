"""AIM's three adaptations around any pre-norm image-transformer block.

Written once for every image-model family: :class:`AdaptedBlock` takes the
image block's parts under the block's own names (so its weights load
unchanged), regroups the tokens ``[B*T, N, D] <-> [B, N, T, D]`` for the
attention along time, and defines the adapters, their order, drop-path and
the recomputation of frozen parts. A family says where its block keeps its
parts, as data (:class:`BlockParts`: norms, attention, layer scales, MLP;
identity where absent); a block whose attention is called otherwise than
``attn(tokens)`` subclasses :class:`AdaptedBlock` and overrides only that
call (:meth:`~AdaptedBlock.attention`,
:meth:`~AdaptedBlock.attention_along_time`, :meth:`~AdaptedBlock.project`,
:meth:`~AdaptedBlock.mlp_forward`) or, where the residual is pooled
(Hiera's stage transitions), :meth:`~AdaptedBlock.shortcut`.
"""
import dataclasses
import itertools
from typing import (Callable, Iterable, Mapping, Optional, Sequence, Tuple,
                    Type, Union)

import torch
import torch.utils.checkpoint as cp
from torch import nn

from ...utils.errors import BadInputError
from .adapter import Adapter
from .drop_path import BranchDropPath

#: The frozen parts of a block that can be recomputed in the backward pass.
RECOMPUTABLE = ('temporal', 'spatial', 'mlp')


def check_adaptation_args(num_tadapter: int,
                          recompute: Sequence[str]) -> None:
    """Raise :class:`BadInputError` naming the config field
    (``model.backbone.num_tadapter``, ``model.backbone.recompute_frozen``)
    where :class:`AdaptedBlock`'s ``num_tadapter`` or ``recompute`` cannot
    be used; the backbone calls it before building the image model.

    Args:
        num_tadapter (int): 1 or 2.
        recompute (Sequence[str]): Any of :data:`RECOMPUTABLE`.
    """
    if num_tadapter not in (1, 2) or isinstance(num_tadapter, bool):
        raise BadInputError(
            'num_tadapter (model.backbone.num_tadapter) must be 1, or 2 to '
            'add temporal_adapter_in (the Something-Something v2 recipe), '
            f'got {num_tadapter!r}')
    if isinstance(recompute, str) or not isinstance(recompute, Iterable):
        raise BadInputError(
            'recompute_frozen (model.backbone.recompute_frozen) is a list of '
            f'frozen parts, any of {RECOMPUTABLE} (e.g. (\'mlp\', )), got '
            f'{recompute!r}')
    unknown = set(recompute) - set(RECOMPUTABLE)
    if unknown:
        raise BadInputError(
            'recompute_frozen (model.backbone.recompute_frozen) takes frozen '
            f'parts of a block, any of {RECOMPUTABLE}, got unknown '
            f'{sorted(map(str, unknown))}')

#: A layer scale as image models keep it: a module (timm's ``LayerScale``),
#: a parameter multiplied in (EVA's and BEiT's ``gamma_1``), or None.
LayerScale = Union[nn.Module, torch.Tensor, None]


def has_random_ops(modules: Iterable[nn.Module]) -> bool:
    """Whether a dropout runs in ``modules`` now (training mode, ``p > 0``;
    timm's attention passes its ``attn_drop.p`` to the fused kernel)."""
    return any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0
               and m.training for module in modules for m in module.modules())


def apply_scale(scale: LayerScale, x: torch.Tensor) -> torch.Tensor:
    """``x`` times a block's layer scale (unchanged where it has none)."""
    if scale is None:
        return x
    if isinstance(scale, torch.Tensor):
        return scale * x
    return scale(x)


def token_width(norm: nn.Module) -> int:
    """The width a block's norm normalises (LayerNorm, RmsNorm)."""
    shape = norm.normalized_shape
    return int(shape[0] if isinstance(shape, (tuple, list)) else shape)


class AdaptedBlock(nn.Module):
    """A pre-norm transformer block with AIM's temporal, spatial and joint
    adaptation (Yang et al., ICLR 2023), in this order:

    1. temporal: ``x += DropPath(temporal_adapter(attn(norm1(x))))``, the
       frozen attention applied along time for every token position (with
       ``num_tadapter=2``, ``temporal_adapter_in`` runs between the norm and
       the attention);
    2. spatial: ``x += scale1(spatial_adapter(attn(norm1(x))))`` over the
       tokens of each frame, ``scale1`` the block's layer scale (identity
       for CLIP and the original ImageNet ViT);
    3. joint: ``h = norm2(x); x += scale2(mlp(h)) + DropPath(s *
       joint_adapter(h))``.

    An adaptation that is disabled is absent (``None``): without ``spatial``
    the block runs the image model's plain attention; without ``temporal``
    or ``joint`` that branch is skipped. With fresh adapters (zero ``fc2``)
    the block computes exactly the image model's block.

    The image block's parts are kept under its own names
    (:class:`BlockParts`); the tokens are ``[B*T, N, D]`` or ``[B*T, H, W,
    D]`` (any spatial layout between the time steps and the width; ``N`` its
    size), the frames of a clip consecutive.

    Args:
        block (nn.Module): The image model's block, whose parts are taken.
        parts (BlockParts): Where ``block`` keeps them.
        num_frames (int): Time steps ``T`` per clip.
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
    #: Names of the parameters a subclass adds beside the adapters (Swin's
    #: temporal position bias), which are AIM's, not the image model's.
    own_parameters: Tuple[str, ...] = ()

    def __init__(self,
                 block: nn.Module,
                 parts: 'BlockParts',
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
        check_adaptation_args(num_tadapter, recompute)
        # The image block's parts, under its own names (a plain attribute
        # for a part the block holds as None).
        self.parts = parts
        for name in parts.names():
            setattr(self, name, getattr(block, name))
        embed_dims = token_width(self.norm2_)
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

    # ------------------------------------------------------- the parts
    @property
    def norm1_(self) -> nn.Module:
        """The norm before the attention."""
        return getattr(self, self.parts.norm1)

    @property
    def attn_(self) -> nn.Module:
        """The attention module."""
        return getattr(self, self.parts.attn)

    @property
    def norm2_(self) -> nn.Module:
        """The norm before the MLP."""
        return getattr(self, self.parts.norm2)

    @property
    def mlp_(self) -> nn.Module:
        """The MLP."""
        return getattr(self, self.parts.mlp)

    def attention_parts(self) -> Tuple[nn.Module, ...]:
        """The attention branch's norm and attention modules (whether they
        train decides the recomputation)."""
        return (self.norm1_, self.attn_)

    # ------------- how the block's attention is called (override if not so)
    def attention(self, h: torch.Tensor, **attn_kwargs) -> torch.Tensor:
        """The block's attention over the tokens of each frame.

        Args:
            h (torch.Tensor): Normalised tokens ``[B*T, N, D]`` (laid out as
                the block's input).
            **attn_kwargs: What the family's attention takes per forward
                (EVA's rotary embedding ``rope``).
        """
        return self.attn_(h, **attn_kwargs)

    def attention_along_time(self, h: torch.Tensor) -> torch.Tensor:
        """The block's attention over a sequence of time steps: by default
        :meth:`attention` without the per-forward arguments (which fit the
        frame's tokens only: positions, rotary embeddings).

        Args:
            h (torch.Tensor): Normalised tokens ``[B*N, T, D]``.

        Returns:
            torch.Tensor: ``[B*N, T, D]``.
        """
        return self.attention(h)

    def project(self, h: torch.Tensor) -> torch.Tensor:
        """The attention's output projection where the attention leaves it
        out of the recomputed part (CLIP's ``out_proj``); identity."""
        return h

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """The residual the attention branch is added to: ``x``, or where
        the block pools its tokens or changes their width (Hiera's stage
        transitions) the block's own pooled shortcut."""
        return x

    def mlp_forward(self, h: torch.Tensor, recompute: bool) -> torch.Tensor:
        """The MLP on normalised tokens; ``recompute``: frozen, recompute
        what it keeps in the backward pass (default: checkpoint it)."""
        mlp = self.mlp_
        if recompute and torch.is_grad_enabled() and h.requires_grad and \
                not any(p.requires_grad for p in mlp.parameters()):
            return cp.checkpoint(
                mlp, h, use_reentrant=False,
                preserve_rng_state=has_random_ops([mlp]))
        return mlp(h)

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

    def _along_time(self, x: torch.Tensor) -> torch.Tensor:
        """Norm, ``temporal_adapter_in`` and attention along time.

        Args:
            x (torch.Tensor): Tokens ``[B*T, ..., D]``.

        Returns:
            torch.Tensor: ``[B, N, T, D]``, contiguous.
        """
        t, d = self.num_frames, x.shape[-1]
        b = x.shape[0] // t
        # [B*T, N, D] -> a [B, N, T, D] view, normalised contiguous (the
        # norm writes its output in the view's order: no copy).
        h = self.norm1_(x.reshape(b, t, -1, d).transpose(1, 2))
        if self.temporal_adapter_in is not None:
            h = self.temporal_adapter_in(h)
        n = h.shape[1]
        h = self.attention_along_time(h.reshape(b * n, t, d))  # [B*N, T, D]
        return h.view(b, n, t, d)

    def _in_space(self, x: torch.Tensor, **attn_kwargs) -> torch.Tensor:
        """Norm and attention over the tokens of each frame."""
        return self.attention(self.norm1_(x), **attn_kwargs)

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
        h = self._attend('temporal', self._along_time, x, recompute)
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
            **attn_kwargs: Passed on to :meth:`attention`.

        Returns:
            torch.Tensor: ``[B*T, N, D]``.
        """
        h = self._attend('spatial', self._in_space, x, recompute,
                         **attn_kwargs)
        h = self.project(h)
        if self.spatial_adapter is not None:
            h = self.spatial_adapter(h)
        return apply_scale(self.scale1_, h)

    @property
    def scale1_(self) -> LayerScale:
        """The attention branch's layer scale (None where absent)."""
        name = self.parts.scale1
        return None if name is None else getattr(self, name)

    @property
    def scale2_(self) -> LayerScale:
        """The MLP branch's layer scale (None where absent)."""
        name = self.parts.scale2
        return None if name is None else getattr(self, name)

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
            torch.Tensor: ``[B*T, N, D]`` (``[B*T, N', D']`` where the block
            pools its tokens).
        """
        if self.temporal_adapter is not None:
            x = self._add_temporal(x, self.temporal_adaptation(x, recompute))
        x = self.shortcut(x) + self.spatial_adaptation(x, recompute,
                                                       **attn_kwargs)
        h = self.norm2_(x)
        mlp = apply_scale(self.scale2_, self.mlp_forward(
            h, recompute and 'mlp' in self.recompute))
        if self.joint_adapter is None:
            return x + mlp
        return x + mlp + self.drop_path(
            self.adapter_scale * self.joint_adapter(h))


@dataclasses.dataclass(frozen=True)
class BlockParts:
    """Where an image model's block keeps the parts AIM's adaptation uses:
    attribute names of the block (a layer scale may be absent: None).

    The defaults are timm's ``Block`` names. ``adapted`` is the
    :class:`AdaptedBlock` (sub)class that adapts such a block: the base
    class wherever the block's attention is called as ``attn(tokens)``.

    Example:
        ``BlockParts(norm1='ln_1', norm2='ln_2', scale1=None, scale2=None)``
        for CLIP's ``ResidualAttentionBlock``.
    """

    norm1: str = 'norm1'
    attn: str = 'attn'
    scale1: Optional[str] = 'ls1'
    norm2: str = 'norm2'
    mlp: str = 'mlp'
    scale2: Optional[str] = 'ls2'
    adapted: Type[AdaptedBlock] = AdaptedBlock

    def names(self) -> Tuple[str, ...]:
        """The block attributes taken over."""
        return tuple(name for name in (self.norm1, self.attn, self.scale1,
                                       self.norm2, self.mlp, self.scale2)
                     if name is not None)

    def adapt(self, block: nn.Module, num_frames: int,
              **aim_kwargs) -> AdaptedBlock:
        """``block`` adapted, its parts kept under their names."""
        return self.adapted(block, self, num_frames, **aim_kwargs)
