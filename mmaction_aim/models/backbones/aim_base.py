"""What every AIM backbone shares, whatever its image model.

:class:`AIMBackbone` holds AIM's side of an adapted image model, written
once: the arguments of the adaptation, the temporal embedding, which
parameters train (marked once, by structure), initialisation (``init_cfg``
honoured), strict loading of the image model, activation checkpointing over
the blocks, and the adapter-only state dict. A family backbone
(:class:`~.aim_vit.AIMViT` for CLIP, :class:`~.aim_timm_vit.AIMTimmViT` for
timm's ViTs) builds the image model and its adapted blocks and supplies the
stem, the output and the reading of its weight files.
"""
from functools import cached_property
from typing import Dict, Iterator, List, Optional, Sequence, Union

import torch
import torch.utils.checkpoint as cp
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from mmengine.model.weight_init import initialize
from torch import nn

from ..layers import Adapter
from ..layers.adapted_block import RECOMPUTABLE, AdaptedBlock
from ..utils.convert import resize_temporal_embedding

#: AIM's three adaptations.
ADAPTATIONS = ('temporal', 'spatial', 'joint')


class ImageModelMismatchError(RuntimeError):
    """A pre-trained image-model file does not fit the backbone."""


class AIMBackbone(BaseModule):
    """Base of the AIM backbones (see the module docstring).

    Args:
        num_frames (int): Frames ``T`` per clip.
        num_tadapter (int): 1, or 2 to add ``temporal_adapter_in`` (the
            Something-Something v2 recipe).
        adapter_scale (float): Scale of the joint adapter.
        adapter_mlp_ratio (float): Adapter bottleneck ratio.
        drop_path_rate (float): Drop-path rate of the temporal and joint
            branches, rising linearly over the blocks from 0.
        adapters (Sequence[str]): Which adaptations exist, any subset of
            ``('temporal', 'spatial', 'joint')``; ``()`` gives the plain
            image model.
        adapter_layers (Sequence[int], optional): Indices of the blocks that
            carry adapters (negative indices count from the end); None: all.
        temporal_embedding (bool): Add the learnable temporal embedding.
        freeze_image_model (bool): Freeze the pre-trained image model (every
            parameter except AIM's new ones and the output norm).
        freeze_ln_post (bool): Freeze the output norm too.
        pretrained (str, optional): The image model's weights, loaded by
            :meth:`init_weights`.
        with_cp (bool): Activation checkpointing of every block while
            training.
        recompute_frozen (Sequence[str]): Frozen parts of every block, any of
            ``('temporal', 'spatial', 'mlp')``, recomputed in the backward
            pass rather than kept (:class:`~..layers.AdaptedBlock`).
        init_cfg (dict | list[dict], optional): MMEngine initialisation,
            applied after the image model is loaded (so a ``Pretrained``
            ``init_cfg`` of the whole backbone wins).
    """

    def __init__(self,
                 num_frames: int = 8,
                 num_tadapter: int = 1,
                 adapter_scale: float = 0.5,
                 adapter_mlp_ratio: float = 0.25,
                 drop_path_rate: float = 0.,
                 adapters: Sequence[str] = ADAPTATIONS,
                 adapter_layers: Optional[Sequence[int]] = None,
                 temporal_embedding: bool = True,
                 freeze_image_model: bool = True,
                 freeze_ln_post: bool = False,
                 pretrained: Optional[str] = None,
                 with_cp: bool = False,
                 recompute_frozen: Sequence[str] = RECOMPUTABLE,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        unknown = set(adapters) - set(ADAPTATIONS)
        if unknown:
            raise ValueError(f'Unknown adaptations {sorted(unknown)}; '
                             f'choose from {ADAPTATIONS}')
        self.num_frames = num_frames
        self.num_tadapter = num_tadapter
        self.adapter_scale = adapter_scale
        self.adapter_mlp_ratio = adapter_mlp_ratio
        self.drop_path_rate = drop_path_rate
        self.adapters = tuple(adapters)
        self._adapter_layers = adapter_layers
        self.use_temporal_embedding = temporal_embedding
        self.freeze_image_model = freeze_image_model
        self.freeze_ln_post = freeze_ln_post
        self.pretrained = pretrained
        self.with_cp = with_cp
        self.recompute_frozen = tuple(recompute_frozen)

    # --------------------------------------------------- building, shared
    @staticmethod
    def _parse_layers(adapter_layers: Optional[Sequence[int]],
                      layers: int) -> frozenset:
        if adapter_layers is None:
            return frozenset(range(layers))
        parsed = set()
        for i in adapter_layers:
            if not -layers <= i < layers:
                raise IndexError(f'adapter layer {i} out of range for '
                                 f'{layers} blocks')
            parsed.add(i % layers)
        return frozenset(parsed)

    def adaptation_args(self, depth: int) -> List[dict]:
        """The :class:`~..layers.AdaptedBlock` arguments of every block.

        Args:
            depth (int): Number of blocks.

        Returns:
            list[dict]: One dict per block (``temporal``, ``spatial``,
            ``joint``, ``num_tadapter``, ``adapter_scale``,
            ``adapter_mlp_ratio``, ``drop_path``, ``recompute``).
        """
        self.adapter_layers = self._parse_layers(self._adapter_layers, depth)
        # Linearly rising drop-path rates (plain Python: works on 'meta').
        rate = self.drop_path_rate
        args = []
        for i in range(depth):
            has = {a: a in self.adapters and i in self.adapter_layers
                   for a in ADAPTATIONS}
            args.append(dict(temporal=has['temporal'],
                             spatial=has['spatial'], joint=has['joint'],
                             num_tadapter=self.num_tadapter,
                             adapter_scale=self.adapter_scale,
                             adapter_mlp_ratio=self.adapter_mlp_ratio,
                             drop_path=rate * i / max(depth - 1, 1),
                             recompute=self.recompute_frozen))
        return args

    def build_temporal_embedding(self, width: int,
                                 length: Optional[int] = None) -> None:
        """Create ``temporal_embedding`` ``[1, T, D]`` (or None); ``length``
        the time steps, if not the frames (a tubelet embedding's)."""
        self.temporal_embedding = nn.Parameter(
            torch.zeros(1, length or self.num_frames, width)) \
            if self.use_temporal_embedding else None

    def add_temporal_embedding(self, x: torch.Tensor,
                               batch: int) -> torch.Tensor:
        """Add the temporal embedding to every token of frame ``t``.

        Args:
            x (torch.Tensor): Tokens ``[B*T, N, D]``.
            batch (int): ``B``.

        Returns:
            torch.Tensor: ``[B*T, N, D]``.
        """
        if self.temporal_embedding is None:
            return x
        bt, n, d = x.shape
        x = x.view(batch, bt // batch, n, d) + self.temporal_embedding.to(
            x.dtype).unsqueeze(2)  # [B, T, N, D]
        return x.view(bt, n, d)

    @cached_property
    def models_time(self) -> bool:
        """Whether the frame count is fixed by the model's parameters
        (found once: the structure does not change after construction)."""
        return self.temporal_embedding is not None or any(
            b.temporal_adapter is not None for b in self.adapted_blocks())

    def check_frames(self, t: int) -> None:
        """Refuse clips of another length than the model was built for."""
        if t != self.num_frames and self.models_time:
            raise ValueError(f'{type(self).__name__} was built for '
                             f'{self.num_frames} frames but got {t}')

    # ------------------------------------------------- what the family says
    def adapted_blocks(self) -> Iterator[AdaptedBlock]:
        """Every block with AIM's adaptation, in order."""
        return (m for m in self.modules() if isinstance(m, AdaptedBlock))

    def output_norms(self) -> List[nn.Module]:
        """The image model's final norm(s), trained unless
        ``freeze_ln_post`` (CLIP's ``ln_post``)."""
        raise NotImplementedError

    def image_model_modules(self) -> Dict[str, nn.Module]:
        """The modules whose state dict is the image model's, by the prefix
        their keys carry in this backbone (``''``: the backbone itself)."""
        return {'': self}

    def reset_image_model(self) -> None:
        """Initialise the image model as its authors do (no pretraining):
        by default the ``init_weights`` of a timm ``image_model``."""
        init = getattr(getattr(self, 'image_model', None), 'init_weights',
                       None)
        if init is not None:
            init()

    def read_image_model(self, path: str) -> Dict[str, torch.Tensor]:
        """Read ``path`` into the image model's key layout (no loading)."""
        raise NotImplementedError

    # ---------------------------------------------------- AIM's parameters
    def new_modules(self) -> Iterator[Union[nn.Module, nn.Parameter]]:
        """The parameters AIM adds to the image model, by structure.

        Yields:
            nn.Module | nn.Parameter: every :class:`Adapter` and the temporal
            embedding.
        """
        for module in self.modules():
            if isinstance(module, Adapter):
                yield module
        if self.temporal_embedding is not None:
            yield self.temporal_embedding

    def _names_of(self, items) -> List[str]:
        ids = set()
        for item in items:
            ids.update(map(id, item.parameters()) if isinstance(
                item, nn.Module) else [id(item)])
        return [name for name, param in self.named_parameters()
                if id(param) in ids]

    def new_parameter_names(self) -> List[str]:
        """State-dict keys of :meth:`new_modules` (not in any image model)."""
        return self._names_of(self.new_modules())

    def adaptation_parameter_names(self) -> List[str]:
        """What an adapter-only checkpoint keeps of the backbone: AIM's new
        parameters and the output norm(s), chosen by structure, whether or
        not they train now."""
        return self._names_of(list(self.new_modules()) +
                              list(self.output_norms()))

    def mark_trainable(self) -> None:
        """Set ``requires_grad`` of every parameter from the config, once.

        The image model is frozen (``freeze_image_model``) except the output
        norm (unless ``freeze_ln_post``); AIM's new parameters train. Called
        at the end of construction; ``model.train()`` does not call it again,
        so what a user or a hook changes afterwards stays changed.
        """
        self.requires_grad_(not self.freeze_image_model)
        for new in self.new_modules():
            new.requires_grad_(True)
        for norm in self.output_norms():
            norm.requires_grad_(not self.freeze_ln_post)

    # ------------------------------------------------------ initialisation
    def init_weights(self) -> None:
        """Initialise, in this order: the image model as its authors do,
        every adapter (zero output layer) and the temporal embedding (zero);
        the image model's weights from ``pretrained``; then ``init_cfg``.

        Fresh adapters and a zero temporal embedding make the backbone
        compute exactly the image model's per-frame features.
        """
        self.reset_image_model()
        for module in self.modules():
            if isinstance(module, Adapter):
                module.init_weights()
        if self.temporal_embedding is not None:
            nn.init.zeros_(self.temporal_embedding)
        if self.pretrained:
            self.load_image_model(self.pretrained)
        if self.init_cfg:
            initialize(self, self.init_cfg)
        self._is_init = True

    def load_image_model(self, path: str) -> None:
        """Load pre-trained image weights from ``path``, strictly.

        Only AIM's new parameters may be missing from the file, and no key
        may be unexpected.

        Raises:
            ImageModelMismatchError: naming the keys otherwise.
        """
        state_dict = self.read_image_model(path)
        incompatible = self.load_image_state_dict(state_dict, name=path)
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}: loaded the image model from {path} '
            f'({len(state_dict)} tensors; new, not in the file: '
            f'{len(incompatible)})')

    def load_image_state_dict(self, state_dict: Dict[str, torch.Tensor],
                              name: str = 'state dict') -> List[str]:
        """Load an image model's state dict (the layout of
        :meth:`image_model_modules`), strictly but for AIM's new keys.

        Returns:
            list[str]: The missing keys (AIM's new parameters).
        """
        new = set(self.new_parameter_names())
        missing: List[str] = []
        unexpected: List[str] = []
        ours = self.state_dict()
        shapes = [f'{k}: file {list(v.shape)} vs model '
                  f'{list(ours[k].shape)}' for k, v in state_dict.items()
                  if k in ours and v.shape != ours[k].shape]
        if shapes:
            raise ImageModelMismatchError(
                f'{name} does not fit {type(self).__name__} '
                f'({self.describe()}): shapes differ: {shapes[:10]}')
        for prefix, module in self.image_model_modules().items():
            part = {k[len(prefix):]: v for k, v in state_dict.items()
                    if k.startswith(prefix)} if prefix else dict(state_dict)
            result = module.load_state_dict(part, strict=False)
            missing += [prefix + k for k in result.missing_keys]
            unexpected += [prefix + k for k in result.unexpected_keys]
        wrong = sorted(set(missing) - new)
        if wrong or unexpected:
            raise ImageModelMismatchError(
                f'{name} does not fit {type(self).__name__} '
                f'({self.describe()}): missing image-model keys {wrong}; '
                f'unexpected keys {sorted(unexpected)}')
        return missing

    def describe(self) -> str:
        """A short description of the image model, for messages."""
        return type(self).__name__

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        # A checkpoint of another frame count: interpolate the temporal
        # embedding (an 8-frame model tested at 16 frames), and say so.
        key = prefix + 'temporal_embedding'
        steps = None if self.temporal_embedding is None else \
            self.temporal_embedding.shape[1]
        if key in state_dict and steps and state_dict[key].shape[1] != steps:
            MMLogger.get_current_instance().info(
                f'{type(self).__name__}: temporal_embedding interpolated '
                f'from {state_dict[key].shape[1]} to {steps} time steps')
            state_dict[key] = resize_temporal_embedding(state_dict[key],
                                                        steps)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    # ---------------------------------------------------------- forwarding
    def forward_blocks(self, x: torch.Tensor, blocks: Sequence[nn.Module],
                       **block_kwargs) -> torch.Tensor:
        """Run ``blocks`` on tokens ``[B*T, N, D]`` (``block_kwargs``: what
        the family passes each block, e.g. EVA's ``rope``)."""
        for block in blocks:
            if self.with_cp and self.training and torch.is_grad_enabled():
                # The whole block is recomputed: no selective recompute
                # inside it.
                x = cp.checkpoint(block, x, False, use_reentrant=False,
                                  **block_kwargs)
            else:
                x = block(x, **block_kwargs)
        return x
