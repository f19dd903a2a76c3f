"""AIM's backbone: any registered image model, adapted to video.

:class:`AIMBackbone` holds AIM's side of an adapted image model, written
once: the arguments of the adaptation, the temporal embedding, which
parameters train (marked once, by structure), initialisation (``init_cfg``
honoured), loading the image model's weights through the package's one
pipeline, activation checkpointing over the blocks, and the adapter-only
state dict. What differs between image models comes from the family named
by ``image_model`` (:mod:`mmaction_aim.models.families`).
"""
import hashlib
from functools import cached_property
from typing import (Dict, Iterable, Iterator, List, Optional, Sequence,
                    Union)

import torch
import torch.utils.checkpoint as cp
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from mmengine.model.weight_init import initialize
from torch import nn

from mmaction.registry import MODELS
from ...checkpoint import ImageModelMismatchError, StateDict
from ...utils.errors import BadInputError
from ..families import blocks_of, build_family
from ..layers import Adapter
from ..layers.adapted_block import (RECOMPUTABLE, AdaptedBlock,
                                    check_adaptation_args)

#: AIM's three adaptations.
ADAPTATIONS = ('temporal', 'spatial', 'joint')


def weights_fingerprint(tensor: torch.Tensor) -> str:
    """The first 16 hex digits of the SHA-256 of a tensor's float32 bytes."""
    data = tensor.detach().float().cpu().contiguous().numpy().tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


@MODELS.register_module()
class AIMBackbone(BaseModule):
    """A pre-trained image model with AIM's temporal, spatial and joint
    adaptation (Yang et al., "AIM: Adapting Image Models for Efficient
    Video Action Recognition", ICLR 2023).

    The image model, built by its family, is held as ``image_model`` with
    its own module names (so its released weights load unchanged under
    that prefix); each of its blocks is adapted in place
    (:class:`~..layers.AdaptedBlock`); a learnable temporal embedding is
    added to every token of time step ``t``. Fresh adapters and a zero
    temporal embedding make the backbone compute exactly the image model's
    features of every frame.

    Input ``[B, 3, T, H, W]``; output what the family gives: ``[B, D, T]``
    for flat ViTs (each frame's class token after the final norm, or the
    model's own pooling), ``[B, C, T', H', W']`` for Swin.

    Args:
        image_model (dict): The family (``type``: a name registered in
            ``FAMILIES``, e.g. ``'CLIPViT'``, ``'TimmViT'``,
            ``'TimmEva'``, ``'TimmSwin'``, ``'TimmBeit'``) and its own
            arguments (``arch``, ``model_name``, ``timm_kwargs``, ...).
        num_frames (int): Frames ``T`` per clip. Defaults to 8.
        num_tadapter (int): 1, or 2 to add ``temporal_adapter_in`` (the
            Something-Something v2 recipe). Defaults to 1.
        adapter_scale (float): Scale of the joint adapter. Defaults to 0.5.
        adapter_mlp_ratio (float): Adapter bottleneck ratio. Defaults to
            0.25.
        drop_path_rate (float): Drop-path rate of the temporal and joint
            branches, rising linearly over the blocks from 0. Defaults to 0.
        drop_path_axis (str): What one drop-path draw covers: ``'frame'``
            (every token of one frame of one clip) or ``'original'`` (as the
            original code's layout made it: for its sequence-first CLIP ViT
            one token position, shared by every clip and frame of the batch;
            for its batch-first ImageNet ViT (``TimmViT``) one frame; for
            Swin one (clip, position) in the temporal branch and one frame in
            the joint branch; the family's
            :attr:`~..families.ImageModelFamily.original_drop_path`). The
            paper configs use ``'original'`` so that their numbers are
            reachable. Defaults to ``'frame'``.
        adapters (Sequence[str]): Which adaptations exist, any subset of
            ``('temporal', 'spatial', 'joint')``; ``()`` gives the plain
            image model. Defaults to all three.
        adapter_layers (Sequence[int], optional): Indices of the blocks that
            carry adapters (negative indices count from the end); None: all.
        temporal_embedding (bool, optional): Add the learnable temporal
            embedding. Defaults to None: the family's default (True; False
            for Swin, whose temporal bias orders time, as the original's
            ``t_relative``).
        freeze_image_model (bool): Freeze the pre-trained image model (every
            parameter except AIM's new ones and the output norm). Defaults
            to True.
        freeze_ln_post (bool): Freeze the output norm too. Defaults to
            False.
        pretrained (str, optional): The image model's weights, loaded by
            :meth:`init_weights` (:meth:`load_image_model`). Defaults to
            None.
        with_cp (bool): Activation checkpointing of every block while
            training. Defaults to False.
        recompute_frozen (Sequence[str]): Frozen parts of every block, any
            of ``('temporal', 'spatial', 'mlp')``, recomputed in the
            backward pass rather than kept (:class:`~..layers.AdaptedBlock`).
            Defaults to all three.
        init_cfg (dict | list[dict], optional): MMEngine initialisation
            (``Normal``, ``Constant``, ...), applied after the image model
            is loaded. Not ``Pretrained``: MMEngine would load that file
            non-strictly, around the package's loading pipeline; weights
            come from ``pretrained`` (the image model's file) or the run's
            ``load_from`` (a whole model).
    """

    def __init__(self,
                 image_model: dict,
                 num_frames: int = 8,
                 num_tadapter: int = 1,
                 adapter_scale: float = 0.5,
                 adapter_mlp_ratio: float = 0.25,
                 drop_path_rate: float = 0.,
                 drop_path_axis: str = 'frame',
                 adapters: Sequence[str] = ADAPTATIONS,
                 adapter_layers: Optional[Sequence[int]] = None,
                 temporal_embedding: Optional[bool] = None,
                 freeze_image_model: bool = True,
                 freeze_ln_post: bool = False,
                 pretrained: Optional[str] = None,
                 with_cp: bool = False,
                 recompute_frozen: Sequence[str] = RECOMPUTABLE,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if any(isinstance(c, dict) and c.get('type') == 'Pretrained'
               for c in ([init_cfg] if isinstance(init_cfg, dict) else
                         init_cfg or [])):
            raise ValueError(
                "AIMBackbone: init_cfg of type 'Pretrained' would load its "
                "file non-strictly, outside the package's checks; give the "
                "image model's file as pretrained=... or a whole model's "
                'checkpoint as load_from')
        super().__init__(init_cfg=init_cfg)
        if num_frames < 1:  # a ValueError, said in one line by the tools
            raise BadInputError(f'AIMBackbone: num_frames (frames per clip, '
                                'model.backbone.num_frames) must be >= 1, '
                                f'got {num_frames}')
        check_adaptation_args(num_tadapter, recompute_frozen)
        if drop_path_axis not in ('frame', 'original'):
            raise BadInputError(
                'AIMBackbone: drop_path_axis (model.backbone.drop_path_axis) '
                "must be 'frame' or 'original', got "
                f'{drop_path_axis!r}')
        self.num_frames = num_frames
        self.num_tadapter = num_tadapter
        self.adapter_scale = adapter_scale
        self.adapter_mlp_ratio = adapter_mlp_ratio
        self.drop_path_rate = drop_path_rate
        self.drop_path_axis = drop_path_axis
        self.adapters = self._parse_adapters(adapters)
        self.freeze_image_model = freeze_image_model
        self.freeze_ln_post = freeze_ln_post
        self.pretrained = pretrained
        self.with_cp = with_cp
        self.recompute_frozen = tuple(recompute_frozen)
        self.image_model_cfg = dict(image_model)
        self.family = build_family(image_model, num_frames)

        # The image model, every block adapted in place.
        model = self.family.build()
        self.family.check(model)
        stages = self.family.stages(model)
        depth = sum(len(blocks) for _, blocks in stages)
        self.adapter_layers = self._parse_layers(adapter_layers, depth)
        args = iter(self.adaptation_args(depth))
        for s, (_, blocks) in enumerate(stages):
            for i, block in enumerate(blocks):
                blocks[i] = self.family.adapt_block(block, s, i, **next(args))
        self.image_model = model
        self._warn_if_no_temporal_adapter(adapter_layers, depth)
        #: What AIM reads of the image model (widths, input size, norms).
        self.facts = self.family.facts(model)
        if temporal_embedding is None:
            temporal_embedding = self.family.temporal_embedding
        self.temporal_embedding = nn.Parameter(torch.zeros(
            1, self.family.time_steps, self.facts.token_width)
        ) if temporal_embedding else None
        self.mark_trainable()

    # ----------------------------------------------------------- building
    @staticmethod
    def _parse_adapters(adapters: Sequence[str]) -> tuple:
        """``adapters`` as a tuple, or :class:`BadInputError` naming the
        field."""
        field = 'AIMBackbone: adapters (model.backbone.adapters)'
        if isinstance(adapters, str) or not isinstance(adapters, Iterable):
            raise BadInputError(
                f'{field} is a list of adaptations, any of {ADAPTATIONS} '
                f"(e.g. ('temporal', ); () for the plain image model), got "
                f'{adapters!r}')
        adapters = tuple(adapters)
        unknown = [a for a in adapters if a not in ADAPTATIONS]
        if unknown:
            raise BadInputError(
                f'{field} takes any of {ADAPTATIONS} (() for the plain image '
                f'model), got unknown {unknown}')
        return adapters

    @staticmethod
    def _parse_layers(adapter_layers: Optional[Sequence[int]],
                      layers: int) -> frozenset:
        """The block indices ``adapter_layers`` names (each in
        ``[0, layers)``), or :class:`BadInputError` naming the field."""
        if adapter_layers is None:
            return frozenset(range(layers))
        allowed = (f'block indices from {-layers} to {layers - 1} (this '
                   f'image model has {layers} blocks; negative ones count '
                   'from the end), or None for every block')
        field = 'AIMBackbone: adapter_layers (model.backbone.adapter_layers)'
        if isinstance(adapter_layers, (str, bytes)) or \
                not isinstance(adapter_layers, Iterable):
            raise BadInputError(f'{field} is a list of {allowed}, got '
                                f'{adapter_layers!r}')
        wrong = [i for i in adapter_layers
                 if not isinstance(i, int) or isinstance(i, bool)
                 or not -layers <= i < layers]
        if wrong:
            raise BadInputError(f'{field} takes {allowed}, got {wrong}')
        return frozenset(i % layers for i in adapter_layers)

    def _warn_if_no_temporal_adapter(
            self, adapter_layers: Optional[Sequence[int]],
            depth: int) -> None:
        """Log a warning where ``'temporal'`` is asked for but the family
        left every block the adapters go to without attention along time
        (Hiera's stage transitions, Swin's ``temporal_blocks``)."""
        if 'temporal' not in self.adapters or not self.adapter_layers or \
                any(b.temporal_adapter is not None
                    for b in self.adapted_blocks()):
            return
        named = (f'every one of its {depth} blocks' if adapter_layers is None
                 else f'blocks {sorted(self.adapter_layers)} of {depth} '
                 f'(model.backbone.adapter_layers={list(adapter_layers)})')
        MMLogger.get_current_instance().warning(
            f'{type(self).__name__}: no block attends along time although '
            "'temporal' is among adapters (model.backbone.adapters): the "
            f'adapters go to {named}, which the image-model family '
            f'{type(self.family).__name__} leaves without temporal '
            "adaptation (as Hiera's stage transitions, or Swin's blocks "
            'outside temporal_blocks); name other blocks to model time')

    def adaptation_args(self, depth: int) -> List[dict]:
        """The :class:`~..layers.AdaptedBlock` arguments of every block.

        Args:
            depth (int): Number of blocks, over all stages.

        Returns:
            list[dict]: One dict per block (``temporal``, ``spatial``,
            ``joint``, ``num_tadapter``, ``adapter_scale``,
            ``adapter_mlp_ratio``, ``drop_path``, ``drop_path_per``,
            ``recompute``).
        """
        rate = self.drop_path_rate
        per = dict(self.family.original_drop_path) if \
            self.drop_path_axis == 'original' else None
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
                             drop_path_per=per,
                             recompute=self.recompute_frozen))
        return args

    @property
    def width(self) -> int:
        """Channels of the output (the head's ``in_channels``)."""
        return self.facts.width

    @property
    def input_size(self) -> int:
        """The frame size the image model is built for."""
        return self.facts.input_size

    @property
    def fixed_input_size(self) -> bool:
        """Whether only frames of :attr:`input_size` fit the image model."""
        return self.facts.fixed_input_size

    @cached_property
    def models_time(self) -> bool:
        """Whether the frame count is fixed by the model's parameters
        (found once: the structure does not change after construction)."""
        return self.temporal_embedding is not None or any(
            b.temporal_adapter is not None for b in self.adapted_blocks())

    def describe(self) -> str:
        """The image model, in a few words, for messages."""
        return self.family.describe()

    # ------------------------------------------------- AIM's parameters
    def adapted_blocks(self) -> Iterator[AdaptedBlock]:
        """Every block with AIM's adaptation, in order."""
        return blocks_of(self.family.stages(self.image_model))

    def output_norms(self) -> List[nn.Module]:
        """The image model's final norm(s)."""
        return [self.image_model.get_submodule(name)
                for name in self.facts.output_norms]

    def own_block_parameters(self) -> Iterator[nn.Parameter]:
        """The parameters adapted blocks add beside the adapters
        (:attr:`~..layers.AdaptedBlock.own_parameters`: Swin's temporal
        bias tables)."""
        for block in self.adapted_blocks():
            for name in block.own_parameters:
                param = getattr(block, name)
                if param is not None:
                    yield param

    def new_modules(self) -> Iterator[Union[nn.Module, nn.Parameter]]:
        """The parameters AIM adds to the image model, by structure: every
        :class:`~..layers.Adapter`, the temporal embedding, and the adapted
        blocks' own (Swin's temporal bias tables)."""
        for module in self.modules():
            if isinstance(module, Adapter):
                yield module
        if self.temporal_embedding is not None:
            yield self.temporal_embedding
        yield from self.own_block_parameters()

    def _names_of(self, items) -> List[str]:
        ids = set()
        for item in items:
            ids.update(map(id, item.parameters()) if isinstance(
                item, nn.Module) else [id(item)])
        return [name for name, param in self.named_parameters()
                if id(param) in ids]

    def output_norm_names(self) -> List[str]:
        """State-dict keys of :meth:`output_norms`."""
        return self._names_of(self.output_norms())

    def new_parameter_names(self) -> List[str]:
        """State-dict keys of :meth:`new_modules` (in no image model)."""
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
        norm (unless ``freeze_ln_post``); AIM's new parameters train (the
        family's own as the family says). Called at the end of
        construction; ``model.train()`` does not call it again, so what a
        user or a hook changes afterwards stays changed.
        """
        self.requires_grad_(not self.freeze_image_model)
        for new in self.new_modules():
            new.requires_grad_(True)
        for param in self.own_block_parameters():
            param.requires_grad_(self.family.trains_new_parameters)
        for norm in self.output_norms():
            norm.requires_grad_(not self.freeze_ln_post)

    # ---------------------------------------------------- initialisation
    def init_weights(self) -> None:
        """Initialise, in this order: every adapter (zero output layer) and
        the temporal embedding (zero); the image model's weights from
        ``pretrained``; then ``init_cfg``. The image model itself was
        initialised once, as its authors do, when it was built."""
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

    def read_image_model(self, path: str) -> StateDict:
        """The image model's state dict from ``path``, in its own names and
        sizes (read safely, unwrapped, converted by the family); nothing is
        loaded."""
        state_dict = self.family.read(path)
        return self.family.convert(state_dict, self.image_model, path)

    def load_image_model(self, path: str) -> None:
        """Load pre-trained image weights from ``path``, strictly: only
        AIM's new parameters may be missing, nothing may be unexpected.

        Raises:
            ImageModelMismatchError: naming the keys otherwise.
        """
        state_dict = self.read_image_model(path)
        missing = self.load_image_state_dict(state_dict, name=path)
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}: loaded {self.describe()} from {path} '
            f'({len(state_dict)} tensors; new, not in the file: '
            f'{len(missing)})')

    def load_image_state_dict(self, state_dict: StateDict,
                              name: str = 'state dict') -> List[str]:
        """Load an image model's state dict (its own names), strictly but
        for AIM's new keys.

        Returns:
            list[str]: The missing keys (AIM's new parameters).
        """
        new = {k[len('image_model.'):] for k in self.new_parameter_names()
               if k.startswith('image_model.')}
        ours = self.image_model.state_dict(keep_vars=True)
        shapes = [f'{k}: file {list(v.shape)} vs model '
                  f'{list(ours[k].shape)}' for k, v in state_dict.items()
                  if k in ours and v.shape != ours[k].shape]
        unexpected = sorted(set(state_dict) - set(ours))
        missing = sorted(set(ours) - set(state_dict))
        wrong = [k for k in missing if k not in new]
        if shapes or wrong or unexpected:
            raise ImageModelMismatchError(
                f'{name} does not fit the image model {self.describe()}: '
                + '; '.join(filter(None, [
                    f'shapes differ: {shapes[:10]}' if shapes else '',
                    f'missing keys {wrong[:10]}' if wrong else '',
                    f'unexpected keys {unexpected[:10]}' if unexpected
                    else ''])))
        self.image_model.load_state_dict(state_dict, strict=False)
        return missing

    def image_model_identity(
            self, weights: Union[None, bool, torch.Tensor] = None
    ) -> Dict[str, str]:
        """What identifies the image model adapters are trained on: its
        family and name, and a fingerprint of its weights (the SHA-256 of
        its first parameter in float32), so that adapters are never merged
        onto another image model without a word.

        Args:
            weights (None | bool | torch.Tensor): The first parameter to
                fingerprint (from a checkpoint); None: the model's own;
                False: no fingerprint.
        """
        identity = dict(self.family.identity())
        if weights is False:
            return identity
        if weights is None:
            weights = next(self.image_model.parameters())
        identity['weights'] = weights_fingerprint(weights)
        return identity

    def first_image_model_key(self) -> str:
        """The state-dict key of the parameter :meth:`image_model_identity`
        fingerprints."""
        return 'image_model.' + next(iter(
            self.image_model.named_parameters()))[0]

    # ------------------------------------------------------- forwarding
    def add_temporal_embedding(self, x: torch.Tensor,
                               batch: int) -> torch.Tensor:
        """Add the temporal embedding to every token of time step ``t``.

        Args:
            x (torch.Tensor): Tokens ``[B*T, ..., D]``.
            batch (int): ``B``.

        Returns:
            torch.Tensor: Laid out as ``x``.
        """
        if self.temporal_embedding is None:
            return x
        steps = self.temporal_embedding.shape[1]
        emb = self.temporal_embedding.to(x.dtype)[:, :, None]  # [1, T, 1, D]
        return (x.reshape(batch, steps, -1, x.shape[-1]) + emb).view(x.shape)

    def forward_blocks(self, x: torch.Tensor, blocks: Sequence[nn.Module],
                       **block_kwargs) -> torch.Tensor:
        """Run ``blocks`` on tokens (``block_kwargs``: what the family
        passes each block, e.g. EVA's ``rope``)."""
        for block in blocks:
            if self.with_cp and self.training and torch.is_grad_enabled():
                # The whole block is recomputed: no selective recompute
                # inside it.
                x = cp.checkpoint(block, x, False, use_reentrant=False,
                                  **block_kwargs)
            else:
                x = block(x, **block_kwargs)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features of a batch of clips.

        Args:
            x (torch.Tensor): ``[B, 3, T, H, W]``.

        Returns:
            torch.Tensor: ``[B, D, T']`` or ``[B, C, T', H', W']`` (see the
            class docstring).
        """
        b, _, t = x.shape[:3]
        if t != self.num_frames and self.models_time:
            raise ValueError(f'{type(self).__name__} was built for '
                             f'{self.num_frames} frames but got {t}')
        model, family = self.image_model, self.family
        x, block_kwargs = family.embed(model, x)  # [B*T', ..., D]
        x = self.add_temporal_embedding(x, b)
        x = family.pre_blocks(model, x)
        for downsample, blocks in family.stages(model):
            x = self.forward_blocks(downsample(x), blocks, **block_kwargs)
        return family.output(model, x, b)
